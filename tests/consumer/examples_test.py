"""Runs the installed examples (share/switchboard/examples/) against real
clients. Usage:
  examples_test.py chat CHAT_BINARY CHAT_CONF
  examples_test.py backend BACKEND_BINARY TALLY_BINARY
chat: the node's options come from the application's own config file (the
`switchboard` category of chat.conf, the port overridden on the command
line); the service, the authorizer, the listener and the ticker answer a
WebSocket client; SIGTERM closes it with 1001 and the process exits 0.
backend: a second process asks the backend's own remote actor (CAF's
middleman, next to the node) for a std::map it registered under its own
name, and gets what the WebSocket clients published."""

import asyncio
import json
import subprocess
import sys

import websockets

from client_support import expect_close, fail, kill, recv_json, start, stop


async def chat(binary, conf):
    proc, url = await start([binary, f"--config-file={conf}", "--switchboard.port=0",
                             "--chat.tick-interval=50ms"], "chat listening on ")
    try:
        async with websockets.connect(url, open_timeout=10, close_timeout=2,
                                      max_size=None) as ws:
            await recv_json(ws, "welcome")
            await ws.send(json.dumps({"type": "subscribe", "topic": "ticks", "id": 1}))
            await ws.send(json.dumps({"type": "subscribe", "topic": "chat/stats", "id": 2}))
            tick = await recv_json(ws, "message")
            if tick["topic"] != "ticks" or not isinstance(tick["data"].get("tick"), int):
                fail(f"expected a tick, got {tick!r}")
            await ws.send(json.dumps({"type": "send", "to": "service:bot",
                                      "data": ["hi", 1], "id": 3}))
            answer = await recv_json(ws, "direct")
            if answer != {"type": "direct", "from": "service:bot",
                          "data": {"you_said": ["hi", 1], "user": ""}}:
                fail(f"unexpected answer {answer!r}")
            await ws.send(json.dumps({"type": "publish", "topic": "announce/x",
                                      "data": 1, "id": 4}))
            refused = await recv_json(ws, "error")
            if refused.get("code") != "forbidden" or refused.get("id") != 4:
                fail(f"expected forbidden, got {refused!r}")
            await ws.send(json.dumps({"type": "publish", "topic": "chat/lobby",
                                      "data": "hello", "id": 5}))
            while True:
                stats = await recv_json(ws, "message")
                if stats["topic"] == "chat/stats":
                    break
            if stats["data"]["bytes"] != 7:
                fail(f"unexpected stats {stats!r}")
            await stop(proc, ws)
        # chat.conf's max-message-size (16384) applies: a bigger message is
        # refused with 1009.
        proc, url = await start([binary, f"--config-file={conf}", "--switchboard.port=0"],
                                "chat listening on ")
        async with websockets.connect(url, open_timeout=10, close_timeout=2) as ws:
            await recv_json(ws, "welcome")
            await ws.send(json.dumps({"type": "publish", "topic": "chat/lobby",
                                      "data": "x" * 20000}))
            await expect_close(ws, 1009, "for a message above chat.conf's max-message-size")
            async with websockets.connect(url, open_timeout=10, close_timeout=2) as ws2:
                await recv_json(ws2, "welcome")
                await stop(proc, ws2)
    finally:
        kill(proc)
    print("examples_test: chat ok")


async def backend(binary, tally):
    proc, rest = await start([binary, "--port=0", "--counter-port=0"],
                             "backend listening on ")
    try:
        url, _, counter_port = rest.partition(" counter on ")
        async with websockets.connect(url, open_timeout=10, close_timeout=2) as ws:
            await recv_json(ws, "welcome")
            for i, topic in enumerate(["orders", "orders", "returns"]):
                await ws.send(json.dumps({"type": "publish", "topic": topic,
                                          "data": i, "id": i}))
                await recv_json(ws, "ack")
            out = await asyncio.wait_for(asyncio.to_thread(
                subprocess.run, [tally, f"--port={counter_port}"], capture_output=True,
                text=True, timeout=20), 25)
            if out.returncode != 0 or out.stdout.split() != ["orders=2", "returns=1"]:
                fail(f"tally: exit {out.returncode}, stdout {out.stdout!r}, "
                     f"stderr {out.stderr[-2000:]!r}")
            await stop(proc, ws)
    finally:
        kill(proc)
    print("examples_test: backend ok")


if len(sys.argv) != 4 or sys.argv[1] not in ("chat", "backend"):
    fail(__doc__)
asyncio.run({"chat": chat, "backend": backend}[sys.argv[1]](sys.argv[2], sys.argv[3]))
