// Subscriptions on a fake WebSocket: subscribed again after a reconnect,
// with recovery from the last offset on topics with history, each message
// once and in order; errors that end a subscription and errors retried.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Switchboard } from "../../src/client.js";
import { FakeClock } from "../support/fake_clock.js";
import { fakeWebSocket, flush } from "../support/fake_socket.js";

function connected() {
  const clock = new FakeClock();
  const ws = fakeWebSocket();
  const c = new Switchboard("ws://node/ws", { websocket: ws.FakeSocket, clock, random: () => 0 });
  c.connect();
  ws.last().welcome();
  return { c, clock, ws };
}

function record(sub) {
  const events = [];
  for (const e of ["subscribing", "subscribed", "message", "join", "leave", "error", "unsubscribed"])
    sub.on(e, (arg) => events.push([e, arg]));
  return events;
}

/** Answers the last subscribe on `socket` with `reply`. */
function answer(socket, reply) {
  const sub = socket.last("subscribe");
  socket.receive({ type: "subscribed", topic: sub.topic, id: sub.id, ...reply });
  return sub;
}

test("a history topic: resubscribed with since after a drop, the replay deduplicated, every offset once", async () => {
  const { c, clock, ws } = connected();
  const s = c.subscribe("chat", { joinLeave: true });
  const events = record(s);
  const first = answer(ws.last(), { offset: 4, epoch: "E1" });
  assert.deepEqual(first, { type: "subscribe", topic: "chat", join_leave: true, id: 1 });
  await flush();
  for (const offset of [5, 6]) ws.last().receive({ type: "message", topic: "chat", offset, data: offset });
  ws.last().drop(1006);
  clock.advance(500);
  ws.last().welcome();
  const again = answer(ws.last(), { offset: 9, epoch: "E1", recovered: true });
  assert.deepEqual(again.since, { offset: 6, epoch: "E1" });
  assert.equal(again.join_leave, true);
  await flush();
  // The replay (7..9), one repeated by a race, then live.
  for (const offset of [7, 8, 8, 9, 10]) ws.last().receive({ type: "message", topic: "chat", offset, data: offset });
  ws.last().receive({ type: "join", topic: "chat", id: 5, user: "bob" });
  assert.deepEqual(events.filter(([e]) => e === "message").map(([, m]) => m.offset), [5, 6, 7, 8, 9, 10]);
  assert.deepEqual(events.filter(([e]) => e === "subscribed").map(([, x]) => x), [
    { recovering: false, recovered: false, offset: 4, epoch: "E1" },
    { recovering: true, recovered: true, offset: 9, epoch: "E1" },
  ]);
  assert.deepEqual(events.at(-1), ["join", { id: 5, user: "bob" }]);
  assert.deepEqual(s.position, { offset: 10, epoch: "E1" });
});

test("recovery refused: recovered false, and live messages go on from the new top", async () => {
  const { c, clock, ws } = connected();
  const s = c.subscribe("chat");
  const events = record(s);
  answer(ws.last(), { offset: 10, epoch: "E1" });
  await flush();
  ws.last().drop(1001, "server shutdown");
  clock.advance(500);
  ws.last().welcome();
  answer(ws.last(), { offset: 3, epoch: "E2", recovered: false });
  await flush();
  ws.last().receive({ type: "message", topic: "chat", offset: 4, data: "after restart" });
  assert.deepEqual(events.filter(([e]) => e === "subscribed").at(-1)[1],
    { recovering: true, recovered: false, offset: 3, epoch: "E2" });
  assert.deepEqual(events.at(-1), ["message", { data: "after restart", offset: 4 }]);
});

test("a topic without history: resubscribed plainly, recovered false", async () => {
  const { c, clock, ws } = connected();
  const s = c.subscribe("news");
  const events = record(s);
  answer(ws.last(), {});
  await flush();
  ws.last().receive({ type: "message", topic: "news", data: 1 });
  ws.last().drop(1006);
  assert.deepEqual(events.at(-1), ["subscribing", { reason: "connection lost" }]);
  clock.advance(500);
  ws.last().welcome();
  const again = answer(ws.last(), {});
  assert.equal(again.since, undefined);
  await flush();
  assert.deepEqual(events.filter(([e]) => e === "subscribed").map(([, x]) => x),
    [{ recovering: false, recovered: false }, { recovering: false, recovered: false }]);
  assert.deepEqual(events[1], ["message", { data: 1, offset: undefined }]);
});

test("since on a topic that lost its history (not_enabled): subscribed again without it", async () => {
  const { c, clock, ws } = connected();
  const s = c.subscribe("chat");
  const events = record(s);
  answer(ws.last(), { offset: 2, epoch: "E1" });
  await flush();
  ws.last().drop(1006);
  clock.advance(500);
  ws.last().welcome();
  const withSince = ws.last().last("subscribe");
  ws.last().receive({ type: "error", code: "not_enabled", reason: "no history", id: withSince.id });
  await flush();
  const plain = answer(ws.last(), {});
  assert.equal(plain.since, undefined);
  await flush();
  assert.deepEqual(events.at(-1), ["subscribed", { recovering: false, recovered: false }]);
  assert.equal(s.position, null);
});

test("forbidden ends the subscription; rate_limited is tried again after a delay", async () => {
  const { c, clock, ws } = connected();
  const denied = c.subscribe("secret");
  const events = record(denied);
  const sub = ws.last().last("subscribe");
  ws.last().receive({ type: "error", code: "forbidden", reason: "not allowed", id: sub.id });
  await flush();
  assert.equal(events[0][0], "error");
  assert.equal(events[0][1].code, "forbidden");
  assert.deepEqual(events[1], ["unsubscribed", { code: "forbidden", reason: "not allowed" }]);
  assert.equal(denied.state, "unsubscribed");
  assert.equal(c.getSubscription("secret"), undefined);

  const busy = c.subscribe("busy");
  const first = ws.last().last("subscribe");
  ws.last().receive({ type: "error", code: "rate_limited", reason: "slow down", id: first.id });
  await flush();
  assert.equal(busy.state, "subscribing");
  clock.advance(500);
  assert.notEqual(ws.last().last("subscribe").id, first.id, "sent again");
});

test("unsubscribe: the node is told, no more messages, subscribe() brings it back", async () => {
  const { c, ws } = connected();
  const s = c.subscribe("news");
  const events = record(s);
  answer(ws.last(), {});
  await flush();
  s.unsubscribe();
  assert.deepEqual(ws.last().last("unsubscribe"), { type: "unsubscribe", topic: "news" });
  ws.last().receive({ type: "message", topic: "news", data: "late" });
  assert.deepEqual(events.map(([e]) => e), ["subscribed", "unsubscribed"]);
  assert.equal(c.subscribe("news") === s, false, "a new subscription for the topic");
  assert.equal(c.getSubscription("news").state, "subscribing");
});

test("subscribing twice to a topic gives the same subscription", () => {
  const { c } = connected();
  assert.equal(c.subscribe("a"), c.subscribe("a"));
});
