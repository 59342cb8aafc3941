#pragma once

// The transport of a fake client (switchboard::testing): it records what the
// pair asks of it into a fake_socket. Internal to the testing library and
// switchboard's own tests.

#include "transport.hpp"

#include "switchboard/testing.hpp"

namespace switchboard::testing {

class fake_transport : public transport {
public:
  explicit fake_transport(std::shared_ptr<fake_socket> socket);

  void write(frame_batch frames, writer_actor writer) override;
  void ping() override;
  void consumed() override;
  void close(farewell how) override;

private:
  std::shared_ptr<fake_socket> socket_;
};

inline transport_ptr make_fake_transport(std::shared_ptr<fake_socket> socket) {
  return std::make_shared<fake_transport>(std::move(socket));
}

} // namespace switchboard::testing
