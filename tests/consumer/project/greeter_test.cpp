// The greeter against a hub on CAF's deterministic scheduler.
#include "greeter.hpp"

#include <switchboard/testing.hpp>

#include <cstdio>

int main() {
  switchboard::testing::hub_fixture f;
  f.spawn(greeter, f.hub);
  f.run();
  auto client = f.connect();
  client.transport->take(); // the welcome
  f.send(client, R"({"type":"send","to":"service:greeter","data":"world","id":1})");
  auto got = client.transport->take();
  const std::string ack = R"({"type":"ack","id":1})";
  const std::string hello = R"({"type":"direct","from":"service:greeter","data":{"hello":"world"}})";
  if (got.size() != 2 || got[0] != ack || got[1] != hello) {
    std::fprintf(stderr, "greeter_test: got %zu frames:\n", got.size());
    for (auto& frame : got)
      std::fprintf(stderr, "  %s\n", frame.c_str());
    return 1;
  }
  std::puts("greeter_test: ok");
  return 0;
}
