// The boost::json conveniences of messages.hpp: a value serialised once into
// a request's `data`, and a received `data` parsed back.
#include "switchboard/messages.hpp"

#include <boost/json.hpp>

namespace switchboard {

namespace {

boost::json::value parse_data(const std::string& data) {
  return boost::json::parse(boost::json::string_view{data.data(), data.size()});
}

} // namespace

boost::json::value topic_message::json() const {
  return parse_data(data);
}

boost::json::value service_message::json() const {
  return parse_data(data);
}

boost::json::value history_message::json() const {
  return parse_data(data);
}

publication publication::from_json(std::string topic, const boost::json::value& data) {
  return {std::move(topic), boost::json::serialize(data)};
}

send_direct send_direct::from_json(conn_id to, const boost::json::value& data,
                                   std::string from) {
  return {to, boost::json::serialize(data), std::move(from)};
}

broadcast broadcast::from_json(std::vector<std::string> topics,
                               const boost::json::value& data) {
  return {std::move(topics), boost::json::serialize(data)};
}

send_to_user send_to_user::from_json(std::string user, const boost::json::value& data,
                                     std::string from) {
  return {std::move(user), boost::json::serialize(data), std::move(from)};
}

publish_numbered publish_numbered::from_json(std::string topic,
                                             const boost::json::value& data) {
  return {std::move(topic), boost::json::serialize(data)};
}

} // namespace switchboard
