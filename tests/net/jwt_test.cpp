// The JWT verifier and authenticator: good HS256, RS256 and ES256 tokens,
// and every way a token can be refused. Keys are made at test time with
// OpenSSL, tokens are signed here, and the verifier's clock is fixed.

#include "jwt_support.hpp"

using namespace jwt_support;

// -- good tokens ------------------------------------------------------------------------

TEST_CASE("good HS256, RS256 and ES256 tokens give their subject") {
  auto hs = hs_verifier();
  CHECK(hs.keys().at(0).algorithm == "HS256");
  auto r = hs.verify(hs256(claims(",\"exp\":" + at(60))));
  REQUIRE(r);
  CHECK(r->subject == "alice");
  CHECK_FALSE(r->topics); // no claim: unrestricted

  auto rs = pem_verifier(rsa());
  CHECK(rs.keys().at(0).algorithm == "RS256");
  auto r2 = rs.verify(rs256(claims()));
  REQUIRE(r2);
  CHECK(r2->subject == "alice");

  auto es = pem_verifier(ec());
  CHECK(es.keys().at(0).algorithm == "ES256");
  auto r3 = es.verify(es256(R"({"sub":"bob","exp":)" + at(60) + R"(,"nbf":)" + at(-5) + "}"));
  REQUIRE(r3);
  CHECK(r3->subject == "bob");
}

