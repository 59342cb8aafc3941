#pragma once

// The web console's routes under /console (docs/console.md): its pages and
// files (console_assets.hpp), the login and the logout. A function of the
// request and the node's console_auth: http_session writes the answer.
// Internal to net/.

#include "admission/admission_table.hpp"
#include "auth/console_auth.hpp"
#include "http/http_route.hpp"
#include "io/io_types.hpp"

namespace switchboard::net {

/// The answer to a request under /console: 404 without a console (`auth`
/// null); the console's page for a logged-in browser (a login page
/// otherwise); its files; `POST /console/login` (form field `password`:
/// 200 with the session cookie, 401, or 429 while `from` is throttled);
/// `POST /console/logout`. `tls`: the node speaks https (the cookie is
/// then Secure, and Origin checks expect https://).
http_response console_answer(const http_request& req, console_auth* auth,
                             const address_key& from, bool tls);

/// The throttle key of the client on `socket` (all zero once it is gone).
address_key peer_key(const socket_type& socket);

} // namespace switchboard::net
