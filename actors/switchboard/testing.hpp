#pragma once

/// Deterministic test helpers (library switchboard::testing): a hub on CAF's
/// test_coordinator with fake clients, so that actors (ours or an
/// application's) are tested against a hub without threads, sockets or
/// sleeps. Time moves only when the test says so.

#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"
#include "switchboard/stop_mode.hpp"

#include <caf/scheduler/test_coordinator.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard::testing {

namespace detail {
struct socket_peer;
} // namespace detail

// -- fake socket ------------------------------------------------------------------

/// The socket of a fake client: records what the hub hands it through the
/// writer's outbound policy (the node's own) and how the connection ended. Meant for the single-threaded
/// test_coordinator: not thread-safe.
class fake_socket {
public:
  /// A frame as the node puts it on the wire (WebSocket header + payload);
  /// take() gives the payloads.
  using frame = std::shared_ptr<const std::string>;

  /// When true (the default) every frame is written at once; when false
  /// frames stay queued until complete_write(), like a client that does not
  /// read, and count against the writer's bound.
  bool auto_complete = true;

  /// Frames written, in order.
  std::vector<frame> delivered;
  /// Frames queued and not written yet.
  std::vector<frame> in_flight;
  /// Calls of the transport's send() (each one hands over a batch).
  std::size_t writes = 0;
  std::size_t pings = 0;
  /// Inbound messages the reader has handled (its read credit came back).
  std::size_t consumed_count = 0;
  /// How the connection ended, once it did.
  std::optional<exit_code> closed;
  /// The close code and text an application asked for (close_connection).
  std::uint16_t close_code = 0;
  std::string close_text;

  /// Writes everything queued, or fails the socket (socket_error).
  void complete_write(bool ok = true);
  /// Writes the first `n` frames queued (all, if fewer are).
  void complete_frames(std::size_t n);

  /// The payloads of the frames written, and forgets them.
  std::vector<std::string> take();

private:
  friend struct detail::socket_peer;
  /// The connection on the other side (its writer and transport), set when
  /// the socket is connected; defined inside the testing library.
  std::shared_ptr<detail::socket_peer> peer_;
};

// -- replies ----------------------------------------------------------------------

/// The reply to a message that hub_fixture::ask() sent: kept by a probe of
/// its own until the test looks, so that it can be checked between steps.
/// Lives no longer than the fixture (its probe is an actor of the fixture's
/// system).
template <class T>
class reply {
public:
  explicit reply(caf::actor_system& sys) : probe_(std::make_unique<caf::scoped_actor>(sys)) {
  }

  /// The probe that sends the request and receives the reply.
  caf::scoped_actor& probe() {
    return *probe_;
  }

  /// Whether the reply (a value or an error) came. Runs nothing.
  bool arrived() {
    poll();
    return result_.has_value();
  }

  /// The reply: the value, the error the receiver answered with, or
  /// `sec::request_timeout` while none came. Runs nothing.
  caf::expected<T> get() {
    poll();
    if (!result_)
      return caf::sec::request_timeout;
    return *result_;
  }

private:
  void poll() {
    if (result_)
      return;
    (*probe_)->receive([&](T& y) { result_ = caf::expected<T>{std::move(y)}; },
                       [&](caf::error& err) { result_ = caf::expected<T>{std::move(err)}; },
                       caf::after(caf::timespan{0}) >> [] {});
  }

  std::unique_ptr<caf::scoped_actor> probe_;
  std::optional<caf::expected<T>> result_;
};

// -- fixture ----------------------------------------------------------------------

