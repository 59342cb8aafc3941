#pragma once

// Writes the Prometheus text exposition format, version 0.0.4 (what
// GET /metrics answers; there is no prometheus-cpp in Debian bookworm).
// A small writer of our own, checked by unit tests and by parsing a real
// node's output with prometheus_client's parser (tests/e2e/test_metrics.py):
//
//   # HELP name text (backslash and newline escaped)
//   # TYPE name counter|gauge|histogram
//   name{label="value",...} 42          (label values: \\ \" \n escaped)
//   name_bucket{le="0.5"} 3             (cumulative, ascending, then le="+Inf")
//   name_sum 1.25
//   name_count 7

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::net {

/// Label names and values of one sample.
using labels = std::vector<std::pair<std::string_view, std::string_view>>;

/// A histogram's content: per-bucket counts (not cumulative) for each upper
/// bound, then one more for everything above the last bound.
struct histogram_data {
  std::vector<double> bounds;        ///< ascending, without +Inf
  std::vector<std::uint64_t> counts; ///< bounds.size() + 1 entries
  double sum = 0;
};

class exposition {
public:
  /// `# HELP` and `# TYPE` of a metric family; its samples follow.
  void family(std::string_view name, std::string_view type, std::string_view help);

  void sample(std::string_view name, const labels& ls, std::uint64_t value);
  void sample(std::string_view name, const labels& ls, double value);

  /// A whole histogram family: HELP, TYPE, the cumulative buckets with
  /// `le` (and +Inf), _sum and _count.
  void histogram(std::string_view name, std::string_view help, const histogram_data& h);

  /// The text so far.
  const std::string& text() const noexcept {
    return out_;
  }

private:
  void series(std::string_view name, const labels& ls);

  std::string out_;
};

// -- the format's pieces (exposed for the tests) ------------------------------------

/// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);

/// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
bool valid_label_name(std::string_view name);

/// A label value with backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

/// HELP text with backslash and newline escaped.
std::string escape_help(std::string_view text);

/// A sample value: the shortest text that reads back as the same double,
/// "+Inf", "-Inf" or "NaN".
std::string format_value(double value);

} // namespace switchboard::net
