// The reconnect policy as pure functions: which closes reconnect, how long
// to wait before the next attempt, when to refresh a token.

/** Close codes the client reports for what it decided itself (no WebSocket close code is below 1000). */
export const LOCAL_CODES = Object.freeze({
  /** Nothing (no ping, no message, no answer to a probe) arrived in time. */
  NO_PING: 1,
  /** No welcome within `timeout` of opening the socket. */
  CONNECT_TIMEOUT: 2,
  /** `getToken()` failed or gave no token. */
  NO_TOKEN: 3,
});

/**
 * Whether a connection closed with `code` is opened again (docs: the
 * reconnect table in README.md and docs/protocol.md).
 * @param {number} code
 * @returns {boolean}
 */
export function reconnects(code) {
  // The server or the application ended the session on purpose
  // (/api/disconnect without a code): coming back would undo it.
  if (code === 1000) return false;
  // The client sent what the node cannot take (a protocol error, data it
  // does not accept, invalid UTF-8, a message too large): it would again.
  if (code === 1002 || code === 1003 || code === 1007 || code === 1009) return false;
  // Application codes: 3500-3999 and 4500-4999 mean "do not come back",
  // 3000-3499 and 4000-4499 (4001 token expired included) "come back".
  if ((code >= 3500 && code <= 3999) || (code >= 4500 && code <= 4999)) return false;
  // Going away (server shutdown, heartbeat timeout), a lost network (1006),
  // a policy close (slow consumer, rate limited), a server error (hub down),
  // service restart, try again later, and the client's own local codes.
  return true;
}

/**
 * The wait before reconnect attempt `attempt` (0 for the first one after a
 * drop): full jitter, uniform between `min` and a ceiling that doubles with
 * every attempt, from 2 * min up to `max`.
 * @param {number} attempt
 * @param {number} min milliseconds
 * @param {number} max milliseconds
 * @param {() => number} random uniform in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, min, max, random) {
  const ceiling = Math.min(max, min * 2 ** (attempt + 1));
  return min + random() * (ceiling - min);
}

/**
 * When to refresh a token that expires at `expiresAt`, seen at `now` (both
 * in milliseconds since the epoch): once four fifths of its remaining life
 * have passed, so that a slow getToken() still has time before the node
 * closes the connection (close 4001 at exp, plus the node's leeway).
 * @param {number} expiresAt
 * @param {number} now
 * @returns {number} the delay in milliseconds from `now`
 */
export function refreshDelay(expiresAt, now) {
  return Math.max(0, Math.floor((expiresAt - now) * 0.8));
}

/**
 * The `exp` claim of a JSON Web Token in milliseconds since the epoch, or
 * null when the token is not a JWT or has none. Not verified: the node does
 * that; the client only needs to know when to ask for a new one.
 * @param {string} token
 * @returns {number | null}
 */
export function tokenExpiry(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
    const claims = JSON.parse(decodeBase64(padded));
    return typeof claims.exp === "number" ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** @param {string} b64 */
function decodeBase64(b64) {
  const binary = atob(b64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
