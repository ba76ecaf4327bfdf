/*
 * stream — see stream.h. The life of one stream:
 *
 *   open:  caps, subscribe, read U = feed_live_upto, start the response;
 *   catch-up (only with Last-Event-ID, or after the reader's follows
 *          changed): send the feed's tweets in (cursor, U], oldest first, a
 *          page at a time while the send buffer has room;
 *   live:  each "t <id>" newer than the cursor is hydrated and sent, each
 *          "d <id>" sent, each "r" resubscribes and starts a catch-up round;
 *   end:   the client leaves (h2o disposes of the request), the send buffer
 *          overflows (cut off), or shutdown (a clean end of the response).
 *
 * Why catch-up then live has no gap and no duplicate: events for one stream
 * arrive in id order, because the fanout thread publishes every tweet in
 * commit order. feed_live_upto (timeline/feed.h) says that, once subscribed,
 * every tweet below U is in the timelines and tweet U is either there or
 * still to come live. So after a round that sent the feed's tweets in
 * (cursor, U], the cursor moves to U - 1 (or U if U itself was sent), and
 * live tweets at or below the cursor are dropped: each was either sent in
 * the round or is not in the feed. A live tweet that comes during a round is
 * dropped too, and another round follows, which finds it in the timelines
 * (its push preceded its publish).
 */
#include "api/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "http/respond.h"
#include "http/server.h"
#include "pubsub/pubsub.h"
#include "timeline/feed.h"
#include "timeline/live.h"
#include "util/id.h"
#include "util/idmap.h"
#include "util/log.h"

#define CATCHUP_PAGE 50 /* tweet ids read from the feed at a time */

struct streams {
	struct stream_options opt;
	struct pubsub *bus;
	struct feed *feed;
	pthread_mutex_t lock; /* users, open */
	struct idmap users;   /* user id -> struct user_streams */
	size_t open;
	atomic_uint_fast64_t opened, refused_user, refused_server, cut_slow, events;
};

struct user_streams {
	struct idmap_node node;
	unsigned n;
};

struct stream_loop {
	struct streams *st;
	struct http_loop *loop;
	struct store_reader *db;
	h2o_loop_t *evloop;         /* known once the first stream opens */
	h2o_timeout_t heartbeat;    /* all streams of the loop share the period */
	h2o_linklist_t streams;     /* open on this loop */
	bool draining;
};

struct stream {
	h2o_generator_t gen;        /* h2o's handle on us; see on_proceed */
	atomic_uint refs;           /* the request's, and one per event posted */
	struct stream_loop *sl;
	h2o_req_t *req;             /* NULL once closed */
	h2o_linklist_t link;        /* in sl->streams */
	h2o_timeout_entry_t heartbeat;
	h2o_socket_t *watch;        /* HTTP/1: notices the client's close */
	uint64_t user_id;

	uint64_t cursor;            /* live tweets at or below this are not sent */
	uint64_t upto;              /* the bound of the catch-up round */
	bool syncing;               /* a catch-up round is running */
	bool again;                 /* another round must follow this one */
	bool sending;               /* h2o holds `out` until on_proceed */
	bool ending;                /* no more events: the response is ending */
	bool finished;              /* its end was sent: no h2o_send any more */

	struct strbuf out;          /* handed to h2o */
	struct strbuf pending;      /* waiting for the next send */

	struct pubsub_sub *feed_sub;
	struct pubsub_sub **celeb_subs;
	uint64_t *celebs;
	size_t ncelebs;
};

/* One event on its way from the bus to the stream's loop. */
struct stream_msg {
	struct http_loop_msg msg;
	struct stream *s;
	struct live_event e;
};

/* ---- the process-wide part --------------------------------------------------- */

struct streams *streams_new(struct pubsub *bus, struct feed *feed,
			    const struct stream_options *opt)
{
	struct streams *st = xcalloc(1, sizeof(*st));
	st->opt = *opt;
	st->bus = bus;
	st->feed = feed;
	pthread_mutex_init(&st->lock, NULL);
	idmap_init(&st->users, 64);
	return st;
}