/// A hub on a deterministic scheduler, plus fake clients.
///
/// The actor system runs on your application's configuration if you give it
/// one (`std::unique_ptr` to your `actor_system_config` subclass, parsed as
/// your application parses it), so your message types and options are
/// there; the fixture adds switchboard's types and error categories and
/// forces CAF's `test_coordinator` scheduler. Nothing else of it changes.
///
/// Messages run either until everything settled (what connect(), send(),
/// request() and tell() do) or one at a time: enqueue() and ask() send
/// without running, step() runs the next message, pending() counts those
/// waiting and next_is() tells whose turn it is. A client's publish, one
/// hop at a time (tests/actors/hub_fixture_test.cpp):
/// ```
/// auto pub = f.connect(), sub = f.connect();
/// f.send(sub, R"({"type":"subscribe","topic":"t"})");
/// sub.transport->take();                // the welcome and the subscribe's ack
/// f.enqueue(pub, R"({"type":"publish","topic":"t","data":1})");
/// REQUIRE(f.next_is(pub.reader));
/// f.step();                             // the reader hands it to the hub
/// REQUIRE(f.next_is(f.hub));
/// f.step();                             // the hub fans it out...
/// CHECK(sub.transport->delivered.empty());
/// f.step();                             // ...and drains: now it is written
/// CHECK(sub.transport->take().size() == 1);
/// auto stats = f.ask<hub_stats>(f.hub, query_stats{});
/// CHECK_FALSE(stats.arrived());
/// f.run();                              // the rest: the reply, read credits
/// CHECK(stats.get()->connections == 2);
/// ```
class hub_fixture {
  // First: the system refers to it for its whole life.
  std::unique_ptr<caf::actor_system_config> owned_cfg_;

public:
  struct client {
    caf::actor reader;
    caf::actor writer;
    std::shared_ptr<fake_socket> transport;
    conn_id id = 0;
  };

  // -- construction -------------------------------------------------------------

  hub_fixture();
  explicit hub_fixture(connection_settings settings, hub_settings limits = {});
  /// For hub settings that hold actors of the fixture's system (an
  /// authenticator, say): `make` spawns them with the fixture's spawn() and
  /// returns the settings, before the hub starts.
  hub_fixture(connection_settings settings, std::function<hub_settings(hub_fixture&)> make);

  /// Runs on the application's own configuration, e.g.
  /// `hub_fixture f{std::make_unique<app_config>()}` after `parse()` of
  /// its arguments or config file. The fixture sets `scheduler.policy` to
  /// `testing` (and `logger.verbosity` to `quiet` unless the configuration
  /// sets it), adds switchboard's message types and error categories, and
  /// keeps everything else. A null `config` is a default one.
  explicit hub_fixture(std::unique_ptr<caf::actor_system_config> config,
                       connection_settings settings = {}, hub_settings limits = {});
  hub_fixture(std::unique_ptr<caf::actor_system_config> config, connection_settings settings,
              std::function<hub_settings(hub_fixture&)> make);

  hub_fixture(const hub_fixture&) = delete;
  hub_fixture& operator=(const hub_fixture&) = delete;
  virtual ~hub_fixture();

  // -- fake clients -------------------------------------------------------------

  /// Connects a fake client (of `user`, empty: anonymous; limited to the
  /// glob patterns `topics` if given, as upgrade_verdict::topics), runs
  /// until it is joined and welcomed.
  client connect(std::string user = {},
                 caf::optional<std::vector<std::string>> topics = caf::none);

  /// Connects a fake client as an authenticator's allowing `verdict` admits
  /// it: its user, its topics and its expiry (upgrade_verdict::expires, a
  /// wall-clock time; the connection counts wall-clock time from when it
  /// connects on the virtual clock, so advance() brings the expiry nearer).
  client connect(const upgrade_verdict& verdict);

  /// The client sends one text frame; runs until everything settled.
  void send(const client& c, std::string text);

  /// The client sends one text frame and nothing runs yet (see step()).
  void enqueue(const client& c, std::string text);

  /// The client sends a binary frame; runs until everything settled.
  void send_binary(const client& c);

  /// The client answers the server's last ping.
  void pong(const client& c);

  /// The client's socket closes (EOF, reset) with `reason`.
  void disconnect(const client& c, exit_code reason = exit_code::socket_closed);

  // -- running ------------------------------------------------------------------

  /// Processes every pending message (time does not move).
  std::size_t run();

  /// Processes exactly one message, the next in the scheduler's order (time
  /// does not move). Returns false if none was pending.
  bool step();

  /// How many messages wait in the mailboxes of the fixture's actors (a
  /// probe's replies are not counted: they wait for the test).
  std::size_t pending();

