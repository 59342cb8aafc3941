#include "switchboard/testing.hpp"

#include "connection/connection.hpp"
#include "testing/fake_transport.hpp"
#include "testing/hub_fixture_internals.hpp"
#include "hub/hub_state.hpp"
#include "protocol.hpp"
#include "connection/transport.hpp"

#include <algorithm>

namespace switchboard::testing {

// -- fake socket ----------------------------------------------------------------------

void fake_socket::complete_write(bool ok) {
  if (!ok) {
    // The frames are dropped, as a session drops them on a failed write.
    auto& peer = detail::socket_peer::of(*this);
    peer.left_queue(in_flight.begin(), in_flight.end());
    in_flight.clear();
    if (peer.writer)
      caf::anon_send(peer.writer, closed_atom::value,
                     static_cast<std::uint8_t>(exit_code::socket_error));
    return;
  }
  complete_frames(in_flight.size());
}

void fake_socket::complete_frames(std::size_t n) {
  n = std::min(n, in_flight.size());
  auto end = in_flight.begin() + static_cast<std::ptrdiff_t>(n);
  detail::socket_peer::of(*this).left_queue(in_flight.begin(), end);
  delivered.insert(delivered.end(), in_flight.begin(), end);
  in_flight.erase(in_flight.begin(), end);
}

namespace {

// Appends the payload of every WebSocket frame in `bytes` (a buffer may hold
// several: a recovery's replay, protocol::replay_frames).
void split_frames(std::string_view bytes, std::vector<std::string>& out) {
  while (bytes.size() >= 2) {
    std::size_t len = static_cast<unsigned char>(bytes[1]) & 0x7f;
    std::size_t header = 2;
    if (len >= 126) {
      header = len == 126 ? 4 : 10;
      len = 0;
      for (std::size_t i = 2; i < header && i < bytes.size(); ++i)
        len = (len << 8) | static_cast<unsigned char>(bytes[i]);
    }
    auto payload = bytes.substr(std::min(header, bytes.size()), len);
    out.emplace_back(payload);
    bytes.remove_prefix(std::min(bytes.size(), header + len));
  }
}

} // namespace

std::vector<std::string> fake_socket::take() {
  std::vector<std::string> result;
  for (auto& f : delivered)
    split_frames(*f, result);
  delivered.clear();
  return result;
}

// -- fixture ----------------------------------------------------------------------------

caf::actor_system_config& hub_fixture::init(caf::actor_system_config& c) {
  // The fixture cannot work on another scheduler: this one is not the
  // application's choice to keep.
  c.set("scheduler.policy", caf::atom("testing"));
  if (caf::get_if(&caf::content(c), "logger.verbosity") == nullptr)
    c.set("logger.verbosity", caf::atom("quiet"));
  // Both only add (an application that registered them already keeps its
  // registration).
  add_error_category(c);
  add_message_types(c);
  return c;
}

hub_fixture::hub_fixture() : hub_fixture(connection_settings{}) {
}

hub_fixture::hub_fixture(connection_settings s, hub_settings h)
  : hub_fixture(nullptr, s, std::move(h)) {
}

hub_fixture::hub_fixture(connection_settings s,
                         std::function<hub_settings(hub_fixture&)> make)
  : hub_fixture(nullptr, s, std::move(make)) {
}

hub_fixture::hub_fixture(std::unique_ptr<caf::actor_system_config> config,
                         connection_settings s, hub_settings h)
  : hub_fixture(std::move(config), s, no_hub{}) {
  limits = std::move(h);
  start_hub();
}

hub_fixture::hub_fixture(std::unique_ptr<caf::actor_system_config> config,
                         connection_settings s,
                         std::function<hub_settings(hub_fixture&)> make)
  : hub_fixture(std::move(config), s, no_hub{}) {
  limits = make(*this);
  start_hub();
}

hub_fixture::hub_fixture(std::unique_ptr<caf::actor_system_config> config,
                         connection_settings s, no_hub)
  : owned_cfg_(config ? std::move(config) : std::make_unique<caf::actor_system_config>()),
    cfg(init(*owned_cfg_)),
    sys(cfg),
    sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
    settings(s) {
}

void hub_fixture::start_hub() {
  auto internal = sys.spawn(switchboard::hub, limits);
  internal_ = caf::actor_cast<caf::actor>(internal);
  hub = internal;
  run();
}

hub_fixture::~hub_fixture() {
  // The actor system waits for every actor on destruction, and nothing runs
  // a test scheduler then: stop all of ours first, or the destructor hangs.
  for (auto& a : spawned_)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(internal_, caf::exit_reason::user_shutdown);
  run();
}

hub_fixture::client hub_fixture::connect(std::string user,
                                         caf::optional<std::vector<std::string>> topics) {
  upgrade_verdict verdict;
  verdict.allow = true;
  verdict.user = std::move(user);
  verdict.topics = std::move(topics);
  return connect(verdict);
}

hub_fixture::client hub_fixture::connect(const upgrade_verdict& verdict) {
  client c;
  c.transport = std::make_shared<fake_socket>();
  auto shared_settings = std::make_shared<const connection_settings>(settings);
  auto transport = make_fake_transport(c.transport, shared_settings);
  auto pair = spawn_connection(sys, caf::actor_cast<hub_internal_actor>(internal_),
                               transport, shared_settings, verdict.user,
                               topic_filter::of(verdict.topics), verdict.expires);
  transport->writer(caf::actor_cast<caf::actor>(pair.writer));
  c.reader = caf::actor_cast<caf::actor>(pair.reader);
  c.writer = caf::actor_cast<caf::actor>(pair.writer);
  spawned_.push_back(c.reader);
  spawned_.push_back(c.writer);
  run();
  // The id is in the welcome (the pair may be gone already, e.g. when the
  // hub is stopping).
  auto& t = *c.transport;
  auto& first = !t.delivered.empty() ? t.delivered : t.in_flight;
  if (!first.empty()) {
    auto welcome = std::string{protocol::payload_of(*first.front())};
    auto pos = welcome.find(R"("id":)");
    if (pos != std::string::npos)
      c.id = std::stoull(welcome.substr(pos + 5));
  }
  return c;
}

void hub_fixture::send(const client& c, std::string text) {
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader), std::move(text));
  run();
}

