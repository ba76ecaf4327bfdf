/*
 * mastodon_streaming — Mastodon's streaming API over a WebSocket
 * (GET /api/v1/streaming) and its public and hashtag SSE forms
 * (docs/mastodon.md, docs/streaming.md).
 *
 * A WebSocket connection is one live session (live/service.h): one slot
 * of the user's stream cap, whatever it subscribes to. Its home feed
 * feeds the `user` stream; the public and hashtag streams are watches on
 * the session (live_session_watch), one per subscription. Mastodon's
 * events are text messages {"stream": [...], "event": ..., "payload":
 * "<JSON as a string>"}; the client's messages {"type": "subscribe" |
 * "unsubscribe", "stream": ..., "tag": ...} change what it hears.
 *
 * The WebSocket itself is h2o 2.2.5's (lib/websocket.c over wslay):
 * h2o_upgrade_to_websocket answers 101, and once the response is written
 * h2o hands the socket to wslay; messages queued before are sent then.
 * What this file holds per connection (`struct wsc`) is malloc'd: the
 * request, and its pool, end with the upgrade. The Status renderer needs
 * a ctx only for the base URL, so the connection keeps a ctx of its own
 * with link_base set (and no request).
 *
 * Bounds: a client message is at most WS_MSG_MAX bytes (wslay closes
 * the connection with 1009 beyond); at most LIVE_WATCH_MAX public and
 * hashtag subscriptions per connection; the session's backlog bound
 * (--stream-buffer) counts the messages wslay holds unsent, and a reader
 * past it is cut off as on SSE; the kernel's send buffer is pinned to
 * that bound too. Ping frames go out at the stream heartbeat; wslay
 * answers the client's pings and the close handshake. A client that sends
 * nothing, not even a pong, for WS_SILENT_MAX heartbeats in a row is gone
 * (a peer that vanished without a FIN): its socket is shut down, and the
 * connection ends as a failed read ends it.
 *
 * Notifications: sink_notification below sends each one the live session
 * hands on (live_options.notifications), as Mastodon's Notification, in
 * `notification` events on the `user` and `user:notification` streams.
 */
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/websocket.h> /* h2o_is_websocket_handshake only: the connection is driven here */
#include <openssl/sha.h>
#include <wslay/wslay.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/api.h"
#include "api/mastodon.h"
#include "api/mastodon_streaming.h"
#include "api/stream.h"
#include "core/entities.h"
#include "http/respond.h"
#include "http/server.h"
#include "live/service.h"
#include "util/log.h"
#include "util/strbuf.h"

#define WS_MSG_MAX 4096 /* bytes of one client message */
#define WS_NAME_MAX 24  /* "hashtag:local" and the like */
#define WS_SILENT_MAX 3 /* heartbeats without a frame from the client */

/* One public or hashtag subscription: the key of its watch. */
struct wsub {
	bool used;
	char name[WS_NAME_MAX];   /* as subscribed: "public", "hashtag:local", ... */
	char tag[HASHTAG_MAX + 1]; /* folded; "" for public ones */
};

struct wsc {
	struct ctx cx;               /* for the renderer: app and link_base only */
	char *base;                  /* cx.link_base, malloc'd */
	struct app *app;
	struct live_session *live;   /* NULL once closed */
	wslay_event_context_ptr ws;  /* NULL until the upgrade was sent */
	h2o_socket_t *sock;          /* once the 101 is written */
	size_t req_len;              /* the request's bytes in the socket's input */
	h2o_buffer_t *old_input;     /* the HTTP/1 input (the request), kept till the end */
	struct strbuf out;           /* frames wslay handed over, for the next write */
	struct strbuf inflight;      /* the write h2o holds */
	bool writing;
	struct ctx *req_ctx;         /* the request's ctx, until answered */
	struct wsc **hold;           /* the request pool's pointer to us, until answered */
	bool opening;                /* waiting for sink->opened */
	bool in_callback;            /* inside wslay: queue only, never proceed */
	bool in_proceed;             /* inside proceed(): it frees a dead one */
	bool user, notifications;    /* `user`, `user:notification` subscribed */
	unsigned silent;             /* heartbeats since the client's last frame */
	char protocol[512];          /* Sec-WebSocket-Protocol to echo; "" none */
	size_t protocol_len;
	struct wsub subs[LIVE_WATCH_MAX];
	/* The stream the connection opened with (?stream=), subscribed once
	 * the session is open. */
	char first[WS_NAME_MAX], first_tag[HASHTAG_MAX + 1];
};