void streams_free(struct streams *st)
{
	if (!st)
		return;
	idmap_deinit(&st->users); /* empty: every stream released its slot */
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void streams_stats(struct streams *st, struct stream_stats *out)
{
	pthread_mutex_lock(&st->lock);
	out->open = st->open;
	pthread_mutex_unlock(&st->lock);
	out->opened = atomic_load(&st->opened);
	out->refused_user = atomic_load(&st->refused_user);
	out->refused_server = atomic_load(&st->refused_server);
	out->cut_slow = atomic_load(&st->cut_slow);
	out->events = atomic_load(&st->events);
}

enum { SLOT_OK, SLOT_USER_FULL, SLOT_SERVER_FULL };

/* Takes a stream slot for `user`, within both caps. */
static int slot_take(struct streams *st, uint64_t user)
{
	int rc = SLOT_OK;
	pthread_mutex_lock(&st->lock);
	struct idmap_node *node = idmap_get(&st->users, user);
	struct user_streams *u = node ? container_of(node, struct user_streams, node) : NULL;
	if (u && u->n >= st->opt.max_per_user) {
		rc = SLOT_USER_FULL;
	} else if (st->open >= st->opt.max_streams) {
		rc = SLOT_SERVER_FULL;
	} else {
		if (!u) {
			u = xcalloc(1, sizeof(*u));
			u->node.key = user;
			idmap_insert(&st->users, &u->node);
		}
		u->n++;
		st->open++;
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

static void slot_release(struct streams *st, uint64_t user)
{
	pthread_mutex_lock(&st->lock);
	struct idmap_node *node = idmap_get(&st->users, user);
	struct user_streams *u = container_of(node, struct user_streams, node);
	if (--u->n == 0)
		free(container_of(idmap_remove(&st->users, user), struct user_streams, node));
	st->open--;
	pthread_mutex_unlock(&st->lock);
}

/* ---- subscriptions --------------------------------------------------------------- */

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req);
static void deliver(struct http_loop_msg *msg);

/* The bus handler: any thread, possibly several at once. The stream cannot
 * go away meanwhile: it unsubscribes before dropping its own reference. */
static void on_bus_message(void *arg, const char *channel, const void *bytes, size_t len)
{
	(void)channel;
	struct stream *s = arg;
	struct live_event e;
	if (!live_decode(bytes, len, &e))
		return; /* not ours to read (a newer server on the same bus) */
	struct stream_msg *m = xcalloc(1, sizeof(*m)); /* h2o asserts an unlinked link */
	m->msg.run = deliver;
	m->s = s;
	m->e = e;
	atomic_fetch_add(&s->refs, 1);
	http_loop_post(s->sl->loop, &m->msg);
}

static struct pubsub_sub *subscribe_author(struct stream *s, uint64_t author)
{
	char channel[LIVE_CHANNEL_MAX];
	live_channel_author(channel, author);
	struct pubsub *bus = s->sl->st->bus;
	return bus->ops->subscribe(bus, channel, on_bus_message, s);
}

/* Listens to the author channels of exactly the celebrities the reader
 * follows now (the feed channel stays). */
static int follow_celebrities(struct stream *s)
{
	struct pubsub *bus = s->sl->st->bus;
	uint64_t *ids;
	size_t n;
	int rc = feed_celebrities(s->sl->st->feed, s->sl->db, s->user_id, &ids, &n);
	if (rc)
		return rc;
	struct pubsub_sub **subs = xcalloc(n ? n : 1, sizeof(*subs));
	/* Keep what stays (both lists are short), add what is new, then
	 * drop what went: never a moment without a channel still followed. */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s->ncelebs && !subs[i]; k++) {
			if (s->celebs[k] == ids[i]) {
				subs[i] = s->celeb_subs[k];
				s->celeb_subs[k] = NULL;
			}
		}
		if (!subs[i])
			subs[i] = subscribe_author(s, ids[i]);
	}
	for (size_t k = 0; k < s->ncelebs; k++)
		bus->ops->unsubscribe(bus, s->celeb_subs[k]);
	free(s->celeb_subs);
	free(s->celebs);
	s->celeb_subs = subs;
	s->celebs = ids;
	s->ncelebs = n;
	return STORE_OK;
}

