"""Presence across a cluster of three CLI nodes (docs/cluster.md, "Presence"):
a presence query on one node lists the clients of every node, join and leave
events reach watchers on another node, and a node killed with SIGKILL
disappears from presence, with leave events, within the failure-detection
time. Nothing sleeps for a fixed time: every wait is bounded and ends as soon
as its condition holds.
"""

import asyncio
import json
import time

from harness import SLACK, async_wait_until, recv_json, run_async, send_json, ws_connect
from test_cluster import KEY, CONNECTION_TIMEOUT, ClusterCase, until_reached

TOPIC = "room"


async def watch(ws, topic):
    """Subscribes `ws` to `topic` with join/leave events."""
    await send_json(ws, {"type": "subscribe", "topic": topic, "join_leave": True})
    reply = await recv_json(ws)
    if reply != {"type": "subscribed", "topic": topic}:
        raise AssertionError(f"expected subscribed, got {reply!r}")


async def next_event(ws, timeout):
    """The next join or leave on `ws` (probes and other frames skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no join or leave within {timeout}s")
        msg = await recv_json(ws, left)
        if msg.get("type") in ("join", "leave"):
            return msg


async def presence(ws):
    """The presence answer `ws` gets (frames in between skipped)."""
    await send_json(ws, {"type": "presence", "topic": TOPIC, "id": 1})
    while True:
        msg = await recv_json(ws, 5 * SLACK)
        if msg.get("type") == "presence":
            return msg


def api_presence(node):
    status, _, body = node.http("POST", "/api/presence", json.dumps({"topic": TOPIC}),
                                {"Authorization": f"apikey {KEY}",
                                 "Content-Type": "application/json"})
    if status != 200:
        raise AssertionError(f"/api/presence answered {status}: {body!r}")
    return json.loads(body)


def ids(answer):
    return sorted(c["id"] for c in answer["clients"])


class Presence(ClusterCase):
    EXTRA = ("--presence=true", "--join-leave=true")

    def test_presence_spans_the_nodes_and_a_killed_node_leaves(self):
        nodes = self.start_all()

        async def go():
            watcher, watcher_id = await ws_connect(nodes[1])
            await watch(watcher, TOPIC)
            # Nodes 0 and 2 know of the watcher's interest (their probes
            # reach it): their joins will be forwarded to it.
            await until_reached(nodes[0], watcher, TOPIC, 10)
            await until_reached(nodes[2], watcher, TOPIC, 10)
            a, a_id = await ws_connect(nodes[0])
            c, c_id = await ws_connect(nodes[2])
            await watch(a, TOPIC)
            await watch(c, TOPIC)
            joined = {(await next_event(watcher, 5 * SLACK))["id"] for _ in range(2)}
            self.assertEqual(joined, {a_id, c_id})

            answer = await presence(watcher)
            self.assertEqual(ids(answer), sorted([watcher_id, a_id, c_id]))
            self.assertEqual(answer["nodes"], 3)
            self.assertFalse(answer["partial"])
            api = await asyncio.to_thread(api_presence, nodes[1])
            self.assertEqual(ids(api), sorted([watcher_id, a_id, c_id]))
            self.assertEqual(api["nodes"], 3)

            # SIGKILL node 0: its client leaves, on node 1, within the
            # failure-detection time.
            killed_at = time.monotonic()
            nodes[0].kill()
            left = await next_event(watcher, (CONNECTION_TIMEOUT + 1.5) * SLACK)
            detected = time.monotonic() - killed_at
            self.assertEqual(left, {"type": "leave", "topic": TOPIC, "id": a_id})
            self.assertLess(detected, (CONNECTION_TIMEOUT + 1.5) * SLACK)
            answer = await presence(watcher)
            self.assertEqual(ids(answer), sorted([watcher_id, c_id]))
            self.assertEqual(answer["nodes"], 2)
            self.assertFalse(answer["partial"])

            async def api_without_a():
                api = await asyncio.to_thread(api_presence, nodes[2])
                return ids(api) == sorted([watcher_id, c_id]) and api["nodes"] == 2

            await async_wait_until(api_without_a, 5 * SLACK, interval=0.05,
                                   message="node 2's /api/presence without node 0")
            print(f"kill -9: leave on another node after {detected:.3f}s")
            for ws in (watcher, c):
                await ws.close()

        run_async(go(), 60 * SLACK)
