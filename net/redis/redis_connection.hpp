#pragma once

// One connection to one Redis server, driven by a node's Asio loop through
// hiredis's asynchronous API (docs/cluster.md, "Redis"). Internal to net/.
//
// hiredis does the protocol (RESP framing, the reply parser, pipelining);
// this class is its event-loop adapter: hiredis says when it wants to read
// or write (its ev hooks), a posix::stream_descriptor on its socket waits
// for readiness with async_wait, and every call into hiredis runs on one
// strand. Nothing blocks: connects are non-blocking, and a connection that
// fails or answers later than the timeout is dropped (its pending commands
// answered "unavailable") and made again with a bounded, jittered
// exponential backoff. Commands while there is no connection are answered
// "unavailable" at once: nothing queues while Redis is away.

#include "redis/redis_metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

struct redisAsyncContext;
namespace spdlog {
class logger;
}

namespace switchboard::net {

/// A reply, flattened: the value, or an array's elements (integers as
/// decimal text, nil as empty), which is all our scripts return.
struct redis_reply {
  enum status_type {
    ok,         ///< `items` holds the reply
    error,      ///< Redis answered an error (its text in `what`)
    unavailable ///< no answer: not connected, connection lost or timed out
  };
  status_type status = unavailable;
  std::string what;
  std::vector<std::string> items;
};

/// Called once per command, on the connection's strand.
using redis_callback = std::function<void(redis_reply)>;

/// A Lua script, run with EVALSHA (its SHA-1 computed here, loaded with
/// SCRIPT LOAD on every new connection; a NOSCRIPT answer, after a SCRIPT
/// FLUSH or a failover, runs it once with EVAL, which loads it again).
struct redis_script {
  explicit redis_script(std::string source);
  std::string body;
  std::string sha1; ///< hex
};

class redis_connection : public std::enable_shared_from_this<redis_connection> {
public:
  struct settings {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string password; ///< AUTH on connect when not empty
    std::chrono::milliseconds timeout{2000};
    /// The scripts to SCRIPT LOAD on each connection.
    std::vector<const redis_script*> scripts;
    std::shared_ptr<spdlog::logger> log; ///< connects, losses (null: quiet)
  };

  redis_connection(boost::asio::io_context& ioc, settings s,
                   std::shared_ptr<redis_metrics> metrics);
  ~redis_connection();

  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Connects (and keeps reconnecting until stop()). Any thread.
  void start();

  /// Drops the connection and stops reconnecting: pending commands are
  /// answered unavailable. Any thread; `stopped` runs on the strand after.
  void stop(std::function<void()> stopped = {});

  /// Runs `script` with `keys` and `args`; `done` is called once, on the
  /// strand. Any thread.
  void eval(const redis_script& script, std::vector<std::string> keys,
            std::vector<std::string> args, redis_callback done);

private:
  struct command {
    std::vector<std::string> argv;
    const redis_script* script = nullptr; ///< EVALSHA: retried with EVAL on NOSCRIPT
    redis_callback done;
  };
  struct pending; // a command given to hiredis, until its callback

  void connect();
  void send(command cmd);
  void on_connect(int status);
  void on_disconnect(int status);
  void on_reply(pending& p, void* reply);
  void drop(const char* why);
  void detach();
  void retry_later();
  void watch();
  void wait_read();
  void wait_write();
  void wait(boost::asio::posix::stream_descriptor::wait_type type, bool& wanted, bool& waiting,
            void (*handle)(redisAsyncContext*));

  static void reply_cb(redisAsyncContext* ac, void* reply, void* privdata);
  static void connect_cb(const redisAsyncContext* ac, int status);
  static void disconnect_cb(const redisAsyncContext* ac, int status);
  static void add_read(void* self);
  static void del_read(void* self);
  static void add_write(void* self);
  static void del_write(void* self);
  static void cleanup(void* self);

  using clock = std::chrono::steady_clock;

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  settings settings_;
  std::shared_ptr<redis_metrics> metrics_holder_; ///< shared with the node's scrapes
  redis_metrics& metrics_;
  redisAsyncContext* ac_ = nullptr; ///< null while disconnected
  bool ready_ = false;              ///< the connect completed
  std::chrono::steady_clock::time_point connect_began_{};
  bool stopped_ = false;
  bool connected_once_ = false;
  std::optional<boost::asio::posix::stream_descriptor> socket_;
  bool want_read_ = false;
  bool want_write_ = false;
  bool reading_ = false;
  bool writing_ = false;
  std::uint64_t generation_ = 0; ///< of ac_: a wait from an older one does nothing
  std::deque<clock::time_point> sent_; ///< per command in hiredis, oldest first
  boost::asio::steady_timer watchdog_;
  boost::asio::steady_timer backoff_timer_;
  std::chrono::milliseconds backoff_{0};
  std::minstd_rand jitter_;
};

} // namespace switchboard::net
