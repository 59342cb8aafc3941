#include "redis/redis_store.hpp"

#include "redis/redis_servers.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <caf/all.hpp>

#include <future>

namespace switchboard::net {

caf::expected<redis_store> start_redis_store(caf::actor_system& sys,
                                             boost::asio::io_context& ioc,
                                             const node_config& cfg) {
  auto servers = redis_servers_of(cfg.redis);
  if (!servers) // problems() said so already
    return caf::make_error(caf::sec::invalid_argument, "redis: not host:port: " + cfg.redis);
  redis_settings s;
  s.password = cfg.redis_password;
  s.prefix = cfg.redis_prefix;
  s.timeout = cfg.redis_timeout;
  std::vector<std::pair<std::string, std::uint16_t>> hosts;
  boost::asio::ip::tcp::resolver resolver{ioc};
  for (auto& a : *servers) {
    boost::system::error_code ec;
    auto found = resolver.resolve(a.host, std::to_string(a.port), ec);
    if (ec || found.empty())
      return caf::make_error(caf::sec::invalid_argument,
                             "redis: cannot resolve " + a.host + ": " + ec.message());
    s.servers.push_back(a.host + ":" + std::to_string(a.port));
    hosts.emplace_back(found.begin()->endpoint().address().to_string(), a.port);
  }
  redis_store store;
  store.shards = std::make_shared<redis_shards>(ioc, s, hosts, cfg.logger);
  store.shards->start();
  store.actor = spawn_redis_history(sys, store.shards, s, cfg.logger);
  return store;
}

bool redis_store::stop() {
  if (!shards)
    return true;
  shards->stop();
  return end_actor(std::chrono::seconds{1});
}

bool redis_store::end_actor(caf::timespan wait) {
  if (!actor)
    return true;
  // A stateful actor destroys its state (and with it its share of the
  // connections) before it runs what is attached to it.
  auto ended = std::make_shared<std::promise<void>>();
  auto future = ended->get_future();
  caf::actor_cast<caf::abstract_actor*>(actor)->attach_functor(
    [ended] { ended->set_value(); });
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  if (future.wait_for(wait) != std::future_status::ready)
    return false;
  actor = nullptr;
  return true;
}

} // namespace switchboard::net
