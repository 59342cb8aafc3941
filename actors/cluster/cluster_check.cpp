#include "cluster/cluster_check.hpp"

#include "hub/hub_state.hpp"
#include "hub/id_source.hpp"
#include "protocol.hpp"

#include <algorithm>
#include <cstdlib>

namespace switchboard {

namespace {

bool valid_id(conn_id id) {
  return id < id_source::limit;
}

bool valid_target(conn_id id) {
  return id != 0 && valid_id(id);
}

bool valid_sender(const std::string& sender) {
  return sender.size() <= max_sender_size && protocol::valid_utf8(sender);
}

// Data that goes into frames: no larger than a client could send, and one
// JSON value (checked last: it costs the most).
wire_fault check_data(const std::string& data, std::size_t max_data) {
  if (data.size() > max_data)
    return wire_fault::size;
  return protocol::valid_json(data) ? wire_fault::none : wire_fault::data;
}

// A message for connections (from a connection or a named sender): what
// send_direct and send_to_user check, and the ids they carry.
wire_fault check_message(const cluster_item& item, std::size_t max_data) {
  if (!valid_id(item.from))
    return wire_fault::id;
  if (!valid_sender(item.sender))
    return wire_fault::sender;
  return check_data(item.data, max_data);
}

} // namespace

const char* to_string(wire_fault x) {
  switch (x) {
    case wire_fault::none:
      return "none";
    case wire_fault::kind:
      return "unknown item kind";
    case wire_fault::topic:
      return "invalid topic";
    case wire_fault::user:
      return "invalid user";
    case wire_fault::data:
      return "data is not one JSON value";
    case wire_fault::size:
      return "data larger than max-message-size";
    case wire_fault::close:
      return "invalid close code or reason";
    case wire_fault::id:
      return "invalid connection id";
    case wire_fault::sender:
      return "invalid sender name";
  }
  return "unknown";
}

bool valid_wire_topic(std::string_view topic) {
  return protocol::valid_topic(topic) && protocol::valid_utf8(topic);
}

wire_fault check_item(const cluster_item& item, std::size_t max_data) {
  switch (item.kind) {
    case cluster_item::interest_on:
    case cluster_item::interest_off:
      return valid_wire_topic(item.topic) ? wire_fault::none : wire_fault::topic;
    case cluster_item::publish:
      if (!valid_wire_topic(item.topic))
        return wire_fault::topic;
      if (!valid_id(item.from))
        return wire_fault::id;
      return check_data(item.data, max_data);
    case cluster_item::numbered_publish:
      if (!valid_wire_topic(item.topic))
        return wire_fault::topic;
      if (!valid_id(item.from) || item.to == 0)
        return wire_fault::id;
      if (item.sender.empty() || !valid_sender(item.sender))
        return wire_fault::sender;
      return check_data(item.data, max_data);
    case cluster_item::direct:
      if (!valid_target(item.to))
        return wire_fault::id;
      return check_message(item, max_data);
    case cluster_item::user_send:
      if (!protocol::valid_user(item.topic))
        return wire_fault::user;
      return check_message(item, max_data);
    case cluster_item::user_disconnect:
      if (!protocol::valid_user(item.topic))
        return wire_fault::user;
      return valid_close(item.code, item.data) ? wire_fault::none : wire_fault::close;
    case cluster_item::member_join:
    case cluster_item::member_leave:
    case cluster_item::member_sync:
      if (!valid_wire_topic(item.topic))
        return wire_fault::topic;
      if (!valid_target(item.from))
        return wire_fault::id;
      return item.sender.empty() || protocol::valid_user(item.sender) ? wire_fault::none
                                                                      : wire_fault::user;
    case cluster_item::close:
      if (!valid_target(item.to))
        return wire_fault::id;
      return valid_close(item.code, item.data) ? wire_fault::none : wire_fault::close;
  }
  return wire_fault::kind;
}

std::pair<std::string, std::uint16_t> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return {address, 0};
  auto digits = address.substr(colon + 1);
  auto all_digits = !digits.empty() && digits.size() <= 5
                    && std::all_of(digits.begin(), digits.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
  auto port = all_digits ? std::strtoul(digits.c_str(), nullptr, 10) : 0;
  if (port == 0 || port > 65535)
    return {address.substr(0, colon), 0};
  return {address.substr(0, colon), static_cast<std::uint16_t>(port)};
}

bool valid_peer_address(const std::string& address) {
  auto [host, port] = split_address(address);
  return port != 0 && !host.empty() && host.size() <= 255
         && std::all_of(host.begin(), host.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

} // namespace switchboard
