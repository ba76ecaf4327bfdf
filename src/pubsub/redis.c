/*
 * redis — the pubsub port over Redis PUBLISH/SUBSCRIBE, so a tweet fanned
 * out on one node reaches streams open on every node (see pubsub.h;
 * docs/architecture.md, "Cluster mode: Redis").
 *
 * Publishing is one PUBLISH on a pooled connection (redis/redis.h), from
 * the publisher's thread. Receiving is one connection per process, owned
 * by a `chirp-pubsub` thread: it subscribes each channel that has local
 * subscribers (once, however many), unsubscribes it when the last one
 * leaves, and hands each message to an in-process bus (pubsub/memory.c)
 * that delivers it to the local subscribers — so the delivery contract
 * (order, "once unsubscribe returns the handler never runs") is the memory
 * bus's own. Subscribing is local bookkeeping plus a wake of the thread:
 * it never waits on the network.
 *
 * Redis unreachable: publish fails (the caller counts it) and the thread
 * reconnects with a back-off, then subscribes every channel again; what
 * was published meanwhile is lost (delivery is at most once). When the
 * connection breaks each local subscriber gets the options' lost message
 * (the live feed's "l": streams end with a hint to reconnect), and when
 * it is back, the gap message (the live feed's
 * "r": catch up from the timelines and the store), which fills the gap.
 *
 * Order across publishers (pubsub_options.order_*, the live feed's
 * tweets): a message with a place above what is known published is held
 * back. The thread asks for the bound (order_bound, a Redis call), then
 * sends PING on its subscription: every message published before the
 * bound was read comes before the pong, so once the pong is in, the held
 * messages the bound lets go are delivered, in place order. While any
 * are held it asks again every ASK_EVERY_MS; a message held order_hold_ms
 * goes out whatever the bound (with the held ones below it, so still in
 * order); one at or below the last bound goes out at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pubsub/pubsub.h"
#include "redis/redis.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define BUCKETS 4096
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000
#define ASK_EVERY_MS 2 /* between two asks for the bound while messages are held */
#define HELD_MAX 65536 /* held at once; past it, messages go out as they come */

/* A message held back for order. */
struct held {
	uint64_t key;
	uint64_t until_ms; /* delivered then, whatever the bound */
	size_t len;
	char *msg; /* after the channel's NUL */
	char channel[];
};

/* A channel with local subscribers, or one the thread must still
 * unsubscribe. Owned by the table; freed by the thread. */
struct chan {
	struct chan *next;  /* in the bucket */
	struct chan *dirty; /* in the thread's to-do list */
	bool queued;        /* on the to-do list */
	bool subscribed;    /* the thread's connection subscribes it */
	size_t count;       /* local subscriptions */
	uint64_t hash;
	char name[];
};

struct pubsub_sub {
	struct pubsub_sub *inner; /* the memory bus's subscription */
	struct chan *chan;
};

