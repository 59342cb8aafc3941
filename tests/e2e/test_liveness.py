"""Dead, frozen and slow clients: SIGKILL, SIGSTOP (heartbeat), non-reading
consumers (slow_consumer)."""

import asyncio
import json
import signal
import socket
import time
import unittest

import websockets

from harness import (OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, SLACK, ClientProcess, PeerClosed,
                     RawWS, ServerTestCase, recv_json, recv_raw,
                     run_async, send_json, subscribe, wait_until, ws_connect)

PING = 0.3
PONG = 0.3
HEARTBEAT_FLAGS = (f"--ping-interval={int(PING * 1000)}ms",
                   f"--pong-timeout={int(PONG * 1000)}ms")
# A frozen client is dropped within ping-interval + pong-timeout (+ slack).
DROP_BOUND = PING + PONG + SLACK


class KilledClient(ServerTestCase):
    def test_sigkilled_client_leaves_stats(self):
        server = self.start_server()
        clients = [ClientProcess(server, topic="k") for _ in range(3)]
        for c in clients:
            self.addCleanup(c.close)
        for c in clients:
            self.assertEqual(c.event()["event"], "ready")
        server.wait_connections(3)
        base = server.disconnects()
        victim = clients[1]
        start = time.monotonic()
        victim.signal(signal.SIGKILL)
        server.wait_connections(2, timeout=3.0)
        took = time.monotonic() - start
        self.assertLess(took, 1.0 + SLACK, f"connections dropped only after {took:.2f}s")
        after = server.disconnects()
        gone = sum(after[r] - base[r] for r in after)
        self.assertEqual(gone, 1, after)
        self.assertEqual(after["socket_closed"] + after["socket_error"]
                         - base["socket_closed"] - base["socket_error"], 1, after)
        # The others still receive publishes.
        async def go():
            ws, _ = await ws_connect(server)
            await send_json(ws, {"type": "publish", "topic": "k", "data": "still", "id": 1})
            self.assertEqual(await recv_json(ws), {"type": "ack", "id": 1})
            await ws.close()
        run_async(go(), 10)
        for c in (clients[0], clients[2]):
            self.assertEqual(c.proc.poll(), None)
        server.wait_connections(2)

    def test_many_sigkilled_clients(self):
        server = self.start_server()
        clients = [ClientProcess(server) for _ in range(8)]
        for c in clients:
            self.addCleanup(c.close)
        for c in clients:
            self.assertEqual(c.event()["event"], "ready")
        server.wait_connections(8)
        base = server.disconnects()
        for c in clients:
            c.signal(signal.SIGKILL)
        server.wait_connections(0, timeout=3.0)
        after = server.disconnects()
        self.assertEqual(sum(after.values()) - sum(base.values()), 8, after)
        self.assertEqual(after["socket_closed"] + after["socket_error"]
                         - base["socket_closed"] - base["socket_error"], 8, after)


