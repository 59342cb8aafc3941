"""What an operator gets from the CLI node besides the WebSocket: --version,
the example config file (it parses, its values are the built-in defaults, it
names every option, so it cannot drift), --log-level, and the log lines for
connects, disconnects, drops and refused upgrades (docs/operations.md)."""

import os
import re
import subprocess
import unittest

from harness import SLACK, RawWS, ServerTestCase, server_binary, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
EXAMPLE = os.path.join(ROOT, "switchboard.conf.example")

# Options that are actions, not settings: they have no place in a config file.
ACTIONS = {"help", "long-help", "dump-config", "config-file", "version", "check-config"}


def run(*args, timeout=10):
    return subprocess.run([server_binary(), *args], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=HERE)


def parse_dump(text):
    """CAF's --dump-config output ("key = value" for the global options,
    "group {" ... "}" for the others) as {"key": "value", "group.key":
    "value"}; lists are kept as their lines joined."""
    result, path, list_key, items = {}, [], None, []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if list_key is not None:
            if line == "]":
                result[list_key] = "[" + " ".join(items) + "]"
                list_key, items = None, []
            else:
                items.append(line)
        elif line.endswith(" {"):
            path.append(line[:-2])
        elif line == "}":
            path.pop()
        else:
            key, _, value = line.partition(" = ")
            full = ".".join(path + [key])
            if value == "[":
                list_key = full
            else:
                result[full] = value
    return result


def help_options():
    """The names of the options in the global group of --help."""
    p = run("--help")
    text = (p.stdout + p.stderr).decode()
    names, in_global = set(), False
    for line in text.splitlines():
        if line.strip().endswith("options:"):
            in_global = line.strip().startswith("global")
            continue
        if in_global:
            names.update(re.findall(r"--([a-z0-9-]+)", line.split(":")[0]))
    return names


def example_keys():
    """(set keys, commented-out keys) of the example's [global] section."""
    keys, commented, section = set(), set(), None
    with open(EXAMPLE) as f:
        for line in f:
            line = line.strip()
            m = re.fullmatch(r"\[([a-z-]+)\]", line)
            if m:
                section = m.group(1)
                continue
            if section != "global":
                continue
            m = re.fullmatch(r"(;\s*)?([a-z0-9-]+)=.*", line)
            if m:
                (commented if m.group(1) else keys).add(m.group(2))
    return keys, commented


