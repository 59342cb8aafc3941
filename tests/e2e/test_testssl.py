"""Debian's testssl.sh against a TLS node (RSA certificate, default policy):
the scan docs/security.md records, focused on what the policy decides
(protocols, cipher categories, forward secrecy, the server's cipher order,
renegotiation, CRIME, SWEET32, LUCKY13, RC4), parsed from its --jsonfile.

Any finding at LOW or above fails, as does a TLS 1.2 cipher without ECDHE
or AEAD. Needs the testssl.sh package (tools/setup.sh --tests); without it
the test is skipped, except under CI, where that is a failure."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import SLACK, ServerTestCase
from test_tls_policy import Certs

TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")

# The checks, each a testssl option: protocols, standard cipher categories,
# forward secrecy, server preference (lists every TLS 1.2 cipher offered),
# renegotiation, CRIME, LUCKY13, SWEET32, RC4.
CHECKS = ["-p", "-s", "-f", "-P", "-R", "-C", "-L", "-W", "-4"]

# testssl's severities, lowest first; OK and INFO are not findings.
ABOVE_INFO = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


class Testssl(ServerTestCase):
    def setUp(self):
        if TESTSSL is None:
            if os.environ.get("CI"):
                self.fail("testssl is not installed (tools/setup.sh --tests installs it)")
            self.skipTest("testssl is not installed (Debian's testssl.sh)")
        self.certs = Certs()
        self.addCleanup(self.certs.cleanup)

    def scan(self, server):
        out = os.path.join(self.certs.dir, "testssl.json")
        p = subprocess.run([TESTSSL, "--quiet", "--color", "0", "--warnings", "batch",
                            "--nodns", "min", *CHECKS, "--jsonfile", out,
                            f"https://127.0.0.1:{server.port}"],
                           capture_output=True, timeout=90 * SLACK, stdin=subprocess.DEVNULL)
        self.assertTrue(os.path.exists(out), f"testssl wrote no JSON (rc={p.returncode}): "
                                             f"{p.stdout[-2000:]!r} {p.stderr[-2000:]!r}")
        with open(out) as f:
            return {finding["id"]: finding for finding in json.load(f)}

    def test_no_finding_above_info_and_forward_secrecy_only(self):
        server = self.start_server(*self.certs.flags("rsa"))
        findings = self.scan(server)
        bad = {k: (f["severity"], f["finding"]) for k, f in findings.items()
               if f["severity"] in ABOVE_INFO}
        self.assertEqual(bad, {})
        for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertEqual(findings[proto]["finding"], "not offered", proto)
        self.assertTrue(findings["TLS1_2"]["finding"].startswith("offered"))
        self.assertTrue(findings["TLS1_3"]["finding"].startswith("offered"))
        self.assertEqual(findings["PFS"]["severity"], "OK")
        tls12 = findings["cipherorder_TLSv1_2"]["finding"].split()
        self.assertTrue(tls12)
        for cipher in tls12:
            self.assertTrue(cipher.startswith("ECDHE-")
                            and ("-GCM-" in cipher or "CHACHA20-POLY1305" in cipher), cipher)


if __name__ == "__main__":
    unittest.main()
