"""Three CLI nodes joined into one cluster over CAF's middleman, on loopback,
with real clients on each (docs/cluster.md).

Every node gets the same seed list (its own address included: a node skips
itself). BASP heartbeats are shortened (--cluster-heartbeat-interval=200ms,
--cluster-connection-timeout=1500ms) so that a frozen node is detected
within a test's patience. Nothing here sleeps for a fixed time to let the
cluster settle: the tests wait, bounded, for the state they need (peers up in
/stats?scope=cluster, then probes that prove a node's interest reached the
others).
"""

import asyncio
import json
import signal
import socket
import time
import unittest

from harness import (SLACK, Server, async_wait_until, expect_nothing, recv_json,
                     run_async, send_json, subscribe, wait_until, ws_connect)

KEY = "cluster-e2e-api-key"
HEARTBEAT = "200ms"
CONNECTION_TIMEOUT = 1.5  # seconds


def free_ports(n):
    """n distinct loopback ports that were free a moment ago."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


class Cluster:
    """Three nodes (or fewer started), each with a fixed cluster port."""

    def __init__(self, size=3, extra=()):
        self.extra = tuple(extra)
        self.cluster_ports = free_ports(size)
        self.seeds = ",".join(f"127.0.0.1:{p}" for p in self.cluster_ports)
        self.nodes = [None] * size

    def flags(self, i, seeds=None, extra=()):
        # (No command rate limit: the order test publishes as fast as it can.)
        return ("--host=127.0.0.1", f"--api-key={KEY}", "--client-rate=0",
                f"--cluster-port={self.cluster_ports[i]}", "--cluster-host=127.0.0.1",
                f"--cluster-seeds={self.seeds if seeds is None else seeds}",
                f"--cluster-heartbeat-interval={HEARTBEAT}",
                f"--cluster-connection-timeout={int(CONNECTION_TIMEOUT * 1000)}ms",
                *self.extra, *extra)

    def start(self, i, seeds=None, extra=()):
        """Starts node i with the common seed list, or with `seeds`."""
        self.nodes[i] = Server(*self.flags(i, seeds, extra))
        return self.nodes[i]

    def close(self):
        for node in self.nodes:
            if node is not None:
                node.signal(signal.SIGCONT)
                node.close()

    def address(self, i):
        return f"127.0.0.1:{self.cluster_ports[i]}"


def cluster_stats(node, key=KEY):
    """/stats?scope=cluster, with the API key (names included) unless key is None."""
    headers = {} if key is None else {"Authorization": f"apikey {key}"}
    status, _, body = node.http("GET", "/stats?scope=cluster", headers=headers)
    if status != 200:
        raise AssertionError(f"/stats?scope=cluster answered {status}: {body!r}")
    return json.loads(body)


def peers_up(node):
    """Cluster addresses of the peers `node` has up."""
    try:
        stats = cluster_stats(node)
    except OSError:
        return set()
    return {p["address"] for p in stats["cluster"]["peers"] if p["state"] == "up"}


def api_publish(node, topic, data):
    status, _, body = node.http("POST", "/api/publish",
                                json.dumps({"topic": topic, "data": data}),
                                {"Authorization": f"apikey {KEY}",
                                 "Content-Type": "application/json"})
    if status != 200:
        raise AssertionError(f"/api/publish answered {status}: {body!r}")
    return json.loads(body)


async def recv_message(ws, topic, timeout=5.0, skip_probes=True):
    """The next message on `topic`, skipping probes (and acks)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no message on {topic!r} within {timeout}s")
        msg = await recv_json(ws, left)
        if msg.get("type") != "message" or msg.get("topic") != topic:
            continue
        if skip_probes and isinstance(msg.get("data"), dict) and "probe" in msg["data"]:
            continue
        return msg


async def until_reached(publisher_node, subscriber_ws, topic, timeout):
    """Publishes probes on `topic` through `publisher_node`'s API until the
    subscriber gets one: the subscriber's node is up with the publisher's
    and its interest in `topic` arrived there."""
    deadline = time.monotonic() + timeout * SLACK
    n = 0
    while time.monotonic() < deadline:
        n += 1
        await asyncio.to_thread(api_publish, publisher_node, topic, {"probe": n})
        try:
            while True:
                msg = await recv_json(subscriber_ws, 0.2)
                if msg.get("type") == "message" and msg.get("topic") == topic \
                        and isinstance(msg.get("data"), dict) and "probe" in msg["data"]:
                    return
        except asyncio.TimeoutError:
            continue
    raise AssertionError(f"no probe on {topic!r} crossed within {timeout}s")


class ClusterCase(unittest.TestCase):
    EXTRA = ()

    def setUp(self):
        self.cluster = Cluster(extra=self.EXTRA)
        self.addCleanup(self.cluster.close)

    def start_all(self):
        nodes = [self.cluster.start(i) for i in range(3)]
        self.wait_mesh(nodes, 3)
        return nodes

    def wait_mesh(self, nodes, size, timeout=10.0):
        for node in nodes:
            wait_until(lambda node=node: len(peers_up(node)) == size - 1, timeout * SLACK,
                       interval=0.05, message=f"{size - 1} peers up on :{node.port}")


