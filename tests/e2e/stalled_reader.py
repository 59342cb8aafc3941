"""A client that stops reading while frames pile up for it on the node, then
reads again: the scenarios of test_slow_reader.py (ws://) and test_tls.py
(wss://), each run over that suite's own sockets. Not a test module.

The clients are harness.RawWS (or its TLS variant) with a small receive
buffer: once the kernel buffers are full, the node's write waits for the
socket while more frames and control frames queue behind it."""

import re
import socket
import time

from harness import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, SLACK, PeerClosed, wait_until

TOPIC = "stall"
PAYLOAD = "p" * 32000
# A flush that found more frames queued than this shows that the node's
# writes waited for the socket (for a client that reads, one or two are).
DEEP_QUEUE = 32
# What the kernel takes for a client that does not read (its receive buffer
# and the node's send buffer, which Linux grows up to net.ipv4.tcp_wmem's
# maximum, 4 MiB by default) is far less than this many frames.
MAX_BURST = 512
# The node's flags these scenarios need besides their own: room for all of
# it within the send bound, and no rate limit on the publisher.
FLAGS = ("--send-queue=100000", f"--send-buffer={64 << 20}", "--max-message-size=65536",
         "--client-rate=0")


def subscribe(ws, topic=TOPIC):
    ws.send_json({"type": "subscribe", "topic": topic, "id": 0})
    reply = ws.recv_json()
    if reply != {"type": "subscribed", "topic": topic, "id": 0}:
        raise AssertionError(f"subscribe: got {reply!r}")


def publish(pub, seq):
    pub.send_json({"type": "publish", "topic": TOPIC, "data": {"seq": seq, "p": PAYLOAD}})


def message(seq):
    return {"type": "message", "topic": TOPIC, "data": {"seq": seq, "p": PAYLOAD}}


def deep_flushes(metrics_text):
    """Flushes that found more than DEEP_QUEUE frames queued, from a /metrics page."""
    def sample(name):
        m = re.search(rf"^{name} (\S+)$", metrics_text, re.MULTILINE)
        if not m:
            raise AssertionError(f"/metrics has no {name}")
        return float(m.group(1))
    return (sample("switchboard_writer_queue_frames_count")
            - sample(rf'switchboard_writer_queue_frames_bucket\{{le="{DEEP_QUEUE}"\}}'))


def fill(pub, metrics, each=lambda seq: None):
    """Publishes until the node's writes to the stalled client wait for its
    socket with more than DEEP_QUEUE frames queued behind them (`metrics()`
    returns the node's /metrics page); calls `each(seq)` after each frame.
    Returns the frames published."""
    seq = 0
    while deep_flushes(metrics()) == 0:
        if seq >= MAX_BURST:
            raise AssertionError(f"{seq} frames of {len(PAYLOAD)} bytes published, and no "
                                 f"flush found more than {DEEP_QUEUE} queued for a client "
                                 f"that does not read")
        for _ in range(16):
            publish(pub, seq)
            each(seq)
            seq += 1
    return seq


def check_frame(test, f):
    """Every frame the node sends is final, unmasked (recv_frame checks it)
    and without RSV bits (no extension was negotiated)."""
    test.assertTrue(f.fin, f)
    test.assertEqual(f.rsv, 0, f)


def read_ahead(ws, n, timeout):
    """Reads `n` bytes from `ws`'s socket into its buffer (recv_frame parses
    them later): the node's writes move on, then wait again."""
    deadline = time.monotonic() + timeout
    want = len(ws.buf) + n
    while len(ws.buf) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"read ahead: {want - len(ws.buf)} of {n} bytes missing "
                                 f"after {timeout}s")
        ws.sock.settimeout(left)
        chunk = ws.sock.recv(min(65536, want - len(ws.buf)))
        if not chunk:
            raise PeerClosed("EOF")
        ws.buf += chunk


