"""Failures of nodes with the history in Redis (docs/cluster.md, "What
survives which failure"): three CLI nodes and one Redis, started by the test.

A client whose node is killed (kill -9) recovers on another node; clients of
a rolling restart (SIGUSR2: close 1012, then the node starts again on the
same ports) under a publisher that runs as fast as the nodes acknowledge
recover wherever they reconnect; a restarted node keeps the epoch. Every
client checks that it saw every offset exactly once, in order, and every
acknowledged publish."""

import asyncio
import shutil
import signal
import time
import unittest

import websockets

from harness import SLACK, async_wait_until, recv_json, run_async, send_json, wait_until, ws_connect
from test_cluster import api_publish, peers_up, recv_message, until_reached
from test_redis_cluster import TOPIC, start_redis_cluster, subscribe_history


class Follower:
    """A client of TOPIC that keeps its position (the last offset it saw)
    and resubscribes with `since` after its connection is closed."""

    def __init__(self, test, name):
        self.test, self.name = test, name
        self.ws = None
        self.epoch = self.last = None
        self.got = []         # (offset, data) of every message, in arrival order
        self.recoveries = []  # the `subscribed` replies to a `since`
        self.closes = []      # close codes of the connections it lost
        self.marks = []       # (len(got), since, reply) at each recovery, to explain a failure

    async def connect(self, node):
        await self.attach((await ws_connect(node))[0])

    async def attach(self, ws):
        """Subscribes on `ws`, with `since` once it has a position."""
        since = None if self.epoch is None else {"offset": self.last, "epoch": self.epoch}
        reply = await subscribe_history(ws, TOPIC, since, timeout=10)
        self.test.assertEqual(reply["type"], "subscribed", f"{self.name}: {reply}")
        if since is None:
            self.epoch, self.last = reply["epoch"], reply["offset"]
        else:  # exact, in the same epoch: every test here expects that
            self.recoveries.append(reply)
            self.marks.append((len(self.got), since["offset"], reply))
            self.test.assertTrue(reply["recovered"], f"{self.name}: {reply}")
            self.test.assertEqual(reply["epoch"], self.epoch, f"{self.name}: {reply}")
        self.ws = ws

    async def next(self, timeout=10.0):
        """The next message (recorded), or None when the connection closed."""
        try:
            msg = await recv_message(self.ws, TOPIC, timeout * SLACK, skip_probes=False)
        except websockets.ConnectionClosed:
            self.closes.append(self.ws.close_code)
            return None
        self.got.append((msg["offset"], msg["data"]))
        self.last = msg["offset"]
        return msg

    async def read_until_end(self, reconnect, timeout):
        """Reads until the publisher's end mark, reconnecting through
        `reconnect(self)` whenever the connection closes."""
        deadline = time.monotonic() + timeout * SLACK
        while time.monotonic() < deadline:
            msg = await self.next()
            if msg is None:
                await reconnect(self)
            elif msg["data"] == {"end": True}:
                await self.ws.close()
                return
        raise AssertionError(f"{self.name}: no end mark within {timeout}s")

    def check(self, acked):
        """Every offset once, in order, from the first message on; every
        acknowledged publish among them, none twice."""
        name = self.name
        offsets = [o for o, _ in self.got]
        for i in range(1, len(offsets)):
            if offsets[i] != offsets[i - 1] + 1:
                self.test.fail(f"{name}: offset {offsets[i]} after {offsets[i - 1]} "
                               f"(message {i}; around: {self.got[max(0, i - 3):i + 3]}); "
                               f"recoveries (message index, since, reply): {self.marks}")
        numbers = [d["n"] for _, d in self.got if isinstance(d, dict) and "n" in d]
        self.test.assertEqual(len(numbers), len(set(numbers)), f"{name}: a publish twice")
        missing = sorted(set(acked) - set(numbers))
        self.test.assertEqual(missing, [], f"{name}: acknowledged publishes missing")


