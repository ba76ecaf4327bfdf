// app — chirp's web client: the client-side routes (/, /@handle,
// /tweets/{id}, /search?q=, /hashtags/{tag}, /notifications), the log-in
// form, the home feed kept live by the stream (docs/streaming.md, live.js),
// profiles with Follow and the owner's avatar, and search. Plain modules
// over the v1 API; chirp serves them (docs/architecture.md).

import { api, ApiError, currentSession, saveSession, setUnauthorizedHandler } from "./api.js";
import { composeBox, IMAGE_TYPES, uploadImage } from "./compose.js";
import { onLive, restartLive, startLive, stopLive } from "./live.js";
import { notificationsLink, resetNotifications, showNotifications } from "./notifications.js";
import { tweetArticle } from "./tweet.js";
import { h, pagedList, setNavigator, toast } from "./ui.js";
import { avatar, followingSet, forgetFollowing, rememberUsers } from "./users.js";

const main = document.getElementById("main");
const account = document.getElementById("account");
let cleanups = []; // what the current view must stop when it is left
let viewGen = 0; // which view is current: one that loaded too late must not show

// ---------------------------------------------------------------- views

function show(title, ...nodes) {
  for (const f of cleanups) f();
  cleanups = [];
  document.title = title ? `${title} · chirp` : "chirp";
  main.replaceChildren(...nodes.filter((n) => n !== null));
}

function renderAccount() {
  const s = currentSession();
  if (s) {
    const out = h("button", { type: "button", class: "secondary" }, "Log out");
    out.addEventListener("click", logOut);
    account.replaceChildren(notificationsLink(), h("a", { href: `/@${s.user.handle}` }, `@${s.user.handle}`), out);
  } else {
    account.replaceChildren(location.pathname === "/" ? "" : h("a", { href: "/" }, "Log in or sign up"));
  }
}

function authView(message) {
  const handle = h("input", { id: "auth-handle", name: "handle", required: true, autocomplete: "username",
    pattern: "[A-Za-z0-9_]{1,30}", maxlength: 30, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { id: "auth-password", name: "password", type: "password", required: true,
    minlength: 8, autocomplete: "current-password" });
  const error = h("p", { class: "error", role: "alert" }, message || "");
  const login = h("button", { type: "submit" }, "Log in");
  const signup = h("button", { type: "button", class: "secondary" }, "Sign up");
  const form = h("form", { class: "auth", "aria-labelledby": "auth-title" },
    h("h1", { id: "auth-title", tabindex: -1 }, "Log in to chirp"),
    error,
    h("label", { for: "auth-handle" }, "Handle"), handle,
    h("p", { class: "hint muted", id: "auth-hint" }, "Letters, digits and _; a password of 8 characters or more."),
    h("label", { for: "auth-password" }, "Password"), password,
    h("div", { class: "row" }, login, signup));
  password.setAttribute("aria-describedby", "auth-hint");

  async function logIn() {
    const r = await api("POST", "/v1/sessions", { body: { handle: handle.value, password: password.value } });
    saveSession({ token: r.data.token, user: r.data.user });
    forgetFollowing();
    route();
  }
  async function run(what) {
    if (!form.reportValidity()) return;
    login.disabled = signup.disabled = true;
    error.textContent = "";
    try {
      await what();
    } catch (e) {
      error.textContent = e instanceof ApiError && e.code === "invalid_credentials"
        ? "Wrong handle or password." : e.message;
      login.disabled = signup.disabled = false;
    }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run(logIn); });
  signup.addEventListener("click", () => run(async () => {
    await api("POST", "/v1/users", { body: { handle: handle.value, password: password.value } });
    await logIn();
  }));
  show("Log in", form);
  renderAccount();
  return handle;
}

