/*
 * tweet_cache — ready-made JSON of tweets, bounded by bytes (DESIGN §5).
 *
 * Hydrating a feed page is mostly copying: each tweet's JSON is rendered
 * once and kept here, keyed by id, with the least recently used evicted
 * to stay under the byte budget. A deleted tweet leaves a tombstone, so a
 * reader that raced the delete cannot put the tweet back: after DELETE
 * returns, the cache answers "deleted" until the tombstone itself ages out,
 * by which time the store answers "not found" anyway.
 *
 * Thread-safe; 64 shards, each under its own mutex.
 */
#ifndef CHIRP_TIMELINE_TWEET_CACHE_H
#define CHIRP_TIMELINE_TWEET_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

enum tweet_cache_result {
	TWEET_CACHE_HIT,     /* the JSON was appended */
	TWEET_CACHE_MISS,    /* not known: read the store */
	TWEET_CACHE_DELETED, /* a tombstone: the tweet is gone */
};

struct tweet_cache_stats {
	uint64_t entries, bytes, hits, misses, evictions;
};

struct tweet_cache;

/* max_bytes of JSON (and bookkeeping) at most. */
struct tweet_cache *tweet_cache_new(size_t max_bytes);
void tweet_cache_free(struct tweet_cache *c);

/* Appends the JSON of tweet `id` to `out` on a hit. */
enum tweet_cache_result tweet_cache_append(struct tweet_cache *c, uint64_t id, struct strbuf *out);

/* Keeps json[0..len) for `id` (copied), unless `id` is known already
 * (a tombstone stays a tombstone). */
void tweet_cache_put(struct tweet_cache *c, uint64_t id, const char *json, size_t len);

/* Replaces whatever is known of `id` by a tombstone. */
void tweet_cache_forget(struct tweet_cache *c, uint64_t id);

void tweet_cache_stats(struct tweet_cache *c, struct tweet_cache_stats *out);

#endif
