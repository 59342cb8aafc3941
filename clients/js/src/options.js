// The client's options and their defaults.

/** @typedef {import("./watchdog.js").Clock} Clock */

/**
 * @typedef {object} Options
 * @property {() => (string | Promise<string>)} [getToken] called before
 *   connecting (and again before the token's `exp`, after a refused upgrade
 *   and after close 4001); the token goes into the URL as `?token=`
 * @property {number} [minReconnectDelay] ms, default 500
 * @property {number} [maxReconnectDelay] ms, default 20000
 * @property {number} [timeout] ms for a command's reply, the welcome and getToken(), default 5000
 * @property {number} [maxPingDelay] ms a ping (or a probe's answer) may be late, default 10000
 * @property {any} [websocket] a WebSocket constructor (Node: `ws`'s); default globalThis.WebSocket
 * @property {Clock} [clock] time and timers (tests)
 * @property {() => number} [random] uniform in [0, 1) (tests)
 */

export const DEFAULTS = {
  minReconnectDelay: 500,
  maxReconnectDelay: 20000,
  timeout: 5000,
  maxPingDelay: 10000,
};

/** Timers longer than this fire at once in browsers and Node. */
export const MAX_TIMER = 2 ** 31 - 1;

/** @type {Clock} */
export const SYSTEM_CLOCK = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
};

