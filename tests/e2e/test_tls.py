"""TLS on the node's port: wss:// and https:// with a CA made at test time,
mutual TLS, the handshake timeout, and certificate reload on SIGHUP.

Certificates come from python3-cryptography (Debian's); clients are
python3-websockets and http.client over the standard ssl module, always
verifying against the test CA."""

import asyncio
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import websockets

import stalled_reader
from harness import (OP_CLOSE, OP_PING, SLACK, RawWS, Server, ServerTestCase, recv_json,
                     run_async, send_json, server_binary, subscribe, tcp_closed_within,
                     wait_until, ws_connect)

KEY = "tls-test-api-key-0123456789"


# -- certificates -----------------------------------------------------------------


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject, key, issuer, issuer_key, serial, ca=False, server=False, client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                            critical=False)
    if ca:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


class Pki:
    """A CA, server certificates (serial 1001 and 2002) and a client
    certificate, as PEM files in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="switchboard-tls-")
        ca_key = _key()
        ca = _cert("switchboard test CA", ca_key, "switchboard test CA", ca_key, 1, ca=True)
        self.ca = _write(os.path.join(self.dir, "ca.pem"), ca.public_bytes(serialization.Encoding.PEM))
        self.servers = {}
        for serial in (1001, 2002):
            key = _key()
            cert = _cert(f"server {serial}", key, "switchboard test CA", ca_key, serial, server=True)
            self.servers[serial] = (
                _write(os.path.join(self.dir, f"server{serial}.pem"),
                       cert.public_bytes(serialization.Encoding.PEM)),
                _write(os.path.join(self.dir, f"server{serial}.key"), _pem_key(key)))
        key = _key()
        cert = _cert("client 7", key, "switchboard test CA", ca_key, 7, client=True)
        self.client_cert = _write(os.path.join(self.dir, "client.pem"),
                                  cert.public_bytes(serialization.Encoding.PEM))
        self.client_key = _write(os.path.join(self.dir, "client.key"), _pem_key(key))
        # The files the node is started with (reload tests overwrite them).
        self.cert = os.path.join(self.dir, "live.pem")
        self.key = os.path.join(self.dir, "live.key")
        self.use(1001)

    def use(self, serial):
        cert, key = self.servers[serial]
        shutil.copyfile(cert, self.cert)
        shutil.copyfile(key, self.key)

    def client_context(self, with_cert=False):
        ctx = ssl.create_default_context(cafile=self.ca)
        if with_cert:
            ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def served_serial(port, ctx):
    """The serial number of the certificate a new connection is shown."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).serial_number


def https(port, ctx, method, path, body=None, headers=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ctx)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def stats(port, ctx):
    status, body = https(port, ctx, "GET", "/stats")
    if status != 200:
        raise AssertionError(f"/stats answered {status}: {body!r}")
    return json.loads(body)


async def round_trip(ws, topic, data):
    await send_json(ws, {"type": "publish", "topic": topic, "data": data})
    while True:
        msg = await recv_json(ws)
        if msg.get("type") == "message":
            return msg


# -- the tests --------------------------------------------------------------------


