#include "log_fields.hpp"

#include <cstdint>
#include <optional>

namespace switchboard {

namespace {

// The length of the valid UTF-8 sequence at the start of `s`, 0 if none.
std::size_t utf8_sequence(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto c = byte(0);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || n > s.size())
    return 0;
  std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) >> 6) != 0x2)
      return 0;
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
  static constexpr std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < least[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return n;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

} // namespace

bool bare_log_value(std::string_view value) {
  if (value.empty())
    return false;
  for (char ch : value)
    if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '=' || ch == '\\')
      return false;
  return true;
}

namespace {

bool key_char(char ch, bool first) {
  return (ch >= 'a' && ch <= 'z') || ch == '_' || (!first && ch >= '0' && ch <= '9');
}

std::optional<std::uint32_t> hex4(std::string_view s) {
  if (s.size() < 4)
    return std::nullopt;
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    auto ch = s[i];
    auto d = ch >= '0' && ch <= '9'   ? ch - '0'
             : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
             : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                      : -1;
    if (d < 0)
      return std::nullopt;
    v = v * 16 + static_cast<std::uint32_t>(d);
  }
  return v;
}

// A JSON string literal at the start of `s` (which starts with `"`): its
// value, and how many bytes it took; none if it is not one.
std::optional<std::pair<std::string, std::size_t>> json_string(std::string_view s) {
  std::string value;
  for (std::size_t i = 1; i < s.size(); ++i) {
    auto ch = s[i];
    if (ch == '"')
      return std::pair{std::move(value), i + 1};
    if (ch != '\\') {
      value += ch;
      continue;
    }
    if (++i == s.size())
      return std::nullopt;
    switch (s[i]) {
      case '"': value += '"'; break;
      case '\\': value += '\\'; break;
      case '/': value += '/'; break;
      case 'b': value += '\b'; break;
      case 'f': value += '\f'; break;
      case 'n': value += '\n'; break;
      case 'r': value += '\r'; break;
      case 't': value += '\t'; break;
      case 'u': {
        auto cp = hex4(s.substr(i + 1));
        if (!cp)
          return std::nullopt;
        i += 4;
        // A surrogate pair is one code point; a lone surrogate is U+FFFD.
        if (*cp >= 0xd800 && *cp <= 0xdbff && s.substr(i + 1, 2) == "\\u") {
          auto low = hex4(s.substr(i + 3));
          if (low && *low >= 0xdc00 && *low <= 0xdfff) {
            cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
            i += 6;
          }
        }
        append_utf8(value, *cp >= 0xd800 && *cp <= 0xdfff ? 0xfffd : *cp);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

// The fields from `s` to its end, none unless all of it is fields.
std::optional<std::vector<std::pair<std::string_view, std::string>>>
parse_fields(std::string_view s) {
  std::vector<std::pair<std::string_view, std::string>> result;
  while (true) {
    std::size_t k = 0;
    while (k < s.size() && key_char(s[k], k == 0))
      ++k;
    if (k == 0 || k == s.size() || s[k] != '=')
      return std::nullopt;
    auto key = s.substr(0, k);
    auto rest = s.substr(k + 1);
    std::size_t used = 0;
    if (!rest.empty() && rest.front() == '"') {
      auto str = json_string(rest);
      if (!str)
        return std::nullopt;
      result.emplace_back(key, std::move(str->first));
      used = str->second;
    } else {
      used = std::min(rest.find(' '), rest.size());
      result.emplace_back(key, std::string{rest.substr(0, used)});
    }
    rest.remove_prefix(used);
    if (rest.empty())
      return result;
    if (rest.front() != ' ' || rest.size() == 1)
      return std::nullopt;
    s = rest.substr(1);
  }
}

} // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  while (!text.empty()) {
    auto c = static_cast<unsigned char>(text.front());
    std::size_t n = 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += digits[c >> 4];
      out += digits[c & 15];
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((n = utf8_sequence(text)) > 0) {
      out.append(text.data(), n);
    } else {
      n = 1;
      out += "\xef\xbf\xbd"; // U+FFFD
    }
    text.remove_prefix(n);
  }
}

log_fields split_fields(std::string_view message) {
  // The first place where the rest of the message is fields: at its start,
  // or after a space.
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (i > 0 && message[i - 1] != ' ')
      continue;
    if (!key_char(message[i], true))
      continue;
    if (auto fields = parse_fields(message.substr(i))) {
      auto msg = message.substr(0, i);
      if (!msg.empty())
        msg.remove_suffix(1);
      return {msg, std::move(*fields)};
    }
  }
  return {message, {}};
}

std::string log_value(std::string_view value) {
  if (bare_log_value(value))
    return std::string{value};
  std::string out = "\"";
  append_json_escaped(out, value);
  out += '"';
  return out;
}

} // namespace switchboard