class Forwarding(ClusterCase):
    def test_a_publish_on_any_node_reaches_subscribers_on_every_node(self):
        nodes = self.start_all()

        async def go():
            clients = [(await ws_connect(node))[0] for node in nodes]
            for ws in clients:
                await subscribe(ws, "news")
            for src in nodes:
                for ws in clients:
                    await until_reached(src, ws, "news", 10)
            # A client's publish on each node, and the API's, reach all three.
            for i, ws in enumerate(clients):
                await send_json(ws, {"type": "publish", "topic": "news", "data": {"from": i}})
                for other in clients:
                    msg = await recv_message(other, "news")
                    self.assertEqual(msg["data"], {"from": i})
            await asyncio.to_thread(api_publish, nodes[2], "news", "api")
            for ws in clients:
                self.assertEqual((await recv_message(ws, "news"))["data"], "api")
            for ws in clients:
                await ws.close()

        run_async(go(), 60)

    def test_a_topic_without_remote_subscribers_is_not_forwarded(self):
        nodes = self.start_all()

        async def go():
            local, _ = await ws_connect(nodes[0])
            remote, _ = await ws_connect(nodes[1])
            await subscribe(local, "local-only")
            await subscribe(remote, "elsewhere")
            await until_reached(nodes[0], remote, "elsewhere", 10)
            before = {p["address"]: p["forwarded"]
                      for p in cluster_stats(nodes[0])["cluster"]["peers"]}
            for n in range(50):
                await asyncio.to_thread(api_publish, nodes[0], "local-only", n)
            for n in range(50):
                self.assertEqual((await recv_message(local, "local-only"))["data"], n)
            await expect_nothing(remote, 0.3)
            after = {p["address"]: p["forwarded"]
                     for p in cluster_stats(nodes[0])["cluster"]["peers"]}
            self.assertEqual(after, before)
            await local.close()
            await remote.close()

        run_async(go(), 60)

    def test_a_direct_send_reaches_a_connection_on_another_node(self):
        nodes = self.start_all()

        async def go():
            sender, sender_id = await ws_connect(nodes[0])
            target, target_id = await ws_connect(nodes[2])
            # The id says nothing to the sender's node until the nodes are up.
            await send_json(sender, {"type": "send", "to": target_id, "data": "hi"})
            msg = await recv_json(target, 5 * SLACK)
            self.assertEqual(msg, {"type": "direct", "from": sender_id, "data": "hi"})
            await sender.close()
            await target.close()

        run_async(go(), 30)

    def test_cluster_stats_sum_the_nodes(self):
        nodes = self.start_all()

        async def go():
            clients = [(await ws_connect(node))[0] for node in nodes for _ in range(2)]
            for ws in clients[:3]:
                await subscribe(ws, "counted")

            async def summed():
                c = (await asyncio.to_thread(cluster_stats, nodes[1]))["cluster"]
                return (c["connections"] == 6 and c.get("topics", {}).get("counted") == 3
                        and c["nodes_answered"] == 3)
            await async_wait_until(summed, 10 * SLACK, message="cluster sums")
            node_view = cluster_stats(nodes[1])["node"]
            self.assertEqual(node_view["connections"], 2)
            for ws in clients:
                await ws.close()

        run_async(go(), 30)


class Ordering(ClusterCase):
    # The Python subscribers read slower than 2000 publishes arrive; the
    # test is about order, not the slow-consumer bound, so the bound is
    # raised above the burst.
    EXTRA = ("--send-queue=4096",)

    def test_per_publisher_order_holds_on_every_node(self):
        nodes = self.start_all()
        count = 2000

        async def go():
            pub, _ = await ws_connect(nodes[0])
            subs = [(await ws_connect(node))[0] for node in nodes[1:]]
            for ws in subs:
                await subscribe(ws, "seq")
                await until_reached(nodes[0], ws, "seq", 10)
            async def receive(ws):
                return [(await recv_message(ws, "seq", 10))["data"] for _ in range(count)]
            # The subscribers read while the publisher sends (one that did
            # not would be cut off as a slow consumer).
            readers = [asyncio.create_task(receive(ws)) for ws in subs]
            for n in range(count):
                await send_json(pub, {"type": "publish", "topic": "seq", "data": n})
            for got in await asyncio.gather(*readers):
                self.assertEqual(got, list(range(count)))
            for ws in [pub, *subs]:
                await ws.close()

        run_async(go(), 90)


