/*
 * feed — the home feed as DESIGN §5 builds it: hybrid fanout.
 *
 * Write side (called on the store's writer thread, after the commit and
 * before the client's answer):
 *   - a new tweet goes into the tweet cache, the author's own timeline, and
 *     the fanout queue, whose thread pushes it into each follower's
 *     timeline; authors with more followers than the celebrity threshold
 *     are not fanned out at all;
 *   - a delete leaves a tombstone in the tweet cache before DELETE returns,
 *     so no read path can show the tweet afterwards;
 *   - a follow or unfollow drops the follower's timeline, whose next read
 *     rebuilds it from the store with the new set of followees.
 *
 * Read side (event loops): a page is the reader's timeline slice, merged
 * with the recent tweets of the celebrities the reader follows, then
 * hydrated from the tweet cache. A timeline that is missing (cold start,
 * evicted, idle, restarted) is rebuilt from the store; a page past the
 * timeline's cap is read from the store. Cost: O(page), plus
 * O(celebrities followed); never a scan of follows or tweets.
 */
#ifndef CHIRP_TIMELINE_FEED_H
#define CHIRP_TIMELINE_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "store/store.h"
#include "timeline/timeline.h"
#include "timeline/tweet_cache.h"
#include "util/strbuf.h"

struct feed_options {
	const struct timeline_ops *timelines; /* adapter */
	unsigned timeline_cap;                /* ids per timeline (800) */
	size_t timeline_bytes;                /* memory for all timelines */
	uint64_t timeline_idle_ms;            /* unread this long: dropped */
	uint64_t celebrity_threshold;         /* more followers: not fanned out */
	size_t tweet_cache_bytes;
	size_t fanout_queue;                  /* jobs waiting before posting slows */
};

struct feed_stats {
	struct timeline_stats timelines;
	struct tweet_cache_stats cache;
	size_t fanout_depth, fanout_capacity;
	uint64_t rebuilds;
	uint64_t store_pages; /* pages read from the store (past the cap) */
};

struct feed;

/* The feed reads the store through readers of its own where it needs to. */
struct feed *feed_new(struct store *store, const struct feed_options *opt);
/* Finishes queued fanout and frees everything. NULL is a no-op. */
void feed_free(struct feed *f);

/* ---- write side (writer thread) ---- */
void feed_on_post(struct feed *f, const struct tweet *t, const char *json, size_t len);
void feed_on_delete(struct feed *f, uint64_t author_id, uint64_t tweet_id);
/* After a follow or unfollow took effect; `followee_followers` is the
 * followee's follower count after it. */
void feed_on_follow(struct feed *f, uint64_t follower_id, uint64_t followee_followers,
		    bool follow);

/* ---- read side (any thread, with that thread's store reader) ---- */

/*
 * The home feed page of `user_id` as a JSON array, appended to `out`.
 * *n is the number of tweets, *newest and *oldest their ids (for Link).
 * Deleted tweets are skipped and the page is filled from further down.
 */
int feed_home(struct feed *f, struct store_reader *r, uint64_t user_id,
	      const struct store_page *page, struct strbuf *out, size_t *n, uint64_t *newest,
	      uint64_t *oldest);

/* Appends the JSON of one tweet; STORE_NOT_FOUND if it does not exist. */
int feed_tweet(struct feed *f, struct store_reader *r, uint64_t id, struct strbuf *out);

void feed_stats(struct feed *f, struct feed_stats *out);

#endif
