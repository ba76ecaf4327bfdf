import { launch, makeUser, openPage, startChirp } from "./chirp.mjs";
const chirp = await startChirp("probe2");
const browser = await launch();
try {
  const alice = await makeUser(chirp, "alice");
  for (let i = 1; i <= 20; i++) await chirp.api("POST", "/v1/tweets", { token: alice.token, body: { text: `budget tweet ${i} #tag @alice https://example.com/x` } });
  const p = await openPage(browser, chirp, { width: 1280, height: 800 });
  const { page, context } = p;
  const user = (await chirp.api("GET", `/v1/users/${alice.id}`)).data;
  await context.addInitScript((s) => localStorage.setItem("chirp.session", s), JSON.stringify({ token: alice.token, user }));
  await page.goto(`${chirp.base}/`);
  await page.getByRole("article").first().waitFor();
  const r = await page.evaluate(async (mod) => {
    const v = document.querySelector('script[type=module]').src.match(/assets\/([0-9a-f]+)\//)[1];
    let m;
    try { m = await import(`/assets/${v}/tweet.js`); } catch { m = await import(`/assets/${v}/ui.js`); }
    const data = await (await fetch("/v1/feed?limit=20", { headers: { Authorization: `Bearer ${JSON.parse(localStorage.getItem("chirp.session")).token}` } })).json();
    const main = document.getElementById("main");
    const times = [];
    for (let k = 0; k < 40; k++) {
      const box = document.createElement("div");
      box.className = "tweets";
      const t0 = performance.now();
      for (const t of data) { const el = m.tweetArticle(t); el.id += "x" + k; box.append(el); }
      main.append(box);
      box.getBoundingClientRect(); document.body.offsetHeight;
      times.push(performance.now() - t0);
      box.remove();
    }
    times.sort((a, b) => a - b);
    return { median: times[20], min: times[0] };
  });
  console.log(process.env.CHIRP_BIN, JSON.stringify(r));
} finally { await browser.close(); await chirp.stop(); }
