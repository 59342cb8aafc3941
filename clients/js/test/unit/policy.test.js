// The reconnect policy: which closes reconnect, backoff bounds and jitter,
// when tokens are refreshed.

import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay, reconnects, refreshDelay, tokenExpiry } from "../../src/policy.js";

test("closes that reconnect and closes that stop", () => {
  for (const code of [1001, 1006, 1008, 1011, 1012, 1013, 1015, 4000, 4001, 4499, 3000, 3499, 1, 2, 3])
    assert.equal(reconnects(code), true, `code ${code}`);
  for (const code of [1000, 1002, 1003, 1007, 1009, 3500, 3999, 4500, 4999])
    assert.equal(reconnects(code), false, `code ${code}`);
});

test("backoff stays between the two delays, its ceiling doubling per attempt", () => {
  const min = 500, max = 20000;
  const expected = [1000, 2000, 4000, 8000, 16000, 20000, 20000];
  expected.forEach((ceiling, attempt) => {
    assert.equal(backoffDelay(attempt, min, max, () => 0), min, `attempt ${attempt}, random 0`);
    assert.equal(backoffDelay(attempt, min, max, () => 1), ceiling, `attempt ${attempt}, random 1`);
    assert.equal(backoffDelay(attempt, min, max, () => 0.5), min + (ceiling - min) / 2);
  });
  // Far out the ceiling stays at the maximum (no overflow to Infinity or NaN).
  assert.equal(backoffDelay(5000, min, max, () => 0.999999), min + 0.999999 * (max - min));
  assert.equal(backoffDelay(3, 700, 700, () => 0.3), 700);
});

test("full jitter: delays of one attempt spread over the whole window", () => {
  // A seeded generator: deterministic, and spread like Math.random.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const delays = Array.from({ length: 2000 }, () => backoffDelay(4, 500, 20000, random));
  assert.ok(delays.every((d) => d >= 500 && d <= 16000));
  // Every tenth of the window [500, 16000] gets some of them.
  const buckets = new Array(10).fill(0);
  for (const d of delays) buckets[Math.min(9, Math.floor(((d - 500) / 15500) * 10))]++;
  assert.ok(buckets.every((n) => n > 100), `buckets ${buckets}`);
});

test("a token is refreshed once four fifths of its remaining life passed", () => {
  assert.equal(refreshDelay(110_000, 10_000), 80_000);
  assert.equal(refreshDelay(10_000, 10_000), 0);
  assert.equal(refreshDelay(5_000, 10_000), 0);
});

test("the exp of a JWT, without verifying it", () => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const jwt = (claims) => `${b64({ alg: "HS256" })}.${b64(claims)}.sig`;
  assert.equal(tokenExpiry(jwt({ sub: "a", exp: 1700000000 })), 1700000000000);
  assert.equal(tokenExpiry(jwt({ sub: "é", exp: 2, x: "??>>" })), 2000);
  assert.equal(tokenExpiry(jwt({ sub: "a" })), null);
  assert.equal(tokenExpiry("opaque"), null);
  assert.equal(tokenExpiry("a.!!!.c"), null);
});
