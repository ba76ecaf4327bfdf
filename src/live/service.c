/*
 * service — see service.h for what a session does; live/watermark.h for
 * why catch-up then live loses and repeats nothing.
 *
 * Lifetime of a session: it is reference-counted, one reference for the
 * transport's handle, one per event queued or posted to its loop for it
 * alone (a watch's) and not yet handled, and one for its read in flight,
 * so neither an event nor a read's completion ever finds it freed (a loop
 * channel's event finds its members when it arrives). "Open"
 * ends when the transport closes it (or the loop goes): the
 * subscriptions, the queue, the heartbeat and the slot go at once, the
 * memory with the last reference; a read that completes after that finds
 * it closed and drops its result.
 *
 * Reads. Everything a session reads from the store (the sign-in check
 * and the celebrity list at open, the celebrity list again on a resync, a
 * catch-up page with its tweets' JSON, a live tweet's JSON that the tweet
 * cache does not have), and in cluster mode the watermark U too (it waits
 * on Redis: timeline/live_upto_redis.h), is a `struct live_read`: run()
 * reads, apply() hands the result on. Where the store's reads may not
 * run on an event loop (PostgreSQL, or --offload-reads) run() goes to the
 * reader pool (live_options.readers) and apply() comes back to the
 * session's loop with http_loop_post; otherwise both run at once on the
 * loop, through its own reader. A session has at most one read in flight; the bus events that
 * arrive meanwhile wait in its queue, in order, and are handled after it
 * (they count against the backlog bound), so the order of what reaches the
 * sink is the order of a session that never waits.
 *
 * Channels per loop. A post reaches one reader's feed channel, or a
 * celebrity's author channel, and on the bus that is one message per
 * subscription. So a loop subscribes once to each such channel that any
 * of its sessions listens to (`struct loop_channel`): a post costs one bus
 * message per loop, whatever the number of the loop's sessions (a reader's
 * tabs and devices, a celebrity's followers), and the loop hands the event
 * to each member session. A session that joins a channel already heard
 * gets only what was published after it joined, as with a subscription
 * of its own (`seq`). The watches (public and tag channels) keep one
 * subscription per session: their events go to watches, not to the feed.
 */
#include "live/service.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/notifications.h"
#include "core/render.h"
#include "core/write.h"
#include "http/server.h"
#include "live/user_slots_redis.h"
#include "live/watermark.h"
#include "pubsub/pubsub.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "timeline/live.h"
#include "util/container_of.h"
#include "util/id.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "util/workpool.h"

#define CATCHUP_PAGE 50 /* tweet ids read from the feed at a time */

struct live_service {
	struct live_options opt;
	struct pubsub *bus;
	struct feed *feed;
	pthread_mutex_t lock; /* users, open, slot_seq */
	struct idmap users;   /* user id -> struct user_sessions */
	size_t open;
	uint64_t slot_seq;         /* orders the per-user counts written to `slots` */
	struct user_slots *slots;  /* cluster mode: every node's count; NULL: none */
	atomic_uint_fast64_t opened, refused_user, refused_server, cut_slow, events, bus_messages;
};

struct user_sessions {
	struct idmap_node node;
	unsigned n;
};

/* A user's sessions in this process after a take or a release, and when
 * (slot_seq): what is written for the cluster's count. */
struct slot_count {
	unsigned n;
	uint64_t seq;
};

struct live_loop {
	struct live_service *svc;
	/* The loop's channels with members (struct loop_channel), by id:
	 * readers' feed channels, authors' channels. */
	struct idmap channels[2];
	struct http_loop *loop;
	struct store_reader *db;
	pthread_t thread;           /* the loop's: everything here runs on it */
	h2o_loop_t *evloop;         /* known once the first session opens */
	h2o_timeout_t heartbeat;    /* all sessions of the loop share the period */
	h2o_linklist_t sessions;    /* open on this loop */
	/* One tweet's JSON on its way to a sink, read from the tweet cache
	 * once for every session of the loop that hands it on in the same
	 * pass of the loop (json_at, h2o_now's ms): a post reaches many
	 * streams of a loop back to back, and one read serves them all (as
	 * if they had all read the cache at the first one's moment). A
	 * delete of json_id handled here forgets it. */
	struct strbuf json;
	uint64_t json_id;           /* 0: json holds no tweet to reuse */
	uint64_t json_at;
	int json_rc;
	bool draining;
};

struct live_read;
struct live_session;

enum channel_kind { CHANNEL_FEED, CHANNEL_AUTHOR };

/* One bus subscription of a loop, shared by the loop's sessions that
 * listen to the channel. Made, joined, left and freed on the loop; the
 * bus handler (any thread) only counts and posts. Freed when no session
 * is a member and no message to it is on its way. */
struct loop_channel {
	struct idmap_node node;     /* key: the reader or the author */
	enum channel_kind kind;
	struct live_loop *ll;
	struct pubsub_sub *sub;     /* NULL once the last member left */
	h2o_linklist_t members;     /* struct member */
	size_t nmembers;
	atomic_uint refs;           /* the members' one, and one per message on its way */
	atomic_uint_fast64_t seq;   /* messages the bus handed over so far */
};

/* A session's place in a loop channel. */
struct member {
	h2o_linklist_t link;        /* in ch->members */
	struct loop_channel *ch;
	struct live_session *s;
	uint64_t joined;            /* ch->seq when it joined: it gets later messages only */
};

/* One bus message on its way to a loop channel's members. */
struct channel_msg {
	struct http_loop_msg msg;
	struct loop_channel *ch;
	uint64_t seq;
	struct live_event e;
};

/* Where a tweet event goes: the home feed, every public watch, or the
 * watch of that id (1 and up). */
#define DEST_HOME 0u
#define DEST_PUBLIC UINT32_MAX

/* A subscription to the public channel or a tag channel: the bus
 * handler's argument, so it knows which it is. In the session, which
 * outlives its subscriptions. */
struct watch_sub {
	struct live_session *s;
	uint32_t dest; /* DEST_PUBLIC, or the watch's id */
};

struct watch {
	void *key;               /* the transport's name; NULL: slot free */
	bool is_tag;
	struct watch_sub ws;     /* ws.dest is the watch's id */
	struct pubsub_sub *sub;  /* the tag channel's; NULL for a public watch */
};

