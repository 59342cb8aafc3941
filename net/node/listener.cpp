#include "node/listener.hpp"

#include "admission/admission.hpp"
#include "http/http_route.hpp"
#include "http/http_session.hpp"

#include <boost/beast/http/write.hpp>

#include <array>
#include <sstream>

namespace switchboard::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

/// 503 when the node has too many pending connections, 429 when the
/// connection's address has.
http::status refusal_status(const admission_decision& decision) {
  return decision.verdict == admission_verdict::max_pending_connections
           ? http::status::service_unavailable
           : http::status::too_many_requests;
}

/// The whole answer a refused connection gets, before it sent anything,
/// with Retry-After; then the connection closes.
std::string refusal_text(const admission_decision& decision) {
  auto status = refusal_status(decision);
  http_request head;
  head.version(11);
  auto res = make_response(head, status,
                           status == http::status::too_many_requests
                             ? "too many pending connections from your address\n"
                             : "server busy\n");
  res.set(http::field::retry_after, std::to_string(decision.retry_after.count()));
  res.keep_alive(false);
  std::ostringstream out;
  out << res;
  return out.str();
}

/// Refuses a connection at once, without reading a request: one write of the
/// answer (an empty socket buffer takes it whole) on a plain port, nothing on
/// a TLS port (a client expects a handshake there), then the socket closes.
void refuse(socket_type& socket, const admission_decision& decision, bool tls) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!tls) {
    auto text = refusal_text(decision);
    socket.write_some(asio::buffer(text), ec);
    // What the client sent already is read away, so that the close does not
    // turn into a reset that could destroy the answer on its way.
    std::array<char, 4096> sink;
    socket.read_some(asio::buffer(sink), ec);
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

} // namespace

listener::listener(io_loops& loops, std::shared_ptr<node_context> ctx)
  : loops_(loops), ctx_(std::move(ctx)), acceptor_(asio::make_strand(loops.first())),
    retry_(acceptor_.get_executor()) {
}

boost::system::error_code listener::open(const tcp::endpoint& ep) {
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec)
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && ctx_->reuse_port)
    // Another process (the next version) may bind the port too: the kernel
    // spreads new connections over the listeners open on it.
    acceptor_.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true),
                         ec);
  if (!ec)
    acceptor_.bind(ep, ec);
  if (!ec)
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

std::uint16_t listener::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void listener::run() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    self->do_accept();
  });
}

void listener::stop(std::function<void()> then) {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this(), then = std::move(then)] {
    boost::system::error_code ignored;
    self->retry_.cancel();
    self->acceptor_.close(ignored);
    if (then)
      then();
  });
}

void listener::do_accept() {
  // Each connection lives on one loop for good. A loop is one thread, so the
  // loop is the connection's strand: its socket operations never run
  // concurrently, and an explicit strand would only cost memory and a lock
  // per handler (docs/benchmarks.md).
  acceptor_.async_accept(loops_.next().get_executor(),
                         [self = shared_from_this()](boost::system::error_code ec,
                                                     socket_type socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void listener::on_accept(boost::system::error_code ec, socket_type socket) {
  if (!acceptor_.is_open())
    return; // stopped
  if (ec) {
    // Out of file descriptors (or similar): back off briefly instead of
    // spinning, and keep serving the connections we have.
    retry_.expires_after(std::chrono::milliseconds(50));
    retry_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec)
        self->do_accept();
    });
    return;
  }
  start_session(std::move(socket));
  do_accept();
}

void listener::start_session(socket_type socket) {
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec)
    return; // gone already
  // Each connection keeps the TLS context it was accepted with; a reload
  // affects the next ones.
  auto tls = std::atomic_load(&ctx_->tls);
  // Counted as pending until it is upgraded or gone (this runs on the
  // admission's loop).
  auto slot = ctx_->admission->open_pending(peer.address());
  if (!slot.ticket) {
    refuse(socket, slot.decision, tls != nullptr);
    log_refusal(*ctx_, "connection refused",
                static_cast<unsigned>(refusal_status(slot.decision)),
                peer.address().to_string(), to_string(slot.decision.verdict));
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  if (tls)
    std::make_shared<http_session>(std::move(socket), ctx_, std::move(slot.ticket),
                                   std::move(tls))
      ->run();
  else
    std::make_shared<http_session>(std::move(socket), ctx_, std::move(slot.ticket))->run();
}

} // namespace switchboard::net
