#pragma once

/// The JSON lines format of a node's log (docs/operations.md, Logging):
/// each line one JSON object with the same members everywhere: `time`,
/// `level`, `logger`, `msg` and the line's `key=value` fields
/// (log_text.hpp).

#include "switchboard/log_text.hpp"

#include <spdlog/formatter.h>

#include <memory>

namespace switchboard {

/// An spdlog formatter that writes each line as one JSON object and a
/// newline: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `msg`
/// (the free text), then each `key=value` field of the message as a member
/// of its own (a string; a field named like one of the four gets a `_`
/// prefix). A message whose tail is not made of such fields is `msg` whole.
/// Output is valid JSON and UTF-8 whatever the message holds: control
/// characters are escaped, bytes that are not UTF-8 become U+FFFD.
std::unique_ptr<spdlog::formatter> make_json_log_formatter();

} // namespace switchboard
