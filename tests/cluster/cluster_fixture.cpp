#include "cluster_fixture.hpp"

namespace cluster_testing {

fixture::fixture() : log_stream_(std::make_shared<std::ostringstream>()) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_stream_);
  log = std::make_shared<spdlog::logger>("cluster-test", sink);
  log->set_level(spdlog::level::debug);
  log->set_pattern("%l %v");
}

fixture::~fixture() {
  for (auto& [p, a] : clients_)
    caf::anon_send_exit(a, caf::exit_reason::kill);
  for (auto& [p, a] : listeners_)
    caf::anon_send_exit(a, caf::exit_reason::kill);
  // The link takes each cluster actor along.
  for (auto& n : nodes_)
    caf::anon_send_exit(n->hub, caf::exit_reason::kill);
  settle();
}

node& fixture::start(planet& p, std::string name, std::uint16_t port,
                     std::vector<std::string> seeds, std::size_t backlog,
                     caf::io::middleman_actor dialer, topic_options topics) {
  auto n = std::make_unique<node>();
  n->where = &p;
  n->port = port;
  n->address = name + ":" + std::to_string(port);
  hub_settings hs;
  hs.logger = log;
  hs.topic_defaults = std::move(topics);
  n->hub = p.sys.spawn(switchboard::hub, hs);
  cluster_settings cs;
  cs.seeds = std::move(seeds);
  cs.backlog = backlog;
  n->incarnation = 1000 + nodes_.size();
  n->tag = static_cast<std::uint16_t>(100 + nodes_.size());
  n->cluster = p.sys.spawn(switchboard::cluster, n->hub, cs, n->incarnation, n->tag, log);
  settle();
  n->acceptor = next_accept_handle();
  p.mpx.provide_acceptor(port, n->acceptor);
  p.publish(n->cluster, port);
  if (!dialer)
    dialer = p.sys.middleman().actor_handle();
  caf::anon_send(n->cluster, cluster_start_atom::value, n->address, std::move(dialer));
  nodes_.push_back(std::move(n));
  return *nodes_.back();
}

std::pair<caf::io::connection_handle, caf::io::connection_handle>
fixture::open_route(node& server, planet& client_side) {
  auto host = server.address.substr(0, server.address.find(':'));
  return prepare_connection(*server.where, client_side, host, server.port,
                            server.acceptor);
}

void fixture::settle() {
  planet* planets[] = {&earth, &mars, &jupiter};
  auto step = [](planet* x) {
    return x->sched.try_run_once() || x->mpx.read_data() || x->mpx.try_read_data()
           || x->mpx.try_exec_runnable() || x->mpx.try_accept_connection();
  };
  // A step can move bytes without reporting it (the test multiplexer's
  // reads), so only two quiet rounds in a row mean that nothing moves.
  for (int quiet = 0; quiet < 2;) {
    bool moved = false;
    for (auto p : planets)
      while (step(p))
        moved = true;
    quiet = moved ? 0 : quiet + 1;
  }
}

inbox fixture::listen(node& n, const std::string& topic) {
  auto box = std::make_shared<std::vector<topic_message>>();
  auto listener = n.where->sys.spawn([box](caf::event_based_actor*) -> caf::behavior {
    return {[box](topic_message& m) { box->push_back(std::move(m)); }};
  });
  listeners_.emplace_back(n.where, listener);
  listener_of_.emplace_back(n.address + "/" + topic, listener);
  caf::anon_send(n.hub, add_listener{topic, caf::actor_cast<topic_listener_actor>(listener)});
  settle();
  return box;
}

void fixture::unlisten(node& n, const std::string& topic) {
  for (auto& [key, listener] : listener_of_)
    if (key == n.address + "/" + topic)
      caf::anon_send(n.hub,
                     remove_listener{topic, caf::actor_cast<topic_listener_actor>(listener)});
  settle();
}

client fixture::connect(node& n, std::string user) {
  client c;
  c.socket = std::make_shared<testing::fake_socket>();
  auto settings = std::make_shared<const connection_settings>();
  auto transport = testing::make_fake_transport(c.socket, settings);
  auto pair = spawn_connection(n.where->sys, n.hub, transport, settings, std::move(user));
  transport->writer(caf::actor_cast<caf::actor>(pair.writer));
  c.reader = caf::actor_cast<caf::actor>(pair.reader);
  c.writer = caf::actor_cast<caf::actor>(pair.writer);
  clients_.emplace_back(n.where, c.reader);
  clients_.emplace_back(n.where, c.writer);
  settle();
  auto welcome = received(c);
  REQUIRE(!welcome.empty());
  auto pos = welcome.front().find(R"("id":)");
  REQUIRE(pos != std::string::npos);
  c.id = std::stoull(welcome.front().substr(pos + 5));
  return c;
}

std::vector<std::string> fixture::received(client& c) {
  return c.socket->take();
}

void fixture::publish_on(node& n, const std::string& topic, const std::string& data) {
  caf::anon_send(n.hub, publication{topic, data});
}

} // namespace cluster_testing
