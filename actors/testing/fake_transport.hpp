#pragma once

// The transport of a fake client (switchboard::testing): it records what the
// pair asks of it into a fake_socket. Its outbound queue is under the
// writer's real outbound policy (transport::policy()), as a session's is:
// the fake keeps no rule of its own. Internal to the testing library and
// switchboard's own tests.

#include "connection/transport.hpp"

#include "switchboard/testing.hpp"

namespace switchboard::testing {

class fake_transport;

/// What a fake_socket knows of its connection (the public header names it
/// only): the pair's writer, told about failed writes, and the transport,
/// which counts what left the socket's queue.
struct detail::socket_peer {
  caf::actor writer;
  /// Gone with the pair: then nobody counts.
  std::weak_ptr<fake_transport> transport;

  /// `socket`'s peer, made on first use.
  static socket_peer& of(fake_socket& socket);

  /// Takes the frames [begin, end) that left the socket's queue (written
  /// or dropped) off the writer's bound.
  void left_queue(std::vector<fake_socket::frame>::const_iterator begin,
                  std::vector<fake_socket::frame>::const_iterator end);
};

class fake_transport : public transport {
public:
  fake_transport(std::shared_ptr<fake_socket> socket,
                 std::shared_ptr<const connection_settings> settings);

  /// The pair's writer, told about failed writes.
  void writer(caf::actor w);

  /// `frames` frames (`bytes` in all) left the socket's queue: written, or
  /// dropped by a failed write (the fake_socket calls it).
  void left_queue(std::size_t frames, std::size_t bytes);

  void notify_when_drained(writer_actor writer) override;
  void ping() override;
  void consumed() override;
  void close(farewell how) override;

private:
  void hand_over(frame_batch frames) override;

  std::shared_ptr<fake_socket> socket_;
  outbound_policy send_policy_;
  caf::actor drain_waiter_;      ///< notify_when_drained
  std::uint64_t drain_target_ = 0; ///< ...once the policy is drained to this mark
};

/// A fake transport on `socket`, which reports its writes to it.
std::shared_ptr<fake_transport>
make_fake_transport(std::shared_ptr<fake_socket> socket,
                    std::shared_ptr<const connection_settings> settings);

} // namespace switchboard::testing
