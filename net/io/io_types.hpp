#pragma once

// The socket types of a node. A connection lives on one io_context (one
// thread) for good, so its sockets carry that context's executor itself
// rather than a type-erased one: 48 bytes less per socket and per pending
// operation (docs/benchmarks.md, memory budget).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace switchboard::net {

using loop_executor = boost::asio::io_context::executor_type;
using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, loop_executor>;
/// The HTTP side of a connection (with Beast's timeouts).
using http_stream = boost::beast::basic_stream<boost::asio::ip::tcp, loop_executor>;

} // namespace switchboard::net
