"""switchboard --check-config: every check a start makes (options, TLS
certificate and key and that they match, cluster TLS files, JWT keys, API
keys file, origins file, namespaces), made without binding anything or
starting actors; each problem on its own line on stderr, "configuration OK"
on stdout; exit 0 or 2 (docs/operations.md, "Checking a configuration")."""

import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import SLACK, server_binary
from test_tls import Pki


def check(*flags):
    return subprocess.run([server_binary(), "--check-config", *flags], capture_output=True,
                          timeout=10 * SLACK, stdin=subprocess.DEVNULL)


class CheckConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.tmp = tempfile.mkdtemp(prefix="switchboard-check-")

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_refused(self, flags, *expected):
        p = check(*flags)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 2, f"{flags}: {err}")
        self.assertEqual(p.stdout, b"")
        for e in expected:
            self.assertIn(e, err, flags)
        return err

    def test_a_good_configuration_is_ok_and_binds_nothing(self):
        # The port is taken: a start would fail, a check does not try.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            cert, key = self.pki.servers[1001]
            keys = self.file("good-keys", "deploy key-for-deploy-0123456789\n")
            origins = self.file("good-origins", "https://example.com\n")
            conf = self.file("good.conf", f"port={port}\n[namespaces]\nchat={{history-size=10}}\n")
            p = check(f"--config-file={conf}", f"--tls-cert={cert}", f"--tls-key={key}",
                      f"--tls-ca={self.pki.ca}", f"--api-keys-file={keys}",
                      f"--allowed-origins-file={origins}", "--auth=jwt",
                      "--jwt-secret=" + "s" * 32, "--drain-period=2s", "--reuse-port")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"configuration OK\n")
        self.assertEqual(p.stderr, b"")

    def test_tls_files(self):
        cert1, key1 = self.pki.servers[1001]
        _, key2 = self.pki.servers[2002]
        junk = self.file("junk.pem", "not a certificate\n")
        self.assert_refused([f"--tls-cert={cert1}", f"--tls-key={key2}"], "tls-key")
        self.assert_refused([f"--tls-cert={junk}", f"--tls-key={key1}"], "tls-cert")
        self.assert_refused([f"--tls-cert={cert1}", f"--tls-key={key1}", f"--tls-ca={junk}"],
                            "tls-ca")
        self.assert_refused([f"--tls-cert={cert1}", "--tls-key=/nonexistent/key.pem"],
                            "tls-key: cannot read /nonexistent/key.pem")
        self.assert_refused([f"--tls-cert={cert1}"], "tls-cert and tls-key go together")

    def test_cluster_tls_files(self):
        cert1, key1 = self.pki.servers[1001]
        _, key2 = self.pki.servers[2002]
        junk = self.file("junk-ca.pem", "not a CA\n")
        base = ["--cluster-port=1"]
        self.assert_refused(base + [f"--cluster-tls-cert={cert1}", f"--cluster-tls-key={key2}",
                                    f"--cluster-tls-ca={self.pki.ca}"], "cluster-tls-key")
        self.assert_refused(base + [f"--cluster-tls-cert={cert1}", f"--cluster-tls-key={key1}",
                                    f"--cluster-tls-ca={junk}"], "cluster-tls-ca")
        p = check(*base, f"--cluster-tls-cert={cert1}", f"--cluster-tls-key={key1}",
                  f"--cluster-tls-ca={self.pki.ca}")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_jwt_keys(self):
        junk = self.file("junk-key.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        jwks = self.file("jwks.json", '{"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB"}]}')
        self.assert_refused(["--auth=jwt", f"--jwt-public-key={junk}"], "jwt-public-key")
        self.assert_refused(["--auth=jwt", f"--jwt-keys={jwks}"], "jwks: key 'x': no \"e\"")
        self.assert_refused(["--auth=jwt", "--jwt-secret=short"], "32 bytes")

    def test_api_keys_origins_and_namespaces_files(self):
        keys = self.file("bad-keys", "onlyaname\n")
        origins = self.file("bad-origins", "example.com\n")
        conf = self.file("bad.conf", "[namespaces]\nchat={history-size=-1}\n")
        self.assert_refused([f"--api-keys-file={keys}"], "api-keys-file")
        self.assert_refused([f"--allowed-origins-file={origins}"], "'example.com'")
        self.assert_refused([f"--config-file={conf}"], "namespace chat: history-size")

    def test_every_problem_on_its_own_line(self):
        err = self.assert_refused(["--drain-period=-1s", "--ping-interval=0s",
                                   "--tls-cert=/nonexistent/c.pem", "--tls-key=/nonexistent/k.pem"],
                                  "drain-period must not be negative")
        lines = err.strip().split("\n")
        self.assertEqual(len(lines), 4, err)
        self.assertTrue(any(l.startswith("ping-interval") for l in lines), err)


if __name__ == "__main__":
    unittest.main()
