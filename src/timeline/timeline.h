/*
 * timeline — the port to precomputed lists of tweet ids
 * (docs/architecture.md, "Ports").
 *
 * A timeline is a capped list of tweet ids, newest first, kept under a key
 * (a user id). The feed keeps two sets of them: every reader's home
 * timeline, filled by fanout on write, and the own-tweets list of each
 * celebrity, merged in at read time. The in-memory adapter (memory.c) is
 * the embedded default; a Redis adapter plugs in behind the same ops.
 *
 * A list is either held or not. Pushes to a list that is not held are
 * dropped: an absent list is rebuilt from the store on its next read, and
 * the store has everything. Building is two steps so that no push is lost
 * while the store is being read: begin_build makes an empty list (or keeps
 * a held one) that already collects pushes, then finish_build merges the
 * ids read from the store into it and marks it complete. Only complete
 * lists answer reads.
 *
 * Each list also carries a small opaque `meta` blob, set when it is built
 * (the feed keeps there the celebrities the reader follows).
 */
#ifndef CHIRP_TIMELINE_TIMELINE_H
#define CHIRP_TIMELINE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/strbuf.h"

struct redis;

struct timeline_options {
	unsigned cap;            /* ids kept per list (800) */
	size_t max_bytes;        /* memory for all lists; least recently read go first */
	uint64_t idle_ttl_ms;    /* a list unread this long is dropped, not fed */
	struct redis *redis;     /* the Redis adapter's client (redis/redis.h) */
	const char *name;        /* the Redis adapter's key prefix: "home", "authored" */
	bool union_index;        /* also answer range_union (the memory adapter) */
};

enum {
	TIMELINE_OK = 0,
	TIMELINE_MISS = -1, /* not held, not complete, or idle too long: rebuild */
};

struct timeline_stats {
	uint64_t lists;   /* held now */
	uint64_t entries; /* ids held now */
	uint64_t bytes;   /* memory held now */
	uint64_t hits, misses, evictions;
};

struct timelines;

struct timeline_ops {
	const char *name;
	/* NULL, with the reason in `err`, if the lists cannot be opened. */
	struct timelines *(*open)(const struct timeline_options *opt, struct strbuf *err);
	/* Frees every list. NULL is a no-op. */
	void (*close)(struct timelines *t);

	/* Adds tweet_id to the list of `key`, if that list is held. */
	void (*push)(struct timelines *t, uint64_t key, uint64_t tweet_id);
	/* Removes tweet_id from the list of `key`, if there. */
	void (*remove)(struct timelines *t, uint64_t key, uint64_t tweet_id);
	/* Forgets the list of `key`: its next read rebuilds it. */
	void (*drop)(struct timelines *t, uint64_t key);

	void (*begin_build)(struct timelines *t, uint64_t key);
	/* ids: newest first. `truncated`: the store has older ids than these.
	 * meta (copied) replaces the list's meta. */
	void (*finish_build)(struct timelines *t, uint64_t key, const uint64_t *ids, size_t n,
			     bool truncated, const void *meta, size_t meta_len);

	/*
	 * Reads the ids of the page, newest first, into out[0..page->limit).
	 * *complete is false when the page may go on below the oldest id held
	 * (the list was capped): the caller must read that page from the store.
	 * If meta is not NULL, the list's meta is copied into a malloc'd *meta
	 * (caller frees) and its length into *meta_len.
	 */
	int (*range)(struct timelines *t, uint64_t key, const struct store_page *page,
		     uint64_t *out, size_t *n, bool *complete, void **meta, size_t *meta_len);

	/*
	 * The page of the union of the lists of keys[0..nkeys), without
	 * duplicates, newest first, into out[0..page->limit), read from one
	 * structure with no lock: TIMELINE_OK only when it is exactly what
	 * reading each list and merging them would give; else TIMELINE_MISS
	 * (a list not built yet, a page reaching older ids than it holds),
	 * and the caller reads the lists one by one. It builds nothing. NULL,
	 * or opened without `union_index`: always read the lists.
	 */
	int (*range_union)(struct timelines *t, const uint64_t *keys, size_t nkeys,
			   const struct store_page *page, uint64_t *out, size_t *n);

	/* One rebuild of a list at a time across nodes (cluster mode). Before
	 * rebuilding, the feed claims the list: false if another node holds
	 * the claim (it is reading the store for the same list), and the feed
	 * then waits while `building` is true and reads the list again. A
	 * claim ends with finish_build or drop, or after a few seconds (a
	 * node that died mid-build). NULL: no claims (one process). */
	bool (*claim_build)(struct timelines *t, uint64_t key);
	bool (*building)(struct timelines *t, uint64_t key);

	/* The celebrity epoch (timeline/feed.c), where every node sees it:
	 * a shared adapter keeps it beside the lists, so a crossing seen by
	 * one node makes every node's lists built before it stale for any
	 * read that starts after it (the Redis adapter reads it with the
	 * list, in the same script). NULL: the feed keeps its own, in
	 * process. */
	uint32_t (*epoch)(struct timelines *t);
	void (*bump_epoch)(struct timelines *t);

	/* False while the lists cannot be reached (a networked adapter's
	 * backend is down): the feed then reads the store. NULL: always. */
	bool (*available)(struct timelines *t);

	void (*stats)(struct timelines *t, struct timeline_stats *out);
};

struct timelines {
	const struct timeline_ops *ops;
};

extern const struct timeline_ops timeline_memory_ops;
extern const struct timeline_ops timeline_redis_ops;

#endif
