// Tokens on a fake WebSocket and virtual time: asked for before connecting,
// refreshed before they expire, asked for again after a refused upgrade and
// after close 4001.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Switchboard } from "../../src/client.js";
import { FakeClock } from "../support/fake_clock.js";
import { fakeWebSocket, flush } from "../support/fake_socket.js";

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
/** An unsigned JWT-shaped token (the client never verifies). */
const jwt = (sub, exp) => `${b64({ alg: "HS256" })}.${b64({ sub, exp })}.sig`;

function setup(tokenFor) {
  const clock = new FakeClock();
  const ws = fakeWebSocket({ pings: true });
  let calls = 0;
  const c = new Switchboard("ws://node/ws?x=1", {
    websocket: ws.FakeSocket, clock, random: () => 0,
    getToken: async () => tokenFor(++calls, clock.now()),
  });
  const errors = [];
  c.on("error", (e) => errors.push(e));
  return { c, clock, ws, errors, calls: () => calls };
}

const seconds = (ms) => Math.floor(ms / 1000);

test("the token goes into the URL; it is refreshed at four fifths of its life", async () => {
  const { c, clock, ws, calls } = setup((n, now) => jwt("alice", seconds(now) + 100 * n));
  c.connect();
  await flush();
  const s = ws.last();
  assert.ok(s.url.startsWith("ws://node/ws?x=1&token="));
  assert.equal(new URL(s.url).searchParams.get("token"), jwt("alice", seconds(clock.now()) + 100));
  s.welcome(1);
  clock.advance(79_000);
  await flush();
  assert.equal(calls(), 1);
  clock.advance(1_000);
  await flush();
  assert.equal(calls(), 2);
  const refresh = s.last("refresh");
  assert.equal(refresh.token, jwt("alice", seconds(clock.now()) + 200));
  s.receive({ type: "refreshed", expires: seconds(clock.now()) + 50, id: refresh.id });
  await flush();
  // The next refresh at four fifths of the 50 s the node reported.
  clock.advance(40_000);
  await flush();
  assert.equal(calls(), 3);
});

test("close 4001: a new token, then a reconnect", async () => {
  const { c, clock, ws, calls } = setup((n) => `token-${n}`);
  c.connect();
  await flush();
  ws.last().welcome();
  ws.last().drop(4001, "token expired");
  clock.advance(500);
  await flush();
  assert.equal(calls(), 2);
  assert.ok(ws.last().url.endsWith("token=token-2"));
});

test("an upgrade refused with 401: a new token for the next attempt; another status keeps it", async () => {
  const { c, clock, ws, calls } = setup((n) => `token-${n}`);
  c.connect();
  await flush();
  ws.last().refuse(401);
  clock.advance(500);
  await flush();
  assert.equal(calls(), 2);
  ws.last().refuse(503);
  clock.advance(2000);
  await flush();
  assert.equal(calls(), 2, "a full node is no reason for a new token");
  assert.equal(ws.sockets.length, 3);
});

test("getToken() failing: an error event and another attempt later", async () => {
  const { c, clock, ws, errors, calls } = setup((n) => {
    if (n === 1) throw new Error("auth server down");
    return "good";
  });
  const closes = [];
  c.on("disconnected", (d) => closes.push(d));
  c.connect();
  await flush();
  assert.equal(ws.sockets.length, 0);
  assert.equal(errors[0].message, "auth server down");
  assert.deepEqual(closes, [{ code: 3, reason: "no token", reconnect: true }]);
  clock.advance(500);
  await flush();
  assert.equal(calls(), 2);
  assert.ok(ws.last().url.endsWith("token=good"));
});

test("a refresh the node refuses is tried again while the token lives; not_enabled stops it", async () => {
  const { c, clock, ws, errors, calls } = setup((n, now) => jwt("alice", seconds(now) + 100));
  c.connect();
  await flush();
  const s = ws.last();
  s.welcome();
  clock.advance(80_000);
  await flush();
  s.receive({ type: "error", code: "forbidden", reason: "another sub", id: s.last("refresh").id });
  await flush();
  assert.equal(errors.at(-1).code, "forbidden");
  clock.advance(500);
  await flush();
  assert.equal(calls(), 3);
  s.receive({ type: "error", code: "not_enabled", reason: "no auth", id: s.last("refresh").id });
  await flush();
  clock.advance(100_000);
  await flush();
  assert.equal(calls(), 3);
});
