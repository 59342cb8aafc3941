// Several JWT keys picked by kid, JWKS parsing, iss and aud, and the
// authenticator taking a new verifier. Keys are made at test time with
// OpenSSL (jwt_support.hpp); the verifiers' clock is fixed.

#include "jwt_support.hpp"

#include <openssl/core_names.h>

#include <initializer_list>

using namespace jwt_support;

namespace {

// -- JWKs of test keys -------------------------------------------------------------------

std::string bn_param(const pkey_ptr& key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(key.get(), name, &bn) == 1);
  std::string bytes(pad > 0 ? static_cast<std::size_t>(pad)
                            : static_cast<std::size_t>(BN_num_bytes(bn)),
                    '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()),
               static_cast<int>(bytes.size()));
  BN_free(bn);
  return b64url(bytes);
}

std::string rsa_jwk(const pkey_ptr& key, const std::string& kid, const std::string& extra = "") {
  return R"({"kty":"RSA","kid":")" + kid + R"(","n":")" + bn_param(key, OSSL_PKEY_PARAM_RSA_N)
         + R"(","e":")" + bn_param(key, OSSL_PKEY_PARAM_RSA_E) + "\"" + extra + "}";
}

std::string ec_jwk(const pkey_ptr& key, const std::string& kid, const std::string& extra = "") {
  return R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")"
         + bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32) + R"(","y":")"
         + bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32) + "\"" + extra + "}";
}

std::string oct_jwk(const std::string& key, const std::string& kid) {
  return R"({"kty":"oct","kid":")" + kid + R"(","k":")" + b64url(key) + R"("})";
}

std::string jwks(std::initializer_list<std::string> keys) {
  std::string result = R"({"keys":[)";
  for (auto& k : keys)
    result += (result.back() == '[' ? "" : ",") + k;
  return result + "]}";
}

const std::string other_secret = "another-secret-of-at-least-32-bytes!";

// An RSA key "r1", an EC key "e1" and a secret "h1", from a JWKS.
jwt_verifier three_keys() {
  jwt_settings s;
  s.jwks = jwks({rsa_jwk(rsa(), "r1"), ec_jwk(ec(), "e1"), oct_jwk(secret, "h1")});
  return verifier(std::move(s));
}

// The text of a refused configuration (to_string() would escape its quotes).
std::string message_of(const caf::error& err) {
  REQUIRE(err.context().match_elements<std::string>());
  return err.context().get_as<std::string>(0);
}

std::string jwks_error(const std::string& text) {
  jwt_settings s;
  s.jwks = text;
  auto v = jwt_verifier::make(std::move(s));
  REQUIRE_FALSE(v);
  CHECK(v.error() == caf::sec::invalid_argument);
  return message_of(v.error());
}

} // namespace

// -- picking the key -------------------------------------------------------------------

TEST_CASE("a JWKS gives one key per kid, each with its type's algorithm") {
  auto v = three_keys();
  auto keys = v.keys();
  REQUIRE(keys.size() == 3);
  CHECK(keys[0].kid == "e1");
  CHECK(keys[0].algorithm == "ES256");
  CHECK(keys[1].kid == "h1");
  CHECK(keys[1].algorithm == "HS256");
  CHECK(keys[2].kid == "r1");
  CHECK(keys[2].algorithm == "RS256");
  CHECK(v.verify(rs256(claims(), rsa(), header("RS256", "r1"))));
  CHECK(v.verify(es256(claims(), ec(), header("ES256", "e1"))));
  CHECK(v.verify(hs256(claims(), secret, header("HS256", "h1"))));
}

TEST_CASE("the kid picks the key: another key's signature or algorithm fails") {
  jwt_settings s;
  auto second = rsa_key();
  s.jwks = jwks({rsa_jwk(rsa(), "old"), rsa_jwk(second, "new")});
  auto v = verifier(std::move(s));
  CHECK(v.verify(rs256(claims(), rsa(), header("RS256", "old"))));
  CHECK(v.verify(rs256(claims(), second, header("RS256", "new"))));
  CHECK(refusal(v, rs256(claims(), rsa(), header("RS256", "new")))
        == make_error(jwt_errc::bad_signature));
  CHECK(refusal(v, rs256(claims(), rsa(), header("RS256", "gone")))
        == make_error(jwt_errc::unknown_key));
  CHECK(refusal(three_keys(), es256(claims(), ec(), header("ES256", "r1")))
        == make_error(jwt_errc::wrong_algorithm));
  CHECK(refusal(v, rs256(claims(), rsa(), R"({"alg":"RS256","kid":7})"))
        == make_error(jwt_errc::malformed_token));
}

