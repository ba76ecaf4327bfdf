import { launch, makeUser, openPage, startChirp } from "./chirp.mjs";
const chirp = await startChirp("probe3");
const browser = await launch();
try {
  const alice = await makeUser(chirp, "alice");
  for (let i = 1; i <= 20; i++) await chirp.api("POST", "/v1/tweets", { token: alice.token, body: { text: `budget tweet ${i}` } });
  const user = (await chirp.api("GET", `/v1/users/${alice.id}`)).data;
  const ms = [];
  for (let k = 0; k < 9; k++) {
    const p = await openPage(browser, chirp, { width: 1280, height: 800 });
    const { page, context } = p;
    await context.addInitScript((s) => localStorage.setItem("chirp.session", s), JSON.stringify({ token: alice.token, user }));
    await page.goto(`${chirp.base}/`);
    await page.getByRole("article").first().waitFor();
    ms.push(await page.evaluate(() => {
      const feed = performance.getEntriesByType("resource").find((e) => e.name.includes("/v1/feed?"));
      return performance.getEntriesByName("chirp:feed-rendered")[0].startTime - feed.responseEnd;
    }));
    await p.close();
  }
  ms.sort((a, b) => a - b);
  console.log(process.env.CHIRP_BIN, "median", ms[4].toFixed(1), "all", ms.map((x) => x.toFixed(0)).join(" "));
} finally { await browser.close(); await chirp.stop(); }
