// Commands waiting for their answers, by id, each with a timeout.

import { SwitchboardError } from "./errors.js";

/** @typedef {import("./watchdog.js").Clock} Clock */

export class Pending {
  #clock;
  #timeout;
  #nextId = 0;
  /** @type {Map<number, {frame: any, resolve: Function, reject: Function, onReply?: Function, timer: any, sent: boolean}>} */
  #map = new Map();

  /**
   * @param {Clock} clock
   * @param {number} timeout ms
   */
  constructor(clock, timeout) {
    this.#clock = clock;
    this.#timeout = timeout;
  }

  /**
   * A command with a fresh id; `send` puts it on the wire now, or false when
   * it must wait for a connection (sendWaiting() sends it later).
   * `onReply`, when given, sees a successful reply synchronously, before
   * the frames behind it in the same read are dispatched (a promise's
   * `then` would run only after them).
   * @param {Record<string, any>} frame
   * @param {(frame: any) => boolean} send
   * @param {(reply: any) => void} [onReply]
   * @returns {Promise<any>}
   */
  add(frame, send, onReply) {
    return new Promise((resolve, reject) => {
      const id = ++this.#nextId;
      const entry = { frame: { ...frame, id }, resolve, reject, onReply, timer: null, sent: false };
      entry.timer = this.#clock.setTimeout(() => {
        this.#map.delete(id);
        reject(new SwitchboardError("timeout", `no answer within ${this.#timeout} ms`));
      }, this.#timeout);
      this.#map.set(id, entry);
      entry.sent = send(entry.frame);
    });
  }

  /**
   * Settles the command `msg` answers; false when none waits for it.
   * @param {any} msg
   */
  settle(msg) {
    const p = typeof msg.id === "number" ? this.#map.get(msg.id) : undefined;
    if (!p) return false;
    this.#map.delete(msg.id);
    this.#clock.clearTimeout(p.timer);
    if (msg.type === "error") {
      p.reject(new SwitchboardError(msg.code, msg.reason));
    } else {
      if (p.onReply) p.onReply(msg);
      p.resolve(msg);
    }
    return true;
  }

  /** @param {(frame: any) => void} send sends what waited for a connection */
  sendWaiting(send) {
    for (const p of this.#map.values()) {
      if (p.sent) continue;
      p.sent = true;
      send(p.frame);
    }
  }

  /**
   * Rejects what was sent (its answer will not come), and with `all` what
   * waits for a connection too.
   * @param {boolean} all
   */
  rejectSent(all) {
    for (const [id, p] of this.#map) {
      if (!all && !p.sent) continue;
      this.#map.delete(id);
      this.#clock.clearTimeout(p.timer);
      p.reject(new SwitchboardError("disconnected", "the connection went down before the answer"));
    }
  }
}
