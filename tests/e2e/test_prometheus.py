"""A real Prometheus (Debian's `prometheus`) scrapes a three-node cluster
over https (a CA made at test time, `ca_file`) every second, and the alert
rules of docs/operations.md, read from the doc itself so that doc and test
cannot drift, are evaluated through its query API (/api/v1/query): empty
while the cluster is healthy, then exactly what the test forced:

- a peer that stopped (SIGSTOP): its backlog past half of --cluster-backlog,
  then publishes lost to it (past --cluster-backlog),
- that node killed (SIGKILL): its target down, its peers report it down,
- a client that subscribes and does not read while a publisher floods it.

Skipped when prometheus is not installed, except in CI (tools/setup.sh
--tests installs it)."""

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from harness import SLACK, run_async, send_json, wait_until, ws_connect
from test_cluster import KEY, Cluster, free_ports
from test_tls import Pki, TlsRawWS, https

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.normpath(os.path.join(HERE, "..", "..", "docs", "operations.md"))
BACKLOG = 20


def alert_rules():
    """The YAML block of docs/operations.md that starts with `groups:`, and
    {alert name: expr} of its rules (each expr on one line)."""
    with open(DOC) as f:
        blocks = re.findall(r"```yaml\n(groups:\n.*?)```", f.read(), re.DOTALL)
    if len(blocks) != 1:
        raise AssertionError(f"{DOC}: expected one ```yaml block of rules, found {len(blocks)}")
    rules = dict(re.findall(r"^\s*- alert: (\S+)\n\s*expr: (.+)$", blocks[0], re.MULTILINE))
    if len(rules) != blocks[0].count("- alert:"):
        raise AssertionError("every rule needs its expr on the line after its name")
    return blocks[0], rules


def prometheus_binary():
    path = shutil.which("prometheus")
    if path is None:
        if os.environ.get("CI"):
            raise AssertionError("prometheus is not installed (tools/setup.sh --tests)")
        raise unittest.SkipTest("prometheus is not installed: apt-get install prometheus "
                                "(tools/setup.sh --tests does)")
    return path


