/*
 * tweet_cache_memory — the in-memory tweet cache adapter (the port and its
 * contract are in tweet_cache.h).
 *
 * 64 shards, each under its own mutex with its own hash table and LRU
 * order, so event loops hydrating pages and the writer thread putting new
 * tweets rarely meet on a lock. Each shard gets max_bytes/64 and evicts
 * entries not read lately to stay under it, by CLOCK (second chance): a
 * hit only marks its entry, and eviction passes over the marked ones at
 * the old end, clearing the mark and moving them to the new end. A page
 * reads twenty entries: moving each in the list on every hit cost two
 * more cache misses apiece (its neighbours), about 3% of a feed read.
 * Each entry is one allocation: the header followed by the JSON bytes; a
 * tombstone is an entry with len == SIZE_MAX and no bytes.
 */
#include "timeline/tweet_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/container_of.h"
#include "util/idmap.h"
#include "util/log.h"

#define SHARDS 64
#define TOMBSTONE SIZE_MAX

struct entry {
	struct idmap_node node; /* key: the tweet id */
	struct lru_node lru;
	size_t len;
	bool referenced; /* read since eviction last passed it */
	char json[];
};

struct shard {
	pthread_mutex_t lock;
	struct idmap map;
	struct lru lru;
	size_t bytes;
	uint64_t hits, misses, evictions;
};

struct mem_cache {
	struct tweet_cache base;
	size_t shard_budget;
	struct shard shards[SHARDS];
};

static size_t entry_bytes(const struct entry *e)
{
	return sizeof(*e) + (e->len == TOMBSTONE ? 0 : e->len);
}

static struct entry *find(struct shard *s, uint64_t id)
{
	struct idmap_node *n = idmap_get(&s->map, id);
	return n ? container_of(n, struct entry, node) : NULL;
}

static void drop(struct shard *s, struct entry *e)
{
	idmap_remove(&s->map, e->node.key);
	lru_unlink(&s->lru, &e->lru);
	s->bytes -= entry_bytes(e);
	free(e);
}

/* Links a new entry (the id must be absent) and evicts to the budget,
 * never the new entry itself. */
static void insert(struct mem_cache *c, struct shard *s, struct entry *e)
{
	idmap_insert(&s->map, &e->node);
	lru_push_newest(&s->lru, &e->lru);
	s->bytes += entry_bytes(e);
	while (s->bytes > c->shard_budget && s->lru.oldest != s->lru.newest) {
		struct entry *old = container_of(s->lru.oldest, struct entry, lru);
		if (old == e || old->referenced) { /* a second chance */
			old->referenced = false;
			lru_touch(&s->lru, &old->lru);
			continue;
		}
		drop(s, old);
		s->evictions++;
	}
}

static struct tweet_cache *mem_open(const struct tweet_cache_options *opt, struct strbuf *err)
{
	(void)err; /* nothing can fail but memory, which aborts */
	struct mem_cache *c = xcalloc(1, sizeof(*c));
	c->base.ops = &tweet_cache_memory_ops;
	c->shard_budget = opt->max_bytes / SHARDS;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		idmap_init(&c->shards[i].map, 256);
	}
	return &c->base;
}

static void mem_close(struct tweet_cache *base)
{
	if (!base)
		return;
	struct mem_cache *c = container_of(base, struct mem_cache, base);
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &c->shards[i];
		while (s->lru.oldest)
			drop(s, container_of(s->lru.oldest, struct entry, lru));
		idmap_deinit(&s->map);
		pthread_mutex_destroy(&s->lock);
	}
	free(c);
}

static struct shard *shard_of(struct mem_cache *c, uint64_t id)
{
	/* The low bits of a snowflake id are a sequence: shard by the high. */
	return &c->shards[(id >> 22 ^ id) % SHARDS];
}

