#include "switchboard/node.hpp"

#include "admission/admission.hpp"
#include "auth/origin.hpp"
#include "cluster/cluster_state.hpp"
#include "hub/hub_interface.hpp"
#include "io/io_loops.hpp"
#include "http/metrics_guard.hpp"
#include "node/cluster_tls.hpp"
#include "node/listener.hpp"
#include "node/node_context.hpp"
#include "node/node_lifetime.hpp"
#include "redis/redis_store.hpp"
#include "auth/console_auth.hpp"
#include "auth/origin.hpp"
#include "tls/tls_context.hpp"

#include "switchboard/log_text.hpp"

#include <boost/asio.hpp>

#include <caf/io/middleman.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#if defined(__GLIBC__)
#  include <malloc.h>
#endif
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace switchboard {

namespace asio = boost::asio;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// The parts of node::stop() that have no timeout of their own (their sum and
// the two timeouts make the bound docs/architecture.md states: shutdown-timeout
// + close-timeout + 5 s).
/// The hub quits once every writer has flushed (at most shutdown-timeout):
/// this much longer, and it is killed.
constexpr auto hub_grace = 1s;
/// A killed hub ends at once, unless no CAF worker gets to it.
constexpr auto kill_wait = 1s;
/// The cluster actor and the lifetime actor end after the hub.
constexpr auto cluster_wait = 1s;
/// The sessions' closes take at most close-timeout, plus this.
constexpr auto close_grace = 500ms;
/// Actors drop their last session references right after they end.
constexpr auto release_wait = 1500ms;

template <class Predicate>
bool wait_until(steady_clock::time_point deadline, Predicate done) {
  while (!done()) {
    if (steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

using tls_made = std::variant<std::shared_ptr<asio::ssl::context>, std::string>;

// The TLS context of the node's files under its policy; the outcome is
// counted (node_context::tls_stats, for /metrics), at start as on a reload.
tls_made load_tls(const node_config& c, net::tls_metrics& stats) {
  auto made = net::make_tls_context({c.tls_cert, c.tls_key, c.tls_ca},
                                    {c.tls_min_version, c.tls_ciphers});
  std::optional<std::int64_t> expiry;
  if (auto* ctx = std::get_if<0>(&made))
    expiry = net::certificate_expiry(**ctx).value_or(0);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
    std::chrono::system_clock::now().time_since_epoch());
  stats.loaded(now.count(), expiry);
  return made;
}

} // namespace

struct node::impl {
  impl(caf::actor_system& s, node_config c)
    : sys(s),
      cfg(std::move(c)),
      loops(cfg.io_threads) {
  }

  ~impl() {
    // Whatever happened, the lifetime actor (which may outlive the node)
    // reaches nothing of it from now on.
    if (stopper)
      stopper->disarm();
    // A start that failed half-way (stop() did this otherwise): the Redis
    // connections must go before the loops, which go last, and the store
    // actor holds them until it ends. No loop runs here.
    if (!redis.end_actor(std::chrono::seconds{1}))
      loops.leak();
    if (ctx)
      ctx->redis.reset();
  }

  /// glibc keeps what connections freed in its arenas, so after a spike of
  /// connections or hours of churn the process would stay at its high-water
  /// mark. Hand free pages back now and then (docs/benchmarks.md, Soak).
  void schedule_trim();

  /// Spawns and publishes the cluster actor (linked to the hub), then lets it
  /// dial: publishing first, so a peer that dials back finds it.
  caf::error start_cluster();

  /// Unpublishes the cluster actor and ends it (after the hub: the link must
  /// not take a hub down that is still flushing), waiting at most `timeout`.
  void stop_cluster(caf::timespan timeout);

  /// The stop's second line: how many sessions closed since it began, how
  /// many are left, how long it took.
  void log_drained();

  caf::actor_system& sys;
  node_config cfg;
  // Outlive everything that holds I/O objects; stop() destroys them only once
  // no actor holds a session any more (and leaks them rather than do so early).
  net::io_loops loops;
  hub_internal_actor internal_hub;
  hub_actor hub; ///< the public interface of internal_hub
  /// The Redis history store (none without --redis); its connections live
  /// on the first loop.
  net::redis_store redis;
  /// The watcher and the lifetime actor; hub_down is ready once the hub
  /// terminated, with its exit reason.
  net::node_watch watched;
  /// request_stop()'s work, shared with the lifetime actor.
  std::shared_ptr<net::stop_switch> stopper;
  std::shared_ptr<net::node_context> ctx;
  std::shared_ptr<net::listener> listener;
  std::optional<asio::steady_timer> trim_timer;
  std::uint16_t port = 0;
  /// The cluster actor (null: not clustered) and its port.
  caf::actor cluster;
  std::uint16_t cluster_port = 0;
  std::mutex stopping; ///< one stop() at a time (stop_async runs on its own thread)
  bool stopped = false;
  // stop_async(): its thread and who wants to know when it is done.
  std::mutex async_mtx;
  std::thread async_stop;
  std::vector<std::function<void()>> on_stopped;
  bool async_finished = false;
};

void node::impl::schedule_trim() {
#if defined(__GLIBC__)
  trim_timer->expires_after(cfg.trim_memory_interval);
  trim_timer->async_wait([this](boost::system::error_code ec) {
    if (ec)
      return;
    malloc_trim(0);
    schedule_trim();
  });
#endif
}

caf::error node::impl::start_cluster() {
  auto& c = cfg;
  if (!sys.has_middleman())
    return caf::make_error(caf::sec::invalid_argument,
                           "cluster needs the middleman: cfg.load<caf::io::middleman>()");
  auto tls = net::cluster_tls(c);
  if (tls)
    if (auto err = net::check_cluster_tls(sys, c))
      return err;
  std::random_device dev;
  auto incarnation = (std::uint64_t{dev()} << 32) | dev();
  if (incarnation == 0)
    incarnation = 1;
  std::uint16_t tag = 0;
  while (tag == 0)
    tag = static_cast<std::uint16_t>(dev());
  auto settings = *c.cluster;
  settings.max_data = c.max_message_size;
  cluster = sys.spawn(switchboard::cluster, internal_hub, std::move(settings), incarnation, tag,
                      c.logger);
  ctx->cluster_tag = tag;
  auto host = c.cluster_host.empty() ? c.host : c.cluster_host;
  // reuse_addr: a restarted node gets its port back while the old
  // connections sit in TIME_WAIT.
  auto mm = net::cluster_middleman(sys, cluster, tls, c.logger);
  auto published = net::publish_cluster(sys, mm, cluster, c.cluster_port, host);
  if (!published)
    return caf::make_error(caf::sec::cannot_open_port,
                           "cannot publish the cluster actor on " + host + ":"
                             + std::to_string(c.cluster_port) + ": "
                             + describe_error(published.error()));
  cluster_port = *published;
  auto address = c.cluster->address.empty() ? host + ":" + std::to_string(*published)
                                            : c.cluster->address;
  if (tls)
    c.logger->info("cluster: mutual TLS on the cluster port certificate={} ca={}",
                   c.cluster_tls_cert, c.cluster_tls_ca);
  caf::anon_send(cluster, cluster_start_atom::value, std::move(address), std::move(mm));
  return caf::none;
}

void node::impl::stop_cluster(caf::timespan timeout) {
  if (!cluster)
    return;
  // Plain or TLS: both middleman actors share CAF's one BASP broker, which
  // holds the port.
  sys.middleman().unpublish(cluster, cluster_port);
  caf::scoped_actor self{sys};
  self->monitor(cluster);
  self->send_exit(cluster, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {}, caf::after(timeout) >> [] {});
}

void node::impl::log_drained() {
  auto began = stopper->started();
  auto left = ctx->sessions.load();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now()
                                                                  - began.time);
  ctx->log->info("stop drained: connections closed closed={} remaining={} ms={}",
                 began.sessions > left ? began.sessions - left : 0, left, ms.count());
}

caf::expected<std::unique_ptr<node>> node::start(caf::actor_system& sys, node_config cfg) {
  if (auto problems = cfg.problems(); !problems.empty()) {
    std::string text;
    for (auto& p : problems)
      text += (text.empty() ? "" : "; ") + p;
    return caf::make_error(caf::sec::invalid_argument, std::move(text));
  }
  auto p = std::make_unique<impl>(sys, std::move(cfg));
  auto& c = p->cfg;
  auto& ioc = p->loops.first();
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver{ioc};
  auto endpoints = resolver.resolve(c.host, std::to_string(c.port),
                                    asio::ip::tcp::resolver::passive, ec);
  if (ec || endpoints.empty())
    return caf::make_error(caf::sec::invalid_argument, "cannot resolve host " + c.host);
  // One logger for the node: the application's, or spdlog's default.
  if (!c.logger)
    c.logger = spdlog::default_logger();
  if (!c.hub.logger)
    c.hub.logger = c.logger;
  // Refreshes go to the authenticator that admitted the connections.
  if (!c.hub.authenticator) {
    c.hub.authenticator = c.authenticator;
    c.hub.authenticate_timeout = c.authenticate_timeout;
  }
  // The welcome tells clients what the writers do.
  c.hub.ping_interval = c.connection.ping_interval;
  if (!c.redis.empty()) {
    auto store = net::start_redis_store(sys, ioc, c);
    if (!store)
      return std::move(store.error());
    p->redis = std::move(*store);
    c.hub.history_store = p->redis.actor;
    // The store answers within --redis-timeout and a quarter of it (its
    // watchdog's tick): the hub's own bound must not cut it short.
    c.hub.history_store_timeout =
      std::max(c.hub.history_store_timeout, c.redis_timeout + c.redis_timeout / 2);
  }
  p->internal_hub = spawn_hub(sys, c.hub);
  p->hub = p->internal_hub;
  p->ctx = std::make_shared<net::node_context>(sys, p->internal_hub);
  p->stopper = std::make_shared<net::stop_switch>(p->ctx, p->internal_hub);
  p->watched = net::watch(sys, p->internal_hub, p->ctx, p->stopper);
  p->ctx->allowed_origins = net::normalize_origins(c.allowed_origins).value(); // problems() checked
  p->ctx->log = c.logger;
  p->ctx->authenticator = c.authenticator;
  p->ctx->authenticate_timeout = c.authenticate_timeout;
  p->ctx->loops = &p->loops;
  p->ctx->redis = p->redis.shards;
  p->ctx->admission = std::make_shared<net::admission>(ioc, c.admission);
  p->ctx->settings = std::make_shared<const connection_settings>(c.connection);
  p->ctx->max_message_size = c.max_message_size;
  p->ctx->compression = c.compression;
  p->ctx->api.set_keys(net::api_key_set_of(with_default_key(c.api_key, c.api_keys)));
  p->ctx->api.max_body = c.api_max_body;
  p->ctx->numbers_guard = std::make_shared<net::metrics_guard>(
    c.metrics_key.empty() ? std::nullopt : std::optional{net::digest_of(c.metrics_key)},
    c.metrics_rate, c.metrics_burst);
  p->ctx->api.max_data = c.max_message_size;
  if (!c.admin_password.empty() || c.admin_insecure)
    p->ctx->api.console = std::make_shared<net::console_auth>(c.admin_password);
  p->ctx->api.tls = !c.tls_cert.empty();
  using asio_duration = steady_clock::duration;
  p->ctx->handshake_timeout = std::chrono::duration_cast<asio_duration>(c.handshake_timeout);
  p->ctx->close_timeout = std::chrono::duration_cast<asio_duration>(c.close_timeout);
  p->ctx->drain_period = c.drain_period;
  p->ctx->reuse_port = c.reuse_port;
  if (!c.tls_cert.empty()) {
    auto tls = load_tls(c, p->ctx->tls_stats);
    if (auto* why = std::get_if<std::string>(&tls)) {
      caf::anon_send_exit(p->internal_hub, caf::exit_reason::user_shutdown);
      p->watched.hub_down.wait();
      return caf::make_error(caf::sec::invalid_argument, *why);
    }
    p->ctx->tls = std::get<0>(std::move(tls));
  }
  if (c.cluster) {
    if (auto err = p->start_cluster()) {
      // The link takes the hub along.
      if (p->cluster)
        caf::anon_send_exit(p->cluster, caf::exit_reason::user_shutdown);
      else
        caf::anon_send_exit(p->internal_hub, caf::exit_reason::user_shutdown);
      p->watched.hub_down.wait();
      return err;
    }
    p->ctx->cluster = p->cluster;
  }
  p->listener = std::make_shared<net::listener>(p->loops, p->ctx);
  if (auto err = p->listener->open(endpoints.begin()->endpoint())) {
    caf::anon_send_exit(p->internal_hub, caf::exit_reason::user_shutdown);
    p->watched.hub_down.wait();
    p->stop_cluster(std::chrono::seconds(1));
    return caf::make_error(caf::sec::cannot_open_port,
                           "cannot listen on " + c.host + ":" + std::to_string(c.port)
                             + ": " + err.message());
  }
  p->port = p->listener->port();
  p->stopper->arm(p->listener);
  p->listener->run();
  if (c.trim_memory_interval > caf::timespan{0}) {
    p->trim_timer.emplace(ioc);
    p->schedule_trim();
  }
  p->loops.start();
  return std::unique_ptr<node>{new node(std::move(p))};
}

node::node(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
}

node::~node() {
  stop();
  if (impl_->async_stop.joinable())
    impl_->async_stop.join();
}

const hub_actor& node::hub() const noexcept {
  return impl_->hub;
}

std::uint16_t node::port() const noexcept {
  return impl_->port;
}

std::uint16_t node::cluster_port() const noexcept {
  return impl_->cluster_port;
}

const caf::actor& node::cluster() const noexcept {
  return impl_->cluster;
}

std::string node::url() const {
  auto scheme = impl_->cfg.tls_cert.empty() ? "ws://" : "wss://";
  return scheme + impl_->cfg.host + ":" + std::to_string(impl_->port) + "/ws";
}

caf::error node::reload_tls() {
  auto& c = impl_->cfg;
  if (c.tls_cert.empty())
    return caf::make_error(caf::sec::invalid_argument, "TLS is not configured");
  auto tls = load_tls(c, impl_->ctx->tls_stats);
  if (auto* why = std::get_if<std::string>(&tls))
    return caf::make_error(caf::sec::invalid_argument, *why);
  std::atomic_store(&impl_->ctx->tls, std::get<0>(std::move(tls)));
  return caf::none;
}

caf::error node::set_allowed_origins(std::vector<std::string> origins) {
  auto normalized = net::normalize_origins(origins);
  if (!normalized)
    return std::move(normalized.error());
  std::atomic_store(&impl_->ctx->allowed_origins, std::move(*normalized));
  return caf::none;
}

caf::error node::set_api_keys(std::vector<named_api_key> keys) {
  auto all = with_default_key(impl_->cfg.api_key, std::move(keys));
  if (auto problems = api_key_problems(all); !problems.empty())
    return caf::make_error(caf::sec::invalid_argument, problems.front());
  // Only the digests are kept: node_config::api_keys is read at start only.
  impl_->ctx->api.set_keys(net::api_key_set_of(all));
  return caf::none;
}

const caf::actor& node::lifetime() const noexcept {
  return impl_->watched.lifetime;
}

void node::request_stop() {
  request_stop(stop_mode::final_stop);
}

void node::request_stop(stop_mode mode) {
  impl_->stopper->request(mode);
}

caf::error node::wait() {
  return impl_->watched.hub_down.get();
}

void node::stop_async(std::function<void()> done) {
  auto& p = *impl_;
  std::function<void()> now;
  {
    std::lock_guard<std::mutex> guard{p.async_mtx};
    if (p.async_finished) {
      now = std::move(done);
    } else {
      if (done)
        p.on_stopped.push_back(std::move(done));
      if (!p.async_stop.joinable()) {
        request_stop();
        p.async_stop = std::thread{[this] {
          stop();
          std::vector<std::function<void()>> callbacks;
          {
            std::lock_guard<std::mutex> inner{impl_->async_mtx};
            impl_->async_finished = true;
            callbacks.swap(impl_->on_stopped);
          }
          for (auto& f : callbacks)
            f();
        }};
      }
    }
  }
  // Stopped already: tell the caller at once.
  if (now)
    now();
}

void node::stop() {
  stop(stop_mode::final_stop);
}

// docs/architecture.md ("Stopping a node") explains each step and the bound.
void node::stop(stop_mode mode) {
  auto& p = *impl_;
  // Waiting for the I/O threads from one of them would never end.
  if (p.loops.runs_here()) {
    std::fputs("switchboard: node::stop() called from one of the node's own I/O "
               "threads; use stop_async()\n",
               stderr);
    std::abort();
  }
  std::lock_guard<std::mutex> guard{p.stopping};
  if (p.stopped)
    return;
  p.stopped = true;
  request_stop(mode);
  // 1. The hub goes once every pair is down: the closes are spread over the
  // drain period, and each writer flushes for at most shutdown-timeout;
  // with the hub, every actor that asks on a session's behalf gives up
  // (actor_bridge.hpp).
  auto& hub_down = p.watched.hub_down;
  if (hub_down.wait_for(p.cfg.drain_period + p.cfg.connection.shutdown_timeout + hub_grace)
      != std::future_status::ready) {
    // Something holds a pair up: end the hub, which takes every pair along.
    caf::anon_send_exit(p.internal_hub, caf::exit_reason::kill);
    hub_down.wait_for(kill_wait);
  }
  // The cluster actor goes after the hub (dials in flight are dropped), and
  // so does the lifetime actor (one message after the hub's end), within
  // the same wait.
  auto after_hub = steady_clock::now() + cluster_wait;
  p.stop_cluster(cluster_wait);
  p.watched.lifetime_done.wait_until(after_hub);
  // A listener kept open for the drain period (/readyz) closes now.
  p.listener->stop();
  // Nothing asks the Redis store any more: its connections close and its
  // actor ends.
  auto redis_ended = p.redis.stop();
  // 2. The sessions finish their closes (at most close-timeout each) on
  // loops that still run.
  auto& ctx = *p.ctx;
  wait_until(steady_clock::now() + p.cfg.close_timeout + close_grace,
             [&] { return ctx.sessions == 0; });
  p.log_drained();
  // 3. The I/O threads end: from now on no session starts an actor or a
  // post of its own.
  p.loops.stop();
  // 4. What actors still hold (a pair's transport, a reply slot) they drop as
  // they end, posting the session to its loop, which is stopped, not gone.
  auto released = wait_until(steady_clock::now() + release_wait,
                             [&] { return ctx.actor_refs == 0; });
  p.trim_timer.reset();
  p.stopper->disarm();
  p.listener.reset();
  // The Redis connections' strands and timers must not outlive the loop
  // either: with the store actor ended and no loop running (nothing reads
  // ctx.redis), these are the last shares outside the loop's own handlers.
  ctx.redis.reset();
  p.redis.shards.reset();
  if (!released || !redis_ended) {
    // An actor still holds a session (not one of ours: ours are down) or
    // the Redis connections. A socket must not outlive its loop, so the
    // loops stay.
    if (!released)
      ctx.log->error("{} session reference(s) still held by actors after stop; keeping the "
                     "I/O loops alive",
                     ctx.actor_refs.load());
    else
      ctx.log->error("the Redis store actor did not end within a second of stop; keeping the "
                     "I/O loops alive");
    p.loops.leak();
    return;
  }
  // 5. Every session still queued in a loop dies with it (its socket closes).
  p.loops.teardown();
}

} // namespace switchboard
