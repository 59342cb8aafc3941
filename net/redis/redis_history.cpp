#include "redis/redis_history.hpp"

#include "switchboard/history_store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <future>
#include <cstdio>
#include <optional>
#include <random>

namespace switchboard::net {

/// A reply from Redis, back on the store actor, with what turns it into
/// the request's answer (delivering the request's promise).
struct redis_answer {
  std::size_t shard = 0;
  redis_reply reply;
  std::function<void(const redis_reply&)> finish;
};

} // namespace switchboard::net

// Local only: never crosses the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(switchboard::net::redis_answer)

namespace switchboard::net {

namespace {

using namespace std::chrono;

// How long a topic's meta key (its epoch and last offset) outlives its
// last append when history-ttl is shorter (redis_scripts.hpp).
constexpr milliseconds meta_keep = hours{24};

std::uint64_t number(const std::string& s, bool& ok) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  ok = ok && ec == std::errc{} && end == s.data() + s.size();
  return v;
}

// {epoch, offset}
std::optional<stream_position> position_of(const redis_reply& r) {
  if (r.status != redis_reply::ok || r.items.size() < 2)
    return std::nullopt;
  bool ok = true;
  stream_position pos{number(r.items[1], ok), r.items[0]};
  return ok ? std::optional{pos} : std::nullopt;
}

// {epoch, top, [recovered,] offset, data, offset, data ...}
std::optional<history_result> result_of(const redis_reply& r, bool with_flag) {
  auto top = position_of(r);
  std::size_t first = with_flag ? 3 : 2;
  if (!top || r.items.size() < first || (r.items.size() - first) % 2 != 0)
    return std::nullopt;
  history_result out;
  out.top = std::move(*top);
  out.recovered = with_flag && r.items[2] == "1";
  bool ok = true;
  for (auto i = first; i < r.items.size(); i += 2)
    out.messages.push_back({number(r.items[i], ok), r.items[i + 1]});
  return ok ? std::optional{std::move(out)} : std::nullopt;
}

std::string ms(caf::timespan t) {
  return std::to_string(duration_cast<milliseconds>(t).count());
}

std::string meta_ms(const history_limits& lim) {
  return std::to_string(std::max(duration_cast<milliseconds>(lim.ttl), meta_keep).count());
}

struct redis_history_state {
  std::shared_ptr<redis_shards> shards;
  redis_settings settings;
  std::shared_ptr<spdlog::logger> log;
  std::vector<std::size_t> in_flight; ///< per shard
  std::mt19937_64 random;
  static inline const char* name = "redis_history";

  void init(std::shared_ptr<redis_shards> sh, redis_settings s,
            std::shared_ptr<spdlog::logger> l) {
    in_flight.assign(sh->size(), 0);
    shards = std::move(sh);
    settings = std::move(s);
    log = std::move(l);
    // Epochs must differ across nodes and restarts: seed from the kernel.
    std::random_device dev;
    std::seed_seq seed{dev(), dev(), dev(), dev()};
    random.seed(seed);
  }

  std::string new_epoch() {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(random()));
    return buf;
  }
};

using self_ptr = caf::stateful_actor<redis_history_state>*;

// Runs `script` for `topic` on its shard; `parse` turns the reply into the
// answer (nullopt: a reply the script cannot give, answered unavailable).
template <class T, class Parse>
caf::typed_response_promise<T> run(self_ptr self, const std::string& topic,
                                   const redis_script& script, std::vector<std::string> args,
                                   Parse parse, bool count_append = false) {
  auto& st = self->state;
  auto rp = self->make_response_promise<T>();
  auto shard = redis_shard_of(topic, st.shards->size());
  if (st.in_flight[shard] >= st.settings.max_pending) {
    rp.deliver(make_error(hub_errc::unavailable));
    return rp;
  }
  ++st.in_flight[shard];
  std::vector<std::string> keys{st.settings.prefix + "meta:" + topic,
                                st.settings.prefix + "stream:" + topic};
  auto log = st.log;
  auto finish = [rp, parse, log, topic](const redis_reply& r) mutable {
    if (auto v = parse(r)) {
      rp.deliver(std::move(*v));
      return;
    }
    if (log && r.status == redis_reply::error)
      log->warn("redis: history of topic {}: {}", topic, r.what);
    rp.deliver(make_error(hub_errc::unavailable));
  };
  auto me = caf::actor_cast<caf::actor>(self);
  auto* metrics = &st.shards->metrics(shard);
  st.shards->connection(shard).eval(
    script, std::move(keys), std::move(args),
    [me, shard, finish = std::move(finish), count_append, metrics](redis_reply r) mutable {
      if (count_append && r.status == redis_reply::ok)
        metrics->appends.add(1);
      caf::anon_send(me, redis_answer{shard, std::move(r), std::move(finish)});
    });
  return rp;
}