struct redis_bus {
	struct pubsub base;
	struct redis *redis;
	struct pubsub *local; /* delivers to this process's subscribers */
	pthread_mutex_t lock; /* table, todo, stop */
	struct chan *table[BUCKETS];
	struct chan *todo;
	bool stop;
	int wake[2]; /* a byte written wakes the thread */
	char *gap_msg; /* pubsub_options.gap_msg */
	size_t gap_len;
	char *lost_msg; /* pubsub_options.lost_msg */
	size_t lost_len;
	pthread_t thread;
	/* Order (pubsub_options.order_*); the state is the thread's alone. */
	uint64_t (*order_key)(const void *msg, size_t len);
	int (*order_bound)(void *arg, uint64_t *bound);
	void *order_arg;
	unsigned hold_ms;
	struct held **held; /* by place, then arrival */
	size_t nheld, held_cap;
	uint64_t bound; /* places up to this go out at once */
	bool asking;    /* a PING is out; its pong confirms `asked` */
	uint64_t asked;
	uint64_t next_ask_ms;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void wake(struct redis_bus *b)
{
	char c = 1;
	if (write(b->wake[1], &c, 1) < 0 && errno != EAGAIN)
		log_error("pubsub: cannot wake the subscriber: %s", strerror(errno));
}

/* Puts c on the thread's to-do list. Under b->lock. */
static void mark(struct redis_bus *b, struct chan *c)
{
	if (!c->queued) {
		c->queued = true;
		c->dirty = b->todo;
		b->todo = c;
	}
}

static void unlink_chan(struct redis_bus *b, struct chan *c)
{
	struct chan **p = &b->table[c->hash % BUCKETS];
	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
}

/* Sends SUBSCRIBE or UNSUBSCRIBE for each channel on the to-do list whose
 * state changed, and frees channels nobody wants any more. -1 if the
 * connection failed. */
static int apply_todo(struct redis_bus *b, redisContext *conn)
{
	pthread_mutex_lock(&b->lock);
	struct chan *list = b->todo;
	b->todo = NULL;
	for (struct chan *c = list, *next; c; c = next) {
		next = c->dirty;
		c->queued = false;
		const char *verb = NULL;
		if (c->count && !c->subscribed)
			verb = "SUBSCRIBE";
		else if (!c->count && c->subscribed)
			verb = "UNSUBSCRIBE";
		if (verb && conn) {
			const char *argv[] = {verb, c->name};
			size_t lens[] = {strlen(verb), strlen(c->name)};
			redisAppendCommandArgv(conn, 2, argv, lens);
			c->subscribed = c->count != 0;
		}
		if (!c->count && !c->subscribed) {
			unlink_chan(b, c);
			free(c);
		}
	}
	pthread_mutex_unlock(&b->lock);
	int done = 0;
	while (conn && !done)
		if (redisBufferWrite(conn, &done) != REDIS_OK)
			return -1;
	return 0;
}

/* Delivers msg (if any) to the local subscribers of every channel. */
static void tell_all(struct redis_bus *b, const char *msg, size_t len)
{
	if (!len)
		return;
	struct strbuf names = STRBUF_INIT; /* NUL-separated: no lock while delivering */
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct chan *c = b->table[i]; c; c = c->next)
			if (c->count)
				strbuf_append(&names, c->name, strlen(c->name) + 1);
	pthread_mutex_unlock(&b->lock);
	for (size_t at = 0; at < names.len; at += strlen(names.data + at) + 1)
		b->local->ops->publish(b->local, names.data + at, msg, len);
	strbuf_deinit(&names);
}

/* A new connection: every channel is to be subscribed again. After a
 * broken one (`gap`), messages may have been lost: the gap message goes
 * to every channel's local subscribers once the subscriptions are sent,
 * so what they read to catch up is read after Redis delivers again. */
static void resubscribe_all(struct redis_bus *b, redisContext *conn, bool gap)
{
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < BUCKETS; i++) {
		for (struct chan *c = b->table[i]; c; c = c->next) {
			c->subscribed = false;
			mark(b, c);
		}
	}
	pthread_mutex_unlock(&b->lock);
	if (apply_todo(b, conn) == 0 && gap)
		tell_all(b, b->gap_msg, b->gap_len);
}

static void hold(struct redis_bus *b, uint64_t key, const char *channel, const char *msg,
		 size_t len)
{
	if (b->nheld == b->held_cap) {
		b->held_cap = b->held_cap ? 2 * b->held_cap : 64;
		b->held = xrealloc(b->held, b->held_cap * sizeof(*b->held));
	}
	size_t clen = strlen(channel) + 1;
	struct held *h = xmalloc(sizeof(*h) + clen + len);
	h->key = key;
	h->until_ms = time_now_ms() + b->hold_ms;
	h->len = len;
	memcpy(h->channel, channel, clen);
	h->msg = h->channel + clen;
	memcpy(h->msg, msg, len);
	size_t at = b->nheld;
	while (at > 0 && b->held[at - 1]->key > key)
		at--;
	memmove(&b->held[at + 1], &b->held[at], (b->nheld - at) * sizeof(*b->held));
	b->held[at] = h;
	b->nheld++;
}

/* Delivers the held messages that may go (`all`: every one): those the
 * bound lets go, and each one held long enough together with those below
 * it, so what goes out is still in place order. */
static void release(struct redis_bus *b, bool all)
{
	uint64_t now = time_now_ms();
	size_t go = 0; /* held[0, go) go out */
	for (size_t i = 0; i < b->nheld; i++)
		if (all || b->held[i]->key <= b->bound || b->held[i]->until_ms <= now)
			go = i + 1;
	if (go == 0)
		return; /* also: nothing held yet, so no array to move */
	for (size_t i = 0; i < go; i++) {
		struct held *h = b->held[i];
		b->local->ops->publish(b->local, h->channel, h->msg, h->len);
		free(h);
	}
	memmove(b->held, b->held + go, (b->nheld - go) * sizeof(*b->held));
	b->nheld -= go;
}

/* Reads the bound and sends the PING whose pong confirms it. -1 if the
 * connection failed. */
