// Topics: search by prefix, a topic's subscribers, its presence and history
// where the node has them enabled. The server API behind the login.

import { api } from "./api.js";
import { h, pretty, table } from "./dom.js";

/** @param {HTMLElement} root */
export function topics(root) {
  const prefix = /** @type {HTMLInputElement} */ (h("input", { id: "prefix", placeholder: "prefix (empty: any)" }));
  const list = h("div", { id: "topic-list" });
  const detail = h("div", { id: "topic-detail" });
  const form = h("form", { class: "inline", onsubmit: (e) => (e.preventDefault(), search()) },
    prefix, h("button", { type: "submit", text: "Search" }));
  root.append(h("h2", { text: "Topics" }), form, list, detail);

  async function search() {
    const q = new URLSearchParams({ prefix: prefix.value, limit: "200" });
    const r = await api("GET", `/api/topics?${q}`);
    if (!r.ok) return list.replaceChildren(problem(r));
    const rows = r.data.topics.map((t) => [
      h("a", { href: "#", onclick: (e) => (e.preventDefault(), open(t.name)), text: t.name }),
      t.subscribers, t.listeners]);
    list.replaceChildren(
      h("p", { class: "note", text: `${r.data.topics.length} shown of ${r.data.total} topics on the node`
        + (r.data.truncated ? " (more match: narrow the prefix)" : "") }),
      table(rows, ["topic", "subscribers", "listeners"]));
  }

  /** @param {string} name */
  async function open(name) {
    const [info, presence, history] = await Promise.all([
      api("GET", `/api/topics/${encodeURIComponent(name)}`),
      api("POST", "/api/presence", JSON.stringify({ topic: name })),
      api("POST", "/api/history", JSON.stringify({ topic: name, limit: 20 })),
    ]);
    detail.replaceChildren(
      h("h3", {}, name, " ", h("a", { href: `#/inspector?topic=${encodeURIComponent(name)}`, text: "inspect live" })),
      info.ok ? table([["subscribers", info.data.subscribers], ["listeners", info.data.listeners]]) : problem(info),
      h("h4", { text: "Presence" }),
      presence.ok ? table(presence.data.clients.map((c) => [c.id, c.user ?? "–"]), ["connection", "user"])
                  : unavailable(presence),
      h("h4", { text: "History (last 20)" }),
      history.ok ? table(history.data.messages.map((m) => [m.offset, JSON.stringify(m.data)]), ["offset", "data"])
                 : unavailable(history));
  }

  search();
  return () => {};
}

/** @param {{status: number, data: any}} r */
function problem(r) {
  return h("p", { class: "problem", text: `${r.status}: ${r.data?.error ?? ""} ${r.data?.reason ?? ""}` });
}

/** What a node without the feature (or a topic without it) answers. */
function unavailable(r) {
  if (r.status === 404 && r.data?.error === "not_found")
    return h("p", { class: "note", text: "Not available on this node." });
  if (r.data?.error === "not_enabled")
    return h("p", { class: "note", text: "Not enabled for this topic." });
  return problem(r);
}
