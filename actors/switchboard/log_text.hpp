#pragma once

/// Log lines a pipeline can read (docs/operations.md, Logging): a line's
/// message is free text followed by `key=value` fields, e.g.
///   api call key=deploy remote=10.0.0.7 method=POST route=/api/publish status=200 topic=news
/// These write a field's value and an error so that the fields read back
/// as they were (log_format.hpp's JSON formatter turns them into members).

#include <caf/error.hpp>

#include <string>
#include <string_view>

namespace switchboard {

/// `value` as a field's value in a log line: as it is when it is non-empty
/// printable ASCII without `"`, `=` and `\`; otherwise a JSON string
/// literal (quoted, escaped, bytes that are not UTF-8 replaced by U+FFFD).
std::string log_value(std::string_view value);

/// An error as a log line shows it: `category.code` by name (`sec.`
/// for CAF's system errors, `exit.` for exit reasons, `pec.` for its
/// parser's (options, config files), `switchboard.` for
/// exit_code and hub_errc), then `: ` and its context when it has one
/// (strings as they are, other values as CAF prints them, joined by `; `).
/// `none` for no error. Needs no actor system.
std::string describe_error(const caf::error& err);

} // namespace switchboard
