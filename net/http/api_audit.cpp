#include "http/api_audit.hpp"

#include "log_fields.hpp"

#include <spdlog/logger.h>

namespace switchboard::net {

namespace {

/// The longest route an audit line repeats: a path is the client's to
/// choose, and a log line must stay a line.
constexpr std::size_t max_route_size = 256;

struct target_of {
  std::string operator()(const publish_numbered& x) const { return topic(x.topic); }
  std::string operator()(const broadcast& x) const {
    return "topics=" + std::to_string(x.topics.size());
  }
  std::string operator()(const send_direct& x) const { return connection(x.to); }
  std::string operator()(const send_to_user& x) const { return user(x.user); }
  std::string operator()(const close_connection& x) const { return connection(x.conn); }
  std::string operator()(const disconnect_user& x) const { return user(x.user); }
  std::string operator()(const query_topics&) const { return {}; }
  std::string operator()(const query_topic& x) const { return topic(x.name); }
  std::string operator()(const query_connection& x) const { return connection(x.conn); }
  std::string operator()(const query_history& x) const { return topic(x.topic); }
  std::string operator()(const remove_history& x) const { return topic(x.topic); }
  std::string operator()(const query_presence& x) const { return topic(x.topic); }
  std::string operator()(const query_presence_stats& x) const { return topic(x.topic); }

  static std::string topic(const std::string& name) { return "topic=" + log_value(name); }
  static std::string user(const std::string& name) { return "user=" + log_value(name); }
  static std::string connection(conn_id id) { return "connection=" + std::to_string(id); }
};

} // namespace

std::string audit_target(const api_call& call) {
  return std::visit(target_of{}, call);
}

std::string audit_line(const api_audit_entry& e) {
  auto path = e.target.substr(0, e.target.find('?')).substr(0, max_route_size);
  auto method = boost::beast::http::to_string(e.method);
  std::string line = "api call key=";
  line += e.caller.empty() ? std::string{"-"} : log_value(e.caller);
  line += " remote=" + log_value(e.remote);
  line += " method=" + log_value({method.data(), method.size()});
  line += " route=" + log_value(path);
  line += " status=" + std::to_string(e.status);
  if (!e.fields.empty()) {
    line += ' ';
    line += e.fields;
  }
  return line;
}

void log_api_call(spdlog::logger& log, const api_audit_entry& entry) {
  if (log.should_log(spdlog::level::info))
    log.info("{}", audit_line(entry));
}

} // namespace switchboard::net
