"""Shared helpers for the switchboard end-to-end tests.

Everything here is bounded in time: every wait has a deadline, every socket a
timeout, every child process is killed at cleanup.

The server binary comes from the SWITCHBOARD_BIN environment variable (ctest
sets it to $<TARGET_FILE:switchboard>); when unset, /tmp/e2e-build/app/switchboard
and <repo>/build/app/switchboard are tried.

Only the Python standard library and Debian's python3-websockets (10.4) are used.
"""

import asyncio
import base64
import hashlib
import http.client
import json
import os
import resource
import select
import signal as _signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"

# Slack added to every timing bound, for a loaded 2-core machine.
SLACK = float(os.environ.get("E2E_SLACK", "1.0"))

# WebSocket opcodes.
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

DISCONNECT_REASONS = ("socket_closed", "socket_error", "heartbeat_timeout",
                      "slow_consumer", "protocol_error", "shutdown", "rate_limited",
                      "hub_down")


def server_binary():
    # A binary that was named but is missing (ctest before the build) is a
    # failure: a skip would count as a pass.
    named = os.environ.get("SWITCHBOARD_BIN")
    if named:
        if not os.access(named, os.X_OK):
            raise AssertionError(f"SWITCHBOARD_BIN={named!r} is not an executable file; "
                                 "build the switchboard target first")
        return os.path.abspath(named)
    candidates = ["/tmp/e2e-build/app/switchboard",
                  os.path.join(HERE, "..", "..", "build", "app", "switchboard")]
    for c in candidates:
        if os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise unittest.SkipTest("switchboard binary not found: set SWITCHBOARD_BIN")


def raise_nofile(wanted):
    """Raise RLIMIT_NOFILE's soft limit to `wanted` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def wait_until(predicate, timeout, interval=0.02, message="condition"):
    """Poll `predicate` until it returns a truthy value; return that value.

    Raises AssertionError (with the last value seen) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.2f}s waiting for {message}; "
                                 f"last value: {last!r}")
        time.sleep(interval)


async def async_wait_until(predicate, timeout, interval=0.02, message="condition"):
    """Like wait_until, but `predicate` is a coroutine function and the event
    loop keeps running (so websockets clients keep answering pings)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = await predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.2f}s waiting for {message}; "
                                 f"last value: {last!r}")
        await asyncio.sleep(interval)


def run_async(coro, timeout):
    """Run a coroutine with an overall deadline."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


# -- the server process ---------------------------------------------------------


