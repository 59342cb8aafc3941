#include "auth/console_auth.hpp"

#include <boost/asio/ip/address.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace switchboard::net {

namespace http = boost::beast::http;

namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

void random_bytes(unsigned char* out, std::size_t size) {
  // Without a working CSPRNG no session could be trusted.
  if (RAND_bytes(out, static_cast<int>(size)) != 1)
    std::abort();
}

std::string mac(const std::array<unsigned char, 32>& key, std::string_view payload) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), out, &size)
      == nullptr)
    std::abort();
  return hex(out, size);
}

// A session token: "EXPIRY.NONCE.MAC", EXPIRY in seconds since the epoch,
// NONCE 16 random bytes, MAC the HMAC-SHA256 of "EXPIRY.NONCE" with the
// node's key (random per start: a restart ends every session).
struct token_parts {
  std::string_view payload, nonce, mac;
  std::int64_t expiry = 0;
};

std::optional<token_parts> split(std::string_view token) {
  auto second = token.rfind('.');
  if (second == std::string_view::npos)
    return std::nullopt;
  auto first = token.find('.');
  if (first == second || first == 0 || first > 12)
    return std::nullopt;
  token_parts p{token.substr(0, second), token.substr(first + 1, second - first - 1),
                token.substr(second + 1)};
  for (auto c : token.substr(0, first)) {
    if (c < '0' || c > '9')
      return std::nullopt;
    p.expiry = p.expiry * 10 + (c - '0');
  }
  return p;
}

std::int64_t seconds_of(console_auth::clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace

console_auth::console_auth(std::string_view password) {
  random_bytes(key_.data(), key_.size());
  if (!password.empty())
    password_ = digest_of(password);
}

std::string console_auth::issue(clock::time_point now) {
  unsigned char nonce[16];
  random_bytes(nonce, sizeof nonce);
  auto payload = std::to_string(seconds_of(now + session_lifetime)) + "." + hex(nonce, 16);
  return payload + "." + mac(key_, payload);
}

bool console_auth::valid(std::string_view token, clock::time_point now) const {
  auto p = split(token);
  if (!p)
    return false;
  auto expected = mac(key_, p->payload);
  if (p->mac.size() != expected.size()
      || CRYPTO_memcmp(p->mac.data(), expected.data(), expected.size()) != 0)
    return false;
  if (p->expiry <= seconds_of(now))
    return false;
  std::lock_guard<std::mutex> guard{mtx_};
  return revoked_.count(std::string{p->nonce}) == 0;
}

void console_auth::revoke(std::string_view token, clock::time_point now) {
  if (!valid(token, now))
    return;
  auto p = split(token);
  std::lock_guard<std::mutex> guard{mtx_};
  // Forget what would have expired anyway; the rest is bounded by the
  // logins one can make (throttled) and the session lifetime.
  for (auto i = revoked_.begin(); i != revoked_.end();)
    i = i->second <= now ? revoked_.erase(i) : std::next(i);
  revoked_.emplace(std::string{p->nonce}, clock::time_point{std::chrono::seconds{p->expiry}});
}

bool console_auth::password_matches(std::string_view presented) const {
  if (!password_)
    return false;
  // As the API key: digests of a fixed size, compared in constant time.
  auto digest = digest_of(presented);
  return CRYPTO_memcmp(digest.data(), password_->data(), digest.size()) == 0;
}

console_auth::bucket& console_auth::bucket_of(const address_key& from, clock::time_point now) {
  if (failures_.size() >= max_addresses && failures_.count(from) == 0) {
    // Full: forget the addresses whose tries are back; if that frees
    // nothing (an attack from many addresses), forget them all.
    for (auto i = failures_.begin(); i != failures_.end();) {
      auto refilled = i->second.tries
                      + std::chrono::duration<double>(now - i->second.at) / login_refill;
      i = refilled >= login_burst ? failures_.erase(i) : std::next(i);
    }
    if (failures_.size() >= max_addresses)
      failures_.clear();
  }
  auto [i, fresh] = failures_.try_emplace(from);
  if (fresh)
    i->second.at = now;
  auto& b = i->second;
  b.tries = std::min<double>(login_burst,
                             b.tries + std::chrono::duration<double>(now - b.at) / login_refill);
  b.at = now;
  return b;
}

std::chrono::seconds console_auth::login_wait(const address_key& from, clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& b = bucket_of(from, now);
  if (b.tries >= 1)
    return std::chrono::seconds{0};
  auto wait = std::chrono::duration<double>(login_refill) * (1 - b.tries);
  return std::chrono::seconds{static_cast<std::int64_t>(wait.count()) + 1};
}

void console_auth::login_failed(const address_key& from, clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& b = bucket_of(from, now);
  b.tries = std::max(0.0, b.tries - 1);
}

// -- request checks --------------------------------------------------------------------

std::optional<std::string_view> cookie_of(const http_request& req, std::string_view name) {
  auto [first, last] = req.equal_range(http::field::cookie);
  for (auto field = first; field != last; ++field) {
    std::string_view rest{field->value().data(), field->value().size()};
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name)
        return trim(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

bool same_origin(const http_request& req, bool tls) {
  auto origins = req.equal_range(http::field::origin);
  if (origins.first == origins.second)
    return true;
  if (std::next(origins.first) != origins.second)
    return false;
  auto host = req[http::field::host];
  if (host.empty())
    return false;
  auto expected = std::string{tls ? "https://" : "http://"} + std::string{host};
  auto origin = origins.first->value();
  if (origin.size() != expected.size())
    return false;
  return std::equal(origin.begin(), origin.end(), expected.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

bool loopback_host(const http_request& req) {
  std::string_view host{req[http::field::host].data(), req[http::field::host].size()};
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    host = close == std::string_view::npos ? std::string_view{} : host.substr(1, close - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  std::string name{host};
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "localhost")
    return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(name, ec);
  return !ec && address.is_loopback();
}

namespace {

bool session_of(const http_request& req, const console_auth& auth) {
  if (auth.insecure() && !loopback_host(req))
    return false;
  auto token = cookie_of(req, console_cookie);
  return token && auth.valid(*token, console_auth::clock::now());
}

} // namespace

bool console_request(const http_request& req, const console_auth& auth, bool tls) {
  auto header = req.find(console_header);
  return header != req.end() && same_origin(req, tls) && session_of(req, auth);
}

bool console_upgrade(const http_request& req, const console_auth& auth, bool tls) {
  // A browser always sends Origin with a WebSocket upgrade: one without it
  // is no console page.
  return req.find(http::field::origin) != req.end() && same_origin(req, tls)
         && session_of(req, auth);
}

} // namespace switchboard::net