static int ask(struct redis_bus *b, redisContext *conn)
{
	/* Not known (Redis is not answering; no tweet recorded): what is
	 * held goes, and what comes next is held again. */
	uint64_t bound, held_top = b->held[b->nheld - 1]->key;
	if (b->order_bound(b->order_arg, &bound) != 0 || bound == UINT64_MAX)
		bound = held_top;
	if (redisAppendCommand(conn, "PING") != REDIS_OK)
		return -1;
	int done = 0;
	while (!done)
		if (redisBufferWrite(conn, &done) != REDIS_OK)
			return -1;
	b->asking = true;
	b->asked = bound;
	return 0;
}

/* The connection broke: close it, count it, and tell every subscriber
 * (after what was held back). */
static void lost(struct redis_bus *b, redisContext **conn)
{
	redisFree(*conn);
	*conn = NULL;
	redis_note(b->redis, false, 0);
	b->asking = false;
	release(b, true);
	tell_all(b, b->lost_msg, b->lost_len);
}

static bool is_pong(const redisReply *rep)
{
	if (rep->type == REDIS_REPLY_STATUS) /* RESP3 */
		return strcmp(rep->str, "PONG") == 0;
	return rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	       rep->element[0]->type == REDIS_REPLY_STRING &&
	       strcmp(rep->element[0]->str, "pong") == 0;
}

static void deliver(struct redis_bus *b, const redisReply *rep)
{
	if (is_pong(rep) && b->asking) {
		/* Every message published before the bound was read is in. */
		b->asking = false;
		b->bound = b->asked;
		release(b, false);
		b->next_ask_ms = time_now_ms() + ASK_EVERY_MS;
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(rep->element[0]->str, "message") != 0 ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    rep->element[2]->type != REDIS_REPLY_STRING)
		return; /* a (un)subscribe confirmation */
	const char *channel = rep->element[1]->str, *msg = rep->element[2]->str;
	size_t len = rep->element[2]->len;
	uint64_t key = b->order_key ? b->order_key(msg, len) : 0;
	if (key > b->bound && b->nheld < HELD_MAX)
		hold(b, key, channel, msg, len);
	else
		b->local->ops->publish(b->local, channel, msg, len);
}

/* Reads what arrived and delivers its messages; -1 if the connection
 * failed. */
static int drain(struct redis_bus *b, redisContext *conn)
{
	if (redisBufferRead(conn) != REDIS_OK)
		return -1;
	void *rep;
	while (redisGetReplyFromReader(conn, &rep) == REDIS_OK && rep) {
		deliver(b, rep);
		freeReplyObject(rep);
	}
	return conn->err ? -1 : 0;
}

static bool stopping(struct redis_bus *b)
{
	pthread_mutex_lock(&b->lock);
	bool s = b->stop;
	pthread_mutex_unlock(&b->lock);
	return s;
}

static void *subscriber(void *arg)
{
	struct redis_bus *b = arg;
	redisContext *conn = NULL;
	unsigned retry_ms = RETRY_MIN_MS;
	bool broke = false; /* a connection was lost: messages may have been */
	while (!stopping(b)) {
		if (!conn && (conn = redis_connect(b->redis))) {
			retry_ms = RETRY_MIN_MS;
			resubscribe_all(b, conn, broke);
			broke = false;
		}
		if (conn && apply_todo(b, conn) != 0) {
			lost(b, &conn);
			broke = true;
		}
		if (conn && b->nheld && !b->asking && time_now_ms() >= b->next_ask_ms &&
		    ask(b, conn) != 0) {
			lost(b, &conn);
			broke = true;
		}
		struct pollfd fds[2] = {{.fd = b->wake[0], .events = POLLIN},
					{.fd = conn ? conn->fd : -1, .events = POLLIN}};
		int n = poll(fds, 2, !conn ? (int)retry_ms : b->nheld ? ASK_EVERY_MS : 1000);
		if (!conn && retry_ms < RETRY_MAX_MS)
			retry_ms *= 2;
		if (n > 0 && (fds[0].revents & POLLIN)) {
			char buf[64];
			while (read(b->wake[0], buf, sizeof(buf)) > 0)
				;
		}
		if (conn && n > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    drain(b, conn) != 0) {
			log_info("pubsub: the Redis subscription broke; reconnecting");
			lost(b, &conn);
			broke = true;
		}
		if (b->nheld)
			release(b, false); /* those held long enough */
	}
	release(b, true);
	if (conn)
		redisFree(conn);
	return NULL;
}

