"""The Redis history store (--redis, docs/cluster.md "History in Redis") with
the CLI node: its options, and a node against a real redis-server that the
test starts on a free loopback port and stops."""

import os
import shutil
import socket
import subprocess
import unittest

from harness import server_binary, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*args, timeout=10):
    return subprocess.run([server_binary(), *args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=HERE)


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class RedisServer:
    """redis-server on a free loopback port, without persistence."""

    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.accepts, 5, message=f"redis-server on {self.port}")

    def accepts(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


class Options(unittest.TestCase):
    def test_a_cluster_with_history_and_no_redis_refuses_to_start(self):
        p = run("--port=0", f"--cluster-port={free_port()}", "--history-size=10")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"a cluster keeps history in Redis", p.stderr)

    def test_a_malformed_redis_list_is_refused(self):
        p = run("--port=0", "--redis=127.0.0.1:6379,nowhere")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"is not host:port", p.stderr)

    @unittest.skipIf(shutil.which("redis-server") is None,
                     "redis-server missing (tools/setup.sh --tests installs it)")
    def test_a_node_with_redis_reports_the_connection(self):
        redis = RedisServer()
        try:
            from harness import Server
            node = Server(f"--redis={redis.address}", "--history-size=10")
            try:
                def connected():
                    stats = node.stats()
                    return stats["redis"]["servers"][0]["connected"]
                wait_until(connected, 5, message="redis connected in /stats")
                status, _, body = node.http("GET", "/metrics")
                self.assertEqual(status, 200)
                self.assertIn(
                    f'switchboard_redis_connected{{server="{redis.address}"}} 1'.encode(), body)
                redis.stop()
                wait_until(lambda: not connected(), 5, message="redis disconnected in /stats")
                redis.start()
                wait_until(connected, 10, message="redis reconnected")
                self.assertGreaterEqual(node.stats()["redis"]["servers"][0]["reconnects"], 1)
            finally:
                node.close()
        finally:
            redis.stop()


if __name__ == "__main__":
    unittest.main()
