#pragma once

// Percent-decoding (RFC 3986) of URL parts: the server API's paths and
// query parameters, the JWT authenticator's ?token=. Internal to net/.

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::net {

/// Percent-decodes `text` (with `plus_is_space`, '+' is a space, as in a
/// form-encoded query string); none when an escape is malformed.
std::optional<std::string> url_decode(std::string_view text, bool plus_is_space);

} // namespace switchboard::net
