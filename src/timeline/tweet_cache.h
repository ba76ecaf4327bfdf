/*
 * tweet_cache — the port to ready-made JSON of tweets, keyed by id
 * (docs/architecture.md, "Ports").
 *
 * Hydrating a feed or search page is mostly copying: each tweet's JSON is
 * rendered once and kept in the cache, so a page read costs a lookup per
 * tweet instead of a store read and a render. The feed (timeline/feed.c)
 * is the only user; it opens one cache from the adapter its options name.
 * The in-memory adapter (tweet_cache_memory.c) is the embedded default; a
 * Redis adapter plugs in behind the same ops, which is why the contract
 * copies bytes into the caller's buffer and never hands out pointers into
 * the cache.
 *
 * Deletes are part of the contract: mark_deleted leaves a tombstone, and a
 * put never replaces what is known of an id (a tweet or a tombstone). So a
 * reader that read the tweet from the store just before it was deleted
 * cannot put it back: after DELETE returns, the cache answers "deleted"
 * until the tombstone ages out, by which time the store answers "not
 * found" anyway.
 *
 * The cache is derived data and may forget anything at any time (the
 * memory adapter evicts entries not read lately to stay under its byte
 * budget); the store stays the truth. Every op may be called from any
 * thread.
 */
#ifndef CHIRP_TIMELINE_TWEET_CACHE_H
#define CHIRP_TIMELINE_TWEET_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

struct redis;

struct tweet_cache_options {
	size_t max_bytes;    /* JSON and bookkeeping held at most (memory) */
	struct redis *redis; /* the Redis adapter's client (redis/redis.h) */
};

enum tweet_cache_result {
	TWEET_CACHE_HIT,     /* the JSON was appended */
	TWEET_CACHE_MISS,    /* not known (or the cache cannot tell): read the store */
	TWEET_CACHE_DELETED, /* a tombstone: the tweet is gone */
};

struct tweet_cache_stats {
	uint64_t entries; /* tweets and tombstones held now */
	uint64_t bytes;   /* memory held now */
	uint64_t hits, misses, evictions;
};

struct tweet_cache;

struct tweet_cache_ops {
	const char *name;
	/* A lookup crosses the network: never call it on an event loop. */
	bool remote;
	/* NULL, with the reason in `err`, if the cache cannot be opened. */
	struct tweet_cache *(*open)(const struct tweet_cache_options *opt, struct strbuf *err);
	/* Frees everything. NULL is a no-op. */
	void (*close)(struct tweet_cache *c);

	/* On a hit, appends (copies) the JSON of tweet `id` to `out`; appends
	 * nothing otherwise. An adapter that cannot reach its backend answers
	 * MISS: the caller then reads the store, which is the truth. */
	enum tweet_cache_result (*get)(struct tweet_cache *c, uint64_t id, struct strbuf *out);

	/* Optional (NULL: nothing to do): a hint that get will soon be asked
	 * for each of ids[0..n), as for a page's tweets. The memory adapter
	 * starts all their loads at once, so that the page's cache misses
	 * overlap rather than come one after another. Changes nothing. */
	void (*prefetch)(struct tweet_cache *c, const uint64_t *ids, size_t n);

	/* Keeps a copy of json[0..len) for `id`, unless `id` is known already
	 * (a tombstone stays a tombstone; a tweet is never overwritten).
	 * Best effort: a cache that cannot keep it drops it. */
	void (*put)(struct tweet_cache *c, uint64_t id, const char *json, size_t len);

	/* Keeps a copy of json[0..len) for `id` in place of what is known of
	 * it, unless that is a tombstone: a tweet's counts changed (a like, a
	 * reply), and the writer's fresh rendering wins over any older one. A
	 * reader that read the store before the change and puts afterwards is
	 * ignored, as with put. Best effort. */
	void (*replace)(struct tweet_cache *c, uint64_t id, const char *json, size_t len);

	/* Replaces whatever is known of `id` by a tombstone, before returning:
	 * from then on get answers DELETED (or MISS once the tombstone is
	 * evicted) and put is ignored. Returns 0, or a negative value if the
	 * tombstone could not be stored (a backend out of reach): the caller
	 * logs it, and an adapter that can fail so must bound how long an
	 * entry lives (a TTL), since that is how long the tweet may still
	 * show. The memory adapter never fails. */
	int (*mark_deleted)(struct tweet_cache *c, uint64_t id);

	void (*stats)(struct tweet_cache *c, struct tweet_cache_stats *out);
};

struct tweet_cache {
	const struct tweet_cache_ops *ops;
};

extern const struct tweet_cache_ops tweet_cache_memory_ops;
extern const struct tweet_cache_ops tweet_cache_redis_ops;

#endif
