#!/usr/bin/python3
"""What permessage-deflate costs a node once it is used: the node's RSS before and after
one python3-websockets client publishes three compressible 12 KB messages to itself
(compressed both ways, so the I/O thread makes its deflater and inflater).

usage: tools/deflate_rss.py SERVER_PID ws://127.0.0.1:PORT/ws 0|1   (1: offer compression)
Run it against a fresh node with --io-threads=1 --compression (docs/benchmarks.md)."""

import asyncio
import json
import sys
import time

import websockets


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    raise SystemExit(f"no VmRSS for pid {pid}")


async def main(pid, url, offer):
    ws = await websockets.connect(url, compression="deflate" if offer else None,
                                  ping_interval=None, open_timeout=10)
    await asyncio.wait_for(ws.recv(), 5)  # welcome
    await ws.send(json.dumps({"type": "subscribe", "topic": "t", "id": 1}))
    await asyncio.wait_for(ws.recv(), 5)
    time.sleep(0.3)
    before = rss_kb(pid)
    data = " ".join(f"word{i % 97}" for i in range(2000))
    for _ in range(3):
        await ws.send(json.dumps({"type": "publish", "topic": "t", "data": data}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message["data"] == data
    time.sleep(0.3)
    after = rss_kb(pid)
    print(f"offer={int(offer)} negotiated={[e.name for e in ws.extensions]} "
          f"rss_before_kb={before} rss_after_kb={after} delta_kb={after - before}")
    await ws.close()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"))