class Server:
    """A switchboard process on an ephemeral loopback port."""

    def __init__(self, *flags, startup_timeout=10.0):
        self.flags = list(flags)
        self.binary = server_binary()
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [self.binary, "--port=0", *self.flags],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
            start_new_session=True)
        self.port = None
        self.extra_stdout = []
        try:
            line = self._read_line(startup_timeout)
        except Exception:
            self.kill()
            raise
        # ws://, or wss:// with TLS (test_tls.py).
        scheme = "wss" if line.startswith("switchboard listening on wss:") else "ws"
        prefix, suffix = f"switchboard listening on {scheme}://127.0.0.1:", "/ws"
        if not (line.startswith(prefix) and line.endswith(suffix)):
            self.kill()
            raise AssertionError(f"unexpected first stdout line {line!r}; "
                                 f"stderr: {self.stderr()!r}")
        self.port = int(line[len(prefix):-len(suffix)])
        self.url = f"{scheme}://127.0.0.1:{self.port}/ws"
        # Keep draining stdout so that the server can never block on it.
        threading.Thread(target=self._drain, daemon=True).start()

    def _read_line(self, timeout):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server printed no listening line within {timeout}s "
                                     f"(got {data!r}); stderr: {self.stderr()!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"server exited (rc={self.proc.poll()}) before listening; "
                                     f"stdout: {data!r}, stderr: {self.stderr()!r}")
            data += chunk
        line, _, rest = data.partition(b"\n")
        if rest:
            self.extra_stdout.append(rest)
        return line.decode()

    def _drain(self):
        try:
            while True:
                chunk = self.proc.stdout.read1(4096)
                if not chunk:
                    return
                self.extra_stdout.append(chunk)
        except (OSError, ValueError):
            return

    def stderr(self):
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace")[-4000:]
        except (OSError, ValueError):
            return ""

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """Exit status, or None if still running after `timeout` seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=_signal.SIGTERM, timeout=10.0):
        """Signal the server and wait for it; returns (status, seconds taken).

        status is None if it had to be killed."""
        start = time.monotonic()
        self.signal(sig)
        rc = self.wait(timeout)
        took = time.monotonic() - start
        if rc is None:
            self.kill()
        return rc, took

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def close(self):
        """Cleanup: a graceful stop if possible, SIGKILL otherwise."""
        if self.alive():
            self.stop(_signal.SIGTERM, timeout=8.0)
        self.kill()
        for stream in (self.proc.stdout,):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()

    # -- HTTP ------------------------------------------------------------------

    def http(self, method, path, body=None, headers=None, timeout=5.0):
        """One HTTP request; returns (status, headers dict (lower-case), body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            data = res.read()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, data
        finally:
            conn.close()

    def stats(self):
        status, headers, body = self.http("GET", "/stats")
        if status != 200:
            raise AssertionError(f"/stats answered {status}: {body!r}")
        return json.loads(body)

    async def astats(self):
        return await asyncio.to_thread(self.stats)

    def connections(self):
        return self.stats()["connections"]

    def disconnects(self):
        return self.stats()["disconnects"]

    def wait_connections(self, n, timeout=5.0):
        return wait_until(lambda: self.connections() == n, timeout, interval=0.02,
                          message=f"/stats connections == {n}")

    async def await_connections(self, n, timeout=5.0):
        async def check():
            return (await self.astats())["connections"] == n
        return await async_wait_until(check, timeout, message=f"/stats connections == {n}")


class ServerTestCase(unittest.TestCase):
    """A TestCase with helpers to start servers that are stopped at cleanup."""

    def start_server(self, *flags):
        server = Server(*flags)
        self.addCleanup(server.close)
        return server


# -- websockets clients -----------------------------------------------------------


async def ws_connect(server_or_url, **kwargs):
    """Connect with python3-websockets; returns (websocket, welcome connection id).

    The client does not ping on its own (ping_interval=None) but answers the
    server's pings automatically."""
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.url
    opts = dict(ping_interval=None, open_timeout=10, close_timeout=2, max_size=2 ** 24,
                max_queue=None)
    opts.update(kwargs)
    ws = await websockets.connect(url, **opts)
    welcome = await recv_json(ws)
    if welcome.get("type") != "welcome" or not isinstance(welcome.get("id"), int) \
            or isinstance(welcome.get("id"), bool):
        raise AssertionError(f"expected a welcome with a numeric id, got {welcome!r}")
    return ws, welcome["id"]


async def recv_raw(ws, timeout=5.0):
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv_json(ws, timeout=5.0):
    raw = await recv_raw(ws, timeout)
    if not isinstance(raw, str):
        raise AssertionError(f"expected a text frame, got binary {raw!r}")
    return json.loads(raw)


async def expect_nothing(ws, within):
    """Assert that no frame arrives within `within` seconds."""
    try:
        raw = await asyncio.wait_for(ws.recv(), within)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"expected no frame, got {raw!r}")


async def send_json(ws, obj):
    await ws.send(json.dumps(obj))


async def subscribe(ws, topic, id=None):
    cmd = {"type": "subscribe", "topic": topic}
    if id is not None:
        cmd["id"] = id
    await send_json(ws, cmd)
    reply = await recv_json(ws)
    expected = {"type": "subscribed", "topic": topic}
    if id is not None:
        expected["id"] = id
    if reply != expected:
        raise AssertionError(f"subscribe {topic!r}: expected {expected!r}, got {reply!r}")
    return reply


# -- raw WebSocket client (stdlib sockets, hand-made frames) ----------------------


