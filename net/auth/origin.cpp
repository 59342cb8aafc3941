#include "auth/origin.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/sec.hpp>

#include <algorithm>
#include <cctype>

namespace switchboard::net {

namespace {

bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool valid_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s[0]))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
  });
}

// A registered name or an IPv4 address (unreserved characters and
// percent-encodings), or an IPv6 literal in brackets.
bool valid_host(std::string_view h) {
  if (h.empty())
    return false;
  if (h.front() == '[')
    return h.size() > 2 && h.back() == ']'
           && std::all_of(h.begin() + 1, h.end() - 1, [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':'
                       || c == '.';
              });
  return std::all_of(h.begin(), h.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~'
           || c == '%';
  });
}

} // namespace

std::optional<std::string> normalize_origin(std::string_view text) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return std::nullopt;
  auto scheme = text.substr(0, sep);
  auto authority = text.substr(sep + 3);
  // The port follows the last ':' outside an IPv6 literal's brackets.
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) != std::string_view::npos)
    colon = std::string_view::npos;
  auto host = authority.substr(0, colon);
  if (!valid_scheme(scheme) || !valid_host(host))
    return std::nullopt;
  std::string result;
  result.reserve(text.size());
  for (auto c : scheme)
    result += lower(c);
  result += "://";
  for (auto c : host)
    result += lower(c);
  if (colon != std::string_view::npos) {
    auto port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit))
      return std::nullopt;
    auto value = std::stoul(std::string{port});
    if (value == 0 || value > 65535)
      return std::nullopt;
    result += ':';
    result += std::to_string(value);
  }
  return result;
}

caf::expected<std::shared_ptr<const std::vector<std::string>>>
normalize_origins(const std::vector<std::string>& origins) {
  auto result = std::make_shared<std::vector<std::string>>();
  for (auto& origin : origins) {
    auto normalized = normalize_origin(origin);
    if (!normalized)
      return caf::make_error(caf::sec::invalid_argument,
                             "allowed-origins: '" + origin + "' is not scheme://host[:port]");
    result->push_back(std::move(*normalized));
  }
  return result;
}

bool origin_allowed(const std::vector<std::string>& allowed, const http_request& req) {
  if (allowed.empty())
    return true;
  auto [first, last] = req.equal_range(boost::beast::http::field::origin);
  if (first == last)
    return true; // not a browser: nothing to protect against here
  if (std::next(first) != last)
    return false;
  auto origin = normalize_origin(first->value());
  return origin && std::find(allowed.begin(), allowed.end(), *origin) != allowed.end();
}

} // namespace switchboard::net
