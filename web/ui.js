// ui — building blocks every view uses: an element builder that only ever
// makes text nodes of user content (never HTML), clickable mentions,
// hashtags and links (tweetText), relative times, the confirmation dialog, toasts, a
// way to go to another client route, and a list that loads the next page
// (the Link header's) as the reader scrolls. Tweets are tweet.js's.

import { api } from "./api.js";

/** h("a", {href: "/"}, "text", child, ...): attributes, then children. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

// A URL runs to white space; punctuation that ends a sentence is not part
// of it. Mentions and hashtags come from the tweet's entities (the
// server's rules, docs/api.md); these two are only for a tweet without them.
const URL_RE = /https?:\/\/[^\s<>"]+/g;
const MENTION_RE = /(?<![\p{L}\p{N}_@])@([A-Za-z0-9_]{1,30})/gu;
const HASHTAG_RE = /(?<![\p{L}\p{N}_&#])#([\p{L}\p{N}_]+)/gu;

/** Where a hashtag's tweets are (a client route). */
export function hashtagPath(tag) {
  return `/hashtags/${encodeURIComponent(tag)}`;
}

/**
 * A tweet's text as nodes: its URLs (rel="noopener noreferrer nofollow",
 * in a new tab), mentions (to the profile) and hashtags (to the tag's
 * tweets) as <a>, the rest as text. Entity offsets are code points; a
 * mention or tag inside a URL (a #fragment) stays part of the URL.
 */
export function tweetText(t) {
  const text = t.text;
  const spans = [];
  for (const m of text.matchAll(URL_RE)) {
    const url = m[0].replace(/[.,;:!?)'\]]+$/, "");
    spans.push({ start: m.index, end: m.index + url.length, href: url, external: true });
  }
  if (t.entities) {
    const at = [0]; // code point -> UTF-16 offset
    for (const ch of text) at.push(at[at.length - 1] + ch.length);
    for (const m of t.entities.mentions || []) spans.push({ start: at[m.start], end: at[m.end], href: `/@${m.handle}` });
    for (const x of t.entities.hashtags || []) spans.push({ start: at[x.start], end: at[x.end], href: hashtagPath(x.tag) });
  } else {
    for (const m of text.matchAll(MENTION_RE)) spans.push({ start: m.index, end: m.index + m[0].length, href: `/@${m[1]}` });
    for (const m of text.matchAll(HASHTAG_RE)) spans.push({ start: m.index, end: m.index + m[0].length, href: hashtagPath(m[1]) });
  }
  spans.sort((a, b) => a.start - b.start);
  const out = [];
  let last = 0;
  for (const s of spans) {
    if (!(s.start >= last && s.end > s.start && s.end <= text.length)) continue; // overlaps, or out of the text
    if (s.start > last) out.push(text.slice(last, s.start));
    const label = text.slice(s.start, s.end);
    out.push(s.external ? h("a", { href: s.href, rel: "noopener noreferrer nofollow", target: "_blank" }, label)
      : h("a", { href: s.href }, label));
    last = s.end;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const dayMonth = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const dayMonthYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", year: "numeric" });

/** "now", "42s", "5m", "3h", "Dec 4", "Dec 4, 2025". */
export function relativeTime(date, now = Date.now()) {
  const s = Math.round((now - date.getTime()) / 1000);
  if (s < 5) return "now";
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return (date.getFullYear() === new Date(now).getFullYear() ? dayMonth : dayMonthYear).format(date);
}

// Made once: a formatter costs far more to make than to use.
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

/** A <time>: relative, with the exact time on hover. */
export function timeEl(iso) {
  const d = new Date(iso);
  return h("time", { datetime: iso, title: exact.format(d) }, relativeTime(d));
}

// Relative times age: refresh them all twice a minute.
setInterval(() => {
  for (const t of document.querySelectorAll("time[datetime]"))
    t.textContent = relativeTime(new Date(t.getAttribute("datetime")));
}, 30000);

/** Asks a yes/no question in a modal dialog; resolves to true on yes. */
export function confirmDialog(question, yes) {
  return new Promise((resolve) => {
    const d = h("dialog", { class: "confirm", "aria-labelledby": "confirm-question" },
      h("p", { id: "confirm-question" }, question),
      h("form", { method: "dialog", class: "row" },
        h("button", { value: "cancel", class: "secondary" }, "Cancel"),
        h("button", { value: "yes", class: "danger" }, yes)));
    d.addEventListener("close", () => {
      resolve(d.returnValue === "yes");
      d.remove();
    });
    document.body.append(d);
    d.showModal();
  });
}

let goTo = (url) => location.assign(url);

/** Goes to a client route; app.js makes it one without a reload. */
export function go(url) {
  goTo(url);
}

/** fn(url) is how go() goes (app.js: navigate). */
export function setNavigator(fn) {
  goTo = fn;
}

/** A short message for everyone, screen readers included. */
export function toast(message) {
  const t = document.getElementById("toast") || document.body.appendChild(h("div", { id: "toast", role: "status" }));
  t.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ""; }, 6000);
}

/**
 * A list that shows the page at url, then the next ones (rel="next") as the
 * reader nears its end. render(item) makes an element with a unique id, so
 * an item already shown (from the live stream, say) is not shown twice.
 * Resolves, once the first page is shown, to its items (null if it could
 * not be loaded).
 */
export function pagedList(list, url, render, empty) {
  const status = h("p", { class: "muted status", role: "status" }, "Loading…");
  const sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
  list.after(status, sentinel);
  let next = url;
  let busy = false;
  let first;
  async function more() {
    if (!next || busy || !list.isConnected) return [];
    busy = true;
    try {
      const r = await api("GET", next);
      const items = r.data || [];
      next = items.length ? r.next : null;
      // Hide the status before the items go in, so that nothing moves.
      status.hidden = true;
      const frag = document.createDocumentFragment();
      for (const it of items) {
        const el = render(it);
        if (!document.getElementById(el.id)) frag.append(el);
      }
      list.append(frag);
      if (!next && !list.children.length) {
        // Shown while the list is empty: a tweet posted or streamed in
        // later hides it (app.css, .tweets:not(:empty) + .empty).
        status.textContent = empty;
        status.classList.add("empty");
        status.hidden = false;
      }
      return items;
    } catch (e) {
      status.textContent = `Could not load: ${e.message}`;
      status.hidden = false;
      next = null;
      return null;
    } finally {
      busy = false;
      if (next && sentinel.getBoundingClientRect().top < innerHeight + 800) queueMicrotask(more);
    }
  }
  const io = new IntersectionObserver((es) => { if (es.some((e) => e.isIntersecting)) more(); },
    { rootMargin: "800px 0px" });
  io.observe(sentinel);
  first = more();
  return { first, stop: () => io.disconnect() };
}
