// live — the one live stream a logged-in tab keeps open (GET
// /v1/feed/stream, docs/streaming.md). It brings the home feed's tweets
// and deletes, and the reader's notifications, which the navigation
// counts on every page: so it lives with the session, not with a view,
// and views subscribe to its events. One stream per tab keeps a reader
// well inside the server's five per user.

import { api, ApiError, currentSession } from "./api.js";

const handlers = { tweet: new Set(), delete: new Set(), notification: new Set(), state: new Set() };
let es = null;
let timer = null;
let last = null; // the newest tweet id received: where a reopened stream resumes
let state = "closed";
let failures = 0; // refusals in a row: each doubles the wait before the next try

/** fn(data) for each event of `type` (tweet, delete, notification; state:
 * "open", "reconnecting", "closed"). Returns the unsubscribe. */
export function onLive(type, fn) {
  handlers[type].add(fn);
  return () => handlers[type].delete(fn);
}

function emit(type, v) {
  for (const f of [...handlers[type]]) f(v);
}

function setState(s) {
  state = s;
  emit("state", s);
}

export function liveState() {
  return state;
}

function open() {
  const s = currentSession();
  if (!s) return;
  const q = new URLSearchParams({ access_token: s.token });
  if (last) q.set("last_event_id", last);
  const src = new EventSource(`/v1/feed/stream?${q}`);
  es = src;
  src.onopen = () => {
    failures = 0;
    setState("open");
  };
  src.addEventListener("tweet", (e) => {
    last = e.lastEventId || last;
    emit("tweet", JSON.parse(e.data));
  });
  src.addEventListener("delete", (e) => emit("delete", JSON.parse(e.data)));
  src.addEventListener("notification", (e) => emit("notification", JSON.parse(e.data)));
  src.onerror = () => {
    // A dropped connection is retried by the browser itself, with
    // Last-Event-ID. CLOSED means it gave up (401; 429 with five tabs
    // open; 503): check the token (a 401 logs out) and try again later,
    // 3 s, then twice as long each time, up to 5 minutes.
    setState("reconnecting");
    if (src.readyState !== EventSource.CLOSED || es !== src) return;
    es = null;
    const wait = Math.min(300000, 3000 * 2 ** failures++);
    timer = setTimeout(async () => {
      try {
        await api("GET", "/v1/notifications/unread_count");
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return; // logged out
      }
      timer = null;
      open();
    }, wait);
  };
}

/** Opens the stream unless it is open (or about to reopen). */
export function startLive() {
  if (!es && !timer) open();
}

/**
 * (Re)opens the stream to replay what reached the feed after lastId (the
 * newest tweet a view shows): without it a stream starts at its own
 * opening and would miss what came between a page's read and then.
 */
export function restartLive(lastId) {
  stopLive();
  last = lastId;
  open();
}

/** Closes the stream (log-out). */
export function stopLive() {
  failures = 0;
  clearTimeout(timer);
  timer = null;
  if (es) es.close();
  es = null;
  last = null;
  if (state !== "closed") setState("closed");
}
