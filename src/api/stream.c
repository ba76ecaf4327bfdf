/*
 * stream — see stream.h. The SSE transport of a live session: it checks
 * the request, opens the session (live/service.h), and turns what the
 * session hands to its sink into Server-Sent Events on the response.
 *
 * One `struct sse` per response, in the request's memory pool, so it lives
 * exactly as long as h2o may call its generator. Two buffers: `out` is
 * handed to h2o and must stay put until on_proceed; `pending` collects the
 * events meanwhile, and goes out as one write at the next flush.
 *
 * A post reaches many streams of a loop back to back, each with the same
 * event: framed once per loop (`struct sse_frame`, shared by reference), it is
 * sent from there by every stream that has nothing else pending, without
 * a buffer or a copy of its own. A stream with more to say copies the
 * frame into `pending` first, so the order of its events holds.
 *
 * Opening a session reads the store, off the loop where the store asks for
 * it: the session may answer later (LIVE_OPENING, then sink->opened), and
 * the request stays unanswered (and counted in flight) until then, like
 * one waiting on api_read.
 */
#include "api/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "http/respond.h"
#include "http/server.h"
#include "util/id.h"
#include "util/log.h"
#include "util/strbuf.h"

#define STREAM_RETRY_MS "3000" /* the reconnection hint when live events stop */

struct sse {
	h2o_generator_t gen;        /* h2o's handle on us; see on_proceed */
	h2o_req_t *req;
	struct ctx *ctx;            /* the request's, in its pool */
	bool opening;               /* waiting for sink->opened: not yet recorded */
	struct live_session *live;  /* NULL once closed (or released) */
	h2o_socket_t *watch;        /* HTTP/1: notices the client's close */
	bool sending;               /* h2o holds `out` until on_proceed */
	bool ending;                /* no more events: the response is ending */
	bool finished;              /* its end was sent: no h2o_send any more */
	struct strbuf out;          /* handed to h2o */
	struct strbuf pending;      /* waiting for the next send */
	struct sse_frame *out_frame;  /* handed to h2o instead of `out` */
	struct sse_frame *next_frame; /* waiting for the next send; while set, `pending` is empty */
};

/* ---- shared frames -------------------------------------------------------------------- */

/* A tweet event as SSE bytes, for any stream of the loop that sends the
 * same: reference-counted on the loop's thread only. The loop holds one
 * reference to its latest (app_thread.sse_frame), each stream that has it
 * pending or in h2o's hands another. */
struct sse_frame {
	unsigned refs;
	uint64_t resume;       /* the `id:` line's */
	size_t json_len;       /* the data line's JSON, just before the blank line */
	struct strbuf bytes;
};

static void frame_tweet(struct strbuf *sb, uint64_t resume, const char *json, size_t len)
{
	strbuf_append_str(sb, "id: ");
	strbuf_append_u64(sb, resume);
	strbuf_append_str(sb, "\nevent: tweet\ndata: ");
	strbuf_append(sb, json, len);
	strbuf_append_str(sb, "\n\n");
}

static void frame_unref(struct sse_frame *f)
{
	if (f && --f->refs == 0) {
		strbuf_deinit(&f->bytes);
		free(f);
	}
}

/* A reference to the frame of this event: the loop's latest if it holds
 * the same bytes, else a new one, which becomes the loop's latest. */
static struct sse_frame *frame_get(struct app_thread *t, uint64_t resume, const char *json,
				   size_t len)
{
	struct sse_frame *f = t->sse_frame;
	if (f && f->resume == resume && f->json_len == len &&
	    memcmp(f->bytes.data + f->bytes.len - 2 - len, json, len) == 0) {
		f->refs++;
		return f;
	}
	f = xcalloc(1, sizeof(*f));
	f->resume = resume;
	strbuf_init(&f->bytes);
	frame_tweet(&f->bytes, resume, json, len);
	f->json_len = len;
	f->refs = 2; /* the loop's and the caller's */
	frame_unref(t->sse_frame);
	t->sse_frame = f;
	return f;
}

void api_stream_thread_deinit(struct app_thread *t)
{
	frame_unref(t->sse_frame);
	t->sse_frame = NULL;
}

/* Where the next event goes: `pending`, after the frame waiting before
 * it (copied in, so the order holds). */
static struct strbuf *pending(struct sse *x)
{
	if (x->next_frame) {
		strbuf_append(&x->pending, x->next_frame->bytes.data, x->next_frame->bytes.len);
		frame_unref(x->next_frame);
		x->next_frame = NULL;
	}
	return &x->pending;
}

/* ---- ending ------------------------------------------------------------------------ */

