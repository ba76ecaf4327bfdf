/*
 * service — see service.h for what a session does; live/watermark.h for
 * why catch-up then live loses and repeats nothing.
 *
 * Lifetime of a session: it is reference-counted, one reference for the
 * transport's handle and one per bus event posted to its loop and not yet
 * run, so an event in flight never finds it freed. "Open" ends when the
 * transport closes it (or the loop goes): the subscriptions, the heartbeat
 * and the slot go at once, the memory with the last reference.
 */
#include "live/service.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/write.h"
#include "http/server.h"
#include "live/watermark.h"
#include "pubsub/pubsub.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "timeline/live.h"
#include "util/container_of.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/strbuf.h"

#define CATCHUP_PAGE 50 /* tweet ids read from the feed at a time */

struct live_service {
	struct live_options opt;
	struct pubsub *bus;
	struct feed *feed;
	pthread_mutex_t lock; /* users, open */
	struct idmap users;   /* user id -> struct user_sessions */
	size_t open;
	atomic_uint_fast64_t opened, refused_user, refused_server, cut_slow, events;
};

struct user_sessions {
	struct idmap_node node;
	unsigned n;
};

struct live_loop {
	struct live_service *svc;
	struct http_loop *loop;
	struct store_reader *db;
	pthread_t thread;           /* the loop's: everything here runs on it */
	h2o_loop_t *evloop;         /* known once the first session opens */
	h2o_timeout_t heartbeat;    /* all sessions of the loop share the period */
	h2o_linklist_t sessions;    /* open on this loop */
	struct strbuf json;         /* one tweet's JSON on its way to a sink */
	bool draining;
};

struct live_session {
	atomic_uint refs;           /* the transport's, and one per event posted */
	struct live_loop *ll;
	const struct live_sink *sink;
	void *arg;
	bool open;                  /* false once closed: no sink call any more */
	bool ending;                /* no more events: the sink was told to end */
	h2o_linklist_t link;        /* in ll->sessions while open */
	h2o_timeout_entry_t heartbeat;
	uint64_t user_id;
	bool has_token;
	uint8_t token[LIVE_TOKEN_ID_LEN]; /* names the session in a revoke */
	struct live_watermark wm;

	struct pubsub_sub *feed_sub;
	struct pubsub_sub **celeb_subs;
	uint64_t *celebs;
	size_t ncelebs;
};

/* One event on its way from the bus to the session's loop. */
struct session_msg {
	struct http_loop_msg msg;
	struct live_session *s;
	struct live_event e;
};

/* Used in asserts only (inline: no warning when they compile away). */
static inline bool on_loop_thread(const struct live_loop *ll)
{
	return pthread_equal(ll->thread, pthread_self());
}

/* ---- the process-wide part --------------------------------------------------- */

struct live_service *live_service_new(struct pubsub *bus, struct feed *feed,
				      const struct live_options *opt)
{
	struct live_service *svc = xcalloc(1, sizeof(*svc));
	svc->opt = *opt;
	svc->bus = bus;
	svc->feed = feed;
	pthread_mutex_init(&svc->lock, NULL);
	idmap_init(&svc->users, 64);
	return svc;
}

void live_service_free(struct live_service *svc)
{
	if (!svc)
		return;
	assert(svc->open == 0); /* every session released its slot */
	idmap_deinit(&svc->users);
	pthread_mutex_destroy(&svc->lock);
	free(svc);
}

void live_service_stats(struct live_service *svc, struct live_stats *out)
{
	pthread_mutex_lock(&svc->lock);
	out->open = svc->open;
	pthread_mutex_unlock(&svc->lock);
	out->opened = atomic_load(&svc->opened);
	out->refused_user = atomic_load(&svc->refused_user);
	out->refused_server = atomic_load(&svc->refused_server);
	out->cut_slow = atomic_load(&svc->cut_slow);
	out->events = atomic_load(&svc->events);
}

const struct live_options *live_service_options(const struct live_service *svc)
{
	return &svc->opt;
}

