"""SIGTERM/SIGINT: stop accepting, close 1001 to every client, flush queues for
at most --shutdown-timeout, exit 0."""

import asyncio
import signal
import socket
import time
import unittest

from harness import (OP_CLOSE, OP_PING, OP_TEXT, SLACK, PeerClosed, RawWS, ServerTestCase,
                     recv_json, run_async, send_json, ws_connect)

SHUTDOWN = 2.0
FLAGS = (f"--shutdown-timeout={int(SHUTDOWN * 1000)}ms",)
# Exit bound: flushing may take up to shutdown-timeout, plus slack.
EXIT_BOUND = SHUTDOWN + 1.5 * SLACK


def knock(port):
    """Try a WebSocket upgrade: "refused" (TCP connect refused), "upgraded",
    or what else happened."""
    try:
        ws = RawWS(port, timeout=0.5, handshake=False)
    except ConnectionRefusedError:
        return "refused"
    try:
        ws.handshake(timeout=0.5)
    except (PeerClosed, ConnectionError, socket.timeout) as e:
        return f"connected, then {e!r}"
    except AssertionError as e:  # an HTTP answer other than 101
        return f"connected, then {e}"
    finally:
        ws.close()
    return "upgraded"


def still_open(sock):
    """True unless the peer has closed `sock` (EOF or reset); never blocks."""
    timeout = sock.gettimeout()
    sock.setblocking(False)  # with a timeout set, recv() would wait for data
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except ConnectionError:
        return False
    finally:
        sock.settimeout(timeout)


