// The client against a real node (the current protocol): the welcome's
// ping, publish and subscribe, reconnect after a restart, the ping watchdog
// on a stopped node (pings visible, and probes as in a browser), the node's
// error codes, a token refused at the upgrade.

import assert from "node:assert/strict";
import { test } from "node:test";

import WebSocket from "ws";

import { BrowserLikeSocket, fixture, next, sign } from "./support/node.js";

const { node, client } = fixture({ minReconnectDelay: 100, maxReconnectDelay: 1000 });

test("the welcome announces the ping; a publish reaches a subscriber", { timeout: 20_000 }, async () => {
  const n = await node(["--ping-interval=1500ms"]);
  const a = client(n.url);
  const b = client(n.url);
  const welcomed = next(a, "connected");
  a.connect();
  b.connect();
  const w = await welcomed;
  assert.equal(w.ping, 1.5);
  assert.equal(typeof w.id, "number");
  const sub = a.subscribe("news");
  await next(sub, "subscribed");
  const got = next(sub, "message");
  await b.publish("news", { headline: "hello", n: 1.5 });
  assert.deepEqual(await got, { data: { headline: "hello", n: 1.5 }, offset: undefined });
});

test("reconnects after the node restarts and resubscribes", { timeout: 30_000 }, async () => {
  let n = await node();
  const port = n.port;
  const c = client(n.url);
  c.connect();
  const sub = c.subscribe("restart");
  await next(sub, "subscribed");
  const down = next(c, "disconnected");
  await n.stop();
  assert.deepEqual(await down, { code: 1001, reason: "server shutdown", reconnect: true });
  const back = next(sub, "subscribed");
  n = await node([`--port=${port}`]);
  await back;
  assert.equal(c.state, "connected");
  const pub = client(n.url);
  pub.connect();
  const got = next(sub, "message");
  await pub.publish("restart", "after");
  assert.equal((await got).data, "after");
});

for (const browser of [false, true]) {
  const how = browser ? "probes (a browser's WebSocket shows no pings)" : "the node's pings (ws)";
  test(`a stopped node is noticed by ${how}; the client reconnects once it runs again`,
    { timeout: 30_000 }, async () => {
      const n = await node(["--ping-interval=300ms", "--pong-timeout=10s"]);
      const sent = [];
      const Socket = browser
        ? class extends BrowserLikeSocket {
            send(data) {
              sent.push(JSON.parse(data).type);
              super.send(data);
            }
          }
        : WebSocket;
      const c = client(n.url, { websocket: Socket, maxPingDelay: 700 });
      c.connect();
      await next(c, "connected");
      // A quiet connection stays: two seconds, several ping intervals.
      const early = next(c, "disconnected", 2000).then(
        (d) => assert.fail(`disconnected while the node runs: ${JSON.stringify(d)}`),
        () => "quiet and alive");
      assert.equal(await early, "quiet and alive");
      if (browser) assert.ok(sent.filter((t) => t === "ping").length >= 3, `probes: ${sent}`);
      else assert.equal(sent.length, 0);
      const dead = next(c, "disconnected");
      const stoppedAt = Date.now();
      n.signal("SIGSTOP");
      try {
        assert.deepEqual(await dead, { code: 1, reason: "no ping", reconnect: true });
        // interval + margin (1 s), plus the timer's granularity.
        assert.ok(Date.now() - stoppedAt < 3000, `noticed after ${Date.now() - stoppedAt} ms`);
      } finally {
        n.signal("SIGCONT");
      }
      await next(c, "connected");
    });
}

test("commands are answered with the node's error codes", { timeout: 20_000 }, async () => {
  const n = await node();
  const c = client(n.url);
  c.connect();
  await next(c, "connected");
  await assert.rejects(c.publish("", 1), { code: "bad_request" });
  await assert.rejects(c.send(12345, "hi"), { code: "unknown_connection" });
  await assert.rejects(c.send("user:nobody", "hi"), { code: "unknown_user" });
  await c.send(c.id, "to myself");
});

test("direct messages arrive as events", { timeout: 20_000 }, async () => {
  const n = await node();
  const a = client(n.url);
  const b = client(n.url);
  // Both waits before either connects: b may be welcomed first.
  const welcomed = [next(a, "connected"), next(b, "connected")];
  a.connect();
  b.connect();
  const [{ id }] = await Promise.all(welcomed);
  const got = next(a, "direct");
  await b.send(id, [1, 2, 3]);
  assert.deepEqual(await got, { from: b.id, data: [1, 2, 3] });
});

test("a token refused at the upgrade (401): getToken() again, then connected", { timeout: 20_000 }, async () => {
  const secret = "a-test-secret-of-at-least-32-bytes!!";
  const n = await node(["--auth=jwt", `--jwt-secret=${secret}`, "--jwt-leeway=0s"]);
  const now = () => Math.floor(Date.now() / 1000);
  const tokens = [
    sign({ sub: "alice", exp: now() - 60 }, secret), // expired: 401
    sign({ sub: "alice", exp: now() + 3600 }, secret),
  ];
  let calls = 0;
  const c = client(n.url, { getToken: async () => tokens[Math.min(calls++, 1)] });
  const refused = next(c, "disconnected");
  c.connect();
  assert.deepEqual(await refused,
    { code: 1006, reason: "upgrade refused (401)", reconnect: true });
  await next(c, "connected");
  assert.equal(calls, 2);
});