static void unsubscribe_all(struct stream *s)
{
	struct pubsub *bus = s->sl->st->bus;
	bus->ops->unsubscribe(bus, s->feed_sub);
	s->feed_sub = NULL;
	for (size_t k = 0; k < s->ncelebs; k++)
		bus->ops->unsubscribe(bus, s->celeb_subs[k]);
	free(s->celeb_subs);
	free(s->celebs);
	s->celeb_subs = NULL;
	s->celebs = NULL;
	s->ncelebs = 0;
}

/* ---- life cycle ------------------------------------------------------------------ */

static void stream_unref(struct stream *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	strbuf_deinit(&s->out);
	strbuf_deinit(&s->pending);
	free(s);
}

/* Called when h2o lets go of the request, however it ended; idempotent.
 * After this the stream is memory waiting for its last reference: the
 * request's (dropped by guard_dispose) and those of events in flight. */
static void stream_close(struct stream *s)
{
	if (!s->req)
		return;
	s->req = NULL;
	unsubscribe_all(s);
	if (h2o_timeout_is_linked(&s->heartbeat))
		h2o_timeout_unlink(&s->heartbeat);
	h2o_linklist_unlink(&s->link);
	if (s->watch) {
		h2o_socket_read_stop(s->watch);
		h2o_socket_close(s->watch);
		s->watch = NULL;
	}
	slot_release(s->sl->st, s->user_id);
}

/* h2o gives up on a response it did not see end (the client left). The
 * request's memory pool is cleared right after, running guard_dispose. */
static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	stream_close((struct stream *)gen);
}

/* Lives in the request's pool: its dispose runs whenever the request goes,
 * after a clean end too, when h2o calls no stop. */
struct stream_guard {
	struct stream *s;
};

static void guard_dispose(void *p)
{
	struct stream *s = ((struct stream_guard *)p)->s;
	stream_close(s);
	stream_unref(s);
}

/* No more events: the subscriptions go, the heartbeat stops. */
static void stop_events(struct stream *s)
{
	s->ending = true;
	unsubscribe_all(s);
	if (h2o_timeout_is_linked(&s->heartbeat))
		h2o_timeout_unlink(&s->heartbeat);
}

/* Ends the response cleanly: what is pending goes out, then the end of
 * the body (now, or when the send in progress completes). */
static void stream_end(struct stream *s)
{
	stop_events(s);
	if (s->sending || s->finished)
		return; /* on_proceed finishes; or it is finished */
	strbuf_deinit(&s->out);
	s->out = s->pending;
	strbuf_init(&s->pending);
	s->finished = true;
	h2o_iovec_t buf = h2o_iovec_init(s->out.data ? s->out.data : "", s->out.len);
	h2o_send(s->req, &buf, 1, H2O_SEND_STATE_FINAL);
}

/* Ends the response in error: h2o closes the connection. Only when no
 * send is in progress (h2o_send must wait for on_proceed). */
static void stream_abort(struct stream *s)
{
	if (s->sending || s->finished)
		return;
	s->finished = true;
	h2o_send(s->req, NULL, 0, H2O_SEND_STATE_ERROR);
}

/* Disconnects a reader that lets its send buffer fill. A send is stuck in
 * the kernel, so the response cannot be ended in band: the socket is shut
 * down, h2o's write fails, and h2o closes the connection (stream_close). */
static void stream_cut(struct stream *s)
{
	atomic_fetch_add(&s->sl->st->cut_slow, 1);
	stop_events(s);
	strbuf_deinit(&s->pending);
	h2o_conn_t *conn = s->req->conn;
	h2o_socket_t *sock = conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
	if (sock)
		shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
	else
		stream_abort(s);
}

