"""The server API on a cluster of three CLI nodes (docs/api.md, "On a
cluster"): sends and disconnects through one node reach connections and
users on the others, answered 200 with what this node did and
"forwarded": true, so that a backend has no reason to retry; and
/stats?scope=cluster names topics and peers only for the API key.

Clients authenticate with HS256 tokens (python3-jwt), so that they have
users. The three-node setup is test_cluster.py's.
"""

import asyncio
import json
import time
import unittest

import jwt
import websockets

from harness import (SLACK, async_wait_until, expect_nothing, recv_json, run_async,
                     subscribe, ws_connect)
from test_cluster import KEY, ClusterCase, cluster_stats

SECRET = "cluster-e2e-secret-of-at-least-32-bytes"
TAG_SHIFT = 37  # a clustered node's connection ids carry its tag above bit 37


def api(node, path, body):
    """One API request through `node`; returns (status, parsed JSON)."""
    status, _, data = node.http("POST", path, json.dumps(body),
                                {"Authorization": f"apikey {KEY}",
                                 "Content-Type": "application/json"})
    return status, json.loads(data)


async def aapi(node, path, body):
    return await asyncio.to_thread(api, node, path, body)


async def connect(node, user):
    token = jwt.encode({"sub": user, "exp": int(time.time()) + 300}, SECRET,
                       algorithm="HS256")
    return await ws_connect(f"{node.url}?token={token}")


async def closed_with(ws, timeout=5.0):
    """The close code and reason the server closed `ws` with."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout * SLACK)
    except websockets.ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


class ClusterApi(ClusterCase):
    EXTRA = ("--auth=jwt", f"--jwt-secret={SECRET}")

    def test_a_disconnect_through_one_node_closes_a_connection_on_another(self):
        a, b, _ = self.start_all()

        async def go():
            ws, conn = await connect(b, "bob")
            status, body = await aapi(a, "/api/disconnect",
                                      {"connection": conn, "code": 4003, "reason": "moved"})
            self.assertEqual((status, body), (200, {"disconnected": 0, "forwarded": True}))
            self.assertEqual(await closed_with(ws), (4003, "moved"))
            # An id with node a's own tag that is not there: unknown.
            mine, mine_id = await connect(a, "alice")
            missing = (mine_id >> TAG_SHIFT) << TAG_SHIFT | ((mine_id + 1) % (1 << TAG_SHIFT))
            status, body = await aapi(a, "/api/disconnect", {"connection": missing})
            self.assertEqual((status, body["error"]), (404, "unknown_connection"))
            status, body = await aapi(a, "/api/disconnect", {"connection": mine_id})
            self.assertEqual((status, body), (200, {"disconnected": 1, "forwarded": False}))
            self.assertEqual(await closed_with(mine), (1000, ""))

        run_async(go(), 30)

    def test_a_send_to_a_user_on_another_node_arrives_once_and_is_200(self):
        a, _, c = self.start_all()

        async def go():
            xavier, _ = await connect(c, "xavier")
            status, body = await aapi(a, "/api/send", {"to": "user:xavier", "data": {"n": 1}})
            self.assertEqual((status, body), (200, {"delivered": 0, "forwarded": True}))
            self.assertEqual(await recv_json(xavier, 5 * SLACK),
                             {"type": "direct", "from": 0, "data": {"n": 1}})
            # Exactly once: the next send down the same path comes next.
            await aapi(a, "/api/send", {"to": "user:xavier", "data": "end"})
            self.assertEqual((await recv_json(xavier, 5 * SLACK))["data"], "end")
            await expect_nothing(xavier, 0.3)
            # Connected on a and c: a counts its own, both get it once.
            here, _ = await connect(a, "xavier")
            status, body = await aapi(a, "/api/send", {"to": "user:xavier", "data": 2})
            self.assertEqual((status, body), (200, {"delivered": 1, "forwarded": True}))
            for ws in (here, xavier):
                self.assertEqual((await recv_json(ws, 5 * SLACK))["data"], 2)
                await expect_nothing(ws, 0.3)
            # Connected nowhere: still no error on a cluster.
            status, body = await aapi(a, "/api/send", {"to": "user:nobody", "data": 3})
            self.assertEqual((status, body), (200, {"delivered": 0, "forwarded": True}))
            for ws in (here, xavier):
                await ws.close()

        run_async(go(), 30)

    def test_a_send_to_a_connection_id_of_another_node_arrives(self):
        a, b, c = self.start_all()

        async def go():
            target, target_id = await connect(b, "bob")
            bystander, _ = await connect(c, "carol")
            status, body = await aapi(a, "/api/send", {"to": target_id, "data": "hi"})
            self.assertEqual((status, body), (200, {"delivered": 0, "forwarded": True}))
            self.assertEqual(await recv_json(target, 5 * SLACK),
                             {"type": "direct", "from": 0, "data": "hi"})
            await expect_nothing(bystander, 0.3)
            local, local_id = await connect(a, "alice")
            status, body = await aapi(a, "/api/send", {"to": local_id, "data": "hey"})
            self.assertEqual((status, body), (200, {"delivered": 1, "forwarded": False}))
            self.assertEqual((await recv_json(local, 5 * SLACK))["data"], "hey")
            for ws in (target, bystander, local):
                await ws.close()

        run_async(go(), 30)

    def test_a_disconnect_of_a_user_reaches_every_node(self):
        a, b, c = self.start_all()

        async def go():
            on_b, _ = await connect(b, "carol")
            on_c, _ = await connect(c, "carol")
            status, body = await aapi(a, "/api/disconnect",
                                      {"user": "carol", "code": 4001, "reason": "account closed"})
            self.assertEqual((status, body), (200, {"disconnected": 0, "forwarded": True}))
            for ws in (on_b, on_c):
                self.assertEqual(await closed_with(ws), (4001, "account closed"))

        run_async(go(), 30)


class ClusterStats(ClusterCase):
    def test_names_only_for_the_api_key(self):
        nodes = self.start_all()

        async def go():
            ws, _ = await ws_connect(nodes[0])
            await subscribe(ws, "secret/topic")
            # With the key: the names (once node 0's numbers are in; they
            # may be reused for a second).
            async def named():
                c = (await asyncio.to_thread(cluster_stats, nodes[1]))["cluster"]
                return c if c["topics"].get("secret/topic") == 1 else None
            full = await async_wait_until(named, 10 * SLACK, interval=0.1,
                                          message="the topic in the cluster's stats")
            self.assertEqual({p["address"] for p in full["peers"]},
                             {self.cluster.address(0), self.cluster.address(2)})
            self.assertEqual(full["address"], self.cluster.address(1))
            # Without it, or with a wrong one: the numbers only.
            for key in (None, "wrong"):
                bare = (await asyncio.to_thread(cluster_stats, nodes[1], key))["cluster"]
                text = json.dumps(bare)
                self.assertNotIn("secret", text)
                self.assertNotIn("127.0.0.1", text)
                self.assertNotIn("topics", bare)
                self.assertNotIn("address", bare)
                self.assertEqual(bare["topic_count"], full["topic_count"])
                self.assertEqual(bare["connections"], full["connections"])
                self.assertEqual(len(bare["peers"]), 2)
                for peer in bare["peers"]:
                    self.assertNotIn("address", peer)
                    self.assertEqual(peer["state"], "up")
            await ws.close()

        run_async(go(), 30)


if __name__ == "__main__":
    unittest.main()
