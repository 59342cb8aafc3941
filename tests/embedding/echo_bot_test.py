"""Runs the embedding example (docs/embedding.md) against a real client: a
question published on "questions" is answered directly (from id 0) and
broadcast on "answers"; SIGTERM closes the connected clients with 1001 and the
example exits 0.

Usage: echo_bot_test.py PATH_TO_ECHO_BOT

A plain script run by ctest, so every check raises on its own (no `assert`,
which `python3 -O` strips) and every wait is bounded.
"""
import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import time

import websockets


class CheckFailed(Exception):
    pass


def check_equal(got, expected, what):
    if got != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {got!r}")


def read_line(proc, timeout):
    """The first stdout line of `proc`, waiting at most `timeout` seconds."""
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CheckFailed(f"no line on stdout within {timeout}s (got {data!r})")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise CheckFailed(f"exited (rc={proc.poll()}) before printing a line")
            data += chunk
    return data.partition(b"\n")[0].decode()


async def recv_json(ws, what):
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), 5))
    except asyncio.TimeoutError:
        raise CheckFailed(f"no {what} within 5 s") from None


async def exchange(url, proc):
    async with websockets.connect(url) as asker, websockets.connect(url) as watcher:
        welcome = await recv_json(asker, "asker's welcome")
        check_equal(welcome.get("type"), "welcome", f"asker's first frame {welcome!r}")
        check_equal(type(welcome.get("id")), int, f"asker's id in {welcome!r}")
        check_equal((await recv_json(watcher, "welcome")).get("type"), "welcome",
                    "watcher's first frame")
        await watcher.send(json.dumps({"type": "subscribe", "topic": "answers"}))
        check_equal(await recv_json(watcher, "subscribed"),
                    {"type": "subscribed", "topic": "answers"}, "watcher's subscribe reply")
        await asker.send(json.dumps({"type": "publish", "topic": "questions",
                                     "data": {"q": "life?"}}))
        answer = {"question": {"q": "life?"}, "answer": 42}
        check_equal(await recv_json(asker, "direct"),
                    {"type": "direct", "from": 0, "data": answer}, "direct answer to the asker")
        check_equal(await recv_json(watcher, "broadcast"),
                    {"type": "message", "topic": "answers", "data": answer},
                    "broadcast on answers")
        # Stopping the node closes its clients with 1001.
        proc.send_signal(signal.SIGTERM)
        for name, ws in (("asker", asker), ("watcher", watcher)):
            await asyncio.wait_for(ws.wait_closed(), 10)
            check_equal(ws.close_code, 1001, f"{name}'s close code ({ws.close_reason!r})")


def main():
    proc = subprocess.Popen([sys.argv[1], "--port=0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE)
    try:
        line = read_line(proc, 10)
        prefix = "echo_bot listening on ws://127.0.0.1:"
        if not (line.startswith(prefix) and line.endswith("/ws")):
            raise CheckFailed(f"unexpected first line {line!r}")
        asyncio.run(asyncio.wait_for(exchange(line.split()[-1], proc), 30))
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise CheckFailed("still running 15 s after SIGTERM") from None
        check_equal(rc, 0, "exit status after SIGTERM")
    except CheckFailed as e:
        print(f"echo_bot example: FAILED: {e}")
        print("echo_bot example: 0 passed, 1 failed")
        return 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    print("echo_bot example: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
