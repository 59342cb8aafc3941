#pragma once

// Accepts TCP connections and starts an http_session for each on the next
// I/O loop, once the admission counts it as pending (not yet upgraded);
// past the pending limits it is refused at once.

#include "io/io_loops.hpp"
#include "io/io_types.hpp"
#include "node/node_context.hpp"

#include <boost/asio.hpp>

#include <functional>
#include <memory>

namespace switchboard::net {

class listener : public std::enable_shared_from_this<listener> {
public:
  /// Accepts on `loops.first()`; every connection goes to the next loop.
  listener(io_loops& loops, std::shared_ptr<node_context> ctx);

  /// Opens, binds and listens.
  boost::system::error_code open(const boost::asio::ip::tcp::endpoint& ep);

  std::uint16_t port() const;

  void run();

  /// Stops accepting; existing sessions are not touched. `then`, when
  /// set, runs once the socket is closed (on the listener's strand).
  void stop(std::function<void()> then = {});

private:
  void do_accept();
  void on_accept(boost::system::error_code ec, socket_type socket);
  void start_session(socket_type socket);

  io_loops& loops_;
  std::shared_ptr<node_context> ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
};

} // namespace switchboard::net
