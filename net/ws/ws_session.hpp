#pragma once

// One WebSocket connection after its upgrade: the socket, the RFC 6455 codec
// and the outbound frames, and the transport of the connection's
// reader/writer pair. Every socket operation runs on the connection's strand;
// the actors only post to it, and the handle they hold releases the session
// on the strand too.
//
// While idle a connection holds no read buffer and no read operation: it
// waits for the socket to become readable, then reads into a buffer of its
// I/O thread's, so that thousands of idle clients cost little
// (docs/benchmarks.md, memory budget).
//
// `Stream` carries the bytes: the socket itself (ws_session), or a
// tls_stream (tls_ws_session), which reads each connection into a buffer of
// its own (tls_stream.hpp). Everything else is one code path, and every
// byte goes out through the one asynchronous write (the frame_writer).
//
// The members are defined by concern: ws_session.cpp (life and writing),
// ws_session_read.cpp, ws_session_close.cpp (the close state machine).

#include "admission/admission.hpp"
#include "ws/frame_writer.hpp"
#include "io/io_loops.hpp"
#include "io/io_types.hpp"
#include "node/node_context.hpp"
#include "tls/tls_stream.hpp"
#include "connection/transport.hpp"
#include "ws/ws_codec.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <utility>
#include <vector>
#include <memory>
#include <string>

namespace switchboard::net {

template <class Stream>
class basic_ws_session : public transport,
                         public std::enable_shared_from_this<basic_ws_session<Stream>>,
                         private frame_writer_types::observer {
public:
  using progress = frame_writer_types::progress;

  /// `socket` has completed the upgrade; `ticket` is the connection's
  /// admission slot, held until the session dies.
  basic_ws_session(Stream&& socket, std::shared_ptr<node_context> ctx,
                   admission_ticket ticket);
  ~basic_ws_session() override;

  /// Spawns the pair under `user` (the authenticated identity; empty:
  /// anonymous) limited to the topics `allowed` until `expires` (none:
  /// never; upgrade_verdict::expires), joins it to the hub and
  /// starts reading, beginning with `pending` (bytes the client sent behind
  /// its upgrade request).
  void start(std::string pending, std::string user, topic_filter allowed,
             caf::optional<caf::timestamp> expires = caf::none);

  /// permessage-deflate was negotiated (net/ws/deflate.hpp): compressed
  /// messages in, shared compressed frames out. Before start().
  void use_deflate() noexcept {
    deflate_ = true;
    codec_.accept_compressed();
  }

  // -- transport ------------------------------------------------------------------

  void notify_when_drained(writer_actor writer) override;
  void ping() override;
  void consumed() override;
  void close(farewell how) override;
  std::string peer() const override;

private:
  /// The handle the pair holds: counted as held by an actor, and when the
  /// last copy goes, the session's last reference is dropped on its strand.
  std::shared_ptr<transport> actor_handle();

  // -- reading ---------------------------------------------------------------------
  void wait_readable();
  void on_readable(boost::system::error_code ec);
  void handle(ws_codec::output& out);
  void deliver_held();
  void drop_held();

  // -- writing ---------------------------------------------------------------------
  /// Frames the writer's policy admitted (the hub's thread): into the outbox.
  void hand_over(frame_batch frames) override;
  void flush_outbox();
  /// Swaps each frame for the one a compressing client gets.
  void deflate_all(frame_batch& frames);
  void on_written(boost::system::error_code ec, progress done) override;
  void account(progress done);

  // -- closing ---------------------------------------------------------------------
  /// Why the pair ends when reading or writing failed with `ec`.
  static exit_code exit_code_of(boost::system::error_code ec);
  /// The pair is gone: our close frame goes out (behind the write in flight,
  /// and for a slow consumer or a missed heartbeat without what is still
  /// queued), then the peer's answer is awaited, except after a missed
  /// heartbeat (the socket closes once the close frame is out).
  void do_close(const farewell& how);
  /// The pair is told why the socket is done (once).
  void report(exit_code reason);
  /// Stops reading anything but the peer's EOF: shut our side down once the
  /// last frame is written, wait for the peer for at most close-timeout,
  /// then close.
  void finish();
  /// Closes the socket after close-timeout, unless already armed: one bound
  /// for the whole close.
  void arm_close_timer();
  void close_socket();

  /// Inbound messages the reader may have unhandled before reading pauses.
  static constexpr int read_credit = 8;

  session_count ctx_;
  Stream socket_;
  /// The client's address, for log lines (set once: any thread may read it).
  boost::asio::ip::tcp::endpoint peer_;
  loop_metrics& metrics_; ///< the loop's: strand only
  ws_codec codec_;
  basic_frame_writer<Stream> out_;
  loop_batch& batch_; ///< the loop's flush batches
  reader_actor reader_; ///< set while the pair listens; strand only
  writer_actor writer_; ///< failures and the drained notice go here; strand only

  // -- read side (strand only, but unhandled_) ------------------------------------
  /// Decoded messages (text?, payload) waiting for read credit, from
  /// held_head_ on. (A vector: an empty one allocates nothing.)
  std::vector<std::pair<bool, std::string>> held_;
  std::size_t held_head_ = 0;
  std::atomic<int> unhandled_{0};
  bool waiting_ = false;         ///< a readiness wait is pending
  bool awaiting_pong_ = false;   ///< a ping went out, nothing came back
  bool deflate_ = false;         ///< permessage-deflate negotiated (set before start)

  // -- the outbox: the hub appends (through the writer's outbound handle, which
  // counts it in policy()), the strand takes everything at once --------------
  /// Guards outbox_ for the few instructions of an append or a swap (a
  /// spinlock: a mutex would cost every connection 40 bytes).
  std::atomic_flag outbox_lock_ = ATOMIC_FLAG_INIT;
  frame_batch outbox_; ///< guarded by outbox_lock_
  std::atomic<bool> flush_posted_{false};
  /// The writer's outbound policy on the outbox (transport::policy()): the
  /// hub's thread admits, the strand counts what it wrote.
  outbound_policy send_policy_;
  /// The writer's drained notice is due once the policy is drained to this
  /// mark; 0: none (strand only).
  std::uint64_t drain_target_ = 0;

  // -- closing (strand only) ---------------------------------------------------
  bool reported_ = false;    ///< the pair knows the socket is done
  bool closing_ = false;     ///< do_close ran: the pair is gone
  bool finishing_ = false;   ///< waiting for the last write, then the peer's EOF
  bool abandoning_ = false;  ///< a missed heartbeat: close once the close frame is out
  bool closed_ = false;      ///< the socket is closed
  /// Bounds a close handshake and the wait for the peer's EOF (close-timeout);
  /// allocated only then.
  std::unique_ptr<boost::asio::steady_timer> close_timer_;
  admission_ticket ticket_; ///< gives the slot back, however the session ends
};

/// A plain connection (ws://).
using ws_session = basic_ws_session<socket_type>;
/// A TLS connection (wss://).
using tls_ws_session = basic_ws_session<tls_stream>;

} // namespace switchboard::net
