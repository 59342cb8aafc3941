// The test fixture itself (switchboard::testing::hub_fixture) as an
// application uses it: on the application's own config, asking the
// application's actors, and one message at a time. Only the public header:
// what a consumer of the installed package can do.

#include "switchboard/testing.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace switchboard;
using testing::hub_fixture;

namespace {

// -- an application ---------------------------------------------------------------

/// A message type of the application's own.
struct greeting {
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, greeting& x) {
  return f(caf::meta::type_name("greeting"), x.text);
}

/// The application's config: its type, its options, its own choices of
/// scheduler and log verbosity.
struct app_config : caf::actor_system_config {
  int answer = 0;

  app_config() {
    add_message_type<greeting>("app.greeting");
    opt_group{custom_options_, "app"}
      .add(answer, "answer", "what the greeter appends")
      .add<std::string>("salutation", "how the greeter greets");
    // Both are the application's choices; the fixture must overrule the
    // first (it cannot work on another scheduler) and keep the second.
    set("scheduler.policy", caf::atom("sharing"));
    set("logger.verbosity", caf::atom("error"));
  }
};

/// An application actor (dynamically typed) that reads the application's
/// options from the system it runs in.
caf::behavior greeter(caf::event_based_actor* self) {
  return {
    [self](const greeting& g) -> caf::result<greeting> {
      if (g.text.empty())
        return caf::make_error(caf::sec::invalid_argument);
      auto& cfg = self->system().config();
      return greeting{caf::get_or(cfg, "app.salutation", "hi") + " " + g.text + " "
                      + std::to_string(caf::get_or(cfg, "app.answer", 0))};
    },
    [](const std::string&) {}, // never answered
  };
}

/// An application actor with a typed interface.
using counter_actor =
  caf::typed_actor<caf::reacts_to<int>, caf::replies_to<caf::get_atom>::with<int>,
                   caf::replies_to<caf::add_atom, int>::with<int>>;

counter_actor::behavior_type counter(counter_actor::stateful_pointer<int> self) {
  return {
    [self](int n) { self->state += n; },
    [self](caf::get_atom) { return self->state; },
    [self](caf::add_atom, int n) { return self->state += n; },
  };
}

std::unique_ptr<caf::actor_system_config> parsed_app_config() {
  auto cfg = std::make_unique<app_config>();
  // As the application would: its command line and its config file.
  std::istringstream file{R"(app { salutation = "hello" })"};
  auto err = cfg->parse(caf::actor_system_config::string_list{"--app.answer=42"}, file);
  REQUIRE_FALSE(err);
  return cfg;
}

const std::string subscribe_t = R"({"type":"subscribe","topic":"t"})";

} // namespace

// -- the application's config -----------------------------------------------------

TEST_CASE("the fixture runs on the application's config and keeps its types and options") {
  hub_fixture f{parsed_app_config()};
  // The application's options, from its arguments and its file.
  auto& app = dynamic_cast<app_config&>(f.cfg);
  CHECK(app.answer == 42);
  CHECK(caf::get_or(f.sys.config(), "app.answer", 0) == 42);
  CHECK(caf::get_or(f.sys.config(), "app.salutation", "") == "hello");
  // Its choice of verbosity stays; its scheduler is the test coordinator.
  CHECK(caf::get_or(f.sys.config(), "logger.verbosity", caf::atom("")) == caf::atom("error"));
  CHECK(&f.sched == &f.sys.scheduler());
  // Its message type is known to the system by its name, and so are ours.
  CHECK(f.sys.types().make_value("app.greeting") != nullptr);
  CHECK(f.sys.types().make_value("switchboard::hub_stats") != nullptr);
  // Its actor reads the options from the system it runs in.
  auto g = f.spawn(greeter);
  auto got = f.request<greeting>(g, greeting{"world"});
  REQUIRE(got);
  CHECK(got->text == "hello world 42");
  // And the hub works as on a default config.
  auto a = f.connect();
  auto b = f.connect();
  f.send(b, subscribe_t);
  b.transport->take(); // the welcome and the subscription's ack
  f.send(a, R"({"type":"publish","topic":"t","data":2})");
  CHECK(b.transport->take()
        == std::vector<std::string>{R"({"type":"message","topic":"t","data":2})"});
  CHECK(f.stats().connections == 2);
}

namespace {

/// docs/embedding.md's fixture on an application config.
struct app_fixture : hub_fixture {
  app_fixture() : hub_fixture(make_config()) {
  }
  static std::unique_ptr<caf::actor_system_config> make_config() {
    auto cfg = std::make_unique<app_config>();
    std::istringstream file{R"(app { answer = 42, salutation = "hello" })"};
    if (auto err = cfg->parse(caf::actor_system_config::string_list{}, file))
      throw std::runtime_error(caf::to_string(err));
    return cfg;
  }
};

} // namespace

TEST_CASE_METHOD(app_fixture, "the greeter greets") {
  auto g = spawn(greeter);
  CHECK(request<greeting>(g, greeting{"world"})->text == "hello world 42");
}

