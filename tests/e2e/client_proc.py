"""A python3-websockets client meant to run in a child process (so that a test
can SIGKILL or SIGSTOP it). It reports events as JSON lines on stdout:

  {"event": "ready", "id": CONN_ID}            connected (and subscribed)
  {"event": "message", "frame": {...}}         with --echo, every frame
  {"event": "closed", "code": C, "reason": R}  the server closed the connection

It never pings on its own (ping_interval=None) but answers the server's pings,
and it exits by itself after --lifetime seconds at most.
"""

import argparse
import asyncio
import json
import sys

import websockets


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def main(args):
    ws = await websockets.connect(args.url, ping_interval=None, open_timeout=10,
                                  close_timeout=2)
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if args.topic is not None:
        await ws.send(json.dumps({"type": "subscribe", "topic": args.topic}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if reply.get("type") != "subscribed":
            emit(event="error", frame=reply)
            return 1
    emit(event="ready", id=welcome.get("id"))
    try:
        while True:
            frame = await ws.recv()
            if args.echo:
                emit(event="message", frame=json.loads(frame))
    except websockets.ConnectionClosed as e:
        rcvd = e.rcvd
        emit(event="closed", code=rcvd.code if rcvd else None,
             reason=rcvd.reason if rcvd else None)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--topic")
    parser.add_argument("--echo", action="store_true")
    parser.add_argument("--lifetime", type=float, default=60.0)
    args = parser.parse_args()

    async def bounded():
        try:
            return await asyncio.wait_for(main(args), args.lifetime)
        except asyncio.TimeoutError:
            emit(event="lifetime_over")
            return 3

    sys.exit(asyncio.run(bounded()))
