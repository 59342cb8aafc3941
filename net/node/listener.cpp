#include "node/listener.hpp"

#include "http/http_session.hpp"

#include <caf/logger.hpp>

namespace switchboard::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

listener::listener(io_loops& loops, std::shared_ptr<node_context> ctx)
  : loops_(loops), ctx_(std::move(ctx)), acceptor_(asio::make_strand(loops.first())),
    retry_(acceptor_.get_executor()) {
}

boost::system::error_code listener::open(const tcp::endpoint& ep) {
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec)
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
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

void listener::stop() {
  asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->retry_.cancel();
    self->acceptor_.close(ignored);
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
  socket.set_option(tcp::no_delay(true), ec);
  // Each connection keeps the TLS context it was accepted with; a reload
  // affects the next ones.
  if (auto tls = std::atomic_load(&ctx_->tls))
    std::make_shared<http_session>(std::move(socket), ctx_, std::move(tls))->run();
  else
    std::make_shared<http_session>(std::move(socket), ctx_)->run();
  do_accept();
}

} // namespace switchboard::net
