// tally --port=N: asks the backend's counter (another process, over CAF's
// middleman) for its counts and prints them as `topic=count` lines. It
// registers the application's map before switchboard's types, the other
// order from the backend's: both see the map under the name they gave it.
#include "counter.hpp"

#include <caf/io/all.hpp>

#include <cstdio>

namespace {

struct config : caf::actor_system_config {
  std::uint16_t port = 0;

  config() {
    opt_group{custom_options_, "global"}.add(port, "port", "port of the counter actor");
    load<caf::io::middleman>();
    backend::add_backend_types(*this);
    switchboard::add_message_types(*this);
  }
};

} // namespace

int main(int argc, char** argv) {
  config cfg;
  if (auto err = cfg.parse(argc, argv))
    return 2;
  caf::actor_system sys{cfg};
  auto counter = sys.middleman().remote_actor<backend::counter_actor>("127.0.0.1", cfg.port);
  if (!counter) {
    std::fprintf(stderr, "tally: %s\n", sys.render(counter.error()).c_str());
    return 1;
  }
  caf::scoped_actor self{sys};
  int rc = 1;
  self->request(*counter, std::chrono::seconds(5), backend::tally_atom::value)
    .receive(
      [&](const backend::tally& counts) {
        for (auto& [topic, n] : counts)
          std::printf("%s=%llu\n", topic.c_str(), static_cast<unsigned long long>(n));
        rc = 0;
      },
      [&](const caf::error& err) { std::fprintf(stderr, "tally: %s\n", sys.render(err).c_str()); });
  return rc;
}
