#!/usr/bin/python3
"""History benchmarks (docs/benchmarks.md, "History and recovery"), against a switchboard
node this script starts on loopback with a namespace `hist` (history-size, TTL 1 h):

  memory   TOPICS topics x PER messages of SIZE bytes published into history over one
           WebSocket (no subscribers): the node's RSS before and after, /stats' history
           bytes, bytes of RSS per message kept.
  storm    CLIENTS clients subscribe to one history topic, all disconnect, BEHIND messages
           are published, then all reconnect at once with `since`: time until every client
           has its reply (recovered:true) and all BEHIND replayed messages; the node's CPU
           meanwhile; the publish-to-receive latency of a probe in a process of its own
           (one publish every 10 ms on another topic) before and during the storm.
  restart  the same storm across a node restart, the history in a redis-server the script
           starts (--redis): CLIENTS clients subscribe to one history topic and receive
           BEHIND/2 messages live, the node is killed (SIGKILL) and started again on the same
           port, BEHIND messages are published through the new node, then all clients
           reconnect at once with `since` (their last offset): time until every client has
           recovered:true and exactly the BEHIND missed offsets, in order (counted:
           recovered_true, exact_replays), the node's and Redis's CPU meanwhile, and
           node_restart_s (kill until the new node listens and is connected to Redis).

  tools/history_bench.py --switchboard build/app/switchboard --mode memory \\
      [--topics 10000 --per 100 --size 64]
  tools/history_bench.py --switchboard build/app/switchboard --mode storm \\
      [--clients 1000 --behind 100 --reps 3]
  tools/history_bench.py --switchboard build/app/switchboard --mode restart \\
      [--clients 1000 --behind 100 --reps 3]

Prints one JSON object per run. Everything is bounded: the node is started with --port=0 on
127.0.0.1 and killed at the end, every wait has a deadline (--timeout, whole run).
The clients run in this one Python process: on a 2-core machine they share the cores with
the node, and the storm's time includes their parsing (the node's CPU seconds are reported
apart, from /proc).
"""
import argparse
import asyncio
import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

TOPIC = "hist:storm"


