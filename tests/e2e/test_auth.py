"""Client authentication with JWT and the Origin check, against the CLI node.

Tokens are made with Debian's python3-jwt (PyJWT), keys with
python3-cryptography, at test time. Refused upgrades are sent on raw sockets,
so that the test sees the whole HTTP answer and that no WebSocket follows it.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness import (SLACK, ServerTestCase, recv_json, run_async, send_json, server_binary,
                     subscribe, wait_until, ws_connect)

SECRET = "e2e-secret-of-at-least-thirty-two-bytes"
ORIGIN = "https://app.example"


def token(claims=None, key=SECRET, alg="HS256", **extra):
    body = {"sub": "alice", "exp": int(time.time()) + 300}
    body.update(claims or {})
    body.update(extra)
    return jwt.encode(body, key, algorithm=alg)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header, claims, secret):
    """An HS256 token made without PyJWT (it refuses some of what attackers do)."""
    part = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = hmac.new(secret, part.encode(), hashlib.sha256).digest()
    return part + "." + b64url(sig)


def upgrade(port, path="/ws", headers=(), timeout=5.0):
    """A WebSocket upgrade on a raw socket, read until the server closes.

    Returns (status, headers dict (lower-case), body, everything received)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in headers]
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + timeout
        data = b""
        while True:  # a refusal closes the connection: EOF within the deadline
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no EOF within {timeout}s after {data!r}")
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in header_lines:
        k, _, v = line.partition(":")
        fields[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), fields, body, data