/* ---- teardown ---------------------------------------------------------------------- */

static void wsc_free(struct wsc *w)
{
	if (w->live)
		live_session_close(w->live);
	if (w->sock)
		h2o_socket_close(w->sock);
	if (w->ws)
		wslay_event_context_free(w->ws);
	if (w->old_input)
		h2o_buffer_dispose(&w->old_input);
	strbuf_deinit(&w->out);
	strbuf_deinit(&w->inflight);
	free(w->base);
	free(w);
}

static bool proceed(struct wsc *w);

/* A write completed: the next may go, and the session may hand on more
 * (a catch-up waiting for room). */
static void on_write_done(h2o_socket_t *sock, const char *err)
{
	struct wsc *w = sock->data;
	w->writing = false;
	strbuf_deinit(&w->inflight);
	if (err) {
		wsc_free(w); /* the client is gone */
		return;
	}
	if (proceed(w) && !w->writing && w->live)
		live_session_writable(w->live);
}

static void on_readable(h2o_socket_t *sock, const char *err)
{
	struct wsc *w = sock->data;
	if (err) {
		wsc_free(w); /* the client left */
		return;
	}
	proceed(w);
}

/*
 * The connection's loop: what the socket brought goes to wslay (which
 * calls on_wslay_msg per message), what wslay has to send goes out as one
 * write, and reading goes on while wslay wants it. Once the close is
 * exchanged, or on a protocol error, the connection is freed: false
 * then, `w` is gone. Never reentered: from inside (a message handler)
 * calls only queue.
 */
static bool proceed(struct wsc *w)
{
	if (w->in_callback || w->in_proceed || !w->sock)
		return true;
	w->in_proceed = true;
	bool fail = false;
	if (w->sock->input->size && wslay_event_want_read(w->ws))
		fail = wslay_event_recv(w->ws) != 0;
	if (!fail && !w->writing && wslay_event_want_write(w->ws))
		fail = wslay_event_send(w->ws) != 0;
	if (!fail && !w->writing && w->out.len) {
		w->inflight = w->out;
		strbuf_init(&w->out);
		w->writing = true;
		h2o_iovec_t buf = h2o_iovec_init(w->inflight.data, w->inflight.len);
		h2o_socket_write(w->sock, &buf, 1, on_write_done);
	}
	bool reading = wslay_event_want_read(w->ws);
	if (reading)
		h2o_socket_read_start(w->sock, on_readable);
	else
		h2o_socket_read_stop(w->sock);
	w->in_proceed = false;
	if (fail || (!reading && !w->writing && !wslay_event_want_write(w->ws))) {
		wsc_free(w); /* closed, or broken */
		return false;
	}
	return true;
}

/* wslay reads from the socket's input buffer. */
static ssize_t on_wslay_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
			     void *arg)
{
	(void)flags;
	struct wsc *w = arg;
	h2o_buffer_t *in = w->sock->input;
	if (in->size == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > in->size)
		len = in->size;
	memcpy(buf, in->bytes, len);
	h2o_buffer_consume(&w->sock->input, len);
	return (ssize_t)len;
}

/* wslay's frames gather in `out` while no write is in flight. */
static ssize_t on_wslay_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
			     int flags, void *arg)
{
	(void)flags;
	struct wsc *w = arg;
	if (w->writing) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	strbuf_append(&w->out, data, len);
	return (ssize_t)len;
}

