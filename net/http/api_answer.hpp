#pragma once

// The server API's answers (docs/api.md) as pure functions of the hub's
// reply: the JSON body and the status, errors included.

#include "http/api_route.hpp"

#include <caf/error.hpp>

#include <string>
#include <variant>

namespace switchboard::net {

/// What the hub answered to an api_call: a value of the call's reply type
/// (api_reply_t), or an error (its own, or the request's: a timeout, a hub
/// that is gone).
using api_reply = std::variant<caf::error, std::uint64_t, bool, delivery_counts, topic_list,
                               topic_info, connection_info, publish_result, history_page,
                               stream_position, presence_info, presence_counts>;

// The v1.1 answers (api_history_answer.cpp): the JSON body of each.
std::string publish_body(const publish_result& r);
std::string history_body(const history_page& page);
std::string position_body(const std::string& topic, const stream_position& pos);
std::string presence_body(const presence_info& info);
std::string presence_stats_body(const presence_counts& counts);

/// What the answers need to know of the node's cluster (docs/cluster.md).
struct api_cluster_view {
  bool clustered = false;
  std::uint16_t tag = 0; ///< the node's tag in its connection ids
};

/// The answer to `req` (only its version, keep-alive and method count),
/// which asked for `call` and got `reply`: 200 with a JSON body; 404 for an
/// unknown connection, user or topic; 400 for what the hub refused as
/// invalid; 503 when the hub is stopping, gone or did not answer in time.
/// On a clustered node (docs/api.md, "On a cluster") the answers to sends
/// and disconnects say whether they were forwarded to other nodes, and a
/// user without connections on this node is no 404.
http_response api_answer(const http_request& req, const api_call& call,
                         const api_reply& reply, api_cluster_view cluster = {});

/// The answer to an /api request the parser refused (413 for a body over
/// the limit, 431, 400) as a JSON error; the connection closes after it.
http_response api_parse_error_response(boost::beast::error_code ec);

} // namespace switchboard::net
