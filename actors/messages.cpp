#include "switchboard/messages.hpp"

#include "cluster/cluster_messages.hpp"

namespace switchboard {

// -- exit reasons -------------------------------------------------------------------

caf::error make_error(exit_code x) {
  // A code off the list (0 above all, which CAF reads as "no error", i.e. a
  // normal exit that links do not pass on) would leave the partner actor and
  // its socket alive: name it a socket_error.
  auto code = static_cast<std::uint8_t>(x);
  if (code < 1 || code > static_cast<std::uint8_t>(exit_code::token_expired))
    code = static_cast<std::uint8_t>(exit_code::socket_error);
  return {code, exit_category};
}

const char* to_string(exit_code x) {
  switch (x) {
    case exit_code::socket_closed:
      return "socket_closed";
    case exit_code::socket_error:
      return "socket_error";
    case exit_code::heartbeat_timeout:
      return "heartbeat_timeout";
    case exit_code::slow_consumer:
      return "slow_consumer";
    case exit_code::protocol_error:
      return "protocol_error";
    case exit_code::shutdown:
      return "shutdown";
    case exit_code::rate_limited:
      return "rate_limited";
    case exit_code::hub_down:
      return "hub_down";
    case exit_code::disconnected:
      return "disconnected";
    case exit_code::slow_listener:
      return "slow_listener";
    case exit_code::token_expired:
      return "token_expired";
  }
  return "unknown";
}

exit_code exit_code_of(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal)
    return exit_code::shutdown;
  if (reason.category() == exit_category && reason.code() >= 1
      && reason.code() <= static_cast<std::uint8_t>(exit_code::token_expired))
    return static_cast<exit_code>(reason.code());
  return exit_code::socket_error;
}

// -- request errors ------------------------------------------------------------------

caf::error make_error(hub_errc x) {
  return {static_cast<std::uint8_t>(x), hub_error_category};
}

const char* to_string(hub_errc x) {
  switch (x) {
    case hub_errc::invalid_topic:
      return "invalid_topic";
    case hub_errc::invalid_data:
      return "invalid_data";
    case hub_errc::invalid_argument:
      return "invalid_argument";
    case hub_errc::limit_exceeded:
      return "limit_exceeded";
    case hub_errc::shutting_down:
      return "shutting_down";
    case hub_errc::not_found:
      return "not_found";
    case hub_errc::not_enabled:
      return "not_enabled";
    case hub_errc::unavailable:
      return "unavailable";
  }
  return "unknown";
}

const char* to_string(access x) {
  return x == access::publish ? "publish" : "subscribe";
}

// -- registration ---------------------------------------------------------------------

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
    exit_category, [](std::uint8_t code, caf::atom_value, const caf::message&) {
      return std::string{"switchboard::"} + to_string(static_cast<exit_code>(code));
    });
  cfg.add_error_category(
    hub_error_category, [](std::uint8_t code, caf::atom_value, const caf::message&) {
      return std::string{"switchboard::"} + to_string(static_cast<hub_errc>(code));
    });
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<topic_message>("switchboard::topic_message");
  cfg.add_message_type<service_message>("switchboard::service_message");
  cfg.add_message_type<connection_event>("switchboard::connection_event");
  cfg.add_message_type<access_request>("switchboard::access_request");
  cfg.add_message_type<upgrade_request>("switchboard::upgrade_request");
  cfg.add_message_type<upgrade_verdict>("switchboard::upgrade_verdict");
  cfg.add_message_type<publication>("switchboard::publication");
  cfg.add_message_type<send_direct>("switchboard::send_direct");
  cfg.add_message_type<add_listener>("switchboard::add_listener");
  cfg.add_message_type<remove_listener>("switchboard::remove_listener");
  cfg.add_message_type<add_service>("switchboard::add_service");
  cfg.add_message_type<remove_service>("switchboard::remove_service");
  cfg.add_message_type<add_observer>("switchboard::add_observer");
  cfg.add_message_type<remove_observer>("switchboard::remove_observer");
  cfg.add_message_type<close_connection>("switchboard::close_connection");
  cfg.add_message_type<set_authorizer>("switchboard::set_authorizer");
  cfg.add_message_type<query_stats>("switchboard::query_stats");
  cfg.add_message_type<hub_stats>("switchboard::hub_stats");
  cfg.add_message_type<broadcast>("switchboard::broadcast");
  cfg.add_message_type<delivery_counts>("switchboard::delivery_counts");
  cfg.add_message_type<send_to_user>("switchboard::send_to_user");
  cfg.add_message_type<disconnect_user>("switchboard::disconnect_user");
  cfg.add_message_type<query_topics>("switchboard::query_topics");
  cfg.add_message_type<query_topic>("switchboard::query_topic");
  cfg.add_message_type<query_connection>("switchboard::query_connection");
  cfg.add_message_type<topic_info>("switchboard::topic_info");
  cfg.add_message_type<topic_list>("switchboard::topic_list");
  cfg.add_message_type<connection_info>("switchboard::connection_info");
  cfg.add_message_type<stream_position>("switchboard::stream_position");
  cfg.add_message_type<history_message>("switchboard::history_message");
  cfg.add_message_type<publish_numbered>("switchboard::publish_numbered");
  cfg.add_message_type<publish_result>("switchboard::publish_result");
  cfg.add_message_type<query_history>("switchboard::query_history");
  cfg.add_message_type<history_page>("switchboard::history_page");
  cfg.add_message_type<remove_history>("switchboard::remove_history");
  cfg.add_message_type<query_presence>("switchboard::query_presence");
  cfg.add_message_type<presence_info>("switchboard::presence_info");
  cfg.add_message_type<query_presence_stats>("switchboard::query_presence_stats");
  cfg.add_message_type<presence_counts>("switchboard::presence_counts");
  // A cluster's nodes must all know what crosses between them (unknown
  // types arrive empty, and their error would kill the sender).
  add_cluster_message_types(cfg);
}

} // namespace switchboard