TEST_CASE("the topics claim is a list of patterns, and only that") {
  auto v = hs_verifier();
  auto r = v.verify(hs256(claims(R"(,"topics":["news/*","room-?"])")));
  REQUIRE(r);
  REQUIRE(r->topics);
  CHECK(*r->topics == std::vector<std::string>{"news/*", "room-?"});
  auto empty = v.verify(hs256(claims(R"(,"topics":[])")));
  REQUIRE(empty);
  REQUIRE(empty->topics); // present and empty: no topic at all
  CHECK(empty->topics->empty());
  for (auto bad : {R"(,"topics":"news/*")", R"(,"topics":[1])", R"(,"topics":null)",
                   R"(,"topics":[""])", R"(,"topics":["a\u0001"])"}) {
    INFO(bad);
    CHECK(refusal(v, hs256(claims(bad))) == make_error(jwt_errc::bad_claim));
  }
}

// -- time -------------------------------------------------------------------------------

TEST_CASE("exp and nbf hold within the leeway, and no further") {
  auto v = hs_verifier(30s);
  CHECK(v.verify(hs256(claims(",\"exp\":" + at(-29)))));
  CHECK(refusal(v, hs256(claims(",\"exp\":" + at(-30)))) == make_error(jwt_errc::expired));
  CHECK(refusal(v, hs256(claims(",\"exp\":" + at(-3600)))) == make_error(jwt_errc::expired));
  CHECK(v.verify(hs256(claims(",\"nbf\":" + at(30)))));
  CHECK(refusal(v, hs256(claims(",\"nbf\":" + at(31))))
        == make_error(jwt_errc::not_yet_valid));
  // Fractional NumericDates count too.
  CHECK(refusal(v, hs256(claims(",\"exp\":" + at(-31) + ".5")))
        == make_error(jwt_errc::expired));

  auto strict = hs_verifier(0s);
  CHECK(refusal(strict, hs256(claims(",\"exp\":" + at(0)))) == make_error(jwt_errc::expired));
  CHECK(strict.verify(hs256(claims(",\"exp\":" + at(1)))));
  CHECK(strict.verify(hs256(claims(",\"nbf\":" + at(0)))));
  CHECK(refusal(strict, hs256(claims(",\"nbf\":" + at(1))))
        == make_error(jwt_errc::not_yet_valid));

  CHECK(refusal(v, hs256(claims(R"(,"exp":"tomorrow")"))) == make_error(jwt_errc::bad_claim));
  CHECK(refusal(v, hs256(claims(R"(,"nbf":null)"))) == make_error(jwt_errc::bad_claim));
}

TEST_CASE("exp is required unless allow_no_exp, and the claims say when it is") {
  auto v = hs_verifier();
  auto r = v.verify(hs256(claims(",\"exp\":" + at(60))));
  REQUIRE(r);
  CHECK(r->expires == unix_time(60));
  auto fractional = v.verify(hs256(claims(",\"exp\":" + at(60) + ".25")));
  REQUIRE(fractional);
  CHECK(fractional->expires == unix_time(60) + 250ms);
  // Beyond what a timestamp holds: as good as never, without overflow.
  auto far = v.verify(hs256(claims(R"(,"exp":1e300)")));
  REQUIRE(far);
  CHECK(far->expires > unix_time(0));
  auto no_exp = hs256(R"({"sub":"alice"})");
  CHECK(refusal(v, no_exp) == make_error(jwt_errc::missing_expiry));
  CHECK(std::string{to_string(jwt_errc::missing_expiry)} == "token has no expiry");
  jwt_settings lenient;
  lenient.secret = secret;
  lenient.allow_no_exp = true;
  auto forever = verifier(std::move(lenient)).verify(no_exp);
  REQUIRE(forever);
  CHECK_FALSE(forever->expires);
}

// -- signatures and algorithms ---------------------------------------------------------

TEST_CASE("a bad signature is refused") {
  auto v = hs_verifier();
  auto good = hs256(claims());
  auto flipped = good;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  CHECK(refusal(v, flipped) == make_error(jwt_errc::bad_signature));
  CHECK(refusal(v, hs256(claims(), "another secret of thirty-two bytes!"))
        == make_error(jwt_errc::bad_signature));
  // The payload changed after signing.
  auto dot = good.find('.');
  auto forged = good.substr(0, dot + 1) + b64url(R"({"sub":"root"})")
                + good.substr(good.rfind('.'));
  CHECK(refusal(v, forged) == make_error(jwt_errc::bad_signature));
  // No signature at all.
  CHECK(refusal(v, good.substr(0, good.rfind('.') + 1)) == make_error(jwt_errc::bad_signature));

  auto rs = pem_verifier(rsa());
  CHECK(refusal(rs, rs256(claims(), rsa_key())) == make_error(jwt_errc::bad_signature));
  auto es = pem_verifier(ec());
  CHECK(refusal(es, es256(claims(), ec_key())) == make_error(jwt_errc::bad_signature));
  auto es_token = es256(claims());
  CHECK(refusal(es, es_token.substr(0, es_token.size() - 4))
        == make_error(jwt_errc::bad_signature)); // not 64 bytes
}

TEST_CASE("alg none and every algorithm but the key's are refused") {
  auto v = hs_verifier();
  auto none = signed_part(header("none"), claims()) + ".";
  CHECK(refusal(v, none) == make_error(jwt_errc::wrong_algorithm));
  CHECK(refusal(v, signed_part(R"({"alg":"None"})", claims()) + ".")
        == make_error(jwt_errc::wrong_algorithm));
  CHECK(refusal(v, hs256(claims(), secret, header("HS512")))
        == make_error(jwt_errc::wrong_algorithm));
  CHECK(refusal(v, rs256(claims())) == make_error(jwt_errc::wrong_algorithm));
  CHECK(refusal(v, hs256(claims(), secret, R"({"typ":"JWT"})"))
        == make_error(jwt_errc::malformed_token)); // no alg at all
  CHECK(refusal(pem_verifier(rsa()), none) == make_error(jwt_errc::wrong_algorithm));
  CHECK(refusal(pem_verifier(ec()), rs256(claims())) == make_error(jwt_errc::wrong_algorithm));
  CHECK(refusal(pem_verifier(rsa()), es256(claims())) == make_error(jwt_errc::wrong_algorithm));
}

TEST_CASE("algorithm confusion: HS256 signed with the public key as secret fails") {
  for (auto key : {rsa(), ec()}) {
    auto v = pem_verifier(key);
    auto pem = public_pem(key);
    CHECK(refusal(v, hs256(claims(), pem)) == make_error(jwt_errc::wrong_algorithm));
  }
}

TEST_CASE("a header with crit is refused: no extension is understood") {
  auto v = hs_verifier();
  CHECK(refusal(v, hs256(claims(), secret, R"({"alg":"HS256","crit":["b64"],"b64":false})"))
        == make_error(jwt_errc::bad_claim));
}

// -- malformed tokens -----------------------------------------------------------------

TEST_CASE("malformed tokens: structure, base64url, JSON") {
  auto v = hs_verifier();
  auto good = hs256(claims());
  auto first_dot = good.find('.');
  for (auto bad : {std::string{"abc"}, std::string{"a.b"}, good + ".x", good + "." + good,
                   "!!" + good.substr(first_dot),                 // outside the alphabet
                   good.substr(0, first_dot) + "=" + good.substr(first_dot), // padding
                   "A" + good.substr(first_dot),                  // impossible length
                   b64url("not json") + good.substr(first_dot),
                   b64url("[1,2]") + good.substr(first_dot),
                   b64url(R"({"alg":"HS256")") + good.substr(first_dot)}) {
    INFO(bad);
    CHECK(refusal(v, bad) == make_error(jwt_errc::malformed_token));
  }
  // A payload that is not a JSON object, correctly signed.
  CHECK(refusal(v, hs256("[\"sub\"]")) == make_error(jwt_errc::malformed_token));
  CHECK(refusal(v, hs256("{\"sub\":")) == make_error(jwt_errc::malformed_token));
  CHECK(refusal(v, "") == make_error(jwt_errc::missing_token));
}

TEST_CASE("the subject is required: a string of 1-256 bytes") {
  auto v = hs_verifier();
  for (auto bad : {std::string{"{}"}, std::string{R"({"sub":42})"},
                   std::string{R"({"sub":""})"}, std::string{R"({"sub":null})"},
                   R"({"sub":")" + std::string(257, 'x') + R"("})"}) {
    INFO(bad);
    CHECK(refusal(v, hs256(bad)) == make_error(jwt_errc::missing_subject));
  }
  CHECK(v.verify(hs256(R"({"sub":")" + std::string(256, 'x') + R"(","exp":)" + at(60) + "}")));
}

TEST_CASE("a token longer than max_token_size is refused before decoding") {
  jwt_settings s;
  s.secret = secret;
  s.max_token_size = 200;
  auto v = verifier(std::move(s));
  CHECK(v.verify(hs256(claims())));
  CHECK(refusal(v, hs256(claims(",\"pad\":\"" + std::string(200, 'x') + "\"")))
        == make_error(jwt_errc::token_too_large));
}

// -- settings ------------------------------------------------------------------------------

TEST_CASE("settings without a usable key, or with two without a kid, are refused") {
  auto refused = [](jwt_settings s) {
    auto v = jwt_verifier::make(std::move(s));
    REQUIRE_FALSE(v);
    CHECK(v.error() == caf::sec::invalid_argument);
    return caf::to_string(v.error());
  };
  CHECK_THAT(refused({}), Catch::Contains("no key"));
  jwt_settings both;
  both.secret = secret;
  both.public_key_pem = public_pem(ec());
  CHECK_THAT(refused(both), Catch::Contains("at most one"));
  jwt_settings short_secret;
  short_secret.secret = "too short";
  CHECK_THAT(refused(short_secret), Catch::Contains("32 bytes"));
  jwt_settings garbage;
  garbage.public_key_pem = "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n";
  CHECK_THAT(refused(garbage), Catch::Contains("PEM public key"));
  jwt_settings private_key;
  private_key.public_key_pem = private_pem(ec());
  CHECK_THAT(refused(private_key), Catch::Contains("PEM public key"));
  jwt_settings weak;
  weak.public_key_pem = public_pem(rsa_key(1024));
  CHECK_THAT(refused(weak), Catch::Contains("2048"));
  jwt_settings p384;
  p384.public_key_pem = public_pem(ec_key("P-384"));
  CHECK_THAT(refused(p384), Catch::Contains("P-256"));
  jwt_settings negative;
  negative.secret = secret;
  negative.leeway = -1s;
  CHECK_THAT(refused(negative), Catch::Contains("leeway"));
}

// -- the request ---------------------------------------------------------------------------

TEST_CASE("the token comes from ?token= (percent-decoded) or Authorization: Bearer") {
  upgrade_request req;
  req.target = "/ws?x=1&token=a%2Eb.c&y";
  CHECK(token_of(req) == std::string{"a.b.c"});
  req.target = "/ws";
  req.headers = {{"Host", "h"}, {"authorization", "bearer   abc.def.ghi"}};
  CHECK(token_of(req) == std::string{"abc.def.ghi"});
  req.headers = {{"Authorization", "Basic dXNlcjpwdw=="}};
  CHECK(token_of(req).error() == make_error(jwt_errc::missing_token));
  req.headers = {};
  CHECK(token_of(req).error() == make_error(jwt_errc::missing_token));
  req.target = "/ws?tokens=1&xtoken=2";
  CHECK(token_of(req).error() == make_error(jwt_errc::missing_token));
  req.target = "/ws?token=a&token=b";
  CHECK(token_of(req).error() == make_error(jwt_errc::several_tokens));
  req.target = "/ws?token=a";
  req.headers = {{"Authorization", "Bearer a"}};
  CHECK(token_of(req).error() == make_error(jwt_errc::several_tokens));
  req.target = "/ws?token=a%2";
  req.headers = {};
  CHECK(token_of(req).error() == make_error(jwt_errc::malformed_token));
  req.target = "/ws?token=";
  CHECK(token_of(req) == std::string{});
}

TEST_CASE("the verdict: the subject and topics of a good token, 401 and a reason "
          "otherwise") {
  auto v = hs_verifier();
  upgrade_request req;
  req.target = "/ws?token=" + hs256(claims(R"(,"topics":["a*"])"));
  auto ok = jwt_verdict(v, req);
  CHECK(ok.allow);
  CHECK(ok.user == "alice");
  REQUIRE(ok.topics);
  CHECK(*ok.topics == std::vector<std::string>{"a*"});
  // The connection ends at exp plus the leeway.
  CHECK(ok.expires == unix_time(3600) + v.leeway());

  req.target = "/ws?token=" + hs256(claims(",\"exp\":" + at(-60)));
  auto expired = jwt_verdict(v, req);
  CHECK_FALSE(expired.allow);
  CHECK(expired.status == 401);
  CHECK(expired.reason == "token expired");
  CHECK(expired.user.empty());

  req.target = "/ws?token=";
  CHECK(jwt_verdict(v, req).reason == "no token");
  req.target = "/ws";
  CHECK(jwt_verdict(v, req).reason == "no token");
}

TEST_CASE("a refresh is judged like an upgrade, on its bearer token") {
  auto v = hs_verifier(10s);
  upgrade_request req;
  req.refresh = 42;
  req.headers = {{"Authorization", "Bearer " + hs256(claims(",\"exp\":" + at(120)))}};
  auto ok = jwt_verdict(v, req);
  CHECK(ok.allow);
  CHECK(ok.user == "alice");
  CHECK(ok.expires == unix_time(120) + 10s);
  req.headers = {{"Authorization", "Bearer " + hs256(R"({"sub":"alice"})")}};
  auto refused = jwt_verdict(v, req);
  CHECK_FALSE(refused.allow);
  CHECK(refused.reason == "token has no expiry");
}
