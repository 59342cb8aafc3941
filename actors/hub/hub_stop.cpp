// The hub's side of a node's stop: the close code its connections get
// (1001, or 1012 for a restart) and, with a drain period, closes spread
// evenly over it so that the clients do not all reconnect in the same
// second (docs/operations.md, "Restarting"). While it drains, the
// connections not told yet are served as before; at its end the hub
// shuts down as for a stop without a drain period.

#include "hub/hub_state.hpp"

#include <spdlog/logger.h>

namespace switchboard {

namespace {

// Tells the connections that are due and still there; true once the
// period is over or all of them were told.
bool tell_due(hub_pointer self) {
  auto& st = self->state;
  auto& d = *st.draining;
  auto elapsed = self->clock().now() - d.began;
  if (elapsed >= d.schedule.period)
    return true;
  auto due = d.schedule.due(elapsed);
  if (d.told < due)
    drain(self); // what was queued for them goes before the farewell
  for (; d.told < due; ++d.told)
    if (auto i = st.connections.find(d.order[d.told]); i != st.connections.end())
      farewell_to(self, i->second, st.stop_farewell);
  if (d.told == d.order.size())
    return true; // everyone was told: nothing to wait for
  self->delayed_send(self, d.schedule.tick(), stop_step_atom::value);
  return false;
}

} // namespace

bool begin_stop(hub_pointer self, const stop_plan& plan) {
  auto& st = self->state;
  if (st.shutting_down || st.draining)
    return false; // the first stop decides
  auto code = close_code_of(plan.mode);
  if (code != 1001)
    st.stop_farewell = farewell{exit_code::shutdown, code, "service restart"};
  if (plan.drain_period <= caf::timespan{0} || st.connections.empty())
    return true;
  auto& d = st.draining.emplace();
  d.schedule = {st.connections.size(), plan.drain_period};
  d.began = self->clock().now();
  d.order.reserve(st.connections.size());
  for (auto& kvp : st.connections)
    d.order.push_back(kvp.first);
  if (auto& log = st.settings.logger)
    log->info("stop: closing connections over the drain period connections={} ms={} "
              "batch_every_ms={}",
              d.order.size(),
              std::chrono::duration_cast<std::chrono::milliseconds>(plan.drain_period).count(),
              std::chrono::duration_cast<std::chrono::milliseconds>(d.schedule.tick()).count());
  return tell_due(self);
}

bool stop_step(hub_pointer self) {
  auto& st = self->state;
  if (!st.draining)
    return false; // shut down already (a later stop cut the period short)
  return tell_due(self);
}

} // namespace switchboard
