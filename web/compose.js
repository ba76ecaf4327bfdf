// compose — the box to post a tweet or a reply: a live count of the 280
// code points left, up to four images sent through the presigned upload
// flow (docs/media.md) with their progress, and Ctrl/Cmd+Enter to post.

import { api, ApiError, idempotencyKey } from "./api.js";
import { h } from "./ui.js";

const MAX = 280;
const MAX_IMAGES = 4;
export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"];

/** PUTs blob to a presigned URL, reporting progress; resolves to its ETag. */
function put(upload, url, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method || "PUT", url);
    // The browser sets Content-Length and Host itself (and refuses to be told).
    for (const [k, v] of Object.entries(upload.headers || {}))
      if (!/^(content-length|host)$/i.test(k)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        let etag = (xhr.getResponseHeader("ETag") || "").replace(/"/g, "");
        try { etag = JSON.parse(xhr.responseText).etag || etag; } catch { /* S3 answers XML */ }
        resolve(etag);
      } else {
        reject(new Error(`upload failed (${xhr.status})`));
      }
    };
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    xhr.send(blob);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Creates the media, uploads the file (in parts if asked), completes it and
 * waits until it is processed. progress(fraction) as bytes go out. */
export async function uploadImage(file, progress, phase) {
  const m = (await api("POST", "/v1/media", {
    body: { content_type: file.type, size: file.size }, key: idempotencyKey(),
  })).data;
  if (m.upload.url) {
    await put(m.upload, m.upload.url, file, (n) => progress(n / file.size));
    await api("POST", `/v1/media/${m.id}/complete`, { body: {} });
  } else {
    const done = new Array(m.parts.length).fill(0);
    const parts = [];
    let offset = 0;
    for (const p of m.parts) {
      const slice = file.slice(offset, offset + p.size);
      offset += p.size;
      const etag = await put(m.upload, p.url, slice, (n) => {
        done[p.part_number - 1] = n;
        progress(done.reduce((a, b) => a + b, 0) / file.size);
      });
      parts.push({ part_number: p.part_number, etag });
    }
    await api("POST", `/v1/media/${m.id}/complete`, { body: { parts } });
  }
  progress(1);
  phase("Processing…");
  for (let wait = 250, spent = 0; spent < 120000; spent += wait, wait = Math.min(wait * 2, 2000)) {
    const s = (await api("GET", `/v1/media/${m.id}`)).data;
    if (s.status === "ready") return s;
    if (s.status === "failed") throw new Error(s.error || "the image could not be processed");
    await sleep(wait);
  }
  throw new Error("the image is taking too long to process");
}

/**
 * A compose form. onPosted(tweet) after each post. For a reply, replyTo is
 * the tweet's id (sent as in_reply_to_id), and id (unique in the page)
 * prefixes the form's element ids; label names the text box, submit the
 * button. onCancel, if given, adds Cancel (Escape does the same).
 */
export function composeBox({ onPosted, replyTo = null, id = "compose", label = "What's happening?",
  title = "Post a tweet", submit = "Post", onCancel = null }) {
  const text = h("textarea", { id: `${id}-text`, name: "text", rows: replyTo ? 2 : 3, "aria-describedby": `${id}-count` });
  const count = h("span", { id: `${id}-count`, class: "count", "aria-live": "polite" }, String(MAX));
  const post = h("button", { type: "submit", disabled: true }, submit);
  const file = h("input", { type: "file", accept: IMAGE_TYPES.join(","), multiple: true, hidden: true, id: `${id}-file` });
  const attach = h("button", { type: "button", class: "secondary" }, "Add image");
  const list = h("ul", { class: "attachments", "aria-label": "Images" });
  const error = h("p", { class: "error", role: "alert" });
  const cancel = onCancel && h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h("form", { class: replyTo ? "compose reply" : "compose", "aria-label": title },
    h("label", { for: `${id}-text`, class: "visually-hidden" }, label),
    text, list, error,
    h("div", { class: "row" }, attach, file, h("span", { class: "spacer" }), count, cancel, post));
  text.setAttribute("placeholder", label);
  if (onCancel) {
    cancel.addEventListener("click", onCancel);
    form.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        onCancel();
      }
    });
  }

  const attachments = []; // {file, media, busy, li}

  function update() {
    const n = [...text.value].length;
    const left = MAX - n;
    count.textContent = String(left);
    count.classList.toggle("over", left < 0);
    count.setAttribute("aria-label", left < 0 ? `${-left} characters over the limit` : `${left} characters left`);
    const busy = attachments.some((a) => a.busy);
    post.disabled = !text.value.trim() || left < 0 || busy;
    attach.disabled = attachments.length >= MAX_IMAGES;
  }

  function addFile(f) {
    if (!IMAGE_TYPES.includes(f.type)) {
      error.textContent = `${f.name}: only JPEG, PNG, WebP and GIF images can be attached.`;
      return;
    }
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Uploading ${f.name}` });
    const state = h("span", { class: "muted" }, "Uploading…");
    const remove = h("button", { type: "button", class: "link" }, "Remove");
    const li = h("li", null, h("span", { class: "name" }, f.name), bar, state, remove);
    const a = { file: f, media: null, busy: true, li };
    attachments.push(a);
    list.append(li);
    remove.addEventListener("click", () => {
      attachments.splice(attachments.indexOf(a), 1);
      li.remove();
      update();
    });
    update();
    uploadImage(f, (x) => { bar.value = Math.round(x * 100); state.textContent = `${bar.value}%`; },
      (p) => { state.textContent = p; })
      .then((m) => {
        a.media = m;
        bar.remove();
        state.textContent = "";
        li.prepend(h("img", { src: m.thumbnail_url, alt: `Attached: ${f.name}`, width: 48, height: 48 }));
      })
      .catch((e) => {
        state.textContent = `Failed: ${e.message}`;
        state.className = "error";
      })
      .finally(() => { a.busy = false; update(); });
  }

  attach.addEventListener("click", () => file.click());
  file.addEventListener("change", () => {
    for (const f of file.files) if (attachments.length < MAX_IMAGES) addFile(f);
    file.value = "";
  });
  text.addEventListener("input", update);
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  let key = null; // one Idempotency-Key per tweet: a retry posts it once
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (post.disabled) return;
    post.disabled = true;
    error.textContent = "";
    const media_ids = attachments.filter((a) => a.media).map((a) => a.media.id);
    key = key || idempotencyKey();
    try {
      const body = { text: text.value, media_ids };
      if (replyTo) body.in_reply_to_id = replyTo;
      const r = await api("POST", "/v1/tweets", { body, key });
      key = null;
      text.value = "";
      attachments.length = 0;
      list.replaceChildren();
      onPosted(r.data);
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) key = null;
      error.textContent = `Could not post: ${err.message}`;
    }
    update();
    if (form.isConnected) text.focus();
  });
  return form;
}
