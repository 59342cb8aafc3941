#pragma once

/// Deterministic test helpers, part of the public library: run a hub and
/// connection pairs on CAF's test_coordinator with fake sockets, so that
/// actors (ours or a user's) are tested without threads, sockets or sleeps.

#include "switchboard/connection.hpp"
#include "switchboard/hub.hpp"

#include <caf/scheduler/test_coordinator.hpp>

#include <optional>
#include <string>
#include <vector>

namespace switchboard::testing {

// -- fake transport ---------------------------------------------------------------

/// A transport that records what the writer asks of it. Meant for the
/// single-threaded test_coordinator: not thread-safe.
class fake_transport : public transport {
public:
  /// When true (the default) every write completes at once; when false a
  /// write stays in flight until complete_write().
  bool auto_complete = true;

  /// Frames whose write completed, in order.
  std::vector<frame_ptr> delivered;
  /// The write in flight, if any.
  frame_batch in_flight;
  std::size_t writes = 0;
  std::size_t pings = 0;
  std::size_t consumed_count = 0;
  std::optional<exit_code> closed;

  /// Completes the write in flight, successfully or with a socket_error.
  void complete_write(bool ok = true);

  /// The delivered frames as strings, and forgets them.
  std::vector<std::string> take();

  void write(frame_batch frames, caf::actor writer) override;
  void ping() override;
  void consumed() override;
  void close(exit_code reason) override;

private:
  caf::actor writer_;
};

// -- fixture ----------------------------------------------------------------------

/// A hub on a deterministic scheduler, plus fake clients.
class hub_fixture {
public:
  struct client {
    caf::actor reader;
    caf::actor writer;
    std::shared_ptr<fake_transport> transport;
    conn_id id = 0;
  };

  hub_fixture();
  explicit hub_fixture(connection_settings settings, hub_settings limits = {});
  virtual ~hub_fixture();

  /// Connects a fake client, runs until it is joined and welcomed.
  client connect();

  /// The client sends one text frame; runs until everything settled.
  void send(const client& c, std::string text);

  /// Processes every pending message (time does not move).
  std::size_t run();

  /// Moves the clock forward by `t`, stopping at every timer due on the way:
  /// it fires at its own time and what it triggers runs before the clock
  /// moves on (as in real time). Returns how many timers fired.
  std::size_t advance(caf::timespan t);

  /// Whether the actor is still running.
  bool alive(const caf::actor& a) const;

  /// The reason `a` exited with; none while it is running.
  caf::error exit_reason(const caf::actor& a);

  /// Whether the hub still holds any trace of `c`: its connection, an entry
  /// in the actor index, a topic membership or frames waiting for a flush.
  bool remembers(const client& c);

  /// The hub's state (read it only between runs, and only while the hub is
  /// alive: CAF destroys an actor's state when it terminates).
  hub_state& state();

  /// Sends `xs...` to the hub from a temporary probe, runs until everything
  /// settled and returns the hub's reply: the value, the error it answered
  /// with, or `sec::request_timeout` when no reply came.
  template <class T, class... Ts>
  caf::expected<T> request(Ts&&... xs) {
    caf::scoped_actor probe{sys};
    probe->send(hub, std::forward<Ts>(xs)...);
    run();
    caf::expected<T> result{caf::sec::request_timeout};
    probe->receive([&](T& x) { result = std::move(x); },
                   [&](caf::error& err) { result = std::move(err); },
                   caf::after(caf::timespan{0}) >> [] {});
    return result;
  }

  /// Spawns an actor (a server-side listener, say) that the fixture stops
  /// when it is destroyed: an actor still alive at that point would keep
  /// the actor system from shutting down.
  template <class... Ts>
  auto spawn(Ts&&... xs) {
    auto handle = sys.spawn(std::forward<Ts>(xs)...);
    spawned_.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  connection_settings settings;
  hub_settings limits;
  hub_actor hub;

private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg);

  /// Every actor the fixture spawned (client pairs included), stopped on
  /// destruction.
  std::vector<caf::actor> spawned_;
};

} // namespace switchboard::testing
