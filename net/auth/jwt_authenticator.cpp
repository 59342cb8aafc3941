// The JWT authenticator: where an upgrade request carries its token, and the
// verdict on it (jwt.hpp).

#include "switchboard/jwt.hpp"

#include "http/url_decode.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

namespace switchboard {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

struct found_tokens {
  std::size_t count = 0;
  std::string token;
  bool broken = false;
};

// Every `token` parameter of the target's query.
void query_tokens(std::string_view target, found_tokens& found) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return;
  auto query = target.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    auto amp = query.find('&');
    auto param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = param.find('=');
    // '+' stays '+': a JWT never holds a space.
    auto name = net::url_decode(param.substr(0, eq), false);
    if (!name || *name != "token")
      continue;
    ++found.count;
    auto value = net::url_decode(
      eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1), false);
    if (!value)
      found.broken = true;
    else
      found.token = std::move(*value);
  }
}

// Every `Authorization: Bearer` header (RFC 6750 2.1).
void header_tokens(const upgrade_request& req, found_tokens& found) {
  constexpr std::string_view scheme = "bearer";
  for (auto& [name, value] : req.headers) {
    if (!iequals(name, "authorization"))
      continue;
    std::string_view v = value;
    if (v.size() <= scheme.size() || !iequals(v.substr(0, scheme.size()), scheme)
        || v[scheme.size()] != ' ')
      continue; // another scheme: not ours to judge
    auto credentials = v.substr(scheme.size());
    auto start = credentials.find_first_not_of(' ');
    ++found.count;
    found.token = start == std::string_view::npos ? std::string{}
                                                  : std::string{credentials.substr(start)};
  }
}

} // namespace

caf::expected<std::string> token_of(const upgrade_request& req) {
  found_tokens found;
  query_tokens(req.target, found);
  header_tokens(req, found);
  if (found.count == 0)
    return make_error(jwt_errc::missing_token);
  if (found.count > 1)
    return make_error(jwt_errc::several_tokens);
  if (found.broken)
    return make_error(jwt_errc::malformed_token);
  return std::move(found.token);
}

upgrade_verdict jwt_verdict(const jwt_verifier& verifier, const upgrade_request& req) {
  upgrade_verdict verdict;
  auto refuse = [&verdict](const caf::error& err) {
    verdict.status = 401;
    verdict.reason = err.category() == jwt_error_category
                       ? to_string(static_cast<jwt_errc>(err.code()))
                       : "invalid token";
    return verdict;
  };
  auto token = token_of(req);
  if (!token)
    return refuse(token.error());
  auto claims = verifier.verify(*token);
  if (!claims)
    return refuse(claims.error());
  verdict.allow = true;
  verdict.user = std::move(claims->subject);
  verdict.topics = std::move(claims->topics);
  // The connection ends where the token would be refused: exp + leeway
  // (saturated: both may be huge).
  if (claims->expires) {
    auto room = caf::timestamp::max() - *claims->expires;
    verdict.expires = *claims->expires + std::min(verifier.leeway(), room);
  }
  return verdict;
}

jwt_authenticator_actor::behavior_type jwt_authenticator(jwt_authenticator_actor::pointer,
                                                         jwt_verifier verifier,
                                                         jwt_refusal_hook on_refusal) {
  // Both handlers run on this actor only: the verifier needs no lock.
  auto current = std::make_shared<jwt_verifier>(std::move(verifier));
  return {
    [current, on_refusal](const upgrade_request& req) {
      auto verdict = jwt_verdict(*current, req);
      if (!verdict.allow && on_refusal)
        on_refusal(req.remote_address, verdict.reason);
      return verdict;
    },
    [current](jwt_verifier& next) { *current = std::move(next); },
  };
}

} // namespace switchboard
