#pragma once

// Reading a Prometheus text page line by line, for the tests of the
// exposition writer and the families written with it (exposition_test.cpp,
// cluster_metrics_test.cpp).

#include <sstream>
#include <string>
#include <vector>

namespace switchboard::net::testing {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

/// Whether `text` has `line` as one whole line.
inline bool has_line(const std::string& text, const std::string& line) {
  for (auto& l : lines_of(text))
    if (l == line)
      return true;
  return false;
}

} // namespace switchboard::net::testing
