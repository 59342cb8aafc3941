"""History, recovery, presence and join/leave (protocol v1.1) against a real
node: a client that loses its TCP connection while a publisher runs at full
speed reconnects with `since` and sees every offset exactly once, in order;
a restarted node answers `recovered:false` with a new epoch."""

import asyncio
import json
import os
import subprocess
import tempfile
import unittest

from harness import (SLACK, ServerTestCase, recv_json, run_async, send_json, server_binary,
                     ws_connect)

TOPIC = "chat:e2e"
NAMESPACES = ("[namespaces]\n"
              "chat={history-size=100000, history-ttl=10min, presence=true, "
              "join-leave=true}\n")


class History(ServerTestCase):
    def config_file(self, text=NAMESPACES):
        fd, path = tempfile.mkstemp(prefix="test-history-", suffix=".ini")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path

    def node(self, *flags):
        # No command rate limit (the publisher runs at full speed); a send
        # queue that a Python reader behind a full-speed publisher does not
        # overflow, and a send buffer that holds a long replay (the replay
        # budget is half of it).
        return self.start_server(f"--config-file={self.config_file()}", "--client-rate=0",
                                 "--recovery-max=100000", "--send-queue=100000",
                                 "--send-buffer=67108864", *flags)

    def test_a_dropped_client_recovers_every_offset_exactly_once(self):
        server = self.node()
        total = 20000

        async def publisher():
            ws, _ = await ws_connect(server)
            try:
                for i in range(1, total + 1):
                    await ws.send(json.dumps({"type": "publish", "topic": TOPIC, "data": i}))
                # The last one with an id: its ack says all were handled.
                await send_json(ws, {"type": "publish", "topic": "other", "data": 0, "id": 1})
                while (await recv_json(ws, 30 * SLACK)).get("type") != "ack":
                    pass
            finally:
                await ws.close()

        async def subscriber():
            seen = []
            ws, _ = await ws_connect(server)
            await send_json(ws, {"type": "subscribe", "topic": TOPIC})
            reply = await recv_json(ws)
            self.assertEqual(reply["offset"], 0)
            epoch = reply["epoch"]
            pub = asyncio.ensure_future(publisher())
            # Read a while, then lose the TCP connection without a close:
            # whatever was on its way is gone with it.
            while len(seen) < total // 10:
                seen.append((await recv_json(ws, 10 * SLACK))["offset"])
            ws.transport.abort()
            await asyncio.sleep(0.05)
            ws, _ = await ws_connect(server)
            try:
                await send_json(ws, {"type": "subscribe", "topic": TOPIC,
                                     "since": {"offset": seen[-1], "epoch": epoch}})
                reply = await recv_json(ws, 10 * SLACK)
                self.assertEqual(reply["type"], "subscribed", reply)
                self.assertTrue(reply["recovered"], reply)
                self.assertEqual(reply["epoch"], epoch)
                # Messages went by while it was away: the replay has them.
                self.assertGreater(reply["offset"], seen[-1])
                while seen[-1] < total:
                    frame = await recv_json(ws, 10 * SLACK)
                    self.assertEqual(frame["type"], "message", frame)
                    seen.append(frame["offset"])
                await pub
            finally:
                await ws.close()
            return seen

        seen = run_async(subscriber(), 120 * SLACK)
        self.assertEqual(seen, list(range(1, total + 1)))
        stats = server.stats()
        self.assertEqual(stats["history"]["recovered"], 1)
        self.assertEqual(stats["history"]["messages"], total)

    def test_a_restarted_node_answers_recovered_false_with_a_new_epoch(self):
        path = self.config_file()
        first = self.start_server(f"--config-file={path}")

        async def publish_and_note(server):
            ws, _ = await ws_connect(server)
            try:
                await send_json(ws, {"type": "subscribe", "topic": TOPIC})
                epoch = (await recv_json(ws))["epoch"]
                await send_json(ws, {"type": "publish", "topic": TOPIC, "data": "x"})
                message = await recv_json(ws)
                self.assertEqual(message["offset"], 1)
                return epoch
            finally:
                await ws.close()

        epoch = run_async(publish_and_note(first), 10 * SLACK)
        first.close()
        second = self.start_server(f"--config-file={path}")

        async def recover():
            ws, _ = await ws_connect(second)
            try:
                await send_json(ws, {"type": "subscribe", "topic": TOPIC, "id": 5,
                                     "since": {"offset": 1, "epoch": epoch}})
                return await recv_json(ws)
            finally:
                await ws.close()

        reply = run_async(recover(), 10 * SLACK)
        self.assertEqual(reply["recovered"], False)
        self.assertEqual(reply["offset"], 0)
        self.assertNotEqual(reply["epoch"], epoch)
        self.assertEqual(reply["id"], 5)

    def test_presence_and_join_leave(self):
        server = self.node()

        async def main():
            watcher, _ = await ws_connect(server)
            other, other_id = await ws_connect(server)
            try:
                await send_json(watcher, {"type": "subscribe", "topic": TOPIC,
                                          "join_leave": True})
                await recv_json(watcher)
                await send_json(other, {"type": "subscribe", "topic": TOPIC})
                await recv_json(other)
                self.assertEqual(await recv_json(watcher),
                                 {"type": "join", "topic": TOPIC, "id": other_id})
                await send_json(watcher, {"type": "presence_stats", "topic": TOPIC})
                self.assertEqual(await recv_json(watcher),
                                 {"type": "presence_stats", "topic": TOPIC, "clients": 2,
                                  "users": 0})
                other.transport.abort()
                self.assertEqual(await recv_json(watcher, 5 * SLACK),
                                 {"type": "leave", "topic": TOPIC, "id": other_id})
                await send_json(watcher, {"type": "presence", "topic": TOPIC})
                presence = await recv_json(watcher)
                self.assertEqual(len(presence["clients"]), 1)
                self.assertFalse(presence["truncated"])
            finally:
                await watcher.close()

        run_async(main(), 20 * SLACK)
        stats = server.stats()
        self.assertEqual(stats["join_leave"]["sent"], 2)
        self.assertEqual(stats["presence_queries"], 2)

    def test_the_server_api_reads_and_removes_history(self):
        key = "history-e2e-key-0123456789"
        server = self.node(f"--api-key={key}")
        auth = {"Authorization": f"apikey {key}", "Content-Type": "application/json"}

        def api(path, body):
            status, _, data = server.http("POST", path, json.dumps(body), auth)
            return status, data.decode()

        status, body = api("/api/publish", {"topic": TOPIC, "data": {"n": 1.0}})
        self.assertEqual(status, 200, body)
        published = json.loads(body)
        self.assertEqual(published["offset"], 1)
        self.assertEqual(api("/api/publish", {"topic": "plain", "data": 1}),
                         (200, '{"delivered":0}\n'))
        status, body = api("/api/history", {"topic": TOPIC, "limit": 10})
        self.assertEqual(status, 200, body)
        # The data as published, verbatim (1.0 stays 1.0).
        self.assertIn('"messages":[{"offset":1,"data":{"n": 1.0}}]', body)
        self.assertEqual(json.loads(body)["epoch"], published["epoch"])
        status, body = api("/api/history_remove", {"topic": TOPIC})
        self.assertEqual(status, 200, body)
        status, body = api("/api/history", {"topic": TOPIC})
        self.assertEqual(json.loads(body)["messages"], [])
        status, body = api("/api/presence_stats", {"topic": TOPIC})
        self.assertEqual(json.loads(body), {"topic": TOPIC, "clients": 0, "users": 0})
        status, body = api("/api/history", {"topic": "plain"})
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["error"], "not_enabled")

    def test_impossible_options_exit_2_with_a_message(self):
        path = self.config_file("[namespaces]\nchat={history-size=-1, colour=1}\n")
        for flags, expected in [
                ([f"--config-file={path}"], "namespace chat: unknown option colour"),
                ([f"--config-file={path}"], "namespace chat: history-size must be a count"),
                (["--history-ttl=0s"], "history-ttl must be 1s-7d"),
                (["--recovery-max=0"], "recovery-max must be 1-100000"),
                (["--history-max-bytes=1000"], "history-max-bytes must be at least 1 MiB"),
                (["--presence=maybe"], "presence must be true or false")]:
            p = subprocess.run([server_binary(), "--port=0", *flags], capture_output=True,
                               timeout=10 * SLACK)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(expected, p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
