"""Runs the installed-package consumer (tests/consumer/project) against a real
WebSocket client: usage: consumer_test.py GREETER_BINARY"""

import asyncio
import json
import os
import signal
import subprocess
import sys

import websockets


def fail(msg):
    print(f"consumer_test: {msg}", file=sys.stderr)
    sys.exit(1)


async def main(binary):
    proc = subprocess.Popen([binary, "--port=0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 10)
        line = line.decode().strip()
        prefix = "greeter listening on "
        if not line.startswith(prefix):
            fail(f"unexpected first line {line!r}")
        url = line[len(prefix):]
        async with websockets.connect(url, open_timeout=10, close_timeout=2) as ws:
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if welcome.get("type") != "welcome":
                fail(f"expected a welcome, got {welcome!r}")
            await ws.send(json.dumps({"type": "send", "to": "service:greeter",
                                      "data": "consumer", "id": 7}))
            got = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(2)]
            want = [{"type": "ack", "id": 7},
                    {"type": "direct", "from": "service:greeter",
                     "data": {"hello": "consumer"}}]
            if got != want:
                fail(f"expected {want!r}, got {got!r}")
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(ws.wait_closed(), 10)
            except asyncio.TimeoutError:
                fail("no close after SIGTERM")
            if ws.close_code != 1001:
                fail(f"expected close 1001, got {ws.close_code}")
        rc = await asyncio.wait_for(asyncio.to_thread(proc.wait), 15)
        if rc != 0:
            fail(f"exit status {rc}; stderr: {proc.stderr.read().decode()[-2000:]}")
        print("consumer_test: ok")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


asyncio.run(main(sys.argv[1]))
