#pragma once

// The v1.1 commands' parsers (protocol_history.cpp), for protocol.cpp's
// parse(). Not installed.

#include "protocol.hpp"

#include <boost/json/object.hpp>

namespace switchboard::protocol {

/// `subscribe`, with v1.1's optional `since` and `join_leave`.
command subscribe_command(const boost::json::object& obj, request_id id);

/// `history`: `topic`, optional `limit` and `since`.
command history_command(const boost::json::object& obj, request_id id);

/// `presence` (stats false) and `presence_stats`.
command presence_command(const boost::json::object& obj, bool stats, request_id id);

} // namespace switchboard::protocol