class Tls(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.server = Server(f"--tls-cert={cls.pki.cert}", f"--tls-key={cls.pki.key}",
                            f"--api-key={KEY}", "--handshake-timeout=1s")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.pki.cleanup()

    def test_the_node_says_wss(self):
        self.assertTrue(self.server.url.startswith("wss://"), self.server.url)

    def test_wss_subscribe_and_publish(self):
        async def go():
            ctx = self.pki.client_context()
            a, _ = await ws_connect(self.server.url, ssl=ctx)
            b, _ = await ws_connect(self.server.url, ssl=ctx)
            try:
                await subscribe(a, "tls.news")
                await subscribe(b, "tls.news")
                # Several frames at once (corking) and a large one (several
                # TLS records).
                big = "x" * 50000
                await send_json(b, {"type": "publish", "topic": "tls.news", "data": big})
                for n in range(20):
                    await send_json(b, {"type": "publish", "topic": "tls.news", "data": n})
                got = []
                while len(got) < 21:
                    msg = await recv_json(a)
                    if msg.get("type") == "message":
                        got.append(msg["data"])
                self.assertEqual(got, [big] + list(range(20)))
            finally:
                start = time.monotonic()
                await a.close()
                took = time.monotonic() - start
                await b.close()
            self.assertEqual(a.close_code, 1000)
            # The node ends the TLS connection (close_notify, FIN) right after
            # the close handshake, not after its close timeout (2 s).
            self.assertLess(took, 1.5)
        run_async(go(), 20)

    def test_a_server_initiated_close_over_tls(self):
        # The API closes the connection: close handshake, then the node ends
        # the TLS connection without waiting for its close timeout.
        ctx = self.pki.client_context()

        async def go():
            ws, conn = await ws_connect(self.server.url, ssl=ctx)
            start = time.monotonic()
            status, body = await asyncio.to_thread(
                https, self.server.port, ctx, "POST", "/api/disconnect",
                json.dumps({"connection": conn, "code": 4001, "reason": "bye"}),
                {"Authorization": f"apikey {KEY}", "Content-Type": "application/json"})
            self.assertEqual(status, 200, body)
            with self.assertRaises(websockets.exceptions.ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            await ws.wait_closed()
            return ws.close_code, ws.close_reason, time.monotonic() - start
        code, reason, took = run_async(go(), 10)
        self.assertEqual((code, reason), (4001, "bye"))
        self.assertLess(took, 1.5)

    def test_https_healthz_metrics_and_api(self):
        ctx = self.pki.client_context()
        status, body = https(self.server.port, ctx, "GET", "/healthz")
        self.assertEqual((status, body.strip()), (200, b"ok"))
        status, body = https(self.server.port, ctx, "GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"switchboard_connections", body)

        async def go():
            ws, _ = await ws_connect(self.server.url, ssl=self.pki.client_context())
            try:
                await subscribe(ws, "tls.api")
                status, body = await asyncio.to_thread(
                    https, self.server.port, ctx, "POST", "/api/publish",
                    json.dumps({"topic": "tls.api", "data": "hello"}),
                    {"Authorization": f"apikey {KEY}", "Content-Type": "application/json"})
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body)["delivered"], 1)
                msg = await recv_json(ws)
                self.assertEqual((msg["type"], msg["data"]), ("message", "hello"))
            finally:
                await ws.close()
        run_async(go(), 20)

    def test_a_client_that_does_not_trust_the_ca_fails(self):
        async def go():
            # The system's CAs: not ours.
            with self.assertRaises(ssl.SSLCertVerificationError):
                await websockets.connect(self.server.url, ssl=ssl.create_default_context(),
                                         open_timeout=5)
        run_async(go(), 10)

    def test_a_plain_client_gets_no_websocket(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      b"Sec-WebSocket-Version: 13\r\n\r\n")
            data = b""
            s.settimeout(5)
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
        self.assertNotIn(b"101", data)
        self.assertFalse(data.startswith(b"HTTP/"), data)

    def test_a_silent_client_is_dropped_within_the_handshake_timeout(self):
        ctx = self.pki.client_context()
        before = stats(self.server.port, ctx)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            took = tcp_closed_within(s, 1.0 + 3 * SLACK)
        self.assertIsNotNone(took, "the node kept a silent TCP connection open")
        self.assertGreaterEqual(took, 0.5)
        # Nothing of it stays behind: the node still serves.
        self.assertEqual(stats(self.server.port, ctx)["connections"], before["connections"])


class MutualTls(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.server = Server(f"--tls-cert={cls.pki.cert}", f"--tls-key={cls.pki.key}",
                            f"--tls-ca={cls.pki.ca}")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.pki.cleanup()

    def test_no_client_certificate_is_refused(self):
        async def go():
            try:
                ws, _ = await ws_connect(self.server.url, ssl=self.pki.client_context(),
                                         open_timeout=5)
            except (OSError, ssl.SSLError, EOFError, asyncio.TimeoutError,
                    websockets.exceptions.WebSocketException):
                return
            await ws.close()
            self.fail("a client without a certificate got a WebSocket")
        run_async(go(), 10)

    def test_https_without_client_certificate_is_refused(self):
        with self.assertRaises((OSError, ssl.SSLError, http.client.HTTPException)):
            https(self.server.port, self.pki.client_context(), "GET", "/healthz")

    def test_a_good_client_certificate_works(self):
        ctx = self.pki.client_context(with_cert=True)
        status, body = https(self.server.port, ctx, "GET", "/healthz")
        self.assertEqual((status, body.strip()), (200, b"ok"))

        async def go():
            ws, _ = await ws_connect(self.server.url, ssl=ctx)
            try:
                await subscribe(ws, "mtls")
                msg = await round_trip(ws, "mtls", {"n": 1})
                self.assertEqual(msg["data"], {"n": 1})
            finally:
                await ws.close()
        run_async(go(), 10)


class Reload(ServerTestCase):
    def setUp(self):
        self.pki = Pki()
        self.addCleanup(self.pki.cleanup)
        self.server = self.start_server(f"--tls-cert={self.pki.cert}",
                                        f"--tls-key={self.pki.key}")

    def reload(self, expect):
        before = self.server.stderr().count(expect)
        self.server.signal(signal.SIGHUP)
        wait_until(lambda: self.server.stderr().count(expect) > before, 5 * SLACK,
                   message=f"{expect!r} in the node's log")

    def test_sighup_serves_the_new_certificate_and_keeps_connections(self):
        ctx = self.pki.client_context()
        self.assertEqual(served_serial(self.server.port, ctx), 1001)

        async def go():
            old, _ = await ws_connect(self.server.url, ssl=ctx)
            try:
                await subscribe(old, "reload")
                self.pki.use(2002)
                await asyncio.to_thread(self.reload, "TLS certificate, key and CA reloaded")
                # The connection from before goes on.
                msg = await round_trip(old, "reload", "after")
                self.assertEqual(msg["data"], "after")
                # A new one is shown the new certificate and works.
                serial = await asyncio.to_thread(served_serial, self.server.port, ctx)
                self.assertEqual(serial, 2002)
                new, _ = await ws_connect(self.server.url, ssl=ctx)
                try:
                    await subscribe(new, "reload")
                    msg = await round_trip(new, "reload", "new")
                    self.assertEqual(msg["data"], "new")
                finally:
                    await new.close()
            finally:
                await old.close()
        run_async(go(), 20)

    def test_a_failed_reload_keeps_the_old_certificate(self):
        ctx = self.pki.client_context()
        # A key that is not the certificate's, then one that is not a key.
        shutil.copyfile(self.pki.servers[2002][1], self.pki.key)
        self.reload("TLS not reloaded")
        self.assertIn("key values mismatch", self.server.stderr())
        with open(self.pki.key, "wb") as f:
            f.write(b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
        self.reload("TLS not reloaded")
        self.assertTrue(self.server.alive())
        self.assertEqual(served_serial(self.server.port, ctx), 1001)

        async def go():
            ws, _ = await ws_connect(self.server.url, ssl=ctx)
            try:
                await subscribe(ws, "kept")
                msg = await round_trip(ws, "kept", 1)
                self.assertEqual(msg["data"], 1)
            finally:
                await ws.close()
        run_async(go(), 10)


class TlsRawWS(RawWS):
    """harness.RawWS over TLS: hand-made frames, a client that does not read."""

    def __init__(self, port, ctx, rcvbuf=None, timeout=5.0):
        super().__init__(port, rcvbuf=rcvbuf, timeout=timeout, handshake=False)
        self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        self.handshake(timeout)


class LivenessOverTls(ServerTestCase):
    """Heartbeats and the slow-consumer policy are the same over TLS."""

    def setUp(self):
        self.pki = Pki()
        self.addCleanup(self.pki.cleanup)
        self.ctx = self.pki.client_context()

    def disconnects(self, server):
        return stats(server.port, self.ctx)["disconnects"]

    def test_a_client_ignoring_pings_gets_close_1001(self):
        # The close frame goes through the asynchronous TLS write like any
        # other, and the socket closes once it is out: long before the close
        # timeout, without an answer from the client.
        server = self.start_server(f"--tls-cert={self.pki.cert}", f"--tls-key={self.pki.key}",
                                   "--ping-interval=300ms", "--pong-timeout=300ms",
                                   "--close-timeout=10s")
        ws = TlsRawWS(server.port, self.ctx)
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        pings = 0
        while True:
            f = ws.recv_frame(timeout=0.6 + 3 * SLACK)
            if f.opcode != OP_PING:
                break
            pings += 1  # never answered
        self.assertGreaterEqual(pings, 1)
        self.assertEqual((f.opcode, f.close_code, f.close_reason),
                         (OP_CLOSE, 1001, "heartbeat timeout"))
        self.assertTrue(ws.wait_eof(timeout=2 * SLACK), "TCP still open after the close frame")
        wait_until(lambda: self.disconnects(server)["heartbeat_timeout"] == 1, 5,
                   message="disconnects.heartbeat_timeout == 1")

    def metrics(self, server):
        status, body = https(server.port, self.ctx, "GET", "/metrics")
        self.assertEqual(status, 200, body)
        return body.decode()

    def stalled_pair(self, server):
        """A subscriber that will stop reading (stalled_reader.py), and a publisher."""
        slow = TlsRawWS(server.port, self.ctx, rcvbuf=4096)
        self.addCleanup(slow.close)
        self.assertEqual(slow.recv_json()["type"], "welcome")
        stalled_reader.subscribe(slow)
        pub = TlsRawWS(server.port, self.ctx)
        self.addCleanup(pub.close)
        self.assertEqual(pub.recv_json()["type"], "welcome")
        return slow, pub

    def test_a_missed_heartbeat_behind_a_full_queue_still_gets_close_1001(self):
        close_timeout = 10.0
        server = self.start_server(f"--tls-cert={self.pki.cert}", f"--tls-key={self.pki.key}",
                                   *stalled_reader.FLAGS, "--ping-interval=500ms",
                                   f"--pong-timeout={int(4000 * SLACK)}ms",
                                   f"--close-timeout={int(close_timeout * 1000)}ms")
        slow, pub = self.stalled_pair(server)
        stalled_reader.heartbeat_behind_queue(self, slow, pub,
                                              lambda: stats(server.port, self.ctx),
                                              lambda: self.metrics(server), close_timeout)

    def test_a_stalled_reader_with_fast_pings_gets_every_frame_intact(self):
        server = self.start_server(f"--tls-cert={self.pki.cert}", f"--tls-key={self.pki.key}",
                                   *stalled_reader.FLAGS, "--ping-interval=10ms",
                                   "--pong-timeout=60s")
        slow, pub = self.stalled_pair(server)
        pings = stalled_reader.stall_with_pings(self, slow, pub, lambda: self.metrics(server))
        self.assertGreater(pings, 0)
        d = self.disconnects(server)
        for reason in ("protocol_error", "slow_consumer", "heartbeat_timeout"):
            self.assertEqual(d[reason], 0, d)

    def test_clients_that_vanish_leave_nothing_behind(self):
        server = self.start_server(f"--tls-cert={self.pki.cert}", f"--tls-key={self.pki.key}")
        clients = [TlsRawWS(server.port, self.ctx) for _ in range(5)]
        for c in clients:
            self.assertEqual(c.recv_json()["type"], "welcome")
        wait_until(lambda: stats(server.port, self.ctx)["connections"] == 5, 5,
                   message="5 connections")
        for n, c in enumerate(clients):
            if n % 2:
                # A reset, no close_notify, no close frame.
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.sock.close()
        wait_until(lambda: stats(server.port, self.ctx)["connections"] == 0, 5 * SLACK,
                   message="no connections left")

    def test_a_client_that_does_not_read_is_cut_off(self):
        server = self.start_server(f"--tls-cert={self.pki.cert}", f"--tls-key={self.pki.key}",
                                   "--send-queue=16", "--send-buffer=65536",
                                   "--max-message-size=16384", "--client-rate=0")
        slow = TlsRawWS(server.port, self.ctx, rcvbuf=4096)
        self.addCleanup(slow.close)
        self.assertEqual(slow.recv_json()["type"], "welcome")
        slow.send_text(json.dumps({"type": "subscribe", "topic": "flood"}).encode())
        self.assertEqual(slow.recv_json()["type"], "subscribed")

        async def go():
            pub, _ = await ws_connect(server.url, ssl=self.ctx)
            try:
                payload = "p" * 4000
                for n in range(4000):  # 16 MB at most, far beyond any buffering
                    await send_json(pub, {"type": "publish", "topic": "flood", "data": payload})
                    if n % 100 == 99:
                        d = await asyncio.to_thread(self.disconnects, server)
                        if d["slow_consumer"] >= 1:
                            return n
                return None
            finally:
                await pub.close()
        sent = run_async(go(), 40)
        self.assertIsNotNone(sent, "no slow_consumer disconnect for a client that never reads")


class Options(unittest.TestCase):
    def run_node(self, *args):
        return subprocess.run([server_binary(), "--port=0", *args], capture_output=True,
                              timeout=10, stdin=subprocess.DEVNULL)

    def test_a_certificate_without_a_key_exits_2(self):
        pki = Pki()
        self.addCleanup(pki.cleanup)
        p = self.run_node(f"--tls-cert={pki.cert}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"tls-cert and tls-key go together", p.stderr)
        p = self.run_node(f"--tls-key={pki.key}")
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_an_unreadable_file_exits_2(self):
        pki = Pki()
        self.addCleanup(pki.cleanup)
        missing = os.path.join(pki.dir, "missing.pem")
        p = self.run_node(f"--tls-cert={missing}", f"--tls-key={pki.key}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"tls-cert: cannot read {missing}".encode(), p.stderr)
        p = self.run_node(f"--tls-cert={pki.cert}", f"--tls-key={pki.key}",
                          f"--tls-ca={missing}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"tls-ca: cannot read", p.stderr)


if __name__ == "__main__":
    unittest.main()
