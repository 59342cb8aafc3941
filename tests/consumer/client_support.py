"""What consumer_test.py and examples_test.py share: starting an installed
program that prints its URL, reading frames, and the graceful stop a real
client sees (SIGTERM: close 1001, exit status 0)."""

import asyncio
import json
import os
import signal
import subprocess
import sys

NAME = os.path.basename(sys.argv[0]).removesuffix(".py")


def fail(msg):
    print(f"{NAME}: {msg}", file=sys.stderr)
    sys.exit(1)


def stderr_tail(proc):
    return proc.stderr.read().decode()[-2000:]


async def start(args, prefix):
    """Starts `args` and returns (process, what its first line says after
    `prefix`)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 15)
    line = line.decode().strip()
    if not line.startswith(prefix):
        proc.kill()
        fail(f"{args[0]}: unexpected first line {line!r}; stderr: {stderr_tail(proc)}")
    return proc, line[len(prefix):]


def kill(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def recv_json(ws, want_type=None, timeout=5):
    """The next frame (of type `want_type`, skipping others)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(left, 0.01)))
        if want_type is None or msg.get("type") == want_type:
            return msg


async def expect_close(ws, code, what):
    """The server closes `ws` with `code` within 10 s (`what` says why it should)."""
    try:
        await asyncio.wait_for(ws.wait_closed(), 10)
    except asyncio.TimeoutError:
        fail(f"no close {what}")
    if ws.close_code != code:
        fail(f"expected close {code} {what}, got {ws.close_code}")


async def stop(proc, ws):
    """SIGTERM: `ws` gets 1001 and the process exits 0, each in bounded time."""
    proc.send_signal(signal.SIGTERM)
    await expect_close(ws, 1001, "after SIGTERM")
    rc = await asyncio.wait_for(asyncio.to_thread(proc.wait), 15)
    if rc != 0:
        fail(f"exit status {rc}; stderr: {stderr_tail(proc)}")