static char *copy(const char *msg, size_t len)
{
	char *c = len ? xmalloc(len) : NULL;
	if (len)
		memcpy(c, msg, len);
	return c;
}

static struct pubsub *rb_open(const struct pubsub_options *opt, struct strbuf *err)
{
	if (!opt->redis) {
		strbuf_appendf(err, "the Redis pubsub needs --redis");
		return NULL;
	}
	struct redis_bus *b = xcalloc(1, sizeof(*b));
	b->base.ops = &pubsub_redis_ops;
	b->redis = opt->redis;
	b->gap_msg = copy(opt->gap_msg, opt->gap_len);
	b->gap_len = opt->gap_len;
	b->lost_msg = copy(opt->lost_msg, opt->lost_len);
	b->lost_len = opt->lost_len;
	b->order_key = opt->order_key;
	b->order_bound = opt->order_bound;
	b->order_arg = opt->order_arg;
	b->hold_ms = opt->order_hold_ms;
	if (!b->order_bound)
		b->order_key = NULL;
	if (!(b->local = pubsub_memory_ops.open(opt, err)))
		goto fail;
	if (pipe2(b->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		strbuf_appendf(err, "pipe: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&b->lock, NULL);
	if (pthread_create(&b->thread, NULL, subscriber, b) != 0) {
		strbuf_appendf(err, "cannot start the subscriber thread");
		goto fail;
	}
	pthread_setname_np(b->thread, "chirp-pubsub");
	return &b->base;
fail:
	if (b->local)
		b->local->ops->close(b->local);
	free(b->gap_msg);
	free(b->lost_msg);
	free(b);
	return NULL;
}

static void rb_close(struct pubsub *ps)
{
	struct redis_bus *b = (struct redis_bus *)ps;
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_mutex_unlock(&b->lock);
	wake(b);
	pthread_join(b->thread, NULL);
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct chan *c = b->table[i], *next; c; c = next)
			next = c->next, free(c);
	close(b->wake[0]);
	close(b->wake[1]);
	pthread_mutex_destroy(&b->lock);
	b->local->ops->close(b->local);
	free(b->held);
	free(b->gap_msg);
	free(b->lost_msg);
	free(b);
}

static int rb_publish(struct pubsub *ps, const char *channel, const void *msg, size_t len)
{
	struct redis_bus *b = (struct redis_bus *)ps;
	redisReply *rep = redis_commandf(b->redis, "PUBLISH %s %b", channel, msg, len);
	int rc = rep && rep->type == REDIS_REPLY_INTEGER ? 0 : -1;
	if (rep)
		freeReplyObject(rep);
	return rc;
}

static struct pubsub_sub *rb_subscribe(struct pubsub *ps, const char *channel, pubsub_handler fn,
				       void *arg)
{
	struct redis_bus *b = (struct redis_bus *)ps;
	struct pubsub_sub *s = xcalloc(1, sizeof(*s));
	s->inner = b->local->ops->subscribe(b->local, channel, fn, arg);
	uint64_t h = hash_name(channel);
	pthread_mutex_lock(&b->lock);
	struct chan *c = b->table[h % BUCKETS];
	while (c && (c->hash != h || strcmp(c->name, channel) != 0))
		c = c->next;
	if (!c) {
		size_t len = strlen(channel);
		c = xcalloc(1, sizeof(*c) + len + 1);
		memcpy(c->name, channel, len + 1);
		c->hash = h;
		c->next = b->table[h % BUCKETS];
		b->table[h % BUCKETS] = c;
	}
	bool first = c->count++ == 0;
	if (first)
		mark(b, c);
	s->chan = c;
	pthread_mutex_unlock(&b->lock);
	if (first)
		wake(b);
	return s;
}

static void rb_unsubscribe(struct pubsub *ps, struct pubsub_sub *s)
{
	struct redis_bus *b = (struct redis_bus *)ps;
	if (!s)
		return;
	b->local->ops->unsubscribe(b->local, s->inner);
	pthread_mutex_lock(&b->lock);
	bool last = --s->chan->count == 0;
	if (last)
		mark(b, s->chan);
	pthread_mutex_unlock(&b->lock);
	if (last)
		wake(b);
	free(s);
}

const struct pubsub_ops pubsub_redis_ops = {
	.name = "redis",
	.open = rb_open,
	.close = rb_close,
	.publish = rb_publish,
	.subscribe = rb_subscribe,
	.unsubscribe = rb_unsubscribe,
};
