// One topic a client wants: subscribed again after every reconnect, with
// recovery from its last offset on topics with history (protocol v1.1).

import { Emitter } from "./emitter.js";
/** @typedef {import("./errors.js").SwitchboardError} SwitchboardError */

/** Errors after which a subscribe is tried again (after a backoff delay). */
const RETRYABLE = new Set(["timeout", "rate_limited", "shutting_down", "unavailable"]);

/**
 * @typedef {import("./client.js").Switchboard} Switchboard
 * @typedef {"unsubscribed" | "subscribing" | "subscribed"} SubscriptionState
 */

/**
 * @extends {Emitter<{
 *   subscribing: {reason: string},
 *   subscribed: {recovering: boolean, recovered: boolean, offset?: number, epoch?: string},
 *   message: {data: any, offset?: number},
 *   join: {id: number, user?: string},
 *   leave: {id: number, user?: string},
 *   error: SwitchboardError,
 *   unsubscribed: {code?: string, reason?: string},
 * }>}
 */
export class Subscription extends Emitter {
  /** The topic's name. */
  topic;
  /** @type {SubscriptionState} */
  #state = "unsubscribed";
  #client;
  #joinLeave;
  /** Position of the last message delivered (history topics only). */
  #offset = /** @type {number | undefined} */ (undefined);
  #epoch = /** @type {string | undefined} */ (undefined);
  #attempt = 0;
  #retryTimer = /** @type {any} */ (null);

  /**
   * Made by Switchboard#subscribe; not to be constructed directly.
   * @param {any} client the private side of the client (see client.js)
   * @param {string} topic
   * @param {{joinLeave?: boolean}} options
   */
  constructor(client, topic, options) {
    super();
    this.topic = topic;
    this.#client = client;
    this.#joinLeave = options.joinLeave === true;
  }

  /** @returns {SubscriptionState} */
  get state() {
    return this.#state;
  }

  /** The last offset seen and its epoch (history topics), for the application to store. */
  get position() {
    return this.#epoch === undefined ? null : { offset: this.#offset, epoch: this.#epoch };
  }

  /** Subscribes again after unsubscribe() or an error. */
  subscribe() {
    if (this.#state !== "unsubscribed") return;
    this.#client.register(this);
    this.#state = "subscribing";
    this._send();
  }

  /** Leaves the topic; no more events but `unsubscribed`. */
  unsubscribe() {
    if (this.#state === "unsubscribed") return;
    this.#client.unregister(this);
    this.#client.fireAndForget({ type: "unsubscribe", topic: this.topic });
    this.#leave({});
  }

  // -- called by the client ------------------------------------------------------------

  /** Sends the subscribe (when connected), with `since` where it can recover. */
  _send() {
    if (this.#state !== "subscribing" || !this.#client.connected()) return;
    this.#client.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    /** @type {Record<string, any>} */
    const frame = { type: "subscribe", topic: this.topic };
    if (this.#joinLeave) frame.join_leave = true;
    const recovering = this.#epoch !== undefined;
    if (recovering) frame.since = { offset: this.#offset, epoch: this.#epoch };
    const connection = this.#client.generation();
    // The reply is taken at once: a replay follows it in the same read, and
    // its messages count only once the subscription is subscribed again.
    this.#client.call(frame, (/** @type {any} */ reply) => this.#subscribed(reply, recovering))
      .catch((/** @type {SwitchboardError} */ err) => this.#failed(err, recovering, connection));
  }

  /** The connection went down: subscribe again on the next one. */
  _connectionLost() {
    if (this.#state === "unsubscribed") return;
    this.#client.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#state = "subscribing";
    this._emit("subscribing", { reason: "connection lost" });
  }

  /** @param {any} msg a `message` frame */
  _message(msg) {
    if (this.#state !== "subscribed") return;
    if (typeof msg.offset === "number") {
      // A replay may overlap what came live before the drop: once only.
      if (this.#offset !== undefined && msg.offset <= this.#offset) return;
      this.#offset = msg.offset;
    }
    this._emit("message", { data: msg.data, offset: msg.offset });
  }

  /** @param {any} msg a `join` or `leave` frame */
  _presence(msg) {
    if (this.#state !== "subscribed") return;
    /** @type {{id: number, user?: string}} */
    const who = { id: msg.id };
    if (msg.user !== undefined) who.user = msg.user;
    this._emit(msg.type, who);
  }

  // -- replies -----------------------------------------------------------------------------

  /**
   * @param {any} reply
   * @param {boolean} recovering
   */
  #subscribed(reply, recovering) {
    if (this.#state !== "subscribing") return;
    this.#attempt = 0;
    const history = typeof reply.epoch === "string";
    const recovered = recovering && history && reply.recovered === true;
    if (!history) {
      this.#offset = this.#epoch = undefined;
    } else if (!recovered) {
      // What was missed cannot be had (or this is the first subscribe):
      // live messages go on from the top.
      this.#offset = reply.offset;
      this.#epoch = reply.epoch;
    }
    this.#state = "subscribed";
    /** @type {{recovering: boolean, recovered: boolean, offset?: number, epoch?: string}} */
    const ctx = { recovering, recovered };
    if (history) Object.assign(ctx, { offset: reply.offset, epoch: reply.epoch });
    this._emit("subscribed", ctx);
  }

  /**
   * @param {SwitchboardError} err
   * @param {boolean} recovering
   * @param {number} connection the client's connection generation when it was sent
   */
  #failed(err, recovering, connection) {
    if (this.#state !== "subscribing") return;
    if (err.code === "disconnected" || connection !== this.#client.generation()) return;
    if (recovering && err.code === "not_enabled") {
      // The topic has no history any more (the node's configuration
      // changed): subscribe plainly; `subscribed` says recovered: false.
      this.#offset = this.#epoch = undefined;
      this._send();
      return;
    }
    this._emit("error", err);
    if (RETRYABLE.has(err.code)) {
      const delay = this.#client.backoff(this.#attempt++);
      this.#retryTimer = this.#client.clock.setTimeout(() => this._send(), delay);
      return;
    }
    this.#client.unregister(this);
    this.#leave({ code: err.code, reason: err.reason });
  }

  /** @param {{code?: string, reason?: string}} why */
  #leave(why) {
    this.#client.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#state = "unsubscribed";
    this.#attempt = 0;
    this._emit("unsubscribed", why);
  }
}
