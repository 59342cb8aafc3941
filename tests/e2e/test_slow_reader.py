"""The write path of ws:// under a client that stops reading while the node
keeps queueing for it: its frames, the node's pings and the pongs it owes
the client pile up behind a write that waits for the socket. When the client
reads again every byte must be where it belongs (tools/ci/asan.sh also runs
this against an ASan build of the node, which reports a write that reads
memory the queue has moved); and a client that misses its heartbeat with a
full queue still gets its close frame and is closed at once."""

import unittest

import stalled_reader
from harness import SLACK, RawWS, ServerTestCase


class SlowReader(ServerTestCase):
    def metrics(self, server):
        status, _, body = server.http("GET", "/metrics")
        self.assertEqual(status, 200, body)
        return body.decode()

    def connect(self, server, **kw):
        ws = RawWS(server.port, **kw)
        self.addCleanup(ws.close)
        self.assertEqual(ws.recv_json()["type"], "welcome")
        return ws

    def test_a_stalled_reader_with_fast_pings_gets_every_frame_intact(self):
        server = self.start_server(*stalled_reader.FLAGS, "--ping-interval=10ms",
                                   "--pong-timeout=60s")
        slow = self.connect(server, rcvbuf=4096)
        stalled_reader.subscribe(slow)
        pub = self.connect(server)
        pings = stalled_reader.stall_with_pings(self, slow, pub, lambda: self.metrics(server))
        self.assertGreater(pings, 0)
        # The connection is as good as new: a clean close handshake.
        slow.send_close(1000)
        self.assertEqual(slow.recv_close(timeout=5 * SLACK).close_code, 1000)
        self.assertTrue(slow.wait_eof(timeout=5 * SLACK))
        disconnects = server.disconnects()
        for reason in ("protocol_error", "slow_consumer", "heartbeat_timeout"):
            self.assertEqual(disconnects[reason], 0, disconnects)

    def test_a_missed_heartbeat_behind_a_full_queue_still_gets_close_1001(self):
        close_timeout = 10.0
        server = self.start_server(*stalled_reader.FLAGS, "--ping-interval=500ms",
                                   f"--pong-timeout={int(4000 * SLACK)}ms",
                                   f"--close-timeout={int(close_timeout * 1000)}ms")
        slow = self.connect(server, rcvbuf=4096)
        stalled_reader.subscribe(slow)
        pub = self.connect(server)
        stalled_reader.heartbeat_behind_queue(self, slow, pub, server.stats,
                                              lambda: self.metrics(server), close_timeout)
        self.assertEqual(server.connections(), 1)


if __name__ == "__main__":
    unittest.main()
