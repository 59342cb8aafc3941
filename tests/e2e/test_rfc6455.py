"""RFC 6455 framing rules with hand-made frames on raw sockets.

A protocol error must fail the connection (RFC 6455 7.1.7): the server sends a
close frame with the RFC code (1002 protocol error, 1007 invalid payload data,
1009 message too big) and then closes the TCP connection without waiting for a
close reply. A client close is echoed with the same code (5.5.1)."""

import json
import struct
import time
import unittest

from harness import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, SLACK,
                     PeerClosed, RawWS, Server, build_frame, close_payload, wait_until)

MAX = 1024          # --max-message-size for this module
PROMPT = 2.0 + SLACK  # a failed connection is closed this fast (handshake-timeout is 10s)


class RfcBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(f"--max-message-size={MAX}", "--handshake-timeout=10s")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def connect(self):
        ws = RawWS(self.server.port)
        self.addCleanup(ws.close)
        welcome = ws.recv_json()
        self.assertEqual(welcome["type"], "welcome")
        return ws

    def assert_alive(self, ws, tag="alive"):
        ws.send_json({"type": "subscribe", "topic": tag, "id": tag})
        self.assertEqual(ws.recv_json(), {"type": "subscribed", "topic": tag, "id": tag})

    def assert_failed(self, ws, codes, what):
        """The server sends a close with one of `codes`, then closes TCP promptly."""
        f = ws.recv_close(timeout=5)
        self.assertIn(f.close_code, codes,
                      f"{what}: close code {f.close_code} ({f.payload!r}), expected {codes}")
        self.assertTrue(ws.wait_eof(PROMPT),
                        f"{what}: TCP still open {PROMPT}s after the server's close frame "
                        f"(RFC 6455 7.1.7: fail = close the TCP connection)")
        return f

    def protocol_error_case(self, frames, codes, what):
        """Frames that must fail the connection with one of `codes`; the
        disconnect is counted as protocol_error (checked once the client has
        closed its socket too: see PeerThatKeepsItsSocket for the other case)."""
        before = self.server.disconnects()
        ws = self.connect()
        for fr in frames:
            ws.send_raw(fr)
        self.assert_failed(ws, codes, what)
        ws.close()
        after = wait_until(
            lambda: (lambda d: d if d["protocol_error"] > before["protocol_error"] else None)(
                self.server.disconnects()), 5,
            message=f"disconnects.protocol_error > {before['protocol_error']} after {what}")
        self.assertEqual(after["protocol_error"], before["protocol_error"] + 1, after)
        for reason in ("socket_closed", "socket_error"):
            self.assertEqual(after[reason], before[reason], f"{what}: {after}")


class ProtocolErrors1002(RfcBase):
    def test_unmasked_text_frame(self):
        self.protocol_error_case([build_frame(OP_TEXT, b'{"type":"x"}', mask=False)], (1002,),
                                 "unmasked text frame")

    def test_unmasked_close_frame(self):
        self.protocol_error_case([build_frame(OP_CLOSE, close_payload(1000), mask=False)],
                                 (1002,), "unmasked close frame")

    def test_reserved_data_opcode(self):
        for op in (0x3, 0x7):
            with self.subTest(opcode=op):
                self.protocol_error_case([build_frame(op, b"x")], (1002,),
                                         f"reserved opcode {op:#x}")

    def test_reserved_control_opcode(self):
        for op in (0xB, 0xF):
            with self.subTest(opcode=op):
                self.protocol_error_case([build_frame(op, b"")], (1002,),
                                         f"reserved opcode {op:#x}")

    def test_rsv_bits(self):
        for rsv in (4, 2, 1):
            with self.subTest(rsv=rsv):
                self.protocol_error_case([build_frame(OP_TEXT, b"{}", rsv=rsv)], (1002,),
                                         f"RSV bits {rsv:03b} without an extension")

    def test_fragmented_ping(self):
        self.protocol_error_case([build_frame(OP_PING, b"a", fin=False)], (1002,),
                                 "ping with FIN=0")

    def test_fragmented_close(self):
        self.protocol_error_case([build_frame(OP_CLOSE, close_payload(1000), fin=False)],
                                 (1002,), "close with FIN=0")

    def test_oversized_ping(self):
        self.protocol_error_case([build_frame(OP_PING, b"p" * 126)], (1002,),
                                 "ping with a 126-byte payload")

    def test_continuation_without_start(self):
        self.protocol_error_case([build_frame(OP_CONT, b"{}")], (1002,),
                                 "continuation frame without a message")

    def test_new_message_inside_fragmented_one(self):
        self.protocol_error_case([build_frame(OP_TEXT, b'{"type":', fin=False),
                                  build_frame(OP_TEXT, b'"x"}')], (1002,),
                                 "text frame while a fragmented message is open")

    def test_close_with_one_byte_payload(self):
        self.protocol_error_case([build_frame(OP_CLOSE, b"\x03")], (1002,),
                                 "close frame with a 1-byte payload")

    def test_close_with_invalid_code(self):
        for code in (0, 999, 1004, 1005, 1006, 1015, 1100, 2999):
            with self.subTest(code=code):
                self.protocol_error_case([build_frame(OP_CLOSE, close_payload(code))],
                                         (1002,), f"close with invalid code {code}")


