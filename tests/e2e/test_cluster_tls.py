"""The cluster port over mutual TLS (CAF's OpenSSL module; docs/cluster.md,
"Cluster TLS"): three CLI nodes with certificates from a private CA made at
run time (python3-cryptography) form the mesh and forward publishes; a node
whose certificate is from another CA, a node without cluster TLS, and a raw
TCP client never get in, and the TLS nodes' logs say why.

Every node gets the same seed list, the outsiders' addresses included (as an
operator's common list would), so the TLS nodes dial the outsiders too and
the outsiders dial them: both directions are refused. Nothing sleeps for a
fixed time: each wait is bounded and ends with the state it waits for.
"""

import asyncio
import datetime
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness import (SLACK, Server, expect_nothing, run_async, send_json, server_binary,
                     subscribe, tcp_closed_within, wait_until, ws_connect)
from test_cluster import (CONNECTION_TIMEOUT, HEARTBEAT, KEY, api_publish, cluster_stats,
                          free_ports, peers_up, recv_message, until_reached)


# -- certificates -----------------------------------------------------------------


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        # A node is the TLS server on connections it accepts and the client
        # on those it dials: OpenSSL checks the purpose on both.
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


class Ca:
    """A private CA in `directory`, and node certificates it issues."""

    def __init__(self, directory, name):
        self.dir, self.name = directory, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(name, self.key, name, self.key, ca=True)
        self.file = self._write(f"{name}-ca.pem", cert.public_bytes(serialization.Encoding.PEM))

    def _write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def issue(self, node):
        """(certificate file, key file) of a new node certificate."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(node, key, self.name, self.key)
        return (self._write(f"{self.name}-{node}.pem",
                            cert.public_bytes(serialization.Encoding.PEM)),
                self._write(f"{self.name}-{node}.key", key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption())))

    def flags(self, node):
        cert, key = self.issue(node)
        return (f"--cluster-tls-cert={cert}", f"--cluster-tls-key={key}",
                f"--cluster-tls-ca={self.file}")


# -- nodes ------------------------------------------------------------------------


def log_of(node):
    """Everything the node wrote to stderr (Server.stderr() keeps the tail)."""
    node._stderr.seek(0)
    return node._stderr.read().decode(errors="replace")



TLS_NODES = 3
FOREIGN, PLAIN = 3, 4  # a node with another CA's certificate; one without cluster TLS


class Pki(unittest.TestCase):
    """Two CAs for the whole module: ours, and another cluster's."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="switchboard-cluster-tls-")
        cls.ours = Ca(cls.dir, "ours")
        cls.theirs = Ca(cls.dir, "theirs")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)