caf::behavior redis_history(self_ptr self, std::shared_ptr<redis_shards> shards,
                            redis_settings settings, std::shared_ptr<spdlog::logger> log) {
  self->state.init(std::move(shards), std::move(settings), std::move(log));
  auto position = [](const redis_reply& r) { return position_of(r); };
  return {
    [self, position](store_append& q) {
      auto& st = self->state;
      auto& s = st.shards->scripts().append;
      return run<stream_position>(self, q.topic, s,
                                  {std::move(q.data), std::to_string(q.limits.size),
                                   ms(q.limits.ttl), meta_ms(q.limits), st.new_epoch()},
                                  position, true);
    },
    [self, position](store_top& q) {
      auto& st = self->state;
      return run<stream_position>(self, q.topic, st.shards->scripts().top,
                                  {meta_ms(q.limits), st.new_epoch()}, position);
    },
    [self](store_recover& q) {
      auto& st = self->state;
      return run<history_result>(
        self, q.topic, st.shards->scripts().recover,
        {q.since.epoch, std::to_string(q.since.offset), std::to_string(q.max), ms(q.limits.ttl),
         meta_ms(q.limits), st.new_epoch()},
        [](const redis_reply& r) { return result_of(r, true); });
    },
    [self](store_read& q) {
      auto& st = self->state;
      auto since = q.since ? *q.since : stream_position{};
      return run<history_result>(
        self, q.topic, st.shards->scripts().read,
        {std::to_string(q.limit), q.since ? "1" : "0", since.epoch,
         std::to_string(since.offset), ms(q.limits.ttl)},
        [](const redis_reply& r) { return result_of(r, false); });
    },
    [self, position](store_remove& q) {
      auto& st = self->state;
      return run<stream_position>(self, q.topic, st.shards->scripts().remove,
                                  {meta_ms(q.limits), st.new_epoch()}, position);
    },
    // Redis holds the histories: how many, and their bytes, are Redis's
    // own figures (INFO, MEMORY USAGE), not counted here.
    [](store_totals) { return history_totals{}; },
    [self](redis_answer& a) {
      --self->state.in_flight[a.shard];
      a.finish(a.reply);
    },
  };
}

} // namespace

std::size_t redis_shard_of(std::string_view topic, std::size_t shards) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : topic) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return shards == 0 ? 0 : static_cast<std::size_t>(h % shards);
}

redis_shards::redis_shards(boost::asio::io_context& ioc, const redis_settings& s,
                           const std::vector<std::pair<std::string, std::uint16_t>>& hosts,
                           std::shared_ptr<spdlog::logger> log) {
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    metrics_.push_back(std::make_shared<redis_metrics>());
    metrics_.back()->address = i < s.servers.size() ? s.servers[i] : hosts[i].first;
    redis_connection::settings cs;
    cs.host = hosts[i].first;
    cs.port = hosts[i].second;
    cs.password = s.password;
    cs.timeout = duration_cast<milliseconds>(s.timeout);
    cs.scripts = scripts_.all();
    cs.log = log;
    connections_.push_back(std::make_shared<redis_connection>(ioc, cs, metrics_.back()));
  }
}

redis_shards::~redis_shards() = default;

void redis_shards::start() {
  for (auto& c : connections_)
    c->start();
}

void redis_shards::stop() {
  std::vector<std::future<void>> stopped;
  for (auto& c : connections_) {
    auto done = std::make_shared<std::promise<void>>();
    stopped.push_back(done->get_future());
    c->stop([done] { done->set_value(); });
  }
  auto deadline = steady_clock::now() + seconds{1};
  for (auto& f : stopped)
    f.wait_until(deadline);
}

caf::actor spawn_redis_history(caf::actor_system& sys, std::shared_ptr<redis_shards> shards,
                               const redis_settings& s, std::shared_ptr<spdlog::logger> log) {
  return sys.spawn(redis_history, std::move(shards), s, std::move(log));
}

} // namespace switchboard::net
