#pragma once

// A logger whose lines a test can read while a node writes to it from its
// own threads: every line is kept as its formatter wrote it, under the
// sink's mutex.

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace switchboard::testing {

class capture_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  /// The lines so far (without their newlines).
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> guard{mutex_};
    return lines_;
  }

  /// The lines so far that contain `part`.
  std::vector<std::string> lines_with(const std::string& part) {
    std::vector<std::string> result;
    for (auto& line : lines())
      if (line.find(part) != std::string::npos)
        result.push_back(line);
    return result;
  }

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    std::string line{buf.data(), buf.size()};
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.pop_back();
    lines_.push_back(std::move(line));
  }
  void flush_() override {
  }

private:
  std::vector<std::string> lines_;
};

/// A logger that writes only the message (pattern `%v`) into `sink`.
inline std::shared_ptr<spdlog::logger> capture_logger(std::shared_ptr<capture_sink> sink) {
  auto log = std::make_shared<spdlog::logger>("test", std::move(sink));
  log->set_pattern("%v");
  log->set_level(spdlog::level::debug);
  return log;
}

} // namespace switchboard::testing