struct live_session {
	atomic_uint refs;           /* the transport's, one per event, one per read */
	struct live_loop *ll;
	const struct live_sink *sink;
	void *arg;
	bool open;                  /* false once closed: no sink call any more */
	bool ready;                 /* the open's reads are done: events may go */
	bool in_open;               /* inside live_session_open: it answers, not sink->opened */
	bool ending;                /* no more events: the sink was told to end */
	int open_rc;                /* why the open failed, for live_session_open */
	h2o_linklist_t link;        /* in ll->sessions while open */
	h2o_timeout_entry_t heartbeat;
	uint64_t user_id;
	uint64_t after;             /* the resume point, until the open is done */
	bool has_token;
	uint8_t token[LIVE_TOKEN_ID_LEN]; /* names the session in a revoke */
	struct live_watermark wm;
	struct live_read *read;     /* in flight; NULL if none */
	h2o_linklist_t queue;       /* struct session_msg waiting for the read */
	size_t queued_bytes;        /* their memory, counted in the backlog */

	struct feed_hidden hidden;  /* whom the reader blocks, mutes, is blocked by */
	uint64_t notif_after;       /* notifications up to this id were sent (or before the open) */
	struct member *feed_member; /* in the reader's feed channel */
	struct watch watches[LIVE_WATCH_MAX];
	uint32_t next_watch_id;     /* ids of watches, from 1 */
	struct watch_sub public_ws; /* the public channel's, while any watch is */
	struct pubsub_sub *public_sub;
	struct member **celeb_members; /* in the author channel of each of `celebs` */
	uint64_t *celebs;
	size_t ncelebs;
};

/* One event of a session: on its way from the bus to the session's loop
 * (a watch's), or in its queue until handled. */
struct session_msg {
	struct http_loop_msg msg;
	h2o_linklist_t link; /* in s->queue */
	struct live_session *s;
	uint32_t dest; /* DEST_HOME for the feed and author channels */
	struct live_event e;
};

enum read_kind {
	READ_OPEN,   /* the sign-in check (with a token), then the celebrities */
	READ_CELEBS, /* the celebrities the reader follows (a resync) */
	READ_PAGE,   /* a catch-up page of ids, the oldest hydrated up to `room` */
	READ_TWEET,  /* one live tweet's JSON (the cache did not have it) */
	READ_NOTIFS, /* the notifications after notif_after */
	READ_UPTO,   /* cluster mode's feed_live_upto (it waits on Redis) */
};

/* What a session reads feed_live_upto for (with_upto). */
enum upto_use {
	UPTO_OPEN,   /* the first round's bound, once subscribed: the session starts */
	UPTO_RESYNC, /* the follows changed and the channels with them: a round */
	UPTO_ROUND,  /* a round ended, and another was asked for meanwhile */
};

/*
 * One read of a session. Made on the loop; run() may run on a reader
 * thread, where it touches this struct, the feed and its reader, and the
 * service's cluster count only (never the session, which belongs to its
 * loop); apply() runs on the loop. The inputs are set before the read
 * starts, the results by run().
 */
struct live_read {
	struct work work;         /* on the reader pool */
	struct http_loop_msg msg; /* back to the session's loop */
	struct live_session *s;   /* holds a reference while in flight */
	struct live_service *svc; /* its process-wide part is thread-safe */
	struct feed *feed;
	struct http_loop *loop;
	enum read_kind kind;
	/* in */
	uint64_t user_id;
	bool has_token;
	uint8_t token_hash[TOKEN_HASH_LEN]; /* READ_OPEN */
	struct store_page page;             /* READ_PAGE */
	size_t room;                        /* READ_PAGE: JSON bytes wanted */
	struct slot_count slot;             /* READ_OPEN: this process's, the new one in */
	uint64_t id;                        /* READ_TWEET */
	uint32_t dest;                      /* READ_TWEET: where it goes */
	enum upto_use then;                 /* READ_UPTO */
	/* out */
	int rc;
	uint64_t *celebs;                   /* READ_OPEN, READ_CELEBS: malloc'd */
	size_t ncelebs;
	struct feed_hidden hidden;          /* READ_OPEN, READ_CELEBS */
	struct notifications *ns;           /* READ_NOTIFS */
	struct notifications_spans spans;   /* READ_NOTIFS: each one in json */
	uint64_t newest;                    /* READ_NOTIFS */
	uint64_t upto;                      /* READ_UPTO */
	uint64_t ids[CATCHUP_PAGE];         /* READ_PAGE: newest first */
	size_t n;
	size_t hydrated;                    /* ids[n - hydrated, n): read, oldest first */
	size_t off[CATCHUP_PAGE], len[CATCHUP_PAGE]; /* their JSON; len 0: deleted */
	struct strbuf json;                 /* READ_PAGE, READ_TWEET */
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
	if (opt->redis) {
		assert(opt->readers); /* the count is read off the loops */
		svc->slots = user_slots_new(opt->redis);
	}
	pthread_mutex_init(&svc->lock, NULL);
	idmap_init(&svc->users, 64);
	return svc;
}

void live_service_free(struct live_service *svc)
{
	if (!svc)
		return;
	assert(svc->open == 0); /* every session released its slot */
	user_slots_free(svc->slots);
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
	out->bus_messages = atomic_load(&svc->bus_messages);
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
 * out everywhere", a password change, and the sweep of idle sessions. If
 * you add a way for sessions to end, add its effect here, and its kind to
 * the session cache's list in accounts_new (core/accounts.c). */
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

/* Takes a session slot for `user`, within both caps as this process
 * counts them: 0 (and the user's count here into *count), LIVE_USER_FULL
 * or LIVE_SERVER_FULL. In cluster mode the open then asks the cluster's
 * count (cluster_slot_take). */
static int slot_take(struct live_service *svc, uint64_t user, struct slot_count *count)
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
		*count = (struct slot_count){.n = u->n, .seq = ++svc->slot_seq};
	}
	pthread_mutex_unlock(&svc->lock);
	return rc;
}

/* Cluster mode (reader thread): whether the user's sessions on every node,
 * the one being opened in (`count` is this process's), are within the
 * cap. Redis unreachable: yes, the process's own cap having held. */
static bool cluster_slot_take(struct live_service *svc, uint64_t user, struct slot_count count)
{
	unsigned total;
	if (user_slots_write(svc->slots, user, count.n, count.seq, &total) != 0)
		return true;
	return total <= svc->opt.max_per_user;
}

/* A release written for the cluster's count, on the reader pool (it waits
 * on Redis); the work frees itself. */