async function logOut() {
  show("", h("p", { class: "muted" }, "Logging out…"));
  try {
    await api("DELETE", "/v1/sessions/current");
  } catch {
    // Revoked already, or offline: forget it here all the same.
  }
  saveSession(null);
  forgetFollowing();
  stopLive();
  resetNotifications();
  history.pushState(null, "", "/");
  route();
}

const EMPTY_FEED_LAST_ID = "1"; // ids are never 0: 1 is older than every tweet

/** Keeps the home feed's list current from the live stream (live.js):
 * new tweets on top, deleted ones (and retweets of them) gone. */
function liveFeed(list) {
  const offs = [
    onLive("state", (st) => { list.dataset.live = st; }),
    onLive("tweet", (t) => {
      // A streamed Tweet's "liked" and "retweeted" are always false
      // (docs/api.md): right for a tweet just posted. A retweet of a tweet
      // shown already (the reader's own, say) is not shown again: a page
      // shows each tweet once, as the feed does.
      const id = t.retweet_of ? t.retweet_of.id : t.id;
      if (!list.isConnected || document.getElementById(`t-${t.id}`) ||
          list.querySelector(`[data-id="${id}"], [data-of="${id}"]`)) return;
      list.prepend(tweetArticle(t));
    }),
    onLive("delete", ({ id }) => {
      for (const a of list.querySelectorAll(`#t-${id}, [data-of="${id}"]`)) a.remove();
    }),
  ];
  return () => { for (const off of offs) off(); };
}

async function home() {
  const list = h("div", { class: "tweets", role: "feed", "aria-label": "Your feed" });
  const compose = composeBox({
    onPosted(t) {
      if (!document.getElementById(`t-${t.id}`)) list.prepend(tweetArticle(t));
    },
  });
  show("Home", h("h1", { class: "visually-hidden", tabindex: -1 }, "Home"), compose, list);
  const pages = pagedList(list, "/v1/feed?limit=20", tweetArticle,
    "Your feed is empty. Post something, or find people to follow with the search box.");
  cleanups.push(pages.stop);
  cleanups.push(liveFeed(list));
  const first = await pages.first;
  performance.mark("chirp:feed-rendered");
  if (!list.isConnected) return;
  // The stream replays what reached the feed after the id it is given
  // (docs/streaming.md): the newest tweet shown, or, for a feed that was
  // empty, the smallest id there is, since everything in the feed by then
  // arrived after the page was read. Without one it would start at its
  // own opening and miss what was posted in between. (A page that could
  // not be read keeps the stream as it is, open for the navigation.)
  if (first === null) startLive();
  else restartLive(first.length ? first[0].id : EMPTY_FEED_LAST_ID);
}

function counts(u) {
  return h("ul", { class: "counts" },
    h("li", null, h("strong", null, String(u.tweets_count)), " Tweets"),
    h("li", null, h("strong", null, String(u.following_count)), " Following"),
    h("li", null, h("strong", null, String(u.followers_count)), " Followers"));
}

const MAX_NAME = 50;
const MAX_BIO = 160;
const codePoints = (s) => [...s].length;

/**
 * The reader's own profile editor: an Edit profile button that opens a
 * form for the display name and bio (PATCH /v1/users/me). onSaved(user)
 * with the user as the server now has it; the session keeps it too.
 */
