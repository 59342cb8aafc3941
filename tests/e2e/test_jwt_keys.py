"""Several JWT keys picked by kid (--jwt-keys: a JWKS file or a directory of
KID.pem files), --jwt-issuer and --jwt-audience, and SIGHUP reloading the
keys and --allowed-origins-file without dropping anyone.

Keys come from python3-cryptography and tokens from python3-jwt (PyJWT), at
test time. Refusals are read on raw sockets (test_auth.upgrade)."""

import asyncio
import base64
import json
import os
import signal
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

ISSUER = "https://idp.example"
AUDIENCE = "switchboard"


def b64url_int(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def jwk(kid, key):
    """The public JWK (RFC 7517) of a private key, as an identity provider publishes it."""
    pub = key.public_key().public_numbers()
    if isinstance(key, rsa.RSAPrivateKey):
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64url_int(pub.n), "e": b64url_int(pub.e)}
    return {"kty": "EC", "kid": kid, "crv": "P-256",
            "x": b64url_int(pub.x, 32), "y": b64url_int(pub.y, 32)}


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def token(kid, key, **claims):
    body = {"sub": "alice", "exp": int(time.time()) + 300, "iss": ISSUER, "aud": AUDIENCE}
    body.update(claims)
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def write(path, text):
    # Replaced as an operator's tooling would: a new file renamed into place.
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


class PemDirectory(ServerTestCase):
    def test_each_kid_pem_is_a_key_named_by_its_file(self):
        with tempfile.TemporaryDirectory() as keys:
            a = rsa.generate_private_key(65537, 2048)
            b = ec.generate_private_key(ec.SECP256R1())
            for kid, key in (("a", a), ("b", b)):
                with open(os.path.join(keys, f"{kid}.pem"), "wb") as f:
                    f.write(public_pem(key))
            with open(os.path.join(keys, "README"), "w") as f:
                f.write("not a key: ignored\n")
            server = self.start_server("--auth=jwt", f"--jwt-keys={keys}")
            for kid, key in (("a", a), ("b", b)):
                code, _ = upgrade_or_switch(server.port, f"/ws?token={token(kid, key)}", [])
                self.assertEqual(code, 101, kid)
            code, body = upgrade_or_switch(server.port, f"/ws?token={token('b', a)}", [])
            self.assertEqual((code, body.strip()), (401, b"token algorithm not accepted"))


class Options(unittest.TestCase):
    """Broken key and origin files stop the node at start (exit 2), saying why."""

    def test_refused_at_start(self):
        with tempfile.TemporaryDirectory() as tmp:
            broken = os.path.join(tmp, "broken.json")
            with open(broken, "w") as f:
                f.write('{"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB"}]}')
            no_origin = os.path.join(tmp, "origins.txt")
            with open(no_origin, "w") as f:
                f.write("# nobody yet\n")
            cases = [
                (["--auth=jwt", f"--jwt-keys={broken}"], "jwks: key 'x': no \"e\""),
                (["--auth=jwt", f"--jwt-keys={tmp}"], "no KID.pem file in"),
                (["--auth=jwt", "--jwt-keys=/nonexistent/jwks.json"], "jwt-keys: cannot read"),
                ([f"--jwt-keys={broken}"], "--jwt-keys needs --auth=jwt"),
                (["--jwt-issuer=x"], "--jwt-issuer needs --auth=jwt"),
                ([f"--allowed-origins-file={no_origin}"], "lists no origin"),
                (["--allowed-origins-file=/nonexistent"], "cannot read /nonexistent"),
            ]
            with open(os.path.join(tmp, "bad-origins.txt"), "w") as f:
                f.write("app.example\n")
            cases.append(([f"--allowed-origins-file={tmp}/bad-origins.txt"],
                          "'app.example' is not scheme://host[:port]"))
            for flags, message in cases:
                with self.subTest(flags=flags):
                    proc = subprocess.run([server_binary(), "--port=0", *flags],
                                          stdin=subprocess.DEVNULL, capture_output=True,
                                          timeout=10 * SLACK)
                    self.assertEqual(proc.returncode, 2, proc.stderr)
                    self.assertIn(message, proc.stderr.decode())