def start_node(binary, history_size, extra, port=0):
    conf = tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False)
    conf.write(f"[namespaces]\nhist={{history-size={history_size}, history-ttl=1h}}\n")
    conf.close()
    proc = subprocess.Popen(
        [binary, f"--port={port}", f"--config-file={conf.name}", "--client-rate=0",
         "--max-connections-per-address=100000", "--handshake-burst=100000",
         "--handshake-rate=100000", "--max-pending-connections-per-address=100000",
         "--log-level=warn", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    line = proc.stdout.readline().decode().strip()
    os.unlink(conf.name)
    prefix = "switchboard listening on ws://127.0.0.1:"
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"unexpected first line {line!r}")
    port = int(line[len(prefix):].split("/")[0])
    return proc, port


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        return json.loads(r.read())


async def connect(url):
    ws = await websockets.connect(url, ping_interval=None, max_queue=None, max_size=2 ** 24,
                                  open_timeout=30)
    await ws.recv()  # welcome
    return ws


async def publish_all(url, topics, count, size, timeout):
    """`count` messages of `size` data bytes on each of `topics`, then an acked one."""
    ws = await connect(url)
    data = json.dumps("x" * (size - 2))
    for i in range(count):
        for t in topics:
            await ws.send(f'{{"type":"publish","topic":"{t}","data":{data}}}')
    await ws.send('{"type":"publish","topic":"done","data":0,"id":1}')
    while json.loads(await asyncio.wait_for(ws.recv(), timeout)).get("type") != "ack":
        pass
    await ws.close()


def memory(args):
    proc, port = start_node(args.switchboard, args.per, [])
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        time.sleep(0.5)
        before = rss_kb(proc.pid)
        topics = [f"hist:m{i}" for i in range(args.topics)]
        t0 = time.monotonic()
        asyncio.run(asyncio.wait_for(publish_all(url, topics, args.per, args.size, 60),
                                     args.timeout))
        took = time.monotonic() - t0
        time.sleep(0.5)
        after = rss_kb(proc.pid)
        h = stats(port)["history"]
        kept = h["messages"]
        return {"mode": "memory", "topics": args.topics, "per_topic": args.per,
                "size": args.size, "messages_kept": kept, "history_topics": h["topics"],
                "history_bytes": h["bytes"], "rss_before_kb": before, "rss_after_kb": after,
                "rss_per_message_b": round((after - before) * 1024 / max(kept, 1), 1),
                "publish_s": round(took, 2)}
    finally:
        proc.kill()
        proc.wait()


async def probe(url, seconds):
    """Its own process (--mode probe): one publish every 10 ms on a topic of its own for
    `seconds`; prints each round trip (monotonic send time, seconds) as a JSON line."""
    ws = await connect(url)
    await ws.send('{"type":"subscribe","topic":"probe"}')
    await ws.recv()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        await ws.send('{"type":"publish","topic":"probe","data":0}')
        await asyncio.wait_for(ws.recv(), 10)
        print(json.dumps([t0, time.monotonic() - t0]), flush=True)
        await asyncio.sleep(0.01)
    await ws.close()


class RawClient:
    """A minimal WebSocket client on asyncio streams: the storm's 1000 clients must not
    spend more time in a client library than the node spends serving them. It reads frame
    headers only (the replayed messages are counted, not parsed)."""

    async def open(self, port):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise AssertionError(head)
        await self.frame()  # welcome

    def send(self, text):
        data = text.encode()
        n = len(data)
        header = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + \
            struct.pack("!H", n)
        self.writer.write(header + b"\0\0\0\0" + data)  # a zero mask leaves data as is

    async def frame(self):
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return await self.reader.readexactly(n)

    def close(self):
        self.writer.close()


async def recover(port, since, behind, done_at):
    c = RawClient()
    await c.open(port)
    c.send(json.dumps({"type": "subscribe", "topic": TOPIC, "since": since}))
    reply = json.loads(await c.frame())
    if not reply.get("recovered"):
        raise AssertionError(f"not recovered: {reply}")
    for _ in range(behind):
        await c.frame()
    done_at.append(time.monotonic())
    return c


async def storm_once(url, port, pid, args):
    # Everybody subscribes, notes its position, and goes away.
    clients = await asyncio.gather(*(connect(url) for _ in range(args.clients)))
    since = None
    for ws in clients:
        await ws.send(json.dumps({"type": "subscribe", "topic": TOPIC}))
        reply = json.loads(await ws.recv())
        since = {"offset": reply["offset"], "epoch": reply["epoch"]}
    await asyncio.gather(*(ws.close() for ws in clients))
    await publish_all(url, [TOPIC], args.behind, args.size, 60)
    prober = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--mode=probe",
                               f"--url={url}", f"--seconds={args.probe_seconds}"],
                              stdout=subprocess.PIPE)
    await asyncio.sleep(1.0)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    done_at = []
    back = await asyncio.gather(*(recover(port, since, args.behind, done_at)
                                  for _ in range(args.clients)))
    took = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    for c in back:
        c.close()
    out, _ = prober.communicate(timeout=args.probe_seconds + 30)
    rounds = [json.loads(line) for line in out.decode().splitlines()]
    during = sorted(rtt for sent, rtt in rounds if t0 <= sent <= t0 + took) or [0.0]
    before = sorted(rtt for sent, rtt in rounds if sent < t0) or [0.0]
    pct = lambda xs, p: round(1000 * xs[min(len(xs) - 1, int(p * len(xs)))], 2)
    done = sorted(d - t0 for d in done_at)
    return {"mode": "storm", "clients": args.clients, "behind": args.behind,
            "all_recovered_s": round(took, 3), "median_client_s": round(done[len(done) // 2], 3),
            "node_cpu_s": round(cpu, 3),
            "probe_ms_before": {"p50": pct(before, 0.5), "p99": pct(before, 0.99)},
            "probe_ms_during": {"p50": pct(during, 0.5), "p99": pct(during, 0.99),
                                "max": pct(during, 1.0), "samples": len(during)}}


def storm(args):
    proc, port = start_node(args.switchboard, 1000, [])
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        results = []
        for _ in range(args.reps):
            results.append(asyncio.run(asyncio.wait_for(storm_once(url, port, proc.pid, args),
                                                        args.timeout)))
        return results
    finally:
        proc.kill()
        proc.wait()

OFFSET = re.compile(rb'"offset":(\d+)')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not answer PING within 10 s")


async def subscribe(port):
    c = RawClient()
    await c.open(port)
    c.send(json.dumps({"type": "subscribe", "topic": TOPIC}))
    return c, json.loads(await c.frame())


async def read_live(c, reply, live):
    """Reads `live` live messages in order; returns the client's position after them."""
    last = reply["offset"]
    for _ in range(live):
        n = int(OFFSET.search(await c.frame()).group(1))
        if n != last + 1:
            raise AssertionError(f"live offset {n} after {last}")
        last = n
    return {"offset": last, "epoch": reply["epoch"]}


def wait_redis_connected(port, seconds=10):
    """The node answers on `port` and /stats says every Redis server is connected: before
    that, publishes on history topics answer `unavailable`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        servers = stats(port).get("redis", {}).get("servers", [])
        if servers and all(s["connected"] for s in servers):
            return
        time.sleep(0.01)
    raise SystemExit(f"the node on {port} did not connect to Redis within {seconds} s")


async def recover_exact(port, since, behind, done_at, outcome):
    """Reconnects with `since`; counts recovered:true and an exact replay of the next `behind`
    offsets (a client that is not recovered gets no replay, so nothing more is read)."""
    c = RawClient()
    await c.open(port)
    c.send(json.dumps({"type": "subscribe", "topic": TOPIC, "since": since}))
    reply = json.loads(await c.frame())
    if reply.get("recovered") and reply["epoch"] == since["epoch"]:
        outcome["recovered_true"] += 1
        got = [int(OFFSET.search(await c.frame()).group(1)) for _ in range(behind)]
        if got == list(range(since["offset"] + 1, since["offset"] + behind + 1)):
            outcome["exact_replays"] += 1
        else:
            outcome["wrong_replays"].append([got[:3], got[-3:], since])
    else:
        outcome["not_recovered"].append(reply)
    done_at.append(time.monotonic())
    c.close()


async def restart_once(node, port, redis_pid, args):
    """One storm across a restart; `node` is a one-element list holding the node's Popen."""
    url = f"ws://127.0.0.1:{port}/ws"
    live = args.behind // 2
    subs = await asyncio.gather(*(subscribe(port) for _ in range(args.clients)))
    await publish_all(url, [TOPIC], live, args.size, 60)
    clients = [(c, await read_live(c, reply, live)) for c, reply in subs]
    positions = {json.dumps(since) for _, since in clients}
    node[0].send_signal(signal.SIGKILL)
    node[0].wait()
    for c, _ in clients:
        c.close()
    t_kill = time.monotonic()
    node[0], _ = start_node(args.switchboard, 1000, args.node_args, port)
    wait_redis_connected(port)
    restart_s = time.monotonic() - t_kill
    await publish_all(url, [TOPIC], args.behind, args.size, 60)
    cpu0, rcpu0, t0 = cpu_seconds(node[0].pid), cpu_seconds(redis_pid), time.monotonic()
    done_at = []
    outcome = {"recovered_true": 0, "exact_replays": 0, "not_recovered": [], "wrong_replays": []}
    await asyncio.gather(*(recover_exact(port, since, args.behind, done_at, outcome)
                           for _, since in clients))
    took = time.monotonic() - t0
    done = sorted(d - t0 for d in done_at)
    return {"mode": "restart", "clients": args.clients, "behind": args.behind,
            "live_before_kill": live, "distinct_positions": len(positions),
            "node_restart_s": round(restart_s, 3), "answered": len(done_at),
            "recovered_true": outcome["recovered_true"], "exact_replays": outcome["exact_replays"],
            "not_recovered": outcome["not_recovered"][:3],
            "wrong_replays": outcome["wrong_replays"][:3],
            "all_recovered_s": round(took, 3), "median_client_s": round(done[len(done) // 2], 3),
            "node_cpu_s": round(cpu_seconds(node[0].pid) - cpu0, 3),
            "redis_cpu_s": round(cpu_seconds(redis_pid) - rcpu0, 3)}


def restart(args):
    redis, rport = start_redis()
    args.node_args = [f"--redis=127.0.0.1:{rport}"]
    port = free_port()
    node = [start_node(args.switchboard, 1000, args.node_args, port)[0]]
    wait_redis_connected(port)
    try:
        return [asyncio.run(asyncio.wait_for(restart_once(node, port, redis.pid, args),
                                             args.timeout)) for _ in range(args.reps)]
    finally:
        node[0].kill()
        node[0].wait()
        redis.kill()
        redis.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--switchboard", default="build/app/switchboard")
    p.add_argument("--mode", choices=["memory", "storm", "restart", "probe"], required=True)
    p.add_argument("--url", default="")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--probe-seconds", type=float, default=6)
    p.add_argument("--topics", type=int, default=10000)
    p.add_argument("--per", type=int, default=100)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--behind", type=int, default=100)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()
    if args.mode == "probe":
        asyncio.run(asyncio.wait_for(probe(args.url, args.seconds), args.seconds + 30))
    elif args.mode == "memory":
        print(json.dumps(memory(args)))
    else:
        results = (storm if args.mode == "storm" else restart)(args)
        for r in results:
            print(json.dumps(r))
        sys.stdout.flush()
        # restart: exit 1 unless every client recovered with every missed message
        if any(r.get("exact_replays", args.clients) != args.clients for r in results):
            sys.exit(1)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
