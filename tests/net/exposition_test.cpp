// The Prometheus text format writer and the node's /metrics page, without a
// socket: escaping, names, values, histogram buckets, and a page built from
// known numbers. tests/e2e/test_metrics.py parses a real node's page with
// prometheus_client's parser.

#include "observe/exposition.hpp"
#include "observe/loop_metrics.hpp"
#include "observe/metrics_page.hpp"

#include "exposition_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>

using namespace switchboard;
using namespace switchboard::net;
using namespace switchboard::net::testing;

namespace {

} // namespace

TEST_CASE("exposition: label values escape backslash, double quote and newline") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value(R"(a\b)") == R"(a\\b)");
  CHECK(escape_label_value(R"(say "hi")") == R"(say \"hi\")");
  CHECK(escape_label_value("two\nlines") == R"(two\nlines)");
  CHECK(escape_label_value("\\\"\n") == R"(\\\"\n)");
  // Nothing else is touched: tabs, UTF-8, braces.
  CHECK(escape_label_value("tab\t{ü}") == "tab\t{ü}");
}

TEST_CASE("exposition: HELP text escapes backslash and newline, not quotes") {
  CHECK(escape_help(R"(a "b" \c)") == R"(a "b" \\c)");
  CHECK(escape_help("x\ny") == R"(x\ny)");
}

TEST_CASE("exposition: metric and label names") {
  CHECK(valid_metric_name("switchboard_connections"));
  CHECK(valid_metric_name("a:b_c9"));
  CHECK(valid_metric_name("_x"));
  CHECK_FALSE(valid_metric_name(""));
  CHECK_FALSE(valid_metric_name("9lives"));
  CHECK_FALSE(valid_metric_name("has-dash"));
  CHECK_FALSE(valid_metric_name("has space"));
  CHECK(valid_label_name("reason"));
  CHECK(valid_label_name("le"));
  CHECK_FALSE(valid_label_name("a:b"));
  CHECK_FALSE(valid_label_name("__reserved"));
  CHECK_FALSE(valid_label_name("0x"));
}

TEST_CASE("exposition: values are the shortest exact text, or +Inf, -Inf, NaN") {
  CHECK(format_value(0.0) == "0");
  CHECK(format_value(1.0) == "1");
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(0.1) == "0.1");
  CHECK(std::stod(format_value(5e-05)) == 5e-05);
  CHECK(std::stod(format_value(1.0 / 3)) == 1.0 / 3);
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("exposition: a family with HELP, TYPE and labelled samples") {
  exposition out;
  out.family("demo_total", "counter", "Demo \\ counter\nsecond line.");
  out.sample("demo_total", {{"reason", "a\"b"}, {"stage", "x"}}, std::uint64_t{7});
  out.sample("demo_total", {}, 0.5);
  CHECK(out.text()
        == "# HELP demo_total Demo \\\\ counter\\nsecond line.\n"
           "# TYPE demo_total counter\n"
           "demo_total{reason=\"a\\\"b\",stage=\"x\"} 7\n"
           "demo_total 0.5\n");
}

TEST_CASE("exposition: histogram buckets are cumulative and end with +Inf") {
  exposition out;
  histogram_data h;
  h.bounds = {0.001, 0.5, 2};
  h.counts = {1, 0, 2, 3}; // the last one: above 2
  h.sum = 12.5;
  out.histogram("demo_seconds", "Demo.", h);
  CHECK(out.text()
        == "# HELP demo_seconds Demo.\n"
           "# TYPE demo_seconds histogram\n"
           "demo_seconds_bucket{le=\"0.001\"} 1\n"
           "demo_seconds_bucket{le=\"0.5\"} 1\n"
           "demo_seconds_bucket{le=\"2\"} 3\n"
           "demo_seconds_bucket{le=\"+Inf\"} 6\n"
           "demo_seconds_sum 12.5\n"
           "demo_seconds_count 6\n");
}

TEST_CASE("exposition: an empty histogram still has every bucket") {
  exposition out;
  histogram_data h;
  h.bounds = {1, 2};
  h.counts = {0, 0, 0};
  out.histogram("empty", "Nothing yet.", h);
  CHECK(has_line(out.text(), "empty_bucket{le=\"1\"} 0"));
  CHECK(has_line(out.text(), "empty_bucket{le=\"+Inf\"} 0"));
  CHECK(has_line(out.text(), "empty_count 0"));
  CHECK(has_line(out.text(), "empty_sum 0"));
}

TEST_CASE("loop_histogram: a bound is inclusive (le), above the last is overflow") {
  loop_histogram<3> h{{10, 20, 30}};
  h.observe(0);
  h.observe(10);
  h.observe(11);
  h.observe(30);
  h.observe(31);
  h.observe(1'000'000);
  CHECK(h.count(0) == 2);
  CHECK(h.count(1) == 1);
  CHECK(h.count(2) == 1);
  CHECK(h.count(3) == 2);
  CHECK(h.sum() == 0 + 10 + 11 + 30 + 31 + 1'000'000);
}

