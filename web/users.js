// users — what the client knows of users beyond what a tweet carries: the
// reader's follows (for Follow buttons) and everyone's avatar. A tweet's
// `author` has no avatar_url (docs/api.md), so an avatar is a fixed-size
// slot with the author's initial, filled once the User is known: from a
// list that carries Users (the reader's following, a profile, people
// found, notifications' actors), else read by id, each once, after the
// view is on screen (never in the way of its first render).

import { api, currentSession } from "./api.js";
import { h } from "./ui.js";

const known = new Map(); // user id -> User (with avatar_url)
const wanted = new Map(); // user id -> the slots waiting for it
let following = null; // Promise<Set of ids> the reader follows, once per session
let flushing = false;

/** Remembers users from any answer that lists them; fills their slots. */
export function rememberUsers(users) {
  for (const u of users) {
    if (!u || !u.id || !("avatar_url" in u)) continue;
    known.set(u.id, u);
    for (const slot of document.querySelectorAll(`.avatar[data-user="${u.id}"]`)) fill(slot, u);
  }
}

/** Forgets the session's follows (a log-out, another user). */
export function forgetFollowing() {
  following = null;
}

/** The ids the reader follows (read once per session, 100 a page). */
export function followingSet(me) {
  following ||= (async () => {
    const ids = new Set();
    let url = `/v1/users/${me.id}/following?limit=100`;
    for (let i = 0; url && i < 100; i++) {
      const r = await api("GET", url);
      if (!r.data.length) break;
      rememberUsers(r.data);
      for (const u of r.data) ids.add(u.id);
      url = r.next;
    }
    return ids;
  })().catch((e) => {
    following = null;
    throw e;
  });
  return following;
}

function fill(slot, u) {
  const img = slot.querySelector("img");
  if (!u.avatar_url) {
    img?.remove();
    return;
  }
  if (img) {
    if (img.getAttribute("src") !== u.avatar_url) img.src = u.avatar_url;
    return;
  }
  const size = slot.dataset.size;
  slot.append(h("img", { src: u.avatar_url, alt: "", width: size, height: size, loading: "lazy", decoding: "async" }));
}

/** Reads the users the slots on screen still wait for: first the
 * reader's following (one request for most of a feed), then the rest by
 * id, a few at a time. */
async function flush() {
  const me = currentSession();
  try {
    if (me) await followingSet(me.user).catch(() => {});
    const ids = [...wanted.keys()].filter((id) => !known.has(id));
    wanted.clear();
    const next = async () => {
      for (let id; (id = ids.shift()) !== undefined;) {
        try {
          rememberUsers([(await api("GET", `/v1/users/${id}`)).data]);
        } catch {
          // Gone, or blocked: the initial stays, and is not asked for again.
          known.set(id, { id, avatar_url: null });
        }
      }
    };
    await Promise.all([next(), next(), next(), next()]);
  } finally {
    flushing = false;
    if (wanted.size) schedule();
  }
}

function schedule() {
  if (flushing) return;
  flushing = true;
  setTimeout(flush, 0); // after the render that asked (a task, not a microtask)
}

/**
 * A user's avatar: a square of `size` px (fixed before anything loads, so
 * nothing moves), the initial of their name until the image is known.
 * Decorative: the name is always written beside it.
 */
export function avatar(user, size = 40) {
  const name = user.display_name || user.handle || "?";
  const slot = h("span", { class: `avatar s${size}`, "data-user": user.id, "data-size": size, "aria-hidden": "true" },
    h("span", { class: "initial" }, [...name][0].toUpperCase()));
  if ("avatar_url" in user) known.set(user.id, user);
  const u = known.get(user.id);
  if (u) {
    fill(slot, u);
  } else {
    wanted.set(user.id, true);
    schedule();
  }
  return slot;
}