class PeerClosed(Exception):
    """The server closed the TCP connection."""


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, mask_key=None,
                length_override=None):
    """One WebSocket frame as bytes. rsv is a 3-bit value (RSV1 = 4)."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    n = len(payload) if length_override is None else length_override
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = mask_key if mask_key is not None else os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, payload):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    @property
    def close_code(self):
        if self.opcode != OP_CLOSE:
            raise AssertionError(f"not a close frame: {self!r}")
        if len(self.payload) == 0:
            return None
        if len(self.payload) == 1:
            raise AssertionError("server sent a 1-byte close payload")
        return struct.unpack("!H", self.payload[:2])[0]

    @property
    def close_reason(self):
        return self.payload[2:].decode("utf-8")

    def text(self):
        return self.payload.decode("utf-8")

    def json(self):
        return json.loads(self.text())

    def __repr__(self):
        p = self.payload if len(self.payload) <= 80 else self.payload[:80] + b"..."
        return f"Frame(fin={self.fin}, rsv={self.rsv}, opcode={self.opcode:#x}, payload={p!r})"


class RawWS:
    """A WebSocket client on a plain socket, for hostile and RFC edge cases."""

    def __init__(self, port, path="/ws", rcvbuf=None, timeout=5.0, handshake=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.buf = b""
        self.port = port
        self.path = path
        if handshake:
            self.handshake(timeout)

    def handshake(self, timeout=5.0, extra_headers=()):
        """The upgrade, with `extra_headers` ((name, value) pairs) in the request."""
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {self.path} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{self.port}\r\n"
               "Upgrade: websocket\r\n"
               "Connection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in extra_headers) + "\r\n")
        self.sock.sendall(req.encode())
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise AssertionError(f"upgrade refused: {head!r}")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise AssertionError(f"bad Sec-WebSocket-Accept in {head!r}")
        self.headers = headers

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError as e:
            raise PeerClosed("connection reset") from e
        if not chunk:
            raise PeerClosed("EOF")
        self.buf += chunk

    def _take(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **kw):
        self.sock.sendall(build_frame(opcode, payload, **kw))

    def send_text(self, text, **kw):
        self.send_frame(OP_TEXT, text, **kw)

    def send_json(self, obj, **kw):
        self.send_text(json.dumps(obj), **kw)

    def send_close(self, code=None, reason=b"", **kw):
        self.send_frame(OP_CLOSE, close_payload(code, reason), **kw)

    def recv_frame(self, timeout=5.0):
        """The next frame; raises PeerClosed on EOF, socket.timeout on timeout."""
        deadline = time.monotonic() + timeout
        b0, b1 = self._take(2, deadline)
        n = b1 & 0x7F
        if b1 & 0x80:
            raise AssertionError("server sent a masked frame (RFC 6455 5.1 forbids it)")
        if n == 126:
            n = struct.unpack("!H", self._take(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8, deadline))[0]
        payload = self._take(n, deadline)
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, payload)

    def recv_json(self, timeout=5.0, answer_pings=True):
        """The next text frame as JSON (pings answered, pongs skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_PING:
                if answer_pings:
                    self.send_frame(OP_PONG, f.payload)
                continue
            if f.opcode == OP_PONG:
                continue
            if f.opcode != OP_TEXT:
                raise AssertionError(f"expected a text frame, got {f!r}")
            return f.json()

    def recv_close(self, timeout=5.0):
        """Skip data/ping frames until the server's close frame; return it.

        Raises AssertionError if the TCP connection ends without a close frame."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except PeerClosed as e:
                raise AssertionError(f"connection ended ({e}) without a close frame; "
                                     f"frames seen: {seen[-5:]!r}")
            except socket.timeout:
                raise AssertionError(f"no close frame within {timeout}s; "
                                     f"frames seen: {seen[-5:]!r}")
            if f.opcode == OP_CLOSE:
                return f
            seen.append(f)

    def wait_eof(self, timeout=5.0):
        """Read and discard until the server closes TCP; True if it did in time."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
                self.buf = b""
        except PeerClosed:
            return True
        except (socket.timeout, TimeoutError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tcp_closed_within(sock, timeout):
    """Wait for EOF/RST on a socket, discarding data; returns seconds taken or None."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return None
        except ConnectionResetError:
            return time.monotonic() - start
        if not chunk:
            return time.monotonic() - start


# -- client child processes -------------------------------------------------------


class ClientProcess:
    """tests/e2e/client_proc.py in a child process: a websockets client that
    subscribes to a topic and reports events as JSON lines on stdout."""

    def __init__(self, server, topic=None, extra=()):
        args = [PYTHON, "-B", os.path.join(HERE, "client_proc.py"), "--url", server.url]
        if topic is not None:
            args += ["--topic", topic]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self._buf = b""

    def event(self, timeout=10.0):
        """The next JSON event line, or AssertionError on timeout/exit."""
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"client process: no event within {timeout}s "
                                     f"(buffer {self._buf!r})")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] \
                    if self.proc.poll() is not None else ""
                raise AssertionError(f"client process ended (rc={self.proc.poll()}) "
                                     f"without an event; stderr: {err!r}")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL also ends a stopped process
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for s in (self.proc.stdout, self.proc.stderr):
            try:
                s.close()
            except OSError:
                pass