/* Gives the session back and stops watching the client; idempotent. */
static void release(struct sse *x)
{
	if (x->live) {
		live_session_close(x->live);
		x->live = NULL;
	}
	if (x->watch) {
		h2o_socket_read_stop(x->watch);
		h2o_socket_close(x->watch);
		x->watch = NULL;
	}
}

/* h2o gives up on a response it did not see end (the client left). The
 * request's memory pool is cleared right after, running on_dispose. */
static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	release((struct sse *)gen);
}

/* Whenever the request goes, after a clean end too, when h2o calls no stop. */
static void on_dispose(void *p)
{
	struct sse *x = p;
	release(x);
	if (x->opening) {
		/* Gone before the session answered: only the in-flight count
		 * drops, as for a client that leaves an api_read. */
		x->opening = false;
		api_request_done(x->ctx->app, NULL);
	}
	strbuf_deinit(&x->out);
	strbuf_deinit(&x->pending);
	frame_unref(x->out_frame);
	frame_unref(x->next_frame);
	x->out_frame = x->next_frame = NULL;
}

/* Ends the response cleanly: what is pending goes out, then the end of
 * the body (now, or when the send in progress completes). */
static void finish(struct sse *x)
{
	x->ending = true;
	if (x->sending || x->finished)
		return; /* on_proceed finishes; or it is finished */
	pending(x);
	strbuf_deinit(&x->out);
	x->out = x->pending;
	strbuf_init(&x->pending);
	x->finished = true;
	h2o_iovec_t buf = h2o_iovec_init(x->out.data ? x->out.data : "", x->out.len);
	h2o_send(x->req, &buf, 1, H2O_SEND_STATE_FINAL);
}

/* Ends the response in error: h2o closes the connection. Only when no
 * send is in progress (h2o_send must wait for on_proceed). */
static void abort_response(struct sse *x)
{
	if (x->sending || x->finished)
		return;
	x->finished = true;
	h2o_send(x->req, NULL, 0, H2O_SEND_STATE_ERROR);
}

static h2o_socket_t *client_socket(h2o_req_t *req)
{
	h2o_conn_t *conn = req->conn;
	return conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
}

/* Disconnects a reader that let its buffer fill. A send is stuck in the
 * kernel, so the response cannot be ended in band: the socket is shut
 * down, h2o's write fails, and h2o closes the connection (on_stop). */
static void cut(struct sse *x)
{
	x->ending = true;
	strbuf_deinit(&x->pending);
	frame_unref(x->next_frame);
	x->next_frame = NULL;
	h2o_socket_t *sock = client_socket(x->req);
	if (sock)
		shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
	else
		abort_response(x);
}

/*
 * While h2o sends an HTTP/1 response it does not read the connection, so a
 * client that hangs up would be noticed only at the next write, a heartbeat
 * away, holding its slot (and the user's cap) meanwhile. A duplicate of the
 * socket's descriptor, watched for readability, sees the FIN at once; the
 * session is closed, the response ended in error (or the socket shut down
 * if a send is in progress), and h2o closes the connection. HTTP/2 reads
 * all along and needs none of this. (A client that half-closes its side
 * after the request is taken for gone too: SSE clients do not.)
 */
static void on_client_readable(h2o_socket_t *watch, const char *err)
{
	struct sse *x = watch->data;
	char c;
	ssize_t n = recv(h2o_socket_get_fd(watch), &c, 1, MSG_PEEK | MSG_DONTWAIT);
	h2o_socket_read_stop(watch);
	if (!err && (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))))
		return; /* bytes (a pipelined request), not a close: h2o reads them after us */
	int fd = h2o_socket_get_fd(watch);
	x->ending = true;
	if (x->live) {
		live_session_close(x->live);
		x->live = NULL;
	}
	if (x->sending)
		shutdown(fd, SHUT_RDWR);
	else
		abort_response(x); /* (a finished response is closing already) */
}

/* The kernel's send buffer counts too: left to autotuning it grows to
 * megabytes for a reader that does not read. Pinned to the session's
 * bound, a slow reader is noticed after a few dozen kilobytes, not after
 * megabytes per connection. (HTTP/2 shares the socket: left alone.) */
static void watch_client(struct sse *x, size_t buffer_bytes)
{
	h2o_socket_t *sock = client_socket(x->req);
	if (!sock || x->req->version >= 0x200)
		return;
	int sndbuf = (int)buffer_bytes;
	setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	/* Descriptors are handed out lowest first, so the new one's number is
	 * about how many are in use: watch only while under half the limit,
	 * and never take the descriptors new connections need. */
	int fd = fcntl(h2o_socket_get_fd(sock), F_DUPFD_CLOEXEC, 0);
	struct rlimit rl;
	if (fd >= 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)fd >= rl.rlim_cur / 2) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return; /* the next write (a heartbeat at most) notices instead */
	x->watch = h2o_evloop_socket_create(x->req->conn->ctx->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
	x->watch->data = x;
	h2o_socket_read_start(x->watch, on_client_readable);
}

