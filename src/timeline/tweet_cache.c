/*
 * tweet_cache — see tweet_cache.h. Each entry is one allocation: the
 * header followed by the JSON bytes. A tombstone is an entry with
 * len == SIZE_MAX and no bytes.
 */
#include "timeline/tweet_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define SHARDS 64
#define TOMBSTONE SIZE_MAX

struct entry {
	uint64_t id;
	size_t len;
	struct entry *hnext;
	struct entry *newer, *older;
	char json[];
};

struct shard {
	pthread_mutex_t lock;
	struct entry **table;
	size_t nbuckets, n;
	struct entry *newest, *oldest;
	size_t bytes;
	uint64_t hits, misses, evictions;
};

struct tweet_cache {
	size_t shard_budget;
	struct shard shards[SHARDS];
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x9e3779b97f4a7c15ULL;
	k ^= k >> 29;
	return k;
}

static size_t entry_bytes(const struct entry *e)
{
	return sizeof(*e) + (e->len == TOMBSTONE ? 0 : e->len);
}

static struct entry **slot(struct shard *s, uint64_t id)
{
	struct entry **p = &s->table[(mix(id) >> 6) & (s->nbuckets - 1)];
	while (*p && (*p)->id != id)
		p = &(*p)->hnext;
	return p;
}

static void lru_unlink(struct shard *s, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_front(struct shard *s, struct entry *e)
{
	e->older = s->newest;
	e->newer = NULL;
	if (s->newest)
		s->newest->newer = e;
	s->newest = e;
	if (!s->oldest)
		s->oldest = e;
}

static void unhook(struct shard *s, struct entry **p)
{
	struct entry *e = *p;
	*p = e->hnext;
	lru_unlink(s, e);
	s->bytes -= entry_bytes(e);
	s->n--;
	free(e);
}

static void grow(struct shard *s)
{
	size_t nb = s->nbuckets * 2;
	struct entry **t = xcalloc(nb, sizeof(*t));
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (struct entry *e = s->table[i], *next; e; e = next) {
			next = e->hnext;
			struct entry **b = &t[(mix(e->id) >> 6) & (nb - 1)];
			e->hnext = *b;
			*b = e;
		}
	}
	free(s->table);
	s->table = t;
	s->nbuckets = nb;
}

/* Links a new entry (the id must be absent) and evicts to the budget. */
static void insert(struct tweet_cache *c, struct shard *s, struct entry *e)
{
	struct entry **p = slot(s, e->id);
	e->hnext = NULL;
	*p = e;
	lru_front(s, e);
	s->bytes += entry_bytes(e);
	if (++s->n > s->nbuckets)
		grow(s);
	while (s->bytes > c->shard_budget && s->oldest && s->oldest != e) {
		unhook(s, slot(s, s->oldest->id));
		s->evictions++;
	}
}

struct tweet_cache *tweet_cache_new(size_t max_bytes)
{
	struct tweet_cache *c = xcalloc(1, sizeof(*c));
	c->shard_budget = max_bytes / SHARDS;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		c->shards[i].nbuckets = 256;
		c->shards[i].table = xcalloc(256, sizeof(struct entry *));
	}
	return c;
}

void tweet_cache_free(struct tweet_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &c->shards[i];
		while (s->oldest)
			unhook(s, slot(s, s->oldest->id));
		free(s->table);
		pthread_mutex_destroy(&s->lock);
	}
	free(c);
}

static struct shard *shard_of(struct tweet_cache *c, uint64_t id)
{
	return &c->shards[mix(id) % SHARDS];
}

enum tweet_cache_result tweet_cache_append(struct tweet_cache *c, uint64_t id, struct strbuf *out)
{
	struct shard *s = shard_of(c, id);
	enum tweet_cache_result r = TWEET_CACHE_MISS;
	pthread_mutex_lock(&s->lock);
	struct entry *e = *slot(s, id);
	if (!e) {
		s->misses++;
	} else if (e->len == TOMBSTONE) {
		r = TWEET_CACHE_DELETED;
	} else {
		s->hits++;
		lru_unlink(s, e);
		lru_front(s, e);
		strbuf_append(out, e->json, e->len);
		r = TWEET_CACHE_HIT;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void tweet_cache_put(struct tweet_cache *c, uint64_t id, const char *json, size_t len)
{
	struct shard *s = shard_of(c, id);
	struct entry *e = xmalloc(sizeof(*e) + len);
	e->id = id;
	e->len = len;
	memcpy(e->json, json, len);
	pthread_mutex_lock(&s->lock);
	bool known = *slot(s, id) != NULL;
	if (!known)
		insert(c, s, e);
	pthread_mutex_unlock(&s->lock);
	if (known)
		free(e);
}

void tweet_cache_forget(struct tweet_cache *c, uint64_t id)
{
	struct shard *s = shard_of(c, id);
	struct entry *e = xmalloc(sizeof(*e));
	e->id = id;
	e->len = TOMBSTONE;
	pthread_mutex_lock(&s->lock);
	struct entry **p = slot(s, id);
	if (*p)
		unhook(s, p);
	insert(c, s, e);
	pthread_mutex_unlock(&s->lock);
}

void tweet_cache_stats(struct tweet_cache *c, struct tweet_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		out->entries += s->n;
		out->bytes += s->bytes;
		out->hits += s->hits;
		out->misses += s->misses;
		out->evictions += s->evictions;
		pthread_mutex_unlock(&s->lock);
	}
}