/* ---- sending ----------------------------------------------------------------------- */

static void queue_text(struct wsc *w, const char *s, size_t len)
{
	struct wslay_event_msg m = {.opcode = WSLAY_TEXT_FRAME, .msg = (const uint8_t *)s,
				    .msg_length = len};
	wslay_event_queue_msg(w->ws, &m); /* copies; fails only once closing */
}

/* {"stream": [name(, tag)], "event": event, "payload": payload}, queued. */
static void queue_event(struct wsc *w, const char *name, const char *tag, const char *event,
			const char *payload, size_t payload_len)
{
	json_t *stream = json_pack("[s]", name);
	if (tag && *tag)
		json_array_append_new(stream, json_string(tag));
	json_t *v = json_pack("{so ss ss%}", "stream", stream, "event", event, "payload", payload,
			      payload_len);
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	if (text)
		queue_text(w, text, strlen(text));
	free(text);
	json_decref(v);
}

static void queue_error(struct wsc *w, const char *message)
{
	json_t *v = json_pack("{ss si}", "error", message, "status", 400);
	char *text = json_dumps(v, JSON_COMPACT);
	queue_text(w, text, strlen(text));
	free(text);
	json_decref(v);
}

/* A native Tweet's JSON as Mastodon's Status, as a string; NULL if it
 * does not parse. Caller frees. */
/* chirp's JSON of a Tweet or a Notification as Mastodon's (`render`),
 * malloc'd; NULL if it does not parse. */
static char *rendered(struct ctx *c, const char *json, size_t len,
		      json_t *(*render)(struct ctx *c, json_t *v))
{
	json_t *v = json_loadb(json, len, 0, NULL);
	if (!v)
		return NULL;
	json_t *m = render(c, v);
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	json_decref(v);
	return text;
}

static char *status_of(struct wsc *w, const char *json, size_t len)
{
	return rendered(&w->cx, json, len, mastodon_status);
}

static void id_payload(char *buf, uint64_t id)
{
	snprintf(buf, 24, "%llu", (unsigned long long)id);
}

/* ---- the sink ---------------------------------------------------------------------- */

static void sink_tweet(void *arg, uint64_t id, uint64_t resume, const char *json, size_t len)
{
	(void)id;
	(void)resume; /* a WebSocket client does not resume */
	struct wsc *w = arg;
	if (!w->user)
		return; /* the home feed is heard only on `user` */
	char *status = status_of(w, json, len);
	if (status)
		queue_event(w, "user", NULL, "update", status, strlen(status));
	free(status);
}

static void sink_deleted(void *arg, uint64_t id)
{
	struct wsc *w = arg;
	char buf[24];
	id_payload(buf, id);
	if (w->user)
		queue_event(w, "user", NULL, "delete", buf, strlen(buf));
}

/* Notification events, as Mastodon's Notification (mastodon_notification):
 * on `user` and on `user:notification`. */
static void sink_notification(void *arg, const char *json, size_t len)
{
	struct wsc *w = arg;
	char *text = rendered(&w->cx, json, len, mastodon_notification);
	if (!text)
		return;
	if (w->user)
		queue_event(w, "user", NULL, "notification", text, strlen(text));
	if (w->notifications)
		queue_event(w, "user:notification", NULL, "notification", text, strlen(text));
	free(text);
}

static void sink_watch_tweet(void *arg, void *key, uint64_t id, const char *json, size_t len)
{
	(void)id;
	struct wsc *w = arg;
	struct wsub *s = key;
	char *status = status_of(w, json, len);
	if (status)
		queue_event(w, s->name, s->tag, "update", status, strlen(status));
	free(status);
}

static void sink_watch_deleted(void *arg, void *key, uint64_t id)
{
	struct wsc *w = arg;
	struct wsub *s = key;
	char buf[24];
	id_payload(buf, id);
	queue_event(w, s->name, s->tag, "delete", buf, strlen(buf));
}