class InvalidUtf8_1007(RfcBase):
    def test_invalid_utf8_text(self):
        for payload in (b'{"type":"\xff"}', b"\xc0\xaf", b"\xed\xa0\x80",
                        b"\xf4\x90\x80\x80", b"abc\xe2\x82"):
            with self.subTest(payload=payload):
                self.protocol_error_case([build_frame(OP_TEXT, payload)], (1007,),
                                         f"invalid UTF-8 {payload!r}")

    def test_invalid_utf8_across_fragments(self):
        self.protocol_error_case([build_frame(OP_TEXT, b'{"a":"\xe2\x82', fin=False),
                                  build_frame(OP_CONT, b'\x28"}')], (1007,),
                                 "invalid UTF-8 across fragments")

    def test_invalid_utf8_in_close_reason(self):
        # RFC 6455 5.5.1: the reason is UTF-8; Autobahn 7.5.1 accepts 1002 or 1007.
        self.protocol_error_case([build_frame(OP_CLOSE, close_payload(1000, b"\xff\xfe"))],
                                 (1002, 1007), "close reason with invalid UTF-8")


class TooBig1009(RfcBase):
    def test_single_frame_too_big(self):
        body = json.dumps({"type": "publish", "topic": "big", "data": "x" * (MAX * 2)})
        self.protocol_error_case([build_frame(OP_TEXT, body)], (1009,),
                                 f"{len(body)}-byte text frame")

    def test_fragmented_message_too_big(self):
        chunk = b"y" * 400
        frames = [build_frame(OP_TEXT, b'"' + chunk, fin=False),
                  build_frame(OP_CONT, chunk, fin=False),
                  build_frame(OP_CONT, chunk + b'"')]
        self.protocol_error_case(frames, (1009,), "1202 bytes in three fragments")

    def test_binary_too_big(self):
        self.protocol_error_case([build_frame(OP_BINARY, b"\0" * (MAX + 1))], (1009,),
                                 f"{MAX + 1}-byte binary frame")

    def test_huge_declared_length_fails_at_once(self):
        # Only the header of a 2^40-byte frame: the server must not wait for it.
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 40) + b"\x01\x02\x03\x04"
        self.protocol_error_case([header], (1009,), "frame header declaring 2^40 bytes")

    def test_message_at_the_limit_is_accepted(self):
        ws = self.connect()
        head = '{"type":"publish","topic":"lim","id":1,"data":"'
        body = head + "z" * (MAX - len(head) - 2) + '"}'
        self.assertEqual(len(body), MAX)
        ws.send_text(body)
        self.assertEqual(ws.recv_json(), {"type": "ack", "id": 1})
        # The same limit applies to a fragmented message.
        ws.send_frame(OP_TEXT, body[:300], fin=False)
        ws.send_frame(OP_CONT, body[300:700], fin=False)
        ws.send_frame(OP_CONT, body[700:])
        self.assertEqual(ws.recv_json(), {"type": "ack", "id": 1})
        self.assert_alive(ws)


class ValidFraming(RfcBase):
    def test_ping_gets_pong_with_same_payload(self):
        ws = self.connect()
        ws.send_frame(OP_PING, b"hello-ping")
        deadline = time.monotonic() + 5
        while True:
            f = ws.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_PONG:
                break
            self.assertEqual(f.opcode, OP_PING, f)  # server pings are fine, nothing else
        self.assertEqual(f.payload, b"hello-ping")
        self.assertTrue(f.fin)
        self.assert_alive(ws)

    def test_unsolicited_pong_is_ignored(self):
        ws = self.connect()
        ws.send_frame(OP_PONG, b"whatever")
        self.assert_alive(ws)

    def test_fragmented_message_with_interleaved_ping(self):
        ws = self.connect()
        text = json.dumps({"type": "subscribe", "topic": "fr\u00e9g", "id": 3},
                          ensure_ascii=False).encode()
        cut = text.index(b"\xc3") + 1  # split inside the two-byte UTF-8 sequence
        ws.send_frame(OP_TEXT, text[:cut], fin=False)
        ws.send_frame(OP_PING, b"mid")
        ws.send_frame(OP_CONT, text[cut:cut + 3], fin=False)
        ws.send_frame(OP_CONT, text[cut + 3:])
        got_pong = False
        deadline = time.monotonic() + 5
        while True:
            f = ws.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_PONG:
                self.assertEqual(f.payload, b"mid")
                got_pong = True
                continue
            self.assertIn(f.opcode, (OP_TEXT, OP_PING), f)
            if f.opcode == OP_TEXT:
                self.assertEqual(f.json(), {"type": "subscribed", "topic": "fr\u00e9g", "id": 3})
                break
        if not got_pong:
            f = ws.recv_frame(5)
            self.assertEqual((f.opcode, f.payload), (OP_PONG, b"mid"))

    def test_empty_fragments(self):
        ws = self.connect()
        text = b'{"type":"subscribe","topic":"e","id":"empty"}'
        ws.send_frame(OP_TEXT, b"", fin=False)
        ws.send_frame(OP_CONT, text, fin=False)
        ws.send_frame(OP_CONT, b"")
        self.assertEqual(ws.recv_json(), {"type": "subscribed", "topic": "e", "id": "empty"})

    def test_server_frames_are_unmasked_text(self):
        # recv_frame() rejects masked frames; check the frame header bits too.
        ws = self.connect()
        ws.send_json({"type": "publish", "topic": "u", "id": 1, "data": "x" * 300})
        f = ws.recv_frame()
        self.assertEqual((f.fin, f.rsv, f.opcode), (True, 0, OP_TEXT))


