// Token refresh against a CLI node: {"type":"refresh"}, close 4001 at the
// token's exp.

import assert from "node:assert/strict";
import { test } from "node:test";

import { fixture, next, sign } from "./support/node.js";

const SECRET = "a-test-secret-of-at-least-32-bytes!!";
const AUTH = ["--auth=jwt", `--jwt-secret=${SECRET}`, "--jwt-leeway=0s"];
const now = () => Math.floor(Date.now() / 1000);
const token = (sub, seconds) => sign({ sub, exp: now() + seconds }, SECRET);

const started = fixture({ minReconnectDelay: 50, maxReconnectDelay: 500 });
const node = () => started.node(AUTH);
const client = (url, getToken) => started.client(url, { getToken });

test("a token is refreshed before it expires: the connection outlives it", { timeout: 30_000 }, async () => {
  const n = await node();
  let calls = 0;
  const c = client(n.url, async () => {
    calls++;
    return token("alice", 3);
  });
  c.connect();
  const { id } = await next(c, "connected");
  const drop = next(c, "disconnected", 5000).then(
    (d) => assert.fail(`disconnected: ${JSON.stringify(d)}`), () => "still connected");
  assert.equal(await drop, "still connected");
  assert.equal(c.id, id, "the same connection, past the first token's exp");
  assert.ok(calls >= 2, `getToken() called ${calls} times`);
});

test("a refresh refused (another sub): close 4001 at exp, a new token, a reconnect", { timeout: 30_000 }, async () => {
  const n = await node();
  let expired = false;
  const asked = [];
  const c = client(n.url, async () => {
    // Until the node closed the connection, the refreshes are for someone else.
    const sub = asked.length === 0 || expired ? "alice" : "mallory";
    asked.push(sub);
    return token(sub, 2);
  });
  const errors = [];
  c.on("error", (e) => errors.push(e.code));
  c.connect();
  await next(c, "connected");
  const closed = await next(c, "disconnected");
  expired = true;
  assert.deepEqual(closed, { code: 4001, reason: "token expired", reconnect: true });
  assert.ok(errors.includes("forbidden"), `errors: ${errors}`);
  await next(c, "connected");
  assert.equal(asked.at(-1), "alice");
});
