#pragma once

// The `key=value` fields at the end of a log line's message (the format
// switchboard/log_format.hpp describes): writing a value so that it reads
// back as it was, and reading the fields back. Internal.

#include "switchboard/log_text.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard {

/// Whether log_value() writes `value` as it is (unquoted).
bool bare_log_value(std::string_view value);

/// Appends `text` escaped for the inside of a JSON string: `"`, `\` and
/// control characters escaped, bytes that are not UTF-8 as U+FFFD.
void append_json_escaped(std::string& out, std::string_view text);

struct log_fields {
  /// The free text before the fields (the whole message without fields).
  std::string_view msg;
  /// Each field's key and its value (unquoted and unescaped).
  std::vector<std::pair<std::string_view, std::string>> fields;
};

/// Splits a message into its free text and the `key=value` fields that end
/// it (keys: a-z, 0-9 and `_`, starting with a letter or `_`; values bare or
/// JSON string literals; one space before each field). A tail that does not
/// parse as fields stays part of the text.
log_fields split_fields(std::string_view message);

} // namespace switchboard
