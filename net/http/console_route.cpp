#include "http/console_route.hpp"

#include "admission/admission.hpp"
#include "http/console_assets.hpp"
#include "http/url_decode.hpp"

#include <boost/json.hpp>

#include <string>

namespace switchboard::net {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::string_view prefix = "/console";

std::string_view path_of(beast::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return {path.data(), path.size()};
}

// Every console answer: no framing by other sites, no guessing of types, no
// scripts or connections but the node's own, no referrer to elsewhere.
http_response harden(http_response res) {
  res.set("Content-Security-Policy",
          "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
          "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::cache_control, "no-store");
  return res;
}

http_response json_answer(const http_request& req, http::status status, std::string body) {
  return harden(make_response(req, status, std::move(body) + "\n", "application/json"));
}

http_response error_answer(const http_request& req, http::status status, std::string_view code,
                           std::string_view reason) {
  boost::json::object obj{{"error", code}, {"reason", reason}};
  return json_answer(req, status, boost::json::serialize(obj));
}

http_response redirect(const http_request& req, std::string_view location) {
  auto res = make_response(req, http::status::see_other, "");
  res.set(http::field::location, location);
  return harden(std::move(res));
}

std::string session_cookie(const std::string& token, bool tls) {
  auto lifetime = std::chrono::seconds{console_auth::session_lifetime}.count();
  return std::string{console_cookie} + "=" + token + "; Path=/; Max-Age="
         + std::to_string(lifetime) + "; HttpOnly; SameSite=Strict" + (tls ? "; Secure" : "");
}

http_response asset(const http_request& req, const console_asset* file) {
  if (file == nullptr) // a build without the console's files
    return harden(make_response(req, http::status::not_found, "not found\n"));
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return harden(make_response(req, http::status::method_not_allowed, "method not allowed\n"));
  auto ct = std::string{file->content_type};
  return harden(make_response(req, http::status::ok, std::string{file->body}, ct.c_str()));
}

bool logged_in(const http_request& req, const console_auth& auth) {
  auto token = cookie_of(req, console_cookie);
  return token && auth.valid(*token, console_auth::clock::now());
}

// The console's page: for a logged-in browser (without a password: for any
// browser on a loopback host name, which gets a session now).
http_response index(const http_request& req, console_auth& auth, bool tls) {
  if (auth.insecure()) {
    if (!loopback_host(req))
      return harden(make_response(req, http::status::forbidden,
                                  "the console without a password answers on a loopback host "
                                  "name only (localhost, 127.0.0.1, [::1])\n"));
    auto res = asset(req, find_console_asset("index.html"));
    if (!logged_in(req, auth))
      res.set(http::field::set_cookie, session_cookie(auth.issue(console_auth::clock::now()), tls));
    return res;
  }
  if (!logged_in(req, auth))
    return redirect(req, "/console/login");
  return asset(req, find_console_asset("index.html"));
}

// The form field `name` of an application/x-www-form-urlencoded body.
std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    auto amp = body.find('&');
    auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name)
      return url_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

// Requests that change something come from the console's own page.
std::optional<http_response> foreign(const http_request& req, bool tls) {
  if (req.find(console_header) == req.end() || !same_origin(req, tls))
    return error_answer(req, http::status::forbidden, "forbidden",
                        "not from the console's page (Origin, X-Switchboard-Console)");
  return std::nullopt;
}

http_response login(const http_request& req, console_auth& auth, const address_key& from,
                    bool tls) {
  if (auth.insecure())
    return redirect(req, "/console/");
  if (req.method() == http::verb::get || req.method() == http::verb::head)
    return logged_in(req, auth) ? redirect(req, "/console/")
                                : asset(req, find_console_asset("login.html"));
  if (req.method() != http::verb::post)
    return harden(make_response(req, http::status::method_not_allowed, "method not allowed\n"));
  if (auto refused = foreign(req, tls))
    return std::move(*refused);
  auto now = console_auth::clock::now();
  // A throttled address gets no answer about its guess.
  if (auto wait = auth.login_wait(from, now); wait.count() > 0) {
    auto res = error_answer(req, http::status::too_many_requests, "throttled",
                            "too many failed logins from your address");
    res.set(http::field::retry_after, std::to_string(wait.count()));
    return res;
  }
  auto password = form_field(req.body(), "password");
  if (!password || !auth.password_matches(*password)) {
    auth.login_failed(from, now);
    return error_answer(req, http::status::unauthorized, "wrong_password", "wrong password");
  }
  auto res = json_answer(req, http::status::ok, R"({"ok":true})");
  res.set(http::field::set_cookie, session_cookie(auth.issue(now), tls));
  return res;
}

http_response logout(const http_request& req, console_auth& auth, bool tls) {
  if (req.method() != http::verb::post)
    return harden(make_response(req, http::status::method_not_allowed, "method not allowed\n"));
  if (auto refused = foreign(req, tls))
    return std::move(*refused);
  if (auto token = cookie_of(req, console_cookie))
    auth.revoke(*token, console_auth::clock::now());
  auto res = json_answer(req, http::status::ok, R"({"ok":true})");
  res.set(http::field::set_cookie, std::string{console_cookie}
                                     + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
                                     + (tls ? "; Secure" : ""));
  return res;
}

} // namespace

http_response console_answer(const http_request& req, console_auth* auth,
                             const address_key& from, bool tls) {
  if (auth == nullptr)
    return make_response(req, http::status::not_found, "not found\n");
  auto path = path_of(req.target());
  if (path == prefix)
    return redirect(req, "/console/");
  auto rest = path.substr(prefix.size() + 1);
  if (rest.empty() || rest == "index.html")
    return index(req, *auth, tls);
  if (rest == "login" || rest == "login.html")
    return login(req, *auth, from, tls);
  if (rest == "logout")
    return logout(req, *auth, tls);
  return asset(req, find_console_asset(rest));
}

address_key peer_key(const socket_type& socket) {
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  return ec ? address_key{} : key_of(peer.address());
}

} // namespace switchboard::net
