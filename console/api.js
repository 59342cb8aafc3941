// The node's HTTP routes as the console uses them: the server API behind the
// console's login (the session cookie goes along; the header proves the
// request comes from the console's page), and /stats.

const HEADERS = { "X-Switchboard-Console": "1" };

/**
 * Calls the server API. `body`: a JSON text (data stays verbatim).
 * @param {string} method
 * @param {string} path
 * @param {string} [body]
 * @returns {Promise<{status: number, ok: boolean, data: any}>}
 */
export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? HEADERS : { ...HEADERS, "Content-Type": "application/json" },
    body,
  });
  if (res.status === 401) {
    // The session ended (expired, logged out elsewhere, node restarted).
    location.href = "/console/login";
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    /* an answer without a JSON body */
  }
  return { status: res.status, ok: res.ok, data };
}

/**
 * The node's numbers (/stats), or with `cluster` the cluster's too.
 * @param {boolean} cluster
 */
export async function stats(cluster) {
  const res = await fetch(cluster ? "/stats?scope=cluster" : "/stats", { headers: HEADERS });
  return { status: res.status, data: res.ok ? await res.json() : null };
}

/** The URL of the node's WebSocket endpoint, as the page reached the node. */
export function wsUrl() {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
}
