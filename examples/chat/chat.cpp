#include "chat.hpp"

#include <boost/json.hpp>

#include <cstdio>

namespace chat {

using namespace switchboard;

service_actor::behavior_type bot(service_actor::pointer self, hub_actor hub) {
  self->request(hub, caf::infinite, add_service{"bot", self}).then([](bool) {});
  return {
    [self, hub](const service_message& msg) {
      boost::json::value answer = {{"you_said", msg.json()}, {"user", msg.user}};
      self->request(hub, caf::infinite, send_direct::from_json(msg.from, answer, "service:bot"))
        .then([](bool) {});
    },
  };
}

authorizer_actor::behavior_type moderator(authorizer_actor::pointer) {
  return {
    [](const access_request& req) {
      bool announce = req.topic.rfind("announce/", 0) == 0;
      return req.what == access::subscribe || !announce || req.user == "admin";
    },
  };
}

topic_listener_actor::behavior_type lobby_stats(topic_listener_actor::pointer self,
                                                hub_actor hub) {
  self->request(hub, caf::infinite, add_listener{"chat/lobby", self}).then([](bool) {});
  return {
    [self, hub](const topic_message& msg) {
      boost::json::value stats = {{"from", msg.from}, {"bytes", msg.data.size()}};
      self->request(hub, caf::infinite, publication::from_json("chat/stats", stats))
        .then([](std::uint64_t) {});
    },
  };
}

connection_observer_actor::behavior_type audit(connection_observer_actor::pointer) {
  return {
    [](const connection_event& ev) {
      if (ev.kind == connection_event::joined)
        std::printf("joined %llu %s\n", static_cast<unsigned long long>(ev.conn), ev.user.c_str());
      else
        std::printf("left %llu %s\n", static_cast<unsigned long long>(ev.conn), ev.reason.c_str());
      std::fflush(stdout);
    },
  };
}

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

} // namespace

caf::behavior ticker(caf::event_based_actor* self, hub_actor hub,
                     caf::timespan interval) {
  auto n = std::make_shared<std::uint64_t>(0);
  self->delayed_send(self, interval, tick_atom::value);
  return {
    [=](tick_atom) {
      boost::json::value tick = {{"tick", ++*n}};
      // A publish the hub refuses (it is stopping) is no reason to quit:
      // whoever stops the node stops the ticker.
      self->request(hub, caf::infinite, publication::from_json("ticks", tick))
        .then([](std::uint64_t) {}, [](caf::error&) {});
      self->delayed_send(self, interval, tick_atom::value);
    },
  };
}

} // namespace chat
