#include "http/metrics_guard.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <random>

namespace switchboard::net {

namespace http = boost::beast::http;

namespace {

std::uint64_t random_seed() {
  std::random_device dev;
  return (std::uint64_t{dev()} << 32) | dev();
}

} // namespace

bool bearer_matches(std::string_view authorization, const api_key_digest& expected) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size())
    return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return false;
  auto rest = authorization.substr(scheme.size());
  rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
  // As key_matches: digests of a fixed size, compared in constant time.
  auto presented = digest_of(rest);
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

metrics_guard::metrics_guard(std::optional<api_key_digest> key, double rate, double burst,
                             std::size_t max_addresses)
  : key_(key), rate_(rate), burst_(std::max(burst, 1.0)),
    max_addresses_(std::max<std::size_t>(max_addresses, 1)),
    buckets_(0, address_hash{random_seed()}) {
}

std::optional<http_response> metrics_guard::check(const http_request& req,
                                                  const address_key& from,
                                                  clock::time_point now,
                                                  bool key_waived) {
  if (!take(from, now)) {
    auto res = make_response(req, http::status::too_many_requests,
                             "too many requests from your address\n");
    res.set(http::field::retry_after, "1");
    return res;
  }
  if (!key_ || key_waived)
    return std::nullopt;
  auto auth = req.find(http::field::authorization);
  if (auth != req.end() && bearer_matches(auth->value(), *key_))
    return std::nullopt;
  auto res = make_response(req, http::status::unauthorized,
                           "a missing or wrong metrics key (Authorization: Bearer KEY)\n");
  res.set(http::field::www_authenticate, R"(Bearer realm="switchboard-metrics")");
  return res;
}

bool metrics_guard::take(const address_key& from, clock::time_point now) {
  if (rate_ <= 0)
    return true;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = buckets_.find(from);
  if (i == buckets_.end()) {
    if (buckets_.size() >= max_addresses_)
      make_room(now);
    i = buckets_.emplace(from, bucket{burst_, now}).first;
  }
  auto& b = i->second;
  std::chrono::duration<double> elapsed = now - b.last;
  b.tokens = std::min(burst_, b.tokens + std::max(elapsed.count(), 0.0) * rate_);
  b.last = now;
  if (b.tokens < 1)
    return false;
  b.tokens -= 1;
  return true;
}

void metrics_guard::make_room(clock::time_point now) {
  for (auto i = buckets_.begin(); i != buckets_.end();) {
    std::chrono::duration<double> idle = now - i->second.last;
    if (i->second.tokens + idle.count() * rate_ >= burst_)
      i = buckets_.erase(i);
    else
      ++i;
  }
  if (buckets_.size() >= max_addresses_)
    buckets_.clear();
}

std::size_t metrics_guard::tracked() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return buckets_.size();
}

} // namespace switchboard::net
