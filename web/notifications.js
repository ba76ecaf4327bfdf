// notifications — what others did to the reader (docs/api.md,
// Notifications): the count of unread ones in the navigation, kept
// current by the live stream's `notification` events (read again from
// GET /v1/notifications/unread_count when one comes, and whenever the
// stream opens, since events are not replayed), and the /notifications
// page, which lists them as the API groups them and marks them read.

import { api } from "./api.js";
import { liveState, onLive } from "./live.js";
import { avatar, rememberUsers } from "./users.js";
import { h, pagedList, timeEl } from "./ui.js";

let unread = 0;
let gen = 0; // bumped by each mark-read: a count read before it is stale
let reading = null; // the count request in flight
let again = false; // another event came while it was
let onPage = false; // the page is shown: what comes is read at once

/** A bell, drawn (no font has to have it); on a phone it stands for the word. */
function bell() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: 20, height: 20, "aria-hidden": "true",
    class: "bell", fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linejoin": "round" })) svg.setAttribute(k, v);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M12 3a6 6 0 0 0-6 6v4l-2 3h16l-2-3V9a6 6 0 0 0-6-6zM10 19a2 2 0 0 0 4 0");
  svg.append(path);
  return svg;
}

const badge = h("span", { class: "badge", "aria-hidden": "true" });
const link = h("a", { href: "/notifications", id: "nav-notifications" },
  bell(), h("span", { class: "label" }, "Notifications"), badge);

function renderBadge() {
  badge.textContent = unread > 99 ? "99+" : unread > 0 ? String(unread) : "";
  link.setAttribute("aria-label", unread > 0 ? `Notifications, ${unread} unread` : "Notifications");
}
renderBadge();

/** The navigation's link to /notifications with the unread count (one
 * element for the tab's life). */
export function notificationsLink() {
  return link;
}

/** Reads the unread count again (one request at a time; events that come
 * meanwhile cost one more, not one each). */
function refresh() {
  if (onPage) return;
  if (reading) {
    again = true;
    return;
  }
  const g = gen;
  reading = api("GET", "/v1/notifications/unread_count").then((r) => {
    if (g === gen && !onPage) {
      unread = r.data.count;
      renderBadge();
    }
  }).catch(() => {}).finally(() => {
    reading = null;
    if (again) {
      again = false;
      refresh();
    }
  });
}

onLive("state", (s) => { if (s === "open") refresh(); });
onLive("notification", () => refresh());

/** Forgets the count (log-out). */
export function resetNotifications() {
  gen++;
  unread = 0;
  renderBadge();
}

async function markRead(id) {
  gen++;
  unread = 0;
  renderBadge();
  try {
    await api("POST", "/v1/notifications/read", { body: { up_to_id: id } });
  } catch {
    // Left unread on the server: the count says so on the next event.
  }
}

const WHAT = {
  follow: "followed you",
  mention: "mentioned you",
  reply: "replied to your tweet",
  like: "liked your tweet",
  retweet: "retweeted your tweet",
};

/** Likes and retweets of one tweet are one entry (a new one replaces it). */
function groupOf(n) {
  return (n.type === "like" || n.type === "retweet") && n.tweet ? `${n.type}-${n.tweet.id}` : `n-${n.id}`;
}

/** One notification as a list item: who, what, when, and the tweet. */
export function notificationItem(n) {
  const a = n.actor;
  const others = (n.count || 1) - 1;
  const excerpt = n.tweet && [...n.tweet.text].slice(0, 140).join("");
  const target = n.tweet ? `/tweets/${n.tweet.id}` : `/@${a.handle}`;
  return h("li", { class: `notification ${n.type}`, id: `notif-${n.id}`, "data-group": groupOf(n) },
    avatar(a, 32),
    h("p", { class: "what" },
      h("a", { href: `/@${a.handle}`, class: "actor" }, h("strong", null, a.display_name)),
      others > 0 ? ` and ${others} ${others === 1 ? "other" : "others"} ` : " ",
      h("a", { href: target, class: "act" }, WHAT[n.type] || n.type),
      h("span", { "aria-hidden": "true" }, " · "), timeEl(n.created_at)),
    excerpt ? h("p", { class: "excerpt muted" }, excerpt.length < n.tweet.text.length ? `${excerpt}…` : excerpt) : null);
}

/**
 * Fills `list` (the /notifications page) with the reader's
 * notifications, newest first, marks them read, and keeps it current:
 * one that comes live goes on top (a like group replaces its older entry)
 * and is read at once. Returns what stops it.
 */
export function showNotifications(list) {
  onPage = true;
  const pages = pagedList(list, "/v1/notifications?limit=20", (n) => {
    rememberUsers([n.actor]);
    return notificationItem(n);
  }, "No notifications yet. Likes, retweets, replies, mentions and follows will show here.");
  pages.first.then((items) => {
    if (items && items.length && list.isConnected) markRead(items[0].id);
  });
  list.dataset.live = liveState();
  const offState = onLive("state", (st) => { list.dataset.live = st; });
  const off = onLive("notification", (n) => {
    if (!list.isConnected) return;
    rememberUsers([n.actor]);
    list.querySelector(`[data-group="${groupOf(n)}"]`)?.remove();
    list.prepend(notificationItem(n));
    markRead(n.id);
  });
  return () => {
    onPage = false;
    off();
    offState();
    pages.stop();
  };
}
