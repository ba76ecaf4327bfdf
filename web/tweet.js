// tweet — a tweet as an <article>: its author and avatar, text (links, mentions and
// hashtags clickable), time and images, and what a reader can do with it:
// Reply (a composer under the tweet that posts with in_reply_to_id),
// Retweet and Like (toggle buttons, aria-pressed, shown at once and put
// back with a message if the server refuses) with their counts, and Delete on one's
// own tweets (with a confirmation). A retweet shows the tweet it passes on
// under who retweeted it. docs/api.md has the Tweet's fields.

import { api, currentSession } from "./api.js";
import { composeBox } from "./compose.js";
import { confirmDialog, go, h, timeEl, toast, tweetText } from "./ui.js";
import { avatar } from "./users.js";

function images(t) {
  if (!t.media || !t.media.length) return null;
  return h("div", { class: `media n${t.media.length}` }, t.media.map((m) => {
    // The thumbnail's longest side is 400 px; its size is known before it
    // loads, so nothing moves when it arrives.
    const scale = Math.min(1, 400 / Math.max(m.width || 1, m.height || 1));
    return h("a", { href: m.url, target: "_blank", rel: "noopener" },
      h("img", {
        src: m.thumbnail_url || m.url, alt: `Image from @${t.author.handle}`, loading: "lazy",
        width: Math.round((m.width || 400) * scale), height: Math.round((m.height || 300) * scale),
      }));
  }));
}

const number = new Intl.NumberFormat();

/** A count as the actions show it: nothing for none. */
function countText(n) {
  return n > 0 ? number.format(n) : "";
}

/** An action's accessible name: "Like", "Like, 3 likes" (a screen reader
 * would otherwise read the label and the count run together). */
function actionLabel(action, n, one, many) {
  return n > 0 ? `${action}, ${number.format(n)} ${n === 1 ? one : many}` : action;
}

/** Anonymous readers are sent to the log-in form rather than refused. */
function needSession(what) {
  if (currentSession()) return false;
  toast(`Log in to ${what}.`);
  go("/");
  return true;
}

/**
 * A toggle on a tweet: Like or Retweet. The button changes at once;
 * requests go one at a time toward what the reader last asked for, so
 * quick clicks end where the reader left them. A refusal puts back the
 * last state the server confirmed and says so. Focus stays on the button
 * throughout (it is never disabled). `on` and `off` send the request;
 * `on` resolves to the count the server now has.
 */
function toggleButton({ name, cls, one, many, icons, state, count, on, off, verbs, login }) {
  let server = { on: !!state, count: count || 0 }; // as last confirmed
  let want = server.on;
  let busy = false;
  const icon = h("span", { class: "icon", "aria-hidden": "true" });
  const n = h("span", { class: "n" });
  const btn = h("button", { type: "button", class: `action ${cls}` }, icon, name, n);

  function render() {
    const shown = Math.max(0, server.count + (want === server.on ? 0 : want ? 1 : -1));
    btn.setAttribute("aria-pressed", String(want));
    icon.textContent = want ? icons[1] : icons[0];
    n.textContent = countText(shown);
    btn.setAttribute("aria-label", actionLabel(name, shown, one, many));
  }

  async function sync() {
    busy = true;
    while (want !== server.on) {
      const target = want;
      try {
        server = target ? { on: true, count: await on() }
          : (await off(), { on: false, count: Math.max(0, server.count - 1) });
      } catch (e) {
        want = server.on;
        toast(`Could not ${verbs[target ? 0 : 1]}: ${e.message}`);
      }
      render();
    }
    busy = false;
  }

  btn.addEventListener("click", () => {
    if (needSession(login)) return;
    want = !want;
    render();
    if (!busy) sync();
  });
  render();
  return btn;
}

function likeButton(t) {
  return toggleButton({
    name: "Like", cls: "like", one: "like", many: "likes", icons: ["♡", "♥"], verbs: ["like the tweet", "unlike the tweet"],
    login: "like tweets", state: t.liked, count: t.like_count,
    on: async () => (await api("POST", `/v1/tweets/${t.id}/likes`)).data.like_count,
    off: () => api("DELETE", `/v1/tweets/${t.id}/likes`),
  });
}

/** Retweet, or undo one's retweet (docs/api.md, Retweets). The answer is
 * the retweet: the count is its original's. */
