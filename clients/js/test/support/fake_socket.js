// A WebSocket stand-in the test drives: it records what the client sends
// and plays the node's side (frames, closes). No client logic here.

/**
 * @param {{pings?: boolean}} [o] pings: expose `on("ping")` as Node's ws does
 */
export function fakeWebSocket(o = {}) {
  /** @type {FakeSocket[]} */
  const sockets = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      /** @type {any[]} */
      this.sent = [];
      this.closed = null;
      this.terminated = false;
      this.pingHandlers = [];
      if (o.pings) this.on = (event, fn) => event === "ping" && this.pingHandlers.push(fn);
      sockets.push(this);
    }
    send(text) {
      if (this.closed) throw new Error("socket closed");
      this.sent.push(JSON.parse(text));
    }
    close(code, reason) {
      this.closed = { code, reason };
    }
    terminate() {
      this.terminated = true;
      this.closed = { code: 1006 };
    }
    // -- the node's side --
    receive(frame) {
      this.onmessage?.({ data: JSON.stringify(frame) });
    }
    welcome(id = 17, ping = undefined) {
      this.receive(ping === undefined ? { type: "welcome", id } : { type: "welcome", id, ping });
    }
    ping() {
      for (const fn of this.pingHandlers) fn();
    }
    drop(code = 1006, reason = "") {
      this.onclose?.({ code, reason });
    }
    refuse(status) {
      this.onerror?.({ message: `Unexpected server response: ${status}` });
      this.onclose?.({ code: 1006, reason: "" });
    }
    /** The last frame sent of `type`. */
    last(type) {
      return this.sent.filter((f) => f.type === type).at(-1);
    }
  }
  return { FakeSocket, sockets, last: () => sockets.at(-1) };
}

/** Lets promise callbacks run. */
export function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}
