#include "observe/exposition.hpp"

#include <fmt/format.h>

#include <cmath>

namespace switchboard::net {

namespace {

bool name_char(char c, bool first, bool colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  bool digit = c >= '0' && c <= '9';
  return alpha || (colon && c == ':') || (!first && digit);
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty())
    return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon))
      return false;
  return true;
}

} // namespace

bool valid_metric_name(std::string_view name) {
  return valid_name(name, true);
}

bool valid_label_name(std::string_view name) {
  return valid_name(name, false) && name.substr(0, 2) != "__";
}

std::string escape_label_value(std::string_view value) {
  std::string result;
  result.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      result += "\\\\";
    else if (c == '"')
      result += "\\\"";
    else if (c == '\n')
      result += "\\n";
    else
      result += c;
  }
  return result;
}

std::string escape_help(std::string_view text) {
  std::string result;
  result.reserve(text.size());
  for (char c : text) {
    if (c == '\\')
      result += "\\\\";
    else if (c == '\n')
      result += "\\n";
    else
      result += c;
  }
  return result;
}

std::string format_value(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  // fmt's default is the shortest text that reads back exactly.
  return fmt::format("{}", value);
}

void exposition::family(std::string_view name, std::string_view type,
                        std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name,
                 escape_help(help), name, type);
}

void exposition::series(std::string_view name, const labels& ls) {
  out_ += name;
  if (ls.empty())
    return;
  out_ += '{';
  bool first = true;
  for (auto& [key, value] : ls) {
    if (!first)
      out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    out_ += escape_label_value(value);
    out_ += '"';
  }
  out_ += '}';
}

void exposition::sample(std::string_view name, const labels& ls, std::uint64_t value) {
  series(name, ls);
  fmt::format_to(std::back_inserter(out_), " {}\n", value);
}

void exposition::sample(std::string_view name, const labels& ls, double value) {
  series(name, ls);
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void exposition::histogram(std::string_view name, std::string_view help,
                           const histogram_data& h) {
  family(name, "histogram", help);
  auto bucket = std::string{name} + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    auto le = format_value(h.bounds[i]);
    sample(bucket, {{"le", le}}, cumulative);
  }
  if (h.counts.size() > h.bounds.size())
    cumulative += h.counts[h.bounds.size()];
  sample(bucket, {{"le", "+Inf"}}, cumulative);
  sample(std::string{name} + "_sum", {}, h.sum);
  sample(std::string{name} + "_count", {}, cumulative);
}

} // namespace switchboard::net
