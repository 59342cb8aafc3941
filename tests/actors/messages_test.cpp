// messages.hpp as an application sees it: add_message_types registers
// switchboard's own types only (an application's standard types keep their
// wire names), delivery_counts crosses a serializer under its own name, and
// the boost::json conveniences serialise once and parse back.

#include "switchboard/testing.hpp"

#include <boost/json.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <typeindex>
#include <vector>

using namespace switchboard;
using testing::hub_fixture;

namespace {

using app_counts = std::map<std::string, std::uint64_t>;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

const std::string& name_of(const caf::actor_system_config& cfg, const std::type_info& t) {
  static const std::string none = "(not registered)";
  auto i = cfg.type_names_by_rtti.find(std::type_index{t});
  return i == cfg.type_names_by_rtti.end() ? none : i->second;
}

using inbox = std::shared_ptr<std::vector<topic_message>>;

topic_listener_actor::behavior_type listener(topic_listener_actor::pointer, inbox got) {
  return {[got](topic_message& msg) { got->push_back(std::move(msg)); }};
}

} // namespace

TEST_CASE("add_message_types registers switchboard's own types and no other") {
  caf::actor_system_config cfg;
  auto before = cfg.type_names_by_rtti;
  add_message_types(cfg);
  std::size_t added = 0;
  for (auto& [type, name] : cfg.type_names_by_rtti) {
    if (before.count(type) != 0)
      continue;
    ++added;
    INFO(name);
    CHECK((starts_with(name, "switchboard::") || starts_with(name, "std::vector<switchboard::")
           || starts_with(name, "stream<switchboard::")));
  }
  CHECK(added > 0);
  CHECK(name_of(cfg, typeid(app_counts)) == "(not registered)");
  CHECK(name_of(cfg, typeid(delivery_counts)) == "switchboard::delivery_counts");
}

TEST_CASE("an application's own map keeps its name, registered before or after") {
  caf::actor_system_config first;
  first.add_message_type<app_counts>("app::counts");
  add_message_types(first);
  CHECK(name_of(first, typeid(app_counts)) == "app::counts");
  caf::actor_system_config last;
  add_message_types(last);
  last.add_message_type<app_counts>("app::counts");
  CHECK(name_of(last, typeid(app_counts)) == "app::counts");
}

TEST_CASE_METHOD(hub_fixture, "delivery_counts crosses a serializer as itself") {
  delivery_counts counts{{"a", 1}, {"b", 0}};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto msg = caf::make_message(counts);
  REQUIRE(!sink(msg));
  caf::binary_deserializer source{sys, buf};
  caf::message back;
  REQUIRE(!source(back));
  REQUIRE(back.match_elements<delivery_counts>());
  CHECK(back.get_as<delivery_counts>(0) == counts);
  CHECK(!back.match_elements<app_counts>());
}

TEST_CASE_METHOD(hub_fixture, "requests built from boost::json values reach listeners as "
                              "that value") {
  auto got = std::make_shared<std::vector<topic_message>>();
  auto l = spawn(listener, got);
  REQUIRE(request<bool>(add_listener{"t", l}) == true);
  boost::json::value v = {{"text", "a \"quoted\" line\n"}, {"n", 1.5}, {"list", {1, 2}}};
  auto p = publication::from_json("t", v);
  CHECK(p.topic == "t");
  CHECK(p.data == boost::json::serialize(v));
  REQUIRE(request<std::uint64_t>(p) == std::uint64_t{1});
  auto c = connect();
  REQUIRE(request<bool>(send_direct::from_json(c.id, v, "service:bot")) == true);
  auto frames = c.transport->take();
  REQUIRE(!frames.empty());
  auto direct = boost::json::parse(frames.back());
  CHECK(direct.at("data") == v);
  CHECK(direct.at("from") == "service:bot");
  REQUIRE(got->size() == 1);
  CHECK(got->front().json() == v);
  auto counts = request<delivery_counts>(broadcast::from_json({"t", "u"}, v));
  REQUIRE(counts);
  CHECK(*counts == delivery_counts{{"t", 1}, {"u", 0}});
  REQUIRE(got->size() == 2);
  CHECK(got->back().json() == v);
  CHECK(send_to_user::from_json("ann", v).data == p.data);
  CHECK(publish_numbered::from_json("t", v).data == p.data);
}

TEST_CASE("json() of text that is not JSON throws") {
  topic_message msg{"t", "{not json", 0};
  CHECK_THROWS_AS(msg.json(), boost::system::system_error);
  CHECK(service_message{"s", 1, "", "[1,2]"}.json() == boost::json::value({1, 2}));
}