struct slot_write {
	struct work work;
	struct live_service *svc;
	uint64_t user;
	struct slot_count count;
};

static void slot_write_run(struct work *w)
{
	struct slot_write *sw = container_of(w, struct slot_write, work);
	user_slots_write(sw->svc->slots, sw->user, sw->count.n, sw->count.seq, NULL);
	free(sw);
}

/* Tells the cluster's count that this process holds `count` of `user`'s
 * sessions now. Lost (the pool is full, Redis fails): the next write for
 * the user heals it, since each is the whole number. The pool finishes
 * its work before the service is freed (main.c stops it first). */
static void cluster_slot_release(struct live_service *svc, uint64_t user, struct slot_count count)
{
	struct slot_write *sw = xcalloc(1, sizeof(*sw));
	sw->work.fn = slot_write_run;
	sw->svc = svc;
	sw->user = user;
	sw->count = count;
	if (workpool_submit(svc->opt.readers, &sw->work) != 0)
		free(sw);
}

static void slot_release(struct live_service *svc, uint64_t user)
{
	struct slot_count count;
	pthread_mutex_lock(&svc->lock);
	struct idmap_node *node = idmap_get(&svc->users, user);
	assert(node && svc->open > 0); /* a slot is released once, after its take */
	struct user_sessions *u = container_of(node, struct user_sessions, node);
	assert(u->n > 0);
	count = (struct slot_count){.n = --u->n, .seq = ++svc->slot_seq};
	if (u->n == 0)
		free(container_of(idmap_remove(&svc->users, user), struct user_sessions, node));
	svc->open--;
	pthread_mutex_unlock(&svc->lock);
	if (svc->slots)
		cluster_slot_release(svc, user, count);
}

/* ---- subscriptions --------------------------------------------------------------- */

static void deliver(struct http_loop_msg *msg);
static void channel_deliver(struct http_loop_msg *msg);

/* A loop channel's bus handler: any thread, possibly several at once. The
 * channel cannot go away meanwhile: its last member unsubscribes it before
 * dropping the members' reference. */
static void on_channel_message(void *arg, const char *channel, const void *bytes, size_t len)
{
	(void)channel;
	struct loop_channel *ch = arg;
	struct live_event e;
	if (!live_decode(bytes, len, &e))
		return; /* not ours to read (a newer server on the same bus) */
	atomic_fetch_add(&ch->ll->svc->bus_messages, 1);
	struct channel_msg *m = xcalloc(1, sizeof(*m)); /* h2o asserts an unlinked link */
	m->msg.run = channel_deliver;
	m->ch = ch;
	m->seq = atomic_fetch_add(&ch->seq, 1) + 1;
	m->e = e;
	atomic_fetch_add(&ch->refs, 1);
	http_loop_post(ch->ll->loop, &m->msg);
}

static void channel_unref(struct loop_channel *ch)
{
	if (atomic_fetch_sub(&ch->refs, 1) == 1)
		free(ch);
}

/* Makes `s` a member of the loop's channel of `kind` and `id`,
 * subscribing the loop to it if none of its sessions was. */
static struct member *join(struct live_session *s, enum channel_kind kind, uint64_t id)
{
	struct live_loop *ll = s->ll;
	assert(on_loop_thread(ll));
	struct idmap_node *n = idmap_get(&ll->channels[kind], id);
	struct loop_channel *ch = n ? container_of(n, struct loop_channel, node) : NULL;
	if (!ch) {
		ch = xcalloc(1, sizeof(*ch));
		ch->node.key = id;
		ch->kind = kind;
		ch->ll = ll;
		h2o_linklist_init_anchor(&ch->members);
		atomic_init(&ch->refs, 1);
		idmap_insert(&ll->channels[kind], &ch->node);
		char name[LIVE_CHANNEL_MAX];
		if (kind == CHANNEL_FEED)
			live_channel_feed(name, id);
		else
			live_channel_author(name, id);
		struct pubsub *bus = ll->svc->bus;
		ch->sub = bus->ops->subscribe(bus, name, on_channel_message, ch);
	}
	struct member *m = xcalloc(1, sizeof(*m));
	m->ch = ch;
	m->s = s;
	m->joined = atomic_load(&ch->seq);
	h2o_linklist_insert(&ch->members, &m->link);
	ch->nmembers++;
	return m;
}

/* Takes `m` out of its channel; the loop unsubscribes from a channel its
 * last member left. NULL: nothing. */
static void leave(struct member *m)
{
	if (!m)
		return;
	struct loop_channel *ch = m->ch;
	assert(on_loop_thread(ch->ll));
	h2o_linklist_unlink(&m->link);
	free(m);
	if (--ch->nmembers)
		return;
	struct pubsub *bus = ch->ll->svc->bus;
	bus->ops->unsubscribe(bus, ch->sub); /* no handler runs after this */
	ch->sub = NULL;
	idmap_remove(&ch->ll->channels[ch->kind], ch->node.key);
	channel_unref(ch); /* the members'; messages on their way hold theirs */
}

/* A watched channel's handler (the public channel or one tag's), for one
 * session: any thread, possibly several at once. The session cannot go
 * away meanwhile: it unsubscribes before dropping the handle. */
static void on_watch_message(void *arg, const char *channel, const void *bytes, size_t len)
{
	(void)channel;
	struct watch_sub *ws = arg;
	struct live_event e;
	if (!live_decode(bytes, len, &e) || (e.kind != LIVE_TWEET && e.kind != LIVE_DELETE))
		return; /* a bus's gap or loss notice comes on the feed channel too */
	atomic_fetch_add(&ws->s->ll->svc->bus_messages, 1);
	struct session_msg *m = xcalloc(1, sizeof(*m));
	m->msg.run = deliver;
	m->s = ws->s;
	m->dest = ws->dest;
	m->e = e;
	atomic_fetch_add(&ws->s->refs, 1);
	http_loop_post(ws->s->ll->loop, &m->msg);
}

/* Listens to the author channels of exactly the celebrities ids[0..n),
 * which the reader follows now (the feed channel stays), and takes the
 * array. */