def stall_with_pings(test, slow, pub, metrics, paced=100, interval=0.01, nudge=2 << 20):
    """`slow` (subscribed to TOPIC) reads nothing while `pub` publishes to it:
    at once until the node's writes wait for the socket (fill), then `paced`
    frames one per `interval`; `slow` pings the node once per frame, and the
    node pings `slow` on its own (a short --ping-interval), so frames, pings
    and pongs interleave in the queue. Then `slow` reads `nudge` bytes, and
    the node's writes move on into that mix and wait again, while `paced`
    more frames (and pings) make the queue grow behind them. Then `slow`
    reads everything: the bytes must be exactly the frames in order, each
    pong with its ping's payload. `metrics()` returns the node's /metrics
    page. Returns the node's pings seen."""
    def ping(seq):
        slow.send_frame(OP_PING, str(seq).encode())

    def paced_frames(first, n):
        for seq in range(first, first + n):
            publish(pub, seq)
            ping(seq)
            time.sleep(interval)  # the pace: the queue grows while a write waits
        return first + n

    count = paced_frames(fill(pub, metrics, ping), paced)
    read_ahead(slow, nudge, 10 * SLACK)
    count = paced_frames(count, paced)
    seq = pong = pings = 0
    deadline = time.monotonic() + 30 * SLACK
    while seq < count or pong < count:
        f = slow.recv_frame(timeout=max(0.0, deadline - time.monotonic()))
        check_frame(test, f)
        if f.opcode == OP_PING:
            test.assertEqual(f.payload, b"", f)
            pings += 1
        elif f.opcode == OP_PONG:
            test.assertEqual(f.payload, str(pong).encode(), f"pong {pong}")
            pong += 1
        else:
            # A close frame (1002, 1008, ...) or garbage ends the test here.
            test.assertEqual(f.opcode, OP_TEXT, f"{f!r} after {seq} messages, {pong} pongs")
            test.assertEqual(f.json(), message(seq))
            seq += 1
    return pings


def heartbeat_behind_queue(test, slow, pub, stats, metrics, close_timeout):
    """`slow` (subscribed to TOPIC) neither reads nor answers pings while
    frames are published to it: its heartbeat runs out while the node's
    writes wait for its socket (the node's --pong-timeout must leave time
    for the queue to form: checked). Once `stats()` (the node's /stats)
    shows the heartbeat_timeout, `slow` reads again and must find a prefix
    of the frames in order, then close 1001 "heartbeat timeout", then the
    end of the TCP connection, without answering the close and well within
    `close_timeout`: the node does not wait for a client it gave up on."""
    count = fill(pub, metrics)
    test.assertEqual(stats()["disconnects"]["heartbeat_timeout"], 0,
                     "the heartbeat ran out before the queue formed")

    def dropped():
        pub.send_frame(OP_PING)  # `pub` (which does not read either) stays alive
        return stats()["disconnects"]["heartbeat_timeout"]
    test.assertEqual(wait_until(dropped, 10 * SLACK, message="a heartbeat_timeout"), 1)
    cut = time.monotonic()
    seq = 0
    deadline = cut + 10 * SLACK
    while True:
        try:
            f = slow.recv_frame(timeout=max(0.0, deadline - time.monotonic()))
        except PeerClosed:
            raise AssertionError(f"the connection ended after {seq} frames without a close "
                                 f"frame") from None
        check_frame(test, f)
        if f.opcode == OP_PING:
            continue
        if f.opcode == OP_CLOSE:
            break
        test.assertEqual(f.opcode, OP_TEXT, f)
        test.assertEqual(f.json(), message(seq))
        seq += 1
    test.assertEqual((f.close_code, f.close_reason), (1001, "heartbeat timeout"))
    test.assertLess(seq, count, "what was still queued is dropped for a client that missed "
                                "its heartbeat")
    try:
        extra = slow.recv_frame(timeout=max(0.0, cut + close_timeout / 2 - time.monotonic()))
    except PeerClosed:
        return
    except (socket.timeout, TimeoutError):
        raise AssertionError(f"TCP still open {close_timeout / 2}s after the heartbeat "
                             f"timeout: the node waits for the client") from None
    raise AssertionError(f"{extra!r} after the close frame")
