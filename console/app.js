// The console's pages, one at a time, chosen by the URL's hash
// (#/overview, #/topics, #/inspector?topic=T, #/actions).

import { actions } from "./actions.js";
import { inspector } from "./inspector.js";
import { overview } from "./overview.js";
import { topics } from "./topics.js";

/** @type {Record<string, (root: HTMLElement, params: URLSearchParams) => () => void>} */
const PAGES = { overview, topics, inspector, actions };

const main = /** @type {HTMLElement} */ (document.getElementById("page"));
let leave = () => {};
let shown = "";

function route() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const name = path in PAGES ? path : "overview";
  // The inspector rewrites its own query; that is no new page.
  if (name === shown && name === "inspector") return;
  leave();
  shown = name;
  main.replaceChildren();
  for (const a of document.querySelectorAll("nav a"))
    a.classList.toggle("current", a.getAttribute("data-page") === name);
  leave = PAGES[name](main, new URLSearchParams(query));
}

document.getElementById("logout")?.addEventListener("click", async () => {
  await fetch("/console/logout", { method: "POST", headers: { "X-Switchboard-Console": "1" } });
  location.href = "/console/login";
});
addEventListener("hashchange", route);
route();