static enum tweet_cache_result mem_get(struct tweet_cache *base, uint64_t id, struct strbuf *out)
{
	struct mem_cache *c = container_of(base, struct mem_cache, base);
	struct shard *s = shard_of(c, id);
	enum tweet_cache_result r = TWEET_CACHE_MISS;
	pthread_mutex_lock(&s->lock);
	struct entry *e = find(s, id);
	if (!e) {
		s->misses++;
	} else if (e->len == TOMBSTONE) {
		r = TWEET_CACHE_DELETED;
	} else {
		s->hits++;
		e->referenced = true;
		strbuf_append(out, e->json, e->len);
		r = TWEET_CACHE_HIT;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Two passes over the ids, as idmap_prefetch_* ask: every bucket, then
 * every first entry. A page's 20 ids take 40 more lock/unlock pairs
 * (uncontended); the misses they let overlap are ~20 round trips to
 * memory. */
static void mem_prefetch(struct tweet_cache *base, const uint64_t *ids, size_t n)
{
	struct mem_cache *c = container_of(base, struct mem_cache, base);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			struct shard *s = shard_of(c, ids[i]);
			pthread_mutex_lock(&s->lock);
			if (pass == 0)
				idmap_prefetch_bucket(&s->map, ids[i]);
			else
				idmap_prefetch_node(&s->map, ids[i]);
			pthread_mutex_unlock(&s->lock);
		}
	}
}

/* A new entry holding a copy of the JSON, outside any lock. */
static struct entry *entry_new(uint64_t id, const char *json, size_t len)
{
	struct entry *e = xmalloc(sizeof(*e) + len);
	e->node.key = id;
	e->len = len;
	e->referenced = false;
	memcpy(e->json, json, len);
	return e;
}

static void mem_put(struct tweet_cache *base, uint64_t id, const char *json, size_t len)
{
	struct mem_cache *c = container_of(base, struct mem_cache, base);
	struct shard *s = shard_of(c, id);
	struct entry *e = entry_new(id, json, len);
	pthread_mutex_lock(&s->lock);
	bool known = find(s, id) != NULL;
	if (!known)
		insert(c, s, e);
	pthread_mutex_unlock(&s->lock);
	if (known)
		free(e);
}

static void mem_replace(struct tweet_cache *base, uint64_t id, const char *json, size_t len)
{
	struct mem_cache *c = container_of(base, struct mem_cache, base);
	struct shard *s = shard_of(c, id);
	struct entry *e = entry_new(id, json, len);
	pthread_mutex_lock(&s->lock);
	struct entry *old = find(s, id);
	bool tomb = old && old->len == TOMBSTONE;
	if (!tomb) {
		if (old)
			drop(s, old);
		insert(c, s, e);
	}
	pthread_mutex_unlock(&s->lock);
	if (tomb)
		free(e);
}

static int mem_mark_deleted(struct tweet_cache *base, uint64_t id)
{
	struct mem_cache *c = container_of(base, struct mem_cache, base);
	struct shard *s = shard_of(c, id);
	struct entry *e = xmalloc(sizeof(*e));
	e->node.key = id;
	e->len = TOMBSTONE;
	e->referenced = false;
	pthread_mutex_lock(&s->lock);
	struct entry *old = find(s, id);
	if (old)
		drop(s, old);
	insert(c, s, e);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void mem_stats(struct tweet_cache *base, struct tweet_cache_stats *out)
{
	struct mem_cache *c = container_of(base, struct mem_cache, base);
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		out->entries += s->map.n;
		out->bytes += s->bytes;
		out->hits += s->hits;
		out->misses += s->misses;
		out->evictions += s->evictions;
		pthread_mutex_unlock(&s->lock);
	}
}

const struct tweet_cache_ops tweet_cache_memory_ops = {
	.name = "memory",
	.open = mem_open,
	.close = mem_close,
	.get = mem_get,
	.prefetch = mem_prefetch,
	.put = mem_put,
	.replace = mem_replace,
	.mark_deleted = mem_mark_deleted,
	.stats = mem_stats,
};