static void sink_heartbeat(void *arg)
{
	struct wsc *w = arg;
	if (++w->silent >= WS_SILENT_MAX && w->sock) {
		shutdown(h2o_socket_get_fd(w->sock), SHUT_RDWR);
		return;
	}
	struct wslay_event_msg m = {.opcode = WSLAY_PING, .msg = (const uint8_t *)"", .msg_length = 0};
	wslay_event_queue_msg(w->ws, &m);
}

static void sink_flush(void *arg)
{
	(void)proceed(arg);
}

static size_t sink_backlog(void *arg)
{
	struct wsc *w = arg;
	return (w->ws ? wslay_event_get_queued_msg_length(w->ws) : 0) + w->out.len + w->inflight.len;
}

static void sink_end(void *arg, enum live_end why)
{
	struct wsc *w = arg;
	switch (why) {
	case LIVE_END_DONE:
	case LIVE_END_RETRY:
		/* 1001 going away (shutdown, log-out); 1012 service restart:
		 * come back soon. The session is done; wslay closes the socket
		 * once the close is exchanged. */
		live_session_close(w->live);
		w->live = NULL;
		wslay_event_queue_close(w->ws, why == LIVE_END_RETRY ? 1012 : 1001, NULL, 0);
		(void)proceed(w);
		break;
	case LIVE_END_SLOW:
		/* The buffer is full, so no close frame would get through: the
		 * socket goes down, h2o's read or write fails, and the close
		 * callback frees the connection. */
		live_session_close(w->live);
		w->live = NULL;
		if (w->sock)
			shutdown(h2o_socket_get_fd(w->sock), SHUT_RDWR);
		break;
	case LIVE_END_RELEASE:
		w->live = NULL;
		if (w->hold)
			*w->hold = NULL;
		wsc_free(w);
		break;
	}
}

static void sink_opened(void *arg, int rc);

static const struct live_sink ws_sink = {
	.opened = sink_opened,
	.tweet = sink_tweet,
	.deleted = sink_deleted,
	.notification = sink_notification,
	.watch_tweet = sink_watch_tweet,
	.watch_deleted = sink_watch_deleted,
	.heartbeat = sink_heartbeat,
	.flush = sink_flush,
	.backlog = sink_backlog,
	.end = sink_end,
};

/* ---- subscriptions ----------------------------------------------------------------- */

/* Mastodon's stream names: which are known, and whether they need a tag. */
enum kind { K_BAD, K_USER, K_NOTIF, K_PUBLIC, K_TAG };

static enum kind kind_of(const char *name)
{
	if (strcmp(name, "user") == 0)
		return K_USER;
	if (strcmp(name, "user:notification") == 0)
		return K_NOTIF;
	/* Every chirp user is local: local is all. */
	if (strcmp(name, "public") == 0 || strcmp(name, "public:local") == 0)
		return K_PUBLIC;
	if (strcmp(name, "hashtag") == 0 || strcmp(name, "hashtag:local") == 0)
		return K_TAG;
	return K_BAD;
}

static struct wsub *find_sub(struct wsc *w, const char *name, const char *tag)
{
	for (size_t i = 0; i < LIVE_WATCH_MAX; i++)
		if (w->subs[i].used && strcmp(w->subs[i].name, name) == 0 &&
		    strcmp(w->subs[i].tag, tag) == 0)
			return &w->subs[i];
	return NULL;
}

/* Subscribes (on) or unsubscribes `name` (a known one; `tag` folded, ""
 * unless K_TAG). NULL, or the error to answer. */
