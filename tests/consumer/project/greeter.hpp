#pragma once

// A service: clients send {"type":"send","to":"service:greeter","data":NAME}
// and get {"type":"direct","from":"service:greeter","data":{"hello":NAME}}.

#include <switchboard/hub.hpp>

inline switchboard::service_actor::behavior_type
greeter(switchboard::service_actor::pointer self, switchboard::hub_actor hub) {
  self->request(hub, caf::infinite, switchboard::add_service{"greeter", self})
    .then([](bool) {});
  return {
    [self, hub](const switchboard::service_message& msg) {
      self
        ->request(hub, caf::infinite,
                  switchboard::send_direct{msg.from, R"({"hello":)" + msg.data + "}",
                                           "service:greeter"})
        .then([](bool) {});
    },
  };
}
