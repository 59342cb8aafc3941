// Inspector: what a topic receives, live, through the JavaScript client over
// the console's own WebSocket (let in by the console's login).

import { wsUrl } from "./api.js";
import { h } from "./dom.js";
import { Switchboard } from "./lib/index.js";

const KEEP = 500;

/**
 * @param {HTMLElement} root
 * @param {URLSearchParams} params
 */
export function inspector(root, params) {
  const client = new Switchboard(wsUrl());
  const topic = /** @type {HTMLInputElement} */ (h("input", { id: "watch-topic", placeholder: "topic", required: true }));
  const state = h("span", { id: "inspector-state", class: "state", text: "disconnected" });
  const messages = h("ol", { id: "messages", class: "messages", reversed: true });
  let current = null;
  const form = h("form", { class: "inline", onsubmit: (e) => (e.preventDefault(), watch(topic.value)) },
    topic, h("button", { type: "submit", text: "Watch" }));
  root.append(h("div", { class: "toolbar" }, h("h2", { text: "Inspector" }), state), form, messages);

  const showState = () => (state.textContent = client.state + (client.id ? ` (connection ${client.id})` : ""));
  for (const e of ["connecting", "connected", "disconnected"]) client.on(e, showState);
  client.connect();

  /** @param {string} name */
  function watch(name) {
    if (!name) return;
    current?.unsubscribe();
    messages.replaceChildren();
    const sub = client.subscribe(name);
    current = sub;
    sub.on("subscribed", (ctx) => note(`watching ${name}` + (ctx.epoch ? ` (offset ${ctx.offset})` : "")));
    sub.on("error", (err) => note(`error: ${err.code} ${err.reason}`));
    sub.on("message", ({ data, offset }) => {
      messages.prepend(h("li", { class: "message" },
        h("time", { text: new Date().toLocaleTimeString() }),
        offset !== undefined ? h("code", { text: `#${offset}` }) : null,
        h("pre", { class: "json", text: JSON.stringify(data, null, 2) })));
      while (messages.children.length > KEEP) messages.lastElementChild?.remove();
    });
    history.replaceState(null, "", `#/inspector?topic=${encodeURIComponent(name)}`);
  }

  /** @param {string} text */
  function note(text) {
    messages.prepend(h("li", { class: "note", text }));
  }

  const initial = params.get("topic");
  if (initial) {
    topic.value = initial;
    watch(initial);
  }
  return () => client.disconnect();
}
