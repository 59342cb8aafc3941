"""A TLS node's own numbers in /metrics (parsed by prometheus_client's text
parser) and /stats: handshakes, their failures by reason, the certificate's
expiry and the last load of the TLS files (docs/operations.md)."""

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from harness import SLACK, Server, ServerTestCase, tcp_closed_within, wait_until
from metrics_text import parse_metrics
from test_tls import _key, _name, _pem_key, _write, https
from test_tls_policy import Certs, handshake

REASONS = ("protocol_version", "no_shared_cipher", "certificate", "not_tls", "timeout",
           "closed", "other")


def scrape(port, ctx):
    """({(sample name, frozenset(labels)): value}, families by name)."""
    status, body = https(port, ctx, "GET", "/metrics")
    if status != 200:
        raise AssertionError(f"/metrics answered {status}: {body!r}")
    return parse_metrics(body)


def failures(port, ctx):
    samples, _ = scrape(port, ctx)
    return {r: samples[("switchboard_tls_handshake_failures_total",
                        frozenset({("reason", r)}))] for r in REASONS}


def gauge(port, ctx, name):
    samples, _ = scrape(port, ctx)
    return samples[(name, frozenset())]


def not_after(cert_file):
    with open(cert_file, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()


class TlsMetrics(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certs()
        # Short enough for the timeout case, long enough for every scrape.
        cls.server = Server(*cls.certs.flags("ecdsa"),
                            f"--handshake-timeout={int(1000 * SLACK)}ms")
        cls.ctx = cls.certs.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        cls.certs.cleanup()

    def test_families_and_the_certificate_in_use(self):
        samples, families = scrape(self.server.port, self.ctx)
        for name, kind in (("switchboard_tls_handshakes", "counter"),
                           ("switchboard_tls_handshake_failures", "counter"),
                           ("switchboard_tls_certificate_expiry_timestamp_seconds", "gauge"),
                           ("switchboard_tls_last_reload_successful", "gauge"),
                           ("switchboard_tls_last_reload_timestamp_seconds", "gauge")):
            with self.subTest(family=name):
                self.assertEqual(families[name].type, kind)
                self.assertTrue(families[name].documentation)
        self.assertEqual(set(failures(self.server.port, self.ctx)), set(REASONS))
        self.assertEqual(
            samples[("switchboard_tls_certificate_expiry_timestamp_seconds", frozenset())],
            not_after(self.certs.ecdsa[0]))
        self.assertEqual(samples[("switchboard_tls_last_reload_successful", frozenset())], 1)
        loaded = samples[("switchboard_tls_last_reload_timestamp_seconds", frozenset())]
        self.assertLessEqual(abs(time.time() - loaded), 120)

    def test_a_completed_handshake_is_counted(self):
        before = gauge(self.server.port, self.ctx, "switchboard_tls_handshakes_total")
        self.assertIsInstance(handshake(self.server.port, self.ctx), tuple)
        # The scrape's own connection is one more.
        wait_until(lambda: gauge(self.server.port, self.ctx,
                                 "switchboard_tls_handshakes_total") >= before + 2,
                   5 * SLACK, message="two more handshakes")

    def expect_failure(self, reason, act):
        before = failures(self.server.port, self.ctx)
        act()
        wait_until(lambda: failures(self.server.port, self.ctx)[reason] == before[reason] + 1,
                   5 * SLACK, message=f"one more handshake failure '{reason}'")

    def test_plain_http_on_the_tls_port_is_not_tls(self):
        def act():
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                tcp_closed_within(s, 5 * SLACK)
        self.expect_failure("not_tls", act)

    def test_a_client_that_leaves_is_closed(self):
        def act():
            socket.create_connection(("127.0.0.1", self.server.port), timeout=5).close()
        self.expect_failure("closed", act)

    def test_a_silent_client_is_a_timeout(self):
        def act():
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
                self.assertIsNotNone(tcp_closed_within(s, 4 * SLACK))
        self.expect_failure("timeout", act)

    def test_stats_has_the_same_numbers(self):
        status, body = https(self.server.port, self.ctx, "GET", "/stats")
        self.assertEqual(status, 200)
        tls = json.loads(body)["tls"]
        self.assertEqual(set(tls["handshake_failures"]), set(REASONS))
        self.assertGreaterEqual(tls["handshakes"], 1)
        self.assertEqual(tls["certificate_expiry"], not_after(self.certs.ecdsa[0]))
        self.assertIs(tls["last_reload"]["successful"], True)


class CertificateRefused(ServerTestCase):
    def test_a_client_without_a_certificate_under_tls_ca(self):
        certs = Certs()
        self.addCleanup(certs.cleanup)
        server = self.start_server(*certs.flags("rsa"), f"--tls-ca={certs.ca}")
        # The scrapes show a client certificate; the client that is refused
        # does not.
        scraper = certs.client()
        scraper.load_cert_chain(*certs.client_cert)
        before = failures(server.port, scraper)
        # In TLS 1.3 the client may finish its side before the node refuses:
        # the node's count is what tells.
        handshake(server.port, certs.client())
        wait_until(lambda: failures(server.port, scraper)["certificate"]
                   == before["certificate"] + 1,
                   5 * SLACK, message="one more handshake failure 'certificate'")


def server_cert_for_days(certs, cert_file, key_file, days):
    """A server certificate for 127.0.0.1 from the test CA that expires in
    `days` days, written over `cert_file` and `key_file`."""
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name("reloaded"))
            .issuer_name(_name("policy test CA")).public_key(key.public_key())
            .serial_number(77).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(certs.ca_key, hashes.SHA256()))
    _write(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    _write(key_file, _pem_key(key))


class Reload(ServerTestCase):
    def setUp(self):
        self.certs = Certs()
        self.addCleanup(self.certs.cleanup)
        self.cert = os.path.join(self.certs.dir, "live.pem")
        self.key = os.path.join(self.certs.dir, "live.key")
        shutil.copyfile(self.certs.rsa[0], self.cert)
        shutil.copyfile(self.certs.rsa[1], self.key)
        self.server = self.start_server(f"--tls-cert={self.cert}", f"--tls-key={self.key}")
        self.ctx = self.certs.client()

    def gauge(self, name):
        return gauge(self.server.port, self.ctx, "switchboard_tls_" + name)

    def reload(self, expect):
        before = self.server.stderr().count(expect)
        self.server.signal(signal.SIGHUP)
        wait_until(lambda: self.server.stderr().count(expect) > before, 5 * SLACK,
                   message=f"{expect!r} in the node's log")

    def test_a_reload_and_a_failed_one(self):
        self.assertEqual(self.gauge("certificate_expiry_timestamp_seconds"),
                         not_after(self.certs.rsa[0]))
        server_cert_for_days(self.certs, self.cert, self.key, 30)
        expiry = not_after(self.cert)
        started = int(time.time())
        self.reload("TLS certificate, key and CA reloaded")
        self.assertEqual(self.gauge("last_reload_successful"), 1)
        self.assertEqual(self.gauge("certificate_expiry_timestamp_seconds"), expiry)
        self.assertGreaterEqual(self.gauge("last_reload_timestamp_seconds"), started)
        with open(self.key, "wb") as f:
            f.write(b"not a key\n")
        started = int(time.time())
        self.reload("TLS not reloaded")
        self.assertEqual(self.gauge("last_reload_successful"), 0)
        self.assertGreaterEqual(self.gauge("last_reload_timestamp_seconds"), started)
        # The certificate in use is still the one that loaded.
        self.assertEqual(self.gauge("certificate_expiry_timestamp_seconds"), expiry)
        status, body = https(self.server.port, self.ctx, "GET", "/stats")
        self.assertEqual(json.loads(body)["tls"]["last_reload"]["successful"], False)


class PlainNode(ServerTestCase):
    def test_no_tls_numbers_without_tls(self):
        server = self.start_server()
        status, _, body = server.http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertNotIn(b"switchboard_tls_", body)
        status, _, body = server.http("GET", "/stats")
        self.assertNotIn("tls", json.loads(body))