/*
 * While h2o sends an HTTP/1 response it does not read the connection, so a
 * client that hangs up would be noticed only at the next write, a heartbeat
 * away, holding its slot (and the user's cap) meanwhile. A duplicate of the
 * socket's descriptor, watched for readability, sees the FIN at once; the
 * stream then ends the response in error (or shuts the socket down if a
 * send is in progress), and h2o closes the connection. HTTP/2 reads all
 * along and needs none of this. (A client that half-closes its side after
 * the request is taken for gone too: SSE clients do not.)
 */
static void on_client_readable(h2o_socket_t *watch, const char *err)
{
	struct stream *s = watch->data;
	char c;
	ssize_t n = recv(h2o_socket_get_fd(watch), &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (!err && (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))) {
		/* The client sent bytes (a pipelined request): not a close. h2o
		 * reads them after the stream; stop looking. */
		h2o_socket_read_stop(watch);
		return;
	}
	h2o_socket_read_stop(watch);
	stop_events(s);
	if (s->sending)
		shutdown(h2o_socket_get_fd(watch), SHUT_RDWR);
	else
		stream_abort(s); /* (a finished response is closing already) */
}

/* The kernel's send buffer counts too: left to autotuning it grows to
 * megabytes for a reader that does not read. Pinned to the stream's own
 * bound, a slow reader is noticed after a few dozen kilobytes, not after
 * megabytes per connection. (HTTP/2 shares the socket: left alone.) */
static void watch_client(struct stream *s)
{
	h2o_conn_t *conn = s->req->conn;
	h2o_socket_t *sock = conn->callbacks->get_socket ? conn->callbacks->get_socket(conn) : NULL;
	if (!sock || s->req->version >= 0x200)
		return;
	int sndbuf = (int)s->sl->st->opt.buffer_bytes;
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
	s->watch = h2o_evloop_socket_create(s->sl->evloop, fd, H2O_SOCKET_FLAG_DONT_READ);
	s->watch->data = s;
	h2o_socket_read_start(s->watch, on_client_readable);
}

/* ---- writing events ---------------------------------------------------------------- */

/* Appends the event of tweet `id`, unless it was deleted meanwhile. */
static void append_tweet(struct stream *s, uint64_t id)
{
	struct strbuf *b = &s->pending;
	size_t mark = b->len;
	strbuf_append_str(b, "id: ");
	strbuf_append_u64(b, id);
	strbuf_append_str(b, "\nevent: tweet\ndata: ");
	if (feed_tweet(s->sl->st->feed, s->sl->db, id, b) != STORE_OK) {
		b->len = mark; /* deleted (or unreadable now): nothing to show */
		b->data[mark] = '\0';
		return;
	}
	strbuf_append_str(b, "\n\n");
	atomic_fetch_add(&s->sl->st->events, 1);
}

/* A delete carries no `id:` line: it must not move the client's
 * Last-Event-ID back to an older tweet. */
static void append_delete(struct stream *s, uint64_t id)
{
	strbuf_append_str(&s->pending, "event: delete\ndata: {\"id\":\"");
	strbuf_append_u64(&s->pending, id);
	strbuf_append_str(&s->pending, "\"}\n\n");
	atomic_fetch_add(&s->sl->st->events, 1);
}

/* Starts a catch-up round (or asks for one more). U is read only now, after
 * every subscription it must cover is in place. */
static void start_round(struct stream *s)
{
	if (s->syncing) {
		s->again = true;
		return;
	}
	s->syncing = true;
	s->upto = feed_live_upto(s->sl->st->feed);
}

/* Whether catch-up may add an event: it keeps to half the buffer, so live
 * events (and one more tweet) always fit in the other half. */
static bool catch_up_room(const struct stream *s)
{
	return s->pending.len + s->out.len < s->sl->st->opt.buffer_bytes / 2;
}

/* Catch-up events while there is room; the rest waits for on_proceed.
 * Returns a STORE_* code. */
