/*
 * engagement — what a reader did lately (liked, retweeted), kept in memory
 * so that a warm feed page reads nothing from the store
 * (docs/architecture.md, "A read").
 *
 * Per reader: a floor (a tweet id) and every like and retweet of theirs of
 * a tweet at or above it, when there are at most ENGAGEMENT_MAX: a page
 * whose ids are all at or above the floor is answered from it. A page
 * below the floor, or a reader with more, is read from the store as
 * without a cache (feed_viewer_state).
 *
 * Kept true by the reader's own writes: every like, unlike, retweet, undo
 * and tweet delete forgets the writer's entry after its commit, and moves
 * an epoch on first. An entry read from the store is kept only if the
 * epoch did not move between the moment before the read's snapshot was
 * taken and the keeping: so a read that began before a commit is never
 * kept, even for another reader. Sound only where this process makes
 * every such write (struct store.sole_writer), like the session cache.
 *
 * Direct-mapped by user id (a collision replaces), striped locks; any
 * thread.
 */
#ifndef CHIRP_TIMELINE_ENGAGEMENT_H
#define CHIRP_TIMELINE_ENGAGEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENGAGEMENT_MAX 16      /* likes and retweets kept per reader */
#define ENGAGEMENT_SLOTS 65536 /* readers; 11 MiB */

struct engagement_cache;

struct engagement_cache *engagement_cache_new(size_t slots); /* a power of two */
void engagement_cache_free(struct engagement_cache *c);      /* NULL is a no-op */

/* The epoch to keep a read under: take it before the read's snapshot. */
uint64_t engagement_cache_epoch(struct engagement_cache *c);

enum engagement_answer {
	ENGAGEMENT_HIT,  /* state holds the answer */
	ENGAGEMENT_MISS, /* not known: read them (and put what was read) */
	ENGAGEMENT_MANY, /* more than ENGAGEMENT_MAX down to the lowest id: ask
	                  * the store for these ids (viewer_state) */
};

/* The VIEWER_* bits of `user` for each of ids[0..n) into state, if the
 * cache holds the user's engagements down to the lowest of them. */
enum engagement_answer engagement_cache_get(struct engagement_cache *c, uint64_t user,
                                            const uint64_t *ids, size_t n, uint8_t *state);

/* Keeps what `user` did to tweets at or above `floor`: n rows of a tweet
 * id and its VIEWER_* bits (more than ENGAGEMENT_MAX: only that there are
 * too many), read under `epoch`; nothing if the epoch moved since. */
void engagement_cache_put(struct engagement_cache *c, uint64_t user, uint64_t floor,
                          const uint64_t *ids, const uint8_t *bits, size_t n, uint64_t epoch);

/* After a write of `user` that may change what they liked or retweeted. */
void engagement_cache_forget(struct engagement_cache *c, uint64_t user);

/* Pages answered from memory, and those that were not. */
void engagement_cache_stats(struct engagement_cache *c, uint64_t *hits, uint64_t *misses);

#endif
