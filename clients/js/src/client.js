// The connection: connects, reconnects with backoff, answers token expiry,
// notices a dead connection, and correlates commands with their replies.

import { Emitter } from "./emitter.js";
import { DEFAULTS, MAX_TIMER, SYSTEM_CLOCK } from "./options.js";
import { SwitchboardError } from "./errors.js";
import { Pending } from "./pending.js";
import { LOCAL_CODES, backoffDelay, reconnects, refreshDelay, tokenExpiry } from "./policy.js";
import { Subscription } from "./subscription.js";
import { Tokens } from "./tokens.js";
import { Watchdog } from "./watchdog.js";

/** @typedef {import("./watchdog.js").Clock} Clock */
/** @typedef {"disconnected" | "connecting" | "connected"} State */

/** @typedef {import("./options.js").Options} Options */

/**
 * A client of a switchboard node.
 * @extends {Emitter<{
 *   connecting: {attempt: number},
 *   connected: {id: number, ping?: number},
 *   disconnected: {code: number, reason: string, reconnect: boolean},
 *   error: Error,
 *   direct: {from: number | string, data: any},
 * }>}
 */
export class Switchboard extends Emitter {
  #url;
  #opts;
  #clock;
  #random;
  #Socket;
  /** @type {State} */
  #state = "disconnected";
  /** Whether the application wants to be connected (connect() until disconnect()). */
  #wanted = false;
  #ws = /** @type {any} */ (null);
  #id = /** @type {number | null} */ (null);
  /** Bumped for every socket: late callbacks of an old one are ignored. */
  #generation = 0;
  #attempt = 0;
  #timers = { reconnect: null, connect: null, refresh: null };
  /** @type {Watchdog | null} */
  #watchdog = null;
  /** @type {Tokens | null} */
  #tokens = null;
  /** @type {Pending} */
  #pending;
  /** @type {Map<string, Subscription>} */
  #subs = new Map();
  #port;

