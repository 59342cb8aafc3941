// The middleman actor of cluster TLS. It is CAF 0.17.6's OpenSSL middleman
// actor (libcaf_openssl, src/openssl/middleman_actor.cpp) with two
// changes, since that one is internal to the library and cannot be fixed
// from outside:
//  - the calling thread's OpenSSL error queue is emptied before every call
//    into a session. CAF's sessions leave the errors of a failed handshake
//    there (they drain them only in log statements, which Debian's build
//    compiles out), and OpenSSL's SSL_get_error() then takes the next
//    "no data yet" of any other connection on CAF's multiplexer thread for a
//    fatal error: every failed handshake (a node with the wrong certificate,
//    a scanner) dropped the node's healthy links;
//  - a dial finishes its TLS handshake before the BASP broker gets it
//    (tls_middleman::finish_handshake says why);
//  - a session that fails is logged with the peer's address and OpenSSL's
//    reason (CAF logs nothing), and a session CAF cannot create (its
//    per-connection context raises an exception when the files went away)
//    refuses that connection instead of ending the process.
// Everything TLS itself does is CAF's: caf::openssl::session makes the
// context (certificate, key, CA, verification both ways, ciphers) for
// every connection from CAF's openssl.* configuration.

#include "node/cluster_tls.hpp"

#include "observe/log_throttle.hpp"
#include "switchboard/log_text.hpp"

#include <caf/detail/socket_guard.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/openssl/session.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <spdlog/logger.h>

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

namespace switchboard::net {

namespace {

namespace network = caf::io::network;
using caf::io::network::native_socket;
using caf::io::network::rw_state;

// Where failed sessions are told: at most a line a second in each
// direction, the rest counted into that direction's next line. One budget
// for both would let this node's own failing dials (a member with a wrong
// certificate, dialed again and again) hide every stranger that tries to
// join it, and the other way round.
struct tls_log {
  std::shared_ptr<spdlog::logger> log;
  log_throttle accepted_throttle{1}; ///< sessions a peer dialed
  log_throttle dialed_throttle{1};   ///< sessions this node dialed

  // After a failed call: says why, if OpenSSL says something, and empties the queue for the
  // next call on this thread.
  void failed(native_socket fd, bool accepted, const char* what) {
    auto code = ERR_peek_last_error();
    ERR_clear_error();
    std::uint64_t held_back = 0;
    // CAF closes connections without a TLS close_notify (a node stopping, a
    // duplicate connection dropped): its peer's "unexpected eof" is no
    // failure either.
    if (code == 0 || ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
        || !(accepted ? accepted_throttle : dialed_throttle)
              .allow(log_throttle::clock::now(), held_back))
      return;
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    auto peer = network::remote_addr_of_fd(fd);
    log->warn("cluster: TLS {} failed peer={} reason={} held_back={} cause={}", what,
              peer ? *peer : std::string{"?"}, log_value(reason), held_back,
              log_value("a peer without TLS or without a certificate from --cluster-tls-ca, "
                        "or one that does not accept ours"));
  }
};

using tls_log_ptr = std::shared_ptr<tls_log>;

// A session made for `fd`, or null (logged): CAF raises an exception when
// it cannot load the files.
caf::openssl::session_ptr make_session(caf::actor_system& sys, native_socket fd, bool accepted,
                                       tls_log& log) {
  ERR_clear_error();
  try {
    auto session = caf::openssl::make_session(sys, fd, accepted);
    if (!session)
      log.failed(fd, accepted, accepted ? "accept" : "connect");
    return session;
  } catch (const std::exception& e) {
    log.log->error("cluster: no TLS session for a connection error={}", log_value(e.what()));
    ERR_clear_error();
    return nullptr;
  }
}

// The stream policy: CAF's session, with the error queue emptied before
// each call and failures logged.
class tls_policy {
public:
  tls_policy(caf::openssl::session_ptr session, tls_log_ptr log, bool accepted)
    : session_(std::move(session)), log_(std::move(log)), accepted_(accepted) {
  }

  rw_state read_some(size_t& result, native_socket fd, void* buf, size_t len) {
    ERR_clear_error();
    return checked(session_->read_some(result, fd, buf, len), fd);
  }

  rw_state write_some(size_t& result, native_socket fd, const void* buf, size_t len) {
    ERR_clear_error();
    return checked(session_->write_some(result, fd, buf, len), fd);
  }

  bool must_read_more(native_socket fd, size_t threshold) {
    return session_->must_read_more(fd, threshold);
  }

private:
  rw_state checked(rw_state state, native_socket fd) {
    if (state == rw_state::failure)
      log_->failed(fd, accepted_, "handshake or connection");
    return state;
  }

  caf::openssl::session_ptr session_;
  tls_log_ptr log_;
  bool accepted_;
};

class scribe_impl : public caf::io::scribe {
public:
  scribe_impl(network::default_multiplexer& mpx, native_socket fd,
              caf::openssl::session_ptr session, tls_log_ptr log, bool accepted)
    : scribe(network::conn_hdl_from_socket(fd)),
      stream_(mpx, fd, std::move(session), std::move(log), accepted) {
  }

