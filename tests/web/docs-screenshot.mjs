// Makes docs/web-home.png, the README's picture of the home feed: a chirp
// of its own with three users (two with avatars), a few tweets, a reply,
// likes, a retweet and an image, unread notifications, and one tweet that
// arrives live. Not part of make test; run it by hand
// after a change to how the client looks:  node tests/web/docs-screenshot.mjs
import path from "node:path";
import { REPO, DESKTOP, launch, makeUser, openPage, png, startChirp, until } from "./chirp.mjs";

const out = process.argv[2] || path.join(REPO, "docs", "web-home.png");
const chirp = await startChirp("docs-screenshot");
const browser = await launch();
try {
  const alice = await makeUser(chirp, "alice");
  const bob = await makeUser(chirp, "bob");
  const carol = await makeUser(chirp, "carol");
  for (const u of [bob, carol]) await chirp.api("POST", `/v1/users/${u.id}/follows`, { token: alice.token });
  const post = (u, text, media_ids) => chirp.api("POST", "/v1/tweets", { token: u.token, body: { text, media_ids } });
  const sse = (await post(carol, "Reading docs/streaming.md: the live feed is plain Server-Sent Events, no polling. https://html.spec.whatwg.org/multipage/server-sent-events.html")).data;
  const coffee = (await post(bob, "Coffee first, then the #benchmarks. @carol, are you in?")).data;
  await chirp.api("POST", "/v1/tweets", { token: carol.token, body: { text: "Count me in.", in_reply_to_id: coffee.id } });
  const like = (u, t) => chirp.api("POST", `/v1/tweets/${t.id}/likes`, { token: u.token });
  await like(alice, sse);
  await like(bob, sse);

  // Images through the presigned flow (docs/media.md).
  const upload = async (u, img) => {
    const m = (await chirp.api("POST", "/v1/media", { token: u.token, body: { content_type: "image/png", size: img.length } })).data;
    await fetch(chirp.base + m.upload.url, { method: "PUT", body: img });
    await chirp.api("POST", `/v1/media/${m.id}/complete`, { token: u.token, body: {} });
    await until(async () => (await chirp.api("GET", `/v1/media/${m.id}`, { token: u.token })).data.status === "ready", "the image");
    return m;
  };
  for (const [u, c] of [[bob, (x, y) => [60 + x, 110 + y / 2, 200]], [carol, (x, y) => [220, 120 + x / 2, 90 + y]]]) {
    const a = await upload(u, png(96, 96, c));
    await chirp.api("PATCH", "/v1/users/me", { token: u.token, body: { avatar_media_id: a.id } });
  }
  await chirp.api("POST", `/v1/tweets/${sse.id}/retweets`, { token: bob.token });
  // A sunset, of sorts.
  const m = await upload(alice, png(800, 450, (x, y) => (y < 290 ? [250 - y / 3, 150 + y / 3, 80 + y / 2] : [40 + x / 12, 90, 60])));
  const sunset = (await post(alice, "Sunset over the harbour, posted from chirp's own web client. #chirp", [m.id])).data;
  await like(bob, sunset);
  await like(carol, sunset);

  const p = await openPage(browser, chirp, DESKTOP);
  const { page } = p;
  await page.goto(`${chirp.base}/`);
  await page.getByLabel("Handle").fill("alice");
  await page.getByLabel("Password").fill(alice.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("article").filter({ hasText: "Sunset" }).locator(".media img").waitFor();
  await page.getByRole("link", { name: /^Notifications, \d+ unread/ }).waitFor();
  await until(() => page.locator(".avatar img").evaluateAll((is) => is.length >= 2 && is.every((i) => i.complete && i.naturalWidth)), "the avatars");
  await page.locator("[data-live=open]").waitFor({ state: "attached" });
  await post(bob, "And this one arrived live, without a reload.");
  await page.getByRole("article").filter({ hasText: "arrived live" }).waitFor();
  const live = page.getByRole("article").filter({ hasText: "arrived live" }).getByRole("button", { name: /^Like/ });
  await live.click();
  await until(async () => (await live.getAttribute("aria-label")) === "Like, 1 like", "the like");
  await page.getByRole("textbox", { name: "What's happening?" }).fill("Trying chirp in the browser");
  await until(() => page.getByRole("article").first().locator(".media img").count().then(() => true), "layout");
  await page.screenshot({ path: out });
  p.check();
  await p.close();
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await chirp.stop();
}
