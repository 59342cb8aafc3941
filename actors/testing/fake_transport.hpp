#pragma once

// The transport of a fake client (switchboard::testing): it records what the
// pair asks of it into a fake_socket. Internal to the testing library and
// switchboard's own tests.

#include "connection/transport.hpp"

#include "switchboard/testing.hpp"

namespace switchboard::testing {

class fake_transport : public transport {
public:
  fake_transport(std::shared_ptr<fake_socket> socket,
                 std::shared_ptr<const connection_settings> settings);

  /// The pair's writer, told about failed writes.
  void writer(caf::actor w);

  backlog queued() const override;
  bool congested() const override;
  bool send(frame_batch frames, std::size_t bytes) override;
  void notify_when_drained(writer_actor writer) override;
  void ping() override;
  void consumed() override;
  void close(farewell how) override;

private:
  std::shared_ptr<fake_socket> socket_;
  std::shared_ptr<const connection_settings> settings_;
  bool refused_ = false;
};

inline std::shared_ptr<fake_transport>
make_fake_transport(std::shared_ptr<fake_socket> socket,
                    std::shared_ptr<const connection_settings> settings) {
  return std::make_shared<fake_transport>(std::move(socket), std::move(settings));
}

} // namespace switchboard::testing
