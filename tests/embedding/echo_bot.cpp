// The example of docs/embedding.md: a CAF application that embeds a
// switchboard node and serves its clients with an ordinary actor.
//
// The bot listens on topic "questions". For every question a client
// publishes there, it publishes the answer to topic "answers" (for every
// subscriber) and also sends it directly to the asking connection.
// Run: echo_bot [--port=N]; stop with SIGINT/SIGTERM.

#include "switchboard/node.hpp"

#include <caf/all.hpp>

#include <csignal>
#include <cstdio>
#include <pthread.h>

using namespace switchboard;

caf::behavior echo_bot(caf::event_based_actor* self, hub_actor hub) {
  // Subscribe this actor to a topic: every publish there arrives as a
  // topic_message. The reply (true) confirms the topic name was valid.
  self->request(hub, caf::infinite, subscribe_atom::value, "questions",
                caf::actor{self})
    .then([](bool ok) { std::fprintf(stderr, "bot subscribed: %d\n", ok); });
  return {
    [self, hub](const topic_message& msg) {
      // msg.data is the raw JSON value the client published.
      auto answer = R"({"question":)" + msg.data + R"(,"answer":42})";
      // Publish to a topic (the reply is the number of receivers) ...
      self->request(hub, caf::infinite, publish_atom::value, "answers", answer)
        .then([](std::uint64_t) {});
      // ... and send straight to the connection that asked.
      self->request(hub, caf::infinite, send_atom::value, msg.from, answer)
        .then([](bool) {});
    },
  };
}

class config : public caf::actor_system_config {
public:
  std::uint16_t port = 0;
  config() {
    opt_group{custom_options_, "global"}.add(port, "port", "port, 0 picks one");
    switchboard::add_error_category(*this);
    switchboard::add_message_types(*this);
  }
};

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  config cfg;
  if (auto err = cfg.parse(argc, argv))
    return 2;
  caf::actor_system sys{cfg};

  // One call starts a hub and a WebSocket listener inside this system.
  node_config ncfg;
  ncfg.port = cfg.port;
  auto node = node::start(sys, ncfg);
  if (!node) {
    std::fprintf(stderr, "%s\n", sys.render(node.error()).c_str());
    return 1;
  }
  sys.spawn(echo_bot, (*node)->hub());
  std::printf("echo_bot listening on %s\n", (*node)->url().c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  (*node)->stop(); // clients get close 1001; the hub and the pairs exit
  return 0;
}