class Heartbeat(ServerTestCase):
    def test_sigstopped_client_dropped_idle_client_kept(self):
        server = self.start_server(*HEARTBEAT_FLAGS, "--handshake-timeout=5s")
        frozen = ClientProcess(server, topic="hb")
        self.addCleanup(frozen.close)
        self.assertEqual(frozen.event()["event"], "ready")

        async def go():
            idle, _ = await ws_connect(server)  # answers pings, never pings itself
            await subscribe(idle, "hb")
            await server.await_connections(2)
            base = (await server.astats())["disconnects"]
            # Let a few pings pass: both are alive.
            await asyncio.sleep(3 * PING)
            self.assertEqual((await server.astats())["connections"], 2)

            start = time.monotonic()
            frozen.signal(signal.SIGSTOP)
            await server.await_connections(1, timeout=DROP_BOUND + 2)
            took = time.monotonic() - start
            self.assertLess(took, DROP_BOUND,
                            f"frozen client dropped after {took:.2f}s, bound {DROP_BOUND:.2f}s "
                            f"(ping-interval {PING}s + pong-timeout {PONG}s + slack)")
            d = (await server.astats())["disconnects"]
            self.assertEqual(d["heartbeat_timeout"], base["heartbeat_timeout"] + 1, d)

            # The idle client survives many more ping periods.
            await asyncio.sleep(6 * PING)
            s = await server.astats()
            self.assertEqual(s["connections"], 1)
            self.assertEqual(s["disconnects"]["heartbeat_timeout"],
                             base["heartbeat_timeout"] + 1, s)
            self.assertIsNone(idle.close_code)
            await send_json(idle, {"type": "publish", "topic": "hb", "data": 1, "id": 1})
            got = [await recv_json(idle), await recv_json(idle)]
            self.assertIn({"type": "ack", "id": 1}, got)
            await idle.close()
        run_async(go(), 30)

        # Thawed, the frozen client finds the server's close 1001 "heartbeat timeout".
        frozen.signal(signal.SIGCONT)
        ev = frozen.event(timeout=10)
        self.assertEqual(ev["event"], "closed", ev)
        self.assertEqual(ev["code"], 1001, ev)
        self.assertEqual(ev["reason"], "heartbeat timeout", ev)

    def test_raw_client_ignoring_pings_gets_close_1001(self):
        server = self.start_server(*HEARTBEAT_FLAGS)
        ws = RawWS(server.port)
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        start = time.monotonic()
        pings = 0
        while True:
            f = ws.recv_frame(timeout=DROP_BOUND + 2)
            if f.opcode == OP_PING:
                pings += 1  # never answered
                continue
            break
        took = time.monotonic() - start
        self.assertEqual(f.opcode, OP_CLOSE, f)
        self.assertEqual(f.close_code, 1001)
        self.assertEqual(f.close_reason, "heartbeat timeout")
        self.assertGreaterEqual(pings, 1)
        self.assertLess(took, DROP_BOUND)
        wait_until(lambda: server.disconnects()["heartbeat_timeout"] == 1, 5,
                   message="disconnects.heartbeat_timeout == 1")

    def test_client_that_sends_frames_but_no_pongs_stays(self):
        # "if nothing arrives (no frame, no pong)": data frames count as life.
        server = self.start_server(*HEARTBEAT_FLAGS)
        ws = RawWS(server.port)
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        end = time.monotonic() + 8 * PING
        n = 0
        pings = 0
        while time.monotonic() < end:
            ws.send_json({"type": "subscribe", "topic": "alive", "id": n})
            while True:
                f = ws.recv_frame(timeout=2)
                if f.opcode == OP_PING:
                    pings += 1  # ignored on purpose
                    continue
                self.assertEqual(f.opcode, OP_TEXT, f)
                self.assertEqual(f.json(), {"type": "subscribed", "topic": "alive", "id": n})
                break
            n += 1
            time.sleep(PING / 3)
        self.assertGreaterEqual(pings, 3)
        stats = server.stats()
        self.assertEqual((stats["connections"], stats["disconnects"]["heartbeat_timeout"]), (1, 0),
                         stats["disconnects"])

    def test_client_pinging_server_stays(self):
        # Client pings (answered with pongs) are signs of life too.
        server = self.start_server(*HEARTBEAT_FLAGS)
        ws = RawWS(server.port)
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        end = time.monotonic() + 8 * PING
        while time.monotonic() < end:
            ws.send_frame(OP_PING, b"me")
            while True:
                f = ws.recv_frame(timeout=2)
                if f.opcode == OP_PONG:
                    self.assertEqual(f.payload, b"me")
                    break
                self.assertEqual(f.opcode, OP_PING, f)  # server pings: ignored
            time.sleep(PING / 3)
        stats = server.stats()
        self.assertEqual((stats["connections"], stats["disconnects"]["heartbeat_timeout"]), (1, 0),
                         stats["disconnects"])