class Failures(ClusterCase):
    def test_kill_9_then_restart(self):
        nodes = self.start_all()

        async def go():
            clients = [(await ws_connect(node))[0] for node in nodes]
            for ws in clients:
                await subscribe(ws, "alive")
            for ws in clients[1:]:
                await until_reached(nodes[0], ws, "alive", 10)
            # (The cluster's numbers may be up to a second old.)
            await async_wait_until(
                lambda: asyncio.to_thread(
                    lambda: cluster_stats(nodes[0])["cluster"]["connections"] == 3),
                5 * SLACK, interval=0.1, message="3 connections in the cluster")

            # SIGKILL node 2: the others notice at once and keep serving.
            killed_at = time.monotonic()
            nodes[2].kill()
            await async_wait_until(
                lambda: asyncio.to_thread(
                    lambda: self.cluster.address(2) not in peers_up(nodes[0])
                    and self.cluster.address(2) not in peers_up(nodes[1])),
                3 * SLACK, message="node 2 seen down")
            detected = time.monotonic() - killed_at
            self.assertLess(detected, 3 * SLACK)
            c = (await asyncio.to_thread(cluster_stats, nodes[0]))["cluster"]
            self.assertEqual(c["connections"], 2)
            self.assertEqual(c["topics"].get("alive"), 2)
            await send_json(clients[0], {"type": "publish", "topic": "alive", "data": 1})
            for ws in clients[:2]:
                self.assertEqual((await recv_message(ws, "alive"))["data"], 1)

            # Restart it on the same ports: it rejoins and receives again.
            restarted_at = time.monotonic()
            fresh = await asyncio.to_thread(self.cluster.start, 2)
            ws, _ = await ws_connect(fresh)
            await subscribe(ws, "alive")
            await until_reached(nodes[0], ws, "alive", 10)
            rejoined = time.monotonic() - restarted_at
            self.assertLess(rejoined, 10 * SLACK)
            await send_json(clients[1], {"type": "publish", "topic": "alive", "data": 2})
            for w in (clients[0], clients[1], ws):
                self.assertEqual((await recv_message(w, "alive"))["data"], 2)
            print(f"kill -9 detected in {detected:.3f}s, rejoined in {rejoined:.3f}s")
            for w in (clients[0], clients[1], ws):
                await w.close()

        run_async(go(), 90)

    def test_sigstop_is_detected_and_sigcont_rejoins(self):
        nodes = self.start_all()

        async def go():
            clients = [(await ws_connect(node))[0] for node in nodes]
            for ws in clients:
                await subscribe(ws, "frozen")
            for ws in clients[1:]:
                await until_reached(nodes[0], ws, "frozen", 10)
            stopped_at = time.monotonic()
            nodes[2].signal(signal.SIGSTOP)
            await async_wait_until(
                lambda: asyncio.to_thread(
                    lambda: self.cluster.address(2) not in peers_up(nodes[0])),
                (CONNECTION_TIMEOUT + 3) * SLACK, interval=0.05, message="frozen node seen down")
            detected = time.monotonic() - stopped_at
            # The others serve on while it is frozen.
            await send_json(clients[1], {"type": "publish", "topic": "frozen", "data": "x"})
            for ws in clients[:2]:
                self.assertEqual((await recv_message(ws, "frozen"))["data"], "x")
            resumed_at = time.monotonic()
            nodes[2].signal(signal.SIGCONT)
            # Its client may or may not have survived the freeze (its
            # heartbeat is the node's own business); a new one must work.
            ws, _ = await ws_connect(nodes[2])
            await subscribe(ws, "frozen")
            await until_reached(nodes[0], ws, "frozen", 15)
            rejoined = time.monotonic() - resumed_at
            await asyncio.to_thread(self.wait_mesh, nodes, 3, 15)
            print(f"SIGSTOP detected in {detected:.3f}s, rejoined after SIGCONT in "
                  f"{rejoined:.3f}s")
            for w in (*clients, ws):
                try:
                    await w.close()
                except Exception:
                    pass

        run_async(go(), 90)

    def test_a_seed_down_at_start_is_dialed_until_it_comes_up(self):
        first = self.cluster.start(0, extra=("--log-level=debug",))
        # Node 1 is down (and node 2 never starts): node 0's dial fails.
        failed = f"cluster: dial failed address={self.cluster.address(1)}"
        wait_until(lambda: failed in first.stderr(), 10 * SLACK, interval=0.05,
                   message="node 0's failed dial of node 1")
        self.assertEqual(peers_up(first), set())
        self.assertTrue(first.alive())
        # Node 1 knows no other node: only node 0 dialing it again makes them
        # a cluster.
        second = self.cluster.start(1, seeds=self.cluster.address(1))
        self.wait_mesh([first, second], 2)

        async def go():
            ws, _ = await ws_connect(second)
            await subscribe(ws, "late")
            await until_reached(first, ws, "late", 10)
            await ws.close()

        run_async(go(), 30)

    def test_a_stop_with_peers_connected_and_dials_in_flight_is_bounded(self):
        nodes = [self.cluster.start(0), self.cluster.start(1)]  # node 2 is dialed forever
        self.wait_mesh(nodes, 2)
        for node in nodes:
            rc, took = node.stop(signal.SIGTERM, timeout=15)
            self.assertEqual(rc, 0, node.stderr())
            self.assertLess(took, (5 + 1) * SLACK)  # --shutdown-timeout is 5s


if __name__ == "__main__":
    unittest.main()
