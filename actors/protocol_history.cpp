// Wire protocol v1.1 (docs/protocol.md): history, recovery, presence and
// join/leave: the commands' parsers and the server's frames.

#include "protocol_commands.hpp"

#include <boost/json.hpp>

#include <limits>
#include <optional>

namespace switchboard::protocol {

namespace json = boost::json;

namespace {

// -- parsing ---------------------------------------------------------------------

client_error bad(std::string_view reason, const request_id& id) {
  return reject("bad_request", reason, id);
}

const json::string* valid_topic_member(const json::object& obj) {
  auto v = obj.if_contains("topic");
  auto topic = v ? v->if_string() : nullptr;
  return topic && valid_topic(*topic) ? topic : nullptr;
}

constexpr const char* topic_rule =
  "topic must be a string of 1-256 bytes without control characters";

std::optional<std::uint64_t> non_negative(const json::value* v) {
  if (v == nullptr)
    return std::nullopt;
  if (auto u = v->if_uint64())
    return *u;
  if (auto i = v->if_int64(); i && *i >= 0)
    return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

// `"since":{"offset":N,"epoch":E}`: true and `out` set, or false.
bool since_of(const json::value& v, stream_position& out) {
  auto obj = v.if_object();
  if (obj == nullptr || obj->size() != 2)
    return false;
  auto offset = non_negative(obj->if_contains("offset"));
  auto epoch = obj->if_contains("epoch");
  auto text = epoch ? epoch->if_string() : nullptr;
  if (!offset || text == nullptr || text->size() > max_epoch_size)
    return false;
  out = {*offset, std::string{*text}};
  return true;
}

constexpr const char* since_rule =
  "since must be {\"offset\":N,\"epoch\":E} (N a non-negative integer, E a string of at "
  "most 64 bytes)";

} // namespace

command subscribe_command(const json::object& obj, request_id id) {
  auto topic = valid_topic_member(obj);
  if (!topic)
    return bad(topic_rule, id);
  client_subscribe cmd{std::string{*topic}, std::move(id)};
  if (auto since = obj.if_contains("since")) {
    if (!since_of(*since, cmd.since))
      return bad(since_rule, cmd.id);
    cmd.recover = true;
  }
  if (auto jl = obj.if_contains("join_leave")) {
    if (!jl->is_bool())
      return bad("join_leave must be true or false", cmd.id);
    cmd.join_leave = jl->get_bool();
  }
  return cmd;
}

command history_command(const json::object& obj, request_id id) {
  auto topic = valid_topic_member(obj);
  if (!topic)
    return bad(topic_rule, id);
  client_history cmd{std::string{*topic}, 0, false, {}, std::move(id)};
  // No limit: as many as a history query may give (the hub caps it).
  cmd.limit = std::numeric_limits<std::uint64_t>::max();
  if (auto limit = obj.if_contains("limit")) {
    auto n = non_negative(limit);
    if (!n)
      return bad("limit must be a non-negative integer", cmd.id);
    cmd.limit = *n;
  }
  if (auto since = obj.if_contains("since")) {
    if (!since_of(*since, cmd.since))
      return bad(since_rule, cmd.id);
    cmd.has_since = true;
  }
  return cmd;
}

command presence_command(const json::object& obj, bool stats, request_id id) {
  auto topic = valid_topic_member(obj);
  if (!topic)
    return bad(topic_rule, id);
  return client_presence{std::string{*topic}, stats, std::move(id)};
}

// -- frames ------------------------------------------------------------------------

namespace {

std::string with_id(std::string frame, const request_id& id) {
  if (!id.empty()) {
    frame += R"(,"id":)";
    frame += id;
  }
  frame += '}';
  return frame;
}

// A presence answer in a cluster says how many nodes it covers and whether
// one did not answer (not clustered: nothing, the single-node shape).
void append_nodes(std::string& out, std::uint64_t nodes, bool partial) {
  if (nodes == 0)
    return;
  out += R"(,"nodes":)" + std::to_string(nodes);
  out += partial ? R"(,"partial":true)" : R"(,"partial":false)";
}

void append_position(std::string& out, const stream_position& top) {
  out += R"(,"offset":)";
  out += std::to_string(top.offset);
  out += R"(,"epoch":)";
  out += quote(top.epoch);
}

std::string head(const char* type, std::string_view quoted_topic) {
  std::string frame = R"({"type":")";
  frame += type;
  frame += R"(","topic":)";
  frame += quoted_topic;
  return frame;
}

constexpr std::string_view message_head = R"({"type":"message","topic":)";
constexpr std::string_view offset_mid = R"(,"offset":)";
constexpr std::string_view data_mid = R"(,"data":)";

void append_message(std::string& out, std::string_view quoted_topic, std::uint64_t offset,
                    std::string_view data) {
  out += message_head;
  out += quoted_topic;
  out += offset_mid;
  out += std::to_string(offset);
  out += data_mid;
  out += data;
  out += '}';
}

// The payload size of append_message(...), without building it.
std::size_t message_size(std::string_view quoted_topic, std::uint64_t offset,
                         std::string_view data) {
  return message_head.size() + quoted_topic.size() + offset_mid.size()
         + std::to_string(offset).size() + data_mid.size() + data.size() + 1;
}

} // namespace