/* Tells the streams of `user` that the session of `token_hash` ended
 * (LIVE_REVOKE), or that every session but that one did
 * (LIVE_REVOKE_OTHERS), wherever they are, through the feed channel. */
static void publish_revoke(struct live_service *svc, enum live_kind kind, uint64_t user,
			   const uint8_t *token_hash)
{
	struct live_event e = {.kind = kind};
	memcpy(e.token, token_hash, sizeof(e.token));
	char channel[LIVE_CHANNEL_MAX], msg[LIVE_MESSAGE_MAX];
	live_channel_feed(channel, user);
	size_t len = live_encode(&e, msg);
	if (svc->bus->ops->publish(svc->bus, channel, msg, len) != 0)
		log_error("live: could not publish the end of sessions of user %llu",
			  (unsigned long long)user);
}

/* The effects of every write that ends sessions (writer thread): a
 * log-out, an idle expiry found at lookup, a session ended by id, "log
 * out everywhere", a password change, and the sweep of idle sessions. If you add a way for sessions to
 * end, add its effect here. */
static void on_session_deleted(void *arg, const struct store_write *w)
{
	publish_revoke(arg, LIVE_REVOKE, w->in.session.user_id, w->in.session.token_hash);
}

static void on_session_ended(void *arg, const struct store_write *w)
{
	publish_revoke(arg, LIVE_REVOKE, w->in.session_end.user_id, w->in.session_end.token_hash);
}

static void on_sessions_ended(void *arg, const struct store_write *w)
{
	publish_revoke(arg, LIVE_REVOKE_OTHERS, w->in.session.user_id, w->in.session.token_hash);
}

static void on_password_changed(void *arg, const struct store_write *w)
{
	publish_revoke(arg, LIVE_REVOKE_OTHERS, w->in.password.user_id,
		       w->in.password.token_hash);
}

static void on_sessions_expired(void *arg, const struct store_write *w)
{
	const struct store_sessions_expire *x = &w->in.sessions_expire;
	for (size_t i = 0; i < x->n; i++)
		publish_revoke(arg, LIVE_REVOKE, x->user_ids[i], x->token_hashes[i]);
}

void live_follow_writes(struct live_service *svc, struct writes *ws)
{
	_Static_assert(LIVE_TOKEN_ID_LEN <= TOKEN_HASH_LEN, "a prefix of the token hash");
	writes_after_commit(ws, STORE_W_SESSION_DELETE, on_session_deleted, svc);
	writes_after_commit(ws, STORE_W_SESSION_END, on_session_ended, svc);
	writes_after_commit(ws, STORE_W_SESSIONS_END, on_sessions_ended, svc);
	writes_after_commit(ws, STORE_W_PASSWORD_CHANGE, on_password_changed, svc);
	writes_after_commit(ws, STORE_W_SESSIONS_EXPIRE, on_sessions_expired, svc);
}

/* Takes a session slot for `user`, within both caps: 0, LIVE_USER_FULL or
 * LIVE_SERVER_FULL. */
static int slot_take(struct live_service *svc, uint64_t user)
{
	int rc = 0;
	pthread_mutex_lock(&svc->lock);
	struct idmap_node *node = idmap_get(&svc->users, user);
	struct user_sessions *u = node ? container_of(node, struct user_sessions, node) : NULL;
	if (u && u->n >= svc->opt.max_per_user) {
		rc = LIVE_USER_FULL;
	} else if (svc->open >= svc->opt.max_streams) {
		rc = LIVE_SERVER_FULL;
	} else {
		if (!u) {
			u = xcalloc(1, sizeof(*u));
			u->node.key = user;
			idmap_insert(&svc->users, &u->node);
		}
		u->n++;
		svc->open++;
	}
	pthread_mutex_unlock(&svc->lock);
	return rc;
}

static void slot_release(struct live_service *svc, uint64_t user)
{
	pthread_mutex_lock(&svc->lock);
	struct idmap_node *node = idmap_get(&svc->users, user);
	assert(node && svc->open > 0); /* a slot is released once, after its take */
	struct user_sessions *u = container_of(node, struct user_sessions, node);
	assert(u->n > 0);
	if (--u->n == 0)
		free(container_of(idmap_remove(&svc->users, user), struct user_sessions, node));
	svc->open--;
	pthread_mutex_unlock(&svc->lock);
}

