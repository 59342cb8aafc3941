// The JSON lines formatter (switchboard/log_format.hpp): one object per
// line, for a log pipeline that reads fields rather than text.

#include "switchboard/log_format.hpp"

#include "log_fields.hpp"

#include <spdlog/details/log_msg.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace switchboard {

namespace {

// RFC 3339 in UTC with milliseconds: 2026-12-07T08:23:00.123Z.
void append_time(std::string& out, spdlog::log_clock::time_point t) {
  using namespace std::chrono;
  auto since = t.time_since_epoch();
  auto secs = duration_cast<seconds>(since);
  auto ms = duration_cast<milliseconds>(since - secs).count();
  if (ms < 0) { // before 1970: the remainder borrows from the seconds
    ms += 1000;
    secs -= seconds{1};
  }
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  auto n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, static_cast<int>(ms));
  out.append(buf, static_cast<std::size_t>(n));
}

void append_member(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  append_json_escaped(out, key);
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}

bool reserved(std::string_view key) {
  return key == "time" || key == "level" || key == "logger" || key == "msg";
}

class json_log_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string out = "{\"time\":\"";
    append_time(out, msg.time);
    out += '"';
    auto level = spdlog::level::to_string_view(msg.level);
    append_member(out, "level", {level.data(), level.size()});
    append_member(out, "logger", {msg.logger_name.data(), msg.logger_name.size()});
    auto parts = split_fields({msg.payload.data(), msg.payload.size()});
    append_member(out, "msg", parts.msg);
    for (auto& [key, value] : parts.fields)
      append_member(out, reserved(key) ? "_" + std::string{key} : std::string{key}, value);
    out += "}\n";
    dest.append(out.data(), out.data() + out.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_log_formatter>();
  }
};

} // namespace

std::unique_ptr<spdlog::formatter> make_json_log_formatter() {
  return std::make_unique<json_log_formatter>();
}

} // namespace switchboard
