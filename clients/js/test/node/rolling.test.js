// A rolling restart of a three-node cluster with history in Redis
// (docs/operations.md, "Restarting"; docs/cluster.md, "History in Redis"),
// with this library's clients: each node in turn is stopped for a restart
// (SIGUSR2: close 1012) and started again on its ports while a publisher
// publishes as fast as it can through the nodes that are up. Every client
// must see every offset exactly once, in order, and recover each time.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, connect } from "node:net";
import { test } from "node:test";

import { SLACK, fixture, next, startNode } from "./support/node.js";

const KEY = "rolling-restart-key";
const TOPIC = "ticks";
const haveRedis = spawnSync("redis-server", ["--version"]).status === 0;

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 50 ms until it is true; rejects after `ms`. */
async function until(check, ms, what) {
  const end = Date.now() + ms * SLACK;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not within ${ms * SLACK} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** redis-server on a free loopback port, without persistence; killed after the test. */
async function startRedis(t) {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1",
    "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  t.after(() => proc.kill("SIGKILL"));
  await until(() => new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  }), 5000, "redis-server accepts");
  return `127.0.0.1:${port}`;
}

async function api(n, method, path, body) {
  const res = await fetch(n.base + path, {
    method,
    headers: { Authorization: `apikey ${KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function peersUp(n) {
  try {
    const { status, body } = await api(n, "GET", "/stats?scope=cluster");
    return status === 200 ? body.cluster.peers.filter((p) => p.state === "up").length : 0;
  } catch {
    return 0;
  }
}

/** Waits until the process of `n` has exited. */
function exited(n) {
  if (n.proc.exitCode !== null || n.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => n.proc.once("exit", resolve));
}

test("a rolling restart under a full-speed publisher: every client sees every offset once, in order",
  { timeout: 120_000, skip: !haveRedis && "redis-server missing (tools/setup.sh --tests)" },
  async (t) => {
    const redis = await startRedis(t);
    const clientPorts = [await freePort(), await freePort(), await freePort()];
    const clusterPorts = [await freePort(), await freePort(), await freePort()];
    const seeds = clusterPorts.map((p) => `127.0.0.1:${p}`).join(",");
    const args = (i) => [`--port=${clientPorts[i]}`, "--host=127.0.0.1", `--api-key=${KEY}`,
      "--client-rate=0", `--cluster-port=${clusterPorts[i]}`, "--cluster-host=127.0.0.1",
      `--cluster-seeds=${seeds}`, `--redis=${redis}`, "--redis-timeout=1s",
      "--history-size=100000", "--history-ttl=10min", "--recovery-max=10000"];
    const { node, client } = fixture({ minReconnectDelay: 50, maxReconnectDelay: 300 });
    const nodes = [];
    for (let i = 0; i < 3; i++) nodes.push(await node(args(i)));
    const meshed = () => until(async () => {
      for (const n of nodes) if ((await peersUp(n)) !== 2) return false;
      return true;
    }, 15_000, "every node has 2 peers up");
    await meshed();

    // Three clients on each node, subscribed before the first publish.
    const subs = [];
    for (const n of nodes) {
      for (let k = 0; k < 3; k++) {
        const c = client(n.url);
        c.connect();
        const s = c.subscribe(TOPIC);
        const sub = { node: nodes.indexOf(n), offsets: [], recoveries: [], epochs: new Set(),
          log: [] };
        s.on("subscribed", (ctx) => {
          sub.epochs.add(ctx.epoch);
          sub.log.push(`subscribed at ${sub.offsets.at(-1)}: ${JSON.stringify(ctx)}`);
          if (ctx.recovering) sub.recoveries.push(ctx.recovered);
        });
        s.on("message", ({ offset }) => sub.offsets.push(offset));
        await next(s, "subscribed");
        subs.push(sub);
      }
    }

    // The publisher: /api/publish through the nodes that are up, one after
    // the other; a refused or failed call moves on to the next node.
    let down = -1;
    let publishing = true;
    let last = 0;
    let published = 0;
    const publisher = (async () => {
      let i = 0;
      while (publishing) {
        i = (i + 1) % 3;
        if (i === down) continue;
        try {
          const r = await api(nodes[i], "POST", "/api/publish", { topic: TOPIC, data: published });
          if (r.status === 200) {
            published++;
            last = Math.max(last, r.body.offset);
          }
        } catch {
          // connection refused: that node is stopping; the next one takes it
        }
      }
    })();

    await until(() => published >= 200, 10_000, "200 publishes before the first restart");
    for (let i = 0; i < 3; i++) {
      down = i;
      nodes[i].signal("SIGUSR2");
      await exited(nodes[i]);
      nodes[i] = await startNode(args(i));
      t.after(() => nodes[i].stop());
      down = -1;
      await meshed();
      const before = published;
      await until(() => published >= before + 200, 10_000, "200 publishes after a restart");
    }
    publishing = false;
    await publisher;

    await until(() => subs.every((s) => s.offsets.at(-1) === last), 20_000,
      `every client reaches offset ${last}`);
    assert.ok(published >= 800, `published ${published}`);
    for (const s of subs) {
      const missing = [];
      const seen = new Map();
      for (const o of s.offsets) seen.set(o, (seen.get(o) ?? 0) + 1);
      for (let o = 1; o <= last; o++) if (!seen.has(o)) missing.push(o);
      const twice = [...seen].filter(([, n]) => n > 1).map(([o]) => o);
      assert.ok(missing.length === 0 && twice.length === 0,
        `client on node ${s.node}: missing ${missing.slice(0, 20)}, twice ${twice.slice(0, 20)}; `
        + s.log.join("; "));
      assert.deepEqual(s.offsets, Array.from({ length: last }, (_, k) => k + 1),
        "every offset once, in order");
      assert.equal(s.epochs.size, 1, "one epoch throughout");
      assert.ok(s.recoveries.every((r) => r === true), JSON.stringify(s.recoveries));
    }
    // Each node's clients were cut once and recovered.
    assert.ok(subs.every((s) => s.recoveries.length >= 1), "every client recovered at least once");
  });
