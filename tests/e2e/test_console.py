"""The web console's HTTP side (docs/console.md): off unless configured, the
login (a session cookie, 401, 429 for a throttled address), the checks on
what acts (the console's header, the Origin), the server API and the
inspector's WebSocket behind the login, logout, --admin-insecure, and the
options refused at start. The pages themselves are tested in Chromium
(console/test/)."""
import json
import subprocess
import unittest

from harness import ServerTestCase, recv_json, run_async, send_json, server_binary, ws_connect

PASSWORD = "sixteen chars at least"
HEADER = {"X-Switchboard-Console": "1"}
FORM = {"Content-Type": "application/x-www-form-urlencoded", **HEADER}


def cookie_of(headers):
    value = headers.get("set-cookie", "")
    return value.split(";", 1)[0]


class Console(ServerTestCase):
    def login(self, server, password=PASSWORD, headers=FORM):
        return server.http("POST", "/console/login", body=f"password={password}", headers=headers)

    def test_off_unless_configured(self):
        server = self.start_server()
        for path in ("/console", "/console/", "/console/login", "/console/app.js"):
            self.assertEqual(server.http("GET", path)[0], 404, path)

    def test_login_gives_an_httponly_samesite_strict_session(self):
        server = self.start_server(f"--admin-password={PASSWORD}")
        status, headers, _ = server.http("GET", "/console/")
        self.assertEqual((status, headers["location"]), (303, "/console/login"))
        self.assertEqual(server.http("GET", "/console/login")[0], 200)
        status, headers, body = self.login(server)
        self.assertEqual(status, 200, body)
        cookie = headers["set-cookie"]
        for attribute in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
            self.assertIn(attribute, cookie)
        self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])
        status, _, body = server.http("GET", "/console/", headers={"Cookie": cookie_of(headers)})
        self.assertEqual(status, 200)
        self.assertIn(b"<title>switchboard console</title>", body)
        # A forged or altered session is no session.
        forged = cookie_of(headers)[:-4] + "0000"
        self.assertEqual(server.http("GET", "/console/", headers={"Cookie": forged})[0], 303)

    def test_wrong_passwords_are_refused_then_throttled_per_address(self):
        server = self.start_server(f"--admin-password={PASSWORD}")
        for _ in range(5):
            self.assertEqual(self.login(server, "wrong password!!!!")[0], 401)
        status, headers, body = self.login(server)  # the right one, but too late
        self.assertEqual(status, 429, body)
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        self.assertEqual(json.loads(body)["error"], "throttled")

    def test_what_acts_needs_the_console_header_and_no_foreign_origin(self):
        server = self.start_server(f"--admin-password={PASSWORD}")
        plain = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertEqual(self.login(server, headers=plain)[0], 403)
        foreign = {**FORM, "Origin": "https://evil.example"}
        self.assertEqual(self.login(server, headers=foreign)[0], 403)
        status, headers, _ = self.login(server, headers={**FORM, "Origin": f"http://127.0.0.1:{server.port}",
                                                         "Host": f"127.0.0.1:{server.port}"})
        self.assertEqual(status, 200)
        cookie = {"Cookie": cookie_of(headers)}
        publish = json.dumps({"topic": "t", "data": 1})
        # The cookie alone (a cross-site form could send it) is not enough.
        self.assertEqual(server.http("POST", "/api/publish", publish, cookie)[0], 401)
        self.assertEqual(server.http("POST", "/api/publish", publish,
                                     {**cookie, **HEADER, "Origin": "https://evil.example"})[0], 401)
        status, _, body = server.http("POST", "/api/publish", publish, {**cookie, **HEADER})
        self.assertEqual((status, json.loads(body)), (200, {"delivered": 0}))

    def test_the_inspector_passes_the_authenticator_with_a_session(self):
        server = self.start_server(f"--admin-password={PASSWORD}", "--auth=jwt",
                                   "--jwt-secret=" + "s" * 32,
                                   "--allowed-origins=https://app.example")
        status, headers, _ = self.login(server)
        origin = f"http://127.0.0.1:{server.port}"

        async def go():
            ws, _ = await ws_connect(server, origin=origin,
                                     extra_headers={"Cookie": cookie_of(headers)})
            await send_json(ws, {"type": "subscribe", "topic": "watched", "id": 1})
            self.assertEqual((await recv_json(ws))["type"], "subscribed")
            await ws.close()
            # Without the session (or from another origin) the token is needed.
            for extra in ({}, {"Cookie": cookie_of(headers)}):
                with self.assertRaises(Exception):
                    await ws_connect(server, origin="https://evil.example" if extra else origin,
                                     extra_headers=extra)
        run_async(go(), 20)

    def test_logout_ends_the_session(self):
        server = self.start_server(f"--admin-password={PASSWORD}")
        _, headers, _ = self.login(server)
        cookie = {"Cookie": cookie_of(headers)}
        self.assertEqual(server.http("POST", "/console/logout", "", {**cookie, **HEADER})[0], 200)
        self.assertEqual(server.http("GET", "/console/", headers=cookie)[0], 303)
        self.assertEqual(server.http("GET", "/api/topics", headers={**cookie, **HEADER})[0], 401)

    def test_insecure_console_on_a_loopback_host_name_only(self):
        server = self.start_server("--admin-insecure")
        status, headers, _ = server.http("GET", "/console/",
                                         headers={"Host": f"127.0.0.1:{server.port}"})
        self.assertEqual(status, 200)
        self.assertIn("switchboard_console=", headers["set-cookie"])
        # A name an attacker points at 127.0.0.1 (DNS rebinding) gets nothing.
        status, headers, _ = server.http("GET", "/console/",
                                         headers={"Host": f"rebound.example:{server.port}"})
        self.assertEqual(status, 403)
        self.assertNotIn("set-cookie", headers)


class ConsoleOptions(unittest.TestCase):
    def refused(self, *flags):
        proc = subprocess.run([server_binary(), "--port=0", *flags], capture_output=True, timeout=10)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        return proc.stderr.decode()

    def test_impossible_values_are_refused_at_start(self):
        self.assertIn("at least 16", self.refused("--admin-password=short"))
        self.assertIn("loopback", self.refused("--admin-insecure", "--host=0.0.0.0"))
        self.assertIn("not both", self.refused("--admin-insecure", f"--admin-password={PASSWORD}"))


if __name__ == "__main__":
    unittest.main()
