/*
 * memory — the in-memory timeline adapter (see timeline.h).
 *
 * Lists live in 64 shards, each with its own mutex, hash table and LRU
 * order, so event loops reading and the fanout thread writing rarely meet
 * on a lock. A list is a sorted array of ids, newest first, at most `cap`
 * long: a push is a binary search and a memmove of a few kilobytes at
 * worst, and a page read is a binary search and a copy.
 *
 * Memory is bounded: each shard gets max_bytes/64 and evicts the least
 * recently read lists to stay under it. An id costs 8 bytes; a list adds
 * its header and its meta.
 *
 * Opened with `union_index` (the celebrities' lists), every push, remove
 * and build also goes to one time-ordered index of all the lists' newest
 * ids (union_index.c), which answers range_union without a lock. It does
 * not follow the lists' eviction: a key's ids stay exact there whether
 * or not its list is held.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "timeline/timeline.h"
#include "timeline/union_index.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SHARDS 64
/* Ids in the union index: 1 MiB. A build merges into the whole index, so
 * it stays small enough to copy in a few hundred microseconds; a page
 * older than it holds is read from the lists. */
#define UNION_INDEX_IDS 65536

struct list {
	struct idmap_node node; /* key: the user (or author) id */
	struct lru_node lru;    /* by last read, give or take a second chance */
	bool referenced;        /* read since eviction last passed it */
	uint64_t *ids;          /* newest first */
	uint32_t len, alloc;
	bool complete;  /* built from the store */
	bool truncated; /* older ids exist beyond what is held */
	uint64_t last_read_ms; /* monotonic */
	void *meta;
	size_t meta_len;
};

struct shard {
	pthread_mutex_t lock;
	struct idmap map;
	struct lru lru;
	size_t bytes, entries;
	uint64_t hits, misses, evictions;
};

struct mem_timelines {
	struct timelines base;
	struct timeline_options opt;
	size_t shard_budget;
	struct union_index *ix; /* NULL unless opened with union_index */
	struct shard shards[SHARDS];
};

/* Idle times use the monotonic clock: a wall clock stepped back would
 * make every list look idle at once. */
static uint64_t now_ms(void)
{
	return time_mono_ns() / 1000000;
}

static size_t list_bytes(const struct list *l)
{
	return sizeof(*l) + l->alloc * sizeof(uint64_t) + l->meta_len;
}

static struct shard *shard_of(struct mem_timelines *m, uint64_t key)
{
	return &m->shards[idmap_mix(key) % SHARDS];
}

static struct list *find(struct shard *s, uint64_t key)
{
	struct idmap_node *n = idmap_get(&s->map, key);
	return n ? container_of(n, struct list, node) : NULL;
}

static struct list *oldest(struct shard *s)
{
	return s->lru.oldest ? container_of(s->lru.oldest, struct list, lru) : NULL;
}

/* Unhooks and frees a list. */
static void list_free(struct shard *s, struct list *l)
{
	idmap_remove(&s->map, l->node.key);
	lru_unlink(&s->lru, &l->lru);
	s->bytes -= list_bytes(l);
	s->entries -= l->len;
	free(l->ids);
	free(l->meta);
	free(l);
}

/* Evicts by CLOCK (second chance), never `keep`: a read only marks its
 * list (mem_range), and a marked list met at the old end is spared once,
 * unmarked and moved to the new end. As in tweet_cache_memory.c: a page
 * with celebrities reads ~28 lists, and moving each in the list on every
 * read cost its neighbours' cache lines. */
static void evict_to_budget(struct mem_timelines *m, struct shard *s, const struct list *keep)
{
	struct list *l;
	while (s->bytes > m->shard_budget && (l = oldest(s)) &&
	       !(l == keep && s->lru.oldest == s->lru.newest)) {
		if (l == keep || l->referenced) {
			l->referenced = false;
			lru_touch(&s->lru, &l->lru);
			continue;
		}
		list_free(s, l);
		s->evictions++;
	}
}