function editProfile(user, onSaved) {
  const open = h("button", { type: "button", class: "secondary", "aria-expanded": "false",
    "aria-controls": "profile-edit" }, "Edit profile");
  const wrap = h("div", { class: "edit-profile" }, open);
  let form = null;
  function close() {
    form?.remove();
    form = null;
    open.setAttribute("aria-expanded", "false");
    open.focus();
  }
  open.addEventListener("click", () => {
    if (form) {
      close();
      return;
    }
    const nameIn = h("input", { id: "profile-display-name", name: "display_name", required: true,
      autocomplete: "nickname", "aria-describedby": "profile-name-hint" });
    nameIn.value = user.display_name;
    const bioIn = h("textarea", { id: "profile-bio", name: "bio", rows: 3, "aria-describedby": "profile-bio-count" });
    bioIn.value = user.bio || "";
    const left = h("span", { id: "profile-bio-count", class: "count", "aria-live": "polite" });
    const error = h("p", { class: "error", role: "alert" });
    const save = h("button", { type: "submit" }, "Save");
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    form = h("form", { id: "profile-edit", class: "profile-edit", "aria-label": "Edit profile" },
      h("label", { for: "profile-display-name" }, "Display name"), nameIn,
      h("p", { class: "hint muted", id: "profile-name-hint" }, `Up to ${MAX_NAME} characters.`),
      h("label", { for: "profile-bio" }, "Bio"), bioIn, error,
      h("div", { class: "row" }, left, h("span", { class: "spacer" }), cancel, save));
    const update = () => {
      // A bio is one line (the API refuses control characters).
      if (/[\r\n]/.test(bioIn.value)) bioIn.value = bioIn.value.replace(/\s*[\r\n]+\s*/g, " ");
      const n = MAX_BIO - codePoints(bioIn.value);
      left.textContent = String(n);
      left.classList.toggle("over", n < 0);
      left.setAttribute("aria-label", n < 0 ? `${-n} characters over the limit` : `${n} characters left`);
      const nameOk = nameIn.value.trim() && codePoints(nameIn.value) <= MAX_NAME;
      save.disabled = n < 0 || !nameOk;
    };
    nameIn.addEventListener("input", update);
    bioIn.addEventListener("input", update);
    cancel.addEventListener("click", close);
    form.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); close(); } });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (save.disabled) return;
      save.disabled = true;
      error.textContent = "";
      try {
        const r = await api("PATCH", "/v1/users/me", { body: { display_name: nameIn.value.trim(), bio: bioIn.value.trim() } });
        user = r.data;
        const s = currentSession();
        if (s) saveSession({ ...s, user: { ...s.user, ...user } });
        onSaved(user);
        close();
        toast("Your profile is saved.");
      } catch (err) {
        error.textContent = err instanceof ApiError && err.code === "invalid_display_name"
          ? `The display name must be 1 to ${MAX_NAME} characters, without control characters.`
          : err instanceof ApiError && err.code === "invalid_bio"
            ? `The bio must be at most ${MAX_BIO} characters, on one line.`
            : `Could not save: ${err.message}`;
        update();
      }
    });
    update();
    open.setAttribute("aria-expanded", "true");
    wrap.append(form);
    nameIn.focus();
  });
  return wrap;
}

async function profile(handle) {
  const gen = viewGen;
  show(`@${handle}`, h("p", { class: "muted" }, "Loading…"));
  let user;
  try {
    user = (await api("GET", `/v1/users/by-handle/${encodeURIComponent(handle)}`)).data;
    if (gen !== viewGen) return;
  } catch (e) {
    if (gen !== viewGen) return;
    show("Not found", h("h1", { tabindex: -1 }, e.status === 404 ? "This account doesn't exist" : e.message));
    return;
  }
  rememberUsers([user]);
  let countsEl = counts(user);
  const name = h("h1", { id: "profile-name", tabindex: -1 }, user.display_name);
  const bio = h("p", { class: "bio" }, user.bio || "");
  const head = h("section", { class: "profile", "aria-labelledby": "profile-name" },
    avatar(user, 80), name, h("p", { class: "handle" }, `@${user.handle}`), bio, countsEl);
  const list = h("div", { class: "tweets", role: "feed", "aria-label": `Tweets of @${user.handle}` });
  show(`${user.display_name} (@${user.handle})`, head, h("h2", { class: "visually-hidden" }, "Tweets"), list);
  const pages = pagedList(list, `/v1/users/${user.id}/tweets?limit=20`, tweetArticle, "No tweets yet.");
  cleanups.push(pages.stop);

  const me = currentSession();
  if (me && me.user.id === user.id) {
    head.append(editProfile(user, (u) => {
      user = u;
      name.textContent = u.display_name;
      bio.textContent = u.bio;
      document.title = `${u.display_name} (@${u.handle}) · chirp`;
      // The tweets shown here are the reader's own: their author too.
      for (const a of list.querySelectorAll(`.author[href="/@${u.handle}"] strong`)) a.textContent = u.display_name;
    }), changeAvatar(user));
    return;
  }
  if (!me) return;
  const set = await followingSet(me.user);
  if (gen !== viewGen) return;
  const btn = h("button", { type: "button" });
  const label = () => {
    const on = set.has(user.id);
    btn.textContent = on ? "Unfollow" : "Follow";
    btn.className = on ? "secondary" : "";
  };
  label();
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      if (set.has(user.id)) {
        await api("DELETE", `/v1/users/${user.id}/follows`);
        set.delete(user.id);
        user = (await api("GET", `/v1/users/${user.id}`)).data;
      } else {
        user = (await api("POST", `/v1/users/${user.id}/follows`)).data;
        set.add(user.id);
      }
      const c = counts(user);
      countsEl.replaceWith(c);
      countsEl = c;
      label();
    } catch (e) {
      toast(`Could not change the follow: ${e.message}`);
    }
    btn.disabled = false;
  });
  head.append(btn);
}