static void follow_celebrities(struct live_session *s, uint64_t *ids, size_t n)
{
	struct member **members = xcalloc(n ? n : 1, sizeof(*members));
	/* Keep what stays (both lists are short), add what is new, then
	 * drop what went: never a moment without a channel still followed. */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < s->ncelebs && !members[i]; k++) {
			if (s->celebs[k] == ids[i]) {
				members[i] = s->celeb_members[k];
				s->celeb_members[k] = NULL;
			}
		}
		if (!members[i])
			members[i] = join(s, CHANNEL_AUTHOR, ids[i]);
	}
	for (size_t k = 0; k < s->ncelebs; k++)
		leave(s->celeb_members[k]);
	free(s->celeb_members);
	free(s->celebs);
	s->celeb_members = members;
	s->celebs = ids;
	s->ncelebs = n;
}

static void unsubscribe_all(struct live_session *s)
{
	struct pubsub *bus = s->ll->svc->bus;
	leave(s->feed_member);
	s->feed_member = NULL;
	for (size_t k = 0; k < s->ncelebs; k++)
		leave(s->celeb_members[k]);
	for (size_t k = 0; k < LIVE_WATCH_MAX; k++) {
		bus->ops->unsubscribe(bus, s->watches[k].sub);
		s->watches[k] = (struct watch){0};
	}
	bus->ops->unsubscribe(bus, s->public_sub);
	s->public_sub = NULL;
	free(s->celeb_members);
	free(s->celebs);
	s->celeb_members = NULL;
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
	assert(!s->open && !s->feed_member && !s->celeb_members && !s->public_sub);
	assert(!s->read && h2o_linklist_is_empty(&s->queue));
	feed_hidden_deinit(&s->hidden);
	free(s);
}

/* Drops the events waiting in the queue. The caller holds a reference of
 * its own, so theirs are never the last. */
static void drop_queue(struct live_session *s)
{
	while (!h2o_linklist_is_empty(&s->queue)) {
		struct session_msg *m = H2O_STRUCT_FROM_MEMBER(struct session_msg, link, s->queue.next);
		h2o_linklist_unlink(&m->link);
		free(m);
		unsigned was = atomic_fetch_sub(&s->refs, 1);
		assert(was > 1);
		(void)was;
	}
	s->queued_bytes = 0;
}

/* No more events: the subscriptions and the queue go, the heartbeat stops. */
static void stop_events(struct live_session *s)
{
	s->ending = true;
	unsubscribe_all(s);
	drop_queue(s);
	if (h2o_timeout_is_linked(&s->heartbeat))
		h2o_timeout_unlink(&s->heartbeat);
}

/* Ends the session from this side; the transport closes it later, or at
 * once from sink->end: `s` may be gone when this returns, unless the
 * caller holds a reference. */
static void session_end(struct live_session *s, enum live_end why)
{
	assert(s->open && s->ready && !s->ending);
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

/* The open's reads are done (U too, with rc 0): the session starts (rc
 * 0), or it fails with rc and is gone, with the transport's handle.
 * live_session_open answers the transport itself while it runs; later,
 * sink->opened does. */
static void open_done(struct live_session *s, int rc)
{
	struct live_service *svc = s->ll->svc;
	assert(s->open && !s->ready);
	if (rc) {
		session_detach(s);
		s->open_rc = rc;
		if (!s->in_open)
			s->sink->opened(s->arg, rc);
		session_unref(s); /* the transport's handle; the caller holds another */
		return;
	}
	s->ready = true; /* s->wm starts from U (use_upto) */
	atomic_fetch_add(&svc->opened, 1);
	h2o_timeout_link(s->ll->evloop, &s->ll->heartbeat, &s->heartbeat);
	if (!s->in_open)
		s->sink->opened(s->arg, 0);
}

/* ---- handing on events ------------------------------------------------------------- */

/* A tweet or retweet to the client; not a retweet of the reader's own
 * tweet, which their stream has shown as itself (as the feed leaves those
 * out: timeline/feed.h). */
static void hand_on(struct live_session *s, uint64_t id, const char *json, size_t len)
{
	uint64_t orig, orig_author;
	if (render_is_retweet(json, len, &orig, &orig_author) && orig_author == s->user_id)
		return;
	s->sink->tweet(s->arg, id, s->wm.resume, json, len);
	atomic_fetch_add(&s->ll->svc->events, 1);
}

static void send_delete(struct live_session *s, uint64_t id)
{
	if (s->ll->json_id == id)
		s->ll->json_id = 0; /* the next session reads the cache again */
	s->sink->deleted(s->arg, id);
	atomic_fetch_add(&s->ll->svc->events, 1);
}

/* The feed cannot be read now: the session ends, and the client, which
 * reconnects with its last tweet, catches up then and loses nothing. */
static void cannot_read(struct live_session *s, const char *what)
{
	log_error("live: %s failed for user %llu", what, (unsigned long long)s->user_id);
	session_end(s, LIVE_END_DONE);
}

/* Whether the reader does not see the author of this tweet's JSON: they
 * block or mute each other (feed_hidden, as the feed). A retweet is to be
 * checked by its original's author too. */
static bool hidden_tweet(const struct live_session *s, const char *json, size_t len)
{
	const unsigned hide = REL_BLOCKING | REL_BLOCKED_BY | REL_MUTING;
	uint64_t orig, orig_author;
	if (feed_hidden_bits(&s->hidden, render_tweet_author_id(json, len)) & hide)
		return true;
	/* A retweet: its original's author counts too. */
	return render_is_retweet(json, len, &orig, &orig_author) &&
	       (feed_hidden_bits(&s->hidden, orig_author) & hide);
}

/* A channel's tweet to the watches it is for (`dest`: every public one,
 * or one by id); those removed meanwhile hear nothing. */
static void hand_on_watches(struct live_session *s, uint32_t dest, uint64_t id, const char *json,
			    size_t len)
{
	uint64_t orig, orig_author;
	if (render_is_retweet(json, len, &orig, &orig_author))
		return; /* public streams show no retweets (none is published) */
	for (size_t k = 0; k < LIVE_WATCH_MAX; k++) {
		struct watch *w = &s->watches[k];
		if (!w->key || (dest == DEST_PUBLIC ? w->is_tag : w->ws.dest != dest))
			continue;
		s->sink->watch_tweet(s->arg, w->key, id, json, len);
		atomic_fetch_add(&s->ll->svc->events, 1);
	}
}

/* Tweet `id`, read: handed on, or skipped if it was deleted meanwhile or
 * its author is hidden from the reader. */
static void tweet_read(struct live_session *s, uint32_t dest, uint64_t id, int rc,
		       const struct strbuf *json)
{
	if (rc == STORE_OK && hidden_tweet(s, json->data, json->len))
		return;
	if (rc == STORE_OK && dest == DEST_HOME)
		hand_on(s, id, json->data, json->len);
	else if (rc == STORE_OK)
		hand_on_watches(s, dest, id, json->data, json->len);
	else if (rc != STORE_NOT_FOUND)
		cannot_read(s, "reading a live tweet");
}

/* Whether catch-up may hand on another tweet: it keeps to half the bound,
 * so live events (and one more tweet) always fit in the other half. */
static bool catch_up_room(const struct live_session *s)
{
	return s->sink->backlog(s->arg) < s->ll->svc->opt.buffer_bytes / 2;
}

/* What the session holds unsent: the transport's backlog and the events
 * waiting for a read (their memory; once handled they weigh more). */
static size_t backlog(const struct live_session *s)
{
	return (s->ready ? s->sink->backlog(s->arg) : 0) + s->queued_bytes;
}

/* ---- reads --------------------------------------------------------------------------- */

static struct live_read *read_new(struct live_session *s, enum read_kind kind)
{
	struct live_read *r = xcalloc(1, sizeof(*r));
	r->kind = kind;
	r->svc = s->ll->svc;
	r->feed = s->ll->svc->feed;
	r->user_id = s->user_id;
	strbuf_init(&r->json);
	return r;
}

static void read_free(struct live_read *r)
{
	free(r->celebs);
	feed_hidden_deinit(&r->hidden);
	strbuf_deinit(&r->json);
	free(r);
}

/* Whether the token the session was opened with still names a session of
 * its user. Asked once the session listens on its feed channel: a log-out
 * that committed before is seen here, one after it arrives as a revoke. */
static int still_signed_in(struct store_reader *db, const uint8_t *token_hash, uint64_t user)
{
	struct session found;
	int rc = db->ops->session_get(db, token_hash, &found);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && found.user_id != user))
		return LIVE_REVOKED;
	return rc;
}

