#pragma once

// The actor of the embedding example (docs/embedding.md).
//
// The bot listens on topic "questions". For every question a client
// publishes there, it publishes the answer to topic "answers" (for every
// subscriber) and also sends it directly to the asking connection.

#include "switchboard/hub.hpp"

#include <caf/all.hpp>

#include <cstdio>

inline caf::behavior echo_bot(caf::event_based_actor* self, switchboard::hub_actor hub) {
  // Subscribe this actor to a topic: every publish there arrives as a
  // topic_message. The reply (true) confirms the topic name was valid.
  self->request(hub, caf::infinite, switchboard::subscribe_atom::value, "questions",
                caf::actor{self})
    .then([](bool ok) {
      if (!ok)
        std::fprintf(stderr, "echo_bot: cannot subscribe\n");
    });
  return {
    [self, hub](const switchboard::topic_message& msg) {
      // msg.data is the raw JSON value the client published.
      auto answer = R"({"question":)" + msg.data + R"(,"answer":42})";
      // Publish to a topic (the reply is the number of receivers) ...
      self->request(hub, caf::infinite, switchboard::publish_atom::value, "answers", answer)
        .then([](std::uint64_t) {});
      // ... and send straight to the connection that asked.
      self->request(hub, caf::infinite, switchboard::send_atom::value, msg.from, answer)
        .then([](bool) {});
    },
  };
}
