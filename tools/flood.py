#!/usr/bin/python3
"""Command flood against one node: what clients far over --client-rate cost it.

  tools/flood.py [--node build/app/switchboard] [--flooders 3] [--size 61440]
                 [--seconds 6] [--probe-rate 20] [--node-flags="--client-rate=100 ..."]

Starts the node (--port=0, its other options at their defaults unless --node-flags says
otherwise), then for --seconds runs at once:
  - --flooders clients, each sending --size bytes of invalid JSON per text frame (an
    unterminated string: the parser has to walk all of it) as fast as the socket takes
    them, and reading whatever comes back;
  - one well-behaved client publishing with an id --probe-rate times a second and timing
    each publish -> ack round trip.
Prints one JSON line: the node's CPU time over the window (utime + stime from
/proc/PID/stat) as a share of one core, the probe's round trips (p50, p99, max in ms),
and per flooder the bytes it got onto the socket, the error frames it got back by code,
and its close code if the node closed it. Loopback only; everything it starts it stops.
"""
import argparse
import base64
import json
import multiprocessing
import os
import signal
import socket
import struct
import subprocess
import threading
import time


def handshake(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("the node closed during the upgrade")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(f"upgrade refused: {head!r}")
    return sock, rest


def masked_text_frame(payload):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


class FrameReader:
    """Server frames (unmasked) from a byte stream."""

    def __init__(self, initial=b""):
        self.buf = bytearray(initial)

    def feed(self, data):
        self.buf += data
        frames = []
        pos, end = 0, len(self.buf)
        while end - pos >= 2:
            opcode = self.buf[pos] & 0x0F
            n = self.buf[pos + 1] & 0x7F
            at = pos + 2
            if n == 126:
                if end - pos < 4:
                    break
                n, at = struct.unpack_from("!H", self.buf, pos + 2)[0], pos + 4
            elif n == 127:
                if end - pos < 10:
                    break
                n, at = struct.unpack_from("!Q", self.buf, pos + 2)[0], pos + 10
            if end < at + n:
                break
            frames.append((opcode, bytes(self.buf[at:at + n])))
            pos = at + n
        del self.buf[:pos]
        return frames


CODES = (b"rate_limited", b"bad_json")


def flood(port, frame, ready, go, stop, results):
    """One flooder in its own process (no GIL shared with the others)."""
    f = Flooder(port, frame)
    ready.set()
    go.wait()
    for t in f.threads:
        t.start()
    stop.wait()
    f.stop.set()
    for t in f.threads:
        t.join(2)
    f.sock.close()
    results.put({"mb_sent": round(f.sent / 1e6, 1), "errors": f.errors,
                 "close_code": f.close_code})


class Flooder:
    def __init__(self, port, frame):
        self.sock, _ = handshake(port)
        self.frame = frame
        self.sent = 0
        self.errors = {}
        self.close_code = None
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.send_loop, daemon=True),
                        threading.Thread(target=self.recv_loop, daemon=True)]

    def send_loop(self):
        self.sock.settimeout(0.2)
        view = memoryview(self.frame)
        at = 0
        while not self.stop.is_set():
            try:
                at += self.sock.send(view[at:])
            except socket.timeout:
                continue  # held back by TCP: the node is not reading
            except OSError:
                return
            if at == len(view):
                self.sent += len(view)
                at = 0

    def recv_loop(self):
        # Counted on the raw bytes, no frame parsing: the flooder must read as fast as the
        # node writes, or the node drops it as a slow consumer.
        self.sock.settimeout(0.2)
        tail = b""
        while not self.stop.is_set():
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            for code in CODES:
                n = data.count(b'"code":"' + code + b'"')
                if n:
                    self.errors[code.decode()] = self.errors.get(code.decode(), 0) + n
            tail = (tail + data)[-256:]
        # A close frame is the last thing the node sends: 0x88, a length, code, reason.
        for at in range(len(tail) - 4, -1, -1):
            if tail[at] == 0x88 and at + 2 + tail[at + 1] == len(tail):
                self.close_code = struct.unpack_from("!H", tail, at + 2)[0]
                break


class Probe:
    """Publishes with an id at a steady rate and times each ack."""

    def __init__(self, port, rate):
        self.sock, rest = handshake(port)
        self.reader = FrameReader(rest)
        self.interval = 1.0 / rate
        self.sent_at = {}
        self.rtts = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.send_loop, daemon=True),
                        threading.Thread(target=self.recv_loop, daemon=True)]

    def send_loop(self):
        n = 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            n += 1
            frame = masked_text_frame(json.dumps(
                {"type": "publish", "topic": "probe", "data": n, "id": n}).encode())
            with self.lock:
                self.sent_at[n] = time.monotonic()
            self.sock.sendall(frame)
            next_at += self.interval
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def recv_loop(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            for opcode, payload in self.reader.feed(data):
                msg = json.loads(payload) if opcode == 1 else {}
                if msg.get("type") == "ack":
                    with self.lock:
                        sent = self.sent_at.pop(msg["id"], None)
                    if sent is not None:
                        self.rtts.append((now - sent) * 1000)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--node", default="build/app/switchboard")
    ap.add_argument("--node-flags", default="")
    ap.add_argument("--flooders", type=int, default=3)
    ap.add_argument("--size", type=int, default=60 * 1024)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--probe-rate", type=float, default=20.0)
    args = ap.parse_args()

    node = subprocess.Popen([args.node, "--port=0", "--log-level=warn", *args.node_flags.split()],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        line = node.stdout.readline().decode()
        port = int(line.rsplit(":", 1)[1].strip().split("/")[0])
        payload = b'{"type":"publish","topic":"t","data":"' + b"x" * (args.size - 38)
        frame = masked_text_frame(payload)
        probe = Probe(port, args.probe_rate)
        ctx = multiprocessing.get_context("fork")
        go, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
        readies = [ctx.Event() for _ in range(args.flooders)]
        procs = [ctx.Process(target=flood, args=(port, frame, r, go, stop, results))
                 for r in readies]
        for p in procs:
            p.start()
        for r in readies:
            r.wait(10)
        cpu0, t0 = cpu_seconds(node.pid), time.monotonic()
        go.set()
        for t in probe.threads:
            t.start()
        time.sleep(args.seconds)
        cpu1, t1 = cpu_seconds(node.pid), time.monotonic()
        stop.set()
        probe.stop.set()
        for t in probe.threads:
            t.join(2)
        probe.sock.close()
        flood_results = [results.get(timeout=10) for _ in procs]
        for p in procs:
            p.join(5)
        print(json.dumps({
            "node_flags": args.node_flags, "flooders": args.flooders, "size": args.size,
            "seconds": round(t1 - t0, 2),
            "node_cpu_share_of_a_core": round((cpu1 - cpu0) / (t1 - t0), 3),
            "probe": {"acks": len(probe.rtts), "p50_ms": percentile(probe.rtts, 0.5),
                      "p99_ms": percentile(probe.rtts, 0.99),
                      "max_ms": percentile(probe.rtts, 1.0)},
            "flood": flood_results,
        }))
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        try:
            node.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()


if __name__ == "__main__":
    main()
