/*
 * memory — the in-process pubsub adapter: one process is the whole bus.
 *
 * A hash table maps each channel that has subscribers to the list of its
 * subscriptions; a channel without subscribers does not exist, so publishing
 * to it costs one lookup. One read-write lock guards everything: publishers
 * (the fanout thread, the writer thread) take it shared and call the
 * handlers under it, subscribers take it exclusive. That is what makes
 * "after unsubscribe returns, the handler never runs again" hold without
 * reference counts: unsubscribe waits for every publish in progress.
 */
#include "pubsub/pubsub.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct pubsub_sub {
	struct channel *channel;
	pubsub_handler fn;
	void *arg;
	struct pubsub_sub *prev, *next;
};

struct channel {
	struct channel *next; /* in the bucket */
	uint64_t hash;
	struct pubsub_sub *subs;
	char name[]; /* NUL-terminated */
};

struct memory_bus {
	struct pubsub base;
	pthread_rwlock_t lock;
	struct channel **table;
	size_t nbuckets; /* a power of two */
	size_t nchannels;
};

#define INITIAL_BUCKETS 1024
#define MAX_INITIAL_BUCKETS (1u << 20)

static uint64_t hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct channel *find(struct memory_bus *b, const char *name, uint64_t h)
{
	for (struct channel *c = b->table[h & (b->nbuckets - 1)]; c; c = c->next)
		if (c->hash == h && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void grow(struct memory_bus *b)
{
	size_t n = b->nbuckets * 2;
	struct channel **t = xcalloc(n, sizeof(*t));
	for (size_t i = 0; i < b->nbuckets; i++) {
		for (struct channel *c = b->table[i], *next; c; c = next) {
			next = c->next;
			c->next = t[c->hash & (n - 1)];
			t[c->hash & (n - 1)] = c;
		}
	}
	free(b->table);
	b->table = t;
	b->nbuckets = n;
}

/* Never fails: one process is always reachable. */
static struct pubsub *memory_open(const struct pubsub_options *opt, struct strbuf *err)
{
	(void)err;
	struct memory_bus *b = xcalloc(1, sizeof(*b));
	b->base.ops = &pubsub_memory_ops;
	pthread_rwlock_init(&b->lock, NULL);
	/* The table grows past one channel per bucket: start where the hint
	 * says it would end, so no stream pays for a resize under the lock. */
	b->nbuckets = INITIAL_BUCKETS;
	while (b->nbuckets < opt->expected_channels && b->nbuckets < MAX_INITIAL_BUCKETS)
		b->nbuckets *= 2;
	b->table = xcalloc(b->nbuckets, sizeof(*b->table));
	return &b->base;
}

static void memory_close(struct pubsub *ps)
{
	struct memory_bus *b = (struct memory_bus *)ps;
	if (!b)
		return;
	if (b->nchannels)
		log_error("pubsub: closed with %zu channel(s) still subscribed", b->nchannels);
	pthread_rwlock_destroy(&b->lock);
	free(b->table);
	free(b);
}

static int memory_publish(struct pubsub *ps, const char *channel, const void *msg, size_t len)
{
	struct memory_bus *b = (struct memory_bus *)ps;
	uint64_t h = hash_name(channel);
	pthread_rwlock_rdlock(&b->lock);
	struct channel *c = find(b, channel, h);
	for (struct pubsub_sub *s = c ? c->subs : NULL; s; s = s->next)
		s->fn(s->arg, c->name, msg, len);
	pthread_rwlock_unlock(&b->lock);
	return 0;
}

static struct pubsub_sub *memory_subscribe(struct pubsub *ps, const char *channel,
					   pubsub_handler fn, void *arg)
{
	struct memory_bus *b = (struct memory_bus *)ps;
	uint64_t h = hash_name(channel);
	struct pubsub_sub *s = xcalloc(1, sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	pthread_rwlock_wrlock(&b->lock);
	struct channel *c = find(b, channel, h);
	if (!c) {
		size_t len = strlen(channel);
		c = xcalloc(1, sizeof(*c) + len + 1);
		memcpy(c->name, channel, len + 1);
		c->hash = h;
		if (++b->nchannels > b->nbuckets)
			grow(b);
		c->next = b->table[h & (b->nbuckets - 1)];
		b->table[h & (b->nbuckets - 1)] = c;
	}
	s->channel = c;
	s->next = c->subs;
	if (c->subs)
		c->subs->prev = s;
	c->subs = s;
	pthread_rwlock_unlock(&b->lock);
	return s;
}

static void memory_unsubscribe(struct pubsub *ps, struct pubsub_sub *s)
{
	struct memory_bus *b = (struct memory_bus *)ps;
	if (!s)
		return;
	pthread_rwlock_wrlock(&b->lock);
	struct channel *c = s->channel;
	if (s->prev)
		s->prev->next = s->next;
	else
		c->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (!c->subs) {
		struct channel **p = &b->table[c->hash & (b->nbuckets - 1)];
		while (*p != c)
			p = &(*p)->next;
		*p = c->next;
		b->nchannels--;
		free(c);
	}
	pthread_rwlock_unlock(&b->lock);
	free(s);
}

const struct pubsub_ops pubsub_memory_ops = {
	.name = "memory",
	.open = memory_open,
	.close = memory_close,
	.publish = memory_publish,
	.subscribe = memory_subscribe,
	.unsubscribe = memory_unsubscribe,
};