class Version(unittest.TestCase):
    def test_version_prints_the_project_version_and_exits_0(self):
        with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
            version = re.search(r"project\(switchboard VERSION (\S+)", f.read()).group(1)
        p = run("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode(), f"switchboard {version}\n")


class ConfigFile(unittest.TestCase):
    def dump(self, *args):
        p = run(*args, "--dump-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        values = parse_dump(p.stdout.decode())
        values.pop("config-file", None)
        return values

    def test_the_example_parses_and_holds_the_built_in_defaults(self):
        defaults = self.dump()
        self.assertEqual(defaults.get("port"), "8080")
        self.assertEqual(defaults.get("scheduler.max-threads"), "1")
        self.assertEqual(defaults.get("work-stealing.moderate-poll-attempts"), "0")
        from_example = self.dump(f"--config-file={EXAMPLE}")
        self.assertEqual(from_example, defaults)

    def test_the_example_names_every_option(self):
        options = help_options() - ACTIONS
        self.assertIn("max-connections", options)  # the --help parser works
        keys, commented = example_keys()
        self.assertEqual(keys | commented, options)
        # Only a machine-dependent default is left commented out.
        self.assertEqual(commented, {"io-threads"})

    def test_the_dump_shows_every_option(self):
        dumped = {k for k in self.dump() if "." not in k}
        self.assertLessEqual(help_options() - ACTIONS, dumped)

    def test_a_clustered_dump_shows_the_heartbeat_in_force(self):
        # CAF prints its dump while parsing, before the node sets the
        # middleman's heartbeat: the dump must still say what applies.
        values = self.dump("--cluster-port=7000")
        self.assertEqual(values["middleman.heartbeat-interval"], "500ms")
        self.assertEqual(values["middleman.connection-timeout"], "3s")
        values = self.dump("--cluster-port=7000", "--cluster-heartbeat-interval=250ms")
        self.assertEqual(values["middleman.heartbeat-interval"], "250ms")

    def test_a_file_sets_values_and_the_command_line_wins(self):
        path = os.path.join(HERE, f"test-operations-{os.getpid()}.ini")
        with open(path, "w") as f:
            f.write('[global]\nmax-topics=7\nlog-level="debug"\n')
        try:
            values = self.dump(f"--config-file={path}", "--log-level=warn")
        finally:
            os.unlink(path)
        self.assertEqual(values["max-topics"], "7")
        self.assertEqual(values["log-level"], '"warn"')

    def test_a_missing_file_is_an_error(self):
        p = run("--config-file=/nonexistent/switchboard.conf")
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b"")

    def test_a_node_runs_from_the_example(self):
        from harness import Server
        server = Server(f"--config-file={EXAMPLE}")  # --port=0 on the command line wins
        try:
            self.assertNotEqual(server.port, 8080)
            self.assertEqual(server.http("GET", "/healthz")[0], 200)
        finally:
            server.close()


class LogLevel(ServerTestCase):
    def test_an_unknown_level_is_refused_with_status_2(self):
        p = run("--port=0", "--log-level=verbose")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"log-level", p.stderr)
        self.assertEqual(p.stdout, b"")

    def test_debug_logs_one_line_per_connect_and_disconnect(self):
        server = self.start_server("--log-level=debug")
        ws = RawWS(server.port)
        conn = ws.recv_json()["id"]
        ws.close()
        server.wait_connections(0)
        line = wait_until(
            lambda: re.search(rf"debug disconnect conn={conn} user=- "
                              rf"remote=127\.0\.0\.1:\d+ reason=socket_closed",
                              server.stderr()),
            5.0 * SLACK, message="the disconnect line")
        self.assertTrue(line)
        self.assertRegex(server.stderr(),
                         rf"debug connect conn={conn} user=- remote=127\.0\.0\.1:\d+\n")
        self.assertEqual(server.stderr().count(f"conn={conn} "), 2)

    def test_info_logs_no_connects_but_the_start(self):
        server = self.start_server()
        ws = RawWS(server.port)
        ws.recv_json()
        ws.close()
        server.wait_connections(0)
        self.assertIn(" info switchboard ", server.stderr())
        self.assertNotIn("connect conn=", server.stderr())

    def test_a_drop_is_a_warning(self):
        # Over the rate with no grace: the second refusal ends the connection.
        server = self.start_server("--client-rate=1", "--client-burst=1",
                                   "--client-rate-grace=0s")
        ws = RawWS(server.port)
        conn = ws.recv_json()["id"]
        for i in range(5):
            ws.send_json({"type": "subscribe", "topic": f"t{i}"})
        self.assertEqual(ws.recv_close().close_code, 1008)
        ws.close()
        wait_until(lambda: re.search(rf" warning disconnect conn={conn} user=- "
                                     rf"remote=127\.0\.0\.1:\d+ reason=rate_limited",
                                     server.stderr()),
                   5.0 * SLACK, message="the rate_limited warning")

    def test_a_refused_upgrade_is_a_warning(self):
        server = self.start_server("--max-connections=1")
        first = RawWS(server.port)
        try:
            first.recv_json()
            status, _, _ = server.http("GET", "/ws", headers={
                "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13"})
            self.assertEqual(status, 503)
        finally:
            first.close()
        wait_until(lambda: " warning upgrade refused status=503 remote=127.0.0.1 "
                           "reason=\"max_connections\"" in server.stderr(),
                   5.0 * SLACK, message="the refusal warning")


if __name__ == "__main__":
    unittest.main()
