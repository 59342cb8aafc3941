// The actors of the chat example: what an application adds to a node.
#pragma once

#include <switchboard/hub.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <string>

namespace chat {

/// The service "bot": answers `{"type":"send","to":"service:bot","data":V}`
/// with `{"you_said":V,"user":U}`, built as a boost::json value.
switchboard::service_actor::behavior_type bot(switchboard::service_actor::pointer self,
                                              switchboard::hub_actor hub);

/// Who may do what: anyone subscribes; only the user "admin" publishes on
/// topics under "announce/".
switchboard::authorizer_actor::behavior_type
moderator(switchboard::authorizer_actor::pointer self);

/// A listener on "chat/lobby" that republishes every message's length on
/// "chat/stats" (a backend reacting to what clients publish).
switchboard::topic_listener_actor::behavior_type
lobby_stats(switchboard::topic_listener_actor::pointer self, switchboard::hub_actor hub);

/// Logs every connection that joins or leaves on stdout.
switchboard::connection_observer_actor::behavior_type
audit(switchboard::connection_observer_actor::pointer self);

/// Publishes `{"tick":N}` on "ticks" every `interval`, until it is stopped.
caf::behavior ticker(caf::event_based_actor* self, switchboard::hub_actor hub,
                     caf::timespan interval);

} // namespace chat