/**
 * The owner's Change avatar button: an image goes up as a tweet's would
 * (docs/media.md), then becomes the avatar (PATCH /v1/users/me with
 * avatar_media_id); Remove avatar sets it to null. Every avatar of the
 * reader on the page follows.
 */
function changeAvatar(user) {
  const file = h("input", { type: "file", accept: IMAGE_TYPES.join(","), hidden: true, id: "avatar-file" });
  const btn = h("button", { type: "button", class: "secondary", "aria-describedby": "avatar-state" }, "Change avatar");
  const remove = h("button", { type: "button", class: "link danger", hidden: !user.avatar_url }, "Remove avatar");
  const state = h("span", { id: "avatar-state", class: "muted", role: "status" });
  async function save(media_id) {
    const u = (await api("PATCH", "/v1/users/me", { body: { avatar_media_id: media_id } })).data;
    rememberUsers([u]);
    const s = currentSession();
    if (s) saveSession({ ...s, user: { ...s.user, ...u } });
    remove.hidden = !u.avatar_url;
  }
  btn.addEventListener("click", () => file.click());
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      await save(null);
      toast("Your avatar is removed.");
      btn.focus();
    } catch (e) {
      toast(`Could not remove the avatar: ${e.message}`);
    }
    remove.disabled = false;
  });
  file.addEventListener("change", async () => {
    const f = file.files[0];
    file.value = "";
    if (!f) return;
    if (!IMAGE_TYPES.includes(f.type)) {
      toast("An avatar must be a JPEG, PNG, WebP or GIF image.");
      return;
    }
    btn.disabled = true;
    state.textContent = "Uploading…";
    try {
      const m = await uploadImage(f, (x) => { state.textContent = `Uploading… ${Math.round(x * 100)}%`; },
        (p) => { state.textContent = p; });
      await save(m.id);
      state.textContent = "";
      toast("Your avatar is saved.");
    } catch (e) {
      state.textContent = "";
      toast(`Could not change the avatar: ${e.message}`);
    }
    btn.disabled = false;
    btn.focus();
  });
  return h("div", { class: "row change-avatar" }, btn, file, remove, state);
}

const MAX_DEPTH = 3; // deeper replies are indented no further (a phone is narrow)

/** The replies of a context in reading order: each one under the tweet it
 * answers, oldest first, with its depth below the thread's tweet. */