static const char *change(struct wsc *w, const char *name, const char *tag, bool on)
{
	switch (kind_of(name)) {
	case K_USER: w->user = on; return NULL;
	case K_NOTIF: w->notifications = on; return NULL;
	case K_BAD: return "Unknown stream type";
	default: break;
	}
	struct wsub *s = find_sub(w, name, tag);
	if (!on) {
		if (s) {
			live_session_unwatch(w->live, s);
			s->used = false;
		}
		return NULL;
	}
	if (s)
		return NULL; /* already */
	for (size_t i = 0; i < LIVE_WATCH_MAX && !s; i++)
		if (!w->subs[i].used)
			s = &w->subs[i];
	if (!s)
		return "Too many subscriptions";
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->tag, sizeof(s->tag), "%s", tag);
	if (live_session_watch(w->live, kind_of(name) == K_TAG ? s->tag : NULL, s) != 0)
		return "Too many subscriptions";
	s->used = true;
	return NULL;
}

/* A stream name and tag as a client gives them: the name known, the tag
 * valid (folded into out) where one is needed. NULL or the error. */
static const char *check_stream(const char *name, size_t name_len, const char *tag,
				size_t tag_len, char *out)
{
	char buf[WS_NAME_MAX];
	out[0] = '\0';
	if (!name || name_len >= sizeof(buf))
		return "Unknown stream type";
	memcpy(buf, name, name_len);
	buf[name_len] = '\0';
	enum kind k = kind_of(buf);
	if (k == K_BAD)
		return "Unknown stream type";
	if (k == K_TAG && (!tag || !entities_tag_valid(tag, tag_len, out)))
		return "No tag specified";
	return NULL;
}

/* A client's message: {"type": "subscribe" | "unsubscribe", "stream", "tag"}.
 * Anything else is answered with an error; the connection stays. */
static void on_client_text(struct wsc *w, const uint8_t *msg, size_t len)
{
	json_t *v = json_loadb((const char *)msg, len, 0, NULL);
	const char *type = json_string_value(json_object_get(v, "type"));
	json_t *js = json_object_get(v, "stream"), *jt = json_object_get(v, "tag");
	const char *err = NULL;
	char tag[HASHTAG_MAX + 1];
	bool on = type && strcmp(type, "subscribe") == 0;
	if (!json_is_object(v) || !type || (!on && strcmp(type, "unsubscribe") != 0))
		err = "Unknown event type";
	else
		err = check_stream(json_string_value(js), json_string_length(js),
				   json_string_value(jt), json_string_length(jt), tag);
	if (!err && w->live) {
		char name[WS_NAME_MAX];
		snprintf(name, sizeof(name), "%s", json_string_value(js));
		err = change(w, name, kind_of(name) == K_TAG ? tag : "", on);
	}
	if (err)
		queue_error(w, err);
	json_decref(v);
}

/* wslay's callback for each message (control frames included) received. */
static void on_wslay_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
			 void *data)
{
	(void)ctx;
	struct wsc *w = data;
	w->silent = 0;
	if (arg->opcode != WSLAY_TEXT_FRAME)
		return; /* pings are answered by wslay; binary means nothing here */
	w->in_callback = true;
	on_client_text(w, arg->msg, arg->msg_length);
	w->in_callback = false;
}

/* ---- the handshake ----------------------------------------------------------------- */

/* The pool's hold on a connection still answering its request: if the
 * client leaves first, the session goes. */
static void on_req_dispose(void *p)
{
	struct wsc **hold = p;
	struct wsc *w = *hold;
	if (!w)
		return;
	w->hold = NULL;
	if (w->opening) {
		w->opening = false;
		api_request_done(w->app, NULL);
	}
	wsc_free(w);
}

/* The 101 is written: the socket is ours. The HTTP/1 input buffer (the
 * request, which h2o's request may still point into) is set aside until
 * the connection ends, and frames go to a fresh one; any sent right after
 * the request move over. From here the bytes are frames, not HTTP: the
 * server's framing check (http/server.c) must let them pass. */
