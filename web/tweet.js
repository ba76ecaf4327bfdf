// tweet — a tweet as an <article>: its author, text (links, mentions and
// hashtags clickable), time and images, and what a reader can do with it:
// Reply (a composer under the tweet that posts with in_reply_to_id), Like
// (a toggle button, aria-pressed, shown at once and put back with a
// message if the server refuses) with their counts, and Delete on one's
// own tweets (with a confirmation). A retweet shows the tweet it passes on
// under who retweeted it. docs/api.md has the Tweet's fields.

import { api, currentSession } from "./api.js";
import { composeBox } from "./compose.js";
import { confirmDialog, go, h, linkify, timeEl, toast } from "./ui.js";

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
 * The Like toggle. The button changes at once; requests go one at a time
 * toward what the reader last asked for, so quick clicks end where the
 * reader left them. A refusal puts back the last state the server
 * confirmed and says so. Focus stays on the button throughout (it is never
 * disabled).
 */
function likeButton(t) {
  let server = { liked: !!t.liked, count: t.like_count || 0 }; // as last confirmed
  let want = server.liked;
  let busy = false;
  const icon = h("span", { class: "icon", "aria-hidden": "true" });
  const n = h("span", { class: "n" });
  const btn = h("button", { type: "button", class: "action like" }, icon, "Like", n);

  function render() {
    const count = Math.max(0, server.count + (want === server.liked ? 0 : want ? 1 : -1));
    btn.setAttribute("aria-pressed", String(want));
    icon.textContent = want ? "♥" : "♡";
    n.textContent = countText(count);
    btn.setAttribute("aria-label", actionLabel("Like", count, "like", "likes"));
  }

  async function sync() {
    busy = true;
    while (want !== server.liked) {
      const target = want;
      try {
        if (target) {
          const r = await api("POST", `/v1/tweets/${t.id}/likes`);
          server = { liked: true, count: r.data.like_count };
        } else {
          await api("DELETE", `/v1/tweets/${t.id}/likes`);
          server = { liked: false, count: Math.max(0, server.count - 1) };
        }
      } catch (e) {
        want = server.liked;
        toast(`Could not ${target ? "like" : "unlike"} the tweet: ${e.message}`);
      }
      render();
    }
    busy = false;
  }

  btn.addEventListener("click", () => {
    if (needSession("like tweets")) return;
    want = !want;
    render();
    if (!busy) sync();
  });
  render();
  return btn;
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
    h("header", null,
      h("a", { class: "author", href: `/@${t.author.handle}`, id: `n-${t.id}` },
        h("strong", null, t.author.display_name), " ", h("span", { class: "handle" }, `@${t.author.handle}`)),
      h("span", { "aria-hidden": "true" }, " · "),
      h("a", { class: "when", href: `/tweets/${t.id}` }, timeEl(t.created_at))),
    t.in_reply_to_id && !opts.thread
      ? h("p", { class: "context" }, h("a", { href: `/tweets/${t.id}` }, "Show the thread"))
      : null,
    h("p", { class: "text" }, linkify(t.text)),
    images(t));

  let replies = t.reply_count || 0;
  const replyCount = h("span", { class: "n" }, countText(replies));
  const reply = h("button", { type: "button", class: "action reply", "aria-expanded": "false",
    "aria-label": actionLabel("Reply", replies, "reply", "replies") }, "Reply", replyCount);
  const footer = h("footer", null, reply, likeButton(t));
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
