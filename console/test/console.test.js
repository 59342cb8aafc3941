// The web console in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core) against a real node: a wrong password refused, a
// login, the connection count following test clients, a publish from the
// actions page arriving in the inspector of a second page. Screenshots go
// to $SWITCHBOARD_ARTIFACTS (default build/console-artifacts).

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";
import WebSocket from "ws";

import { SLACK, startNode } from "../../clients/js/test/node/support/node.js";

const PASSWORD = "correct horse battery staple";
const ARTIFACTS = process.env.SWITCHBOARD_ARTIFACTS ??
  fileURLToPath(new URL("../../build/console-artifacts", import.meta.url));
const WAIT = 10_000 * SLACK;

let node, browser;
const sockets = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  node = await startNode([`--admin-password=${PASSWORD}`]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // Without the networking flags Chromium's own background connections
    // are refused by a closed network, many at a time.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  for (const s of sockets) s.terminate();
  await browser?.close();
  await node?.stop();
});

/** A logged-in browser context. */
async function loggedIn() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  await page.goto(`${node.base}/console/`);
  assert.match(page.url(), /\/console\/login$/, "not logged in: the login page");
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForURL(`${node.base}/console/`), page.click("button[type=submit]")]);
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

/** Opens `n` plain WebSocket clients (no library). */
async function connectClients(n) {
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(node.url);
    sockets.push(ws);
    ws.once("message", resolve); // the welcome
    ws.once("error", reject);
  })));
}

test("a wrong password is refused", { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${node.base}/console/`);
  await page.fill("#password", "not the password at all");
  await page.click("button[type=submit]");
  await page.waitForSelector("#problem:not([hidden])", { timeout: WAIT });
  assert.equal(await page.textContent("#problem"), "Wrong password.");
  assert.match(page.url(), /\/console\/login$/);
  // Without a session nothing behind the login answers.
  const status = await page.evaluate(async () =>
    (await fetch("/api/topics", { headers: { "X-Switchboard-Console": "1" } })).status);
  assert.equal(status, 401);
  await shot(page, "login-refused.png");
  await context.close();
});

test("logged in, the overview follows the connection count", { timeout: 60_000 }, async () => {
  const { context, page } = await loggedIn();
  const count = () => page.textContent("#connections");
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector("#connections")?.textContent ?? ""),
    null, { timeout: WAIT });
  const before = Number(await count());
  await connectClients(3);
  await page.waitForFunction((n) => document.querySelector("#connections")?.textContent === String(n),
    before + 3, { timeout: WAIT });
  // Some traffic for the chart: the clients publish to each other.
  for (const [i, s] of sockets.entries())
    s.send(JSON.stringify({ type: "publish", topic: "news", data: { i } }));
  await page.waitForTimeout(2500); // a few samples on the chart (polled every second)
  await shot(page, "overview.png");
  await context.close();
});

test("a publish from the actions page arrives in the inspector of a second page", { timeout: 60_000 }, async () => {
  const { context, page: actions } = await loggedIn();
  const inspector = await context.newPage();
  await inspector.goto(`${node.base}/console/#/inspector?topic=demo`);
  await inspector.waitForSelector("text=watching demo", { timeout: WAIT });
  await actions.goto(`${node.base}/console/#/actions`);
  await actions.fill("#publish-form input[name=topic]", "demo");
  await actions.fill("#publish-form textarea[name=data]", '{"hello":"from the console","n":1.50}');
  await actions.click("#publish-form button[type=submit]");
  await actions.waitForSelector("#publish-result pre", { timeout: WAIT });
  assert.deepEqual(JSON.parse(await actions.textContent("#publish-result pre")), { delivered: 1 });
  const message = await inspector.waitForSelector("li.message pre", { timeout: WAIT });
  assert.deepEqual(JSON.parse(await message.textContent()), { hello: "from the console", n: 1.5 });
  assert.match(await inspector.textContent("#inspector-state"), /^connected/);
  await shot(actions, "actions.png");
  await shot(inspector, "inspector.png");
  await context.close();
});
