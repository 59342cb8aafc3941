"""Three CLI nodes and one Redis (docs/cluster.md, "History in Redis"): one
sequence of offsets per topic whichever node publishes, positions that mean
the same on every node, and what a node does while Redis is down.

Redis is started by the test on a free loopback port, without persistence.
Probes (test_cluster.until_reached) prove that a node's interest reached the
others before the test publishes; they are numbered too, so the tests
compare the offsets of their own messages, not absolute values."""

import asyncio
import json
import os
import shutil
import tempfile
import unittest

from harness import SLACK, recv_json, run_async, send_json, wait_until, ws_connect
from test_cluster import Cluster, api_publish, peers_up, recv_message, until_reached
from test_redis import RedisServer

TOPIC = "h:e2e"
PLAIN = "plain"


async def subscribe_history(ws, topic, since=None, timeout=5.0):
    cmd = {"type": "subscribe", "topic": topic}
    if since is not None:
        cmd["since"] = since
    await send_json(ws, cmd)
    while True:
        reply = await recv_json(ws, timeout * SLACK)
        if reply.get("type") in ("subscribed", "error"):
            return reply


def start_redis_cluster(test, history_size, extra=()):
    """One Redis and three nodes (not started) with history in the namespace
    "h" only (other topics have none), both cleaned up after `test`."""
    test.redis = RedisServer()
    test.addCleanup(test.redis.stop)
    fd, path = tempfile.mkstemp(prefix="test-redis-", suffix=".ini")
    with os.fdopen(fd, "w") as f:
        f.write(f"[namespaces]\nh={{history-size={history_size}, history-ttl=10min}}\n")
    test.addCleanup(os.remove, path)
    test.cluster = Cluster(extra=(f"--config-file={path}", f"--redis={test.redis.address}",
                                  "--redis-timeout=500ms", *extra))
    test.addCleanup(test.cluster.close)


@unittest.skipIf(shutil.which("redis-server") is None,
                 "redis-server missing (tools/setup.sh --tests installs it)")
