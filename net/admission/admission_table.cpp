#include "admission/admission_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

namespace switchboard::net {

namespace {

// MurmurHash3's 64-bit finalizer: every input bit moves every output bit.
std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

/// At least a second (Retry-After counts whole seconds), at most a day.
std::chrono::seconds whole_seconds(double s) {
  return std::chrono::seconds{static_cast<std::int64_t>(std::clamp(std::ceil(s), 1.0, 86400.0))};
}

} // namespace

std::size_t address_hash::operator()(const address_key& key) const noexcept {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, key.data(), sizeof high);
  std::memcpy(&low, key.data() + sizeof high, sizeof low);
  return static_cast<std::size_t>(mix(high ^ seed) ^ mix(low ^ ~seed));
}

const char* to_string(admission_verdict verdict) noexcept {
  switch (verdict) {
    case admission_verdict::admitted:
      return "admitted";
    case admission_verdict::max_connections:
      return "max_connections";
    case admission_verdict::max_connections_per_address:
      return "max_connections_per_address";
    case admission_verdict::handshake_rate:
      return "handshake_rate";
    case admission_verdict::max_pending_connections:
      return "max_pending_connections";
    case admission_verdict::max_pending_connections_per_address:
      return "max_pending_connections_per_address";
  }
  return "unknown";
}

std::map<std::string, std::uint64_t> upgrade_rejections(const rejection_counts& counts) {
  return {
    {to_string(admission_verdict::max_connections), counts.max_connections},
    {to_string(admission_verdict::max_connections_per_address),
     counts.max_connections_per_address},
    {to_string(admission_verdict::handshake_rate), counts.handshake_rate},
    {"origin_not_allowed", counts.origin_not_allowed},
    {"authentication_failed", counts.authentication_failed},
    {"authentication_unavailable", counts.authentication_unavailable},
  };
}

std::map<std::string, std::uint64_t> connection_rejections(const rejection_counts& counts) {
  return {
    {to_string(admission_verdict::max_pending_connections), counts.max_pending_connections},
    {to_string(admission_verdict::max_pending_connections_per_address),
     counts.max_pending_connections_per_address},
  };
}

