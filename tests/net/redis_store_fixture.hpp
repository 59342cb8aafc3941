#pragma once

// The Redis history store (net/redis/) on a real actor system and a real
// io_context thread, against redis_server instances: a request goes to
// the store actor, which asks Redis, and the test waits (bounded) for the
// answer.

#include "redis/redis_history.hpp"
#include "redis/redis_store.hpp"
#include "redis_server.hpp"
#include "switchboard/history_store.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <optional>
#include <thread>

namespace switchboard::net::testing {

using namespace std::chrono_literals;

struct redis_store_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  boost::asio::io_context ioc;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
    ioc.get_executor()};
  std::thread loop{[this] { ioc.run(); }};
  std::shared_ptr<redis_shards> shards;
  caf::actor store;
  caf::scoped_actor self{sys};
  redis_settings settings;

  /// A store over `servers` (in this order), with `settings` as set.
  void open(const std::vector<const redis_server*>& servers) {
    std::vector<std::pair<std::string, std::uint16_t>> hosts;
    for (auto* s : servers) {
      settings.servers.push_back(s->address());
      hosts.emplace_back("127.0.0.1", s->port());
    }
    shards = std::make_shared<redis_shards>(ioc, settings, hosts, nullptr);
    shards->start();
    store = spawn_redis_history(sys, shards, settings, nullptr);
  }

  // The node's order (redis_store::stop): the connections close, the
  // actor ends (and with it its share of them), and the connections go
  // before the io_context they were made on.
  ~redis_store_fixture() {
    redis_store owned{std::move(shards), std::move(store)};
    CHECK(owned.stop());
    // What stop() cancelled has run once a handler posted after it runs.
    std::promise<void> flushed;
    boost::asio::post(ioc, [&] { flushed.set_value(); });
    flushed.get_future().wait_for(5s);
    owned.shards.reset();
    work.reset();
    ioc.stop();
    loop.join();
  }

  /// The store's answer to `msg` (at most 5 s).
  template <class T, class Msg>
  caf::expected<T> ask(Msg msg) {
    caf::expected<T> out = caf::make_error(caf::sec::request_timeout);
    self->request(store, 5s, std::move(msg))
      .receive([&](T& v) { out = std::move(v); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  caf::expected<stream_position> append(const std::string& topic, const std::string& data,
                                        history_limits lim = {100, 1h}) {
    return ask<stream_position>(store_append{topic, data, lim});
  }

  caf::expected<history_result> recover(const std::string& topic, const stream_position& since,
                                        std::uint64_t max = 1000, history_limits lim = {100, 1h}) {
    return ask<history_result>(store_recover{topic, since, max, lim});
  }

  /// Whether a connection to every shard is up again (at most 10 s).
  bool connected() {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      bool all = true;
      for (std::size_t i = 0; i < shards->size(); ++i)
        all = all && shards->metrics(i).connected.load();
      if (all)
        return true;
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(10ms);
    }
  }
};

inline std::vector<std::uint64_t> offsets_of(const history_result& r) {
  std::vector<std::uint64_t> out;
  for (auto& m : r.messages)
    out.push_back(m.offset);
  return out;
}

} // namespace switchboard::net::testing