  void configure_read(caf::io::receive_policy::config config) override {
    stream_.configure_read(config);
    if (!launched_)
      launch();
  }

  void ack_writes(bool enable) override {
    stream_.ack_writes(enable);
  }

  std::vector<char>& wr_buf() override {
    return stream_.wr_buf();
  }

  std::vector<char>& rd_buf() override {
    return stream_.rd_buf();
  }

  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }

  void flush() override {
    stream_.flush(this);
  }

  std::string addr() const override {
    auto x = network::remote_addr_of_fd(stream_.fd());
    return x ? *x : std::string{};
  }

  std::uint16_t port() const override {
    auto x = network::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }

  void add_to_loop() override {
    stream_.activate(this);
  }

  void remove_from_loop() override {
    stream_.passivate();
  }

private:
  void launch() {
    launched_ = true;
    stream_.start(this);
    // Schedules the scribe while the handshake still needs a write.
    stream_.force_empty_write(this);
  }

  bool launched_ = false;
  network::stream_impl<tls_policy> stream_;
};

class doorman_impl : public network::doorman_impl {
public:
  doorman_impl(network::default_multiplexer& mpx, native_socket fd, tls_log_ptr log)
    : network::doorman_impl(mpx, fd), log_(std::move(log)) {
  }

  bool new_connection() override {
    if (detached())
      return false;
    auto& mpx = acceptor_.backend();
    auto fd = acceptor_.accepted_socket();
    caf::detail::socket_guard guard{fd};
    network::nonblocking(fd, true);
    auto session = make_session(parent()->system(), fd, true, *log_);
    if (!session)
      return false;
    auto scribe = caf::make_counted<scribe_impl>(mpx, fd, std::move(session), log_, true);
    guard.release(); // the scribe owns the socket now
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mpx, hdl);
  }

private:
  tls_log_ptr log_;
};

class tls_middleman : public caf::io::middleman_actor_impl {
public:
  tls_middleman(caf::actor_config& cfg, caf::actor broker, tls_log_ptr log)
    : caf::io::middleman_actor_impl(cfg, std::move(broker)), log_(std::move(log)) {
  }

  const char* name() const override {
    return "switchboard.cluster_tls_middleman";
  }

protected:
  caf::expected<caf::io::scribe_ptr> connect(const std::string& host,
                                             std::uint16_t port) override {
    auto fd = network::new_tcp_connection(host, port);
    if (!fd)
      return std::move(fd.error());
    network::nonblocking(*fd, true);
    auto session = make_session(system(), *fd, false, *log_);
    if (!session || !finish_handshake(*session, *fd)) {
      network::close_socket(*fd);
      return caf::sec::cannot_connect_to_node;
    }
    return caf::make_counted<scribe_impl>(mpx(), *fd, std::move(session), log_, false);
  }

  caf::expected<caf::io::doorman_ptr> open(std::uint16_t port, const char* addr,
                                           bool reuse) override {
    auto fd = network::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd)
      return std::move(fd.error());
    return caf::make_counted<doorman_impl>(mpx(), *fd, log_);
  }

private:
  // Runs the TLS client handshake to its end here (this actor is detached
  // and blocks in the TCP connect already), before the BASP broker gets the
  // connection: the broker counts a connection it dialed as silent from
  // the epoch until the peer's first BASP bytes, and closes it at its next
  // heartbeat tick (CAF 0.17.6, basp_broker: the context's last_seen), so a
  // TLS handshake that outlasts the time to that tick lost the dial.
  bool finish_handshake(caf::openssl::session& session, native_socket fd) {
    auto bound = caf::get_or(system().config(), "middleman.connection-timeout",
                             caf::timespan{std::chrono::seconds(30)});
    auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
      // With no bytes asked for, a session only drives its handshake:
      // indeterminate once it is done.
      std::size_t ignored = 0;
      ERR_clear_error();
      auto state = session.read_some(ignored, fd, nullptr, 0);
      if (state == rw_state::indeterminate)
        return true;
      if (state == rw_state::failure) {
        log_->failed(fd, false, "connect");
        return false;
      }
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= caf::timespan{0})
        return false;
      // Waiting for the server's flight; a blocked write (rare: the
      // client's flights are small) is retried after a slice.
      pollfd p{fd, POLLIN, 0};
      auto slice = std::min<std::chrono::milliseconds::rep>(
        50, std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1);
      ::poll(&p, 1, static_cast<int>(slice));
    }
  }

  network::default_multiplexer& mpx() {
    return static_cast<network::default_multiplexer&>(system().middleman().backend());
  }

  tls_log_ptr log_;
};

} // namespace

caf::io::middleman_actor spawn_cluster_tls_middleman(caf::actor_system& sys,
                                                     std::shared_ptr<spdlog::logger> log) {
  auto broker = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  auto state = std::make_shared<tls_log>();
  state->log = std::move(log);
  // Detached, as CAF's own: connect() blocks in the TCP connect.
  return sys.spawn<tls_middleman, caf::detached + caf::hidden>(std::move(broker),
                                                               std::move(state));
}

} // namespace switchboard::net