  /// Whether step() would run a message of `a` next.
  template <class Handle>
  bool next_is(const Handle& a) const {
    return next_receiver() == caf::actor_cast<caf::actor_addr>(a);
  }

  /// Moves the clock forward by `t`, stopping at every timer due on the way:
  /// it fires at its own time and what it triggers runs before the clock
  /// moves on (as in real time). Returns how many timers fired.
  std::size_t advance(caf::timespan t);

  // -- looking at actors --------------------------------------------------------

  /// Whether the actor is still running.
  bool alive(const caf::actor& a) const;

  /// The reason `a` exited with; none while it is running.
  caf::error exit_reason(const caf::actor& a);

  /// Whether the hub still holds any trace of `c`: its connection, an entry
  /// in the actor index, a topic membership or frames waiting for a drain
  /// or held back for its socket.
  bool remembers(const client& c);

  /// The hub's statistics.
  hub_stats stats();

  /// Stops the hub as node::request_stop() does: publishes are refused,
  /// every writer flushes and closes, the hub quits once all are gone.
  void request_stop();

  /// Stops the hub as node::request_stop(plan) does: close code of
  /// plan.mode, closes spread over plan.drain_period (on the virtual clock:
  /// advance() moves the drain on).
  void request_stop(const stop_plan& plan);

  // -- messages to the hub or any other actor -----------------------------------

  /// Sends `xs...` to `dest` (a typed or dynamically typed handle: the hub,
  /// an actor of the application) from a probe of its own and runs nothing:
  /// the reply is there once the receiver handled it (step(), run()).
  template <class T, class Handle, class... Ts>
  reply<T> ask(const Handle& dest, Ts&&... xs) {
    static_assert(sizeof...(Ts) > 0, "no message to send");
    reply<T> result{sys};
    result.probe()->send(dest, std::forward<Ts>(xs)...);
    return result;
  }

  /// Sends `x` (and `xs...`) to `dest`, runs until everything settled and
  /// returns the reply: the value, the error `dest` answered with, or
  /// `sec::request_timeout` when no reply came.
  template <class T, class Handle, class X, class... Xs>
  caf::expected<T> request(const Handle& dest, X&& x, Xs&&... xs) {
    auto result = ask<T>(dest, std::forward<X>(x), std::forward<Xs>(xs)...);
    run();
    return result.get();
  }

  /// request(hub, x).
  template <class T, class Message>
  caf::expected<T> request(Message x) {
    return request<T>(hub, std::move(x));
  }

  /// Sends `x` (and `xs...`) to `dest` (no reply expected) and runs.
  template <class Handle, class X, class... Xs>
  void tell(const Handle& dest, X&& x, Xs&&... xs) {
    caf::anon_send(dest, std::forward<X>(x), std::forward<Xs>(xs)...);
    run();
  }

  /// tell(hub, x).
  template <class Message>
  void tell(Message x) {
    tell(hub, std::move(x));
  }

  // -- actors of the test -------------------------------------------------------

  /// Spawns an actor (a listener, a service, ...) that the fixture stops
  /// when it is destroyed: an actor still alive at that point would keep
  /// the actor system from shutting down.
  template <class... Ts>
  auto spawn(Ts&&... xs) {
    auto handle = sys.spawn(std::forward<Ts>(xs)...);
    spawned_.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  }

  /// The configuration the system runs on (the application's, if given).
  caf::actor_system_config& cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  connection_settings settings;
  hub_settings limits;
  /// The hub's public handle, as node::hub() hands it out.
  hub_actor hub;

private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg);
  /// The system without its hub yet (start_hub() follows).
  struct no_hub {};
  hub_fixture(std::unique_ptr<caf::actor_system_config> config, connection_settings settings,
              no_hub);
  void start_hub();
  caf::actor_addr next_receiver() const;

  /// The hub with its internal interface.
  caf::actor internal_;
  /// Every actor the fixture spawned (client pairs included), stopped on
  /// destruction.
  std::vector<caf::actor> spawned_;
};

} // namespace switchboard::testing
