// The process_* families (observe/process_metrics.hpp): /proc/PID/stat and
// /proc/stat parsed from known text, and this test process read for real.

#include "observe/process_metrics.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fcntl.h>
#include <unistd.h>

using namespace switchboard::net;

TEST_CASE("process metrics: /proc/PID/stat, a command name with spaces and parentheses") {
  // Fields 14/15 (utime, stime: 250 + 50 ticks), 22 (start: 1000 ticks
  // after boot), 23 (vsize) and 24 (rss: 300 pages).
  std::string stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 "
                     "7 0 1000 123456789 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "
                     "17 1 0 0 0 0 0";
  auto s = parse_proc_stat(stat, 100, 4096, 1700000000);
  REQUIRE(s);
  CHECK(s->cpu_seconds == Approx(3.0));
  CHECK(s->start_time_seconds == Approx(1700000010.0));
  CHECK(s->virtual_bytes == 123456789);
  CHECK(s->resident_bytes == 300u * 4096u);
  CHECK_FALSE(parse_proc_stat("4242 (a) S 1 2", 100, 4096, 0));
  CHECK_FALSE(parse_proc_stat("no parenthesis", 100, 4096, 0));
  CHECK_FALSE(parse_proc_stat(stat, 0, 4096, 0));
}

TEST_CASE("process metrics: the boot time of /proc/stat") {
  CHECK(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1765000000\nprocesses 9\n") == 1765000000.0);
  CHECK_FALSE(parse_boot_time("cpu  1 2 3\n"));
  CHECK_FALSE(parse_boot_time("btime soon\n"));
}

TEST_CASE("process metrics: this process, read from /proc") {
  auto before = read_process_sample();
  REQUIRE(before);
  CHECK(before->resident_bytes > 0);
  CHECK(before->virtual_bytes >= before->resident_bytes);
  CHECK(before->max_fds >= before->open_fds);
  auto now = std::chrono::duration<double>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  CHECK(before->start_time_seconds <= now + 1);
  CHECK(before->start_time_seconds > now - 24 * 3600);
  // One more descriptor open: counted.
  auto fd = ::open("/dev/null", O_RDONLY);
  REQUIRE(fd >= 0);
  auto after = read_process_sample();
  ::close(fd);
  REQUIRE(after);
  CHECK(after->open_fds == before->open_fds + 1);

  exposition out;
  process_metrics(out, *after);
  auto& text = out.text();
  CHECK(text.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
  CHECK(text.find("\nprocess_open_fds " + std::to_string(after->open_fds) + "\n")
        != std::string::npos);
  CHECK(text.find("\nprocess_max_fds ") != std::string::npos);
  CHECK(text.find("\nprocess_start_time_seconds ") != std::string::npos);
}