/* ---- subscriptions --------------------------------------------------------------- */

static void deliver(struct http_loop_msg *msg);

/* The bus handler: any thread, possibly several at once. The session
 * cannot go away meanwhile: it unsubscribes before dropping the handle. */
static void on_bus_message(void *arg, const char *channel, const void *bytes, size_t len)
{
	(void)channel;
	struct live_session *s = arg;
	struct live_event e;
	if (!live_decode(bytes, len, &e))
		return; /* not ours to read (a newer server on the same bus) */
	struct session_msg *m = xcalloc(1, sizeof(*m)); /* h2o asserts an unlinked link */
	m->msg.run = deliver;
	m->s = s;
	m->e = e;
	atomic_fetch_add(&s->refs, 1);
	http_loop_post(s->ll->loop, &m->msg);
}

static struct pubsub_sub *subscribe_author(struct live_session *s, uint64_t author)
{
	char channel[LIVE_CHANNEL_MAX];
	live_channel_author(channel, author);
	struct pubsub *bus = s->ll->svc->bus;
	return bus->ops->subscribe(bus, channel, on_bus_message, s);
}

/* Listens to the author channels of exactly the celebrities the reader
 * follows now (the feed channel stays). Returns a STORE_* code. */
static int follow_celebrities(struct live_session *s)
{
	struct pubsub *bus = s->ll->svc->bus;
	uint64_t *ids;
	size_t n;
	int rc = feed_celebrities(s->ll->svc->feed, s->ll->db, s->user_id, &ids, &n);
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

static void unsubscribe_all(struct live_session *s)
{
	struct pubsub *bus = s->ll->svc->bus;
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

static void session_ref(struct live_session *s)
{
	atomic_fetch_add(&s->refs, 1);
}

static void session_unref(struct live_session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	assert(!s->open && !s->feed_sub && !s->celeb_subs);
	free(s);
}

/* No more events: the subscriptions go, the heartbeat stops. */
static void stop_events(struct live_session *s)
{
	s->ending = true;
	unsubscribe_all(s);
	if (h2o_timeout_is_linked(&s->heartbeat))
		h2o_timeout_unlink(&s->heartbeat);
}

/* Ends the session from this side; the transport closes it later, or at
 * once from sink->end: `s` may be gone when this returns. */
static void session_end(struct live_session *s, enum live_end why)
{
	assert(s->open && !s->ending);
	stop_events(s);
	if (why == LIVE_END_SLOW)
		atomic_fetch_add(&s->ll->svc->cut_slow, 1);
	s->sink->end(s->arg, why);
}

/* Idempotent: after this no sink call is made and the slot is free. */
static void session_detach(struct live_session *s)
{
	if (!s->open)
		return;
	s->open = false;
	stop_events(s);
	h2o_linklist_unlink(&s->link);
	slot_release(s->ll->svc, s->user_id);
}

void live_session_close(struct live_session *s)
{
	assert(on_loop_thread(s->ll));
	session_detach(s);
	session_unref(s); /* the transport's handle */
}

/* ---- handing on events ------------------------------------------------------------- */

/* Hands on tweet `id`, unless it was deleted meanwhile. */
static void send_tweet(struct live_session *s, uint64_t id)
{
	struct live_loop *ll = s->ll;
	strbuf_reset(&ll->json);
	if (feed_tweet(ll->svc->feed, ll->db, id, &ll->json) != STORE_OK)
		return; /* deleted (or unreadable now): nothing to show */
	s->sink->tweet(s->arg, id, ll->json.data, ll->json.len);
	atomic_fetch_add(&ll->svc->events, 1);
}

static void send_delete(struct live_session *s, uint64_t id)
{
	s->sink->deleted(s->arg, id);
	atomic_fetch_add(&s->ll->svc->events, 1);
}

/* Whether catch-up may hand on another tweet: it keeps to half the bound,
 * so live events (and one more tweet) always fit in the other half. */
static bool catch_up_room(const struct live_session *s)
{
	return s->sink->backlog(s->arg) < s->ll->svc->opt.buffer_bytes / 2;
}

/* Catch-up events while there is room; the rest waits for the transport's
 * next live_session_writable. Returns a STORE_* code. */
static int catch_up(struct live_session *s)
{
	struct live_loop *ll = s->ll;
	while (s->wm.syncing && catch_up_room(s)) {
		uint64_t ids[CATCHUP_PAGE];
		size_t n = 0;
		struct store_page page = {.limit = CATCHUP_PAGE, .oldest_first = true};
		if (live_watermark_pending(&s->wm, &page.after, &page.before)) {
			int rc = feed_home_ids(ll->svc->feed, ll->db, s->user_id, &page, ids, &n);
			if (rc)
				return rc;
		}
		size_t left = n; /* newest first: hand on from the end */
		while (left > 0 && catch_up_room(s)) {
			left--;
			live_watermark_replayed(&s->wm, ids[left]);
			send_tweet(s, ids[left]);
		}
		if (left > 0 || n == CATCHUP_PAGE)
			continue; /* more to read from the cursor on */
		live_watermark_round_done(&s->wm, feed_live_upto(ll->svc->feed));
	}
	return STORE_OK;
}

/* Does what can be done now: catch-up pages, the bound, and a flush. */
static void pump(struct live_session *s)
{
	if (!s->open || s->ending)
		return;
	if (catch_up(s) != STORE_OK) {
		/* The feed cannot be read now: end the session; the client
		 * reconnects with its last tweet and catches up then. */
		log_error("live: catch-up failed for user %llu", (unsigned long long)s->user_id);
		session_end(s, LIVE_END_DONE);
		return;
	}
	if (s->sink->backlog(s->arg) > s->ll->svc->opt.buffer_bytes) {
		session_end(s, LIVE_END_SLOW);
		return;
	}
	s->sink->flush(s->arg);
}

void live_session_writable(struct live_session *s)
{
	assert(on_loop_thread(s->ll));
	session_ref(s); /* the sink may close it */
	pump(s);
	session_unref(s);
}

/* An event from the bus, now on the session's loop. */
static void deliver(struct http_loop_msg *msg)
{
	struct session_msg *m = (struct session_msg *)msg;
	struct live_session *s = m->s;
	assert(on_loop_thread(s->ll));
	if (s->open && !s->ending) {
		switch (m->e.kind) {
		case LIVE_TWEET:
			if (live_watermark_live(&s->wm, m->e.id))
				send_tweet(s, m->e.id);
			break;
		case LIVE_DELETE: send_delete(s, m->e.id); break;
		case LIVE_RESYNC:
			if (follow_celebrities(s) == STORE_OK)
				live_watermark_resync(&s->wm, feed_live_upto(s->ll->svc->feed));
			break;
		case LIVE_REVOKE:
		case LIVE_REVOKE_OTHERS:
			/* A stream opened without a token cannot be the one
			 * that stays. */
			if ((m->e.kind == LIVE_REVOKE) ==
			    (s->has_token && memcmp(s->token, m->e.token, sizeof(s->token)) == 0)) {
				/* What was queued before the revoke still goes; nothing
				 * after it. A reconnect with the token gets 401. */
				session_end(s, LIVE_END_DONE);
				goto done;
			}
			break;
		}
		pump(s);
	}
done:
	free(m);
	session_unref(s); /* the event's */
}

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
	struct live_session *s = H2O_STRUCT_FROM_MEMBER(struct live_session, heartbeat, entry);
	s->sink->heartbeat(s->arg);
	h2o_timeout_link(s->ll->evloop, &s->ll->heartbeat, &s->heartbeat);
	live_session_writable(s);
}

/* Whether the token the session was opened with still names a session of
 * its user. Asked once the session listens on its feed channel: a log-out
 * that committed before is seen here, one after it arrives as a revoke. */
static int still_signed_in(struct live_session *s, const uint8_t *token_hash)
{
	struct store_reader *db = s->ll->db;
	struct session found;
	int rc = db->ops->session_get(db, token_hash, &found);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && found.user_id != s->user_id))
		return LIVE_REVOKED;
	return rc;
}

