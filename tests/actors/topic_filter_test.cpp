// The glob patterns of a connection's allowed topics (a JWT's `topics`
// claim): the matcher's edge cases, and the filter around it.

#include "hub/topic_filter.hpp"

#include <catch2/catch.hpp>

#include <string>

using switchboard::glob_match;
using switchboard::topic_filter;

TEST_CASE("a pattern without wildcards matches exactly that topic") {
  CHECK(glob_match("news", "news"));
  CHECK_FALSE(glob_match("news", "News"));
  CHECK_FALSE(glob_match("news", "news2"));
  CHECK_FALSE(glob_match("news", "new"));
  CHECK_FALSE(glob_match("news", ""));
  CHECK(glob_match("", ""));
  CHECK_FALSE(glob_match("", "a"));
}

TEST_CASE("a star matches any run of characters, none and '/' included") {
  CHECK(glob_match("*", "anything/at/all"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("news/*", "news/"));
  CHECK(glob_match("news/*", "news/sport"));
  CHECK(glob_match("news/*", "news/sport/football")); // no hierarchy: '/' is a character
  CHECK_FALSE(glob_match("news/*", "news"));
  CHECK_FALSE(glob_match("news/*", "weather/news/x"));
  CHECK(glob_match("*/chat", "room/1/chat"));
  CHECK(glob_match("a*b*c", "abc"));
  CHECK(glob_match("a*b*c", "aXXbYYbZZc"));
  CHECK_FALSE(glob_match("a*b*c", "aXXbYYbZZ"));
  CHECK(glob_match("**", "x"));
  CHECK(glob_match("a**", "a"));
}

TEST_CASE("the matcher backtracks to the last star only as far as needed") {
  // The literal after the star appears several times: the star must not
  // stop at the first one.
  CHECK(glob_match("*ab", "aab"));
  CHECK(glob_match("*ab", "ababab"));
  CHECK_FALSE(glob_match("*ab", "ababa"));
  CHECK(glob_match("user.*.inbox", "user.a.inbox.x.inbox"));
  CHECK_FALSE(glob_match("user.*.inbox", "user.a.inbox.x"));
  // A long text against a pattern that fails late stays quick (no
  // exponential backtracking: this would take ages with recursion).
  std::string text(256, 'a');
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", text));
}

TEST_CASE("a question mark matches exactly one character, a UTF-8 code point") {
  CHECK(glob_match("room-?", "room-1"));
  CHECK_FALSE(glob_match("room-?", "room-"));
  CHECK_FALSE(glob_match("room-?", "room-12"));
  CHECK(glob_match("room-??", "room-12"));
  CHECK(glob_match("?", "/"));
  // "é" is two bytes, "😀" four: each is one character.
  CHECK(glob_match("caf?", "caf\xC3\xA9"));
  CHECK(glob_match("?", "\xF0\x9F\x98\x80"));
  CHECK_FALSE(glob_match("??", "\xC3\xA9"));
  CHECK(glob_match("*?", "\xC3\xA9"));
  CHECK_FALSE(glob_match("?*?", "\xC3\xA9"));
  CHECK(glob_match("\xC3\xA9*", "\xC3\xA9t\xC3\xA9"));
}

TEST_CASE("wildcards have no escape: a literal star in a topic is matched by one") {
  CHECK(glob_match("a*", "a*"));
  CHECK(glob_match("a?", "a*"));
  CHECK(glob_match("a?", "a?"));
}

TEST_CASE("a filter is unrestricted by default, and lets through what one pattern "
          "matches") {
  topic_filter any;
  CHECK_FALSE(any.restricted());
  CHECK(any.allows("whatever"));
  CHECK_FALSE(topic_filter::of(caf::none).restricted());

  auto some = topic_filter::of(std::vector<std::string>{"news/*", "chat-?"});
  CHECK(some.restricted());
  CHECK(some.allows("news/a"));
  CHECK(some.allows("chat-1"));
  CHECK_FALSE(some.allows("chat-10"));
  CHECK_FALSE(some.allows("weather"));

  topic_filter nothing{std::vector<std::string>{}};
  CHECK(nothing.restricted());
  CHECK_FALSE(nothing.allows("news"));
  CHECK_FALSE(nothing.allows(""));
}
