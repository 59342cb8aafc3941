// The liveness watchdog on virtual time: pings visible (Node's ws) and
// probes (browsers), and timers that fire late (a page in the background).

import assert from "node:assert/strict";
import { test } from "node:test";

import { Watchdog } from "../../src/watchdog.js";
import { FakeClock } from "../support/fake_clock.js";

function watch(probes) {
  const clock = new FakeClock();
  const seen = { probes: 0, dead: 0 };
  const dog = new Watchdog({
    clock, interval: 25_000, margin: 10_000, probes,
    probe: () => seen.probes++,
    dead: () => seen.dead++,
  });
  dog.start();
  return { clock, dog, seen };
}

test("pings visible: silence past interval + margin is death, pings keep it alive", () => {
  const { clock, dog, seen } = watch(false);
  for (let i = 0; i < 10; i++) {
    clock.advance(25_000);
    dog.activity(); // a ping
  }
  assert.equal(seen.dead, 0);
  clock.advance(34_999);
  assert.equal(seen.dead, 0);
  clock.advance(1);
  assert.equal(seen.dead, 1);
  assert.equal(seen.probes, 0);
});

test("probes: a quiet connection is probed, an answer keeps it, silence after a probe is death", () => {
  const { clock, dog, seen } = watch(true);
  clock.advance(24_999);
  assert.equal(seen.probes, 0);
  clock.advance(1);
  assert.equal(seen.probes, 1);
  clock.advance(300);
  dog.activity(); // the pong: silence counts from here
  clock.advance(24_999);
  assert.equal(seen.probes, 1);
  clock.advance(1);
  assert.equal(seen.probes, 2);
  clock.advance(9_999);
  assert.equal(seen.dead, 0);
  clock.advance(1);
  assert.equal(seen.dead, 1);
});

test("probes: messages flowing mean no probe at all", () => {
  const { clock, dog, seen } = watch(true);
  for (let i = 0; i < 100; i++) {
    clock.advance(20_000);
    dog.activity();
  }
  assert.equal(seen.probes, 0);
  assert.equal(seen.dead, 0);
});

for (const probes of [false, true]) {
  test(`a timer that fires late judges nothing (${probes ? "probes" : "pings visible"})`, () => {
    const { clock, dog, seen } = watch(probes);
    // The page goes to background (or the laptop sleeps) for ten minutes:
    // the timers do not run, nothing arrives meanwhile.
    clock.jump(600_000);
    clock.advance(0);
    assert.equal(seen.dead, 0, "not judged on silence nobody watched");
    // Awake again: the server answers (a ping, or the probe's pong) ...
    clock.advance(probes ? 200 : 20_000);
    dog.activity();
    clock.advance(20_000);
    assert.equal(seen.dead, 0);
    // ... and a connection that really is dead is still found.
    clock.advance(60_000);
    assert.equal(seen.dead, 1);
  });
}

test("a dead connection found after a wake-up: one margin after the fresh probe", () => {
  const { clock, seen } = watch(true);
  clock.jump(600_000);
  clock.advance(0);
  assert.equal(seen.probes, 1, "probed at once on waking up");
  clock.advance(9_999);
  assert.equal(seen.dead, 0);
  clock.advance(1);
  assert.equal(seen.dead, 1);
});

test("stop() cancels the watch", () => {
  const { clock, dog, seen } = watch(false);
  dog.stop();
  clock.advance(1_000_000);
  assert.equal(seen.dead, 0);
  assert.equal(clock.pending, 0);
});
