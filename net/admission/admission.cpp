#include "admission/admission.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <cassert>

namespace switchboard::net {

namespace asio = boost::asio;

address_key key_of(const asio::ip::address& address) {
  auto v6 = address.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4())
                            : address.to_v6();
  auto bytes = v6.to_bytes();
  address_key key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  if (!v6.is_v4_mapped())
    std::fill(key.begin() + 8, key.end(), std::uint8_t{0});
  return key;
}

// -- admission_ticket -------------------------------------------------------------

admission_ticket::admission_ticket(std::shared_ptr<admission> owner, const address_key& key,
                                   bool pending) noexcept
  : owner_(std::move(owner)), key_(key), pending_(pending) {
}

admission_ticket& admission_ticket::operator=(admission_ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::move(other.owner_);
    key_ = other.key_;
    pending_ = other.pending_;
  }
  return *this;
}

admission_ticket::~admission_ticket() {
  release();
}

void admission_ticket::release() noexcept {
  if (!owner_)
    return;
  // A copy: if the post finds the strand shut down, it destroys the handler
  // (and maybe the admission with it) before it returns.
  auto strand = owner_->strand_;
  asio::post(strand, [owner = std::move(owner_), key = key_, pending = pending_] {
    auto now = admission_table::clock::now();
    if (pending)
      owner->table_.close_pending(key, now);
    else
      owner->table_.release(key, now);
  });
}

// -- admission --------------------------------------------------------------------

admission::admission(asio::io_context& ioc, const admission_limits& limits)
  : strand_(ioc.get_executor()), table_(limits, idle_entries) {
}

void admission::ask(const asio::ip::address& from, asio::any_io_executor reply_on,
                    verdict_handler on_verdict) {
  asio::post(strand_, [self = shared_from_this(), key = key_of(from),
                       reply_on = std::move(reply_on),
                       on_verdict = std::move(on_verdict)]() mutable {
    admission_result result;
    result.decision = self->table_.admit(key, admission_table::clock::now());
    if (result.decision.verdict == admission_verdict::admitted)
      result.ticket = admission_ticket{self, key, false};
    asio::post(reply_on, [on_verdict = std::move(on_verdict),
                          result = std::move(result)]() mutable {
      on_verdict(std::move(result));
    });
  });
}

admission_result admission::open_pending(const asio::ip::address& from) {
  assert(strand_.running_in_this_thread());
  admission_result result;
  auto key = key_of(from);
  result.decision = table_.open_pending(key, admission_table::clock::now());
  if (result.decision.verdict == admission_verdict::admitted)
    result.ticket = admission_ticket{shared_from_this(), key, true};
  return result;
}

void admission::read_rejections(asio::any_io_executor reply_on, counts_handler on_counts) {
  asio::post(strand_, [self = shared_from_this(), reply_on = std::move(reply_on),
                       on_counts = std::move(on_counts)]() mutable {
    asio::post(reply_on, [on_counts = std::move(on_counts),
                          counts = self->table_.rejections()]() { on_counts(counts); });
  });
}

} // namespace switchboard::net
