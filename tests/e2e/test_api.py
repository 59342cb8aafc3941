"""The server API (docs/api.md) against a real node: Python's http.client as
a backend would use curl, real WebSocket clients receiving what the API sent."""

import asyncio
import http.client
import json
import socket
import time
import unittest

import websockets

from harness import (Server, ServerTestCase, recv_json, run_async, subscribe,
                     ws_connect)

KEY = "e2e-key-4f1b2c3d5e6f7a8b9c0d"
AUTH = {"Authorization": f"apikey {KEY}"}
MAX_BODY = 4096


def api(server, method, path, body=None, headers=None, key=True):
    """One API request; returns (status, headers (lower-case), parsed JSON or raw)."""
    h = dict(AUTH) if key else {}
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    status, res_headers, data = server.http(method, path, body=body, headers=h)
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = data
    return status, res_headers, parsed


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(f"--api-key={KEY}", f"--api-max-body={MAX_BODY}",
                            "--max-message-size=1024")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def assertError(self, result, status, code):
        got_status, headers, body = result
        self.assertEqual(got_status, status, body)
        self.assertIn("application/json", headers.get("content-type", ""))
        self.assertEqual(body["error"], code, body)
        self.assertIsInstance(body["reason"], str)
        return headers

    # -- delivery to real clients ------------------------------------------------

    def test_publish_reaches_a_subscriber_verbatim(self):
        async def main():
            ws, _ = await ws_connect(self.server)
            try:
                await subscribe(ws, "api/news")
                body = '{"topic":"api/news","data":{"n": 1.0, "s":"\\u00e9"}}'
                status, _, res = await asyncio.to_thread(
                    api, self.server, "POST", "/api/publish", body)
                self.assertEqual((status, res), (200, {"delivered": 1}))
                raw = await asyncio.wait_for(ws.recv(), 5)
                self.assertEqual(
                    raw, '{"type":"message","topic":"api/news","data":{"n": 1.0, "s":"\\u00e9"}}')
            finally:
                await ws.close()
        run_async(main(), 20)

    def test_publish_without_subscribers_delivers_none(self):
        status, _, res = api(self.server, "POST", "/api/publish",
                             {"topic": "api/empty", "data": 1})
        self.assertEqual((status, res), (200, {"delivered": 0}))

    def test_broadcast_counts_per_topic(self):
        async def main():
            a, _ = await ws_connect(self.server)
            b, _ = await ws_connect(self.server)
            try:
                await subscribe(a, "bc/1")
                await subscribe(b, "bc/1")
                await subscribe(b, "bc/2")
                status, _, res = await asyncio.to_thread(
                    api, self.server, "POST", "/api/broadcast",
                    {"topics": ["bc/1", "bc/2", "bc/3"], "data": [1]})
                self.assertEqual(status, 200)
                self.assertEqual(res, {"delivered": {"bc/1": 2, "bc/2": 1, "bc/3": 0}})
                self.assertEqual(await recv_json(a), {"type": "message", "topic": "bc/1",
                                                      "data": [1]})
                got = [await recv_json(b), await recv_json(b)]
                self.assertEqual(sorted(m["topic"] for m in got), ["bc/1", "bc/2"])
            finally:
                await a.close()
                await b.close()
        run_async(main(), 20)

    def test_send_to_a_connection(self):
        async def main():
            ws, conn_id = await ws_connect(self.server)
            try:
                status, _, res = await asyncio.to_thread(
                    api, self.server, "POST", "/api/send", {"to": conn_id, "data": "hi"})
                self.assertEqual((status, res), (200, {"delivered": 1}))
                self.assertEqual(await recv_json(ws),
                                 {"type": "direct", "from": 0, "data": "hi"})
            finally:
                await ws.close()
        run_async(main(), 20)

    def test_send_to_unknown_connection_and_user_404(self):
        self.assertError(api(self.server, "POST", "/api/send", {"to": 1, "data": 1}),
                         404, "unknown_connection")
        # Without an authenticator every client is anonymous: no user exists.
        self.assertError(api(self.server, "POST", "/api/send", {"to": "user:x", "data": 1}),
                         404, "unknown_user")

    def test_disconnect_closes_a_client_with_the_code(self):
        async def main():
            ws, conn_id = await ws_connect(self.server)
            status, _, res = await asyncio.to_thread(
                api, self.server, "POST", "/api/disconnect",
                {"connection": conn_id, "code": 4003, "reason": "kicked"})
            self.assertEqual((status, res), (200, {"disconnected": 1}))
            with self.assertRaises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            self.assertEqual(ws.close_code, 4003)
            self.assertEqual(ws.close_reason, "kicked")
        run_async(main(), 20)
        self.assertError(api(self.server, "POST", "/api/disconnect", {"connection": 1}),
                         404, "unknown_connection")
        self.assertError(api(self.server, "POST", "/api/disconnect", {"user": "nobody"}),
                         404, "unknown_user")

    # -- queries -------------------------------------------------------------------

    def test_topics_topic_and_connection(self):
        async def main():
            ws, conn_id = await ws_connect(self.server)
            try:
                await subscribe(ws, "q/a b")
                await subscribe(ws, "q/c")
                status, _, res = await asyncio.to_thread(
                    api, self.server, "GET", "/api/topics?prefix=q%2F&limit=1000")
                self.assertEqual(status, 200)
                self.assertFalse(res["truncated"])
                self.assertGreaterEqual(res["total"], 2)
                self.assertEqual(sorted(t["name"] for t in res["topics"]), ["q/a b", "q/c"])
                for t in res["topics"]:
                    self.assertEqual((t["subscribers"], t["listeners"]), (1, 0))
                status, _, res = await asyncio.to_thread(
                    api, self.server, "GET", "/api/topics?prefix=q/&limit=1")
                self.assertEqual((status, len(res["topics"]), res["truncated"]), (200, 1, True))
                status, _, res = await asyncio.to_thread(
                    api, self.server, "GET", "/api/topics/q/a%20b")
                self.assertEqual((status, res), (200, {"name": "q/a b", "subscribers": 1,
                                                       "listeners": 0}))
                status, _, res = await asyncio.to_thread(
                    api, self.server, "GET", f"/api/connections/{conn_id}")
                self.assertEqual(status, 200)
                self.assertEqual(res["id"], conn_id)
                self.assertIsNone(res["user"])
                self.assertEqual(sorted(res["topics"]), ["q/a b", "q/c"])
                self.assertGreaterEqual(res["age_ms"], 0)
                self.assertLess(res["age_ms"], 60000)
                self.assertRegex(res["connected_since"],
                                 r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            finally:
                await ws.close()
        run_async(main(), 20)
        self.assertError(api(self.server, "GET", "/api/topics/q%2Fnobody"), 404,
                         "unknown_topic")
        self.assertError(api(self.server, "GET", "/api/connections/1"), 404,
                         "unknown_connection")

    def test_head_tells_the_size_without_a_body(self):
        status, headers, body = api(self.server, "HEAD", "/api/topics")
        self.assertEqual(status, 200)
        self.assertIsNone(body)
        self.assertGreater(int(headers["content-length"]), 0)

    # -- errors --------------------------------------------------------------------

    def test_missing_or_wrong_key_401(self):
        for headers in ({}, {"Authorization": "apikey wrong"},
                        {"Authorization": f"Bearer {KEY}"}):
            result = api(self.server, "POST", "/api/publish", {"topic": "t", "data": 1},
                         headers=headers, key=False)
            got = self.assertError(result, 401, "unauthorized")
            self.assertTrue(got.get("www-authenticate", "").startswith("apikey"), got)

    def test_bad_json_and_bad_fields_400(self):
        for body in ("{", "[]", '{"topic":"t"}', '{"topic":"","data":1}',
                     '{"topic":"t","data":1,"extra":2}', '{"topic":"t","data":1,"data":2}'):
            with self.subTest(body=body):
                self.assertError(api(self.server, "POST", "/api/publish", body), 400,
                                 "bad_request")
        self.assertError(api(self.server, "GET", "/api/topics?limit=0"), 400, "bad_request")
        self.assertError(api(self.server, "GET", "/api/connections/x"), 400, "bad_request")

    def test_data_over_max_message_size_413(self):
        # A body under the limit whose data a client could not publish.
        body = json.dumps({"topic": "t", "data": "x" * 2000})
        self.assertError(api(self.server, "POST", "/api/publish", body), 413,
                         "payload_too_large")
        self.assertEqual(self.server.http("GET", "/healthz")[0], 200)

    def test_body_over_the_limit_413_before_the_body_is_read(self):
        # Only the header: the answer comes without the body ever being sent
        # (a client that sent it anyway could see a reset instead, as the
        # node closes the connection without reading it).
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall((f"POST /api/publish HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: apikey {KEY}\r\n"
                       f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode())
            data = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # until the node closes
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data)
        self.assertIn(b'"error":"payload_too_large"', data)

    def test_unknown_route_404_and_wrong_method_405(self):
        self.assertError(api(self.server, "GET", "/api/nope"), 404, "not_found")
        headers = self.assertError(api(self.server, "GET", "/api/publish"), 405,
                                   "method_not_allowed")
        self.assertEqual(headers.get("allow"), "POST")
        headers = self.assertError(api(self.server, "DELETE", "/api/topics"), 405,
                                   "method_not_allowed")
        self.assertEqual(headers.get("allow"), "GET, HEAD")

    def test_keep_alive_serves_a_sequence_of_api_requests(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            steps = [("POST", "/api/publish", '{"topic":"ka","data":1}', 200),
                     ("GET", "/api/topics", None, 200),
                     ("GET", "/api/nope", None, 404),
                     ("POST", "/api/publish", "{", 400),
                     ("GET", "/api/topics/ka", None, 404),
                     ("POST", "/api/broadcast", '{"topics":["ka"],"data":2}', 200)]
            for method, path, body, code in steps:
                conn.request(method, path, body=body, headers=AUTH)
                res = conn.getresponse()
                data = res.read()
                self.assertEqual(res.status, code, (method, path, data))
                self.assertFalse(res.will_close, (method, path))
        finally:
            conn.close()


class NoKey(ServerTestCase):
    def test_without_a_key_the_api_is_404(self):
        server = self.start_server()
        for method, path in (("POST", "/api/publish"), ("GET", "/api/topics"),
                             ("GET", "/api")):
            status, _, body = server.http(method, path, body=b'{"topic":"t","data":1}'
                                          if method == "POST" else None, headers=AUTH)
            self.assertEqual(status, 404, (method, path))
            self.assertEqual(body, b"not found\n")


class BadOptions(unittest.TestCase):
    def test_a_key_with_spaces_is_refused_at_start(self):
        import subprocess
        from harness import server_binary
        proc = subprocess.run([server_binary(), "--port=0", "--api-key=two words"],
                              capture_output=True, timeout=10)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"api-key", proc.stderr)


if __name__ == "__main__":
    unittest.main()
