#pragma once

/// How a node's log lines can be written and read (docs/operations.md,
/// Logging). A line's message is free text followed by `key=value` fields
/// (a value with a space, `"`, `=`, `\` or a control character is quoted
/// and escaped as a JSON string), e.g.
///   api call key=deploy remote=10.0.0.7 method=POST route=/api/publish status=200 topic=news
/// The JSON formatter turns each line into one JSON object with the same
/// members everywhere: `time`, `level`, `logger`, `msg` and the fields.

#include <caf/error.hpp>

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace switchboard {

/// An spdlog formatter that writes each line as one JSON object and a
/// newline: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `msg`
/// (the free text), then each `key=value` field of the message as a member
/// of its own (a string; a field named like one of the four gets a `_`
/// prefix). A message whose tail is not made of such fields is `msg` whole.
/// Output is valid JSON and UTF-8 whatever the message holds: control
/// characters are escaped, bytes that are not UTF-8 become U+FFFD.
std::unique_ptr<spdlog::formatter> make_json_log_formatter();

/// `value` as a field's value in a log line: as it is when it is non-empty
/// printable ASCII without `"`, `=` and `\`; otherwise a JSON string
/// literal (quoted, escaped, bytes that are not UTF-8 replaced by U+FFFD),
/// which the JSON formatter reads back.
std::string log_value(std::string_view value);

/// An error as a log line shows it: `category.code` by name (`sec.`
/// for CAF's system errors, `exit.` for exit reasons, `switchboard.` for
/// exit_code and hub_errc), then `: ` and its context when it has one
/// (strings as they are, other values as CAF prints them, joined by `; `).
/// `none` for no error. Needs no actor system.
std::string describe_error(const caf::error& err);

} // namespace switchboard
