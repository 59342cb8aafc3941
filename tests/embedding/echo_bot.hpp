#pragma once

// The actor of the embedding example (docs/embedding.md).
//
// The bot listens on topic "questions". For every question a client
// publishes there, it publishes the answer to topic "answers" (for every
// subscriber) and also sends it directly to the asking connection.

#include "switchboard/hub.hpp"

#include <caf/all.hpp>

#include <cstdio>

inline switchboard::topic_listener_actor::behavior_type
echo_bot(switchboard::topic_listener_actor::pointer self, switchboard::hub_actor hub) {
  // Listen to a topic: every publish there arrives as a topic_message.
  self->request(hub, caf::infinite, switchboard::add_listener{"questions", self})
    .then([](bool) {},
          [](caf::error& err) {
            std::fprintf(stderr, "echo_bot: cannot listen: %s\n", to_string(err).c_str());
          });
  return {
    [self, hub](const switchboard::topic_message& msg) {
      // msg.data is the raw JSON value the client published.
      auto answer = R"({"question":)" + msg.data + R"(,"answer":42})";
      // Publish to a topic (the reply is the number of receivers) ...
      self->request(hub, caf::infinite, switchboard::publication{"answers", answer})
        .then([](std::uint64_t) {});
      // ... and send straight to the connection that asked (the reply says
      // whether it is still there).
      self->request(hub, caf::infinite, switchboard::send_direct{msg.from, answer})
        .then([](bool) {});
    },
  };
}
