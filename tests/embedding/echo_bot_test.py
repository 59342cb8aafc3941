"""Runs the embedding example (docs/embedding.md) against a real client.

Usage: echo_bot_test.py PATH_TO_ECHO_BOT
"""
import asyncio
import json
import signal
import subprocess
import sys

import websockets


async def exchange(url):
    async with websockets.connect(url) as asker, websockets.connect(url) as watcher:
        me = json.loads(await asker.recv())["id"]
        await watcher.recv()  # welcome
        await watcher.send(json.dumps({"type": "subscribe", "topic": "answers"}))
        assert json.loads(await watcher.recv())["type"] == "subscribed"
        await asker.send(json.dumps({"type": "publish", "topic": "questions",
                                     "data": {"q": "life?"}}))
        direct = json.loads(await asyncio.wait_for(asker.recv(), 5))
        assert direct == {"type": "direct", "from": 0,
                          "data": {"question": {"q": "life?"}, "answer": 42}}, direct
        broadcast = json.loads(await asyncio.wait_for(watcher.recv(), 5))
        assert broadcast == {"type": "message", "topic": "answers",
                             "data": {"question": {"q": "life?"}, "answer": 42}}, broadcast
        return me


def main():
    proc = subprocess.Popen([sys.argv[1], "--port=0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split()[-1]
        asyncio.run(asyncio.wait_for(exchange(url), 20))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    print("echo_bot example: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