frame_ptr message_frame(std::string_view quoted_topic, std::uint64_t offset,
                        std::string_view data, stamped_frame::time_point framed_at) {
  auto size = message_size(quoted_topic, offset, data);
  std::string bytes;
  bytes.reserve(size + 10);
  text_header(size, bytes);
  append_message(bytes, quoted_topic, offset, data);
  return std::make_shared<const stamped_frame>(std::move(bytes), framed_at);
}

frame_ptr replay_frames(std::string_view quoted_topic,
                        const std::vector<history_message>& messages) {
  std::string bytes;
  for (auto& m : messages) {
    text_header(message_size(quoted_topic, m.offset, m.data), bytes);
    append_message(bytes, quoted_topic, m.offset, m.data);
  }
  auto frame = std::make_shared<const stamped_frame>(std::move(bytes));
  // A transport encodes a buffer as one message (compression): this one
  // holds several, so it goes out as it is (uncompressed messages are fine
  // on any connection).
  frame->keep_encoded(nullptr);
  return frame;
}

std::string subscribed(std::string_view quoted_topic, const stream_position& top,
                       int recovered, const request_id& id) {
  auto frame = head("subscribed", quoted_topic);
  append_position(frame, top);
  if (recovered != 0)
    frame += recovered == 2 ? R"(,"recovered":true)" : R"(,"recovered":false)";
  return with_id(std::move(frame), id);
}

std::string history(std::string_view quoted_topic, const stream_position& top,
                    const std::vector<history_message>& messages, const request_id& id,
                    bool truncated) {
  auto frame = head("history", quoted_topic);
  append_position(frame, top);
  frame += R"(,"messages":[)";
  for (auto& m : messages) {
    if (frame.back() != '[')
      frame += ',';
    frame += R"({"offset":)";
    frame += std::to_string(m.offset);
    frame += R"(,"data":)";
    frame += m.data;
    frame += '}';
  }
  frame += ']';
  if (truncated)
    frame += R"(,"truncated":true)";
  return with_id(std::move(frame), id);
}

namespace {

void append_client(std::string& out, conn_id conn, const std::string& user) {
  out += R"("id":)";
  out += std::to_string(conn);
  if (!user.empty()) {
    out += R"(,"user":)";
    out += quote(user);
  }
}

} // namespace

std::string presence(std::string_view quoted_topic, const presence_info& info,
                     const request_id& id) {
  auto frame = head("presence", quoted_topic);
  frame += R"(,"clients":[)";
  for (auto& c : info.clients) {
    if (frame.back() != '[')
      frame += ',';
    frame += '{';
    append_client(frame, c.id, c.user);
    frame += '}';
  }
  frame += info.truncated ? R"(],"truncated":true)" : R"(],"truncated":false)";
  append_nodes(frame, info.nodes, info.partial);
  return with_id(std::move(frame), id);
}

std::string presence_stats(std::string_view quoted_topic, const presence_counts& counts,
                           const request_id& id) {
  auto frame = head("presence_stats", quoted_topic);
  frame += R"(,"clients":)" + std::to_string(counts.clients);
  frame += R"(,"users":)" + std::to_string(counts.users);
  append_nodes(frame, counts.nodes, counts.partial);
  return with_id(std::move(frame), id);
}

std::string join_leave(bool join, std::string_view quoted_topic, conn_id conn,
                       const std::string& user) {
  auto frame = head(join ? "join" : "leave", quoted_topic);
  frame += ',';
  append_client(frame, conn, user);
  frame += '}';
  return frame;
}

} // namespace switchboard::protocol
