#include "hub/topic_filter.hpp"

#include <algorithm>

namespace switchboard {

namespace {

// The position after the character that starts at `i`: one byte, plus the
// UTF-8 continuation bytes (10xxxxxx) that follow it.
std::size_t next_char(std::string_view s, std::size_t i) noexcept {
  ++i;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80)
    ++i;
  return i;
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // The classic matcher that backtracks only to the last `*`: O(pattern x
  // text) at worst, no recursion. Text positions stay on character
  // boundaries, since `?` and the `*` both advance by whole characters.
  constexpr auto none = std::string_view::npos;
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = none;     // the pattern position after the last `*`
  std::size_t star_text = 0;   // where the text stood when that `*` started
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = ++p;
      star_text = t;
    } else if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      t = next_char(text, t);
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != none) {
      // Let the last `*` take one more character and try again from there.
      p = star;
      star_text = next_char(text, star_text);
      t = star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

topic_filter::topic_filter(std::vector<std::string> patterns)
  : patterns_(std::make_shared<const std::vector<std::string>>(std::move(patterns))) {
}

topic_filter topic_filter::of(const caf::optional<std::vector<std::string>>& patterns) {
  return patterns ? topic_filter{*patterns} : topic_filter{};
}

bool topic_filter::allows(std::string_view topic) const noexcept {
  if (!patterns_)
    return true;
  return std::any_of(patterns_->begin(), patterns_->end(),
                     [topic](const std::string& p) { return glob_match(p, topic); });
}

} // namespace switchboard
