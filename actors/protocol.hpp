#pragma once

// Wire protocol v1.1 (docs/protocol.md): parsing client frames and building
// server frames. Pure functions, no actors and no sockets. Not installed.

#include "commands.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace switchboard::protocol {

// -- limits -------------------------------------------------------------------

constexpr std::size_t max_topic_size = 256;

/// 1-256 bytes, no control characters (U+0000-U+001F, U+007F).
bool valid_topic(std::string_view topic);

/// Whether `text` is one JSON value (what `data` may hold).
bool valid_json(std::string_view text);

/// Whether `text` is valid UTF-8.
bool valid_utf8(std::string_view text);

/// 1-64 bytes of [A-Za-z0-9._-].
bool valid_service_name(std::string_view name);

constexpr std::size_t max_user_size = 256;

/// A user id as the hub indexes it: 1-256 bytes (any, as an authenticator
/// named it).
bool valid_user(std::string_view user);

/// Whether an application may close a connection with `code` (RFC 6455
/// 7.4: 1000-1003, 1007-1011, 3000-4999).
bool valid_close_code(std::uint16_t code);

// -- client -> server -----------------------------------------------------------

/// One parsed client frame: a command for the hub, or the error frame to send
/// back when the frame is not a valid command.
using command = std::variant<client_subscribe, client_unsubscribe,
                             client_publish, client_send, client_refresh, client_error,
                             client_history, client_presence>;

/// Parses one client text frame. Never throws.
command parse(std::string_view text);

/// The raw text of the top-level members `id` and `data` of a JSON object
/// (empty when absent), and whether any member name appears twice.
struct raw_members {
  std::string_view id;
  std::string_view data;
  bool duplicate = false;
};

/// Scans `object_text`, a JSON object that Boost.JSON accepted (on other
/// text the result means nothing). Boost.JSON re-serializes numbers in its
/// own spelling; these spans keep the sender's bytes.
raw_members scan_members(std::string_view object_text);

// -- frames ---------------------------------------------------------------------

/// Appends the header of an unmasked, final server text frame carrying
/// `payload_size` bytes (RFC 6455 5.2).
void text_header(std::size_t payload_size, std::string& out);

/// The complete frame of a text message.
frame_ptr make_frame(std::string_view payload);

/// The payload of a frame built by make_frame.
std::string_view payload_of(std::string_view frame);

// -- server -> client -----------------------------------------------------------

/// A JSON string literal (with quotes) holding `str`.
std::string quote(std::string_view str);

/// `ping`: the node's ping interval, announced as `"ping":SECONDS` (with a
/// fraction below a second: 0.5); zero or less: left out.
std::string welcome(conn_id id, caf::timespan ping = {});
/// `quoted_topic` is the result of quote(topic): a topic is quoted once.
std::string subscribed(std::string_view quoted_topic, const request_id& id);
std::string unsubscribed(std::string_view quoted_topic, const request_id& id);
std::string message(std::string_view quoted_topic, std::string_view data);
/// message(...) as a complete frame, built in one allocation (the fan-out's),
/// stamped with `framed_at` (the publish-to-write latency starts there).
frame_ptr message_frame(std::string_view quoted_topic, std::string_view data,
                        stamped_frame::time_point framed_at = {});
std::string direct(conn_id from, std::string_view data);
/// A direct message from a named sender (`quoted_from` is quote(name)).
std::string direct(std::string_view quoted_from, std::string_view data);
std::string ack(const request_id& id);
/// The answer to a refresh: `{"type":"refreshed","expires":UNIX_SECONDS}`,
/// the seconds rounded down; without `expires` when the new credentials do
/// not expire.
std::string refreshed(const caf::optional<caf::timestamp>& expires, const request_id& id);
/// The answer to `{"type":"ping"}`.
std::string pong(const request_id& id);
/// `code` names the error (docs/protocol.md, Errors).
std::string error(std::string_view code, std::string_view reason,
                  const request_id& id);

// -- v1.1: history and presence (protocol_history.cpp) -------------------------

/// The longest epoch a client may name (ours are 16 hex digits).
constexpr std::size_t max_epoch_size = 64;

/// message(...) with the message's offset in its topic's history.
frame_ptr message_frame(std::string_view quoted_topic, std::uint64_t offset,
                        std::string_view data, stamped_frame::time_point framed_at = {});
/// The frames of `messages` (a replay), back to back in one buffer that
/// takes one place in the connection's queue; never compressed.
frame_ptr replay_frames(std::string_view quoted_topic,
                        const std::vector<history_message>& messages);
/// subscribed(...) on a topic with history; `recovered` only for a
/// subscribe with `since` (0: no, 1: false, 2: true).
std::string subscribed(std::string_view quoted_topic, const stream_position& top,
                       int recovered, const request_id& id);
std::string history(std::string_view quoted_topic, const stream_position& top,
                    const std::vector<history_message>& messages, const request_id& id,
                    bool truncated = false);
std::string presence(std::string_view quoted_topic, const presence_info& info,
                     const request_id& id);
std::string presence_stats(std::string_view quoted_topic, const presence_counts& counts,
                           const request_id& id);
/// `{"type":"join"|"leave","topic":T,"id":ID[,"user":U]}`.
std::string join_leave(bool join, std::string_view quoted_topic, conn_id conn,
                       const std::string& user);

/// error(...) wrapped as the reader's rejection of a frame.
client_error reject(std::string_view code, std::string_view reason,
                    const request_id& id = {});

} // namespace switchboard::protocol