TEST_CASE("without a kid: the one key for the token's alg, never a guess among several") {
  auto v = three_keys();
  CHECK(v.verify(rs256(claims())));
  CHECK(v.verify(es256(claims())));
  CHECK(v.verify(hs256(claims())));
  jwt_settings two;
  two.jwks = jwks({rsa_jwk(rsa(), "a"), rsa_jwk(rsa_key(), "b")});
  CHECK(refusal(verifier(std::move(two)), rs256(claims()))
        == make_error(jwt_errc::missing_key_id));
  jwt_settings rsa_only;
  rsa_only.jwks = jwks({rsa_jwk(rsa(), "a")});
  CHECK(refusal(verifier(std::move(rsa_only)), es256(claims()))
        == make_error(jwt_errc::wrong_algorithm));
}

TEST_CASE("the key without a kid (--jwt-secret) keeps serving tokens without one") {
  CHECK(hs_verifier().verify(hs256(claims(), secret, header("HS256", "whatever"))));
  // With keyed keys beside it, a kid must name one of them.
  jwt_settings s;
  s.secret = secret;
  s.keys = {{"k1", other_secret, {}}};
  auto v = verifier(std::move(s));
  CHECK(v.verify(hs256(claims(), other_secret, header("HS256", "k1"))));
  CHECK(refusal(v, hs256(claims(), secret, header("HS256", "k2")))
        == make_error(jwt_errc::unknown_key));
  // A token without a kid is the kid-less key's: old tokens keep working
  // while keys with ids are added beside it.
  CHECK(v.verify(hs256(claims())));
  CHECK(refusal(v, hs256(claims(), other_secret)) == make_error(jwt_errc::bad_signature));
  jwt_settings rsa_beside;
  rsa_beside.public_key_pem = public_pem(rsa());
  auto second = rsa_key();
  rsa_beside.keys = {{"r2", {}, public_pem(second)}};
  auto w = verifier(std::move(rsa_beside));
  CHECK(w.verify(rs256(claims())));
  CHECK(w.verify(rs256(claims(), second, header("RS256", "r2"))));
  CHECK(refusal(w, rs256(claims(), second)) == make_error(jwt_errc::bad_signature));
  // Another algorithm than the kid-less key's: the one keyed key for it.
  jwt_settings mixed;
  mixed.secret = secret;
  mixed.keys = {{"e", {}, public_pem(ec())}};
  CHECK(verifier(std::move(mixed)).verify(es256(claims())));
}

TEST_CASE("PEM keys with a kid, as a KID.pem directory gives them") {
  jwt_settings s;
  s.keys = {{"rsa", {}, public_pem(rsa())}, {"ec", {}, public_pem(ec())}};
  auto v = verifier(std::move(s));
  CHECK(v.verify(rs256(claims(), rsa(), header("RS256", "rsa"))));
  CHECK(v.verify(es256(claims(), ec(), header("ES256", "ec"))));
  auto refused = [](std::vector<jwt_key> keys) {
    jwt_settings bad;
    bad.keys = std::move(keys);
    auto r = jwt_verifier::make(std::move(bad));
    REQUIRE_FALSE(r);
    return message_of(r.error());
  };
  CHECK_THAT(refused({{"", secret, {}}}), Catch::Contains("needs a key id"));
  CHECK_THAT(refused({{"a", secret, public_pem(ec())}}), Catch::Contains("exactly one"));
  CHECK_THAT(refused({{"a", secret, {}}, {"a", other_secret, {}}}),
             Catch::Contains("'a' appears twice"));
  CHECK_THAT(refused({{"weak", {}, public_pem(rsa_key(1024))}}),
             Catch::Contains("key 'weak': an RSA key needs at least 2048 bits"));
}

// -- algorithm confusion ----------------------------------------------------------------