static int catch_up(struct stream *s)
{
	while (s->syncing && catch_up_room(s)) {
		uint64_t ids[CATCHUP_PAGE];
		size_t n = 0;
		if (s->cursor < s->upto) {
			struct store_page page = {.after = s->cursor, .before = s->upto + 1,
						  .limit = CATCHUP_PAGE, .oldest_first = true};
			int rc = feed_home_ids(s->sl->st->feed, s->sl->db, s->user_id, &page, ids, &n);
			if (rc)
				return rc;
		}
		size_t left = n; /* newest first: send from the end */
		while (left > 0 && catch_up_room(s)) {
			left--;
			append_tweet(s, ids[left]);
			s->cursor = ids[left];
		}
		if (left > 0 || n == CATCHUP_PAGE)
			continue; /* more to read from the cursor on */
		/* The round is complete up to U (feed_live_upto). */
		if (s->upto > 0 && s->cursor < s->upto - 1)
			s->cursor = s->upto - 1;
		s->syncing = false;
		if (s->again) {
			s->again = false;
			start_round(s);
		}
	}
	return STORE_OK;
}

/* Does what can be done now: catch-up pages, the bound, and a send. */
static void pump(struct stream *s)
{
	if (s->ending)
		return;
	if (catch_up(s) != STORE_OK) {
		/* The feed cannot be read now: end the stream; the client
		 * reconnects with its Last-Event-ID and catches up then. */
		log_error("stream: catch-up failed for user %llu", (unsigned long long)s->user_id);
		stream_end(s);
		return;
	}
	if (s->pending.len + s->out.len > s->sl->st->opt.buffer_bytes) {
		stream_cut(s);
		return;
	}
	if (s->sending || s->pending.len == 0)
		return;
	strbuf_deinit(&s->out);
	s->out = s->pending;
	strbuf_init(&s->pending);
	s->sending = true;
	h2o_iovec_t buf = h2o_iovec_init(s->out.data, s->out.len);
	h2o_send(s->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* h2o finished sending `out`: the next send may go. */
static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	(void)req;
	struct stream *s = (struct stream *)gen;
	s->sending = false;
	strbuf_deinit(&s->out); /* idle streams hold no buffer */
	if (s->ending)
		stream_end(s);
	else
		pump(s);
}

/* An event from the bus, now on the stream's loop. */
static void deliver(struct http_loop_msg *msg)
{
	struct stream_msg *m = (struct stream_msg *)msg;
	struct stream *s = m->s;
	if (s->req && !s->ending) {
		switch (m->e.kind) {
		case LIVE_TWEET:
			if (s->syncing) {
				s->again = true; /* the next round finds it */
			} else if (m->e.id > s->cursor) {
				append_tweet(s, m->e.id);
				s->cursor = m->e.id;
			}
			break;
		case LIVE_DELETE: append_delete(s, m->e.id); break;
		case LIVE_RESYNC:
			if (follow_celebrities(s) == STORE_OK)
				start_round(s);
			break;
		}
		pump(s);
	}
	free(m);
	stream_unref(s);
}

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
	struct stream *s = H2O_STRUCT_FROM_MEMBER(struct stream, heartbeat, entry);
	strbuf_append_str(&s->pending, ": keep-alive\n\n");
	h2o_timeout_link(s->sl->evloop, &s->sl->heartbeat, &s->heartbeat);
	pump(s);
}

/* ---- the request ------------------------------------------------------------------- */

/* Last-Event-ID: the header a reconnecting EventSource sends, or the query
 * parameter a client sets by hand. Absent or empty: *has false. */
static bool last_event_id(struct ctx *c, bool *has, uint64_t *id)
{
	h2o_iovec_t v;
	*has = (http_header_get(c->req, "last-event-id", &v) ||
		http_query_get(c->req, "last_event_id", &v)) &&
	       v.len > 0;
	if (!*has || id_parse(v.base, v.len, id))
		return true;
	http_send_error(c->req, 400, "invalid_last_event_id",
			"Last-Event-ID must be a tweet id (a positive decimal number)");
	return false;
}