static void on_upgraded(void *data, h2o_socket_t *sock, size_t reqsize)
{
	(void)reqsize;
	struct wsc *w = data;
	if (!sock) {
		wsc_free(w);
		return;
	}
	w->sock = sock;
	sock->data = w;
	size_t n = w->req_len < sock->input->size ? w->req_len : sock->input->size;
	h2o_buffer_t *old = sock->input;
	h2o_buffer_init(&sock->input, &h2o_socket_buffer_prototype);
	if (old->size > n) { /* frames sent right after the request */
		h2o_buffer_reserve(&sock->input, old->size - n);
		memcpy(sock->input->bytes, old->bytes + n, old->size - n);
		sock->input->size = old->size - n;
	}
	w->old_input = old;
	proceed(w);
}

/* Answers 101 Switching Protocols (RFC 6455 §4.2.2) and makes the wslay
 * side; the connection is the transport's from here. */
static void upgrade(struct wsc *w, h2o_req_t *req, const char *key)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	uint8_t src[24 + sizeof(guid) - 1], digest[SHA_DIGEST_LENGTH];
	char *accept = h2o_mem_alloc_pool(&req->pool, h2o_base64_encode_capacity(sizeof(digest)));
	memcpy(src, key, 24);
	memcpy(src + 24, guid, sizeof(guid) - 1);
	SHA1(src, sizeof(src), digest);
	size_t alen = h2o_base64_encode(accept, digest, sizeof(digest), 0);
	req->res.status = 101;
	req->res.reason = "Switching Protocols";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_UPGRADE, NULL, H2O_STRLIT("websocket"));
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-accept"), 0, NULL,
			      accept, alen);
	if (w->protocol_len)
		h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("sec-websocket-protocol"),
				      0, NULL, w->protocol, w->protocol_len);
	static const struct wslay_event_callbacks callbacks = {
		.recv_callback = on_wslay_recv,
		.send_callback = on_wslay_send,
		.on_msg_recv_callback = on_wslay_msg,
	};
	wslay_event_context_server_init(&w->ws, &callbacks, w);
	wslay_event_config_set_max_recv_msg_length(w->ws, WS_MSG_MAX);
	h2o_socket_t *sock = req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
	w->req_len = sock ? sock->input->size : 0;
	if (sock) {
		/* Whatever follows the request is frames (http/server.c). */
		http_socket_upgraded(sock);
		int sndbuf = (int)live_service_options(w->app->streams)->buffer_bytes;
		setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	}
	*w->hold = NULL; /* ours from now on, past the request */
	w->hold = NULL;
	h2o_http1_upgrade(req, NULL, 0, on_upgraded, w);
}

static void answer(struct wsc *w, struct ctx *c, int rc)
{
	h2o_req_t *req = c->req;
	if (rc) {
		/* Refused: the same answers as the SSE streams. */
		*w->hold = NULL;
		w->live = NULL;
		wsc_free(w);
		api_stream_refuse(c, rc);
		return;
	}
	const char *key;
	h2o_is_websocket_handshake(req, &key);
	upgrade(w, req, key);
	if (w->first[0]) {
		const char *err = change(w, w->first, w->first_tag, true);
		(void)err; /* checked before the upgrade */
	}
	live_session_writable(w->live);
}

static void sink_opened(void *arg, int rc)
{
	struct wsc *w = arg;
	struct ctx *c = w->req_ctx;
	w->opening = false;
	c->async = false;
	answer(w, c, rc);
	api_request_done(c->app, c);
}