/* A catch-up page: its ids, then the JSON of the oldest of them until
 * `room` bytes are read (one tweet past it, as a transport takes one past
 * its bound). The others are read again with the next page, which starts
 * after the last tweet handed on. A deleted tweet reads as no JSON. */
static int read_page(struct live_read *r, struct store_reader *db)
{
	int rc = feed_home_ids(r->feed, db, r->user_id, &r->page, r->ids, &r->n);
	for (size_t k = r->n; rc == STORE_OK && k > 0 && r->json.len < r->room; k--) {
		size_t i = k - 1; /* newest first: hydrate from the end */
		r->off[i] = r->json.len;
		int h = feed_tweet(r->feed, db, r->ids[i], &r->json);
		if (h != STORE_OK && h != STORE_NOT_FOUND)
			return h;
		r->len[i] = r->json.len - r->off[i];
		r->hydrated++;
	}
	return rc;
}

/* The celebrities the reader follows and the users hidden from them. */
static int read_celebs(struct live_read *r, struct store_reader *db)
{
	int rc = feed_celebrities(r->feed, db, r->user_id, &r->celebs, &r->ncelebs);
	return rc ? rc : feed_hidden_read(db, r->user_id, &r->hidden);
}

/* The reads themselves; on a reader thread, or on the loop when reads run
 * inline. Touches `r`, its feed and `db` only. */
static void read_run(struct live_read *r, struct store_reader *db)
{
	switch (r->kind) {
	case READ_OPEN:
		if (r->svc->slots && !cluster_slot_take(r->svc, r->user_id, r->slot)) {
			r->rc = LIVE_USER_FULL;
			break;
		}
		if (r->has_token && (r->rc = still_signed_in(db, r->token_hash, r->user_id)))
			break;
		r->rc = read_celebs(r, db);
		break;
	case READ_CELEBS: r->rc = read_celebs(r, db); break;
	case READ_PAGE: r->rc = read_page(r, db); break;
	case READ_TWEET: r->rc = feed_tweet(r->feed, db, r->id, &r->json); break;
	case READ_UPTO:
		r->upto = feed_live_upto_shared(r->feed);
		r->rc = STORE_OK;
		break;
	case READ_NOTIFS: {
		uint64_t oldest;
		r->rc = notifications_page(r->ns, db, r->user_id, &r->page, NOTIF_TYPES_ALL, &r->json,
					   &r->n, &r->newest, &oldest, &r->spans);
		break;
	}
	}
}

/* New notifications, read: each handed on, oldest first (the page was
 * read oldest first and comes back newest first). The next read starts
 * after the newest; an unreadable one is skipped (a notification is not
 * worth ending the feed for: the list has it). */
static void notifs_read(struct live_session *s, struct live_read *r)
{
	if (r->rc != STORE_OK)
		return;
	for (size_t k = r->n; k > 0; k--) {
		s->sink->notification(s->arg, r->json.data + r->spans.off[k - 1],
				      r->spans.len[k - 1]);
		atomic_fetch_add(&s->ll->svc->events, 1);
	}
	if (r->n && r->newest > s->notif_after)
		s->notif_after = r->newest;
}

static void read_start(struct live_session *s, struct live_read *r);

/* U is known (feed_live_upto, read after the subscriptions it follows):
 * the session does what it read it for. */
static void use_upto(struct live_session *s, enum upto_use use, uint64_t upto)
{
	/* The shared watermark, lost with Redis's data, is seeded again from
	 * a clock, which may be behind a U this session read before: that U
	 * still holds, and the watermark never moves back. */
	if (upto < s->wm.upto)
		upto = s->wm.upto;
	switch (use) {
	case UPTO_OPEN:
		live_watermark_init(&s->wm, s->after, upto);
		open_done(s, 0);
		break;
	case UPTO_RESYNC: live_watermark_resync(&s->wm, upto); break;
	case UPTO_ROUND: live_watermark_round_done(&s->wm, upto); break;
	}
}

/* Reads U for `use`: at once where it is this process's (an atomic);
 * where it is the cluster's (feed_live_upto_is_shared), through a read,
 * since it waits on Redis. Either way after every subscription made so
 * far, which is what U must follow (live/watermark.h). */
static void with_upto(struct live_session *s, enum upto_use use)
{
	struct feed *feed = s->ll->svc->feed;
	if (!feed_live_upto_is_shared(feed)) {
		use_upto(s, use, feed_live_upto(feed));
		return;
	}
	struct live_read *r = read_new(s, READ_UPTO);
	r->then = use;
	read_start(s, r);
}

/* A round read everything up to its U: it completes, and the round asked
 * for meanwhile, if any, starts with a new U. */
