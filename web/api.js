// api — chirp's v1 API from the browser (docs/api.md): the session kept in
// localStorage, JSON requests with the bearer token, the Link header's
// next page, and one place that notices a 401 and sends the reader back
// to the log-in form.

const KEY = "chirp.session";
let session = load();
let onUnauthorized = () => {};

function load() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY));
    return s && typeof s.token === "string" && s.user ? s : null;
  } catch {
    return null;
  }
}

/** The logged-in {token, user}, or null. */
export function currentSession() {
  return session;
}

/** Keeps (or, with null, forgets) the session across reloads. */
export function saveSession(s) {
  session = s;
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
}

/** fn() runs when a request with our token gets 401: the token is gone. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `the server answered ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

/** A random Idempotency-Key (crypto.randomUUID needs a secure context). */
export function idempotencyKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The URL of rel="next" in a Link header, or null. */
export function linkNext(header) {
  const m = header && /<([^>]*)>;\s*rel="next"/.exec(header);
  return m ? m[1] : null;
}

/**
 * Sends one request and resolves to {status, data, next}; rejects with an
 * ApiError for any answer that is not 2xx. body is sent as JSON; key is an
 * Idempotency-Key, so that a retried post happens once.
 */
export async function api(method, path, { body, key } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (key) headers["Idempotency-Key"] = key;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = res.status === 204 ? "" : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.status === 401 && session && !path.startsWith("/v1/sessions")) {
    saveSession(null);
    onUnauthorized();
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return { status: res.status, data, next: linkNext(res.headers.get("Link")) };
}