/* The first index whose id is smaller than `bound` (ids are descending). */
static uint32_t first_below(const struct list *l, uint64_t bound)
{
	uint32_t lo = 0, hi = l->len;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (l->ids[mid] >= bound)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Inserts id at its sorted place; a duplicate is ignored. In a full list
 * the oldest id falls off, and an id older than all of them is not kept. */
static void list_insert(struct mem_timelines *m, struct shard *s, struct list *l, uint64_t id)
{
	uint32_t lo = first_below(l, id + 1); /* the first id <= `id` */
	if (lo < l->len && l->ids[lo] == id)
		return;
	if (lo == m->opt.cap) { /* older than everything held in a full list */
		l->truncated = true;
		return;
	}
	if (l->len == m->opt.cap) {
		l->len--; /* the oldest falls off */
		s->entries--;
		l->truncated = true;
	}
	if (l->len == l->alloc) {
		uint32_t na = l->alloc ? l->alloc * 2 : 16;
		if (na > m->opt.cap)
			na = m->opt.cap;
		s->bytes += (na - l->alloc) * sizeof(uint64_t);
		l->ids = xrealloc(l->ids, na * sizeof(uint64_t));
		l->alloc = na;
	}
	memmove(l->ids + lo + 1, l->ids + lo, (l->len - lo) * sizeof(uint64_t));
	l->ids[lo] = id;
	l->len++;
	s->entries++;
}

static struct timelines *mem_open(const struct timeline_options *opt, struct strbuf *err)
{
	(void)err; /* nothing can fail but memory, which aborts */
	struct mem_timelines *m = xcalloc(1, sizeof(*m));
	m->base.ops = &timeline_memory_ops;
	m->opt = *opt;
	if (m->opt.cap == 0)
		m->opt.cap = 800;
	m->shard_budget = opt->max_bytes / SHARDS;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&m->shards[i].lock, NULL);
		idmap_init(&m->shards[i].map, 64);
	}
	if (opt->union_index)
		m->ix = union_index_new(UNION_INDEX_IDS);
	return &m->base;
}

static void mem_close(struct timelines *t)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	if (!m)
		return;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &m->shards[i];
		struct list *l;
		while ((l = oldest(s)))
			list_free(s, l);
		idmap_deinit(&s->map);
		pthread_mutex_destroy(&s->lock);
	}
	union_index_free(m->ix);
	free(m);
}

static void mem_push(struct timelines *t, uint64_t key, uint64_t id)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	struct shard *s = shard_of(m, key);
	pthread_mutex_lock(&s->lock);
	struct list *l = find(s, key);
	if (l) {
		if (l->complete && m->opt.idle_ttl_ms && now_ms() - l->last_read_ms > m->opt.idle_ttl_ms) {
			list_free(s, l); /* nobody reads it: stop feeding it */
		} else {
			list_insert(m, s, l, id);
			evict_to_budget(m, s, l);
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (m->ix)
		union_index_push(m->ix, key, id);
}

static void mem_remove(struct timelines *t, uint64_t key, uint64_t id)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	struct shard *s = shard_of(m, key);
	pthread_mutex_lock(&s->lock);
	struct list *l = find(s, key);
	if (l) {
		for (uint32_t i = 0; i < l->len; i++) {
			if (l->ids[i] == id) {
				memmove(l->ids + i, l->ids + i + 1, (l->len - i - 1) * sizeof(uint64_t));
				l->len--;
				s->entries--;
				break;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (m->ix)
		union_index_remove(m->ix, id);
}

static void mem_drop(struct timelines *t, uint64_t key)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	struct shard *s = shard_of(m, key);
	pthread_mutex_lock(&s->lock);
	struct list *l = find(s, key);
	if (l)
		list_free(s, l);
	pthread_mutex_unlock(&s->lock);
}

static void mem_begin_build(struct timelines *t, uint64_t key)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	struct shard *s = shard_of(m, key);
	pthread_mutex_lock(&s->lock);
	struct list *l = find(s, key);
	if (l) {
		/* Rebuilding a held list (idle, or stale meta): its ids stay (the
		 * store's are merged in), it answers no reads until finished, and
		 * it counts as just read. */
		l->complete = false;
		l->last_read_ms = now_ms();
		l->referenced = true; /* as a read would */
		lru_touch(&s->lru, &l->lru);
	} else {
		l = xcalloc(1, sizeof(*l));
		l->node.key = key;
		l->last_read_ms = now_ms();
		idmap_insert(&s->map, &l->node);
		lru_push_newest(&s->lru, &l->lru);
		s->bytes += list_bytes(l);
	}
	pthread_mutex_unlock(&s->lock);
	if (m->ix)
		union_index_begin(m->ix, key);
}

static void mem_finish_build(struct timelines *t, uint64_t key, const uint64_t *ids, size_t n,
			     bool truncated, const void *meta, size_t meta_len)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	struct shard *s = shard_of(m, key);
	pthread_mutex_lock(&s->lock);
	struct list *l = find(s, key);
	if (l) { /* (it may have been evicted or dropped meanwhile: then it stays absent) */
		for (size_t i = 0; i < n; i++)
			list_insert(m, s, l, ids[i]);
		if (truncated)
			l->truncated = true;
		s->bytes -= l->meta_len;
		free(l->meta);
		l->meta = NULL;
		l->meta_len = 0;
		if (meta_len) {
			l->meta = xmalloc(meta_len);
			memcpy(l->meta, meta, meta_len);
			l->meta_len = meta_len;
			s->bytes += meta_len;
		}
		l->complete = true;
		l->last_read_ms = now_ms();
		lru_touch(&s->lru, &l->lru);
		evict_to_budget(m, s, l);
	}
	pthread_mutex_unlock(&s->lock);
	if (m->ix)
		union_index_finish(m->ix, key, ids, n, truncated);
}