void api_feed_stream(struct ctx *c)
{
	struct app_thread *t = http_thread_data(c->req);
	struct stream_loop *sl = t->streams;
	struct streams *st = sl->st;
	bool has_last;
	uint64_t last = 0;
	if (!last_event_id(c, &has_last, &last))
		return;
	int slot = sl->draining ? SLOT_SERVER_FULL : slot_take(st, c->user_id);
	if (slot == SLOT_USER_FULL) {
		atomic_fetch_add(&st->refused_user, 1);
		http_header_add(c->req, "retry-after", "5", 1);
		http_send_error(c->req, 429, "too_many_streams",
				"this user has as many open streams as allowed; close one first");
		return;
	}
	if (slot == SLOT_SERVER_FULL) {
		atomic_fetch_add(&st->refused_server, 1);
		http_header_add(c->req, "retry-after", "5", 1);
		http_send_error(c->req, 503, "unavailable",
				"the server holds as many streams as it can; try again later");
		return;
	}
	if (!sl->evloop) {
		sl->evloop = c->req->conn->ctx->loop;
		h2o_timeout_init(sl->evloop, &sl->heartbeat, st->opt.heartbeat_ms);
	}

	struct stream *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	s->gen.proceed = on_proceed;
	s->gen.stop = on_stop;
	s->sl = sl;
	s->req = c->req;
	s->user_id = c->user_id;
	s->heartbeat.cb = on_heartbeat;
	char channel[LIVE_CHANNEL_MAX];
	live_channel_feed(channel, c->user_id);
	s->feed_sub = st->bus->ops->subscribe(st->bus, channel, on_bus_message, s);
	int rc = follow_celebrities(s);
	if (rc) {
		unsubscribe_all(s);
		s->req = NULL; /* for events already posted */
		slot_release(st, c->user_id);
		stream_unref(s);
		api_store_error(c, rc);
		return;
	}
	/* Subscribed: now U may be read (start_round). Without Last-Event-ID
	 * the stream starts at U: tweets fanned out from now on. */
	s->cursor = has_last ? last : feed_live_upto(st->feed);
	if (has_last)
		start_round(s);
	atomic_fetch_add(&st->opened, 1);
	struct stream_guard *g = h2o_mem_alloc_shared(&c->req->pool, sizeof(*g), guard_dispose);
	g->s = s;
	h2o_linklist_insert(&sl->streams, &s->link);
	h2o_timeout_link(sl->evloop, &sl->heartbeat, &s->heartbeat);

	h2o_req_t *req = c->req;
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       H2O_STRLIT("text/event-stream; charset=utf-8"));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
		       H2O_STRLIT("no-cache"));
	http_header_add(req, "x-accel-buffering", "no", 2); /* nginx: do not buffer */
	h2o_start_response(req, &s->gen);
	watch_client(s);
	/* The first bytes go at once, so the client sees the 200 now. */
	strbuf_append_str(&s->pending, ": connected\n\n");
	pump(s);
}

/* ---- per loop ---------------------------------------------------------------------- */

struct stream_loop *stream_loop_new(struct streams *st, struct http_loop *loop,
				    struct store_reader *db)
{
	struct stream_loop *sl = xcalloc(1, sizeof(*sl));
	sl->st = st;
	sl->loop = loop;
	sl->db = db;
	h2o_linklist_init_anchor(&sl->streams);
	return sl;
}

void stream_loop_drain(struct stream_loop *sl)
{
	sl->draining = true;
	/* stream_end may close a stream at once, unlinking it: step first. */
	for (h2o_linklist_t *n = sl->streams.next, *next; n != &sl->streams; n = next) {
		next = n->next;
		struct stream *s = H2O_STRUCT_FROM_MEMBER(struct stream, link, n);
		if (!s->ending)
			stream_end(s);
	}
}

void stream_loop_free(struct stream_loop *sl)
{
	if (!sl)
		return;
	/* A stream still open here never drained its last send (a reader
	 * that stopped reading). The loop is gone, so is h2o's interest. */
	while (!h2o_linklist_is_empty(&sl->streams)) {
		struct stream *s = H2O_STRUCT_FROM_MEMBER(struct stream, link, sl->streams.next);
		stream_close(s);
		stream_unref(s); /* the request's: its pool is never cleared now */
	}
	if (sl->evloop)
		h2o_timeout_dispose(sl->evloop, &sl->heartbeat);
	free(sl);
}