function replyTree(rootId, descendants) {
  const children = new Map();
  for (const d of descendants) {
    const list = children.get(d.in_reply_to_id) || [];
    list.push(d);
    children.set(d.in_reply_to_id, list);
  }
  const out = [];
  const seen = new Set();
  const walk = (id, depth) => {
    for (const d of children.get(id) || []) {
      seen.add(d.id);
      out.push([d, depth]);
      walk(d.id, depth + 1);
    }
  };
  walk(rootId, 0);
  // Below a reply the bound left out: shown after the others.
  for (const d of descendants) if (!seen.has(d.id)) out.push([d, 0]);
  return out;
}

/** /tweets/{id}: the tweet with the ones it answers above and its replies
 * below (GET /v1/tweets/{id}/context); a reply posted here joins them. */
async function tweetView(id) {
  const gen = viewGen;
  show("Tweet", h("p", { class: "muted" }, "Loading…"));
  let t, ctx;
  try {
    [t, ctx] = await Promise.all([api("GET", `/v1/tweets/${id}`), api("GET", `/v1/tweets/${id}/context`)])
      .then((rs) => rs.map((r) => r.data));
    if (gen !== viewGen) return;
  } catch (e) {
    if (gen !== viewGen) return;
    show("Not found", h("h1", { tabindex: -1 }, e.status === 404 ? "This tweet doesn't exist (or was deleted)" : e.message));
    return;
  }
  const replies = h("div", { class: "tweets replies", role: "feed", "aria-label": "Replies" });
  const noReplies = h("p", { class: "muted status empty" }, "No replies yet.");
  const place = (el, depth) => {
    el.dataset.depth = depth;
    if (depth) el.classList.add("nested", `depth-${Math.min(depth, MAX_DEPTH)}`);
    return el;
  };
  // A reply posted here goes after the last reply below the tweet it answers.
  function onReply(r, parent) {
    if (document.getElementById(`t-${r.id}`)) return;
    const el = tweetArticle(r, { thread: true, onReply });
    if (parent.parentNode === replies) {
      const depth = Number(parent.dataset.depth) + 1;
      let after = parent;
      while (after.nextElementSibling && Number(after.nextElementSibling.dataset.depth) >= depth)
        after = after.nextElementSibling;
      after.after(place(el, depth));
    } else if (parent.dataset.id === t.id) {
      replies.append(place(el, 0));
    } else {
      parent.after(place(el, 1)); // an answer to an earlier tweet of the thread
    }
  }
  const oldest = ctx.ancestors[0] || t;
  const earlier = !oldest.in_reply_to_id ? null : ctx.ancestors.length >= 40
    ? h("p", null, h("a", { href: `/tweets/${oldest.in_reply_to_id}` }, "Earlier tweets of the thread"))
    : h("p", { class: "muted" }, "An earlier tweet of this thread was deleted.");
  const ancestors = h("div", { class: "tweets ancestors", role: "feed", "aria-label": "Earlier in the thread" },
    ctx.ancestors.map((a) => tweetArticle(a, { thread: true, onReply })));
  const focus = tweetArticle(t, { thread: true, onReply });
  focus.classList.add("focus");
  for (const [d, depth] of replyTree(t.id, ctx.descendants))
    replies.append(place(tweetArticle(d, { thread: true, onReply }), depth));
  show(`@${t.author.handle}: ${t.text.slice(0, 40)}`, h("h1", { class: "visually-hidden", tabindex: -1 }, "Thread"),
    earlier, ancestors, focus, h("h2", { class: "visually-hidden" }, "Replies"), replies, noReplies);
}

