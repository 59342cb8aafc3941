// Overview: connections, messages in and out per second over the last five
// minutes, node or cluster scope, peers and their state. Polls /stats.

import { stats } from "./api.js";
import { drawChart } from "./chart.js";
import { h, table } from "./dom.js";

const WINDOW = 5 * 60 * 1000;
const PERIOD = 1000;

/** @param {HTMLElement} root */
export function overview(root) {
  let timer = 0;
  let stopped = false;
  /** @type {{t: number, in: number, out: number} | null} */
  let last = null;
  /** @type {{t: number, in: number, out: number}[]} */
  const rates = [];
  const value = (id) => h("strong", { id, text: "–" });
  const scope = h("select", { id: "scope", "aria-label": "scope" },
    h("option", { value: "node", text: "this node" }),
    h("option", { value: "cluster", text: "the cluster" }));
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { id: "rates" }));
  const detail = h("div", { class: "columns" });
  const note = h("p", { class: "note" });
  root.append(
    h("div", { class: "toolbar" }, h("h2", { text: "Overview" }), scope),
    h("div", { class: "cards" },
      h("div", { class: "card" }, h("span", { text: "connections" }), value("connections")),
      h("div", { class: "card" }, h("span", { text: "topics" }), value("topics")),
      h("div", { class: "card" }, h("span", { text: "messages in / s" }), value("rate-in")),
      h("div", { class: "card" }, h("span", { text: "messages out / s" }), value("rate-out"))),
    h("figure", {}, canvas, h("figcaption", {},
      h("span", { class: "key in", text: "in" }), " ", h("span", { class: "key out", text: "out" }),
      " messages per second, last 5 minutes")),
    note, detail);
  const set = (id, v) => {
    const el = root.querySelector(`#${id}`);
    if (el) el.textContent = String(v);
  };

  async function poll() {
    if (stopped) return;
    const cluster = /** @type {HTMLSelectElement} */ (scope).value === "cluster";
    let answer;
    try {
      answer = await stats(cluster);
    } catch {
      answer = { status: 0, data: null };
    }
    if (stopped) return;
    note.textContent = "";
    if (!answer.data) {
      note.textContent = cluster && answer.status === 400
        ? "This node is not in a cluster."
        : `The node did not answer (${answer.status || "unreachable"}).`;
    } else {
      show(cluster ? answer.data.node : answer.data, cluster ? answer.data.cluster : null);
    }
    timer = setTimeout(poll, PERIOD);
  }

  /** @param {any} node @param {any} cluster */
  function show(node, cluster) {
    const now = Date.now();
    set("connections", cluster ? `${node.connections} (cluster: ${cluster.connections})` : node.connections);
    set("topics", node.topics);
    if (last && now > last.t) {
      const dt = (now - last.t) / 1000;
      rates.push({ t: now, in: (node.messages_in - last.in) / dt, out: (node.messages_out - last.out) / dt });
      while (rates.length && now - rates[0].t > WINDOW) rates.shift();
      set("rate-in", Math.round(rates.at(-1).in));
      set("rate-out", Math.round(rates.at(-1).out));
    }
    last = { t: now, in: node.messages_in, out: node.messages_out };
    drawChart(canvas, [
      { name: "in", color: "#2f6fdf", points: rates.map((r) => ({ t: r.t, v: r.in })) },
      { name: "out", color: "#1b9e63", points: rates.map((r) => ({ t: r.t, v: r.out })) },
    ], WINDOW, now);
    const sections = [
      h("section", {}, h("h3", { text: "Disconnects" }), table(Object.entries(node.disconnects))),
      h("section", {}, h("h3", { text: "Refused" }), table(Object.entries(node.rejections))),
    ];
    if (cluster)
      sections.push(h("section", {}, h("h3", { text: `Peers of ${cluster.address}` }),
        cluster.peers.length
          ? table(cluster.peers.map((p) => [p.address, p.state, p.forwarded, p.received, p.gaps]),
                  ["peer", "state", "forwarded", "received", "gaps"])
          : h("p", { text: "No peers." })));
    detail.replaceChildren(...sections);
  }

  scope.addEventListener("change", () => {
    last = null;
    rates.length = 0;
  });
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
