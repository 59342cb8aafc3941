"""HTTP routes on the WebSocket port, and the handshake timeout."""

import json
import socket
import time
import unittest

from harness import (DISCONNECT_REASONS, SLACK, RawWS, ServerTestCase,
                     tcp_closed_within)


class HttpRoutes(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        from harness import Server
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_healthz(self):
        status, headers, body = self.server.http("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body.strip(), b"ok")

    def test_healthz_with_query_string(self):
        status, _, body = self.server.http("GET", "/healthz?probe=1")
        self.assertEqual(status, 200)
        self.assertEqual(body.strip(), b"ok")

    def test_stats_fields(self):
        status, headers, body = self.server.http("GET", "/stats")
        self.assertEqual(status, 200)
        self.assertIn("application/json", headers.get("content-type", ""))
        stats = json.loads(body)
        for field in ("connections", "topics", "messages_in", "messages_out"):
            self.assertIn(field, stats)
            self.assertIsInstance(stats[field], int)
            self.assertGreaterEqual(stats[field], 0)
        self.assertIsInstance(stats["disconnects"], dict)
        for reason in DISCONNECT_REASONS:
            self.assertIn(reason, stats["disconnects"])
            self.assertIsInstance(stats["disconnects"][reason], int)

    def test_stats_counts_a_connection(self):
        before = self.server.connections()
        ws = RawWS(self.server.port)
        try:
            self.assertEqual(ws.recv_json()["type"], "welcome")
            self.server.wait_connections(before + 1)
        finally:
            ws.close()
        self.server.wait_connections(before)

    def test_unknown_path_404(self):
        status, _, _ = self.server.http("GET", "/nope")
        self.assertEqual(status, 404)

    def test_upgrade_on_unknown_path_404(self):
        status, _, _ = self.server.http("GET", "/chat", headers={
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"})
        self.assertEqual(status, 404)

    def test_ws_without_upgrade_426(self):
        status, headers, _ = self.server.http("GET", "/ws")
        self.assertEqual(status, 426)

    def test_wrong_method_on_healthz_405(self):
        status, _, _ = self.server.http("POST", "/healthz", body=b"x")
        self.assertEqual(status, 405)

    def test_wrong_method_on_stats_405(self):
        status, _, _ = self.server.http("DELETE", "/stats")
        self.assertEqual(status, 405)

    def test_unparseable_request_400(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            data = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data)

    def test_keep_alive_serves_several_requests(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            for path, code in (("/healthz", 200), ("/nope", 404), ("/stats", 200)):
                conn.request("GET", path)
                res = conn.getresponse()
                res.read()
                self.assertEqual(res.status, code, path)
        finally:
            conn.close()


class HandshakeTimeout(ServerTestCase):
    TIMEOUT = 0.5

    def setUp(self):
        self.server = self.start_server(f"--handshake-timeout={int(self.TIMEOUT * 1000)}ms")

    def _assert_dropped_after_timeout(self, sock, start):
        took = tcp_closed_within(sock, self.TIMEOUT + 3 * SLACK)
        elapsed = time.monotonic() - start
        self.assertIsNotNone(took, f"connection still open {elapsed:.2f}s after connect "
                             f"(handshake-timeout {self.TIMEOUT}s)")
        # Not dropped long before the timeout either.
        self.assertGreaterEqual(elapsed, self.TIMEOUT * 0.8,
                                f"dropped after only {elapsed:.2f}s")

    def test_silent_connection_dropped(self):
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            self._assert_dropped_after_timeout(s, start)
        # The server is fine afterwards.
        self.assertEqual(self.server.http("GET", "/healthz")[0], 200)

    def test_partial_request_dropped(self):
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
            self._assert_dropped_after_timeout(s, start)

    def test_slowloris_does_not_block_others(self):
        socks = [socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
                 for _ in range(20)]
        try:
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
            t0 = time.monotonic()
            self.assertEqual(self.server.http("GET", "/healthz")[0], 200)
            self.assertLess(time.monotonic() - t0, self.TIMEOUT)
            ws = RawWS(self.server.port)
            self.assertEqual(ws.recv_json()["type"], "welcome")
            ws.close()
            for s in socks:
                self.assertIsNotNone(tcp_closed_within(s, self.TIMEOUT + 3 * SLACK))
        finally:
            for s in socks:
                s.close()

    def test_upgraded_connection_is_not_dropped(self):
        ws = RawWS(self.server.port)
        try:
            self.assertEqual(ws.recv_json()["type"], "welcome")
            time.sleep(self.TIMEOUT * 2 + 0.2)
            ws.send_json({"type": "subscribe", "topic": "t", "id": 1})
            self.assertEqual(ws.recv_json(), {"type": "subscribed", "topic": "t", "id": 1})
        finally:
            ws.close()


if __name__ == "__main__":
    unittest.main()