class Mesh(Pki):
    def setUp(self):
        self.ports = free_ports(5)
        self.addresses = [f"127.0.0.1:{p}" for p in self.ports]
        self.nodes = []
        self.addCleanup(self.close)

    def close(self):
        for node in self.nodes:
            node.close()

    def start(self, i, tls_flags):
        node = Server("--host=127.0.0.1", f"--api-key={KEY}", "--client-rate=0",
                      f"--cluster-port={self.ports[i]}", "--cluster-host=127.0.0.1",
                      f"--cluster-seeds={','.join(self.addresses)}",
                      f"--cluster-heartbeat-interval={HEARTBEAT}",
                      f"--cluster-connection-timeout={int(CONNECTION_TIMEOUT * 1000)}ms",
                      *tls_flags)
        self.nodes.append(node)
        return node

    def test_tls_nodes_form_the_mesh_and_outsiders_never_join(self):
        tls = [self.start(i, self.ours.flags(f"node{i}")) for i in range(TLS_NODES)]
        foreign = self.start(FOREIGN, self.theirs.flags("stranger"))
        plain = self.start(PLAIN, ())
        members = set(self.addresses[:TLS_NODES])
        for i, node in enumerate(tls):
            wait_until(lambda node=node, i=i: peers_up(node) == members - {self.addresses[i]},
                       10 * SLACK, interval=0.05, message=f"TLS mesh seen from node {i}")
            self.assertIn("cluster: mutual TLS on the cluster port", log_of(node))
        # (Two nodes that dial each other at once may drop the duplicate
        # connection at the start, as on a plain cluster: counted from here.)
        downs = [log_of(node).count("cluster: peer down") for node in tls]

        async def go():
            subs = [(await ws_connect(node))[0] for node in tls[1:]]
            outsiders = [(await ws_connect(node))[0] for node in (foreign, plain)]
            for ws in subs + outsiders:
                await subscribe(ws, "news")
            for ws in subs:
                await until_reached(tls[0], ws, "news", 10)
            # A client's publish on node 0 reaches the subscribers on 1 and 2.
            pub, _ = await ws_connect(tls[0])
            await send_json(pub, {"type": "publish", "topic": "news", "data": "over tls"})
            for ws in subs:
                self.assertEqual((await recv_message(ws, "news"))["data"], "over tls")
            # The outsiders' publishes reach nobody on the TLS nodes, and theirs
            # nothing from the mesh (only what was published on their own node).
            for node in (foreign, plain):
                await asyncio.to_thread(api_publish, node, "news", "outsider")
            for ws in outsiders:
                self.assertEqual((await recv_message(ws, "news"))["data"], "outsider")
                await expect_nothing(ws, 0.3)
            for ws in subs:
                await expect_nothing(ws, 0.5)
            for ws in subs + outsiders + [pub]:
                await ws.close()

        run_async(go(), 60)
        # Each TLS node dialed both outsiders and says why they are not members,
        # saw their handshakes fail, and kept its links to the other two all
        # along (a failed handshake does not take healthy links down with it);
        # neither outsider has a member.
        for node, before in zip(tls, downs):
            self.assertEqual(log_of(node).count("cluster: peer down"), before, log_of(node))
            # (The outsiders dial it at their start; a line for each
            # direction can go out every second.)
            wait_until(lambda node=node: re.search(
                r"cluster: TLS (accept|handshake or connection) failed peer=\S+ reason=\S+",
                log_of(node)), 5 * SLACK, message="a stranger's failed handshake in the log")
            for outsider in (FOREIGN, PLAIN):
                wait_until(lambda node=node, outsider=outsider:
                           f"cluster: cannot join address={self.addresses[outsider]} reason="
                           in log_of(node), 5 * SLACK, message="the refusal in the log")
            self.assertEqual(peers_up(node), members - {self.addresses[tls.index(node)]})
            states = {p["address"]: p["state"] for p in cluster_stats(node)["cluster"]["peers"]}
            self.assertEqual(states[self.addresses[FOREIGN]], "dialing")
            self.assertEqual(states[self.addresses[PLAIN]], "dialing")
        self.assertEqual(peers_up(foreign), set())
        self.assertEqual(peers_up(plain), set())

    def test_a_client_without_tls_is_closed_and_logged(self):
        node = self.start(0, self.ours.flags("node0"))
        wait_until(lambda: "cluster: node address=" in log_of(node), 10 * SLACK,
                   message="the cluster actor started")
        with socket.create_connection(("127.0.0.1", self.ports[0]), timeout=5) as garbage:
            garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 4)
            self.assertIsNotNone(tcp_closed_within(garbage, 5 * SLACK))
        said = re.compile(r"cluster: TLS (accept|handshake or connection) failed peer=\S+ "
                          r"reason=.*http request")
        wait_until(lambda: said.search(log_of(node)) is not None,
                   5 * SLACK, message="the failed handshake in the log")
        self.assertTrue(node.alive())


    def test_a_broken_certificate_file_refuses_connections_and_renewed_files_are_used(self):
        # CAF reads the files for every connection: a broken file (a renewal
        # half written) refuses connections instead of ending the process
        # (CAF raises an exception on its multiplexer thread), and the
        # renewed files are used by the next connection, without a restart.
        cert, key = self.ours.issue("node0")
        live_cert = os.path.join(self.dir, f"live-{self.ports[0]}.pem")
        shutil.copyfile(cert, live_cert)
        a = self.start(0, (f"--cluster-tls-cert={live_cert}", f"--cluster-tls-key={key}",
                           f"--cluster-tls-ca={self.ours.file}"))
        wait_until(lambda: "cluster: node address=" in log_of(a), 10 * SLACK,
                   message="node 0 started")
        with open(live_cert, "wb") as f:
            f.write(b"-----BEGIN CERTIFICATE-----\nbroken\n")
        b = self.start(1, self.ours.flags("node1"))
        wait_until(lambda: "cluster: no TLS session for a connection" in log_of(a), 10 * SLACK,
                   message="the refused connection in node 0's log")
        self.assertTrue(a.alive())
        self.assertEqual(peers_up(a), set())
        # Renewed as the docs say: written next to it, then renamed over it.
        shutil.copyfile(cert, live_cert + ".new")
        os.replace(live_cert + ".new", live_cert)
        wait_until(lambda: peers_up(a) == {self.addresses[1]} and peers_up(b) == {self.addresses[0]},
                   10 * SLACK, interval=0.05, message="the mesh with the renewed file")


class Options(Pki):
    def run_node(self, *flags, timeout=15):
        port = free_ports(1)[0]
        return subprocess.run([server_binary(), "--host=127.0.0.1", "--port=0",
                               f"--cluster-port={port}", *flags],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout * SLACK)

    def test_the_three_files_go_together(self):
        cert, key = self.ours.issue("lonely")
        for flags in ([f"--cluster-tls-cert={cert}"],
                      [f"--cluster-tls-cert={cert}", f"--cluster-tls-key={key}"],
                      [f"--cluster-tls-ca={self.ours.file}"]):
            p = self.run_node(*flags)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("cluster-tls-cert, cluster-tls-key and cluster-tls-ca go together",
                          p.stderr)

    def test_files_are_checked_at_start(self):
        cert, key = self.ours.issue("checked")
        missing = os.path.join(self.dir, "missing.pem")
        p = self.run_node(f"--cluster-tls-cert={missing}", f"--cluster-tls-key={key}",
                          f"--cluster-tls-ca={self.ours.file}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"cluster-tls-cert: cannot read {missing}", p.stderr)
        # Readable, but not what it should be: the node says which and does not start.
        other_cert, _ = self.ours.issue("other")
        for flags, said in (
                ((f"--cluster-tls-cert={key}", f"--cluster-tls-key={key}"),
                 "cluster-tls-cert: no PEM certificate chain"),
                ((f"--cluster-tls-cert={other_cert}", f"--cluster-tls-key={key}"),
                 "key values mismatch"),
                ((f"--cluster-tls-cert={cert}", f"--cluster-tls-key={cert}"),
                 f"cluster-tls-key: cannot use {cert} as the PEM private key")):
            p = self.run_node(*flags, f"--cluster-tls-ca={self.ours.file}")
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(said, p.stderr)
        p = self.run_node(f"--cluster-tls-cert={cert}", f"--cluster-tls-key={key}",
                          f"--cluster-tls-ca={key}")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cluster-tls-ca: no PEM CA certificate", p.stderr)


if __name__ == "__main__":
    unittest.main()
