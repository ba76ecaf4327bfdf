// masto.js, a Mastodon client library many apps are built on, against the
// real chirp: register an app, sign up, log in, post, reply, read the home
// timeline, follow, favourite, reblog, notifications, and revoke, all
// through the library's own calls (it sends OAuth as multipart forms and
// the rest as JSON).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";
import WebSocket from "ws";

const here = path.dirname(fileURLToPath(import.meta.url));
const CHIRP_BIN = process.env.CHIRP_BIN || path.resolve(here, "../../chirp");
const FACTOR = Number(process.env.CHIRP_TIMEOUT_FACTOR || 1);
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

let chirp;

before(async () => {
  const data = mkdtempSync(path.join(os.tmpdir(), "chirp-masto-"));
  const logPath = path.join(data, "chirp.log");
  const port = await freePort();
  const log = openSync(logPath, "w");
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--data", `${data}/d`, "--threads", "2",
    "--no-rate-limits", "--password-hash-cost", "test",
    ...(process.env.CHIRP_SERVE_ARGS || "").split(" ").filter(Boolean)];
  const proc = spawn(CHIRP_BIN, args, { stdio: ["ignore", log, log] });
  let exited = null;
  proc.on("exit", (code, signal) => { exited = { code, signal }; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000 * FACTOR;
  for (;;) {
    if (exited) throw new Error(`chirp exited at start: ${readFileSync(logPath, "utf8")}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error("chirp did not start");
    await sleep(50);
  }
  chirp = { url, proc, data, logPath, exited: () => exited };
});

after(async () => {
  if (!chirp) return;
  if (!chirp.exited()) chirp.proc.kill("SIGTERM");
  const until = Date.now() + 20000 * FACTOR;
  while (!chirp.exited() && Date.now() < until) await sleep(50);
  const ex = chirp.exited();
  const log = readFileSync(chirp.logPath, "utf8");
  rmSync(chirp.data, { recursive: true, force: true });
  assert.deepEqual(ex, { code: 0, signal: null }, `chirp did not exit cleanly:\n${log.slice(-4000)}`);
});

const SCOPES = "read write follow";

/** A w×h PNG of one colour. */
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array(w).fill([60, 120, 200]).flat())]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(Buffer.concat(Array(h).fill(row)))),
    chunk("IEND", Buffer.alloc(0))]);
}
const OOB = "urn:ietf:wg:oauth:2.0:oob";

async function registerApp() {
  const anon = createRestAPIClient({ url: chirp.url });
  return anon.v1.apps.create({ clientName: "masto.js test", redirectUris: OOB, scopes: SCOPES });
}

/** A new account, signed up the way Mastodon apps do it: an app token
 * (client_credentials), then POST /api/v1/accounts. */
async function signUp(app, username) {
  const oauth = createOAuthAPIClient({ url: chirp.url });
  const appToken = await oauth.token.create({
    grantType: "client_credentials", clientId: app.clientId, clientSecret: app.clientSecret,
    redirectUri: OOB, scope: SCOPES,
  });
  const asApp = createRestAPIClient({ url: chirp.url, accessToken: appToken.accessToken });
  const token = await asApp.v1.accounts.create({
    username, email: `${username}@example.org`, password: "correct horse battery",
    agreement: true, locale: "en",
  });
  return createRestAPIClient({ url: chirp.url, accessToken: token.accessToken });
}

test("instance and nodeinfo as clients read them", async () => {
  const anon = createRestAPIClient({ url: chirp.url });
  const v2 = await anon.v2.instance.fetch();
  assert.match(v2.version, /^4\.\d+\.\d+ \(compatible; chirp/);
  assert.equal(v2.configuration.statuses.maxCharacters, 280);
  assert.match(v2.configuration.urls.streaming, /^ws:\/\//);
  const v1 = await anon.v1.instance.fetch();
  assert.equal(v1.title, "chirp");
});

test("log in with a password, post, reply, read the home timeline", async () => {
  const app = await registerApp();
  const handle = `mj${Date.now() % 1e8}`;
  await signUp(app, handle);
  // Log in again as an app that was given the password does.
  const oauth = createOAuthAPIClient({ url: chirp.url });
  const token = await oauth.token.create({
    grantType: "password", clientId: app.clientId, clientSecret: app.clientSecret,
    redirectUri: OOB, username: `${handle}@example.org`, password: "correct horse battery",
    scope: SCOPES,
  });
  assert.equal(token.scope, SCOPES);
  const masto = createRestAPIClient({ url: chirp.url, accessToken: token.accessToken });
  const me = await masto.v1.accounts.verifyCredentials();
  assert.equal(me.acct, handle);

  const first = await masto.v1.statuses.create({ status: "hello from masto.js #chirp" });
  assert.equal(first.account.id, me.id);
  assert.match(first.content, /rel="tag">#<span>chirp<\/span>/);
  const reply = await masto.v1.statuses.create({ status: "and a reply", inReplyToId: first.id });
  assert.equal(reply.inReplyToId, first.id);
  const ctx = await masto.v1.statuses.$select(reply.id).context.fetch();
  assert.deepEqual(ctx.ancestors.map((s) => s.id), [first.id]);

  const home = await masto.v1.timelines.home.list({ limit: 10 });
  assert.deepEqual(home.map((s) => s.id), [reply.id, first.id]);
  // The paginator follows the Link header to the next page.
  const pages = masto.v1.timelines.home.list({ limit: 1 });
  const seen = [];
  for await (const page of pages) {
    seen.push(...page.map((s) => s.id));
    if (seen.length >= 3) break;
  }
  assert.deepEqual(seen, [reply.id, first.id]);

  // Upload an image (v2: the library polls until it is processed), attach it.
  const media = await masto.v2.media.create({ file: new Blob([png(40, 30)], { type: "image/png" }) });
  assert.match(media.url, /^http:\/\/.*\/blobs\//);
  assert.equal(media.meta.original.width, 40);
  const pic = await masto.v1.statuses.create({ status: "a picture", mediaIds: [media.id] });
  assert.deepEqual(pic.mediaAttachments.map((m) => m.id), [media.id]);
  assert.equal((await fetch(media.previewUrl)).status, 200);
  await masto.v1.statuses.$select(pic.id).remove();

  const updated = await masto.v1.accounts.updateCredentials({ displayName: "Masto J", note: "hi" });
  assert.equal(updated.displayName, "Masto J");

  await oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: token.accessToken });
  await assert.rejects(masto.v1.accounts.verifyCredentials(), (e) => e.statusCode === 401);
});

test("follow, favourite, and a followed account's post in the home timeline", async () => {
  const app = await registerApp();
  const a = await signUp(app, `ma${Date.now() % 1e8}`);
  const b = await signUp(app, `mb${Date.now() % 1e8}`);
  const bMe = await b.v1.accounts.verifyCredentials();
  const aMe = await a.v1.accounts.verifyCredentials();
  const found = await a.v1.accounts.lookup({ acct: bMe.acct });
  assert.equal(found.id, bMe.id);
  const searched = await a.v2.search.list({ q: `@${bMe.acct}`, type: "accounts", resolve: true });
  assert.deepEqual(searched.accounts.map((x) => x.id), [bMe.id]);
  const rel = await a.v1.accounts.$select(bMe.id).follow();
  assert.equal(rel.following, true);
  const followers = await a.v1.accounts.$select(bMe.id).followers.list();
  assert.deepEqual(followers.map((x) => x.id), [aMe.id]);

  const post = await b.v1.statuses.create({ status: "from b" });
  let home = [];
  for (let i = 0; i < 50 && !home.some((s) => s.id === post.id); i++) {
    home = await a.v1.timelines.home.list();
    await sleep(100);
  }
  assert.ok(home.some((s) => s.id === post.id), "b's post reaches a's home timeline");

  let hits = [];
  for (let i = 0; i < 50 && hits.length === 0; i++) {
    hits = (await a.v2.search.list({ q: "from", type: "statuses" })).statuses;
    if (!hits.length) await sleep(100);
  }
  assert.ok(hits.some((s) => s.id === post.id), "the post is found by search");

  const faved = await a.v1.statuses.$select(post.id).favourite();
  assert.equal(faved.favourited, true);
  assert.equal(faved.favouritesCount, 1);
  const by = await b.v1.statuses.$select(post.id).favouritedBy.list();
  assert.deepEqual(by.map((x) => x.id), [aMe.id]);
  const unfaved = await a.v1.statuses.$select(post.id).unfavourite();
  assert.equal(unfaved.favourited, false);

  const unrel = await a.v1.accounts.$select(bMe.id).unfollow();
  assert.equal(unrel.following, false);
  const deleted = await b.v1.statuses.$select(post.id).remove();
  assert.equal(deleted.id, post.id);
  await assert.rejects(a.v1.statuses.$select(post.id).fetch(), (e) => e.statusCode === 404);
});

test("reblog and unreblog, and the author's notifications of them", async () => {
  const app = await registerApp();
  const a = await signUp(app, `ra${Date.now() % 1e8}`);
  const b = await signUp(app, `rb${Date.now() % 1e8}`);
  const aMe = await a.v1.accounts.verifyCredentials();
  const post = await b.v1.statuses.create({ status: "reblog me" });
  const reblog = await a.v1.statuses.$select(post.id).reblog();
  assert.equal(reblog.reblog.id, post.id);
  assert.equal(reblog.account.id, aMe.id);
  assert.equal(reblog.reblog.reblogged, true);
  assert.equal(reblog.reblog.reblogsCount, 1);
  await a.v1.statuses.$select(post.id).favourite();
  const notes = await b.v1.notifications.list();
  assert.deepEqual(notes.map((n) => [n.type, n.account.id, n.status.id]),
    [["favourite", aMe.id, post.id], ["reblog", aMe.id, post.id]]);
  const only = await b.v1.notifications.list({ types: ["reblog"] });
  assert.deepEqual(only.map((n) => n.type), ["reblog"]);
  const undone = await a.v1.statuses.$select(post.id).unreblog();
  assert.equal(undone.id, post.id);
  assert.equal(undone.reblogged, false);
  assert.equal(undone.reblogsCount, 0);
});

test("an avatar, who reblogged, one notification, dismiss, clear and markers", async () => {
  const app = await registerApp();
  const a = await signUp(app, `na${Date.now() % 1e8}`);
  const b = await signUp(app, `nb${Date.now() % 1e8}`);
  const bMe = await b.v1.accounts.verifyCredentials();
  const me = await a.v1.accounts.updateCredentials({
    displayName: "Pictured", avatar: new Blob([png(48, 48)], { type: "image/png" }),
  });
  assert.equal(me.displayName, "Pictured");
  assert.match(me.avatar, /^http:\/\/.*\/blobs\//);
  assert.equal((await fetch(me.avatar)).status, 200);
  const post = await a.v1.statuses.create({ status: "pictured post" });
  assert.equal(post.account.avatar, me.avatar);
  await b.v1.statuses.$select(post.id).reblog();
  await b.v1.statuses.$select(post.id).favourite();
  const by = await a.v1.statuses.$select(post.id).rebloggedBy.list();
  assert.deepEqual(by.map((x) => x.id), [bMe.id]);
  const [fav, reb] = await a.v1.notifications.list();
  assert.deepEqual([fav.type, reb.type], ["favourite", "reblog"]);
  assert.equal((await a.v1.notifications.$select(reb.id).fetch()).id, reb.id);
  await a.v1.markers.create({ notifications: { lastReadId: fav.id } });
  const markers = await a.v1.markers.fetch({ timeline: ["notifications"] });
  assert.equal(markers.notifications.lastReadId, fav.id);
  await a.v1.notifications.$select(fav.id).dismiss();
  assert.deepEqual((await a.v1.notifications.list()).map((n) => n.id), [reb.id]);
  await a.v1.notifications.clear();
  assert.deepEqual(await a.v1.notifications.list(), []);
});

test("a read-only token cannot post", async () => {
  const app = await registerApp();
  const handle = `mr${Date.now() % 1e8}`;
  await signUp(app, handle);
  const oauth = createOAuthAPIClient({ url: chirp.url });
  const token = await oauth.token.create({
    grantType: "password", clientId: app.clientId, clientSecret: app.clientSecret,
    redirectUri: OOB, username: handle, password: "correct horse battery", scope: "read",
  });
  const masto = createRestAPIClient({ url: chirp.url, accessToken: token.accessToken });
  await assert.rejects(masto.v1.statuses.create({ status: "nope" }), (e) => e.statusCode === 403);
  assert.deepEqual(await masto.v1.timelines.home.list(), []);
});

test("the streaming client receives an update over the WebSocket", async () => {
  const app = await registerApp();
  const handle = `ms${Date.now() % 1e8}`;
  await signUp(app, handle);
  const oauth = createOAuthAPIClient({ url: chirp.url });
  const { accessToken } = await oauth.token.create({
    grantType: "password", clientId: app.clientId, clientSecret: app.clientSecret,
    redirectUri: OOB, username: handle, password: "correct horse battery", scope: SCOPES,
  });
  const rest = createRestAPIClient({ url: chirp.url, accessToken });
  const v2 = await rest.v2.instance.fetch();
  // Where the instance document says the streaming API is: masto.js adds
  // /api/v1/streaming and sends the token as the WebSocket subprotocol.
  const streaming = createStreamingAPIClient({
    streamingApiUrl: v2.configuration.urls.streaming, accessToken,
    implementation: WebSocket, // Node 20 has none of its own: the ws package masto.js brings
  });
  const sub = streaming.public.subscribe();
  try {
    const first = (async () => {
      for await (const event of sub) {
        if (event.event === "update") return event.payload;
      }
      return null;
    })();
    // The subscription goes out once the socket is open; post until it is heard.
    let status = null, got = null;
    const deadline = Date.now() + 15000 * FACTOR;
    while (!got) {
      status = await rest.v1.statuses.create({ status: `live ${Date.now()}` });
      got = await Promise.race([first, sleep(500).then(() => null)]);
      if (Date.now() > deadline) throw new Error("no update arrived");
    }
    assert.match(got.id, /^\d+$/);
    assert.match(got.content, /^<p>live \d+<\/p>$/);
    assert.ok(BigInt(got.id) <= BigInt(status.id));
  } finally {
    sub.unsubscribe();
    streaming.close();
  }
});
