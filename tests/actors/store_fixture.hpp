#pragma once

// A hub with a shared history store that is a fake: an actor that runs each
// request at once on the product's memory_history (so the store's order is
// the order requests arrive, as in Redis, where one script numbers
// atomically) but keeps every reply until the test releases it, in any
// order, or fails it. For history_async_test.cpp and
// history_async_reads_test.cpp.

#include "cluster/cluster_messages.hpp"
#include "hub/history.hpp"
#include "testing/hub_fixture_internals.hpp"
#include "switchboard/history_store.hpp"
#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace store_test {

namespace json = boost::json;

using namespace switchboard;
using namespace std::chrono_literals;
using testing::hub_fixture;

using release_atom = caf::atom_constant<caf::atom("release")>;

struct fake_store_state {
  memory_history mem{std::size_t{64} << 20, [](const std::string&) { return true; }};
  /// Replies not sent yet, in the order their requests arrived.
  std::vector<std::function<void(bool ok)>> held;
  /// What each held reply answers ("append 3", "top", ...).
  std::vector<std::string> what;
  /// False: every reply goes out at once.
  bool holding = false;
  static inline const char* name = "fake_store";
};

using store_pointer = caf::stateful_actor<fake_store_state>*;

// Runs the request now; its reply waits while the store is holding.
template <class Reply>
inline void answer(store_pointer self, Reply reply, std::string what) {
  auto rp = self->make_response_promise();
  auto send = [rp, reply](bool ok) mutable {
    if (ok)
      rp.deliver(reply);
    else
      rp.deliver(make_error(hub_errc::unavailable));
  };
  if (!self->state.holding) {
    send(true);
    return;
  }
  self->state.held.emplace_back(std::move(send));
  self->state.what.push_back(std::move(what));
}

inline caf::behavior fake_store(store_pointer self) {
  auto now = [] { return caf::actor_clock::time_point{}; };
  return {
    [=](store_append& q) {
      auto pos = self->state.mem.append(q.topic, q.data, q.limits, now());
      answer(self, pos, "append " + std::to_string(pos.offset));
    },
    [=](store_top& q) { answer(self, self->state.mem.top(q.topic, q.limits, now()), "top"); },
    [=](store_recover& q) {
      answer(self, self->state.mem.recover(q.topic, q.since, q.max, q.limits, now()), "recover");
    },
    [=](store_read& q) {
      std::optional<stream_position> since;
      if (q.since)
        since = *q.since;
      answer(self, self->state.mem.read(q.topic, q.limit, since, q.limits, now()), "read");
    },
    [=](store_remove& q) { answer(self, self->state.mem.remove(q.topic, q.limits, now()), "remove"); },
    [=](store_totals&) { answer(self, self->state.mem.totals(), "totals"); },
    [=](release_atom, std::size_t i, bool ok) {
      auto& st = self->state;
      auto send = std::move(st.held.at(i));
      st.held.erase(st.held.begin() + static_cast<std::ptrdiff_t>(i));
      st.what.erase(st.what.begin() + static_cast<std::ptrdiff_t>(i));
      send(ok);
    },
  };
}

inline hub_settings with_store(hub_fixture& f) {
  auto store = f.spawn(fake_store);
  hub_settings h;
  h.namespaces["chat"] = topic_options{100, std::chrono::minutes(5), false, false};
  h.history_store = store;
  return h;
}

inline connection_settings unlimited() {
  connection_settings s;
  s.client_rate = 0;
  return s;
}

struct store_fixture : hub_fixture {
  store_fixture()
    : hub_fixture(unlimited(), with_store) {
    store = limits.history_store;
    // A stand-in cluster actor: records what the hub forwards, passes on
    // what "other nodes" sent.
    auto internal = caf::actor_cast<caf::actor>(hub);
    relay = spawn([this, internal](caf::event_based_actor* self) -> caf::behavior {
      return {
        [this](cluster_item& item) { forwarded.push_back(item); },
        [self, internal](cluster_delivery& d) { self->send(internal, std::move(d)); },
      };
    });
    caf::anon_send(caf::actor_cast<hub_internal_actor>(hub),
                   cluster_attach{caf::actor_cast<cluster_inbox_actor>(relay), 7});
    run();
  }

  fake_store_state& store_state() {
    auto p = caf::actor_cast<caf::abstract_actor*>(store);
    return dynamic_cast<caf::stateful_actor<fake_store_state>&>(*p).state;
  }

  void hold(bool on) {
    store_state().holding = on;
  }

  std::size_t held() {
    return store_state().held.size();
  }

  /// Sends the held reply to the request named `what` (ok, or an error).
  void release(const std::string& what, bool ok = true) {
    auto& names = store_state().what;
    auto i = std::find(names.begin(), names.end(), what);
    REQUIRE(i != names.end());
    tell(store, release_atom::value, static_cast<std::size_t>(i - names.begin()), ok);
  }

  client fresh() {
    auto c = connect();
    c.transport->take();
    return c;
  }

  void publish(const client& c, int value, const std::string& id = {}) {
    send(c, R"({"type":"publish","topic":"chat:x","data":)" + std::to_string(value)
              + (id.empty() ? "" : R"(,"id":)" + id) + "}");
  }

  /// Another node's publish that the store numbered `offset` in `epoch`.
  void remote(std::uint64_t offset, const std::string& epoch) {
    cluster_delivery d;
    d.items.push_back({cluster_item::numbered_publish, "chat:x", std::to_string(offset * 100),
                       0, offset, epoch, 0});
    caf::anon_send(relay, std::move(d));
    run();
  }

  caf::actor store;
  caf::actor relay;
  std::vector<cluster_item> forwarded;
};

inline std::vector<std::uint64_t> offsets(const std::vector<std::string>& frames) {
  std::vector<std::uint64_t> result;
  for (auto& f : frames) {
    auto obj = json::parse(f).as_object();
    if (obj.at("type") == "message")
      result.push_back(obj.at("offset").to_number<std::uint64_t>());
  }
  return result;
}

inline const std::string subscribe_x = R"({"type":"subscribe","topic":"chat:x"})";


// A client's frames: its message offsets, and whether its subscribe reply
// said recovered.
struct seen {
  std::vector<std::uint64_t> offsets;
  bool recovered = false;
};

inline seen look(const std::vector<std::string>& frames) {
  seen result;
  for (auto& f : frames) {
    auto obj = json::parse(f).as_object();
    if (obj.at("type") == "message")
      result.offsets.push_back(obj.at("offset").to_number<std::uint64_t>());
    else if (obj.at("type") == "subscribed" && obj.contains("recovered"))
      result.recovered = obj.at("recovered").as_bool();
  }
  return result;
}

inline std::string since(std::uint64_t offset, const std::string& epoch) {
  return R"({"type":"subscribe","topic":"chat:x","since":{"offset":)" + std::to_string(offset)
         + R"(,"epoch":")" + epoch + R"("}})";
}

inline const history_limits chat_limits{100, std::chrono::minutes(5)};

} // namespace store_test