static void round_end(struct live_session *s)
{
	if (s->wm.again)
		with_upto(s, UPTO_ROUND);
	else
		live_watermark_round_done(&s->wm, s->wm.upto); /* no round follows: no U needed */
}

/* U could not be read (the reader pool is full): an open fails, an open
 * session ends, and its client resumes from its last tweet. */
static void upto_failed(struct live_session *s, enum upto_use use, int rc)
{
	if (use == UPTO_OPEN)
		open_done(s, rc);
	else
		cannot_read(s, "reading the live watermark");
}

/* Hands on the tweets of a catch-up page while there is room; the rest
 * waits for the transport's next live_session_writable. */
static void page_read(struct live_session *s, struct live_read *r)
{
	if (r->rc != STORE_OK) {
		cannot_read(s, "catch-up");
		return;
	}
	size_t left = r->n, unread = r->n - r->hydrated;
	while (left > unread && catch_up_room(s)) {
		left--;
		live_watermark_replayed(&s->wm, r->ids[left]);
		const char *json = r->json.data + r->off[left];
		/* deleted (no JSON) or hidden: nothing to show */
		if (r->len[left] && !hidden_tweet(s, json, r->len[left]))
			hand_on(s, r->ids[left], json, r->len[left]);
	}
	if (left > 0 || r->n == CATCHUP_PAGE)
		return; /* more to read from the cursor on */
	round_end(s);
}

/* The relations a read found replace the session's. */
static void take_hidden(struct live_session *s, struct live_read *r)
{
	feed_hidden_deinit(&s->hidden);
	s->hidden = r->hidden;
	r->hidden = (struct feed_hidden){0};
}

/* On the session's loop, while it is open and not ending. */
static void read_apply(struct live_session *s, struct live_read *r)
{
	switch (r->kind) {
	case READ_OPEN:
		if (r->rc == STORE_OK) {
			follow_celebrities(s, r->celebs, r->ncelebs);
			r->celebs = NULL;
			take_hidden(s, r);
			with_upto(s, UPTO_OPEN); /* subscribed: now U may be read */
		} else {
			if (r->rc == LIVE_USER_FULL) /* on another node's count */
				atomic_fetch_add(&s->ll->svc->refused_user, 1);
			open_done(s, r->rc);
		}
		break;
	case READ_CELEBS:
		/* Unreadable now: the author channels stay as they were. */
		if (r->rc == STORE_OK) {
			follow_celebrities(s, r->celebs, r->ncelebs);
			r->celebs = NULL;
			take_hidden(s, r);
			with_upto(s, UPTO_RESYNC);
		}
		break;
	case READ_PAGE: page_read(s, r); break;
	case READ_TWEET: tweet_read(s, r->dest, r->id, r->rc, &r->json); break;
	case READ_NOTIFS: notifs_read(s, r); break;
	case READ_UPTO:
		if (r->rc == STORE_OK)
			use_upto(s, r->then, r->upto);
		else
			upto_failed(s, r->then, r->rc);
		break;
	}
}

static void pump(struct live_session *s);

/* A read's completion, back on the session's loop. */
static void read_back(struct http_loop_msg *msg)
{
	struct live_read *r = container_of(msg, struct live_read, msg);
	struct live_session *s = r->s;
	assert(on_loop_thread(s->ll) && s->read == r);
	s->read = NULL;
	if (s->open && !s->ending) {
		read_apply(s, r);
		pump(s);
	} /* else closed or ending meanwhile: the result is not wanted */
	read_free(r);
	session_unref(s); /* the read's */
}

static void read_work(struct work *w)
{
	struct live_read *r = container_of(w, struct live_read, work);
	read_run(r, w->thread);
	http_loop_post(r->loop, &r->msg);
}

/* Runs `r` for `s`, which owns it from here: on the reader pool if the
 * loops may not read (then apply() comes back later, and s->read is set
 * until it does), else at once through the loop's reader. A full pool
 * fails the read (STORE_BUSY). The caller holds a reference on `s`. */
static void read_start(struct live_session *s, struct live_read *r)
{
	struct live_loop *ll = s->ll;
	struct workpool *pool = ll->svc->opt.readers;
	assert(!s->read);
	if (pool) {
		r->s = s;
		r->loop = ll->loop;
		r->work.fn = read_work;
		r->msg.run = read_back;
		session_ref(s);
		s->read = r;
		if (workpool_submit(pool, &r->work) == 0)
			return;
		s->read = NULL;
		session_unref(s);
		r->rc = STORE_BUSY;
	} else {
		read_run(r, ll->db);
	}
	read_apply(s, r);
	read_free(r);
}

/* ---- what a session does next ---------------------------------------------------- */

/* Hands on tweet `id`, unless it was deleted meanwhile: from the tweet
 * cache at once, else through a read. */
static void send_tweet(struct live_session *s, uint32_t dest, uint64_t id)
{
	struct live_loop *ll = s->ll;
	uint64_t now = h2o_now(ll->evloop);
	int rc;
	if (ll->json_id == id && ll->json_at == now) {
		tweet_read(s, dest, id, ll->json_rc, &ll->json);
		return;
	}
	ll->json_id = 0;
	strbuf_reset(&ll->json);
	if (feed_tweet_cached(ll->svc->feed, id, &ll->json, &rc)) {
		ll->json_id = id;
		ll->json_at = now;
		ll->json_rc = rc;
		tweet_read(s, dest, id, rc, &ll->json);
		return;
	}
	struct live_read *r = read_new(s, READ_TWEET);
	r->id = id;
	r->dest = dest;
	read_start(s, r);
}

/* Whether a watch still wants what came for `dest`. */
static bool watched(const struct live_session *s, uint32_t dest)
{
	for (size_t k = 0; k < LIVE_WATCH_MAX; k++) {
		const struct watch *w = &s->watches[k];
		if (w->key && (dest == DEST_PUBLIC ? !w->is_tag : w->ws.dest == dest))
			return true;
	}
	return false;
}

/* An event of a watched channel: a tweet for its watches, or a delete
 * (public channel) for every watch. */
static void handle_watch_event(struct live_session *s, uint32_t dest, const struct live_event *e)
{
	if (e->kind == LIVE_TWEET) {
		if (watched(s, dest))
			send_tweet(s, dest, e->id);
		return;
	}
	if (s->ll->json_id == e->id)
		s->ll->json_id = 0;
	for (size_t k = 0; k < LIVE_WATCH_MAX; k++) {
		if (s->watches[k].key) {
			s->sink->watch_deleted(s->arg, s->watches[k].key, e->id);
			atomic_fetch_add(&s->ll->svc->events, 1);
		}
	}
}

