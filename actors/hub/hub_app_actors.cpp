// Server-side actors the hub delivers to: topic listeners, services and
// connection observers. Each is monitored once, whatever it registered for,
// and may have at most actor_backlog deliveries unhandled: every delivery is
// a request, its (empty) reply means "handled". One more and the actor is
// dropped from everything and sent an exit with reason slow_listener, so a
// stuck actor never grows an unbounded mailbox in a long-lived process.

#include "hub/hub_state.hpp"

#include "protocol.hpp"

#include <spdlog/logger.h>

#include <algorithm>

namespace switchboard {

namespace {

template <class T>
void erase_first(std::vector<T>& xs, const T& x) {
  auto i = std::find(xs.begin(), xs.end(), x);
  if (i != xs.end()) {
    *i = std::move(xs.back());
    xs.pop_back();
  }
}

// Removes every registration of `a`; the caller forgets the record.
void unregister_all(hub_pointer self, hub_app_actor& a) {
  auto& st = self->state;
  for (auto t : a.topics) {
    erase_first(t->listeners, &a);
    st.topics.drop_if_empty(*t);
  }
  a.topics.clear();
  for (auto& name : a.services)
    st.services.erase(name);
  a.services.clear();
  if (a.observer)
    erase_first(st.observers, &a);
  a.observer = false;
}

void drop_slow(hub_pointer self, hub_app_actor& a) {
  auto& st = self->state;
  ++st.stats.slow_listeners;
  if (auto& log = st.settings.logger)
    log->warn("dropped a server-side actor reason=slow_listener actor={} unhandled={}",
              a.handle.id(), a.in_flight);
  unregister_all(self, a);
  auto handle = a.handle;
  self->demonitor(handle);
  st.app_actors.erase(handle.address());
  self->send_exit(handle, make_error(exit_code::slow_listener));
}

} // namespace

hub_app_actor& app_actor_of(hub_pointer self, const caf::actor& handle) {
  auto [i, added] = self->state.app_actors.try_emplace(handle.address());
  if (added) {
    i->second.handle = handle;
    self->monitor(handle);
  }
  return i->second;
}

void release_if_unused(hub_pointer self, hub_app_actor& a) {
  if (!a.unused())
    return;
  // Replies still on their way find no record and change nothing.
  self->demonitor(a.handle);
  self->state.app_actors.erase(a.handle.address());
}

bool app_actor_down(hub_pointer self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto i = st.app_actors.find(addr);
  if (i == st.app_actors.end())
    return false;
  unregister_all(self, i->second);
  st.app_actors.erase(i);
  return true;
}

void deliver(hub_pointer self, hub_app_actor& target, caf::message msg) {
  if (target.in_flight >= self->state.settings.actor_backlog) {
    drop_slow(self, target);
    return;
  }
  ++target.in_flight;
  auto addr = target.handle.address();
  auto handled = [self, addr] {
    auto& actors = self->state.app_actors;
    if (auto i = actors.find(addr); i != actors.end() && i->second.in_flight > 0)
      --i->second.in_flight;
  };
  // Whatever comes back (the empty reply of a handler, an error, even a
  // value from an actor that answers more than it should) means handled.
  self->request(target.handle, caf::infinite, std::move(msg))
    .then([handled] { handled(); }, [handled](caf::error&) { handled(); });
}

void notify_observers(hub_pointer self, const connection_event& ev) {
  auto& observers = self->state.observers;
  if (observers.empty())
    return;
  auto msg = caf::make_message(ev);
  // A delivery may drop an observer: walk a copy.
  auto targets = observers;
  for (auto a : targets)
    deliver(self, *a, msg);
}

// -- listeners --------------------------------------------------------------------------

caf::result<bool> listen(hub_pointer self, const add_listener& cmd) {
  auto& st = self->state;
  if (!cmd.listener)
    return make_error(hub_errc::invalid_argument);
  auto t = st.topics.ensure(cmd.topic, st.settings.max_topics);
  if (t == nullptr)
    return make_error(hub_errc::limit_exceeded);
  auto& a = app_actor_of(self, caf::actor_cast<caf::actor>(cmd.listener));
  if (!a.topics.insert(t).second)
    return false;
  t->listeners.push_back(&a);
  return true;
}

void unlisten(hub_pointer self, const remove_listener& cmd) {
  auto& st = self->state;
  auto i = st.app_actors.find(cmd.listener.address());
  auto t = st.topics.find(cmd.topic);
  if (i == st.app_actors.end() || t == nullptr || i->second.topics.erase(t) == 0)
    return;
  erase_first(t->listeners, &i->second);
  st.topics.drop_if_empty(*t);
  release_if_unused(self, i->second);
}

// -- services --------------------------------------------------------------------------

caf::result<bool> register_service(hub_pointer self, const add_service& cmd) {
  auto& st = self->state;
  if (!protocol::valid_service_name(cmd.name) || !cmd.service)
    return make_error(hub_errc::invalid_argument);
  auto handle = caf::actor_cast<caf::actor>(cmd.service);
  if (auto i = st.services.find(cmd.name); i != st.services.end())
    return i->second->handle == handle;
  auto& a = app_actor_of(self, handle);
  a.services.push_back(cmd.name);
  st.services.emplace(cmd.name, &a);
  return true;
}

void unregister_service(hub_pointer self, const remove_service& cmd) {
  auto& st = self->state;
  auto i = st.services.find(cmd.name);
  if (i == st.services.end() || i->second->handle.address() != cmd.service.address())
    return;
  auto& a = *i->second;
  st.services.erase(i);
  a.services.erase(std::find(a.services.begin(), a.services.end(), cmd.name));
  release_if_unused(self, a);
}

// -- observers -------------------------------------------------------------------------

void observe(hub_pointer self, const connection_observer_actor& observer, bool on) {
  auto& st = self->state;
  if (!observer)
    return;
  auto handle = caf::actor_cast<caf::actor>(observer);
  if (on) {
    auto& a = app_actor_of(self, handle);
    if (!a.observer) {
      a.observer = true;
      st.observers.push_back(&a);
    }
    return;
  }
  auto i = st.app_actors.find(handle.address());
  if (i == st.app_actors.end() || !i->second.observer)
    return;
  i->second.observer = false;
  erase_first(st.observers, &i->second);
  release_if_unused(self, i->second);
}

} // namespace switchboard