class CloseHandshake(RfcBase):
    def close_echo_case(self, code, reason, expected_codes):
        before = self.server.disconnects()
        ws = self.connect()
        ws.send_close(code, reason)
        f = ws.recv_close(timeout=5)
        self.assertIn(f.close_code, expected_codes,
                      f"client close {code}: server answered {f.close_code} {f.payload!r}")
        try:
            f.payload[2:].decode("utf-8")  # RFC 6455 5.5.1: the reason is UTF-8
        except UnicodeDecodeError:
            self.fail(f"client close {code}: close reason is not UTF-8: {f.payload!r}")
        self.assertTrue(ws.wait_eof(PROMPT),
                        f"client close {code}: server kept TCP open after the handshake")
        ws.close()
        after = wait_until(
            lambda: (lambda d: d if d["socket_closed"] > before["socket_closed"] else None)(
                self.server.disconnects()), 5, message="disconnects.socket_closed + 1")
        self.assertEqual(after["socket_closed"], before["socket_closed"] + 1, after)
        self.assertEqual(after["protocol_error"], before["protocol_error"], after)

    def test_close_1000_echoed(self):
        self.close_echo_case(1000, "bye", (1000,))

    def test_close_1001_echoed(self):
        self.close_echo_case(1001, "", (1001,))

    def test_close_3000_echoed(self):
        self.close_echo_case(3000, "app", (3000,))

    def test_close_4001_echoed(self):
        self.close_echo_case(4001, "private \u2713", (4001,))

    def test_empty_close_answered(self):
        # No status code to echo: an empty close (or 1000) is the answer.
        self.close_echo_case(None, b"", (None, 1000))

    def test_no_data_after_close(self):
        ws = self.connect()
        ws.send_json({"type": "subscribe", "topic": "after", "id": 1})
        ws.send_close(1000)
        ws.send_json({"type": "subscribe", "topic": "after2", "id": 2})  # must be ignored
        frames = []
        deadline = time.monotonic() + 5
        while True:
            f = ws.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == OP_CLOSE:
                break
            if f.opcode == OP_TEXT:
                frames.append(f.json())
        self.assertEqual(f.close_code, 1000)
        self.assertNotIn({"type": "subscribed", "topic": "after2", "id": 2}, frames)
        # Nothing after the close frame.
        try:
            extra = ws.recv_frame(PROMPT)
            self.fail(f"frame after the server's close: {extra!r}")
        except PeerClosed:
            pass


class PeerThatKeepsItsSocket(RfcBase):
    """After the server has failed or closed a connection (close frame sent,
    FIN sent), a peer that never closes its own end must not keep the
    connection alive on the server: it must leave /stats (connections) and be
    counted in disconnects soon (at the latest after --close-timeout)."""

    CLOSE_TIMEOUT = 1.0

    @classmethod
    def setUpClass(cls):
        cls.server = Server(f"--max-message-size={MAX}",
                            f"--close-timeout={int(cls.CLOSE_TIMEOUT * 1000)}ms")

    def released_case(self, frames, reason, what):
        base = self.server.stats()
        ws = self.connect()
        self.server.wait_connections(base["connections"] + 1)
        for fr in frames:
            ws.send_raw(fr)
        ws.recv_close(timeout=5)
        self.assertTrue(ws.wait_eof(PROMPT), f"{what}: no EOF from the server")
        # The client keeps its socket open (half-closed), as a careless or
        # hostile peer would.
        bound = self.CLOSE_TIMEOUT + 2 * SLACK
        try:
            wait_until(lambda: self.server.connections() == base["connections"], bound,
                       message=f"/stats connections back to {base['connections']}")
        except AssertionError as e:
            s = self.server.stats()
            raise AssertionError(
                f"{what}: the server sent its close frame and FIN, but {bound:.1f}s later "
                f"/stats still shows connections={s['connections']} (was "
                f"{base['connections']} before connecting), disconnects={s['disconnects']}; "
                f"the connection is only released when the peer closes its socket") from e
        self.assertEqual(self.server.disconnects()[reason], base["disconnects"][reason] + 1)

    def test_released_after_protocol_error(self):
        self.released_case([build_frame(OP_TEXT, b"{}", mask=False)], "protocol_error",
                           "unmasked frame")

    def test_released_after_close_handshake(self):
        self.released_case([build_frame(OP_CLOSE, close_payload(1000))], "socket_closed",
                           "client close 1000")


if __name__ == "__main__":
    unittest.main()