void hub_fixture::enqueue(const client& c, std::string text) {
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader), std::move(text));
}

void hub_fixture::send_binary(const client& c) {
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader), binary_atom::value);
  run();
}

void hub_fixture::pong(const client& c) {
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader), alive_atom::value);
  run();
}

void hub_fixture::disconnect(const client& c, exit_code reason) {
  caf::anon_send(caf::actor_cast<reader_actor>(c.reader), closed_atom::value,
                 static_cast<std::uint8_t>(reason));
  run();
}

std::size_t hub_fixture::run() {
  return sched.run();
}

bool hub_fixture::step() {
  return sched.try_run_once();
}

std::size_t hub_fixture::pending() {
  std::size_t result = 0;
  for (auto* job : sched.jobs) {
    // Every job of a test_coordinator is an actor with mail, scheduled
    // once however much mail it has.
    if (auto* a = dynamic_cast<caf::scheduled_actor*>(job))
      result += a->mailbox().size();
    else
      ++result;
  }
  return result;
}

caf::actor_addr hub_fixture::next_receiver() const {
  if (sched.jobs.empty())
    return {};
  auto* a = dynamic_cast<caf::abstract_actor*>(sched.jobs.front());
  return a != nullptr ? a->address() : caf::actor_addr{};
}

std::size_t hub_fixture::advance(caf::timespan t) {
  // One advance_time(t) would fire every due timer at once and show all their
  // handlers the end of the step, so a timer they start would be late by
  // the rest of it. Step from timer to timer instead, as real time would.
  auto& clock = sched.clock();
  auto target = clock.now() + t;
  std::size_t fired = 0;
  while (clock.has_pending_timeout() && clock.schedule().begin()->first <= target) {
    clock.trigger_timeout(); // the clock moves to this timer's time
    ++fired;
    run();
  }
  clock.current_time = target;
  return fired;
}

bool hub_fixture::alive(const caf::actor& a) const {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(a);
  return ptr != nullptr && !ptr->getf(caf::abstract_actor::is_terminated_flag);
}

caf::error hub_fixture::exit_reason(const caf::actor& a) {
  if (alive(a))
    return caf::none;
  // Monitoring a terminated actor delivers its down message at once.
  caf::scoped_actor probe{sys};
  probe->monitor(a);
  caf::error result;
  probe->receive([&](caf::down_msg& dm) { result = std::move(dm.reason); },
                 caf::after(caf::timespan{0}) >> [] {});
  return result;
}

bool hub_fixture::remembers(const client& c) {
  auto& st = hub_state_of(*this);
  if (st.connections.count(c.id) != 0 || st.by_actor.count(c.reader.address()) != 0
      || st.by_actor.count(c.writer.address()) != 0)
    return true;
  // Compare addresses instead of dereferencing: a pointer to a connection
  // that is gone must count as a trace, not crash the test.
  auto gone = [&](const hub_connection* conn) {
    return std::none_of(st.connections.begin(), st.connections.end(),
                        [&](const auto& kvp) { return &kvp.second == conn; });
  };
  if (std::any_of(st.dirty.begin(), st.dirty.end(), gone)
      || std::any_of(st.holding.begin(), st.holding.end(), gone))
    return true;
  bool found = false;
  st.topics.for_each([&](const hub_topic& t) {
    for (auto s : t.subscribers)
      found = found || gone(s->conn);
  });
  return found;
}

hub_stats hub_fixture::stats() {
  auto result = request<hub_stats>(query_stats{});
  return result ? *result : hub_stats{};
}

void hub_fixture::request_stop() {
  caf::anon_send(caf::actor_cast<hub_internal_actor>(internal_), shutdown_atom::value);
  run();
}

void hub_fixture::request_stop(const stop_plan& plan) {
  caf::anon_send(caf::actor_cast<hub_internal_actor>(internal_), shutdown_atom::value, plan);
  run();
}

hub_state& hub_state_of(hub_fixture& f) {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(f.hub);
  return dynamic_cast<hub_internal_actor::stateful_base<hub_state>&>(*ptr).state;
}

} // namespace switchboard::testing