/* ---- the sink: SSE framing --------------------------------------------------------- */

/* The `id:` line is the resume point, not always the tweet's own id: a
 * tweet that came late (below one already sent) must not move the
 * client's Last-Event-ID back, or a reconnect would repeat what it has. */
static void sink_tweet(void *arg, uint64_t id, uint64_t resume, const char *json, size_t len)
{
	(void)id; /* the JSON has it */
	struct sse *x = arg;
	if (x->ctx->stream_watch)
		return; /* a public or hashtag stream: its watch's events only */
	if (x->ctx->stream_tweet) {
		x->ctx->stream_tweet(x->ctx, pending(x), resume, json, len);
		return;
	}
	if (x->pending.len == 0 && !x->next_frame) /* the common case: one event per send */
		x->next_frame = frame_get(http_thread_data(x->req), resume, json, len);
	else
		frame_tweet(pending(x), resume, json, len);
}

/* A delete carries no `id:` line: it must not move the client's
 * Last-Event-ID back to an older tweet. */
static void sink_deleted(void *arg, uint64_t id)
{
	struct sse *x = arg;
	if (x->ctx->stream_watch)
		return;
	struct strbuf *sb = pending(x);
	if (x->ctx->stream_tweet) { /* Mastodon's: the bare id */
		strbuf_append_str(sb, "event: delete\ndata: ");
		strbuf_append_u64(sb, id);
		strbuf_append_str(sb, "\n\n");
		return;
	}
	strbuf_append_str(sb, "event: delete\ndata: {\"id\":\"");
	strbuf_append_u64(sb, id);
	strbuf_append_str(sb, "\"}\n\n");
}

/* A notification carries no `id:` line either: Last-Event-ID is the
 * feed's position. */
static void sink_notification(void *arg, const char *json, size_t len)
{
	struct sse *x = arg;
	if (x->ctx->stream_watch)
		return;
	struct strbuf *sb = pending(x);
	if (x->ctx->stream_notification) {
		x->ctx->stream_notification(x->ctx, sb, json, len);
		return;
	}
	strbuf_append_str(sb, "event: notification\ndata: ");
	strbuf_append(sb, json, len);
	strbuf_append_str(sb, "\n\n");
}

/* A public or hashtag stream's (c->stream_watch; Mastodon's framing). */
static void sink_watch_tweet(void *arg, void *key, uint64_t id, const char *json, size_t len)
{
	(void)key;
	struct sse *x = arg;
	x->ctx->stream_tweet(x->ctx, pending(x), id, json, len);
}

static void sink_watch_deleted(void *arg, void *key, uint64_t id)
{
	(void)key;
	struct strbuf *sb = pending(arg);
	strbuf_append_str(sb, "event: delete\ndata: ");
	strbuf_append_u64(sb, id);
	strbuf_append_str(sb, "\n\n");
}

static void sink_heartbeat(void *arg)
{
	strbuf_append_str(pending(arg), ": keep-alive\n\n");
}