/* An event from the bus, in the order the session received it. */
static void handle_event(struct live_session *s, uint32_t dest, const struct live_event *e)
{
	if (dest != DEST_HOME) {
		handle_watch_event(s, dest, e);
		return;
	}
	switch (e->kind) {
	case LIVE_TWEET:
		if (live_watermark_live(&s->wm, e->id))
			send_tweet(s, DEST_HOME, e->id);
		break;
	case LIVE_DELETE: send_delete(s, e->id); break;
	case LIVE_RESYNC: read_start(s, read_new(s, READ_CELEBS)); break;
	case LIVE_BUS_LOST: session_end(s, LIVE_END_RETRY); break;
	case LIVE_NOTIFY: {
		struct live_service *svc = s->ll->svc;
		if (!svc->opt.notifications)
			break;
		struct live_read *r = read_new(s, READ_NOTIFS);
		r->ns = svc->opt.notifications;
		r->page = (struct store_page){.before = UINT64_MAX, .after = s->notif_after,
					      .limit = NOTIFICATIONS_SPANS_MAX, .oldest_first = true};
		read_start(s, r);
		break;
	}
	case LIVE_REVOKE:
	case LIVE_REVOKE_OTHERS:
		/* A stream opened without a token cannot be the one that
		 * stays. */
		if ((e->kind == LIVE_REVOKE) ==
		    (s->has_token && memcmp(s->token, e->token, sizeof(s->token)) == 0)) {
			/* What was queued before the revoke still goes; nothing
			 * after it. A reconnect with the token gets 401. */
			session_end(s, LIVE_END_DONE);
		}
		break;
	}
}

/* The next step of a catch-up round: a page to read, or the round is
 * complete. */
static void catch_up_step(struct live_session *s)
{
	struct live_service *svc = s->ll->svc;
	struct store_page page = {.limit = CATCHUP_PAGE, .oldest_first = true};
	if (!live_watermark_pending(&s->wm, &page.after, &page.before)) {
		round_end(s);
		return;
	}
	struct live_read *r = read_new(s, READ_PAGE);
	r->page = page;
	r->room = svc->opt.buffer_bytes / 2 - s->sink->backlog(s->arg); /* > 0: catch_up_room */
	read_start(s, r);
}

/* Whether the session may handle its next event now: open and started,
 * no read in flight, its backlog within the bound. */
static bool may_handle(const struct live_session *s)
{
	return s->open && s->ready && !s->ending && !s->read &&
	       backlog(s) <= s->ll->svc->opt.buffer_bytes;
}

/* Does what can be done now: the waiting events in order, then catch-up
 * pages while there is room, until a read is in flight or nothing is
 * left; then the bound, and a flush. The caller holds a reference. */
static void pump(struct live_session *s)
{
	size_t bound = s->ll->svc->opt.buffer_bytes;
	while (may_handle(s)) {
		if (!h2o_linklist_is_empty(&s->queue)) {
			struct session_msg *m =
				H2O_STRUCT_FROM_MEMBER(struct session_msg, link, s->queue.next);
			h2o_linklist_unlink(&m->link);
			s->queued_bytes -= sizeof(*m);
			handle_event(s, m->dest, &m->e);
			free(m);
			session_unref(s); /* the event's */
		} else if (s->wm.syncing && catch_up_room(s)) {
			catch_up_step(s);
		} else {
			break;
		}
	}
	if (!s->open || !s->ready || s->ending)
		return;
	if (backlog(s) > bound) {
		session_end(s, LIVE_END_SLOW);
		return;
	}
	s->sink->flush(s->arg);
}

int live_session_watch(struct live_session *s, const char *tag, void *key)
{
	assert(on_loop_thread(s->ll) && key && s->ready);
	struct pubsub *bus = s->ll->svc->bus;
	struct watch *w = NULL;
	for (size_t k = 0; k < LIVE_WATCH_MAX && !w; k++)
		if (!s->watches[k].key)
			w = &s->watches[k];
	if (!w || !s->open || s->ending)
		return -1;
	if (!s->public_sub) { /* every watch hears the deletes */
		s->public_ws = (struct watch_sub){.s = s, .dest = DEST_PUBLIC};
		s->public_sub = bus->ops->subscribe(bus, LIVE_CHANNEL_PUBLIC, on_watch_message,
						    &s->public_ws);
	}
	w->key = key;
	w->is_tag = tag != NULL;
	w->ws = (struct watch_sub){.s = s, .dest = ++s->next_watch_id};
	if (w->ws.dest == DEST_PUBLIC) /* after 4 billion watches: skip the marker */
		w->ws.dest = s->next_watch_id = 1;
	if (tag) {
		char channel[LIVE_TAG_CHANNEL_MAX];
		live_channel_tag(channel, tag, strlen(tag));
		w->sub = bus->ops->subscribe(bus, channel, on_watch_message, &w->ws);
	}
	return 0;
}

void live_session_unwatch(struct live_session *s, void *key)
{
	assert(on_loop_thread(s->ll));
	struct pubsub *bus = s->ll->svc->bus;
	bool any = false;
	for (size_t k = 0; k < LIVE_WATCH_MAX; k++) {
		struct watch *w = &s->watches[k];
		if (w->key == key && key) {
			bus->ops->unsubscribe(bus, w->sub);
			*w = (struct watch){0};
		}
		any |= w->key != NULL;
	}
	if (!any && s->public_sub) {
		bus->ops->unsubscribe(bus, s->public_sub);
		s->public_sub = NULL;
	}
}

void live_session_writable(struct live_session *s)
{
	assert(on_loop_thread(s->ll));
	session_ref(s); /* the sink may close it */
	pump(s);
	session_unref(s);
}

/* Event `m` of open session `s`, on its loop: it joins the queue, which
 * pump() empties unless a read is in flight. The event's reference goes
 * with it. */
static void enqueue(struct live_session *s, struct session_msg *m)
{
	h2o_linklist_insert(&s->queue, &m->link);
	s->queued_bytes += sizeof(*m);
	session_ref(s); /* the sink may close it */
	if (!s->ready && s->queued_bytes > s->ll->svc->opt.buffer_bytes)
		open_done(s, STORE_BUSY); /* still opening, and already too far behind */
	else
		pump(s);
	session_unref(s);
}