TEST_CASE("algorithm confusion: an RSA or EC key never verifies HS256") {
  auto v = three_keys();
  for (auto& [key, kid] : {std::pair{rsa(), "r1"}, std::pair{ec(), "e1"}}) {
    INFO(kid);
    // The public key's bytes as an HMAC secret, in every encoding an
    // attacker might try: the PEM text, the JWK's modulus or coordinate.
    CHECK(refusal(v, hs256(claims(), public_pem(key), header("HS256", kid)))
          == make_error(jwt_errc::wrong_algorithm));
  }
  auto modulus = bn_param(rsa(), OSSL_PKEY_PARAM_RSA_N);
  CHECK(refusal(v, hs256(claims(), modulus, header("HS256", "r1")))
        == make_error(jwt_errc::wrong_algorithm));
  // And a secret never verifies RS256.
  CHECK(refusal(v, rs256(claims(), rsa(), header("RS256", "h1")))
        == make_error(jwt_errc::wrong_algorithm));
  // `alg` in a JWK cannot widen what its type allows.
  CHECK_THAT(jwks_error(jwks({rsa_jwk(rsa(), "r", R"(,"alg":"HS256")")})),
             Catch::Contains("\"alg\" must be RS256"));
}

// -- JWKS errors --------------------------------------------------------------------------

TEST_CASE("a JWKS that is not one is refused with the key and the reason") {
  CHECK_THAT(jwks_error("not json"), Catch::Contains("not a JSON object"));
  CHECK_THAT(jwks_error("[]"), Catch::Contains("not a JSON object"));
  CHECK_THAT(jwks_error(R"({"keys":{}})"), Catch::Contains("no \"keys\" array"));
  CHECK_THAT(jwks_error(R"({"keys":[]})"), Catch::Contains("no signing key"));
  CHECK_THAT(jwks_error(R"({"keys":[1]})"), Catch::Contains("key 0: not a JSON object"));
  CHECK_THAT(jwks_error(jwks({R"({"kty":"oct","k":"AAAA"})"})), Catch::Contains("no \"kid\""));
  CHECK_THAT(jwks_error(jwks({oct_jwk(secret, "a"), oct_jwk(other_secret, "a")})),
             Catch::Contains("kid 'a' appears twice"));
  CHECK_THAT(jwks_error(jwks({R"({"kty":"OKP","kid":"x","crv":"Ed25519","x":"AAAA"})"})),
             Catch::Contains("key 'x': \"kty\" must be RSA, EC or oct"));
  CHECK_THAT(jwks_error(jwks({oct_jwk("short", "s")})),
             Catch::Contains("key 's' must be at least 32 bytes"));
  CHECK_THAT(jwks_error(jwks({R"({"kty":"oct","kid":"b","k":"a+b/"})"})),
             Catch::Contains("\"k\" is not base64url"));
  CHECK_THAT(jwks_error(jwks({R"({"kty":"RSA","kid":"r","e":"AQAB"})"})),
             Catch::Contains("key 'r': no \"n\""));
  CHECK_THAT(jwks_error(jwks({rsa_jwk(rsa_key(1024), "small")})),
             Catch::Contains("at least 2048 bits"));
  CHECK_THAT(jwks_error(jwks({rsa_jwk(rsa(), "p", R"(,"d":"AQAB")")})),
             Catch::Contains("private key"));
  CHECK_THAT(jwks_error(jwks({R"({"kty":"EC","crv":"P-384","kid":"c","x":"AA","y":"AA"})"})),
             Catch::Contains("P-256"));
  // A point that is not on the curve: x and y of another point swapped.
  auto swapped = R"({"kty":"EC","crv":"P-256","kid":"off","x":")"
                 + bn_param(ec(), OSSL_PKEY_PARAM_EC_PUB_Y, 32) + R"(","y":")"
                 + bn_param(ec(), OSSL_PKEY_PARAM_EC_PUB_X, 32) + R"("})";
  CHECK_THAT(jwks_error(jwks({swapped})), Catch::Contains("key 'off': not a valid EC public key"));
  CHECK_THAT(jwks_error(jwks({R"({"kty":"EC","crv":"P-256","kid":"s","x":"AAAA","y":"AAAA"})"})),
             Catch::Contains("32 bytes each"));
}

TEST_CASE("JWKS keys for encryption are skipped, a set of only those is refused") {
  jwt_settings s;
  s.jwks = jwks({rsa_jwk(rsa_key(), "enc", R"(,"use":"enc")"),
                 rsa_jwk(rsa(), "sig", R"(,"use":"sig","alg":"RS256")")});
  auto v = verifier(std::move(s));
  REQUIRE(v.keys().size() == 1);
  CHECK(v.keys()[0].kid == "sig");
  CHECK(refusal(v, rs256(claims(), rsa(), header("RS256", "enc")))
        == make_error(jwt_errc::unknown_key));
  CHECK_THAT(jwks_error(jwks({rsa_jwk(rsa(), "enc", R"(,"use":"enc")")})),
             Catch::Contains("no signing key"));
}

