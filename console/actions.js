// Actions: publish, broadcast, send to a connection or a user, disconnect,
// look up a connection. Each is a call of the server API (docs/api.md); data
// is sent as typed (verbatim JSON).

import { api } from "./api.js";
import { h, pretty } from "./dom.js";

/** @param {HTMLElement} root */
export function actions(root) {
  root.append(h("h2", { text: "Actions" }),
    h("div", { class: "columns" },
      action("publish", "Publish", [field("topic", "topic"), data()],
        (v) => api("POST", "/api/publish", `{"topic":${JSON.stringify(v.topic)},"data":${v.data}}`)),
      action("broadcast", "Broadcast", [field("topics", "topics, comma-separated"), data()],
        (v) => api("POST", "/api/broadcast",
          `{"topics":${JSON.stringify(v.topics.split(",").map((t) => t.trim()).filter(Boolean))},"data":${v.data}}`)),
      action("send", "Send", [field("to", "connection id or user:ID"), data()],
        (v) => api("POST", "/api/send", `{"to":${target(v.to)},"data":${v.data}}`)),
      action("disconnect", "Disconnect",
        [field("who", "connection id or user:ID"), field("code", "close code (default 1000)", false),
         field("reason", "reason (optional)", false)],
        (v) => {
          /** @type {Record<string, any>} */
          const body = v.who.startsWith("user:") ? { user: v.who.slice(5) } : { connection: Number(v.who) };
          if (v.code) body.code = Number(v.code);
          if (v.reason) body.reason = v.reason;
          return api("POST", "/api/disconnect", JSON.stringify(body));
        }),
      action("lookup", "Look up a connection", [field("id", "connection id")],
        (v) => api("GET", `/api/connections/${encodeURIComponent(v.id.trim())}`))));
  return () => {};
}

/** @param {string} to */
function target(to) {
  const t = to.trim();
  return /^\d+$/.test(t) ? t : JSON.stringify(t);
}

/**
 * @param {string} name
 * @param {string} label
 * @param {boolean} [required]
 */
function field(name, label, required = true) {
  return h("label", {}, label, h("input", { name, required }));
}

function data() {
  return h("label", {}, "data (JSON)",
    h("textarea", { name: "data", rows: 3, required: true, text: '{"hello":"world"}' }));
}

/**
 * A form that calls `run` with its values and shows the node's answer.
 * @param {string} id
 * @param {string} title
 * @param {HTMLElement[]} fields
 * @param {(values: Record<string, string>) => Promise<{status: number, data: any}>} run
 */
function action(id, title, fields, run) {
  const result = h("div", { class: "result", id: `${id}-result` });
  const form = /** @type {HTMLFormElement} */ (h("form", { id: `${id}-form`, class: "action" },
    h("h3", { text: title }), ...fields, h("button", { type: "submit", text: title }), result));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(/** @type {any} */ (new FormData(form)));
    if ("data" in values) {
      try {
        JSON.parse(values.data);
      } catch {
        result.replaceChildren(h("p", { class: "problem", text: "data is not valid JSON" }));
        return;
      }
    }
    const r = await run(values);
    result.replaceChildren(h("p", { class: r.status < 300 ? "ok" : "problem", text: `${r.status}` }),
      pretty(r.data));
  });
  return form;
}
