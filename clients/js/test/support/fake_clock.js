// Virtual time for the client's deterministic tests: timers run only when
// the test advances the clock.

export class FakeClock {
  #now = 1_000_000;
  #next = 1;
  /** @type {Map<number, {at: number, fn: () => void}>} */
  #timers = new Map();

  now() {
    return this.#now;
  }

  setTimeout(fn, ms) {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id) {
    this.#timers.delete(id);
  }

  /** Runs every timer due within `ms`, in order, moving the time along. */
  advance(ms) {
    const end = this.#now + ms;
    for (;;) {
      let first = null;
      for (const [id, t] of this.#timers)
        if (t.at <= end && (first === null || t.at < first[1].at)) first = [id, t];
      if (first === null) break;
      this.#timers.delete(first[0]);
      this.#now = Math.max(this.#now, first[1].at);
      first[1].fn();
    }
    this.#now = end;
  }

  /**
   * Moves the time without running timers, as a suspended process or a
   * throttled background page sees it: due timers then fire late, on the
   * next advance().
   */
  jump(ms) {
    const end = this.#now + ms;
    for (const t of this.#timers.values()) if (t.at < end) t.at = end;
    this.#now = end;
  }

  /** How many timers are pending. */
  get pending() {
    return this.#timers.size;
  }
}