class JwtHs256(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        from harness import Server
        cls.server = Server("--auth=jwt", f"--jwt-secret={SECRET}", "--jwt-leeway=5s",
                            f"--allowed-origins={ORIGIN},http://localhost:3000")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def assert_refused(self, status, path="/ws", headers=(), reason=None):
        code, fields, body, raw = upgrade(self.server.port, path, headers)
        self.assertEqual(code, status, raw)
        self.assertNotIn(b"101 Switching", raw)
        if status == 401:
            self.assertEqual(fields.get("www-authenticate"), 'Bearer error="invalid_token"')
        if reason is not None:
            self.assertEqual(body.decode().strip(), reason)
        return body

    def test_token_in_query_connects(self):
        async def go():
            ws, _ = await ws_connect(f"{self.server.url}?token={token()}")
            await subscribe(ws, "news", id=1)
            await send_json(ws, {"type": "publish", "topic": "news", "data": 1})
            self.assertEqual(await recv_json(ws),
                             {"type": "message", "topic": "news", "data": 1})
            await ws.close()
        run_async(go(), 15)

    def test_bearer_header_connects(self):
        async def go():
            ws, _ = await ws_connect(self.server,
                                     extra_headers={"Authorization": f"Bearer {token()}"})
            await subscribe(ws, "news")
            await ws.close()
        run_async(go(), 15)

    def test_percent_encoded_query_token_connects(self):
        encoded = token().replace(".", "%2E")
        async def go():
            ws, _ = await ws_connect(f"{self.server.url}?a=b&token={encoded}")
            await ws.close()
        run_async(go(), 15)

    def test_bad_tokens_get_401_and_no_websocket(self):
        now = int(time.time())
        cases = {
            "no token": "/ws",
            "malformed token": "/ws?token=not.a.jwt",
            "token expired": f"/ws?token={token(exp=now - 60)}",
            "token not yet valid": f"/ws?token={token(nbf=now + 60)}",
            "bad token signature": f"/ws?token={token(key='another-secret-of-thirty-two-bytes!')}",
            "token algorithm not accepted":
                "/ws?token=" + b64url(b'{"alg":"none","typ":"JWT"}') + "."
                + b64url(json.dumps({"sub": "root"}).encode()) + ".",
            "token has no subject": f"/ws?token={jwt.encode({'exp': now + 60}, SECRET)}",
            "bad token claim": f"/ws?token={token(topics='news')}",
            "more than one token": f"/ws?token={token()}&token={token()}",
        }
        for reason, path in cases.items():
            with self.subTest(reason=reason):
                self.assert_refused(401, path, reason=reason)
        with self.subTest(reason="header"):
            self.assert_refused(401, headers=[("Authorization", "Bearer x.y.z")],
                                reason="malformed token")
        # Refusals are logged by reason, never with the token.
        bad = token(exp=now - 60)
        self.assert_refused(401, f"/ws?token={bad}")
        # (The log line is written by another thread.)
        line = 'status=401 remote=127.0.0.1 reason="token expired"'
        log = wait_until(lambda: line in self.server.stderr() and self.server.stderr(), 5,
                         message="the refusal's log line")
        self.assertNotIn(bad, log)
        self.assertNotIn(bad.split(".")[2], log)
        # None of them got in.
        self.assertEqual(self.server.connections(), 0)

    def test_topics_claim_limits_subscribe_and_publish(self):
        limited = token({"topics": ["news/*", "room-?"]})
        async def go():
            ws, _ = await ws_connect(f"{self.server.url}?token={limited}")
            await subscribe(ws, "news/today", id=1)
            await subscribe(ws, "room-1", id=2)
            await send_json(ws, {"type": "subscribe", "topic": "secret", "id": 3})
            err = await recv_json(ws)
            self.assertEqual((err["type"], err["code"], err["id"]), ("error", "forbidden", 3))
            await send_json(ws, {"type": "publish", "topic": "room-12", "data": 0, "id": 4})
            err = await recv_json(ws)
            self.assertEqual((err["type"], err["code"], err["id"]), ("error", "forbidden", 4))
            await send_json(ws, {"type": "publish", "topic": "news/today", "data": 5, "id": 5})
            self.assertEqual(await recv_json(ws),
                             {"type": "message", "topic": "news/today", "data": 5})
            self.assertEqual(await recv_json(ws), {"type": "ack", "id": 5})
            await ws.close()
        run_async(go(), 15)

    def test_origin_not_listed_gets_403_before_the_token(self):
        for origin in ("https://evil.example", "http://app.example", "null",
                       "https://app.example:8443"):
            with self.subTest(origin=origin):
                # No token either: the origin is checked first.
                self.assert_refused(403, headers=[("Origin", origin)],
                                    reason="origin not allowed")
                self.assert_refused(403, f"/ws?token={token()}", headers=[("Origin", origin)])

    def test_refused_upgrades_are_counted_in_stats_and_metrics(self):
        from test_metrics import scrape, value

        def counts():
            rejections = self.server.stats()["rejections"]
            _, samples, _ = scrape(self.server)
            exported = {reason: value(samples, "switchboard_rejections_total",
                                      stage="upgrade", reason=reason)
                        for reason in ("origin_not_allowed", "authentication_failed",
                                       "authentication_unavailable")}
            return rejections, exported

        before, exported_before = counts()
        self.assert_refused(401, "/ws?token=not.a.jwt")
        self.assert_refused(401, "/ws")
        self.assert_refused(403, headers=[("Origin", "https://evil.example")])
        after, exported = counts()
        self.assertEqual(after["authentication_failed"] - before["authentication_failed"], 2)
        self.assertEqual(after["origin_not_allowed"] - before["origin_not_allowed"], 1)
        self.assertEqual(after["authentication_unavailable"],
                         before["authentication_unavailable"])
        self.assertEqual(exported["authentication_failed"]
                         - exported_before["authentication_failed"], 2)
        self.assertEqual(exported["origin_not_allowed"]
                         - exported_before["origin_not_allowed"], 1)

    def test_listed_origin_and_no_origin_pass(self):
        async def go():
            for origin in (ORIGIN, "HTTPS://APP.EXAMPLE", "http://localhost:3000", None):
                ws, _ = await ws_connect(f"{self.server.url}?token={token()}", origin=origin)
                await ws.close()
        run_async(go(), 15)


class JwtPublicKeys(ServerTestCase):
    """RS256 and ES256 with --jwt-public-key, and the algorithm-confusion attack."""

    def start_with_key(self, private_key):
        pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        f = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)
        self.addCleanup(os.unlink, f.name)
        f.write(pem)
        f.close()
        return self.start_server("--auth=jwt", f"--jwt-public-key={f.name}"), pem

    def check_key(self, private_key, alg, other_key):
        server, pem = self.start_with_key(private_key)
        async def go():
            ws, _ = await ws_connect(f"{server.url}?token={token(key=private_key, alg=alg)}")
            await subscribe(ws, "news")
            await ws.close()
        run_async(go(), 15)
        now = int(time.time())
        bad = {
            "bad token signature": token(key=other_key, alg=alg),
            # HS256 with the public key (its PEM text) as the HMAC secret.
            "token algorithm not accepted":
                hand_signed({"alg": "HS256", "typ": "JWT"}, {"sub": "root", "exp": now + 60},
                            pem),
        }
        for reason, tok in bad.items():
            with self.subTest(alg=alg, reason=reason):
                code, fields, body, _ = upgrade(server.port, f"/ws?token={tok}")
                self.assertEqual(code, 401)
                self.assertEqual(body.decode().strip(), reason)

    def test_rs256(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.check_key(key, "RS256", other)

    def test_es256(self):
        self.check_key(ec.generate_private_key(ec.SECP256R1()), "ES256",
                       ec.generate_private_key(ec.SECP256R1()))


class TokenExpiry(ServerTestCase):
    """A connection ends at its token's exp plus --jwt-leeway (close 4001) unless the
    client refreshes the token first; a token without exp is refused unless
    --jwt-allow-no-exp (docs/protocol.md, Refresh)."""

    LEEWAY = 1

    @classmethod
    def setUpClass(cls):
        from harness import Server
        cls.server = Server("--auth=jwt", f"--jwt-secret={SECRET}",
                            f"--jwt-leeway={cls.LEEWAY}s")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def connect_raw(self, tok):
        from harness import RawWS
        ws = RawWS(self.server.port, path=f"/ws?token={tok}")
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        return ws

    def test_the_connection_is_closed_with_4001_after_exp_and_the_leeway(self):
        exp = int(time.time()) + 2
        ws = self.connect_raw(token(exp=exp))
        frame = ws.recv_close(timeout=exp + self.LEEWAY - time.time() + 3 * SLACK)
        closed_at = time.time()
        self.assertEqual((frame.close_code, frame.close_reason), (4001, "token expired"))
        # Not before exp + leeway (whole seconds on both clocks: 50 ms of slack).
        self.assertGreaterEqual(closed_at, exp + self.LEEWAY - 0.05)
        self.assertLessEqual(closed_at, exp + self.LEEWAY + 2 * SLACK)
        self.assertTrue(ws.wait_eof(3 * SLACK))
        wait_until(lambda: self.server.disconnects().get("token_expired", 0) >= 1, 5 * SLACK,
                   message="the token_expired disconnect in /stats")

    def test_a_refresh_keeps_it_open(self):
        exp = int(time.time()) + 2
        ws = self.connect_raw(token(exp=exp))
        later = int(time.time()) + 60
        ws.send_json({"type": "refresh", "token": token(exp=later), "id": 1})
        self.assertEqual(ws.recv_json(),
                         {"type": "refreshed", "expires": later + self.LEEWAY, "id": 1})
        # Nothing comes (no close) until well past the first token's end, and
        # the connection still works then.
        with self.assertRaises(socket.timeout):
            frame = ws.recv_frame(timeout=max(0.0, exp + self.LEEWAY + 1 - time.time()))
            self.fail(f"expected nothing, got {frame!r}")
        ws.send_json({"type": "publish", "topic": "t", "data": 1, "id": 2})
        self.assertEqual(ws.recv_json(), {"type": "ack", "id": 2})

    def test_a_refresh_for_another_user_or_with_a_bad_token_is_refused(self):
        ws = self.connect_raw(token())
        ws.send_json({"type": "refresh", "token": token({"sub": "mallory"}), "id": 1})
        err = ws.recv_json()
        self.assertEqual((err["type"], err["code"], err["id"]), ("error", "forbidden", 1))
        ws.send_json({"type": "refresh", "token": token(key="another-secret-of-thirty-two-bytes!"),
                      "id": 2})
        err = ws.recv_json()
        self.assertEqual((err["code"], err["reason"], err["id"]),
                         ("bad_token", "bad token signature", 2))
        ws.send_json({"type": "refresh", "token": jwt.encode({"sub": "alice"}, SECRET), "id": 3})
        err = ws.recv_json()
        self.assertEqual((err["code"], err["reason"]), ("bad_token", "token has no expiry"))
        # The connection stays.
        ws.send_json({"type": "publish", "topic": "t", "data": 1, "id": 4})
        self.assertEqual(ws.recv_json(), {"type": "ack", "id": 4})

    def test_a_token_without_exp_is_refused(self):
        code, _, body, _ = upgrade(self.server.port,
                                   f"/ws?token={jwt.encode({'sub': 'alice'}, SECRET)}")
        self.assertEqual((code, body.decode().strip()), (401, "token has no expiry"))


class TokensWithoutExp(ServerTestCase):
    def test_allowed_with_jwt_allow_no_exp_and_they_never_expire(self):
        from harness import RawWS
        server = self.start_server("--auth=jwt", f"--jwt-secret={SECRET}",
                                   "--jwt-allow-no-exp")
        ws = RawWS(server.port, path=f"/ws?token={jwt.encode({'sub': 'alice'}, SECRET)}")
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        ws.send_json({"type": "refresh", "token": jwt.encode({"sub": "alice"}, SECRET),
                      "id": 1})
        self.assertEqual(ws.recv_json(), {"type": "refreshed", "id": 1})

    def test_a_refresh_without_authentication_is_not_enabled(self):
        from harness import RawWS
        server = self.start_server()
        ws = RawWS(server.port)
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        ws.send_json({"type": "refresh", "token": token(), "id": 1})
        err = ws.recv_json()
        self.assertEqual((err["type"], err["code"], err["id"]), ("error", "not_enabled", 1))


class AuthOptions(unittest.TestCase):
    """Impossible authentication options stop the node at start (exit 2)."""

    def run_node(self, *flags, timeout=10, stdout=False):
        """Exit status and stderr (stdout and stderr with `stdout`)."""
        proc = subprocess.run([server_binary(), "--port=0", *flags], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
        return proc.returncode, ((proc.stdout if stdout else b"") + proc.stderr).decode()

    def test_refused_options(self):
        cases = [
            (["--auth=jwt"], "needs a key"),
            (["--auth=jwt", "--jwt-secret=short"], "at least 32 bytes"),
            (["--auth=jwt", "--jwt-public-key=/nonexistent/key.pem"], "cannot read"),
            (["--auth=jwt", f"--jwt-secret={SECRET}", "--jwt-public-key=/x.pem"], "not both"),
            (["--auth=password"], "auth must be none or jwt"),
            ([f"--jwt-secret={SECRET}"], "need --auth=jwt"),
            (["--jwt-allow-no-exp"], "--jwt-allow-no-exp needs --auth=jwt"),
            (["--allowed-origins=app.example"], "allowed-origins"),
        ]
        for flags, message in cases:
            with self.subTest(flags=flags):
                rc, err = self.run_node(*flags)
                self.assertEqual(rc, 2, err)
                self.assertIn(message, err)
                self.assertNotIn(SECRET, err)

    def test_the_config_dump_does_not_show_the_secret(self):
        rc, err = self.run_node("--auth=jwt", f"--jwt-secret={SECRET}", "--dump-config",
                                stdout=True)
        self.assertEqual(rc, 0, err)
        self.assertIn('jwt-secret = "(set, not shown)"', err)
        self.assertNotIn(SECRET, err)

    def test_warning_for_an_open_node_on_a_public_address(self):
        # 192.0.2.1 (TEST-NET-1) is nobody's address: the node warns, then
        # cannot listen there (exit 1), so nothing is ever exposed.
        rc, err = self.run_node("--host=192.0.2.1")
        self.assertEqual(rc, 1, err)
        self.assertEqual(err.count("--auth=none"), 1, err)


if __name__ == "__main__":
    unittest.main()


class UsersFromTokens(unittest.TestCase):
    """A token's subject makes a user: clients and the server API reach every
    connection of that user, and only those (docs/protocol.md, docs/api.md)."""

    @classmethod
    def setUpClass(cls):
        from harness import Server
        from test_api import KEY
        cls.server = Server("--auth=jwt", f"--jwt-secret={SECRET}", f"--api-key={KEY}")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_send_to_a_user_reaches_each_of_its_connections(self):
        import asyncio
        import websockets
        from test_api import api

        async def go():
            url = self.server.url + "?token="
            alice1, _ = await ws_connect(url + token({"sub": "alice"}))
            alice2, _ = await ws_connect(url + token({"sub": "alice"}))
            bob, bob_id = await ws_connect(url + token({"sub": "bob"}))
            # A client to a user: both of alice's connections, not bob.
            await send_json(bob, {"type": "send", "to": "user:alice", "data": "hi", "id": 1})
            self.assertEqual(await recv_json(bob), {"type": "ack", "id": 1})
            for ws in (alice1, alice2):
                self.assertEqual(await recv_json(ws),
                                 {"type": "direct", "from": bob_id, "data": "hi"})
            await send_json(bob, {"type": "send", "to": "user:carol", "data": 1, "id": 2})
            err = await recv_json(bob)
            self.assertEqual((err["type"], err["code"], err["id"]), ("error", "unknown_user", 2))
            # The server API to a user, then disconnecting that user.
            status, _, res = await asyncio.to_thread(
                api, self.server, "POST", "/api/send", {"to": "user:alice", "data": {"n": 2}})
            self.assertEqual((status, res), (200, {"delivered": 2}))
            for ws in (alice1, alice2):
                self.assertEqual(await recv_json(ws),
                                 {"type": "direct", "from": 0, "data": {"n": 2}})
            status, _, res = await asyncio.to_thread(
                api, self.server, "POST", "/api/disconnect",
                {"user": "alice", "code": 4001, "reason": "signed out"})
            self.assertEqual((status, res), (200, {"disconnected": 2}))
            for ws in (alice1, alice2):
                with self.assertRaises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
                self.assertEqual((ws.close_code, ws.close_reason), (4001, "signed out"))
            # bob is still there, and alice is gone from the node.
            await send_json(bob, {"type": "send", "to": "user:alice", "data": 3, "id": 3})
            err = await recv_json(bob)
            self.assertEqual((err["code"], err["id"]), ("unknown_user", 3))
            await bob.close()
        run_async(go(), 20)
