// The client's token: asked for with getToken() (within the timeout), kept
// with its expiry, and asked for again when it is stale.

import { SwitchboardError } from "./errors.js";
import { refreshDelay, tokenExpiry } from "./policy.js";

/** @typedef {import("./watchdog.js").Clock} Clock */

export class Tokens {
  #getToken;
  #clock;
  #timeout;
  /** @type {string | null} */
  #token = null;
  /** When the token expires (ms since the epoch), null: unknown. */
  expiry = /** @type {number | null} */ (null);
  /** Whether the next connection needs a new token. */
  #stale = true;

  /**
   * @param {() => (string | Promise<string>)} getToken
   * @param {Clock} clock
   * @param {number} timeout ms
   */
  constructor(getToken, clock, timeout) {
    this.#getToken = getToken;
    this.#clock = clock;
    this.#timeout = timeout;
  }

  /** The next connection gets a new token (a 401, close 4001). */
  markStale() {
    this.#stale = true;
  }

  /**
   * The token for a new connection: the one kept, unless it is stale or
   * about to expire. Rejects when getToken() fails.
   * @returns {Promise<string>}
   */
  async forConnect() {
    const expiring = this.expiry !== null && refreshDelay(this.expiry, this.#clock.now()) === 0;
    if (this.#token !== null && !this.#stale && !expiring) return this.#token;
    const token = await this.fetch();
    this.accept(token, tokenExpiry(token));
    return token;
  }

  /**
   * Keeps `token`, which expires at `expiry` (ms; null: unknown).
   * @param {string} token
   * @param {number | null} expiry
   */
  accept(token, expiry) {
    this.#token = token;
    this.expiry = expiry;
    this.#stale = false;
  }

  /**
   * A new token from getToken(), within the timeout.
   * @returns {Promise<string>}
   */
  fetch() {
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(
        () => reject(new SwitchboardError("timeout", "getToken() did not answer")),
        this.#timeout
      );
      Promise.resolve()
        .then(() => this.#getToken())
        .then(
          (token) => {
            this.#clock.clearTimeout(timer);
            if (typeof token === "string" && token !== "") resolve(token);
            else reject(new SwitchboardError("no_token", "getToken() gave no token"));
          },
          (err) => {
            this.#clock.clearTimeout(timer);
            reject(err);
          }
        );
    });
  }
}