class RedisCluster(unittest.TestCase):
    def setUp(self):
        start_redis_cluster(self, 10000, ("--recovery-max=10000",))

    def start_all(self):
        nodes = [self.cluster.start(i) for i in range(3)]
        for node in nodes:
            wait_until(lambda node=node: len(peers_up(node)) == 2, 10 * SLACK, interval=0.05,
                       message=f"2 peers up on :{node.port}")
        return nodes

    def test_publishes_from_three_nodes_at_once_get_identical_offsets_everywhere(self):
        nodes = self.start_all()
        per_node = 200

        async def go():
            subs = [(await ws_connect(node))[0] for node in nodes]
            for ws in subs:
                reply = await subscribe_history(ws, TOPIC)
                self.assertEqual(reply["type"], "subscribed", reply)
            for src in nodes:
                for ws in subs:
                    await until_reached(src, ws, TOPIC, 10)
            pubs = [(await ws_connect(node))[0] for node in nodes]

            async def publish(i, ws):
                for n in range(per_node):
                    await ws.send(json.dumps({"type": "publish", "topic": TOPIC,
                                              "data": {"from": i, "n": n}}))

            await asyncio.gather(*(publish(i, ws) for i, ws in enumerate(pubs)))
            seen = []
            for ws in subs:
                got = []
                while len(got) < 3 * per_node:
                    msg = await recv_message(ws, TOPIC, 20 * SLACK)
                    got.append((msg["offset"], msg["data"]["from"], msg["data"]["n"]))
                seen.append(got)
            for ws in subs + pubs:
                await ws.close()
            return seen

        seen = run_async(go(), 120)
        for got in seen:
            offsets = [o for o, _, _ in got]
            # In offset order, one after the other, on every node.
            self.assertEqual(offsets, list(range(offsets[0], offsets[0] + 3 * per_node)))
            # Each publisher's own order holds.
            for i in range(3):
                self.assertEqual([n for _, f, n in got if f == i], list(range(per_node)))
        # The same numbering on every node.
        self.assertEqual(seen[0], seen[1])
        self.assertEqual(seen[0], seen[2])

    def test_a_position_from_one_node_recovers_exactly_on_another(self):
        nodes = self.start_all()

        async def go():
            a, _ = await ws_connect(nodes[0])
            reply = await subscribe_history(a, TOPIC)
            epoch = reply["epoch"]
            await until_reached(nodes[2], a, TOPIC, 10)
            for n in range(10):
                await asyncio.to_thread(api_publish, nodes[2], TOPIC, {"n": n})
            last = None
            for n in range(10):
                msg = await recv_message(a, TOPIC)
                self.assertEqual(msg["data"], {"n": n})
                last = msg["offset"]
            await a.close()
            # Missed while away, published on a third node.
            published = [await asyncio.to_thread(api_publish, nodes[2], TOPIC, {"m": m})
                         for m in range(5)]
            b, _ = await ws_connect(nodes[1])
            reply = await subscribe_history(b, TOPIC, {"offset": last, "epoch": epoch})
            self.assertEqual(reply["type"], "subscribed", reply)
            self.assertTrue(reply["recovered"], reply)
            self.assertEqual(reply["epoch"], epoch)
            replay = [await recv_message(b, TOPIC) for _ in range(5)]
            self.assertEqual([m["data"] for m in replay], [{"m": m} for m in range(5)])
            self.assertEqual([m["offset"] for m in replay], list(range(last + 1, last + 6)))
            await b.close()
            return published

        run_async(go(), 60)

    def test_with_redis_stopped_history_publishes_fail_and_plain_topics_flow(self):
        # One node suffices: the store is what fails.
        node = self.cluster.start(0)

        async def go():
            sub, _ = await ws_connect(node)
            await send_json(sub, {"type": "subscribe", "topic": PLAIN})
            pub, _ = await ws_connect(node)
            self.redis.stop()
            await send_json(pub, {"type": "publish", "topic": TOPIC, "data": 1, "id": 7})
            while True:
                reply = await recv_json(pub, 5 * SLACK)
                if reply.get("id") == 7:
                    break
            self.assertEqual(reply["type"], "error", reply)
            self.assertEqual(reply.get("code", reply.get("error")), "unavailable", reply)
            await send_json(pub, {"type": "publish", "topic": PLAIN, "data": 2})
            msg = await recv_message(sub, PLAIN)
            self.assertEqual(msg["data"], 2)
            # Redis back (empty): history publishes work again.
            self.redis.start()

            async def stored():
                await send_json(pub, {"type": "publish", "topic": TOPIC, "data": 3, "id": 8})
                while True:
                    r = await recv_json(pub, 5 * SLACK)
                    if r.get("id") == 8:
                        return r.get("type") != "error"
            for _ in range(100):
                if await stored():
                    break
                await asyncio.sleep(0.1)
            else:
                self.fail("history publishes still fail after Redis returned")
            await sub.close()
            await pub.close()

        run_async(go(), 60)

    def test_redis_restarted_empty_gives_recovered_false_with_a_new_epoch(self):
        node = self.cluster.start(0)

        async def go():
            ws, _ = await ws_connect(node)
            epoch = (await subscribe_history(ws, TOPIC))["epoch"]
            await asyncio.to_thread(api_publish, node, TOPIC, "a")
            last = (await recv_message(ws, TOPIC))["offset"]
            await ws.close()
            self.redis.stop()
            self.redis.start()  # without persistence: empty
            ws, _ = await ws_connect(node)
            reply = None
            for _ in range(100):  # until the node has reconnected
                reply = await subscribe_history(ws, TOPIC, {"offset": last, "epoch": epoch})
                if reply["type"] == "subscribed":
                    break
                await asyncio.sleep(0.1)
            self.assertEqual(reply["type"], "subscribed", reply)
            self.assertFalse(reply["recovered"], reply)
            self.assertNotEqual(reply["epoch"], epoch)
            self.assertEqual(reply["offset"], 0)
            await ws.close()

        run_async(go(), 60)


if __name__ == "__main__":
    unittest.main()
