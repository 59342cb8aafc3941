#pragma once

// The node's admission limits on one I/O loop (the first: one thread, so it
// serializes the table as a strand would): the one place that knows how many
// WebSocket connections and pending (not yet upgraded) TCP connections each
// source address holds and how often it tried lately (an admission_table,
// touched only on that loop).
//
// A new TCP connection: the listener, which accepts on that same loop,
// calls open_pending() and gets a ticket that counts the connection as
// pending until the http_session that holds it ends (after an upgrade: as
// soon as the WebSocket takes over), or the refusal.
//
// The protocol, for one upgrade request:
//   1. http_session calls ask(peer address, its own executor, handler);
//      ask() posts the attempt to the admission strand.
//   2. On the strand the table decides; an admitted attempt gets a ticket.
//      The verdict (and ticket) is posted back to the session's executor.
//   3. The session either answers 503/429 with Retry-After, or hands the
//      stream and the ticket to a ws_session.
//   4. The ticket's destructor posts the release to the admission strand,
//      whichever way the connection ends (even if the upgrade then fails).

#include "admission/admission_table.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <functional>
#include <memory>

namespace switchboard::net {

class admission;

/// The table's key of an address: IPv4 (and IPv4-mapped IPv6) as
/// IPv4-mapped IPv6; other IPv6 addresses cut to their /64, since one host
/// or one customer usually holds a whole /64.
address_key key_of(const boost::asio::ip::address& address);

/// An admitted WebSocket connection's slot, or a pending connection's;
/// destroying (or reassigning) it gives the slot back.
class admission_ticket {
public:
  admission_ticket() noexcept = default;
  admission_ticket(admission_ticket&& other) noexcept = default;
  admission_ticket& operator=(admission_ticket&& other) noexcept;
  ~admission_ticket();

  /// Whether this ticket holds a slot.
  explicit operator bool() const noexcept {
    return owner_ != nullptr;
  }

private:
  friend class admission;

  admission_ticket(std::shared_ptr<admission> owner, const address_key& key,
                   bool pending) noexcept;
  void release() noexcept;

  std::shared_ptr<admission> owner_;
  address_key key_{};
  bool pending_ = false; ///< a pending connection's slot, not a WebSocket's
};

/// What ask() hands back.
struct admission_result {
  admission_decision decision;
  admission_ticket ticket; ///< holds a slot exactly when admitted
};

class admission : public std::enable_shared_from_this<admission> {
public:
  using verdict_handler = std::function<void(admission_result)>;
  using counts_handler = std::function<void(rejection_counts)>;

  /// Addresses without a connection the table remembers at least.
  static constexpr std::size_t idle_entries = 65536;

  admission(boost::asio::io_context& ioc, const admission_limits& limits);

  /// Decides on one upgrade attempt from `from`; `on_verdict` runs on `reply_on`.
  void ask(const boost::asio::ip::address& from, boost::asio::any_io_executor reply_on,
           verdict_handler on_verdict);

  /// Counts a TCP connection just accepted from `from` as pending: the
  /// ticket holds its slot; no ticket past the pending limits. Only on the
  /// admission's own loop (the listener's).
  admission_result open_pending(const boost::asio::ip::address& from);

  /// Reads the rejection counters; `on_counts` runs on `reply_on`.
  void read_rejections(boost::asio::any_io_executor reply_on, counts_handler on_counts);

private:
  friend class admission_ticket;

  /// The loop's plain executor. (Not a strand: a strand's state belongs to
  /// the io_context's strand service, and the admission may be destroyed
  /// after the io_context by a ticket's last owner.)
  boost::asio::io_context::executor_type strand_;
  admission_table table_; ///< on strand_ only
};

} // namespace switchboard::net
