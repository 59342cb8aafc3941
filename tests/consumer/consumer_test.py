"""Runs the installed-package consumer (tests/consumer/project) against a real
WebSocket client: usage: consumer_test.py GREETER_BINARY"""

import asyncio
import json
import sys

import websockets

from client_support import fail, kill, recv_json, start, stop


async def main(binary):
    proc, url = await start([binary, "--port=0"], "greeter listening on ")
    try:
        async with websockets.connect(url, open_timeout=10, close_timeout=2) as ws:
            welcome = await recv_json(ws)
            if welcome.get("type") != "welcome":
                fail(f"expected a welcome, got {welcome!r}")
            await ws.send(json.dumps({"type": "send", "to": "service:greeter",
                                      "data": "consumer", "id": 7}))
            got = [await recv_json(ws) for _ in range(2)]
            want = [{"type": "ack", "id": 7},
                    {"type": "direct", "from": "service:greeter",
                     "data": {"hello": "consumer"}}]
            if got != want:
                fail(f"expected {want!r}, got {got!r}")
            await stop(proc, ws)
        print("consumer_test: ok")
    finally:
        kill(proc)


asyncio.run(main(sys.argv[1]))
