"""Many concurrent clients: every one receives every broadcast, in order."""

import asyncio
import time
import unittest

from harness import (ServerTestCase, raise_nofile, recv_json, run_async, send_json,
                     ws_connect)

CLIENTS = 500
BROADCASTS = 100


class Broadcast(ServerTestCase):
    def test_500_clients_receive_100_broadcasts(self):
        limit = raise_nofile(4 * CLIENTS)
        self.assertGreaterEqual(limit, CLIENTS + 100, "RLIMIT_NOFILE too low for the test")
        server = self.start_server()

        async def go():
            sem = asyncio.Semaphore(50)

            async def join(i):
                async with sem:
                    ws, cid = await ws_connect(server, close_timeout=1)
                    await send_json(ws, {"type": "subscribe", "topic": "all", "id": i})
                    reply = await recv_json(ws, timeout=20)
                    self.assertEqual(reply, {"type": "subscribed", "topic": "all", "id": i})
                    return ws, cid

            t0 = time.monotonic()
            subs = await asyncio.gather(*(join(i) for i in range(CLIENTS)))
            self.assertEqual(len({cid for _, cid in subs}), CLIENTS)
            pub, _ = await ws_connect(server)
            stats = await server.astats()
            self.assertEqual(stats["connections"], CLIENTS + 1, stats)
            self.assertEqual(stats["topics"], 1, stats)
            base_out = stats["messages_out"]
            connected = time.monotonic() - t0

            async def collect(ws):
                got = []
                while len(got) < BROADCASTS:
                    frame = await recv_json(ws, timeout=30)
                    self.assertEqual(frame["type"], "message", frame)
                    self.assertEqual(frame["topic"], "all", frame)
                    got.append(frame["data"]["n"])
                return got

            collectors = [asyncio.create_task(collect(ws)) for ws, _ in subs]
            t1 = time.monotonic()
            for n in range(BROADCASTS):
                await pub.send('{"type":"publish","topic":"all","data":{"n":%d,"pad":"%s"}}'
                               % (n, "x" * 64))
            await send_json(pub, {"type": "publish", "topic": "none", "data": 0, "id": "done"})
            self.assertEqual(await recv_json(pub, timeout=30), {"type": "ack", "id": "done"})
            results = await asyncio.gather(*collectors)
            delivered = time.monotonic() - t1
            for i, got in enumerate(results):
                self.assertEqual(got, list(range(BROADCASTS)), f"client {i}")
            stats = await server.astats()
            # Every broadcast to every subscriber, and the "done" ack.
            self.assertEqual(stats["messages_out"] - base_out, CLIENTS * BROADCASTS + 1, stats)
            self.assertEqual(sum(stats["disconnects"].values()), 0, stats)
            print(f"\n  {CLIENTS} clients connected+subscribed in {connected:.2f}s, "
                  f"{CLIENTS * BROADCASTS} messages delivered in {delivered:.2f}s")

            # Nobody got anything extra.
            async def nothing_more(ws):
                try:
                    extra = await asyncio.wait_for(ws.recv(), 0.2)
                except asyncio.TimeoutError:
                    return None
                return extra
            extras = await asyncio.gather(*(nothing_more(ws) for ws, _ in subs[:50]))
            self.assertEqual([e for e in extras if e is not None], [])

            await asyncio.gather(*(ws.close() for ws, _ in subs), pub.close(),
                                 return_exceptions=True)
            await server.await_connections(0, timeout=20)

        run_async(go(), 100)


if __name__ == "__main__":
    unittest.main()
