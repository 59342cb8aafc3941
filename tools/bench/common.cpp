#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "modes.hpp"

namespace bench {

void make_publish(std::string& out, const std::string& topic, char kind, uint64_t seq, uint64_t send_ns, size_t size) {
  out.assign("{\"type\":\"publish\",\"topic\":\"");
  out += topic;
  out += "\",\"data\":\"";
  size_t d0 = out.size();
  char num[24];
  out += kind;
  auto r = std::to_chars(num, num + sizeof num, seq);
  out.append(num, static_cast<size_t>(r.ptr - num));
  out += '.';
  r = std::to_chars(num, num + sizeof num, send_ns);
  out.append(num, static_cast<size_t>(r.ptr - num));
  out += '.';
  size_t dlen = out.size() - d0;
  if (dlen < size) out.append(size - dlen, 'x');
  out += "\"}";
}

std::string make_subscribe(const std::string& topic) {
  return "{\"type\":\"subscribe\",\"topic\":\"" + topic + "\"}";
}

char parse_data(const char* p, size_t n, uint64_t& seq, uint64_t& ts) {
  const char* end = p + n;
  const char* q = p;
  while (q < end) {
    const char* k = static_cast<const char*>(memmem(q, static_cast<size_t>(end - q), "\"data\"", 6));
    if (!k) return 0;
    q = k + 6;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) ++q;
    if (q >= end || *q != ':') continue;  // "data" was a value, not a key
    ++q;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) ++q;
    if (q + 1 >= end || *q != '"') return 0;
    ++q;
    char kind = *q++;
    if (kind != 'S' && kind != 'W') return 0;
    uint64_t s = 0, t = 0;
    const char* d = q;
    while (q < end && *q >= '0' && *q <= '9') s = s * 10 + static_cast<uint64_t>(*q++ - '0');
    if (q == d || q >= end || *q != '.') return 0;
    d = ++q;
    while (q < end && *q >= '0' && *q <= '9') t = t * 10 + static_cast<uint64_t>(*q++ - '0');
    if (q == d || q >= end || *q != '.') return 0;
    seq = s;
    ts = t;
    return kind;
  }
  return 0;
}

std::string_view json_member(const char* p, size_t n, std::string_view key) {
  const char* end = p + n;
  const char* k = static_cast<const char*>(memmem(p, n, key.data(), key.size()));
  if (!k) return {};
  const char* q = k + key.size();
  auto skip = [&] {
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) ++q;
  };
  skip();
  if (q >= end || *q++ != ':') return {};
  skip();
  if (q >= end || *q++ != '"') return {};
  const char* v = q;
  while (q < end && *q != '"') ++q;
  return q < end ? std::string_view(v, static_cast<size_t>(q - v)) : std::string_view{};
}

std::vector<in_addr> source_addrs(size_t conns, long long requested) {
  long long k = requested;
  if (k < 0) k = conns <= 3000 ? 0 : static_cast<long long>(conns / 3000 + 1);
  if (k > 250) k = 250;
  std::vector<in_addr> v;
  for (long long i = 0; i < k; ++i) {
    in_addr a{};
    a.s_addr = htonl((127u << 24) | static_cast<uint32_t>(2 + i));  // 127.0.0.2 ...
    v.push_back(a);
  }
  return v;
}

void FailureLog::add(const char* mode, End why) {
  ++counts[static_cast<int>(why) & 7];
  if (++total <= 5) fmt::print(stderr, "{}: connection attempt failed ({}, errno {})\n", mode, end_name(why), errno);
}

std::string FailureLog::json() const {
  std::string o = "{";
  for (int i = 0; i < 8; ++i)
    if (counts[i]) o += fmt::format("{}\"{}\":{}", o.size() > 1 ? "," : "", end_name(static_cast<End>(i)), counts[i]);
  return o + "}";
}

std::string sample_json(const Sample& s) {
  return fmt::format(
      "{{\"t\":{:.1f},\"rss_kb\":{},\"fds\":{},\"server_conns\":{},\"client_fds\":{},\"silent\":{},"
      "\"deliveries\":{},\"cycles\":{},\"hub_mailbox\":{},\"history_messages\":{},\"history_bytes\":{}}}",
      s.t, s.rss_kb, s.fds, s.server_conns, s.client_fds, s.silent, s.deliveries, s.cycles, s.hub_mailbox,
      s.history_messages, s.history_bytes);
}

Sample server_sample(int pid, const std::string& stats_url, const std::string& metrics_url) {
  std::string stats = stats_url.empty() ? std::string() : http_get_body(stats_url, 500);
  Sample r{0, proc_rss_kb(pid), proc_fd_count(pid), json_number_after(stats, "\"connections\""), 0, 0, 0, 0};
  auto h = stats.find("\"history\"");
  if (h != std::string::npos) {
    r.history_messages = json_number_after(stats, "\"messages\"", h);
    r.history_bytes = json_number_after(stats, "\"bytes\"", h);
  }
  if (!metrics_url.empty())
    r.hub_mailbox = prometheus_value(http_get_body(metrics_url, 500), "switchboard_hub_mailbox_messages");
  return r;
}

bool Common::load(Args& args, double default_timeout, JsonLine& out, std::string& err) {
  url = args.str("url", "ws://127.0.0.1:8080/ws");
  if (!parse_ws_url(url, ep, err)) return false;
  std::string tls_ca = args.str("tls-ca", "");
  bool tls_insecure = args.has("tls-insecure");
  args.str("tls-insecure", "");  // a flag: read, so that it counts as known
  if (!ep.tls && (!tls_ca.empty() || tls_insecure)) {
    err = "--tls-ca and --tls-insecure need a wss:// url";
    return false;
  }
  if (ep.tls && !make_tls_client(ep, tls_ca, tls_insecure, err)) return false;
  timeout_s = args.real("timeout", default_timeout);
  pid = static_cast<int>(args.num("pid", 0));
  coalesce_us = args.real("coalesce-us", 0);
  start_ns = now_ns();
  deadline_ns = start_ns + from_secs(timeout_s);
  out.add("url", url).add("timeout_s", timeout_s).add("pid", pid).add("coalesce_us", coalesce_us);
  return true;
}

void Common::finish(JsonLine& out, bool timed_out) const {
  double user = 0, sys = 0;
  double cpu = self_cpu_seconds(&user, &sys);
  double wall = secs(now_ns() - start_ns);
  out.add("timed_out", timed_out)
      .add("interrupted", g_stop != 0)
      .add("wall_s", wall)
      .add("tool_cpu_user_s", user)
      .add("tool_cpu_sys_s", sys)
      .add("tool_cpu_pct", wall > 0 ? 100.0 * cpu / wall : 0.0);
}

}  // namespace bench