/* A watch's event from the bus, now on the session's loop. */
static void deliver(struct http_loop_msg *msg)
{
	struct session_msg *m = (struct session_msg *)msg;
	struct live_session *s = m->s;
	assert(on_loop_thread(s->ll));
	if (!s->open || s->ending) {
		free(m);
		session_unref(s); /* the event's */
		return;
	}
	enqueue(s, m);
}

/* A feed or author channel's event for member `s` (the caller holds a
 * reference): handled at once if nothing waits before it (no allocation),
 * else queued behind what does. */
static void deliver_home(struct live_session *s, const struct live_event *e)
{
	if (!s->open || s->ending)
		return;
	if (h2o_linklist_is_empty(&s->queue) && may_handle(s)) {
		handle_event(s, DEST_HOME, e);
		pump(s); /* as after a queued event: the bound, then a flush */
		return;
	}
	struct session_msg *m = xcalloc(1, sizeof(*m));
	m->s = s;
	m->dest = DEST_HOME;
	m->e = *e;
	session_ref(s); /* the event's */
	enqueue(s, m);
}

/* A loop channel's event, now on its loop: to each member that joined
 * before the bus handed it over. The members are taken first, each with
 * a reference: handing on may close any of them, leaving the channel. */
static void channel_deliver(struct http_loop_msg *msg)
{
	struct channel_msg *m = (struct channel_msg *)msg;
	struct loop_channel *ch = m->ch;
	assert(on_loop_thread(ch->ll));
	struct live_session *few[16];
	struct live_session **to = ch->nmembers <= sizeof(few) / sizeof(few[0])
					   ? few
					   : xmalloc(ch->nmembers * sizeof(*to));
	size_t n = 0;
	for (h2o_linklist_t *l = ch->members.next; l != &ch->members; l = l->next) {
		struct member *mb = H2O_STRUCT_FROM_MEMBER(struct member, link, l);
		if (mb->joined >= m->seq)
			continue; /* it joined after this was published */
		session_ref(mb->s);
		to[n++] = mb->s;
	}
	for (size_t i = 0; i < n; i++) {
		deliver_home(to[i], &m->e);
		session_unref(to[i]);
	}
	if (to != few)
		free(to);
	channel_unref(ch);
	free(m);
}

static void on_heartbeat(h2o_timeout_entry_t *entry)
{
	struct live_session *s = H2O_STRUCT_FROM_MEMBER(struct live_session, heartbeat, entry);
	s->sink->heartbeat(s->arg);
	h2o_timeout_link(s->ll->evloop, &s->ll->heartbeat, &s->heartbeat);
	live_session_writable(s);
}

int live_session_open(struct live_loop *ll, h2o_loop_t *evloop, uint64_t user_id,
		      const uint8_t *token_hash, uint64_t after, const struct live_sink *sink,
		      void *arg, struct live_session **out)
{
	assert(on_loop_thread(ll));
	struct live_service *svc = ll->svc;
	struct slot_count count;
	int slot = ll->draining ? LIVE_SERVER_FULL : slot_take(svc, user_id, &count);
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
	s->after = after;
	/* Notifications are live only: those made from now on. */
	s->notif_after = id_make(time_now_ms(), 0, 0);
	if (token_hash) {
		s->has_token = true;
		memcpy(s->token, token_hash, sizeof(s->token));
	}
	s->heartbeat.cb = on_heartbeat;
	h2o_linklist_init_anchor(&s->queue);
	h2o_linklist_insert(&ll->sessions, &s->link);
	s->feed_member = join(s, CHANNEL_FEED, user_id);
	/* Listening: now the sign-in check and the celebrities (then, in
	 * open_done, U). */
	struct live_read *r = read_new(s, READ_OPEN);
	r->slot = count;
	if (token_hash) {
		r->has_token = true;
		memcpy(r->token_hash, token_hash, sizeof(r->token_hash));
	}
	session_ref(s); /* for the answer below */
	s->in_open = true;
	read_start(s, r);
	s->in_open = false;
	int rc = s->ready ? 0 : s->open ? LIVE_OPENING : s->open_rc;
	if (s->open)
		*out = s;
	session_unref(s);
	return rc;
}

/* ---- per loop ---------------------------------------------------------------------- */

struct live_loop *live_loop_new(struct live_service *svc, struct http_loop *loop,
				struct store_reader *db)
{
	assert(db || svc->opt.readers); /* reads go somewhere */
	struct live_loop *ll = xcalloc(1, sizeof(*ll));
	ll->svc = svc;
	ll->loop = loop;
	ll->db = db;
	ll->thread = pthread_self();
	h2o_linklist_init_anchor(&ll->sessions);
	idmap_init(&ll->channels[CHANNEL_FEED], 64);
	idmap_init(&ll->channels[CHANNEL_AUTHOR], 64);
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
		session_ref(s);
		if (!s->ready) {
			/* Still opening: refused, as a new one would be now. */
			atomic_fetch_add(&ll->svc->refused_server, 1);
			open_done(s, LIVE_SERVER_FULL);
		} else if (!s->ending) {
			session_end(s, LIVE_END_DONE);
		}
		session_unref(s);
	}
}

void live_loop_free(struct live_loop *ll)
{
	if (!ll)
		return;
	assert(on_loop_thread(ll));
	/* A session still open here never saw its transport finish (a reader
	 * that stopped reading): the loop is gone, so is h2o's interest. A
	 * read still in flight holds its session's memory; its completion
	 * would run on this loop, which runs no more. */
	while (!h2o_linklist_is_empty(&ll->sessions)) {
		struct live_session *s =
			H2O_STRUCT_FROM_MEMBER(struct live_session, link, ll->sessions.next);
		s->sink->end(s->arg, LIVE_END_RELEASE);
		session_detach(s);
		session_unref(s); /* the transport's handle, given up by RELEASE */
	}
	if (ll->evloop)
		h2o_timeout_dispose(ll->evloop, &ll->heartbeat);
	/* Every session left its channels, and each channel went with its last
	 * member (a message still on its way keeps its channel's memory). */
	assert(ll->channels[CHANNEL_FEED].n == 0 && ll->channels[CHANNEL_AUTHOR].n == 0);
	idmap_deinit(&ll->channels[CHANNEL_FEED]);
	idmap_deinit(&ll->channels[CHANNEL_AUTHOR]);
	strbuf_deinit(&ll->json);
	free(ll);
}