TEST_CASE("metrics page: every family once, with the node's numbers") {
  hub_stats hub;
  hub.connections = 3;
  hub.topics = 2;
  hub.messages_in = 10;
  hub.messages_out = 40;
  hub.disconnects = {{"socket_closed", 4}, {"slow_consumer", 1}};
  hub.rejections = {{"rate_limited", 6}};
  hub.mailbox = 9;
  rejection_counts rejected;
  rejected.handshake_rate = 2;
  loop_metrics a;
  loop_metrics b;
  a.bytes_in.add(100);
  b.bytes_in.add(50);
  a.bytes_out.add(1000);
  a.publish_latency.observe(40);        // 40 us: the first bucket (50 us)
  b.publish_latency.observe(3'000);     // 3 ms: the 5 ms bucket
  b.publish_latency.observe(9'000'000); // 9 s: above every bound
  a.queue_depth.observe(1);
  b.queue_depth.observe(300);
  auto page = metrics_page(hub, rejected, {&a, &b});

  CHECK(has_line(page, "# TYPE switchboard_connections gauge"));
  CHECK(has_line(page, "switchboard_connections 3"));
  CHECK(has_line(page, "switchboard_connects_total 8")); // 3 open + 5 gone
  CHECK(has_line(page, "switchboard_disconnects_total{reason=\"socket_closed\"} 4"));
  CHECK(has_line(page, "switchboard_disconnects_total{reason=\"slow_consumer\"} 1"));
  CHECK(has_line(page, "switchboard_disconnects_total{reason=\"heartbeat_timeout\"} 0"));
  CHECK(has_line(page, "switchboard_messages_in_total 10"));
  CHECK(has_line(page, "switchboard_messages_out_total 40"));
  CHECK(has_line(page, "switchboard_bytes_in_total 150"));
  CHECK(has_line(page, "switchboard_bytes_out_total 1000"));
  CHECK(has_line(page, "switchboard_hub_mailbox_messages 9"));
  CHECK(has_line(page, "switchboard_topics 2"));
  CHECK(has_line(page, "# TYPE switchboard_publish_latency_seconds histogram"));
  CHECK(has_line(page, "switchboard_publish_latency_seconds_bucket{le=\"5e-05\"} 1"));
  CHECK(has_line(page, "switchboard_publish_latency_seconds_bucket{le=\"0.0025\"} 1"));
  CHECK(has_line(page, "switchboard_publish_latency_seconds_bucket{le=\"0.005\"} 2"));
  CHECK(has_line(page, "switchboard_publish_latency_seconds_bucket{le=\"2.5\"} 2"));
  CHECK(has_line(page, "switchboard_publish_latency_seconds_bucket{le=\"+Inf\"} 3"));
  CHECK(has_line(page, "switchboard_publish_latency_seconds_count 3"));
  CHECK(has_line(page, "switchboard_publish_latency_seconds_sum 9.00304"));
  CHECK(has_line(page, "switchboard_writer_queue_frames_bucket{le=\"1\"} 1"));
  CHECK(has_line(page, "switchboard_writer_queue_frames_bucket{le=\"256\"} 1"));
  CHECK(has_line(page, "switchboard_writer_queue_frames_bucket{le=\"512\"} 2"));
  CHECK(has_line(page, "switchboard_writer_queue_frames_count 2"));
  CHECK(has_line(page,
                 "switchboard_rejections_total{stage=\"upgrade\",reason=\"handshake_rate\"} 2"));
  CHECK(has_line(
    page, "switchboard_rejections_total{stage=\"upgrade\",reason=\"max_connections\"} 0"));
  CHECK(has_line(page,
                 "switchboard_rejections_total{stage=\"command\",reason=\"rate_limited\"} 6"));
  CHECK(has_line(page,
                 "switchboard_rejections_total{stage=\"command\",reason=\"forbidden\"} 0"));

  // The shape of every line: a comment of a family declared once, or a
  // sample of the family declared last, with a valid name and a number.
  std::set<std::string> declared;
  std::string current;
  for (auto& line : lines_of(page)) {
    INFO(line);
    if (line.rfind("# HELP ", 0) == 0)
      continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      current = rest.substr(0, rest.find(' '));
      CHECK(valid_metric_name(current));
      CHECK(declared.insert(current).second);
      continue;
    }
    auto name_end = line.find_first_of("{ ");
    REQUIRE(name_end != std::string::npos);
    auto name = line.substr(0, name_end);
    CHECK(valid_metric_name(name));
    CHECK(name.rfind(current, 0) == 0);
    auto value = line.substr(line.rfind(' ') + 1);
    CHECK_NOTHROW(std::stod(value));
  }
  CHECK(page.back() == '\n');
}

TEST_CASE("metrics page: a node without loops still lists every histogram bucket") {
  auto page = metrics_page(hub_stats{}, rejection_counts{}, {});
  CHECK(has_line(page, "switchboard_publish_latency_seconds_bucket{le=\"+Inf\"} 0"));
  CHECK(has_line(page, "switchboard_connects_total 0"));
}
