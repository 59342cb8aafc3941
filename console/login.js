// The login form: POST /console/login; the node answers with a session
// cookie (HttpOnly, SameSite=Strict), 401 or 429.

const form = /** @type {HTMLFormElement} */ (document.getElementById("login"));
const problem = /** @type {HTMLElement} */ (document.getElementById("problem"));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  problem.hidden = true;
  const body = new URLSearchParams(new FormData(form)).toString();
  let res;
  try {
    res = await fetch("/console/login", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Switchboard-Console": "1" },
      body,
    });
  } catch {
    return show("The node cannot be reached.");
  }
  if (res.ok) {
    location.href = "/console/";
    return;
  }
  if (res.status === 429)
    return show(`Too many failed logins: try again in ${res.headers.get("Retry-After")} s.`);
  show(res.status === 401 ? "Wrong password." : `Refused (${res.status}).`);
});

/** @param {string} text */
function show(text) {
  problem.textContent = text;
  problem.hidden = false;
}
