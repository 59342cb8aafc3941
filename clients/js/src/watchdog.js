// Tells a quiet connection from a dead one.
//
// The node pings every `interval` (the welcome's "ping"). Where the
// WebSocket shows pings (Node's `ws`), silence longer than interval + margin
// means the connection is dead. Where it does not (a browser), the client
// probes a connection that was silent for `interval` ({"type":"ping"}) and
// gives the answer `margin` to come.
//
// Timers of a page in the background are throttled (to once a minute in
// Chrome), and a suspended laptop or a stopped debugger fires them late.
// Silence we did not watch is not the server's fault: a check that runs much
// later than it was due judges nothing; it starts a fresh wait (with a
// probe, where probes are used), so the page going to background never
// causes a false reconnect, and a dead connection is still found one margin
// after the page wakes up.

/**
 * @typedef {object} Clock
 * @property {() => number} now milliseconds
 * @property {(fn: () => void, ms: number) => any} setTimeout
 * @property {(handle: any) => void} clearTimeout
 */

/** A check this much later than due was not watched (throttled, suspended). */
export const LATE_TOLERANCE = 1000;

export class Watchdog {
  #clock;
  #interval;
  #margin;
  #probes;
  #probe;
  #dead;
  /** Time from which silence counts: the last frame, or a fresh start. */
  #since = 0;
  /** When the outstanding probe went out (null: none). */
  #probeSent = /** @type {number | null} */ (null);
  #timer = /** @type {any} */ (null);
  #due = 0;

  /**
   * @param {object} o
   * @param {Clock} o.clock
   * @param {number} o.interval the node's ping interval, ms
   * @param {number} o.margin how late a ping (or a probe's answer) may be, ms
   * @param {boolean} o.probes whether to probe (pings are not visible)
   * @param {() => void} o.probe sends a probe
   * @param {() => void} o.dead called once when the connection is judged dead
   */
  constructor({ clock, interval, margin, probes, probe, dead }) {
    this.#clock = clock;
    this.#interval = interval;
    this.#margin = margin;
    this.#probes = probes;
    this.#probe = probe;
    this.#dead = dead;
  }

  start() {
    this.#since = this.#clock.now();
    this.#arm(this.#since + this.#firstWait());
  }

  /** Something arrived (a frame, or a ping where pings are visible). */
  activity() {
    // Only a timestamp: a stream of messages must not cost a timer each.
    this.#since = this.#clock.now();
    this.#probeSent = null;
  }

  stop() {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #firstWait() {
    return this.#probes ? this.#interval : this.#interval + this.#margin;
  }

  /** @param {number} at */
  #arm(at) {
    const now = this.#clock.now();
    this.#due = at;
    this.#timer = this.#clock.setTimeout(() => this.#check(), Math.max(0, at - now));
  }

  #check() {
    this.#timer = null;
    const now = this.#clock.now();
    if (now - this.#due > LATE_TOLERANCE) {
      // We were not watching: start afresh.
      this.#since = now;
      this.#probeSent = null;
      if (this.#probes) this.#sendProbe(now);
      else this.#arm(now + this.#interval + this.#margin);
      return;
    }
    if (this.#probes) {
      if (this.#probeSent !== null) {
        if (now - this.#probeSent >= this.#margin) return this.#dead();
        return this.#arm(this.#probeSent + this.#margin);
      }
      if (now - this.#since >= this.#interval) return this.#sendProbe(now);
      return this.#arm(this.#since + this.#interval);
    }
    if (now - this.#since >= this.#interval + this.#margin) return this.#dead();
    this.#arm(this.#since + this.#interval + this.#margin);
  }

  /** @param {number} now */
  #sendProbe(now) {
    this.#probeSent = now;
    this.#probe();
    this.#arm(now + this.#margin);
  }
}
