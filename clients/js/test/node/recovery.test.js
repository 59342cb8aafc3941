// Recovery, history and presence (protocol v1.1) against a CLI node.

import assert from "node:assert/strict";
import { test } from "node:test";

import WebSocket from "ws";

import { fixture, next } from "./support/node.js";

const HISTORY = ["--history-size=5000", "--recovery-max=5000", "--client-rate=0"];

const { node, client } = fixture({ minReconnectDelay: 50, maxReconnectDelay: 500 });

/** A WebSocket class whose sockets the test can cut (TCP dropped, no close frame). */
function cuttable() {
  const sockets = [];
  class Socket extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  }
  return { Socket, cut: () => sockets.at(-1).terminate() };
}

test("a TCP connection dropped while a publisher runs: every offset once, in order",
  { timeout: 60_000 }, async () => {
    const n = await node(HISTORY);
    const { Socket, cut } = cuttable();
    const sub = client(n.url, { websocket: Socket });
    sub.connect();
    const s = sub.subscribe("ticks");
    await next(s, "subscribed");
    const total = 3000;
    const offsets = [];
    const recoveries = [];
    s.on("subscribed", (ctx) => recoveries.push(ctx));
    const done = new Promise((resolve) => s.on("message", ({ offset, data }) => {
      assert.equal(data, offset, "data and offset agree");
      offsets.push(offset);
      if (offsets.length === 1000) cut();
      if (offset === total) resolve();
    }));
    // The publisher: a raw client, 20 publishes every 5 ms.
    const pub = new WebSocket(n.url);
    await new Promise((resolve) => pub.once("open", resolve));
    for (let i = 1; i <= total; i += 20) {
      for (let k = i; k < i + 20 && k <= total; k++)
        pub.send(JSON.stringify({ type: "publish", topic: "ticks", data: k }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await done;
    pub.terminate();
    assert.deepEqual(offsets, Array.from({ length: total }, (_, i) => i + 1));
    assert.ok(recoveries.length >= 1, "resubscribed at least once");
    assert.ok(recoveries.every((r) => r.recovering && r.recovered), JSON.stringify(recoveries));
  });

test("a node restart: recovered false with a new epoch", { timeout: 30_000 }, async () => {
  let n = await node(HISTORY);
  const port = n.port;
  const c = client(n.url);
  c.connect();
  const s = c.subscribe("log");
  const first = await next(s, "subscribed");
  const got = next(s, "message");
  await c.publish("log", "one");
  assert.equal((await got).offset, 1);
  await n.stop();
  const again = next(s, "subscribed");
  n = await node([...HISTORY, `--port=${port}`]);
  const ctx = await again;
  assert.equal(ctx.recovering, true);
  assert.equal(ctx.recovered, false);
  assert.notEqual(ctx.epoch, first.epoch);
  assert.equal(ctx.offset, 0);
});

test("history, presence, presence stats, join and leave", { timeout: 30_000 }, async () => {
  const n = await node(["--history-size=10", "--presence=true", "--join-leave=true"]);
  const a = client(n.url);
  const b = client(n.url);
  a.connect();
  b.connect();
  const sa = a.subscribe("room", { joinLeave: true });
  await next(sa, "subscribed");
  const joined = next(sa, "join");
  const sb = b.subscribe("room");
  await next(sb, "subscribed");
  assert.equal((await joined).id, b.id);
  for (const k of [1, 2, 3]) await a.publish("room", { k });
  const h = await b.history("room", { limit: 2 });
  assert.deepEqual(h.messages, [{ offset: 2, data: { k: 2 } }, { offset: 3, data: { k: 3 } }]);
  assert.equal(h.offset, 3);
  const p = await a.presence("room");
  assert.deepEqual(p.clients.map((x) => x.id).sort(), [a.id, b.id].sort());
  assert.equal(p.truncated, false);
  assert.deepEqual(await a.presenceStats("room"), { clients: 2, users: 0 });
  const left = next(sa, "leave");
  const leaving = b.id;
  b.disconnect();
  assert.equal((await left).id, leaving);
  // An error answer rejects (an empty topic is no topic).
  await assert.rejects(a.presence(""), (e) => e.code === "bad_request");
});