class GracefulStop(ServerTestCase):
    def stop_with_clients(self, sig):
        server = self.start_server(*FLAGS)

        async def go():
            clients = [await ws_connect(server) for _ in range(5)]
            raw = RawWS(server.port)
            self.addCleanup(raw.close)
            self.assertEqual(raw.recv_json()["type"], "welcome")
            await server.await_connections(6)

            start = time.monotonic()
            server.signal(sig)
            for ws, _ in clients:
                await asyncio.wait_for(ws.wait_closed(), EXIT_BOUND)
            # The raw client answers the close like a good peer.
            f = await asyncio.to_thread(raw.recv_close, EXIT_BOUND)
            self.assertEqual(f.close_code, 1001, f)
            raw.send_close(1001)
            # ... and closes its socket once the server has closed TCP (RFC 6455 7.1.1).
            self.assertTrue(await asyncio.to_thread(raw.wait_eof, EXIT_BOUND),
                            "server did not close TCP after the close handshake")
            raw.close()
            rc = await asyncio.to_thread(server.wait, EXIT_BOUND + 2)
            took = time.monotonic() - start
            for ws, cid in clients:
                self.assertEqual(ws.close_code, 1001, f"client {cid}: {ws.close_code} "
                                 f"{ws.close_reason!r}")
            self.assertIsNotNone(rc, f"server still running {EXIT_BOUND + 2:.1f}s after "
                                 f"{sig.name}")
            self.assertEqual(rc, 0, f"exit status after {sig.name}; stderr: {server.stderr()}")
            self.assertLess(took, EXIT_BOUND, f"exit took {took:.2f}s")
            # Nothing was queued and every peer completed the close handshake:
            # no reason to wait out the shutdown timeout.
            self.assertLess(took, SHUTDOWN, f"exit took {took:.2f}s with only well-behaved "
                            f"clients and empty queues (shutdown-timeout {SHUTDOWN}s)")
            return took

        return run_async(go(), 30)

    def test_sigterm_closes_every_client_with_1001_and_exits_0(self):
        self.stop_with_clients(signal.SIGTERM)

    def test_sigint_closes_every_client_with_1001_and_exits_0(self):
        self.stop_with_clients(signal.SIGINT)

    def test_idle_server_exits_0_at_once(self):
        server = self.start_server(*FLAGS)
        rc, took = server.stop(signal.SIGTERM, timeout=EXIT_BOUND + 2)
        self.assertEqual(rc, 0)
        self.assertLess(took, 1.0 + SLACK)

    def test_node_with_an_authenticator_exits_0_at_once(self):
        # The CLI's handle on its JWT authenticator once outlived the actor
        # system, whose destructor then waited for that actor for ever.
        server = self.start_server(*FLAGS, "--auth=jwt",
                                   "--jwt-secret=" + "s" * 32)
        rc, took = server.stop(signal.SIGTERM, timeout=EXIT_BOUND + 2)
        self.assertEqual(rc, 0)
        self.assertLess(took, 1.0 + SLACK)

    def test_queued_messages_flushed_before_close(self):
        # A subscriber that has not read yet (tiny receive buffer) has ~6 MB
        # queued at the server when SIGTERM arrives; it then reads everything:
        # all messages in order, then close 1001.
        server = self.start_server(*FLAGS, "--send-queue=4096", "--send-buffer=16777216",
                                   "--client-rate=0")
        n = 1500
        payload = "f" * 4000
        sub = RawWS(server.port, rcvbuf=4096)
        self.addCleanup(sub.close)
        self.assertEqual(sub.recv_json()["type"], "welcome")
        sub.send_json({"type": "subscribe", "topic": "q", "id": 0})
        self.assertEqual(sub.recv_json(), {"type": "subscribed", "topic": "q", "id": 0})

        async def publish():
            pub, _ = await ws_connect(server)
            for i in range(n):
                await pub.send('{"type":"publish","topic":"q","data":{"seq":%d,"p":"%s"}}'
                               % (i, payload))
            await send_json(pub, {"type": "publish", "topic": "q", "data": "last", "id": 1})
            self.assertEqual(await recv_json(pub, timeout=20), {"type": "ack", "id": 1})
            s = await server.astats()
            self.assertEqual(s["disconnects"]["slow_consumer"], 0, s)
            server.signal(signal.SIGTERM)
            await asyncio.wait_for(pub.wait_closed(), EXIT_BOUND)
            self.assertEqual(pub.close_code, 1001)

        run_async(publish(), 30)
        got = []
        deadline = time.monotonic() + EXIT_BOUND
        while True:
            f = sub.recv_frame(timeout=max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_CLOSE:
                break
            if f.opcode == OP_PING:
                continue
            self.assertEqual(f.opcode, OP_TEXT, f)
            data = f.json()["data"]
            got.append(data if data == "last" else data["seq"])
        self.assertEqual(f.close_code, 1001, f)
        self.assertEqual(len(got), n + 1)
        self.assertEqual(got, list(range(n)) + ["last"])
        sub.send_close(1001)
        self.assertTrue(sub.wait_eof(EXIT_BOUND))
        sub.close()
        rc = server.wait(EXIT_BOUND + 2)
        self.assertEqual(rc, 0)

    def test_unresponsive_clients_do_not_delay_exit(self):
        # Clients that never read nor answer the close handshake: the server
        # still exits 0 within shutdown-timeout + slack, and the close 1001 is
        # in their sockets.
        server = self.start_server(*FLAGS)
        raws = [RawWS(server.port) for _ in range(3)]
        for r in raws:
            self.addCleanup(r.close)
            self.assertEqual(r.recv_json()["type"], "welcome")
        server.wait_connections(3)
        rc, took = server.stop(signal.SIGTERM, timeout=EXIT_BOUND + 5)
        self.assertIsNotNone(rc, "server did not exit")
        self.assertEqual(rc, 0)
        self.assertLess(took, EXIT_BOUND, f"exit took {took:.2f}s")
        for r in raws:
            f = r.recv_close(timeout=2)
            self.assertEqual(f.close_code, 1001, f)

    def test_stops_accepting(self):
        server = self.start_server(*FLAGS)
        # A client that never answers the close keeps the server running for
        # shutdown-timeout + 1 s after SIGTERM: long enough to knock.
        stuck = RawWS(server.port)
        self.addCleanup(stuck.close)
        self.assertEqual(stuck.recv_json()["type"], "welcome")
        server.wait_connections(1)
        server.signal(signal.SIGTERM)
        # Its close 1001 says the shutdown is under way.
        self.assertEqual(stuck.recv_close(timeout=EXIT_BOUND).close_code, 1001)
        # The listening socket is closed right away: a new connection is
        # refused (not merely left unanswered in the backlog).
        deadline = time.monotonic() + 1.0 + SLACK
        while True:
            outcome = knock(server.port)
            if outcome == "refused":
                break
            if outcome == "upgraded":
                self.fail("a WebSocket upgrade succeeded after the server had begun to "
                          "shut down")
            self.assertLess(time.monotonic(), deadline,
                            f"connections still accepted well after SIGTERM ({outcome})")
        # Refused by a server still at work on its shutdown (it gives the
        # stuck client shutdown-timeout + 1 s), not one that has let go of
        # its sockets or gone.
        self.assertTrue(server.alive(), "the server exited before the check: "
                        "nothing shows it stopped accepting while running")
        self.assertTrue(still_open(stuck.sock), "the server had already dropped the stuck "
                        "client: nothing shows it stopped accepting while running")
        rc = server.wait(EXIT_BOUND + 2)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
