// A small event emitter that works the same in browsers and in Node.

/**
 * @template {Record<string, any>} Events
 */
export class Emitter {
  /** @type {Map<string, Set<(arg: any) => void>>} */
  #handlers = new Map();

  /**
   * Calls `handler` every time `event` happens.
   * @template {keyof Events & string} K
   * @param {K} event
   * @param {(arg: Events[K]) => void} handler
   * @returns {this}
   */
  on(event, handler) {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    set.add(handler);
    return this;
  }

  /**
   * Stops calling `handler` for `event`.
   * @template {keyof Events & string} K
   * @param {K} event
   * @param {(arg: Events[K]) => void} handler
   * @returns {this}
   */
  off(event, handler) {
    this.#handlers.get(event)?.delete(handler);
    return this;
  }

  /**
   * Calls `handler` the next time `event` happens, once.
   * @template {keyof Events & string} K
   * @param {K} event
   * @param {(arg: Events[K]) => void} handler
   * @returns {this}
   */
  once(event, handler) {
    const wrapper = (/** @type {Events[K]} */ arg) => {
      this.off(event, wrapper);
      handler(arg);
    };
    return this.on(event, wrapper);
  }

  /**
   * @param {string} event
   * @param {any} arg
   */
  _emit(event, arg) {
    const set = this.#handlers.get(event);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(arg);
      } catch (err) {
        // A throwing handler must not break the client's state machine:
        // report it the way an uncaught error in an event handler is.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