class SlowConsumer(ServerTestCase):
    """A subscriber that does not read is cut off (slow_consumer) while a fast
    one gets every message. The publisher sends in rounds of BATCH messages
    (fewer than --send-queue) and waits until the fast subscriber has all of
    a round: the fast subscriber never has more than BATCH frames queued.

    What the cut-off client can see depends on whether it reads again. The
    server drops what is still queued for it and puts close 1008 "slow
    consumer" right behind the write in flight (ws_session_close.cpp, do_close).
    That write cannot complete while the client's receive window is full:
    a client that never reads again cannot get the close frame, and the
    server closes TCP when the close handshake times out (--handshake-timeout);
    a client that reads again before then gets the close frame."""

    QUEUE = 16
    BUFFER = 64 * 1024
    BATCH = 8
    PAYLOAD = "p" * 4000
    MAX_MESSAGES = 12000  # 48 MB: far beyond any kernel buffering

    async def flood(self, server, pub, fast):
        """Publish rounds to topic "flood" until /stats shows a slow_consumer
        disconnect, then a few more rounds. Returns (sent, cut_after, cut_seen):
        cut_seen is the monotonic time /stats first showed the cut (the cut
        itself happened before)."""
        sent = 0
        cut_after = cut_seen = None
        extra_rounds = 20
        rounds = 0
        while sent < self.MAX_MESSAGES:
            for _ in range(self.BATCH):
                await pub.send('{"type":"publish","topic":"flood","data":{"seq":%d,"p":"%s"}}'
                               % (sent, self.PAYLOAD))
                sent += 1
            for want in range(sent - self.BATCH, sent):
                frame = await recv_json(fast, timeout=20)
                self.assertEqual(frame["type"], "message", frame)
                self.assertEqual(frame["data"]["seq"], want, "fast subscriber: order/loss")
            rounds += 1
            if cut_after is None:
                if rounds % 16 == 0 and \
                        (await server.astats())["disconnects"]["slow_consumer"] >= 1:
                    cut_after = sent
                    cut_seen = time.monotonic()
            else:
                extra_rounds -= 1
                if extra_rounds == 0:
                    break
        self.assertIsNotNone(cut_after, f"no slow_consumer disconnect after {sent} messages "
                             f"of {len(self.PAYLOAD)} bytes to a client that never reads")
        return sent, cut_after, cut_seen

    def test_non_reading_client_cut_off_fast_one_gets_everything(self):
        close_timeout = 2.0
        server = self.start_server(f"--send-queue={self.QUEUE}", f"--send-buffer={self.BUFFER}",
                                   f"--close-timeout={int(close_timeout * 1000)}ms",
                                   "--client-rate=0", "--max-message-size=16384")
        slow = RawWS(server.port, rcvbuf=4096)
        self.addCleanup(slow.close)
        self.assertEqual(slow.recv_json()["type"], "welcome")
        slow.send_json({"type": "subscribe", "topic": "flood", "id": 0})
        self.assertEqual(slow.recv_json(), {"type": "subscribed", "topic": "flood", "id": 0})
        # From here on `slow` neither reads nor sends until the server has
        # given up on it.

        async def go():
            fast, _ = await ws_connect(server)
            pub, _ = await ws_connect(server)
            await subscribe(fast, "flood")
            await server.await_connections(3)
            sent, cut_after, cut_seen = await self.flood(server, pub, fast)
            s = await server.astats()
            self.assertEqual(s["disconnects"]["slow_consumer"], 1, s)
            self.assertEqual(s["connections"], 2, s)
            self.assertIsNone(fast.close_code)
            await fast.close()
            await pub.close()
            return cut_after, cut_seen

        cut_after, cut_seen = run_async(go(), 90)

        # The close frame is stuck behind the write the client never drains,
        # so the server has to end the connection by itself when the close
        # handshake times out. Read only after that time: EOF then shows the
        # server gave up on its own. (Were it waiting for the client, reading
        # would release the close frame and the server would wait on for a
        # reply that never comes: no EOF below.)
        time.sleep(max(0.0, cut_seen + close_timeout + SLACK - time.monotonic()))
        # What is left in the socket: whole frames of the topic, in order,
        # from the first on (at most a truncated frame after them), then EOF.
        # A close frame can only be among them if the server's close timer
        # ran late; then it must be the right one, and the last.
        seqs = []
        close = None
        deadline = time.monotonic() + 5 + SLACK  # draining the kernel buffers
        ended = False
        try:
            while time.monotonic() < deadline:
                f = slow.recv_frame(timeout=max(0.0, deadline - time.monotonic()))
                self.assertIsNone(close, f"{f!r} after the close frame")
                if f.opcode == OP_CLOSE:
                    self.assertEqual((f.close_code, f.close_reason), (1008, "slow consumer"), f)
                    close = f
                    continue
                if f.opcode == OP_PING:
                    continue
                self.assertEqual(f.opcode, OP_TEXT, f)
                seqs.append(f.json()["data"]["seq"])
        except PeerClosed:
            ended = True
        except (socket.timeout, TimeoutError):
            pass
        self.assertTrue(ended, f"TCP still open {close_timeout}s (+ slack) after the cut, "
                        f"with the client never reading nor answering; got {len(seqs)} "
                        f"frames")
        self.assertEqual(seqs, list(range(len(seqs))), "slow client got a non-prefix")
        self.assertLessEqual(len(seqs), cut_after)

    def test_paused_websockets_client_cut_off(self):
        # python3-websockets with its transport paused: the kernel buffers
        # fill. Reading resumes once /stats shows the cut, well within the
        # close timeout, so the client must find close 1008 "slow consumer".
        close_timeout = 10.0
        server = self.start_server(f"--send-queue={self.QUEUE}", f"--send-buffer={self.BUFFER}",
                                   f"--close-timeout={int(close_timeout * 1000)}ms",
                                   "--client-rate=0", "--max-message-size=16384")

        async def go():
            lazy, _ = await ws_connect(server)
            fast, _ = await ws_connect(server)
            pub, _ = await ws_connect(server)
            await subscribe(lazy, "flood")
            await subscribe(fast, "flood")
            lazy.transport.pause_reading()
            sent, cut_after, cut_seen = await self.flood(server, pub, fast)
            s = await server.astats()
            self.assertEqual(s["disconnects"]["slow_consumer"], 1, s)
            self.assertEqual(s["connections"], 2, s)
            self.assertIsNone(fast.close_code)
            lazy.transport.resume_reading()
            try:
                await asyncio.wait_for(lazy.wait_closed(), close_timeout)
            except asyncio.TimeoutError:
                self.fail(f"the cut-off client was not closed within {close_timeout}s "
                          f"of reading again")
            self.assertLess(time.monotonic() - cut_seen, close_timeout,
                            "resumed too late to tell the close frame from the timeout")
            self.assertEqual(lazy.close_code, 1008, lazy.close_reason)
            self.assertEqual(lazy.close_reason, "slow consumer")
            # Before the close: a prefix of the topic's frames, in order.
            seqs = []
            try:
                while True:
                    frame = json.loads(await recv_raw(lazy, timeout=5))
                    self.assertEqual(frame["type"], "message", frame)
                    seqs.append(frame["data"]["seq"])
            except websockets.ConnectionClosed:
                pass
            self.assertEqual(seqs, list(range(len(seqs))), "lazy client got a non-prefix")
            self.assertLessEqual(len(seqs), cut_after)
            await fast.close()
            await pub.close()
        run_async(go(), 90)


if __name__ == "__main__":
    unittest.main()