namespace {

std::size_t saturated_sum(std::size_t a, std::size_t b) noexcept {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

} // namespace

admission_table::admission_table(const admission_limits& limits, std::size_t idle_entries)
  // At least one idle entry, so that forgetting the idle ones always makes
  // room: addresses with an open or pending connection are at most
  // max_connections + max_pending_connections.
  : limits_(limits), idle_entries_(std::max<std::size_t>(idle_entries, 1)),
    max_entries_(saturated_sum(
      saturated_sum(limits.max_connections, limits.max_pending_connections), idle_entries_)),
    entries_(0, address_hash{random_seed()}) {
}

admission_decision admission_table::admit(const address_key& from, time_point now) {
  if (now - last_sweep_ >= sweep_interval)
    sweep(now);
  auto i = entries_.find(from);
  if (i == entries_.end())
    i = insert(from, now);
  auto& e = i->second;
  refill(e, now);
  if (e.tokens < 1)
    return reject(admission_verdict::handshake_rate,
                  whole_seconds((1 - e.tokens) / limits_.handshake_rate));
  e.tokens -= 1;
  if (connections_ >= limits_.max_connections)
    return reject(admission_verdict::max_connections, full_retry_after);
  if (e.connections >= limits_.max_connections_per_address)
    return reject(admission_verdict::max_connections_per_address, full_retry_after);
  ++e.connections;
  ++connections_;
  return {};
}

void admission_table::release(const address_key& from, time_point now) {
  auto i = entries_.find(from);
  if (i == entries_.end() || i->second.connections == 0)
    return; // not admitted here: nothing to give back
  --i->second.connections;
  --connections_;
  if (idle_and_full(i->second, now))
    entries_.erase(i);
}

admission_decision admission_table::open_pending(const address_key& from, time_point now) {
  if (now - last_sweep_ >= sweep_interval)
    sweep(now);
  if (pending_ >= limits_.max_pending_connections)
    return reject(admission_verdict::max_pending_connections, full_retry_after);
  auto i = entries_.find(from);
  if (i == entries_.end())
    i = insert(from, now);
  auto& e = i->second;
  if (e.pending >= limits_.max_pending_connections_per_address)
    return reject(admission_verdict::max_pending_connections_per_address, full_retry_after);
  ++e.pending;
  ++pending_;
  return {};
}

void admission_table::close_pending(const address_key& from, time_point now) {
  auto i = entries_.find(from);
  if (i == entries_.end() || i->second.pending == 0)
    return; // not opened here: nothing to give back
  --i->second.pending;
  --pending_;
  if (idle_and_full(i->second, now))
    entries_.erase(i);
}

std::size_t admission_table::sweep(time_point now) {
  last_sweep_ = now;
  std::size_t forgotten = 0;
  for (auto i = entries_.begin(); i != entries_.end();) {
    if (idle_and_full(i->second, now)) {
      i = entries_.erase(i);
      ++forgotten;
    } else {
      ++i;
    }
  }
  return forgotten;
}

std::size_t admission_table::connections(const address_key& from) const {
  auto i = entries_.find(from);
  return i == entries_.end() ? 0 : i->second.connections;
}

std::size_t admission_table::pending(const address_key& from) const {
  auto i = entries_.find(from);
  return i == entries_.end() ? 0 : i->second.pending;
}

void admission_table::refill(entry& e, time_point now) const {
  if (now <= e.refilled)
    return;
  std::chrono::duration<double> elapsed = now - e.refilled;
  auto burst = static_cast<double>(limits_.handshake_burst);
  e.tokens = std::min(burst, e.tokens + elapsed.count() * limits_.handshake_rate);
  e.refilled = now;
}

bool admission_table::idle_and_full(entry& e, time_point now) const {
  if (e.connections > 0 || e.pending > 0)
    return false;
  refill(e, now);
  return e.tokens >= static_cast<double>(limits_.handshake_burst);
}

admission_table::map_type::iterator admission_table::insert(const address_key& from,
                                                            time_point now) {
  if (entries_.size() >= max_entries_) {
    sweep(now);
    // Still (nearly) full: many addresses made attempts lately and few have
    // a connection. Forget every address without one (open or pending),
    // bucket and all. Whoever comes back gets a full bucket again, but never
    // more connections than the limits allow (addresses with a connection
    // are always kept). Each pass over the table thus makes room for at least
    // half of `idle_entries` new addresses, so it costs little per address.
    if (max_entries_ - entries_.size() < std::max<std::size_t>(idle_entries_ / 2, 1)) {
      for (auto i = entries_.begin(); i != entries_.end();) {
        auto& e = i->second;
        i = e.connections == 0 && e.pending == 0 ? entries_.erase(i) : std::next(i);
      }
    }
  }
  auto burst = static_cast<double>(limits_.handshake_burst);
  return entries_.emplace(from, entry{0, 0, burst, now}).first;
}

admission_decision admission_table::reject(admission_verdict verdict,
                                           std::chrono::seconds retry_after) {
  switch (verdict) {
    case admission_verdict::max_connections:
      ++rejections_.max_connections;
      break;
    case admission_verdict::max_connections_per_address:
      ++rejections_.max_connections_per_address;
      break;
    case admission_verdict::handshake_rate:
      ++rejections_.handshake_rate;
      break;
    case admission_verdict::max_pending_connections:
      ++rejections_.max_pending_connections;
      break;
    case admission_verdict::max_pending_connections_per_address:
      ++rejections_.max_pending_connections_per_address;
      break;
    case admission_verdict::admitted:
      break;
  }
  return {verdict, retry_after};
}

} // namespace switchboard::net
