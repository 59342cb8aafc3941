// The connection's state machine on a fake WebSocket and virtual time:
// states and events, reconnects and their delays, close codes that stop,
// the connect timeout, commands and their replies, the liveness watchdog.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Switchboard } from "../../src/client.js";
import { FakeClock } from "../support/fake_clock.js";
import { fakeWebSocket } from "../support/fake_socket.js";

function setup(options = {}, socket = {}) {
  const clock = new FakeClock();
  const ws = fakeWebSocket(socket);
  const events = [];
  const c = new Switchboard("ws://node/ws", {
    websocket: ws.FakeSocket, clock, random: () => 0.5, ...options,
  });
  for (const e of ["connecting", "connected", "disconnected", "error", "direct"])
    c.on(e, (arg) => events.push([e, arg]));
  return { c, clock, ws, events };
}

test("connecting, then connected with the welcome's id and ping", () => {
  const { c, ws, events } = setup();
  assert.equal(c.state, "disconnected");
  c.connect();
  assert.equal(c.state, "connecting");
  assert.equal(ws.last().url, "ws://node/ws");
  ws.last().welcome(4242, 25);
  assert.equal(c.state, "connected");
  assert.equal(c.id, 4242);
  assert.deepEqual(events, [
    ["connecting", { attempt: 0 }],
    ["connected", { id: 4242, ping: 25 }],
  ]);
});

test("a lost connection reconnects after a jittered delay that grows, and resets once welcomed", () => {
  const { c, clock, ws, events } = setup();
  c.connect();
  ws.last().welcome();
  ws.last().drop(1006);
  assert.deepEqual(events.at(-1), ["disconnected", { code: 1006, reason: "", reconnect: true }]);
  assert.equal(c.state, "disconnected");
  // random 0.5: attempt 0 waits 500 + 0.5 * (1000 - 500) = 750 ms.
  clock.advance(749);
  assert.equal(ws.sockets.length, 1);
  clock.advance(1);
  assert.equal(ws.sockets.length, 2);
  // It fails before the welcome: attempt 1 waits 500 + 0.5 * 1500 = 1250 ms.
  ws.last().drop(1006);
  clock.advance(1249);
  assert.equal(ws.sockets.length, 2);
  clock.advance(1);
  assert.equal(ws.sockets.length, 3);
  ws.last().welcome();
  ws.last().drop(1001, "server shutdown");
  assert.deepEqual(events.at(-1),
    ["disconnected", { code: 1001, reason: "server shutdown", reconnect: true }]);
  clock.advance(750);
  assert.equal(ws.sockets.length, 4, "back to the first delay after a welcome");
});

for (const [code, reason] of [[1002, ""], [1009, ""], [1000, "bye"], [4500, "banned"]]) {
  test(`close ${code} does not reconnect`, () => {
    const { c, clock, ws, events } = setup();
    c.connect();
    ws.last().welcome();
    ws.last().drop(code, reason);
    assert.deepEqual(events.at(-1), ["disconnected", { code, reason, reconnect: false }]);
    clock.advance(60_000);
    assert.equal(ws.sockets.length, 1);
    assert.equal(c.state, "disconnected");
  });
}

test("disconnect() closes with 1000 and stops reconnecting; connect() starts again", () => {
  const { c, clock, ws, events } = setup();
  c.connect();
  ws.last().welcome();
  c.disconnect();
  assert.deepEqual(ws.last().closed, { code: 1000, reason: undefined });
  assert.deepEqual(events.at(-1),
    ["disconnected", { code: 1000, reason: "disconnect called", reconnect: false }]);
  clock.advance(60_000);
  assert.equal(ws.sockets.length, 1);
  c.connect();
  assert.equal(ws.sockets.length, 2);
});

test("no welcome within the timeout: closed and tried again", () => {
  const { c, clock, ws, events } = setup({ timeout: 3000 });
  c.connect();
  clock.advance(3000);
  assert.deepEqual(events.at(-1),
    ["disconnected", { code: 2, reason: "connect timeout", reconnect: true }]);
  assert.ok(ws.sockets[0].closed);
  clock.advance(750);
  assert.equal(ws.sockets.length, 2);
});