class Publisher:
    """Publishes {"n": n} on TOPIC with an id each, at most `window`
    unacknowledged, through one node's WebSocket, moving to another node
    when it is closed. `acked` holds the numbers acknowledged: stored."""

    def __init__(self, test, window=100):
        self.test, self.window = test, window
        self.acked, self.errors = [], []
        self.refused = []  # by a node that is stopping (shutting_down): not stored
        self.n = 0
        self.stop = asyncio.Event()

    async def run(self, connect, pace=None):
        """Publishes until stop is set; `connect()` gives a WebSocket on an up
        node; `pace(n)` (optional) may slow it down."""
        while not self.stop.is_set():
            ws = await connect()
            try:
                await self._publish(ws, pace)
            except websockets.ConnectionClosed:
                continue  # what was not acknowledged may or may not be stored
            await self.finish(ws)
            return

    async def _publish(self, ws, pace):
        inflight = set()
        while not self.stop.is_set() or inflight:
            if not self.stop.is_set() and len(inflight) < self.window:
                n = self.n
                self.n += 1
                inflight.add(n)
                await send_json(ws, {"type": "publish", "topic": TOPIC, "data": {"n": n},
                                     "id": n})
                # (A send does not always yield: let the readers and a
                # cancellation in.)
                await (asyncio.sleep(0) if pace is None else pace(n))
                continue
            self._reply(await recv_json(ws, 20 * SLACK), inflight)

    def _reply(self, reply, inflight):
        if reply.get("id") not in inflight:
            return
        inflight.discard(reply["id"])
        if reply["type"] == "ack":
            self.acked.append(reply["id"])
        elif reply.get("code") == "shutting_down":
            self.refused.append(reply["id"])
        else:
            self.errors.append(reply)

    async def finish(self, ws):
        """The end mark, once every publish before it is acknowledged."""
        await send_json(ws, {"type": "publish", "topic": TOPIC, "data": {"end": True}, "id": -1})
        while (reply := await recv_json(ws, 20 * SLACK)).get("id") != -1:
            pass
        self.test.assertEqual(reply["type"], "ack", reply)
        await ws.close()


@unittest.skipIf(shutil.which("redis-server") is None,
                 "redis-server missing (tools/setup.sh --tests installs it)")
