#include "switchboard/testing.hpp"

namespace switchboard::testing {

// -- fake transport ---------------------------------------------------------------

void fake_transport::complete_write(bool ok) {
  if (!writer_)
    return;
  if (ok)
    delivered.insert(delivered.end(), in_flight.begin(), in_flight.end());
  in_flight.clear();
  caf::anon_send(std::exchange(writer_, nullptr), write_done_atom::value, ok);
}

std::vector<std::string> fake_transport::take() {
  std::vector<std::string> result;
  for (auto& f : delivered)
    result.push_back(*f);
  delivered.clear();
  return result;
}

void fake_transport::write(frame_batch frames, caf::actor writer) {
  ++writes;
  in_flight = std::move(frames);
  writer_ = std::move(writer);
  if (auto_complete)
    complete_write();
}

void fake_transport::ping() {
  ++pings;
}

void fake_transport::consumed() {
  ++consumed_count;
}

void fake_transport::close(exit_code reason) {
  closed = reason;
}

// -- fixture ----------------------------------------------------------------------

caf::actor_system_config& hub_fixture::init(caf::actor_system_config& c) {
  c.set("scheduler.policy", caf::atom("testing"));
  c.set("logger.verbosity", caf::atom("quiet"));
  add_error_category(c);
  add_message_types(c);
  return c;
}

hub_fixture::hub_fixture() : hub_fixture(connection_settings{}) {
}

hub_fixture::hub_fixture(connection_settings s)
  : sys(init(cfg)),
    sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
    settings(s) {
  hub = sys.spawn(switchboard::hub);
  run();
}

hub_fixture::~hub_fixture() {
  caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
  run();
}

hub_fixture::client hub_fixture::connect() {
  client c;
  c.transport = std::make_shared<fake_transport>();
  auto pair = spawn_connection(sys, hub, c.transport, settings);
  c.reader = pair.reader;
  c.writer = pair.writer;
  run();
  auto& by_actor = state().by_actor;
  if (auto i = by_actor.find(c.reader.address()); i != by_actor.end())
    c.id = i->second;
  return c;
}

void hub_fixture::send(const client& c, std::string text) {
  caf::anon_send(c.reader, std::move(text));
  run();
}

std::size_t hub_fixture::run() {
  return sched.run();
}

std::size_t hub_fixture::advance(caf::timespan t) {
  auto fired = sched.advance_time(t);
  run();
  return fired;
}

bool hub_fixture::alive(const caf::actor& a) const {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(a);
  return ptr != nullptr && !ptr->getf(caf::abstract_actor::is_terminated_flag);
}

hub_state& hub_fixture::state() {
  auto ptr = caf::actor_cast<caf::abstract_actor*>(hub);
  return dynamic_cast<hub_actor::stateful_base<hub_state>&>(*ptr).state;
}

} // namespace switchboard::testing
