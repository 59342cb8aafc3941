#pragma once

// A real redis-server for the Redis store's tests: started on a free
// loopback port without persistence, stopped (SIGKILL) by the test or at
// the end. tools/setup.sh --tests installs redis-server.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace switchboard::net::testing {

/// A port nothing listens on now (the kernel's pick, released).
inline std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Whether something accepts connections on 127.0.0.1:port.
inline bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class redis_server {
public:
  explicit redis_server(std::vector<std::string> extra = {})
    : port_(free_port()), extra_(std::move(extra)) {
    start();
  }

  ~redis_server() {
    stop();
  }

  std::uint16_t port() const noexcept {
    return port_;
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(port_);
  }

  /// Starts it (again, on the same port, with an empty data set) and waits
  /// until it accepts connections (at most 5 s).
  void start() {
    std::vector<std::string> args{"redis-server", "--port",       std::to_string(port_),
                                  "--bind",       "127.0.0.1",    "--save",
                                  "",             "--appendonly", "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid_, "redis-server", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0); // tools/setup.sh --tests installs redis-server
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    while (!accepts(port_)) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }

  /// Kills it (its data is gone: no persistence).
  void stop() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  /// Freezes it (SIGSTOP): connections stay open, nothing is answered.
  void pause() {
    ::kill(pid_, SIGSTOP);
  }

  void resume() {
    ::kill(pid_, SIGCONT);
  }

  /// Runs redis-cli with `args` against it; its exit status.
  int cli(const std::string& args) const {
    auto cmd = "redis-cli -p " + std::to_string(port_) + " " + args + " >/dev/null";
    return std::system(cmd.c_str());
  }

private:
  std::uint16_t port_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

} // namespace switchboard::net::testing