function searchView(q) {
  document.getElementById("search-q").value = q;
  if (!q.trim()) {
    show("Search", h("h1", { tabindex: -1 }, "Search"), h("p", { class: "muted" }, "Type in the search box above: words, \"a phrase\", #tags, @people, from:handle."));
    return;
  }
  const people = h("ul", { class: "people", "aria-label": "People" });
  const list = h("div", { class: "tweets", role: "feed", "aria-label": "Tweets" });
  show(`Search: ${q}`, h("h1", { tabindex: -1 }, `Results for “${q}”`),
    h("h2", null, "People"), people, h("h2", null, "Tweets"), list);
  const enc = encodeURIComponent(q);
  api("GET", `/v1/search/users?q=${enc}&limit=5`).then((r) => {
    rememberUsers(r.data);
    if (!r.data.length) people.replaceChildren(h("li", { class: "muted" }, "No one found."));
    else people.replaceChildren(...r.data.map((u) => h("li", null, avatar(u, 32),
      h("a", { href: `/@${u.handle}` }, h("strong", null, u.display_name), " ", h("span", { class: "handle" }, `@${u.handle}`)),
      h("span", { class: "muted" }, ` · ${u.followers_count} followers`))));
  }).catch((e) => people.replaceChildren(h("li", { class: "error" }, e.message)));
  const pages = pagedList(list, `/v1/search/tweets?q=${enc}&limit=20`, tweetArticle, "No tweets found.");
  cleanups.push(pages.stop);
}

/** /hashtags/{tag}: the tag's tweets, newest first (GET /v1/hashtags/{tag}/tweets). */
function hashtagView(tag) {
  const list = h("div", { class: "tweets", role: "feed", "aria-label": `Tweets with #${tag}` });
  show(`#${tag}`, h("h1", { tabindex: -1 }, `#${tag}`), list);
  const pages = pagedList(list, `/v1/hashtags/${encodeURIComponent(tag)}/tweets?limit=20`, tweetArticle,
    `No tweets with #${tag} yet.`);
  cleanups.push(pages.stop);
}

/** /notifications: the reader's, read as they are shown (notifications.js). */
function notificationsView() {
  if (!currentSession()) return authView("Log in to see your notifications.");
  const list = h("ol", { class: "notifications", "aria-label": "Notifications" });
  show("Notifications", h("h1", { tabindex: -1 }, "Notifications"), list);
  cleanups.push(showNotifications(list));
}

// ---------------------------------------------------------------- routing

/** A path segment decoded, or as it is if its escapes are broken. */
function decodePath(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function route(focus = false) {
  viewGen++;
  renderAccount();
  const { pathname, searchParams } = new URL(location.href);
  const s = currentSession();
  let view;
  if (pathname === "/") view = s ? home() : authView();
  else if (pathname.startsWith("/@")) view = profile(decodePath(pathname.slice(2)));
  else if (/^\/tweets\/\d+$/.test(pathname)) view = tweetView(pathname.slice(8));
  else if (pathname === "/search") view = searchView(searchParams.get("q") || "");
  else if (/^\/hashtags\/[^/]+$/.test(pathname)) view = hashtagView(decodePath(pathname.slice(10)));
  else if (pathname === "/notifications") view = notificationsView();
  else show("Not found", h("h1", { tabindex: -1 }, "Nothing here"), h("p", null, h("a", { href: "/" }, "Go home")));
  // Every page counts the notifications: the stream goes with the session.
  // (Home reopens it itself, from the newest tweet it shows.)
  if (s && pathname !== "/") startLive();
  if (focus) Promise.resolve(view).then(() => main.querySelector("h1")?.focus());
}

/** Goes to an address of this app without reloading the page. */
export function navigate(url) {
  history.pushState(null, "", url);
  route(true);
  scrollTo(0, 0);
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[href]");
  if (!a || a.target || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const u = new URL(a.href);
  if (u.origin !== location.origin || /^\/(v1|assets|blobs)\//.test(u.pathname)) return;
  e.preventDefault();
  navigate(u.pathname + u.search);
});

document.getElementById("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("search-q").value.trim();
  navigate(`/search?q=${encodeURIComponent(q)}`);
});

window.addEventListener("popstate", () => route(true));
setNavigator(navigate);

setUnauthorizedHandler(() => {
  viewGen++;
  forgetFollowing();
  stopLive();
  resetNotifications();
  authView("Your session has ended. Please log in again.").focus();
});

route();