// -- iss and aud ----------------------------------------------------------------------------

TEST_CASE("iss must be the configured issuer, when one is configured") {
  jwt_settings s;
  s.secret = secret;
  s.issuer = "https://idp.example";
  auto v = verifier(std::move(s));
  CHECK(v.verify(hs256(claims(R"(,"iss":"https://idp.example")"))));
  CHECK(refusal(v, hs256(claims())) == make_error(jwt_errc::missing_issuer));
  CHECK(refusal(v, hs256(claims(R"(,"iss":"https://idp.example/")")))
        == make_error(jwt_errc::wrong_issuer));
  CHECK(refusal(v, hs256(claims(R"(,"iss":"HTTPS://IDP.EXAMPLE")")))
        == make_error(jwt_errc::wrong_issuer));
  CHECK(refusal(v, hs256(claims(R"(,"iss":["https://idp.example"])")))
        == make_error(jwt_errc::bad_claim));
  // Unconfigured, iss is not looked at.
  CHECK(hs_verifier().verify(hs256(claims(R"(,"iss":"anyone")"))));
}

TEST_CASE("aud must be, or contain, the configured audience") {
  jwt_settings s;
  s.secret = secret;
  s.audience = "switchboard";
  auto v = verifier(std::move(s));
  CHECK(v.verify(hs256(claims(R"(,"aud":"switchboard")"))));
  CHECK(v.verify(hs256(claims(R"(,"aud":["billing","switchboard"])"))));
  CHECK(refusal(v, hs256(claims())) == make_error(jwt_errc::missing_audience));
  CHECK(refusal(v, hs256(claims(R"(,"aud":"billing")"))) == make_error(jwt_errc::wrong_audience));
  CHECK(refusal(v, hs256(claims(R"(,"aud":["billing"])"))) == make_error(jwt_errc::wrong_audience));
  CHECK(refusal(v, hs256(claims(R"(,"aud":[])"))) == make_error(jwt_errc::wrong_audience));
  CHECK(refusal(v, hs256(claims(R"(,"aud":"Switchboard")")))
        == make_error(jwt_errc::wrong_audience));
  CHECK(refusal(v, hs256(claims(R"(,"aud":["switchboard",1])")))
        == make_error(jwt_errc::bad_claim));
  CHECK(refusal(v, hs256(claims(R"(,"aud":7)"))) == make_error(jwt_errc::bad_claim));
  // The verdict names the reason; a refresh is checked the same way.
  upgrade_request req;
  req.refresh = 7;
  req.headers = {{"Authorization", "Bearer " + hs256(claims(R"(,"aud":"billing")"))}};
  auto verdict = jwt_verdict(v, req);
  CHECK_FALSE(verdict.allow);
  CHECK(verdict.status == 401);
  CHECK(verdict.reason == "token audience not accepted");
}

// -- the authenticator ---------------------------------------------------------------------

TEST_CASE("the authenticator judges with the verifier it was sent last") {
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto auth = sys.spawn(jwt_authenticator, hs_verifier(), jwt_refusal_hook{});
  caf::scoped_actor self{sys};
  auto ask = [&](const std::string& token) {
    upgrade_request req;
    req.target = "/ws?token=" + token;
    upgrade_verdict verdict;
    self->request(auth, std::chrono::seconds(5), req)
      .receive([&](upgrade_verdict& v) { verdict = std::move(v); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return verdict;
  };
  auto old_token = hs256(claims());
  auto new_token = hs256(claims(), other_secret, header("HS256", "next"));
  CHECK(ask(old_token).allow);
  CHECK_FALSE(ask(new_token).allow);
  jwt_settings next;
  next.keys = {{"next", other_secret, {}}};
  // From the same sender as the requests: processed before the next one.
  self->send(auth, verifier(std::move(next)));
  CHECK(ask(new_token).allow);
  auto refused = ask(old_token);
  CHECK_FALSE(refused.allow);
  CHECK(refused.reason == "bad token signature"); // no kid: the one HS256 key
  self->send_exit(auth, caf::exit_reason::user_shutdown);
}
