// Helpers for the browser tests: start the real chirp on a free loopback
// port with a temporary data directory (as tests/http/chirp_client.py
// does), talk to its API from node, and open Debian's Chromium through
// playwright-core with guards that fail a test on any console error,
// uncaught exception, or request to another origin.

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, "../..");
export const CHIRP_BIN = process.env.CHIRP_BIN || path.join(REPO, "chirp");
// Sanitizer builds are slower: every wait scales (as in tests/http).
export const FACTOR = Number(process.env.CHIRP_TIMEOUT_FACTOR || (CHIRP_BIN.endsWith("-san") ? 3 : 1));
export const OUT = process.env.WEB_TEST_OUT || path.join(REPO, "build", "web-test");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
mkdirSync(OUT, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A chirp of its own: {base, api(), stop()}. stop() fails if chirp does
 * not exit cleanly (a sanitizer report, say). */
export async function startChirp(name) {
  const data = mkdtempSync(path.join(os.tmpdir(), "chirp-web-"));
  const logPath = path.join(OUT, `${name}.chirp.log`);
  const port = await freePort();
  const log = openSync(logPath, "w");
  const proc = spawn(CHIRP_BIN, ["serve", "--listen", `127.0.0.1:${port}`, "--data", data,
    "--threads", "2", "--no-rate-limits", "--password-hash-cost", "test"],
    { stdio: ["ignore", log, log] });
  let exited = null;
  proc.on("exit", (code, signal) => { exited = { code, signal }; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000 * FACTOR;
  for (;;) {
    if (exited) throw new Error(`chirp exited at start: ${readFileSync(logPath, "utf8")}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error("chirp did not start");
    await sleep(50);
  }
  return {
    base,
    api: (method, p, opts) => apiCall(base, method, p, opts),
    async stop() {
      if (!exited) {
        proc.kill("SIGTERM");
        const until = Date.now() + 20000 * FACTOR;
        while (!exited && Date.now() < until) await sleep(50);
        if (!exited) proc.kill("SIGKILL");
      }
      rmSync(data, { recursive: true, force: true });
      if (!exited || exited.code !== 0)
        throw new Error(`chirp did not exit cleanly (${JSON.stringify(exited)}):\n${readFileSync(logPath, "utf8").slice(-4000)}`);
    },
  };
}

async function apiCall(base, method, p, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, data: text ? JSON.parse(text) : null };
}

/** Signs up and logs in a user through the API: {id, handle, token, password}. */
export async function makeUser(chirp, handle, password = "correct horse battery") {
  const u = await chirp.api("POST", "/v1/users", { body: { handle, password } });
  if (u.status !== 201) throw new Error(`sign-up ${handle}: ${u.status} ${JSON.stringify(u.data)}`);
  const s = await chirp.api("POST", "/v1/sessions", { body: { handle, password } });
  return { id: u.data.id, handle, password, token: s.data.token };
}

/** Waits until fn() is truthy (polling), or fails with what. */
export async function until(fn, what, ms = 10000) {
  const deadline = Date.now() + ms * FACTOR;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// The flags Chromium needs here: no sandbox as root, and none of its own
// background traffic (this machine has no network beyond loopback).
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const NARROW = { width: 360, height: 740 }; // the narrowest phones in common use

/**
 * A new browser context and page on chirp, with its guards: every console
 * error, page error and request to another origin is recorded, and
 * check() fails the test if there was any.
 */
export async function openPage(browser, chirp, viewport = DESKTOP, colorScheme = "light") {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, colorScheme });
  context.setDefaultTimeout(10000 * FACTOR);
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(`${chirp.base}/`) && !u.startsWith("data:") && !u.startsWith("blob:"))
      problems.push(`request to another origin: ${u}`);
  });
  return {
    page,
    context,
    problems,
    check() {
      if (problems.length) throw new Error(problems.join("\n"));
    },
    async close() {
      await context.close();
    },
  };
}

/** Saves a screenshot under the output directory. */
export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
}

/** True when the page scrolls sideways (it must not, down to 360 px). */
export function scrollsSideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
}

/** A w×h RGB PNG, made here so that tests need no image file. colour(x, y)
 * gives [r, g, b]; by default one grey. */
export function png(w, h, colour = () => [0x3c, 0x3c, 0x3c]) {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bits per sample
  ihdr[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3); // filter byte 0, then pixels
    for (let x = 0; x < w; x++) row.set(colour(x, y), 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(Buffer.concat(rows))), chunk("IEND", Buffer.alloc(0))]);
}