class RedisFailover(unittest.TestCase):
    def setUp(self):
        # A send queue and buffer that Python readers behind a full-speed
        # publisher do not overflow, and room for the replays.
        start_redis_cluster(self, 100000, ("--recovery-max=100000", "--send-queue=100000",
                                           "--send-buffer=67108864", "--shutdown-timeout=1s"))

    def wait_peers(self, node, n=2):
        wait_until(lambda: len(peers_up(node)) == n, 10 * SLACK, interval=0.05,
                   message=f"{n} peers up on :{node.port}")

    def start_all(self):
        nodes = [self.cluster.start(i) for i in range(3)]
        for node in nodes:
            self.wait_peers(node)
        return nodes

    def restart(self, i, port):
        """Starts node i again (it has exited) on its client port and its
        cluster port."""
        self.cluster.nodes[i].close()
        node = self.cluster.start(i, extra=(f"--port={port}",))
        self.assertEqual(node.port, port)
        return node

    def test_a_client_of_a_killed_node_recovers_every_offset_on_another(self):
        a, b, c = self.start_all()
        pub = Publisher(self)

        async def connect_c():
            return (await ws_connect(c))[0]

        async def pace(n):  # publishes go on for a second or two
            await asyncio.sleep(0.01 if n % 20 == 19 else 0)

        async def go():
            sub = Follower(self, "client of A")
            await sub.connect(a)
            await until_reached(c, sub.ws, TOPIC, 10)
            publishing = asyncio.ensure_future(pub.run(connect_c, pace))
            while not any(isinstance(d, dict) and d.get("n", 0) >= 300 for _, d in sub.got[-1:]):
                self.assertIsNotNone(await sub.next(), "A closed before it was killed")
            await asyncio.to_thread(a.kill)
            at_kill = len(pub.acked)
            while await sub.next() is not None:
                pass  # what had arrived before the kill
            # Away while the publisher goes on: the replay must have those.
            await async_wait_until(lambda: asyncio.sleep(0, len(pub.acked) >= at_kill + 200),
                                   10 * SLACK, message="200 publishes while away")
            since = sub.last
            await sub.connect(b)
            self.assertGreaterEqual(sub.recoveries[-1]["offset"], since + 200)
            pub.stop.set()
            await asyncio.wait_for(publishing, 10 * SLACK)

            async def no_reconnect(_):
                raise AssertionError("B closed the recovered client")
            await sub.read_until_end(no_reconnect, 30)
            return sub

        sub = run_async(go(), 25 * SLACK)
        self.assertEqual(pub.errors, [])
        sub.check(pub.acked)
        self.assertEqual(len(sub.recoveries), 1)
        # In publish order too: one publisher, one connection.
        numbers = [d["n"] for _, d in sub.got if "n" in d]
        self.assertEqual(numbers, list(range(len(numbers))))
        self.assertEqual(len(pub.acked), pub.n)

    def test_every_client_recovers_exactly_through_a_rolling_restart(self):
        nodes = self.start_all()
        ports = [node.port for node in nodes]
        up = [True] * 3

        async def connect_up(first):
            """A WebSocket on an up node, trying `first` first (bounded)."""
            deadline = time.monotonic() + 10 * SLACK
            while time.monotonic() < deadline:
                for i in (first, (first + 1) % 3, (first + 2) % 3):
                    if up[i]:
                        try:
                            return i, (await ws_connect(self.cluster.nodes[i]))
                        except (OSError, asyncio.TimeoutError, AssertionError,
                                websockets.InvalidHandshake, websockets.ConnectionClosed):
                            pass  # stopping (503) or gone: the next one
                await asyncio.sleep(0.05)
            raise AssertionError("no node up to reconnect to")

        async def reconnect(follower):
            self.assertEqual(follower.closes[-1], 1012, follower.name)
            for _ in range(20):  # a node may stop between the upgrade and the subscribe
                _, (ws, _) = await connect_up(follower.home)
                try:
                    return await follower.attach(ws)
                except websockets.ConnectionClosed:
                    continue
            raise AssertionError(f"{follower.name} could not resubscribe")

        async def publisher_connect():
            return (await connect_up(0))[1][0]

        async def roll(followers):
            for i in range(3):
                up[i] = False
                nodes[i].signal(signal.SIGUSR2)
                rc = await asyncio.to_thread(nodes[i].wait, 10 * SLACK)
                self.assertEqual(rc, 0, nodes[i].stderr())
                node = await asyncio.to_thread(self.restart, i, ports[i])
                await asyncio.to_thread(self.wait_peers, node)
                up[i] = True
                # The next stop only once everybody has moved on and the
                # publisher has gone on a while.
                at = len(pub.acked)
                await async_wait_until(
                    lambda: asyncio.sleep(0, len(pub.acked) > at + 300 and all(
                        f.ws is not None and f.ws.open for f in followers)),
                    20 * SLACK, message="publishes after a restart")

        pub = Publisher(self)

        async def go():
            followers = []
            for i, node in enumerate(nodes):
                f = Follower(self, f"client of node {i}")
                f.home = i
                await f.connect(node)
                for other in nodes:
                    await until_reached(other, f.ws, TOPIC, 10)
                followers.append(f)
            publishing = asyncio.ensure_future(pub.run(publisher_connect))

            async def rolling():
                await roll(followers)
                pub.stop.set()
                await asyncio.wait_for(publishing, 10 * SLACK)

            # The first failure, a follower's too, ends the test.
            try:
                await asyncio.gather(rolling(),
                                     *(f.read_until_end(reconnect, 45) for f in followers))
            finally:
                publishing.cancel()
            return followers

        followers = run_async(go(), 50 * SLACK)
        self.assertEqual(pub.errors, [])
        mapping = {}
        for f in followers:
            f.check(pub.acked)
            self.assertGreaterEqual(len(f.recoveries), 1, f.name)  # its node restarted
            for offset, data in f.got:  # the same numbering everywhere
                self.assertEqual(mapping.setdefault(offset, data), data, f.name)
        print(f"rolling restart: {len(pub.acked)} publishes acknowledged, "
              f"{len(pub.refused)} refused by a stopping node, "
              f"recoveries per client {[len(f.recoveries) for f in followers]}")

    def test_a_restarted_node_keeps_the_epoch(self):
        node = self.cluster.start(0)
        port = node.port

        async def go():
            sub = Follower(self, "client")
            await sub.connect(node)
            for n in range(3):
                await asyncio.to_thread(api_publish, node, TOPIC, {"n": n})
            for _ in range(3):
                await sub.next()
            await sub.ws.close()
            missed = [await asyncio.to_thread(api_publish, node, TOPIC, {"n": n})
                      for n in range(3, 5)]
            self.assertEqual(node.stop()[0], 0, node.stderr())
            fresh = await asyncio.to_thread(self.restart, 0, port)
            await sub.connect(fresh)
            for _ in range(2):
                await sub.next()
            await sub.ws.close()
            return sub, missed

        sub, missed = run_async(go(), 20 * SLACK)
        sub.check(range(5))
        self.assertEqual(sub.recoveries[0]["offset"], missed[-1]["offset"])
        self.assertEqual([d["n"] for _, d in sub.got], list(range(5)))


if __name__ == "__main__":
    unittest.main()