TEST_CASE("a null config is a default one, with settings as before") {
  connection_settings s;
  s.send_queue_frames = 100;
  hub_fixture f{nullptr, s};
  CHECK(f.settings.send_queue_frames == 100);
  // Nobody chose a verbosity: the fixture's is quiet.
  CHECK(caf::get_or(f.sys.config(), "logger.verbosity", caf::atom("")) == caf::atom("quiet"));
  auto c = f.connect();
  CHECK(c.id != 0);
}

// -- requests to any actor --------------------------------------------------------

TEST_CASE("request and tell reach a dynamically typed actor") {
  hub_fixture f;
  auto g = f.spawn(greeter);
  auto got = f.request<greeting>(g, greeting{"you"});
  REQUIRE(got);
  CHECK(got->text == "hi you 0"); // the defaults: nobody set the options
  // The error it answers with.
  CHECK(f.request<greeting>(g, greeting{}).error() == caf::sec::invalid_argument);
  // A message it takes without answering: no reply came.
  CHECK(f.request<greeting>(g, std::string{"x"}).error() == caf::sec::request_timeout);
  f.tell(g, std::string{"x"});
  CHECK(f.pending() == 0);
}

TEST_CASE("request and tell reach a typed actor, with messages of several values") {
  hub_fixture f;
  auto c = f.spawn(counter);
  f.tell(c, 5);
  f.tell(c, 7);
  CHECK(f.request<int>(c, caf::get_atom::value) == 12);
  CHECK(f.request<int>(c, caf::add_atom::value, 3) == 15);
  // The hub's own still go to the hub.
  CHECK(f.request<hub_stats>(query_stats{})->connections == 0);
}

// -- one message at a time --------------------------------------------------------

TEST_CASE("step runs one message: a client's publish at its reader, the hub, the sockets") {
  hub_fixture f;
  auto pub = f.connect();
  auto sub = f.connect();
  f.send(sub, subscribe_t);
  pub.transport->take();
  sub.transport->take();
  auto credits = pub.transport->consumed_count;
  f.enqueue(pub, R"({"type":"publish","topic":"t","data":1,"id":7})");
  CHECK(f.pending() == 1);
  REQUIRE(f.next_is(pub.reader));
  // The reader parses the frame and hands the publish to the hub.
  REQUIRE(f.step());
  CHECK(f.pending() == 1);
  REQUIRE(f.next_is(f.hub));
  // The hub takes it: frames are collected for the subscriber and the ack,
  // the reader gets its answer, and the hub drains once its mailbox is
  // worked through. Nothing is on a socket yet.
  REQUIRE(f.step());
  CHECK(f.pending() == 2);
  CHECK(f.next_is(f.hub));
  CHECK(pub.transport->delivered.empty());
  CHECK(sub.transport->delivered.empty());
  // The drain hands each connection its batch: both sockets have it.
  REQUIRE(f.step());
  CHECK(sub.transport->take()
        == std::vector<std::string>{R"({"type":"message","topic":"t","data":1})"});
  CHECK(pub.transport->take() == std::vector<std::string>{R"({"type":"ack","id":7})"});
  CHECK(pub.transport->consumed_count == credits); // the read credit is still out
  CHECK(f.pending() == 1);
  REQUIRE(f.next_is(pub.reader));
  // The hub's answer gives the reader its credit back.
  REQUIRE(f.step());
  CHECK(pub.transport->consumed_count == credits + 1);
  CHECK(f.pending() == 0);
  CHECK_FALSE(f.step());
}

TEST_CASE("ask sends without running: the reply is there once the receiver ran") {
  hub_fixture f;
  auto c = f.spawn(counter);
  f.run();
  f.enqueue(f.connect(), subscribe_t); // mail of another actor, before ours
  auto added = f.ask<int>(c, caf::add_atom::value, 2);
  auto got = f.ask<int>(c, caf::get_atom::value);
  CHECK(f.pending() == 3);
  CHECK_FALSE(added.arrived());
  CHECK(added.get().error() == caf::sec::request_timeout); // none yet
  // Step until the counter ran once: the first reply is there, not the
  // second (a step is one message, not one actor's whole mailbox).
  for (int bound = 0; !added.arrived() && bound < 10; ++bound)
    REQUIRE(f.step());
  REQUIRE(added.arrived());
  CHECK(added.get() == 2);
  CHECK_FALSE(got.arrived());
  f.run();
  CHECK(got.get() == 2);
  CHECK(f.pending() == 0);
}

TEST_CASE("the header's stepwise example runs as written") {
  hub_fixture f;
  // From here to the end: testing.hpp's example, verbatim.
  auto pub = f.connect(), sub = f.connect();
  f.send(sub, R"({"type":"subscribe","topic":"t"})");
  sub.transport->take(); // the welcome and the subscribe's ack
  f.enqueue(pub, R"({"type":"publish","topic":"t","data":1})");
  REQUIRE(f.next_is(pub.reader));
  f.step(); // the reader hands it to the hub
  REQUIRE(f.next_is(f.hub));
  f.step(); // the hub fans it out...
  CHECK(sub.transport->delivered.empty());
  f.step(); // ...and drains: now it is written
  CHECK(sub.transport->take().size() == 1);
  auto stats = f.ask<hub_stats>(f.hub, query_stats{});
  CHECK_FALSE(stats.arrived());
  f.run(); // the rest: the reply, read credits
  CHECK(stats.get()->connections == 2);
}