int live_session_open(struct live_loop *ll, h2o_loop_t *evloop, uint64_t user_id,
		      const uint8_t *token_hash, uint64_t after, const struct live_sink *sink,
		      void *arg, struct live_session **out)
{
	assert(on_loop_thread(ll));
	struct live_service *svc = ll->svc;
	int slot = ll->draining ? LIVE_SERVER_FULL : slot_take(svc, user_id);
	if (slot) {
		atomic_fetch_add(slot == LIVE_USER_FULL ? &svc->refused_user : &svc->refused_server, 1);
		return slot;
	}
	if (!ll->evloop) {
		ll->evloop = evloop;
		h2o_timeout_init(evloop, &ll->heartbeat, svc->opt.heartbeat_ms);
	}
	assert(ll->evloop == evloop); /* one loop, one event loop */

	struct live_session *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	s->ll = ll;
	s->sink = sink;
	s->arg = arg;
	s->open = true;
	s->user_id = user_id;
	if (token_hash) {
		s->has_token = true;
		memcpy(s->token, token_hash, sizeof(s->token));
	}
	s->heartbeat.cb = on_heartbeat;
	char channel[LIVE_CHANNEL_MAX];
	live_channel_feed(channel, user_id);
	s->feed_sub = svc->bus->ops->subscribe(svc->bus, channel, on_bus_message, s);
	int rc = token_hash ? still_signed_in(s, token_hash) : STORE_OK;
	if (!rc)
		rc = follow_celebrities(s);
	if (rc) {
		unsubscribe_all(s);
		s->open = false; /* for events already posted */
		slot_release(svc, user_id);
		session_unref(s);
		return rc;
	}
	/* Subscribed: now U may be read (live/watermark.h). */
	live_watermark_init(&s->wm, after, feed_live_upto(svc->feed));
	atomic_fetch_add(&svc->opened, 1);
	h2o_linklist_insert(&ll->sessions, &s->link);
	h2o_timeout_link(ll->evloop, &ll->heartbeat, &s->heartbeat);
	*out = s;
	return 0;
}

