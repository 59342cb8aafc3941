// Starts real switchboard nodes for the client's tests, and the small
// helpers the tests share: awaiting an event, signing a JWT, a publisher.

import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { after } from "node:test";
import { fileURLToPath } from "node:url";

import WebSocket from "ws";

import { Switchboard } from "../../../src/index.js";

/** The CLI node: $SWITCHBOARD_BIN, or the build of this repository. */
export const BIN =
  process.env.SWITCHBOARD_BIN ??
  fileURLToPath(new URL("../../../../../build/app/switchboard", import.meta.url));

/** Scales every wait (a loaded machine): E2E_SLACK=2 doubles them. */
export const SLACK = Number(process.env.E2E_SLACK ?? 1);

/**
 * A running node.
 * @typedef {{proc: import("node:child_process").ChildProcess, port: number, url: string,
 *   base: string, stop: () => Promise<number | null>, signal: (s: string) => void}} Node
 */

/**
 * Starts a node with `args` (on a free port unless --port is given) and
 * resolves once it listens; rejects with its output if it exits first.
 * @param {string[]} [args]
 * @returns {Promise<Node>}
 */
export function startNode(args = []) {
  const argv = args.some((a) => a.startsWith("--port=")) ? args : ["--port=0", ...args];
  const proc = spawn(BIN, ["--log-level=warn", ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`the node did not start within 10 s:\n${output}`));
    }, 10_000 * SLACK);
    const onData = (chunk) => {
      output += chunk;
      const m = /listening on (wss?):\/\/([^\s/]+):(\d+)\/ws/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      const port = Number(m[3]);
      const host = m[2];
      resolve({
        proc, port,
        url: `${m[1]}://${host}:${port}/ws`,
        base: `${m[1] === "wss" ? "https" : "http"}://${host}:${port}`,
        signal: (s) => proc.kill(s),
        // Resolves with the exit status; a node that does not stop within
        // 10 s is killed (status null) so that no test waits for ever.
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) {
            proc.kill("SIGCONT");
            proc.kill("SIGTERM");
          }
          const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000 * SLACK);
          const code = await exited;
          clearTimeout(killer);
          return code;
        },
      });
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the node exited (${code}) before listening:\n${output}`));
    });
  });
}

/**
 * Resolves with the argument of the next `event` on `emitter` that passes
 * `accept`; rejects after `ms`.
 * @param {{on: Function, off: Function}} emitter
 * @param {string} event
 * @param {number} [ms]
 * @param {(arg: any) => boolean} [accept]
 */
export function next(emitter, event, ms = 10_000, accept = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`no ${event} within ${ms * SLACK} ms`));
    }, ms * SLACK);
    const handler = (arg) => {
      if (!accept(arg)) return;
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(arg);
    };
    emitter.on(event, handler);
  });
}

/** An HS256 JWT. */
export function sign(claims, secret) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

/**
 * A WebSocket like a browser's: no ping events (ws shows them), so the
 * client has to probe. Only forwards.
 */
export class BrowserLikeSocket {
  constructor(url) {
    const s = new WebSocket(url);
    this.inner = s;
    s.onopen = (e) => this.onopen?.(e);
    s.onmessage = (e) => this.onmessage?.(e);
    s.onclose = (e) => this.onclose?.(e);
    s.onerror = (e) => this.onerror?.(e);
  }
  send(data) {
    this.inner.send(data);
  }
  close(code, reason) {
    this.inner.close(code, reason);
  }
}

/**
 * The nodes and clients of one test file: `node(args)` starts a node,
 * `client(url, options)` makes a client over `ws` with `defaults` under
 * `options`; after the file's tests the clients disconnect and the nodes stop.
 * @param {object} defaults Switchboard options every client of the file gets
 */
export function fixture(defaults = {}) {
  const nodes = [];
  const clients = [];
  after(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(nodes.map((n) => n.stop()));
  });
  return {
    async node(args = []) {
      const n = await startNode(args);
      nodes.push(n);
      return n;
    },
    client(url, options = {}) {
      const c = new Switchboard(url, { websocket: WebSocket, ...defaults, ...options });
      clients.push(c);
      return c;
    },
  };
}
