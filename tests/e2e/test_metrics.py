"""GET /metrics of a real node, parsed by prometheus_client's own text parser
(Debian's python3-prometheus-client): the format is valid, and the numbers
move as traffic goes through (connections, messages, bytes, a disconnect
reason, the publish-to-write latency and the writer queue histograms); the
process_* families; a clustered node's peers, by address with the API key
and summed without."""

import os
import time
import unittest

from harness import OP_TEXT, SLACK, RawWS, Server, ServerTestCase, build_frame, wait_until
from metrics_text import parse_metrics


def scrape(server):
    """(content type, {(sample name, frozenset(labels)): value}, families by name)."""
    status, headers, body = server.http("GET", "/metrics")
    if status != 200:
        raise AssertionError(f"/metrics answered {status}: {body!r}")
    samples, families = parse_metrics(body)
    return headers.get("content-type", ""), samples, families


def value(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


class Metrics(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_content_type_and_families(self):
        content_type, samples, families = scrape(self.server)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        expected = {
            "switchboard_connections": "gauge",
            "switchboard_connects": "counter",
            "switchboard_disconnects": "counter",
            "switchboard_messages_in": "counter",
            "switchboard_messages_out": "counter",
            "switchboard_bytes_in": "counter",
            "switchboard_bytes_out": "counter",
            "switchboard_publish_latency_seconds": "histogram",
            "switchboard_writer_queue_frames": "histogram",
            "switchboard_hub_mailbox_messages": "gauge",
            "switchboard_rejections": "counter",
        }
        for name, kind in expected.items():
            with self.subTest(family=name):
                self.assertIn(name, families)
                self.assertEqual(families[name].type, kind)
                self.assertTrue(families[name].documentation)
        for reason in ("socket_closed", "slow_consumer", "heartbeat_timeout", "rate_limited",
                       "protocol_error", "shutdown"):
            self.assertIn(("switchboard_disconnects_total", frozenset({("reason", reason)})),
                          samples)
        for stage, reason in (("upgrade", "max_connections"), ("upgrade", "handshake_rate"),
                              ("command", "rate_limited"), ("command", "limit_exceeded")):
            self.assertIn(("switchboard_rejections_total",
                           frozenset({("stage", stage), ("reason", reason)})), samples)

    def test_histograms_are_cumulative_and_end_with_inf(self):
        _, _, families = scrape(self.server)
        for name in ("switchboard_publish_latency_seconds", "switchboard_writer_queue_frames"):
            with self.subTest(histogram=name):
                buckets = [(float(s.labels["le"]), s.value) for s in families[name].samples
                           if s.name == name + "_bucket"]
                self.assertGreater(len(buckets), 5)
                self.assertEqual(buckets[-1][0], float("inf"))
                self.assertEqual([b for b, _ in buckets], sorted(b for b, _ in buckets))
                counts = [c for _, c in buckets]
                self.assertEqual(counts, sorted(counts))  # cumulative
                count = [s.value for s in families[name].samples if s.name == name + "_count"]
                self.assertEqual(count, [counts[-1]])

    def test_values_move_with_traffic(self):
        _, before, _ = scrape(self.server)
        connections = value(before, "switchboard_connections")
        sub = RawWS(self.server.port)
        pub = RawWS(self.server.port)
        try:
            self.assertEqual(sub.recv_json()["type"], "welcome")
            self.assertEqual(pub.recv_json()["type"], "welcome")
            sub.send_json({"type": "subscribe", "topic": "metrics-news", "id": 1})
            self.assertEqual(sub.recv_json()["type"], "subscribed")
            for i in range(5):
                pub.send_json({"type": "publish", "topic": "metrics-news", "data": i})
            for i in range(5):
                msg = sub.recv_json()
                self.assertEqual((msg["type"], msg["data"]), ("message", i))

            _, during, _ = scrape(self.server)
            self.assertEqual(value(during, "switchboard_connections"), connections + 2)
            self.assertGreaterEqual(value(during, "switchboard_connects_total")
                                    - value(before, "switchboard_connects_total"), 2)
            # 1 subscribe + 5 publishes in; 2 welcomes, 1 subscribed and 5 messages out.
            self.assertGreaterEqual(value(during, "switchboard_messages_in_total")
                                    - value(before, "switchboard_messages_in_total"), 6)
            self.assertGreaterEqual(value(during, "switchboard_messages_out_total")
                                    - value(before, "switchboard_messages_out_total"), 8)
            self.assertGreater(value(during, "switchboard_bytes_in_total"),
                               value(before, "switchboard_bytes_in_total"))
            self.assertGreater(value(during, "switchboard_bytes_out_total"),
                               value(before, "switchboard_bytes_out_total"))
            # Every delivered publish was measured once (one receiver each).
            latency = "switchboard_publish_latency_seconds_count"
            self.assertGreaterEqual(value(during, latency) - value(before, latency), 5)
            self.assertGreater(value(during, "switchboard_publish_latency_seconds_sum"), 0)
            depth = "switchboard_writer_queue_frames_count"
            self.assertGreaterEqual(value(during, depth) - value(before, depth), 1)
        finally:
            sub.close()
            pub.close()

        # Both closed their sockets: two socket_closed disconnects.
        closed = ("switchboard_disconnects_total", frozenset({("reason", "socket_closed")}))

        def both_closed():
            now = scrape(self.server)[1]
            return now if now[closed] - before[closed] >= 2 else None

        after = wait_until(both_closed, 5.0 * SLACK, message="two more socket_closed disconnects")
        self.assertEqual(value(after, "switchboard_connections"), connections)

    def test_a_protocol_error_is_counted_under_its_reason(self):
        reason = ("switchboard_disconnects_total", frozenset({("reason", "protocol_error")}))
        _, before, _ = scrape(self.server)
        ws = RawWS(self.server.port)
        try:
            self.assertEqual(ws.recv_json()["type"], "welcome")
            ws.send_raw(build_frame(OP_TEXT, b"unmasked", mask=False))  # RFC 6455: 1002
            self.assertEqual(ws.recv_close().close_code, 1002)
        finally:
            ws.close()
        wait_until(lambda: scrape(self.server)[1][reason] == before[reason] + 1, 5.0 * SLACK,
                   message="one more protocol_error disconnect")

    def test_head_has_no_body_and_other_methods_get_405(self):
        status, headers, body = self.server.http("HEAD", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(headers["content-length"]), 100)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        status, headers, _ = self.server.http("POST", "/metrics", body=b"x")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "GET, HEAD")


class ProcessMetrics(ServerTestCase):
    def test_the_process_families_describe_the_node(self):
        server = self.start_server()
        _, samples, families = scrape(server)
        for name, kind in (("process_cpu_seconds", "counter"),
                           ("process_resident_memory_bytes", "gauge"),
                           ("process_virtual_memory_bytes", "gauge"),
                           ("process_open_fds", "gauge"), ("process_max_fds", "gauge"),
                           ("process_start_time_seconds", "gauge")):
            with self.subTest(family=name):
                self.assertEqual(families[name].type, kind)
        self.assertGreater(value(samples, "process_resident_memory_bytes"), 1 << 20)
        self.assertLessEqual(abs(value(samples, "process_start_time_seconds") - time.time()),
                             60)
        self.assertEqual(value(samples, "process_max_fds"),
                         os.sysconf("SC_OPEN_MAX"))  # the node inherits the test's limit
        before = value(samples, "process_open_fds")
        clients = [RawWS(server.port) for _ in range(5)]
        try:
            for c in clients:
                self.assertEqual(c.recv_json()["type"], "welcome")
            _, samples, _ = scrape(server)
            self.assertGreaterEqual(value(samples, "process_open_fds"), before + 5)
        finally:
            for c in clients:
                c.close()
        # Not clustered: no cluster families.
        self.assertFalse([n for n in families if n.startswith("switchboard_cluster_")])


class ClusterMetrics(unittest.TestCase):
    def test_peers_by_address_with_the_key_and_summed_without(self):
        from test_cluster import KEY, Cluster, cluster_stats, peers_up
        cluster = Cluster(size=2)
        self.addCleanup(cluster.close)
        nodes = [cluster.start(i) for i in range(2)]
        for node in nodes:
            wait_until(lambda node=node: len(peers_up(node)) == 1, 10 * SLACK, interval=0.05,
                       message=f"1 peer up on :{node.port}")
        status, _, body = nodes[0].http("GET", "/metrics",
                                        headers={"Authorization": f"apikey {KEY}"})
        self.assertEqual(status, 200)
        _, families = parse_metrics(body)
        info = cluster_stats(nodes[0])["cluster"]
        # The node's id, exact (a string in /stats, a label here).
        self.assertIsInstance(info["incarnation"], str)
        node_info = families["switchboard_cluster_node_info"].samples[0].labels
        self.assertEqual(node_info["incarnation"], info["incarnation"])
        self.assertEqual(node_info["address"], cluster.address(0))
        peer = cluster.address(1)
        self.assertEqual(families["switchboard_cluster_peer_up"].type, "gauge")
        self.assertEqual([(s.labels, s.value) for s in families["switchboard_cluster_peer_up"]
                          .samples], [({"peer": peer}, 1)])
        for name in ("switchboard_cluster_forwarded", "switchboard_cluster_received",
                     "switchboard_cluster_gaps", "switchboard_cluster_reconnects",
                     "switchboard_cluster_dropped"):
            with self.subTest(family=name):
                self.assertEqual(families[name].type, "counter")
                self.assertEqual([s.labels for s in families[name].samples], [{"peer": peer}])
        states = {s.labels["state"]: s.value
                  for s in families["switchboard_cluster_peers"].samples}
        self.assertEqual(states, {"up": 1, "down": 0, "dialing": 0, "refused": 0})
        # Without the key: no address anywhere, the peers summed.
        text = nodes[0].http("GET", "/metrics")[2].decode()
        self.assertNotIn(peer, text)
        self.assertNotIn(cluster.address(0), text)
        _, families = parse_metrics(text)
        self.assertNotIn("switchboard_cluster_peer_up", families)
        self.assertEqual([s.labels for s in families["switchboard_cluster_gaps"].samples], [{}])
        # And the peer down once node 1 is gone.
        nodes[1].kill()
        wait_until(lambda: peers_up(nodes[0]) == set(), 10 * SLACK, interval=0.05,
                   message="node 1 down")
        _, samples, _ = scrape(nodes[0])
        self.assertEqual(value(samples, "switchboard_cluster_peers", state="down"), 1)


class MetricsOfRejections(ServerTestCase):
    def test_an_admission_rejection_is_counted(self):
        server = self.start_server("--max-connections=1")
        first = RawWS(server.port)
        try:
            self.assertEqual(first.recv_json()["type"], "welcome")
            status, _, _ = server.http("GET", "/ws", headers={
                "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13"})
            self.assertEqual(status, 503)
        finally:
            first.close()
        _, samples, _ = scrape(server)
        self.assertEqual(value(samples, "switchboard_rejections_total",
                               stage="upgrade", reason="max_connections"), 1)


if __name__ == "__main__":
    unittest.main()
