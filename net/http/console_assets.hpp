#pragma once

// The web console's static files, compiled into the node: CMake generates
// console_assets.cpp at build time from console/ and the JavaScript client
// (clients/js/src/) with cmake/embed_files.cmake; no node or npm involved.
// Internal to net/.

#include <string_view>

namespace switchboard::net {

struct console_asset {
  std::string_view path; ///< under /console/, e.g. "app.js", "lib/client.js"
  std::string_view content_type;
  std::string_view body;
};

/// The file served at /console/`path`, or null.
const console_asset* find_console_asset(std::string_view path);

} // namespace switchboard::net
