#pragma once

// One WebSocket connection on the Beast side: owns the stream, runs the read
// loop, and is the transport of its reader/writer pair. Every socket
// operation runs on this session's strand; the actors only post to it, and
// the handle they hold releases the session on the strand too.

#include "admission.hpp"
#include "node_context.hpp"
#include "cork_stream.hpp"
#include "transport.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

namespace switchboard::net {

class ws_session : public transport,
                   public std::enable_shared_from_this<ws_session> {
public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  /// `ticket` is the connection's admission slot, held until the session
  /// dies; `user` its authenticated identity (empty: anonymous).
  ws_session(boost::beast::tcp_stream&& stream, std::shared_ptr<node_context> ctx,
             admission_ticket ticket, std::string user);
  ~ws_session() override;

  /// Completes the upgrade `req` (read by http_session), then joins the hub.
  void run(request req);

  // -- transport ------------------------------------------------------------------

  backlog queued() const override;
  void send(frame_batch frames, std::size_t bytes) override;
  void notify_when_drained(writer_actor writer) override;
  void ping() override;
  void consumed() override;
  void close(farewell how) override;

private:
  // No permessage-deflate: the frames are small JSON, and the compressor's
  // state would cost far more memory per connection than it saves.
  using stream_type =
    boost::beast::websocket::stream<cork_stream<boost::beast::tcp_stream>, false>;

  /// The handle the pair holds: counted as held by an actor, and when the
  /// last copy goes, the session's last reference is dropped on its strand.
  std::shared_ptr<transport> actor_handle();

  void on_accept(boost::beast::error_code ec);
  void on_control(boost::beast::websocket::frame_type kind);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t n);
  void flush();
  void on_written(std::size_t frames, std::size_t bytes, boost::beast::error_code ec);
  void do_close(const farewell& how);
  void close_now(const boost::beast::websocket::close_reason* farewell);

  /// Unhandled inbound messages allowed before reading pauses.
  static constexpr int read_credit = 8;
  /// What an idle connection reserves for the next message.
  static constexpr std::size_t idle_read_size = 256;

  session_count ctx_;
  stream_type ws_;
  boost::beast::flat_buffer buffer_;
  reader_actor reader_; ///< set while the read side is open; strand only
  writer_actor writer_; ///< failures and the drained notice go here; strand only
  bool notify_drained_ = false; ///< the writer waits for the backlog to empty; strand only
  // -- the outbox: the writer appends, the strand takes everything at once ----
  std::mutex outbox_mtx_;
  frame_batch outbox_; ///< guarded by outbox_mtx_
  std::atomic<bool> flush_posted_{false};
  /// Handed over by send() and not on the socket yet.
  std::atomic<std::size_t> queued_frames_{0};
  std::atomic<std::size_t> queued_bytes_{0};
  std::atomic<int> unhandled_{0};
  bool read_failed_ = false;   ///< strand only
  bool closing_ = false;       ///< strand only
  bool awaiting_pong_ = false; ///< a ping went out, nothing came back; strand only
  /// Bounds a server-initiated close handshake (close-timeout); strand only.
  std::optional<boost::asio::steady_timer> close_timer_;
  admission_ticket ticket_; ///< gives the slot back, however the session ends
  std::string user_;        ///< handed to the pair at the upgrade
};

} // namespace switchboard::net
