// Building DOM without innerHTML (what the node or a client sends is text,
// never markup).

/**
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A table of [key, value] rows. */
export function table(rows, head = null) {
  return h("table", {},
    head ? h("thead", {}, h("tr", {}, ...head.map((x) => h("th", { text: x })))) : null,
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((x) => h("td", {}, x instanceof Node ? x : String(x)))))));
}

/** JSON, indented, as text. */
export function pretty(value) {
  return h("pre", { class: "json", text: JSON.stringify(value, null, 2) });
}
