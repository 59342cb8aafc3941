// The server API's v1.1 answers (docs/api.md): history, presence, and the
// publish answer with its offset. Built by hand: a history's data is raw
// JSON text that must reach the backend verbatim (Boost.JSON would respell
// its numbers).

#include "http/api_answer.hpp"

#include "protocol.hpp"

namespace switchboard::net {

namespace {

void member(std::string& out, const char* name, const std::string& value_json) {
  out += out.size() > 1 ? ",\"" : "\"";
  out += name;
  out += "\":";
  out += value_json;
}

std::string topic_head(const std::string& topic) {
  std::string out = "{";
  member(out, "topic", protocol::quote(topic));
  return out;
}

// In a cluster: the nodes the answer covers and whether one did not
// answer in time (not clustered: the single-node shape).
std::string& with_nodes(std::string& out, std::uint64_t nodes, bool partial) {
  if (nodes != 0) {
    member(out, "nodes", std::to_string(nodes));
    member(out, "partial", partial ? "true" : "false");
  }
  return out;
}

} // namespace

std::string publish_body(const publish_result& r) {
  std::string out = "{";
  member(out, "delivered", std::to_string(r.receivers));
  // Only on a topic with history: the answer without it stays v1's.
  if (r.offset != 0) {
    member(out, "offset", std::to_string(r.offset));
    member(out, "epoch", protocol::quote(r.epoch));
  }
  return out + "}";
}

std::string history_body(const history_page& page) {
  auto out = topic_head(page.topic);
  member(out, "epoch", protocol::quote(page.epoch));
  member(out, "offset", std::to_string(page.offset));
  std::string messages = "[";
  for (auto& m : page.messages) {
    if (messages.size() > 1)
      messages += ',';
    messages += R"({"offset":)" + std::to_string(m.offset) + R"(,"data":)" + m.data + "}";
  }
  member(out, "messages", messages + "]");
  return out + "}";
}

std::string position_body(const std::string& topic, const stream_position& pos) {
  auto out = topic_head(topic);
  member(out, "epoch", protocol::quote(pos.epoch));
  member(out, "offset", std::to_string(pos.offset));
  return out + "}";
}

std::string presence_body(const presence_info& info) {
  auto out = topic_head(info.topic);
  std::string clients = "[";
  for (auto& c : info.clients) {
    if (clients.size() > 1)
      clients += ',';
    clients += R"({"id":)" + std::to_string(c.id);
    if (!c.user.empty())
      clients += R"(,"user":)" + protocol::quote(c.user);
    clients += '}';
  }
  member(out, "clients", clients + "]");
  member(out, "truncated", info.truncated ? "true" : "false");
  return with_nodes(out, info.nodes, info.partial) + "}";
}

std::string presence_stats_body(const presence_counts& counts) {
  auto out = topic_head(counts.topic);
  member(out, "clients", std::to_string(counts.clients));
  member(out, "users", std::to_string(counts.users));
  return with_nodes(out, counts.nodes, counts.partial) + "}";
}

} // namespace switchboard::net