class KeyReload(ServerTestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.jwks = os.path.join(tmp.name, "jwks.json")
        self.origins = os.path.join(tmp.name, "origins.txt")
        self.keys = {"k1": rsa.generate_private_key(65537, 2048),
                     "k2": ec.generate_private_key(ec.SECP256R1()),
                     "k3": rsa.generate_private_key(65537, 2048)}
        self.publish("k1", "k2")
        write(self.origins, "# the app\nhttps://a.example\n\n")
        self.server = self.start_server(
            "--auth=jwt", f"--jwt-keys={self.jwks}", f"--jwt-issuer={ISSUER}",
            f"--jwt-audience={AUDIENCE}", f"--allowed-origins-file={self.origins}")

    def publish(self, *kids):
        write(self.jwks, json.dumps({"keys": [jwk(k, self.keys[k]) for k in kids]}))

    def reload(self, expect):
        before = self.server.stderr().count(expect)
        self.server.signal(signal.SIGHUP)
        wait_until(lambda: self.server.stderr().count(expect) > before, 5 * SLACK,
                   message=f"{expect!r} in the node's log")

    def status(self, tok, origin=None):
        """101, or the refusal's status and reason."""
        headers = [("Origin", origin)] if origin else []
        code, body = upgrade_or_switch(self.server.port, f"/ws?token={tok}", headers)
        return code if code == 101 else (code, body.decode().strip())

    def test_keys_by_kid_rotated_on_sighup_without_dropping_anyone(self):
        k = self.keys
        self.assertEqual(self.status(token("k1", k["k1"])), 101)
        self.assertEqual(self.status(token("k2", k["k2"])), 101)
        self.assertEqual(self.status(token("k3", k["k3"])), (401, "token key id unknown"))
        self.assertEqual(self.status(token("k1", k["k1"], iss="https://other.example")),
                         (401, "token issuer not accepted"))
        self.assertEqual(self.status(token("k1", k["k1"], aud=["billing", AUDIENCE])), 101)
        self.assertEqual(self.status(token("k1", k["k1"], aud="billing")),
                         (401, "token audience not accepted"))

        async def go():
            old, _ = await ws_connect(f"{self.server.url}?token={token('k1', k['k1'])}")
            await subscribe(old, "rotation")
            # k1 retired, k3 added.
            self.publish("k2", "k3")
            await asyncio.to_thread(self.reload, "JWT keys reloaded: k2 (ES256), k3 (RS256)")
            self.assertEqual(await asyncio.to_thread(self.status, token("k3", k["k3"])), 101)
            self.assertEqual(await asyncio.to_thread(self.status, token("k1", k["k1"])),
                             (401, "token key id unknown"))
            # The connection made with k1 stays.
            await send_json(old, {"type": "publish", "topic": "rotation", "data": 1})
            self.assertEqual(await recv_json(old),
                             {"type": "message", "topic": "rotation", "data": 1})
            # Its refresh is checked with the keys in force: k1 is gone, k3
            # good; the wrong audience is refused on a refresh too.
            for i, (tok, reason) in enumerate([
                    (token("k1", k["k1"]), "token key id unknown"),
                    (token("k3", k["k3"], aud="billing"), "token audience not accepted")]):
                await send_json(old, {"type": "refresh", "token": tok, "id": i})
                err = await recv_json(old)
                self.assertEqual((err["type"], err["code"], err["reason"]),
                                 ("error", "bad_token", reason))
            await send_json(old, {"type": "refresh", "token": token("k3", k["k3"]), "id": 9})
            reply = await recv_json(old)
            self.assertEqual((reply["type"], reply["id"]), ("refreshed", 9))
            # A broken file keeps the keys in force, and says why.
            write(self.jwks, '{"keys": [')
            await asyncio.to_thread(
                self.reload, "JWT keys not reloaded, keeping the current ones: jwks:")
            self.assertEqual(await asyncio.to_thread(self.status, token("k3", k["k3"])), 101)
            self.assertEqual(await asyncio.to_thread(self.status, token("k2", k["k2"])), 101)
            await old.close()
        run_async(go(), 30)

    def test_origins_file_is_read_again_on_sighup(self):
        tok = token("k1", self.keys["k1"])
        self.assertEqual(self.status(tok, "https://a.example"), 101)
        self.assertEqual(self.status(tok, "https://b.example"), (403, "origin not allowed"))
        write(self.origins, "https://b.example  # moved\n")
        self.reload("allowed origins reloaded: 1 origins")
        self.assertEqual(self.status(tok, "https://a.example"), (403, "origin not allowed"))
        self.assertEqual(self.status(tok, "https://b.example"), 101)
        # An entry that is not an origin, or no origin at all: nothing changes.
        for text in ("https://c.example\nc.example\n", "# nobody\n"):
            with self.subTest(text=text):
                write(self.origins, text)
                self.reload("allowed origins not reloaded, keeping the current ones")
                self.assertEqual(self.status(tok, "https://b.example"), 101)
                self.assertEqual(self.status(tok, "https://c.example"),
                                 (403, "origin not allowed"))


def upgrade_or_switch(port, path, headers, timeout=5.0 * SLACK):
    """A WebSocket upgrade on a raw socket: (101, b"") when it switches, else
    the refusal's (status, body), read until the node closes."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in headers]
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            if data.startswith(b"HTTP/1.1 101 ") and b"\r\n\r\n" in data:
                return 101, b""
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer within {timeout}s: {data!r}")
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:  # a refusal closes the connection
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body
