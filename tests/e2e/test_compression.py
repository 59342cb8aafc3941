"""permessage-deflate (RFC 7692) with --compression, and without it.

python3-websockets offers permessage-deflate by default (compression=None
turns it off); raw sockets check what the 101 response says and what the
frames look like on the wire: a compressed frame has RSV1 and a payload that
decompresses with zlib as RFC 7692 7.2.2 describes."""

import json
import unittest
import zlib

from harness import (OP_BINARY, OP_CONT, OP_PING, OP_TEXT, RawWS, ServerTestCase,
                     recv_json, run_async, send_json, wait_until, ws_connect)

AGREED = ("permessage-deflate; server_no_context_takeover; "
          "client_no_context_takeover")
MAX = 65536  # --max-message-size


def compress(data):
    """A client's compressed message: raw deflate, 00 00 ff ff removed."""
    c = zlib.compressobj(wbits=-15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def decompress(payload):
    d = zlib.decompressobj(wbits=-15)
    return d.decompress(payload + b"\x00\x00\xff\xff")


class DeflateWS(RawWS):
    """A raw client whose upgrade request carries Sec-WebSocket-Extensions."""

    def __init__(self, port, offer, timeout=5.0):
        super().__init__(port, timeout=timeout, handshake=False)
        self.handshake(timeout, extra_headers=[("Sec-WebSocket-Extensions", offer)])

    def recv_message(self, timeout=5.0):
        """The next data message as (rsv1, JSON), decompressed if RSV1 is set."""
        while True:
            f = self.recv_frame(timeout)
            if f.opcode == OP_PING:
                continue
            if f.opcode != OP_TEXT:
                raise AssertionError(f"expected a text frame, got {f!r}")
            if not f.fin:
                raise AssertionError(f"the server fragmented a message: {f!r}")
            rsv1 = bool(f.rsv & 4)
            body = decompress(f.payload) if rsv1 else f.payload
            return rsv1, json.loads(body)

    def send_compressed(self, obj):
        self.send_frame(OP_TEXT, compress(json.dumps(obj).encode()), rsv=4)


def big_data(n):
    """A JSON string of about `n` bytes that compresses well."""
    words = ["switchboard", "publish", "subscribe", "topic", "message", "deflate"]
    return " ".join(words[i % len(words)] + str(i % 97) for i in range(n // 10))[:n]


class WithCompression(ServerTestCase):
    def setUp(self):
        self.server = self.start_server("--compression", f"--max-message-size={MAX}")

    def raw(self, offer="permessage-deflate; client_max_window_bits"):
        ws = DeflateWS(self.server.port, offer)
        self.addCleanup(ws.close)
        rsv1, welcome = ws.recv_message()
        self.assertEqual(welcome["type"], "welcome")
        self.assertFalse(rsv1, "a short welcome goes out uncompressed")
        return ws

    def subscribe(self, ws, topic):
        ws.send_json({"type": "subscribe", "topic": topic, "id": 1})
        self.assertEqual(ws.recv_message()[1]["type"], "subscribed")

    def test_the_101_carries_the_agreement(self):
        ws = self.raw()
        self.assertEqual(ws.headers.get("sec-websocket-extensions"), AGREED)
        ws15 = self.raw("x-unknown, permessage-deflate; server_max_window_bits=15")
        self.assertEqual(ws15.headers.get("sec-websocket-extensions"),
                         AGREED + "; server_max_window_bits=15")

    def test_an_unacceptable_offer_is_served_uncompressed(self):
        for offer in ("permessage-deflate; server_max_window_bits=10",
                      "permessage-deflate; bogus", "x-webkit-deflate-frame"):
            with self.subTest(offer=offer):
                ws = self.raw(offer)
                self.assertNotIn("sec-websocket-extensions", ws.headers)
                # RSV1 is then a protocol error.
                ws.send_compressed({"type": "subscribe", "topic": "t"})
                self.assertEqual(ws.recv_close().close_code, 1002)

    def test_python_websockets_negotiates_it(self):
        async def go():
            ws, _ = await ws_connect(self.server)
            try:
                self.assertEqual(ws.response_headers.get("Sec-WebSocket-Extensions"), AGREED)
                self.assertEqual(len(ws.extensions), 1)
                self.assertEqual(ws.extensions[0].name, "permessage-deflate")
            finally:
                await ws.close()
        run_async(go(), 20)

    def test_a_compressing_and_a_plain_client_both_get_the_publish(self):
        data = big_data(5000)

        async def go():
            deflating, _ = await ws_connect(self.server)
            plain, _ = await ws_connect(self.server, compression=None)
            self.assertEqual(plain.extensions, [])
            try:
                for ws in (deflating, plain):
                    await send_json(ws, {"type": "subscribe", "topic": "news", "id": 1})
                    self.assertEqual((await recv_json(ws))["type"], "subscribed")
                # The compressing client publishes: its frames are compressed too.
                for d in (data, "short", data):
                    await send_json(deflating, {"type": "publish", "topic": "news", "data": d})
                for ws in (deflating, plain):
                    for d in (data, "short", data):
                        self.assertEqual(await recv_json(ws),
                                         {"type": "message", "topic": "news", "data": d})
            finally:
                await deflating.close()
                await plain.close()
        run_async(go(), 20)

    def test_on_the_wire_a_big_message_is_compressed_and_a_short_one_is_not(self):
        data = big_data(3000)
        a = self.raw()
        b = self.raw()
        plain = RawWS(self.server.port)
        self.addCleanup(plain.close)
        self.assertEqual(plain.recv_json()["type"], "welcome")
        self.assertNotIn("sec-websocket-extensions", plain.headers)
        for ws in (a, b):
            self.subscribe(ws, "wire")
        plain.send_json({"type": "subscribe", "topic": "wire", "id": 1})
        self.assertEqual(plain.recv_json()["type"], "subscribed")
        a.send_compressed({"type": "publish", "topic": "wire", "data": data})
        a.send_json({"type": "publish", "topic": "wire", "data": 1})
        for ws in (a, b):
            rsv1, msg = ws.recv_message()
            self.assertTrue(rsv1)
            self.assertEqual(msg, {"type": "message", "topic": "wire", "data": data})
            rsv1, msg = ws.recv_message()
            self.assertFalse(rsv1)
            self.assertEqual(msg["data"], 1)
        f = plain.recv_frame()
        self.assertEqual(f.rsv, 0)
        self.assertEqual(f.json()["data"], data)
        self.assertEqual(plain.recv_json()["data"], 1)
        # What compression kept off the wire is counted.
        _, _, body = self.server.http("GET", "/metrics")
        saved = [line for line in body.decode().splitlines()
                 if line.startswith("switchboard_compressed_bytes_saved_total ")]
        self.assertEqual(len(saved), 1, body)
        self.assertGreater(float(saved[0].split()[1]), 2 * 2000)

    def test_a_fragmented_compressed_publish_is_decoded(self):
        ws = self.raw()
        self.subscribe(ws, "frag")
        data = big_data(20000)
        c = compress(json.dumps({"type": "publish", "topic": "frag", "data": data}).encode())
        third = len(c) // 3
        ws.send_frame(OP_TEXT, c[:third], fin=False, rsv=4)
        ws.send_frame(OP_PING, b"p")
        ws.send_frame(OP_CONT, c[third:2 * third], fin=False)
        ws.send_frame(OP_CONT, c[2 * third:])
        while True:
            f = ws.recv_frame()
            if f.opcode != 0xA:  # the pong
                break
        self.assertTrue(f.rsv & 4)
        self.assertEqual(json.loads(decompress(f.payload))["data"], data)

    def test_a_big_compressible_message_round_trip(self):
        # Close to the limit once decompressed, a fraction of it on the wire.
        data = big_data(MAX - 100)

        async def go():
            ws, _ = await ws_connect(self.server)
            try:
                await send_json(ws, {"type": "subscribe", "topic": "big", "id": 1})
                self.assertEqual((await recv_json(ws))["type"], "subscribed")
                await send_json(ws, {"type": "publish", "topic": "big", "data": data})
                self.assertEqual(await recv_json(ws, timeout=10),
                                 {"type": "message", "topic": "big", "data": data})
            finally:
                await ws.close()
        run_async(go(), 20)

    def test_a_message_that_decompresses_past_the_limit_is_closed_with_1009(self):
        ws = self.raw()
        bomb = compress(b" " * (4 * MAX))
        self.assertLess(len(bomb), 2048)
        ws.send_frame(OP_TEXT, bomb, rsv=4)
        self.assertEqual(ws.recv_close().close_code, 1009)
        self.assertTrue(ws.wait_eof(5))
        self.server.wait_connections(0)

    def test_corrupt_compressed_data_is_closed_with_1007(self):
        ws = self.raw()
        ws.send_frame(OP_TEXT, b"\xff\xff\xff\xff", rsv=4)
        self.assertEqual(ws.recv_close().close_code, 1007)

    def test_rsv1_on_a_control_or_continuation_frame_is_closed_with_1002(self):
        ws = self.raw()
        ws.send_frame(OP_PING, b"", rsv=4)
        self.assertEqual(ws.recv_close().close_code, 1002)
        ws = self.raw()
        ws.send_frame(OP_BINARY, compress(b"abc"), fin=False, rsv=4)
        ws.send_frame(OP_CONT, b"", rsv=4)
        self.assertEqual(ws.recv_close().close_code, 1002)


class WithoutCompression(ServerTestCase):
    def test_the_offer_is_ignored(self):
        server = self.start_server()
        ws = DeflateWS(server.port, "permessage-deflate; client_max_window_bits")
        self.addCleanup(ws.close)
        self.assertNotIn("sec-websocket-extensions", ws.headers)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        ws.send_compressed({"type": "subscribe", "topic": "t"})
        self.assertEqual(ws.recv_close().close_code, 1002)

        async def go():
            client, _ = await ws_connect(server)
            try:
                self.assertEqual(client.extensions, [])
                self.assertIsNone(client.response_headers.get("Sec-WebSocket-Extensions"))
            finally:
                await client.close()
        run_async(go(), 20)


if __name__ == "__main__":
    unittest.main()
