// libFuzzer target for the JWT authenticator (net/jwt*.cpp) and the topic
// patterns (actors/hub/topic_filter.cpp). The first byte picks what the rest is:
// 0: a token, verified as it comes (mostly refused before the signature);
// 1: a header and a payload (JSON, split at the first newline) that the
//    target signs itself, so that the claims' checks run on any JSON;
// 2: an upgrade request's target, searched for its token;
// 3: a pattern and a topic (split at the first newline).
// Besides crashes, leaks and sanitizer reports it checks what the verifier
// promises: an accepted token has a subject of 1-256 bytes and patterns
// that are valid topics; an HS256 verifier accepts only "alg":"HS256"; a
// pattern without wildcards matches only itself, and "*" matches anything.
//
// Run: tools/ci/fuzz.sh, or by hand on a copy of the seed corpus:
//   build-fuzz/tests/fuzz/jwt_fuzz -dict=tests/fuzz/jwt.dict <dir>

#include "protocol.hpp"
#include "switchboard/jwt.hpp"
#include "hub/topic_filter.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace switchboard;
namespace json = boost::json;

namespace {

const std::string secret = "fuzz-secret-fuzz-secret-fuzz-secret!";

void require(bool ok, const char* what, std::string_view input) {
  if (ok)
    return;
  std::fprintf(stderr, "jwt_fuzz: violated: %s\ninput: %.*s\n", what,
               static_cast<int>(input.size()), input.data());
  std::abort();
}

const jwt_verifier& verifier() {
  static const jwt_verifier v = [] {
    jwt_settings s;
    s.secret = secret;
    s.clock = [] {
      return jwt_settings::clock_type::time_point{std::chrono::seconds{1'700'000'000}};
    };
    return *jwt_verifier::make(s);
  }();
  return v;
}

std::string b64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()),
                           static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string sign(std::string_view header, std::string_view payload) {
  auto part = b64url(header) + "." + b64url(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(part.data()), part.size(), mac, &len);
  return part + "." + b64url(std::string_view{reinterpret_cast<char*>(mac), len});
}

void check_claims(const caf::expected<jwt_claims>& r, std::string_view input) {
  if (!r)
    return;
  require(!r->subject.empty() && r->subject.size() <= 256, "a subject out of bounds", input);
  if (r->topics)
    for (auto& p : *r->topics)
      require(protocol::valid_topic(p), "a pattern that is no valid topic", input);
}

// What the header says, if it is a JSON object with a string "alg".
std::string alg_of(std::string_view header) {
  json::error_code ec;
  auto v = json::parse(json::string_view{header.data(), header.size()}, ec);
  if (ec || !v.is_object())
    return {};
  auto alg = v.as_object().if_contains("alg");
  return alg && alg->is_string() ? std::string{alg->get_string().c_str()} : std::string{};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto mode = data[0] % 4;
  std::string_view input{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto nl = input.find('\n');
  auto first = input.substr(0, nl);
  auto second = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);
  switch (mode) {
    case 0:
      check_claims(verifier().verify(input), input);
      break;
    case 1: {
      auto r = verifier().verify(sign(first, second));
      check_claims(r, input);
      if (r)
        require(alg_of(first) == "HS256", "a token accepted under another alg", input);
      break;
    }
    case 2: {
      upgrade_request req;
      req.target = std::string{input};
      auto token = token_of(req);
      if (token)
        check_claims(verifier().verify(*token), input);
      break;
    }
    default: {
      auto matched = glob_match(first, second);
      if (first.find_first_of("*?") == std::string_view::npos)
        require(matched == (first == second), "a literal pattern matching another text",
                input);
      require(glob_match("*", second), "'*' not matching a text", input);
      break;
    }
  }
  return 0;
}
