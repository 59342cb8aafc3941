"""Named API keys reloaded on SIGHUP, the audit line of every API call, JSON
log lines, the metrics key and rate limit, and the lines that show a stop
(docs/api.md "Keys" and "Audit", docs/operations.md "Logging",
docs/security.md "Metrics")."""

import json
import os
import signal
import subprocess
import tempfile

from harness import SLACK, RawWS, ServerTestCase, server_binary, wait_until


def run(*args, timeout=10):
    return subprocess.run([server_binary(), *args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def json_lines(text):
    """Every complete stderr line parsed as JSON (each must be one object)."""
    lines = text.splitlines()
    if text and not text.endswith("\n"):
        lines = lines[:-1]  # the tail may be cut mid-line
    return [json.loads(line) for line in lines if line]


class AuditBase(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.keys = os.path.join(self.dir.name, "api-keys")

    def write_keys(self, text):
        # Replaced whole, as an operator's deploy tool would.
        tmp = self.keys + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.keys)

    def api(self, server, key, path="/api/topics"):
        headers = {"Authorization": f"apikey {key}"} if key else {}
        return server.http("GET", path, headers=headers)[0]

    def wait_log(self, server, part, count=1):
        return wait_until(lambda: server.stderr().count(part) >= count, 5 * SLACK,
                          message=f"{part!r} in the log")


class Keys(AuditBase):
    def test_sighup_rotates_the_keys_and_a_broken_file_keeps_them(self):
        self.write_keys("# rotated by deploy\ndeploy deploy-key-1\nci ci-key-1\n")
        server = self.start_server("--api-key=main-key-0", f"--api-keys-file={self.keys}")
        self.assertEqual(self.api(server, "deploy-key-1"), 200)
        self.assertEqual(self.api(server, "ci-key-1"), 200)
        self.assertEqual(self.api(server, "main-key-0"), 200)

        self.write_keys("deploy\n")
        server.signal(signal.SIGHUP)
        self.wait_log(server, "API keys not reloaded")
        self.assertIn("line 1", server.stderr())
        self.assertEqual(self.api(server, "deploy-key-1"), 200)

        self.write_keys("deploy deploy-key-2\n")
        server.signal(signal.SIGHUP)
        self.wait_log(server, "API keys reloaded")
        self.assertEqual(self.api(server, "deploy-key-1"), 401)
        self.assertEqual(self.api(server, "ci-key-1"), 401)
        self.assertEqual(self.api(server, "deploy-key-2"), 200)
        self.assertEqual(self.api(server, "main-key-0"), 200)
        self.assertNotIn("deploy-key", server.stderr().replace("route=", ""))
        # A node without TLS has no certificate to reload: no error line for
        # it. SIGTERM is handled after both SIGHUPs, so the log is complete.
        self.assertEqual(server.stop()[0], 0)
        self.assertNotIn("TLS not reloaded", server.stderr())

    def test_a_bad_keys_file_stops_the_start_with_status_2(self):
        p = run("--port=0", f"--api-keys-file={self.keys}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"api-keys-file: cannot read", p.stderr)
        self.write_keys("a same-key\nb same-key\n")
        p = run("--port=0", f"--api-keys-file={self.keys}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"line 2", p.stderr)
        self.assertNotIn(b"same-key", p.stderr)
        self.write_keys("default other-key\n")
        p = run("--port=0", "--api-key=main-key", f"--api-keys-file={self.keys}")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"'default' appears twice", p.stderr)


class Audit(AuditBase):
    def test_every_api_call_is_one_json_line_with_its_own_fields(self):
        self.write_keys("deploy deploy-key\n")
        server = self.start_server(f"--api-keys-file={self.keys}", "--log-format=json")
        status, _, _ = server.http("POST", "/api/publish", body=b'{"topic":"a \\"b","data":1}',
                                   headers={"Authorization": "apikey deploy-key"})
        self.assertEqual(status, 200)
        self.assertEqual(self.api(server, "wrong"), 401)
        self.assertEqual(self.api(server, "deploy-key", "/api/connections/77"), 404)
        self.wait_log(server, '"msg":"api call"', 3)
        lines = json_lines(server.stderr())
        for line in lines:
            self.assertEqual(set(line) >= {"time", "level", "logger", "msg"}, True, line)
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        calls = [line for line in lines if line["msg"] == "api call"]
        self.assertEqual(calls[0]["key"], "deploy")
        self.assertEqual(calls[0]["remote"], "127.0.0.1")
        self.assertEqual(calls[0]["method"], "POST")
        self.assertEqual(calls[0]["route"], "/api/publish")
        self.assertEqual(calls[0]["status"], "200")
        self.assertEqual(calls[0]["topic"], 'a "b')
        self.assertEqual(calls[1]["key"], "-")
        self.assertEqual(calls[1]["status"], "401")
        self.assertEqual(calls[2]["connection"], "77")
        self.assertEqual(calls[2]["status"], "404")
        self.assertEqual(calls[0]["level"], "info")

    def test_an_unknown_log_format_is_refused_with_status_2(self):
        p = run("--port=0", "--log-format=xml")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"log-format must be text or json", p.stderr)


class Metrics(AuditBase):
    def test_a_metrics_key_guards_metrics_and_stats(self):
        server = self.start_server("--metrics-key=scrape-key")
        for path in ("/metrics", "/stats"):
            status, headers, _ = server.http("GET", path)
            self.assertEqual(status, 401)
            self.assertEqual(headers["www-authenticate"], 'Bearer realm="switchboard-metrics"')
            status, _, body = server.http("GET", path,
                                          headers={"Authorization": "Bearer scrape-key"})
            self.assertEqual(status, 200, body)
        self.assertEqual(server.http("GET", "/healthz")[0], 200)

    def test_a_logged_in_console_page_reads_stats_without_the_key(self):
        password = "sixteen chars at least"
        server = self.start_server("--metrics-key=scrape-key", f"--admin-password={password}")
        console = {"X-Switchboard-Console": "1"}
        status, headers, _ = server.http(
            "POST", "/console/login", body=f"password={password}",
            headers={"Content-Type": "application/x-www-form-urlencoded", **console})
        self.assertEqual(status, 200)
        cookie = {"Cookie": headers["set-cookie"].split(";", 1)[0]}
        self.assertEqual(server.http("GET", "/stats", headers={**cookie, **console})[0], 200)
        # The cookie alone (a cross-site request could carry it) is not enough.
        self.assertEqual(server.http("GET", "/stats", headers=cookie)[0], 401)

    def test_an_address_past_its_rate_gets_429(self):
        server = self.start_server("--metrics-rate=0.5", "--metrics-burst=2")
        statuses = [server.http("GET", "/metrics")[0] for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 429])

    def test_impossible_metrics_options_are_refused_with_status_2(self):
        for flag, says in (("--metrics-burst=0", b"metrics-burst"),
                           ("--metrics-rate=-1", b"metrics-rate"),
                           ("--metrics-key=a b", b"metrics-key")):
            p = run("--port=0", flag)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(says, p.stderr)


class StopLines(AuditBase):
    def test_a_stop_logs_its_start_its_drain_and_the_exit(self):
        server = self.start_server()
        ws = RawWS(server.port)
        ws.recv_json()
        wait_until(lambda: server.stats()["connections"] == 1, 5 * SLACK)
        rc, _ = server.stop()
        self.assertEqual(rc, 0)
        log = server.stderr()
        order = ["stop signal received signal=SIGTERM", "stop requested: closing connections",
                 "stop drained: connections closed closed=", "switchboard exits status=0"]
        positions = [log.find(part) for part in order]
        self.assertNotIn(-1, positions, log)
        self.assertEqual(positions, sorted(positions), log)
        self.assertRegex(log, r"stop drained: connections closed closed=\d+ remaining=0 ms=\d+")
        ws.close()


class ErrorText(AuditBase):
    def test_a_start_failure_names_the_error_not_cafs_rendering(self):
        import socket
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        p = run(f"--port={port}")
        self.assertEqual(p.returncode, 1, p.stderr)
        text = p.stderr.decode()
        self.assertNotIn("system_error(", text)
        self.assertIn('error="sec.cannot_open_port: cannot listen on', text)
        p = run(f"--port={port}", "--log-format=json")
        failed = [line for line in json_lines(p.stderr.decode())
                  if line["msg"] == "the node did not start"]
        self.assertEqual(len(failed), 1, p.stderr)
        self.assertTrue(failed[0]["error"].startswith("sec.cannot_open_port: cannot listen on"),
                        failed[0])

    def test_an_unknown_option_is_named_not_rendered_by_caf(self):
        p = run("--port=0", "--no-such-option=1")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertNotIn(b"parser_error(", p.stderr)
        self.assertIn(b"pec.not_an_option", p.stderr)
