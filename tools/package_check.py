"""The installed service package, run as its unit would run it: usage
package_check.py -- COMMAND... (the command prints "switchboard listening on
URL" first, as /usr/bin/switchboard does). A client connects, subscribes,
publishes and gets its message back; SIGHUP (the unit's reload) leaves the
node serving; SIGTERM closes the client with 1001 and the node exits 0.
Run by tools/package.sh."""

import asyncio
import json
import os
import signal
import sys

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "consumer"))
from client_support import fail, kill, recv_json, start, stop  # noqa: E402


async def round_trip(url, topic):
    """A connection that subscribes to `topic`, publishes on it and gets the
    ack and the message; returned open."""
    ws = await websockets.connect(url, open_timeout=10, close_timeout=2)
    welcome = await recv_json(ws)
    if welcome.get("type") != "welcome":
        fail(f"expected a welcome, got {welcome!r}")
    await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
    await recv_json(ws, "subscribed")
    await ws.send(json.dumps({"type": "publish", "topic": topic, "data": "hi", "id": 1}))
    # The ack and the message, in either order.
    got = sorted([await recv_json(ws), await recv_json(ws)], key=lambda m: m.get("type"))
    want = [{"type": "ack", "id": 1}, {"type": "message", "topic": topic, "data": "hi"}]
    if got != want:
        fail(f"expected {want!r}, got {got!r}")
    return ws


async def main(args):
    proc, url = await start(args, "switchboard listening on ")
    try:
        first = await round_trip(url, "package")
        await first.close()
        proc.send_signal(signal.SIGHUP)
        ws = await round_trip(url, "after-reload")
        if proc.poll() is not None:
            fail("the node exited on SIGHUP")
        await stop(proc, ws)
        print(f"package_check: ok ({url})")
    finally:
        kill(proc)


if len(sys.argv) < 3 or sys.argv[1] != "--":
    fail("usage: package_check.py -- COMMAND...")
asyncio.run(main(sys.argv[2:]))
