/**
 * An error with the node's code (`forbidden`, `not_enabled`, `bad_request`,
 * ...) or one of the client's own: `timeout` (no answer within the
 * `timeout` option), `disconnected` (the connection went down before the
 * answer came, or the client is not connecting at all), `unsubscribed`.
 */
export class SwitchboardError extends Error {
  /**
   * @param {string} code
   * @param {string} [reason]
   */
  constructor(code, reason = "") {
    super(reason ? `${code}: ${reason}` : code);
    this.name = "SwitchboardError";
    /** @type {string} */
    this.code = code;
    /** @type {string} */
    this.reason = reason;
  }
}