static void sink_flush(void *arg)
{
	struct sse *x = arg;
	if (x->sending || x->finished || (x->pending.len == 0 && !x->next_frame))
		return;
	h2o_iovec_t buf;
	if (x->next_frame) { /* then nothing else is pending */
		x->out_frame = x->next_frame;
		x->next_frame = NULL;
		buf = h2o_iovec_init(x->out_frame->bytes.data, x->out_frame->bytes.len);
	} else {
		strbuf_deinit(&x->out);
		x->out = x->pending;
		strbuf_init(&x->pending);
		buf = h2o_iovec_init(x->out.data, x->out.len);
	}
	x->sending = true;
	h2o_send(x->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static size_t sink_backlog(void *arg)
{
	struct sse *x = arg;
	return x->pending.len + x->out.len + (x->out_frame ? x->out_frame->bytes.len : 0) +
	       (x->next_frame ? x->next_frame->bytes.len : 0);
}

static void sink_end(void *arg, enum live_end why)
{
	struct sse *x = arg;
	switch (why) {
	case LIVE_END_DONE: finish(x); break;
	case LIVE_END_SLOW: cut(x); break;
	case LIVE_END_RETRY:
		/* SSE's reconnection time: the client comes back (to any
		 * node) with its Last-Event-ID and catches up. */
		strbuf_append_str(pending(x), "retry: " STREAM_RETRY_MS "\n\n");
		finish(x);
		break;
	case LIVE_END_RELEASE:
		/* The loop stopped with this response unfinished: its pool is
		 * never cleared now, so on_dispose will not run. */
		x->live = NULL;
		on_dispose(x);
		break;
	}
}

static void sink_opened(void *arg, int rc);

static const struct live_sink sse_sink = {
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

/* h2o finished sending `out`: the next send may go. */
static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	struct sse *x = (struct sse *)gen;
	x->sending = false;
	strbuf_deinit(&x->out); /* idle streams hold no buffer */
	frame_unref(x->out_frame);
	x->out_frame = NULL;
	if (x->ending)
		finish(x);
	else if (x->live)
		live_session_writable(x->live);
}

/* ---- the request ------------------------------------------------------------------- */

/* Last-Event-ID: the header a reconnecting EventSource sends, or the query
 * parameter a client sets by hand. Absent or empty: 0 (ids are never 0). */
static bool last_event_id(struct ctx *c, uint64_t *id)
{
	h2o_iovec_t v;
	*id = 0;
	bool has = (http_header_get(c->req, "last-event-id", &v) ||
		    http_query_get(c->req, "last_event_id", &v)) &&
		   v.len > 0;
	if (!has || id_parse(v.base, v.len, id))
		return true;
	http_send_error(c->req, 400, "invalid_last_event_id",
			"Last-Event-ID must be a tweet id (a positive decimal number)");
	return false;
}

/* The status and headers of a stream's response. */
static void stream_headers(h2o_req_t *req)
{
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       H2O_STRLIT("text/event-stream; charset=utf-8"));
	/* Cache-Control: no-store, as every answer to a request with a token
	 * (api/routes.c: dispatch). */
	http_header_add(req, "x-accel-buffering", "no", 2); /* nginx: do not buffer */
}

void api_stream_refuse(struct ctx *c, int rc)
{
	h2o_req_t *req = c->req;
	if (rc == LIVE_USER_FULL) {
		http_header_add(req, "retry-after", "5", 1);
		http_send_error(req, 429, "too_many_streams",
				"this user has as many open streams as allowed; close one first");
		return;
	}
	if (rc == LIVE_REVOKED) { /* logged out while the stream opened */
		http_header_add(req, "www-authenticate", "Bearer", 6);
		http_send_error(req, 401, "unauthorized", "a valid bearer token is required");
		return;
	}
	if (rc == LIVE_SERVER_FULL) {
		http_header_add(req, "retry-after", "5", 1);
		http_send_error(req, 503, "unavailable",
				"the server holds as many streams as it can; try again later");
		return;
	}
	api_store_error(c, rc);
}

/* live_session_open's answer (now, or through sink_opened): the response
 * starts, or the refusal is sent. */
static void answer(struct sse *x, struct ctx *c, int rc)
{
	h2o_req_t *req = x->req;
	if (rc) {
		api_stream_refuse(c, rc);
		return;
	}

	stream_headers(req);
	h2o_start_response(req, &x->gen);
	watch_client(x, live_service_options(c->app->streams)->buffer_bytes);
	/* The first bytes go at once, so the client sees the 200 now. */
	strbuf_append_str(pending(x), ": connected\n\n");
	if (c->stream_watch && live_session_watch(x->live, c->stream_tag, x) != 0)
		abort(); /* never: the first watch of an open session */
	live_session_writable(x->live);
}

/* The session answers an open that returned LIVE_OPENING. */
static void sink_opened(void *arg, int rc)
{
	struct sse *x = arg;
	struct ctx *c = x->ctx;
	x->opening = false;
	if (rc)
		x->live = NULL; /* gone with its handle */
	c->async = false;
	answer(x, c, rc);
	api_request_done(c->app, c);
}

void api_feed_stream(struct ctx *c)
{
	struct app_thread *t = http_thread_data(c->req);
	h2o_req_t *req = c->req;
	uint64_t last;
	if (!last_event_id(c, &last))
		return;

	if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
		/* GET's headers without its body: no session, nothing streams
		 * (h2o frames a HEAD response as bodiless; an event written on
		 * it would be read as the next response). */
		stream_headers(req);
		h2o_send_inline(req, "", 0);
		return;
	}
	struct sse *x = h2o_mem_alloc_shared(&req->pool, sizeof(*x), on_dispose);
	memset(x, 0, sizeof(*x));
	x->gen.proceed = on_proceed;
	x->gen.stop = on_stop;
	x->req = req;
	x->ctx = c;
	int rc = live_session_open(t->streams, req->conn->ctx->loop, c->user_id, c->token_hash,
				   last, &sse_sink, x, &x->live);
	if (rc == LIVE_OPENING) {
		/* Its reads went off the loop: sink_opened answers. */
		x->opening = true;
		c->async = true;
		return;
	}
	if (rc)
		x->live = NULL;
	answer(x, c, rc);
}