class Prometheus:
    """A Prometheus server on a free loopback port with its own storage."""

    def __init__(self, binary, targets, ca_file, directory):
        self.port = free_ports(1)[0]
        config = os.path.join(directory, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: switchboard-tls
    scheme: https
    tls_config:
      ca_file: {ca_file}
    authorization:
      type: apikey
      credentials: {KEY}
    static_configs:
      - targets: {json.dumps(targets)}
""")
        self.log = open(os.path.join(directory, "prometheus.log"), "w+")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(directory, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            start_new_session=True)
        wait_until(self.ready, 20 * SLACK, interval=0.1, message="prometheus ready")

    def get(self, path):
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=5) as res:
            return res.status, res.read()

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited {self.proc.returncode}: {self.output()}")
        try:
            return self.get("/-/ready")[0] == 200
        except OSError:
            return False

    def query(self, expr):
        """The instant vector of `expr` now, as a list of label dicts."""
        status, body = self.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        answer = json.loads(body)
        if status != 200 or answer.get("status") != "success":
            raise AssertionError(f"query {expr!r}: {status} {answer}")
        if answer["data"]["resultType"] != "vector":
            raise AssertionError(f"query {expr!r}: not a vector: {answer}")
        return [r["metric"] for r in answer["data"]["result"]]

    def output(self):
        self.log.seek(0)
        return self.log.read()[-2000:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def api_publish(node, ctx, topic, data):
    status, body = https(node.port, ctx, "POST", "/api/publish",
                         json.dumps({"topic": topic, "data": data}),
                         {"Authorization": f"apikey {KEY}", "Content-Type": "application/json"})
    if status != 200:
        raise AssertionError(f"/api/publish answered {status}: {body!r}")


def cluster_peers(node, ctx):
    """{address: peer} of /stats?scope=cluster (with the key: names)."""
    status, body = https(node.port, ctx, "GET", "/stats?scope=cluster",
                         headers={"Authorization": f"apikey {KEY}"})
    if status != 200:
        raise AssertionError(f"/stats?scope=cluster answered {status}: {body!r}")
    return {p["address"]: p for p in json.loads(body)["cluster"]["peers"]}


def disconnects(node, ctx):
    status, body = https(node.port, ctx, "GET", "/stats")
    return json.loads(body)["disconnects"]


class AlertRules(unittest.TestCase):
    def setUp(self):
        self.binary = prometheus_binary()
        self.dir = tempfile.mkdtemp(prefix="switchboard-prometheus-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.pki = Pki()
        self.addCleanup(self.pki.cleanup)
        self.ctx = self.pki.client_context()

    def test_the_rules_parse(self):
        text, rules = alert_rules()
        path = os.path.join(self.dir, "rules.yml")
        with open(path, "w") as f:
            f.write(text)
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool comes with the prometheus package")
        p = subprocess.run([promtool, "check", "rules", path], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertGreaterEqual(len(rules), 8)

    def start_cluster(self):
        cluster = Cluster(extra=(f"--tls-cert={self.pki.cert}", f"--tls-key={self.pki.key}",
                                 f"--cluster-backlog={BACKLOG}", "--send-queue=16",
                                 "--send-buffer=65536", "--max-message-size=16384",
                                 # (After test_cluster's: a stopped node stays a
                                 # member while its backlog grows.)
                                 "--cluster-connection-timeout=30s"))
        self.addCleanup(cluster.close)
        nodes = [cluster.start(i) for i in range(3)]
        for node in nodes:
            wait_until(lambda node=node: sum(p["state"] == "up"
                                             for p in cluster_peers(node, self.ctx).values()) == 2,
                       10 * SLACK, interval=0.05, message=f"2 peers up on :{node.port}")
        return cluster, nodes

    def test_the_alerts_fire_for_what_was_forced_and_not_before(self):
        _, rules = alert_rules()
        cluster, nodes = self.start_cluster()
        targets = [f"127.0.0.1:{n.port}" for n in nodes]
        prom = Prometheus(self.binary, targets, self.pki.ca, self.dir)
        self.addCleanup(prom.close)

        def fired():
            return {name: prom.query(expr) for name, expr in rules.items()}

        # Healthy: every target scraped (twice, so that rates have two
        # samples) and every peer up; no alert has anything.
        wait_until(lambda: len(prom.query("count_over_time(switchboard_cluster_peer_up[1m]) >= 2"))
                   == 6, 15 * SLACK, interval=0.2, message="6 peer series scraped twice")
        self.assertEqual(len(prom.query('up{job="switchboard-tls"} == 1')), 3)
        self.assertEqual(fired(), {name: [] for name in rules})

        self.lose_publishes(cluster, nodes, prom, rules)
        nodes[2].proc.kill()  # SIGKILL, also for a stopped process
        self.cut_off_a_slow_consumer(nodes[0])

        lost = cluster.address(2)
        expected = {
            "SwitchboardNodeDown": {(targets[2], None)},
            "SwitchboardPeerDown": {(targets[0], lost), (targets[1], lost)},
            "SwitchboardClusterLostPublishes": {(targets[0], lost)},
            "SwitchboardSlowConsumers": {(targets[0], None)},
        }
        self.assertLessEqual(set(expected), set(rules), "alerts missing from the doc")

        def seen():
            return {name: {(m["instance"], m.get("peer")) for m in series}
                    for name, series in fired().items()}
        want = {name: expected.get(name, set()) for name in rules}
        wait_until(lambda: seen() == want, 15 * SLACK, interval=0.25,
                   message=f"the forced alerts and no other: {want}")

    def lose_publishes(self, cluster, nodes, prom, rules):
        """A subscriber on node 2, node 2 stopped, publishes on node 0 for
        it: past half of --cluster-backlog the backlog alert fires, past
        --cluster-backlog they are counted as node 0's gap for node 2. (The
        subscriber stays: its leaving would take node 2's interest away.)"""
        lost = cluster.address(2)
        sub = TlsRawWS(nodes[2].port, self.ctx)
        self.addCleanup(sub.close)
        self.assertEqual(sub.recv_json()["type"], "welcome")
        sub.send_json({"type": "subscribe", "topic": "gap"})
        self.assertEqual(sub.recv_json()["type"], "subscribed")
        probes = iter(range(1_000_000))

        def crossed():
            # A probe through node 0 that reaches the subscriber: node 2's
            # interest in the topic arrived there.
            api_publish(nodes[0], self.ctx, "gap", {"probe": next(probes)})
            try:
                return sub.recv_json(timeout=0.2)["type"] == "message"
            except socket.timeout:
                return False
        wait_until(crossed, 10 * SLACK, interval=0, message="a probe crossed to node 2")
        nodes[2].signal(signal.SIGSTOP)
        for n in range(BACKLOG * 3 // 4):
            api_publish(nodes[0], self.ctx, "gap", n)
        growing = rules["SwitchboardClusterBacklogGrowing"]
        wait_until(lambda: [(m["instance"], m["peer"]) for m in prom.query(growing)]
                   == [(f"127.0.0.1:{nodes[0].port}", lost)], 10 * SLACK, interval=0.25,
                   message="the backlog alert for node 2 on node 0")
        self.assertEqual(prom.query(rules["SwitchboardClusterLostPublishes"]), [])
        for n in range(BACKLOG * 2):
            api_publish(nodes[0], self.ctx, "gap", n)
        wait_until(lambda: cluster_peers(nodes[0], self.ctx)[lost]["gaps"] > 0, 10 * SLACK,
                   interval=0.05, message="node 0 counts a gap for node 2")

    def cut_off_a_slow_consumer(self, node):
        slow = TlsRawWS(node.port, self.ctx, rcvbuf=4096)
        self.addCleanup(slow.close)
        self.assertEqual(slow.recv_json()["type"], "welcome")
        slow.send_text(json.dumps({"type": "subscribe", "topic": "flood"}).encode())
        self.assertEqual(slow.recv_json()["type"], "subscribed")

        async def go():
            pub, _ = await ws_connect(node, ssl=self.ctx)
            try:
                payload = "p" * 4000
                for n in range(4000):  # 16 MB at most, far beyond any buffering
                    await send_json(pub, {"type": "publish", "topic": "flood", "data": payload})
                    if n % 100 == 99:
                        d = await asyncio.to_thread(disconnects, node, self.ctx)
                        if d["slow_consumer"] >= 1:
                            return n
                return None
            finally:
                await pub.close()
        self.assertIsNotNone(run_async(go(), 40), "no slow_consumer disconnect")


if __name__ == "__main__":
    unittest.main()
