"""The TLS policy of the node's port (docs/security.md, TLS): TLS 1.2 with
ECDHE and AEAD ciphers only, and TLS 1.3; --tls-min-version and --tls-ciphers.

Clients are the standard ssl module with explicit versions and ciphers. A
refusal counts only when the node says it refused (its
switchboard_tls_handshake_failures_total moved under the expected reason), so
a client that could not even offer what it was told to cannot pass a test."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import unittest
import warnings

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client.parser import text_string_to_metric_families

from harness import SLACK, ServerTestCase, server_binary, wait_until
from test_tls import _cert, _key, _pem_key, _write, https


class Certs:
    """A CA and, signed by it, two server certificates for 127.0.0.1 (RSA,
    the key type with static-RSA suites, and ECDSA) and a client
    certificate, as (certificate, key) PEM files."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="switchboard-tls-policy-")
        self.ca_key = _key()
        ca = _cert("policy test CA", self.ca_key, "policy test CA", self.ca_key, 1, ca=True)
        self.ca = _write(os.path.join(self.dir, "ca.pem"),
                         ca.public_bytes(serialization.Encoding.PEM))
        self.rsa = self.issue("rsa", rsa.generate_private_key(65537, 2048), 11, server=True)
        self.ecdsa = self.issue("ecdsa", _key(), 12, server=True)
        self.client_cert = self.issue("client", _key(), 13, client=True)

    def issue(self, name, key, serial, **kind):
        cert = _cert(f"{name} {serial}", key, "policy test CA", self.ca_key, serial, **kind)
        return (_write(os.path.join(self.dir, f"{name}.pem"),
                       cert.public_bytes(serialization.Encoding.PEM)),
                _write(os.path.join(self.dir, f"{name}.key"), _pem_key(key)))

    def flags(self, which):
        cert, key = getattr(self, which)
        return [f"--tls-cert={cert}", f"--tls-key={key}"]

    def client(self, version=None, ciphers=None):
        """A client context trusting the CA, limited to `version` (one
        ssl.TLSVersion) and, for TLS 1.2 and below, to `ciphers`."""
        ctx = ssl.create_default_context(cafile=self.ca)
        if version is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = version
                ctx.maximum_version = version
        if ciphers is not None or version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            # Security level 0: this OpenSSL offers TLS 1.0/1.1 and SHA-1
            # suites only there.
            ctx.set_ciphers((ciphers or "DEFAULT") + ":@SECLEVEL=0")
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def handshake(port, ctx):
    """(protocol version, cipher) of a completed handshake, or the ssl.SSLError
    or OSError that ended it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLACK) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version(), tls.cipher()[0]
    except (ssl.SSLError, OSError) as e:
        return e


def tls_failures(port, ctx):
    """{reason: n} of switchboard_tls_handshake_failures_total."""
    status, body = https(port, ctx, "GET", "/metrics")
    if status != 200:
        raise AssertionError(f"/metrics answered {status}: {body!r}")
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "switchboard_tls_handshake_failures":
            return {s.labels["reason"]: s.value for s in family.samples
                    if s.name.endswith("_total")}
    raise AssertionError("no switchboard_tls_handshake_failures_total in /metrics")


class PolicyCase(ServerTestCase):
    certs = None

    @classmethod
    def setUpClass(cls):
        cls.certs = Certs()

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()

    def assert_works(self, server, ctx, version, cipher=None):
        got = handshake(server.port, ctx)
        self.assertIsInstance(got, tuple, f"refused: {got!r}")
        self.assertEqual(got[0], version)
        if cipher:
            self.assertEqual(got[1], cipher)

    def assert_refused(self, server, ctx, reason):
        """The handshake fails, and the node counts it under `reason`."""
        good = self.certs.client()
        before = tls_failures(server.port, good)
        got = handshake(server.port, ctx)
        self.assertIsInstance(got, Exception, f"the node accepted {got!r}")
        wait_until(lambda: tls_failures(server.port, good)[reason] == before[reason] + 1,
                   5 * SLACK, message=f"one more handshake failure '{reason}' "
                                      f"(client saw {got!r})")


class DefaultPolicy(PolicyCase):
    """An RSA certificate under the default policy."""

    def setUp(self):
        self.server = self.start_server(*self.certs.flags("rsa"))

    def test_tls_1_0_and_1_1_are_refused(self):
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with self.subTest(version=version):
                self.assert_refused(self.server, self.certs.client(version), "protocol_version")

    def test_static_rsa_key_exchange_is_refused(self):
        # No forward secrecy: the session key travels under the certificate's key.
        for cipher in ("AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA"):
            with self.subTest(cipher=cipher):
                ctx = self.certs.client(ssl.TLSVersion.TLSv1_2, cipher)
                self.assert_refused(self.server, ctx, "no_shared_cipher")

    def test_cbc_suites_are_refused(self):
        for cipher in ("ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
                       "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384"):
            with self.subTest(cipher=cipher):
                ctx = self.certs.client(ssl.TLSVersion.TLSv1_2, cipher)
                self.assert_refused(self.server, ctx, "no_shared_cipher")

    def test_dhe_is_not_offered(self):
        ctx = self.certs.client(ssl.TLSVersion.TLSv1_2, "DHE-RSA-AES128-GCM-SHA256")
        self.assert_refused(self.server, ctx, "no_shared_cipher")

    def test_ecdhe_with_aead_works_over_tls_1_2(self):
        for cipher in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                       "ECDHE-RSA-CHACHA20-POLY1305"):
            with self.subTest(cipher=cipher):
                self.assert_works(self.server, self.certs.client(ssl.TLSVersion.TLSv1_2, cipher),
                                  "TLSv1.2", cipher)

    def test_tls_1_3_works_and_is_preferred(self):
        self.assert_works(self.server, self.certs.client(ssl.TLSVersion.TLSv1_3), "TLSv1.3")
        self.assert_works(self.server, self.certs.client(), "TLSv1.3")


class EcdsaCertificate(PolicyCase):
    def test_ecdhe_ecdsa_with_aead_works(self):
        server = self.start_server(*self.certs.flags("ecdsa"))
        for cipher in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                       "ECDHE-ECDSA-CHACHA20-POLY1305"):
            with self.subTest(cipher=cipher):
                self.assert_works(server, self.certs.client(ssl.TLSVersion.TLSv1_2, cipher),
                                  "TLSv1.2", cipher)
        ctx = self.certs.client(ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-SHA")
        self.assert_refused(server, ctx, "no_shared_cipher")


class Options(PolicyCase):
    def test_min_version_1_3_refuses_1_2_also_after_a_reload(self):
        server = self.start_server(*self.certs.flags("rsa"), "--tls-min-version=1.3")
        tls12 = self.certs.client(ssl.TLSVersion.TLSv1_2)
        self.assert_refused(server, tls12, "protocol_version")
        self.assert_works(server, self.certs.client(), "TLSv1.3")
        # A reload reads the files again under the same policy.
        server.signal(signal.SIGHUP)
        wait_until(lambda: "TLS certificate, key and CA reloaded" in server.stderr(),
                   5 * SLACK, message="the reload in the node's log")
        self.assert_refused(server, tls12, "protocol_version")

    def test_tls_ciphers_replaces_the_list(self):
        server = self.start_server(*self.certs.flags("rsa"),
                                   "--tls-ciphers=ECDHE-RSA-AES256-GCM-SHA384")
        self.assert_works(server, self.certs.client(ssl.TLSVersion.TLSv1_2),
                          "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
        ctx = self.certs.client(ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256")
        self.assert_refused(server, ctx, "no_shared_cipher")

    def run_node(self, *args):
        return subprocess.run([server_binary(), "--port=0", *self.certs.flags("rsa"), *args],
                              capture_output=True, timeout=10, stdin=subprocess.DEVNULL)

    def test_a_bad_version_or_a_list_without_a_cipher_exits_2(self):
        for args, says in ((["--tls-min-version=1.1"], b"tls-min-version must be 1.2 or 1.3"),
                           (["--tls-min-version=tls1.3"], b"tls-min-version must be 1.2 or 1.3"),
                           (["--tls-ciphers=NO-SUCH-CIPHER"], b"tls-ciphers 'NO-SUCH-CIPHER'"),
                           (["--tls-ciphers=PSK"], b"tls-ciphers 'PSK' selects no TLS 1.2")):
            with self.subTest(args=args):
                p = self.run_node(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(says, p.stderr)


if __name__ == "__main__":
    unittest.main()
