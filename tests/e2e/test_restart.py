"""Stopping without losing anyone (docs/operations.md, "Restarting"): /readyz
turns 503 the moment a stop begins while /healthz stays 200; SIGUSR2 closes
with 1012 "service restart", SIGTERM with 1001; --drain-period spreads the
closes over the period; --reuse-port lets a new process take the port over
while the old one drains."""

import asyncio
import signal
import socket
import statistics
import threading
import time
import unittest

import websockets

from harness import (OP_CLOSE, SLACK, RawWS, Server, ServerTestCase, run_async, wait_until,
                     ws_connect)

SHUTDOWN = 1.0
FLAGS = (f"--shutdown-timeout={int(SHUTDOWN * 1000)}ms",)


def upgrade_status(port):
    """The HTTP status of a WebSocket upgrade (101 when it is taken), or the
    exception's name when the connection itself failed."""
    try:
        ws = RawWS(port, timeout=2.0, handshake=False)
    except OSError as e:
        return type(e).__name__
    try:
        ws.handshake(timeout=2.0)
        return 101
    except AssertionError as e:  # an HTTP answer other than 101: "... 503 ..."
        return 503 if "503" in str(e) else str(e)
    except OSError as e:
        return type(e).__name__
    finally:
        ws.close()


def migrate_req():
    try:
        with open("/proc/sys/net/ipv4/tcp_migrate_req") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


class Readiness(ServerTestCase):
    def test_readyz_is_503_from_the_moment_a_stop_begins(self):
        server = self.start_server(*FLAGS, "--drain-period=3s")
        status, _, body = server.http("GET", "/readyz")
        self.assertEqual((status, body), (200, b"ready\n"))
        raw = RawWS(server.port)  # keeps the drain going
        self.addCleanup(raw.close)
        self.assertEqual(raw.recv_json()["type"], "welcome")
        raw2 = RawWS(server.port)
        self.addCleanup(raw2.close)
        self.assertEqual(raw2.recv_json()["type"], "welcome")
        server.signal(signal.SIGUSR2)
        wait_until(lambda: server.http("GET", "/readyz")[0] == 503, 2 * SLACK,
                   message="/readyz 503 after SIGUSR2")
        status, _, body = server.http("GET", "/readyz")
        self.assertEqual(body, b"stopping\n")
        # Alive, not ready: a load balancer stops sending, nobody restarts it.
        self.assertEqual(server.http("GET", "/healthz")[0], 200)
        # New clients are refused while the others drain.
        self.assertEqual(upgrade_status(server.port), 503)
        # The second client is still connected (its close is due at 1.5s).
        self.assertTrue(server.alive())
        rc = server.wait(3 + SHUTDOWN + 3 * SLACK)
        self.assertEqual(rc, 0, server.stderr())


class CloseCodes(ServerTestCase):
    def close_of(self, sig):
        server = self.start_server(*FLAGS)
        raw = RawWS(server.port)
        self.addCleanup(raw.close)
        self.assertEqual(raw.recv_json()["type"], "welcome")
        server.signal(sig)
        frame = raw.recv_close(timeout=5 * SLACK)
        self.assertEqual(server.wait(5 * SLACK), 0, server.stderr())
        return frame.close_code, frame.close_reason

    def test_sigusr2_is_a_restart_1012(self):
        self.assertEqual(self.close_of(signal.SIGUSR2), (1012, "service restart"))

    def test_sigterm_is_a_final_stop_1001(self):
        self.assertEqual(self.close_of(signal.SIGTERM), (1001, "server shutdown"))


class DrainPeriod(ServerTestCase):
    def test_closes_are_spread_over_the_drain_period(self):
        period, clients = 2.0, 20
        server = self.start_server(*FLAGS, f"--drain-period={int(period * 1000)}ms")

        async def go():
            conns = [(await ws_connect(server))[0] for _ in range(clients)]
            start = time.monotonic()
            server.signal(signal.SIGUSR2)

            async def closed_at(ws):
                await asyncio.wait_for(ws.wait_closed(), period + 5 * SLACK)
                return time.monotonic() - start, ws.close_code

            return await asyncio.gather(*(closed_at(ws) for ws in conns))

        got = run_async(go(), period + 10 * SLACK)
        times = sorted(t for t, _ in got)
        self.assertEqual({code for _, code in got}, {1012})
        # The i-th is due at i * period / clients: the first at once, the
        # last at 1.9s. Slack for a loaded machine goes on the late side.
        self.assertLess(times[0], 0.5 * SLACK, times)
        self.assertGreater(times[-1], 0.7 * period, times)
        self.assertLess(times[-1], period + SLACK, times)
        self.assertGreater(statistics.median(times), 0.3 * period, times)
        # No burst: at most a quarter of them closed in any 10% of the period
        # (evenly: 2 of 20).
        window = 0.1 * period
        worst = max(sum(1 for u in times if t <= u < t + window) for t in times)
        self.assertLessEqual(worst, clients // 4, times)
        self.assertEqual(server.wait(SHUTDOWN + 3 * SLACK), 0, server.stderr())


class ReusePort(ServerTestCase):
    def test_a_new_process_takes_the_port_over_while_the_old_one_drains(self):
        period, clients = 1.5, 8
        old = self.start_server(*FLAGS, "--reuse-port", f"--drain-period={int(period * 1000)}ms")

        async def connect_all():
            return [await ws_connect(old) for _ in range(clients)]

        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        conns = loop.run_until_complete(asyncio.wait_for(connect_all(), 10 * SLACK))
        new = self.start_server(*FLAGS, "--reuse-port", f"--port={old.port}")
        self.assertEqual(new.port, old.port)
        # Somebody keeps knocking all through the handover: never refused.
        failures, knocks, stop = [], [0], threading.Event()

        def knocker():
            while not stop.is_set():
                status = upgrade_status(old.port)
                knocks[0] += 1
                if status != 101:
                    failures.append(status)
                time.sleep(0.02)

        t = threading.Thread(target=knocker, daemon=True)
        t.start()
        self.addCleanup(t.join, 5)
        self.addCleanup(stop.set)

        async def handover():
            # What a client library does on 1012: reconnect at once.
            async def follow(ws):
                await asyncio.wait_for(ws.wait_closed(), period + 5 * SLACK)
                self.assertEqual(ws.close_code, 1012)
                again, _ = await ws_connect(f"ws://127.0.0.1:{old.port}/ws")
                return again

            old.signal(signal.SIGUSR2)
            return await asyncio.gather(*(follow(ws) for ws, _ in conns))

        again = loop.run_until_complete(asyncio.wait_for(handover(), period + 10 * SLACK))
        self.assertEqual(old.wait(period + SHUTDOWN + 3 * SLACK), 0, old.stderr())
        stop.set()
        t.join(5)
        # Never refused, never 503. A knock whose handshake the kernel had
        # queued on the old listener just as it closed is reset, unless the
        # kernel moves those to the new listener (net.ipv4.tcp_migrate_req,
        # docs/operations.md): that one instant, nothing more.
        resets = failures.count("ConnectionResetError")
        self.assertEqual(len(failures), resets, f"{failures} in {knocks[0]} knocks")
        self.assertLessEqual(resets, 0 if migrate_req() else 1, f"{knocks[0]} knocks")
        self.assertGreaterEqual(knocks[0], 5)  # it did knock throughout
        # Every client is now on the new process (the old one has exited).
        self.assertTrue(all(ws.open for ws in again))
        new.wait_connections(clients, timeout=5 * SLACK)
        for ws in again:
            loop.run_until_complete(ws.close())


if __name__ == "__main__":
    unittest.main()