/* GET /api/v1/streaming: the upgrade to a WebSocket. */
void mastodon_streaming_ws(struct ctx *c)
{
	h2o_req_t *req = c->req;
	struct app_thread *t = http_thread_data(req);
	const char *key;
	if (req->version >= 0x200 || h2o_is_websocket_handshake(req, &key) != 0 || !key) {
		mastodon_error(c, 400, "WebSocket upgrade required");
		return;
	}
	char first_tag[HASHTAG_MAX + 1] = "";
	h2o_iovec_t stream = {0}, tag = {0};
	bool has_stream = http_query_get(req, "stream", &stream);
	http_query_get(req, "tag", &tag);
	if (has_stream) {
		const char *err = check_stream(stream.base, stream.len, tag.base, tag.len, first_tag);
		if (err) {
			mastodon_error(c, 400, err);
			return;
		}
	}
	h2o_iovec_t proto;
	bool has_proto = http_header_get(req, "sec-websocket-protocol", &proto);
	if (has_proto && proto.len >= sizeof(((struct wsc *)0)->protocol)) {
		mastodon_error(c, 400, "Sec-WebSocket-Protocol too long");
		return;
	}

	struct wsc *w = xcalloc(1, sizeof(*w));
	w->app = c->app;
	w->cx.app = c->app;
	w->base = xstrdup(mastodon_base_url(c));
	w->cx.link_base = w->base;
	w->req_ctx = c;
	if (has_proto) {
		memcpy(w->protocol, proto.base, proto.len);
		w->protocol_len = proto.len;
	}
	if (has_stream) {
		memcpy(w->first, stream.base, stream.len);
		snprintf(w->first_tag, sizeof(w->first_tag), "%s", first_tag);
	}
	w->hold = h2o_mem_alloc_shared(&req->pool, sizeof(*w->hold), on_req_dispose);
	*w->hold = w;
	int rc = live_session_open(t->streams, req->conn->ctx->loop, c->user_id, c->token_hash, 0,
				   &ws_sink, w, &w->live);
	if (rc == LIVE_OPENING) {
		w->opening = true;
		c->async = true;
		return;
	}
	answer(w, c, rc);
}

/* ---- the SSE forms ----------------------------------------------------------------- */

/* A tweet as Mastodon's SSE `update` event (api/stream.c's stream_tweet),
 * its Status on one data line (JSON has no raw newline). */
static void sse_update(struct ctx *c, struct strbuf *out, uint64_t event_id, const char *json,
		       size_t len)
{
	char *text = rendered(c, json, len, mastodon_status);
	if (text)
		strbuf_appendf(out, "id: %llu\nevent: update\ndata: %s\n\n",
			       (unsigned long long)event_id, text);
	free(text);
}

/* A notification of the live feed as Mastodon's `notification` event. */
static void stream_notification(struct ctx *c, struct strbuf *out, const char *json, size_t len)
{
	char *text = rendered(c, json, len, mastodon_notification);
	if (text)
		strbuf_appendf(out, "event: notification\ndata: %s\n\n", text);
	free(text);
}

/* GET /api/v1/streaming/user (and /api/v1/streaming/user/notification's
 * parent): the home timeline's live feed as Mastodon's SSE, with the
 * reader's notifications. */
void mastodon_streaming_user(struct ctx *c)
{
	mastodon_base_url(c); /* computed once, not per event */
	c->stream_tweet = sse_update;
	c->stream_notification = stream_notification;
	api_feed_stream(c);
}

/* GET /api/v1/streaming/health */
void mastodon_streaming_health(struct ctx *c)
{
	http_send(c->req, 200, "text/plain", "OK", 2);
}

void mastodon_streaming_public(struct ctx *c)
{
	mastodon_base_url(c); /* computed once, not per event */
	c->stream_tweet = sse_update;
	c->stream_watch = true;
	api_feed_stream(c);
}

void mastodon_streaming_hashtag(struct ctx *c)
{
	h2o_iovec_t tag;
	char *folded = h2o_mem_alloc_pool(&c->req->pool, HASHTAG_MAX + 1);
	if (!http_query_get(c->req, "tag", &tag) || !entities_tag_valid(tag.base, tag.len, folded)) {
		mastodon_error(c, 400, "No tag specified");
		return;
	}
	mastodon_base_url(c);
	c->stream_tweet = sse_update;
	c->stream_watch = true;
	c->stream_tag = folded;
	api_feed_stream(c);
}
