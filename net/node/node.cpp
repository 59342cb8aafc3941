// Starting a node (node::start) and what it offers while it runs; its stop
// is in node_stop.cpp.

#include "node/node_impl.hpp"

#include "admission/admission.hpp"
#include "auth/console_auth.hpp"
#include "auth/origin.hpp"
#include "cluster/cluster_state.hpp"
#include "hub/hub_interface.hpp"
#include "http/metrics_guard.hpp"
#include "node/cluster_tls.hpp"
#include "tls/tls_context.hpp"

#include "switchboard/log_text.hpp"

#include <boost/asio.hpp>

#include <caf/io/middleman.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#if defined(__GLIBC__)
#  include <malloc.h>
#endif
#include <random>

namespace switchboard {

namespace asio = boost::asio;
using std::chrono::steady_clock;

namespace {

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

} // namespace switchboard