/* ---- per loop ---------------------------------------------------------------------- */

struct live_loop *live_loop_new(struct live_service *svc, struct http_loop *loop,
				struct store_reader *db)
{
	struct live_loop *ll = xcalloc(1, sizeof(*ll));
	ll->svc = svc;
	ll->loop = loop;
	ll->db = db;
	ll->thread = pthread_self();
	h2o_linklist_init_anchor(&ll->sessions);
	strbuf_init(&ll->json);
	return ll;
}

void live_loop_drain(struct live_loop *ll)
{
	assert(on_loop_thread(ll));
	ll->draining = true;
	/* The sink may close a session at once, unlinking it: step first. */
	for (h2o_linklist_t *n = ll->sessions.next, *next; n != &ll->sessions; n = next) {
		next = n->next;
		struct live_session *s = H2O_STRUCT_FROM_MEMBER(struct live_session, link, n);
		if (!s->ending)
			session_end(s, LIVE_END_DONE);
	}
}

void live_loop_free(struct live_loop *ll)
{
	if (!ll)
		return;
	assert(on_loop_thread(ll));
	/* A session still open here never saw its transport finish (a reader
	 * that stopped reading): the loop is gone, so is h2o's interest. */
	while (!h2o_linklist_is_empty(&ll->sessions)) {
		struct live_session *s =
			H2O_STRUCT_FROM_MEMBER(struct live_session, link, ll->sessions.next);
		s->sink->end(s->arg, LIVE_END_RELEASE);
		session_detach(s);
		session_unref(s); /* the transport's handle, given up by RELEASE */
	}
	if (ll->evloop)
		h2o_timeout_dispose(ll->evloop, &ll->heartbeat);
	strbuf_deinit(&ll->json);
	free(ll);
}