function retweetButton(t) {
  return toggleButton({
    name: "Retweet", cls: "retweet", one: "retweet", many: "retweets", icons: ["↻", "↻"],
    verbs: ["retweet", "undo the retweet"], login: "retweet", state: t.retweeted, count: t.retweet_count,
    on: async () => (await api("POST", `/v1/tweets/${t.id}/retweets`)).data.retweet_of.retweet_count,
    off: () => api("DELETE", `/v1/tweets/${t.id}/retweets`),
  });
}

/**
 * A retweet: the tweet it passes on, as it is, under a line that says who
 * retweeted it. The article takes the retweet's id, so a live page that
 * already shows this retweet does not show it twice.
 */
function retweetArticle(rt, opts) {
  const art = tweetArticle(rt.retweet_of, opts);
  art.id = `t-${rt.id}`;
  art.dataset.id = rt.id;
  art.dataset.of = rt.retweet_of.id; // its delete takes this one too
  art.classList.add("retweet");
  art.prepend(h("p", { class: "context retweeted" }, "↻ ",
    h("a", { href: `/@${rt.author.handle}` }, rt.author.display_name), " retweeted"));
  return art;
}

/**
 * A tweet as an <article>. opts.thread: shown in its thread (no "in reply
 * to" link); opts.onReply(reply, article): shows a reply the reader just
 * posted (by default right under the tweet it answers).
 */
export function tweetArticle(t, opts = {}) {
  if (t.retweet_of) return retweetArticle(t, opts);
  const me = currentSession();
  const mine = me && me.user.id === t.author.id;
  const art = h("article", { class: "tweet", id: `t-${t.id}`, "data-id": t.id, "aria-labelledby": `n-${t.id}` },
    avatar(t.author, 40),
    h("header", null,
      h("a", { class: "author", href: `/@${t.author.handle}`, id: `n-${t.id}` },
        h("strong", null, t.author.display_name), " ", h("span", { class: "handle" }, `@${t.author.handle}`)),
      h("span", { "aria-hidden": "true" }, " · "),
      h("a", { class: "when", href: `/tweets/${t.id}` }, timeEl(t.created_at))),
    t.in_reply_to_id && !opts.thread
      ? h("p", { class: "context" }, h("a", { href: `/tweets/${t.id}` }, "Show the thread"))
      : null,
    h("p", { class: "text" }, tweetText(t)),
    images(t));

  let replies = t.reply_count || 0;
  const replyCount = h("span", { class: "n" }, countText(replies));
  const reply = h("button", { type: "button", class: "action reply", "aria-expanded": "false",
    "aria-label": actionLabel("Reply", replies, "reply", "replies") }, "Reply", replyCount);
  const footer = h("footer", null, reply, retweetButton(t), likeButton(t));
  art.append(footer);

  let box = null;
  function closeBox() {
    box?.remove();
    box = null;
    reply.setAttribute("aria-expanded", "false");
    reply.removeAttribute("aria-controls");
    reply.focus();
  }
  reply.addEventListener("click", () => {
    if (needSession("reply")) return;
    if (box) {
      closeBox();
      return;
    }
    box = composeBox({
      id: `reply-${t.id}`, replyTo: t.id, label: `Reply to @${t.author.handle}`,
      title: `Reply to @${t.author.handle}`, submit: "Post reply", onCancel: closeBox,
      onPosted(r) {
        closeBox();
        replies++;
        replyCount.textContent = countText(replies);
        reply.setAttribute("aria-label", actionLabel("Reply", replies, "reply", "replies"));
        if (opts.onReply) opts.onReply(r, art);
        // Under the tweet it answers, even if the live feed was quicker
        // and put it on top.
        else art.after(document.getElementById(`t-${r.id}`) || tweetArticle(r));
        toast("Your reply is posted.");
      },
    });
    box.id = `reply-${t.id}-form`;
    reply.setAttribute("aria-controls", box.id);
    reply.setAttribute("aria-expanded", "true");
    footer.after(box);
    box.querySelector("textarea").focus();
  });

  if (mine) {
    const del = h("button", { class: "action danger", type: "button" }, "Delete");
    del.addEventListener("click", async () => {
      if (!(await confirmDialog("Delete this tweet? This can't be undone.", "Delete"))) return;
      del.disabled = true;
      try {
        await api("DELETE", `/v1/tweets/${t.id}`);
        art.remove();
      } catch (e) {
        del.disabled = false;
        toast(`Could not delete: ${e.message}`);
      }
    });
    footer.append(del);
  }
  return art;
}
