#pragma once

/// Deterministic test helpers (library switchboard::testing): a hub on CAF's
/// test_coordinator with fake clients, so that actors (ours or an
/// application's) are tested against a hub without threads, sockets or
/// sleeps. Time moves only when the test says so.

#include "switchboard/hub.hpp"
#include "switchboard/settings.hpp"

#include <caf/scheduler/test_coordinator.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

struct hub_state;

namespace testing {

class fake_transport;

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
  friend class fake_transport;
  friend std::shared_ptr<fake_transport>
  make_fake_transport(std::shared_ptr<fake_socket>, std::shared_ptr<const connection_settings>);
  /// Takes the frames that left the queue off the writer's bound.
  void left_queue(std::vector<frame>::iterator begin, std::vector<frame>::iterator end);

  caf::actor writer_; ///< the pair's writer (for failures)
  /// The connection's transport, which counts what left the queue in the
  /// writer's outbound policy (gone with the pair: then nobody counts).
  std::weak_ptr<fake_transport> transport_;
};

// -- fixture ----------------------------------------------------------------------

/// A hub on a deterministic scheduler, plus fake clients.
class hub_fixture {
public:
  struct client {
    caf::actor reader;
    caf::actor writer;
    std::shared_ptr<fake_socket> transport;
    conn_id id = 0;
  };

  hub_fixture();
  explicit hub_fixture(connection_settings settings, hub_settings limits = {});
  /// For hub settings that hold actors of the fixture's system (an
  /// authenticator, say): `make` spawns them with the fixture's spawn() and
  /// returns the settings, before the hub starts.
  hub_fixture(connection_settings settings, std::function<hub_settings(hub_fixture&)> make);
  virtual ~hub_fixture();

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

  /// The client sends a binary frame; runs until everything settled.
  void send_binary(const client& c);

  /// The client answers the server's last ping.
  void pong(const client& c);

  /// The client's socket closes (EOF, reset) with `reason`.
  void disconnect(const client& c, exit_code reason = exit_code::socket_closed);

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
  /// in the actor index, a topic membership or frames waiting for a drain
  /// or held back for its socket.
  bool remembers(const client& c);

  /// The hub's statistics.
  hub_stats stats();

  /// Stops the hub as node::request_stop() does: publishes are refused,
  /// every writer flushes and closes, the hub quits once all are gone.
  void request_stop();

  /// Sends `x` to the hub from a temporary probe, runs until everything
  /// settled and returns the hub's reply: the value, the error it answered
  /// with, or `sec::request_timeout` when no reply came.
  template <class T, class Message>
  caf::expected<T> request(Message x) {
    caf::scoped_actor probe{sys};
    probe->send(hub, std::move(x));
    run();
    caf::expected<T> result{caf::sec::request_timeout};
    probe->receive([&](T& y) { result = std::move(y); },
                   [&](caf::error& err) { result = std::move(err); },
                   caf::after(caf::timespan{0}) >> [] {});
    return result;
  }

  /// Sends `x` to the hub (no reply expected) and runs.
  template <class Message>
  void tell(Message x) {
    caf::anon_send(hub, std::move(x));
    run();
  }

  /// Spawns an actor (a listener, a service, ...) that the fixture stops
  /// when it is destroyed: an actor still alive at that point would keep
  /// the actor system from shutting down.
  template <class... Ts>
  auto spawn(Ts&&... xs) {
    auto handle = sys.spawn(std::forward<Ts>(xs)...);
    spawned_.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  }

  /// The hub's state, for switchboard's own tests (the type is internal).
  /// Read it only between runs, and only while the hub is alive.
  hub_state& state();

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  connection_settings settings;
  hub_settings limits;
  /// The hub's public handle, as node::hub() hands it out.
  hub_actor hub;

private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg);
  void start_hub();

  /// The hub with its internal interface.
  caf::actor internal_;
  /// Every actor the fixture spawned (client pairs included), stopped on
  /// destruction.
  std::vector<caf::actor> spawned_;
};

} // namespace testing
} // namespace switchboard