static int mem_range(struct timelines *t, uint64_t key, const struct store_page *page,
		     uint64_t *out, size_t *n, bool *complete, void **meta, size_t *meta_len)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	struct shard *s = shard_of(m, key);
	/* Only lists that can go idle need the clock (a celebrity's own list
	 * is read once per follower's page, so this is on the hot path). */
	uint64_t now = m->opt.idle_ttl_ms ? now_ms() : 0;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	struct list *l = find(s, key);
	if (!l || !l->complete || (m->opt.idle_ttl_ms && now - l->last_read_ms > m->opt.idle_ttl_ms)) {
		s->misses++;
		pthread_mutex_unlock(&s->lock);
		return TIMELINE_MISS;
	}
	s->hits++;
	if (now)
		l->last_read_ms = now;
	l->referenced = true;

	/* The window is [first, end): ids below `before` and above `after`. */
	uint32_t first = first_below(l, page->before);
	uint32_t end = first_below(l, page->after + 1);
	/* [first, end) is the whole window; a page takes its newest or, for
	 * oldest_first, its oldest `limit`. */
	uint32_t count = end - first;
	if (count > page->limit) {
		if (page->oldest_first)
			first = end - page->limit;
		count = page->limit;
	}
	if (count)
		memcpy(out, l->ids + first, count * sizeof(uint64_t));
	*n = count;
	/* The page is whole unless it wanted more and older ids were cut off. */
	*complete = !(l->truncated && end == l->len && count < page->limit);
	if (page->oldest_first && l->truncated && end == l->len)
		*complete = false; /* the oldest ids after `after` may be gone */
	if (meta) {
		*meta = NULL;
		*meta_len = l->meta_len;
		if (l->meta_len) {
			*meta = xmalloc(l->meta_len);
			memcpy(*meta, l->meta, l->meta_len);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return TIMELINE_OK;
}

static int mem_range_union(struct timelines *t, const uint64_t *keys, size_t nkeys,
			   const struct store_page *page, uint64_t *out, size_t *n)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	*n = 0;
	return m->ix ? union_index_range(m->ix, keys, nkeys, page, out, n) : TIMELINE_MISS;
}

static void mem_stats(struct timelines *t, struct timeline_stats *out)
{
	struct mem_timelines *m = (struct mem_timelines *)t;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &m->shards[i];
		pthread_mutex_lock(&s->lock);
		out->lists += s->map.n;
		out->entries += s->entries;
		out->bytes += s->bytes;
		out->hits += s->hits;
		out->misses += s->misses;
		out->evictions += s->evictions;
		pthread_mutex_unlock(&s->lock);
	}
	if (m->ix)
		out->bytes += union_index_bytes(m->ix);
}

const struct timeline_ops timeline_memory_ops = {
	.name = "memory",
	.open = mem_open,
	.close = mem_close,
	.push = mem_push,
	.remove = mem_remove,
	.drop = mem_drop,
	.begin_build = mem_begin_build,
	.finish_build = mem_finish_build,
	.range = mem_range,
	.range_union = mem_range_union,
	.stats = mem_stats,
};