  /**
   * @param {string} url `ws://host:port/ws` or `wss://...`
   * @param {Options} [options]
   */
  constructor(url, options = {}) {
    super();
    this.#url = url;
    this.#opts = { ...DEFAULTS, ...options };
    const { minReconnectDelay: min, maxReconnectDelay: max, timeout } = this.#opts;
    if (!(min > 0) || !(max >= min))
      throw new RangeError("need 0 < minReconnectDelay <= maxReconnectDelay");
    if (!(timeout > 0) || !(this.#opts.maxPingDelay > 0))
      throw new RangeError("timeout and maxPingDelay must be positive");
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#random = options.random ?? Math.random;
    this.#Socket = options.websocket ?? globalThis.WebSocket;
    this.#pending = new Pending(this.#clock, timeout);
    if (options.getToken) this.#tokens = new Tokens(options.getToken, this.#clock, timeout);
    if (typeof this.#Socket !== "function")
      throw new TypeError("no WebSocket here: pass one as the websocket option (Node: ws)");
    this.#port = this.#makePort();
  }

  /** @returns {State} */
  get state() {
    return this.#state;
  }

  /** This connection's id (the welcome's), null unless connected. */
  get id() {
    return this.#id;
  }

  /** Connects, and keeps reconnecting until disconnect(). */
  connect() {
    if (this.#wanted) return;
    this.#wanted = true;
    this.#attempt = 0;
    this.#open();
  }

  /** Closes the connection and stops reconnecting. Subscriptions stay for the next connect(). */
  disconnect() {
    if (!this.#wanted) return;
    this.#wanted = false;
    this.#clock.clearTimeout(this.#timers.reconnect);
    if (this.#state === "disconnected") {
      this.#pending.rejectSent(true);
      return;
    }
    this.#lost(1000, "disconnect called", false);
  }

  /**
   * A subscription to `topic` (created and subscribed, or the existing one).
   * @param {string} topic
   * @param {{joinLeave?: boolean}} [options] joinLeave: join and leave events (the topic must allow them)
   * @returns {Subscription}
   */
  subscribe(topic, options = {}) {
    const existing = this.#subs.get(topic);
    if (existing) return existing;
    const sub = new Subscription(this.#port, topic, options);
    sub.subscribe();
    return sub;
  }

  /**
   * @param {string} topic
   * @returns {Subscription | undefined}
   */
  getSubscription(topic) {
    return this.#subs.get(topic);
  }

  /**
   * Publishes `data` (any JSON value) on `topic`; resolves when the node acknowledged it.
   * @param {string} topic
   * @param {any} data
   * @returns {Promise<void>}
   */
  async publish(topic, data) {
    await this.#command({ type: "publish", topic, data: required(data) });
  }

  /**
   * Sends `data` to one connection (its id) or every connection of a user (`"user:ID"`).
   * @param {number | string} to
   * @param {any} data
   * @returns {Promise<void>}
   */
  async send(to, data) {
    await this.#command({ type: "send", to, data: required(data) });
  }

  /**
   * Who is subscribed to `topic` (the topic must have presence).
   * @param {string} topic
   * @returns {Promise<{clients: {id: number, user?: string}[], truncated: boolean}>}
   */
  async presence(topic) {
    const r = await this.#command({ type: "presence", topic });
    return { clients: r.clients, truncated: r.truncated };
  }

  /**
   * How many connections and users are subscribed to `topic`.
   * @param {string} topic
   * @returns {Promise<{clients: number, users: number}>}
   */
  async presenceStats(topic) {
    const r = await this.#command({ type: "presence_stats", topic });
    return { clients: r.clients, users: r.users };
  }

  /**
   * The last `limit` messages of `topic`, or those after `since`, oldest first.
   * @param {string} topic
   * @param {{limit?: number, since?: {offset: number, epoch: string}}} [options]
   * @returns {Promise<{epoch: string, offset: number, messages: {offset: number, data: any}[]}>}
   */
  async history(topic, options = {}) {
    /** @type {Record<string, any>} */
    const frame = { type: "history", topic };
    if (options.limit !== undefined) frame.limit = options.limit;
    if (options.since !== undefined) frame.since = options.since;
    const r = await this.#command(frame);
    return { epoch: r.epoch, offset: r.offset, messages: r.messages };
  }

  // -- connecting --------------------------------------------------------------------------

  async #open() {
    const generation = ++this.#generation;
    this.#setState("connecting");
    this._emit("connecting", { attempt: this.#attempt });
    let url = this.#url;
    if (this.#tokens) {
      const token = await this.#tokenForConnect();
      if (generation !== this.#generation) return;
      if (token === null) return this.#failedBeforeOpen(LOCAL_CODES.NO_TOKEN, "no token");
      url += (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
    }
    let ws;
    try {
      ws = new this.#Socket(url);
    } catch (err) {
      this._emit("error", /** @type {Error} */ (err));
      this.#wanted = false;
      this.#setState("disconnected");
      return;
    }
    this.#ws = ws;
    /** The HTTP status of a refused upgrade, where the WebSocket tells it (Node's ws). */
    let refusedWith = 0;
    ws.onmessage = (/** @type {{data: any}} */ ev) => {
      if (ws === this.#ws) this.#frame(ev.data);
    };
    ws.onclose = (/** @type {{code: number, reason: string}} */ ev) => {
      if (ws !== this.#ws) return;
      if (this.#state === "connected") this.#lost(ev.code, ev.reason || "", true);
      else this.#failedBeforeOpen(ev.code, ev.reason || "", refusedWith);
    };
    ws.onerror = (/** @type {{message?: string, error?: Error}} */ ev) => {
      const text = ev?.message ?? ev?.error?.message ?? "";
      const status = /Unexpected server response: (\d+)/.exec(text);
      if (status) refusedWith = Number(status[1]);
    };
    // Node's ws shows the node's pings; a browser's WebSocket does not.
    if (typeof ws.on === "function") ws.on("ping", () => this.#watchdog?.activity());
    this.#timers.connect = this.#clock.setTimeout(() => {
      if (ws === this.#ws && this.#state === "connecting")
        this.#failedBeforeOpen(LOCAL_CODES.CONNECT_TIMEOUT, "connect timeout");
    }, this.#opts.timeout);
  }

  /** @returns {Promise<string | null>} */
  async #tokenForConnect() {
    try {
      return await /** @type {Tokens} */ (this.#tokens).forConnect();
    } catch (err) {
      this._emit("error", /** @type {Error} */ (err));
      return null;
    }
  }

  /**
   * @param {number} code
   * @param {string} reason
   * @param {number} [status] the HTTP status of a refused upgrade, 0 when unknown
   */
  #failedBeforeOpen(code, reason, status = 0) {
    // A browser cannot tell a 401 at the upgrade from a network failure:
    // unless the status says otherwise, the next attempt gets a new token.
    if (status === 0 || status === 401) this.#tokens?.markStale();
    this.#lost(code, reason || (status ? `upgrade refused (${status})` : "connection failed"), true);
  }

  // -- frames ------------------------------------------------------------------------------

  /** @param {any} text */
  #frame(text) {
    this.#watchdog?.activity();
    let msg;
    try {
      msg = JSON.parse(String(text));
    } catch {
      this._emit("error", new SwitchboardError("bad_json", "the node sent a frame that is not JSON"));
      return;
    }
    switch (msg.type) {
      case "welcome":
        return this.#welcome(msg);
      case "message":
        return this.#subs.get(msg.topic)?._message(msg);
      case "join":
      case "leave":
        return this.#subs.get(msg.topic)?._presence(msg);
      case "direct":
        return this._emit("direct", { from: msg.from, data: msg.data });
      default:
        return this.#reply(msg);
    }
  }

  /** @param {any} msg */
  #welcome(msg) {
    this.#clock.clearTimeout(this.#timers.connect);
    this.#id = msg.id;
    this.#attempt = 0;
    this.#setState("connected");
    if (typeof msg.ping === "number" && msg.ping > 0) {
      const ws = this.#ws;
      this.#watchdog = new Watchdog({
        clock: this.#clock,
        interval: msg.ping * 1000,
        margin: this.#opts.maxPingDelay,
        probes: typeof ws.on !== "function",
        probe: () => this.#sendNow({ type: "ping" }),
        dead: () => this.#lost(LOCAL_CODES.NO_PING, "no ping", true),
      });
      this.#watchdog.start();
    }
    this.#scheduleRefresh();
    /** @type {{id: number, ping?: number}} */
    const ctx = { id: msg.id };
    if (typeof msg.ping === "number") ctx.ping = msg.ping;
    this._emit("connected", ctx);
    for (const sub of this.#subs.values()) sub._send();
    this.#pending.sendWaiting((frame) => this.#sendNow(frame));
  }

  /** @param {any} msg */
  #reply(msg) {
    // Not an answer anyone waits for (a pong, a late reply, an error about
    // a frame without id): only errors are worth telling.
    if (!this.#pending.settle(msg) && msg.type === "error")
      this._emit("error", new SwitchboardError(msg.code, msg.reason));
  }

  // -- commands ------------------------------------------------------------------------------

  /**
   * Sends `frame` with an id and resolves with the reply (rejects with the
   * node's error, `timeout`, or `disconnected`). Commands made while the
   * client connects wait for the connection, within the timeout.
   * @param {Record<string, any>} frame
   * @param {(reply: any) => void} [onReply] sees a successful reply at once (Pending#add)
   * @returns {Promise<any>}
   */
  #command(frame, onReply) {
    if (!this.#wanted)
      return Promise.reject(new SwitchboardError("disconnected", "not connected (call connect())"));
    return this.#pending.add(frame, (f) => {
      if (this.#state !== "connected") return false;
      this.#sendNow(f);
      return true;
    }, onReply);
  }

  /** @param {Record<string, any>} frame */
  #sendNow(frame) {
    try {
      this.#ws.send(JSON.stringify(frame));
    } catch (err) {
      // The socket is closing: its close event follows.
      this._emit("error", /** @type {Error} */ (err));
    }
  }

  // -- losing the connection -------------------------------------------------------------

  /**
   * The connection is gone (or given up): clean up, tell, and reconnect
   * unless the code or the application says not to.
   * @param {number} code
   * @param {string} reason
   * @param {boolean} mayReconnect false when the application asked to disconnect
   */
  #lost(code, reason, mayReconnect) {
    const ws = this.#ws;
    this.#ws = null;
    this.#generation++;
    if (ws) {
      ws.onmessage = ws.onclose = ws.onerror = null;
      // A dead peer never answers a close handshake: Node's ws can drop
      // the socket at once; a browser's WebSocket closes in the background.
      try {
        if (code < 1000 && typeof ws.terminate === "function") ws.terminate();
        else ws.close(1000);
      } catch {
        /* closed already */
      }
    }
    this.#watchdog?.stop();
    this.#watchdog = null;
    for (const t of Object.keys(this.#timers)) {
      this.#clock.clearTimeout(this.#timers[/** @type {"connect"} */ (t)]);
      this.#timers[/** @type {"connect"} */ (t)] = null;
    }
    this.#id = null;
    if (code === 4001) this.#tokens?.markStale();
    const reconnect = mayReconnect && this.#wanted && reconnects(code);
    if (!reconnect) this.#wanted = false;
    this.#pending.rejectSent(!reconnect);
    for (const sub of this.#subs.values()) sub._connectionLost();
    this.#setState("disconnected");
    this._emit("disconnected", { code, reason, reconnect });
    if (reconnect && this.#wanted) {
      const delay = backoffDelay(this.#attempt++, this.#opts.minReconnectDelay,
        this.#opts.maxReconnectDelay, this.#random);
      this.#timers.reconnect = this.#clock.setTimeout(() => {
        this.#timers.reconnect = null;
        if (this.#wanted && this.#state === "disconnected") this.#open();
      }, delay);
    }
  }

  // -- tokens ----------------------------------------------------------------------------------

  #scheduleRefresh() {
    const expiry = this.#tokens?.expiry ?? null;
    if (expiry === null) return;
    const delay = Math.min(MAX_TIMER, refreshDelay(expiry, this.#clock.now()));
    this.#timers.refresh = this.#clock.setTimeout(() => this.#refresh(), delay);
  }

  async #refresh() {
    this.#timers.refresh = null;
    const generation = this.#generation;
    try {
      const tokens = /** @type {Tokens} */ (this.#tokens);
      const token = await tokens.fetch();
      if (generation !== this.#generation) return;
      const reply = await this.#command({ type: "refresh", token });
      if (generation !== this.#generation) return;
      tokens.accept(token, typeof reply.expires === "number" ? reply.expires * 1000 : tokenExpiry(token));
      this.#scheduleRefresh();
    } catch (err) {
      if (generation !== this.#generation) return;
      this._emit("error", /** @type {Error} */ (err));
      // A node without authentication: nothing to refresh.
      if (err instanceof SwitchboardError && err.code === "not_enabled") return;
      // Try again while the token lives; past it the node closes with
      // 4001, and the reconnect gets a new one.
      const left = (this.#tokens?.expiry ?? 0) - this.#clock.now();
      const wait = backoffDelay(0, this.#opts.minReconnectDelay, this.#opts.maxReconnectDelay,
        this.#random);
      if (left > wait) this.#timers.refresh = this.#clock.setTimeout(() => this.#refresh(), wait);
    }
  }

  // -- the subscriptions' side of the client -------------------------------------------------

  /** @param {State} state */
  #setState(state) {
    this.#state = state;
  }

  #makePort() {
    return {
      clock: this.#clock,
      connected: () => this.#state === "connected",
      generation: () => this.#generation,
      call: (/** @type {Record<string, any>} */ frame,
             /** @type {((reply: any) => void) | undefined} */ onReply) =>
        this.#command(frame, onReply),
      fireAndForget: (/** @type {Record<string, any>} */ frame) => {
        if (this.#state === "connected") this.#sendNow(frame);
      },
      backoff: (/** @type {number} */ attempt) =>
        backoffDelay(attempt, this.#opts.minReconnectDelay, this.#opts.maxReconnectDelay,
          this.#random),
      register: (/** @type {Subscription} */ sub) => {
        const existing = this.#subs.get(sub.topic);
        if (existing && existing !== sub)
          throw new Error(`already subscribed to ${JSON.stringify(sub.topic)}`);
        this.#subs.set(sub.topic, sub);
      },
      unregister: (/** @type {Subscription} */ sub) => {
        if (this.#subs.get(sub.topic) === sub) this.#subs.delete(sub.topic);
      },
    };
  }
}

/**
 * @param {any} data
 * @returns {any}
 */
function required(data) {
  if (data === undefined) throw new TypeError("data must be a JSON value");
  return data;
}