test("commands resolve with the node's answer, reject with its code, a timeout or a drop", async () => {
  const { c, clock, ws } = setup({ timeout: 1000 });
  c.connect();
  const early = c.publish("news", { a: 1 }); // waits for the connection
  ws.last().welcome();
  const s = ws.last();
  assert.deepEqual(s.sent[0], { type: "publish", topic: "news", data: { a: 1 }, id: 1 });
  s.receive({ type: "ack", id: 1 });
  await early;

  const bad = c.send(99, "hi");
  s.receive({ type: "error", code: "unknown_connection", reason: "no such connection", id: 2 });
  await assert.rejects(bad, { code: "unknown_connection", reason: "no such connection" });

  const slow = c.publish("news", 1);
  clock.advance(1000);
  await assert.rejects(slow, { code: "timeout" });

  const dropped = c.publish("news", 2);
  s.drop(1006);
  await assert.rejects(dropped, { code: "disconnected" });
  await assert.rejects(c.publish("news", undefined), TypeError);
});

test("queries correlate by id", async () => {
  const { c, ws } = setup();
  c.connect();
  ws.last().welcome();
  const s = ws.last();
  const stats = c.presenceStats("room");
  const hist = c.history("room", { limit: 2 });
  assert.deepEqual(s.sent.map((f) => f.type), ["presence_stats", "history"]);
  s.receive({ type: "history", topic: "room", epoch: "e", offset: 9, id: 2,
              messages: [{ offset: 8, data: 1 }, { offset: 9, data: 2 }] });
  s.receive({ type: "presence_stats", topic: "room", clients: 3, users: 2, id: 1 });
  assert.deepEqual(await stats, { clients: 3, users: 2 });
  assert.deepEqual(await hist, { epoch: "e", offset: 9,
    messages: [{ offset: 8, data: 1 }, { offset: 9, data: 2 }] });
  assert.deepEqual(s.last("history"), { type: "history", topic: "room", limit: 2, id: 2 });
});

test("direct messages and errors without an id become events", () => {
  const { c, ws, events } = setup();
  c.connect();
  ws.last().welcome();
  ws.last().receive({ type: "direct", from: 0, data: { hi: 1 } });
  ws.last().receive({ type: "error", code: "rate_limited", reason: "slow down" });
  assert.deepEqual(events.at(-2), ["direct", { from: 0, data: { hi: 1 } }]);
  assert.equal(events.at(-1)[0], "error");
  assert.equal(events.at(-1)[1].code, "rate_limited");
});

test("a browser (no ping events) probes a quiet connection and reconnects when the probe goes unanswered", () => {
  const { c, clock, ws, events } = setup({ maxPingDelay: 5000 });
  c.connect();
  ws.last().welcome(1, 10);
  const s = ws.last();
  clock.advance(10_000);
  assert.deepEqual(s.last("ping"), { type: "ping" });
  s.receive({ type: "pong" });
  clock.advance(9_999);
  assert.equal(s.sent.filter((f) => f.type === "ping").length, 1);
  clock.advance(1);
  assert.equal(s.sent.filter((f) => f.type === "ping").length, 2);
  clock.advance(5000);
  assert.deepEqual(events.at(-1), ["disconnected", { code: 1, reason: "no ping", reconnect: true }]);
  assert.ok(s.closed);
  clock.advance(750);
  assert.equal(ws.sockets.length, 2);
});

test("Node's ws: the node's pings keep a quiet connection, their absence ends it", () => {
  const { c, clock, ws, events } = setup({ maxPingDelay: 5000 }, { pings: true });
  c.connect();
  ws.last().welcome(1, 10);
  const s = ws.last();
  for (let i = 0; i < 5; i++) {
    clock.advance(10_000);
    s.ping();
  }
  assert.equal(c.state, "connected");
  assert.equal(s.sent.length, 0, "no probes where pings are visible");
  clock.advance(15_000);
  assert.deepEqual(events.at(-1), ["disconnected", { code: 1, reason: "no ping", reconnect: true }]);
  assert.ok(s.terminated, "a dead socket is dropped at once, no close handshake");
});

test("a handler that throws does not break the client; the error is reported, not swallowed", () => {
  const { c, ws } = setup();
  const seen = [];
  c.on("connected", () => {
    throw new Error("app bug");
  });
  c.on("connected", () => seen.push("second handler"));
  // Reported the way an event listener's exception is: thrown from a task
  // of its own (caught here instead of by the test runner).
  const reported = [];
  const original = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (fn) => {
    try {
      fn();
    } catch (err) {
      reported.push(err.message);
    }
  };
  try {
    c.connect();
    ws.last().welcome();
  } finally {
    globalThis.queueMicrotask = original;
  }
  assert.equal(c.state, "connected");
  assert.deepEqual(seen, ["second handler"]);
  assert.deepEqual(reported, ["app bug"]);
});
