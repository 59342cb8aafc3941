#include "soak_stream.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "modes.hpp"

namespace bench {
namespace {

bool has(const char* p, size_t n, std::string_view what) {
  return memmem(p, n, what.data(), what.size()) != nullptr;
}

// The unsigned integer right after `key` (which includes the colon), 0 if absent.
uint64_t number(const char* p, size_t n, std::string_view key) {
  const char* k = static_cast<const char*>(memmem(p, n, key.data(), key.size()));
  if (!k) return 0;
  const char* q = k + key.size();
  uint64_t v = 0;
  while (q < p + n && *q >= '0' && *q <= '9') v = v * 10 + static_cast<uint64_t>(*q++ - '0');
  return v;
}

}  // namespace

void StreamCounters::on_control(StreamPos& pos, const char* p, size_t n) {
  if (has(p, n, "\"type\":\"subscribed\"")) {
    auto e = json_member(p, n, "\"epoch\"");
    if (!e.empty()) pos.epoch.assign(e.data(), e.size());
    uint64_t top = number(p, n, "\"offset\":");
    if (has(p, n, "\"recovered\":true")) {
      ++recovered;
      pos.replay_top = top;  // O+1..TOP follow as a replay; pos.offset stays O
    } else {
      if (has(p, n, "\"recovered\":false")) ++not_recovered;
      pos.offset = top;  // live messages go on after TOP
      pos.known = !pos.epoch.empty();
    }
  } else if (has(p, n, "\"type\":\"join\"")) {
    ++joins;
  } else if (has(p, n, "\"type\":\"leave\"")) {
    ++leaves;
  } else if (has(p, n, "\"type\":\"error\"")) {
    if (++errors <= 5) fmt::print(stderr, "soak: server error frame: {}\n", std::string_view(p, std::min<size_t>(n, 200)));
  }
}

bool StreamCounters::on_message(StreamPos& pos, const char* p, size_t n) {
  uint64_t off = number(p, n, "\"offset\":");
  if (off == 0) return false;  // a topic without history
  if (pos.known && off != pos.offset + 1) ++offset_gaps;
  pos.offset = off;
  pos.known = true;
  if (off > pos.replay_top) return false;
  ++replayed;
  return true;
}

void StreamCounters::add_json(JsonLine& out) const {
  out.add("recovered", recovered)
      .add("not_recovered", not_recovered)
      .add("replayed", replayed)
      .add("offset_gaps", offset_gaps)
      .add("joins_seen", joins)
      .add("leaves_seen", leaves)
      .add("error_frames", errors);
}

std::string soak_subscribe(const std::string& topic, bool join_leave, bool recover, const StreamPos& pos) {
  std::string sub = "{\"type\":\"subscribe\",\"topic\":\"" + topic + "\"";
  if (join_leave) sub += ",\"join_leave\":true";
  if (recover && pos.known && !pos.epoch.empty())
    sub += fmt::format(",\"since\":{{\"offset\":{},\"epoch\":\"{}\"}}", pos.offset, pos.epoch);
  return sub + "}";
}

}  // namespace bench
