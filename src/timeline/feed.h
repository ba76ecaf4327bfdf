/*
 * feed — the home feed, built by hybrid fanout (docs/architecture.md has
 * where it sits among the services and ports).
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
 * hydrated from the tweet cache (feed_hydrate, which search pages use
 * too). A timeline that is missing (cold start,
 * evicted, idle, restarted) is rebuilt from the store; a page past the
 * timeline's cap is read from the store. Cost: O(page), plus
 * O(celebrities followed); never a scan of follows or tweets.
 *
 * Live events (with a pubsub bus in the options): the fanout thread also
 * tells live streams what enters and leaves feeds (timeline/live.h), in
 * the order of the fanout queue, which is commit order and so id order:
 * for each new tweet it publishes "t <id>" to the author's own feed channel,
 * then, for a normal author, pushes the id into each follower's timeline and
 * publishes it to that follower's channel right after; a celebrity's tweet
 * goes to the author channel once. Deletes and follow changes travel the
 * same queue. That order (one node's: across nodes tweets may be published
 * out of id order, and a stream does not rely on it, live/watermark.h) is
 * what lets a stream catch up from the timelines without a gap or a
 * duplicate (feed_live_upto).
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

struct redis;

struct feed_options {
	const struct timeline_ops *timelines;      /* adapter */
	const struct tweet_cache_ops *tweet_cache; /* adapter */
	unsigned timeline_cap;                     /* ids per timeline (800) */
	size_t timeline_bytes;                     /* memory for all timelines */
	uint64_t timeline_idle_ms;                 /* unread this long: dropped */
	uint64_t celebrity_threshold;              /* more followers: not fanned out */
	size_t tweet_cache_bytes;                  /* the tweet cache's budget */
	size_t fanout_queue;                       /* jobs waiting before posting slows */
	struct pubsub *pubsub;                     /* live events go here; NULL: none */
	struct redis *redis;                       /* the Redis adapters' client; NULL: none */
};

struct feed_stats {
	struct timeline_stats timelines;
	struct tweet_cache_stats cache;
	size_t fanout_depth, fanout_capacity;
	uint64_t rebuilds;
	uint64_t store_pages; /* pages read from the store (past the cap) */
	uint64_t deferred;    /* reads that answered FEED_WOULD_BLOCK */
	/* pages with followed celebrities, merged from the union index in one
	 * walk, or list by list */
	uint64_t merged_from_index, merged_from_lists;
	uint64_t engagement_hits, engagement_misses; /* feed_viewer_state from memory, or not */
};

/* A read told it may not block (an event loop's) met work that would:
 * a timeline to rebuild from the store, or a page past a timeline's cap.
 * Nothing was answered; the caller runs the read again where it may
 * block (api_read moves it to a worker). Never a store code. */
#define FEED_WOULD_BLOCK (-100)

struct feed;

/* Opens the timelines and the tweet cache from the adapters `opt` names.
 * The feed reads the store through readers of its own where it needs to.
 * NULL, with the reason in `err`, if an adapter cannot be opened. */
struct feed *feed_new(struct store *store, const struct feed_options *opt, struct strbuf *err);
/* Finishes queued fanout and frees everything. NULL is a no-op. */
void feed_free(struct feed *f);

/* ---- write side (writer thread) ---- */
void feed_on_post(struct feed *f, const struct tweet *t, const char *json, size_t len);
void feed_on_delete(struct feed *f, uint64_t author_id, uint64_t tweet_id);
/* After a write changed a tweet's counts (a like, a reply made or deleted):
 * `t` as the store has it now replaces its cached JSON. */
void feed_on_counts(struct feed *f, const struct tweet *t);
/* After a user's display name changed: their newest tweets (a timeline's
 * cap of them) that are in the tweet cache are rendered again from the
 * store, on the fanout thread, so they show the new name within moments. */
void feed_on_author_renamed(struct feed *f, uint64_t user_id);
/* After a follow or unfollow took effect; `followee_followers` is the
 * followee's follower count after it. */
void feed_on_follow(struct feed *f, uint64_t follower_id, uint64_t followee_id,
		    uint64_t followee_followers, bool follow);

/* After `user` muted, unmuted or unblocked someone: their live streams
 * read their relations again (as after a follow). */
void feed_on_relation(struct feed *f, uint64_t user);
/* After a write notified `user`: their live streams read what is new, in
 * the order of the fanout queue. */
void feed_on_notified(struct feed *f, uint64_t user);
/* After a write of `user` that may change what they liked or retweeted (a
 * like, unlike, retweet, undo or tweet delete). */
void feed_on_engaged(struct feed *f, uint64_t user);

/* ---- read side (any thread, with that thread's store reader) ---- */

/*
 * The home feed page of `user_id` as a JSON array, appended to `out`.
 * *n is the number of tweets, *newest and *oldest their ids (for Link);
 * *oldest is the lowest id looked at, shown or not, so the next page starts
 * below what this one left out, and is set (with *n 0 and *newest 0) when
 * every tweet looked at was left out: the feed goes on below it. Deleted
 * and hidden tweets are skipped and the page is filled from further down.
 * has_relations is the reader's struct session.has_relations: false skips
 * the read of whom the reader blocks and mutes. Unless may_block, a page
 * that needs a timeline rebuilt or the store paged answers
 * FEED_WOULD_BLOCK instead, with `out` to be discarded.
 */
int feed_home(struct feed *f, struct store_reader *r, uint64_t user_id, bool has_relations,
	      const struct store_page *page, bool may_block, struct strbuf *out, size_t *n,
	      uint64_t *newest, uint64_t *oldest);

/*
 * Reader state. Every Tweet is the shared JSON of the tweet cache with the
 * reader's own fields spliced in (core/render.h: render_tweet_viewer), so
 * the cache stays shared by all readers. `viewer` is the reading user, 0
 * for an anonymous reader (who has liked nothing: no store read). A
 * hydrated page reads the viewer's state of all its ids in one batched
 * store read (store_ops.viewer_state), never one per tweet.
 *
 * A retweet is cached as its head (core/render.h) and hydrated with its
 * original's own entry, so it shows the original's counts as they are
 * and is gone with the original: a deleted original's tombstone (or the
 * store) makes every retweet of it answer STORE_NOT_FOUND.
 */

/* What `viewer` did to each of ids[0..n) (VIEWER_* bits); all 0, without
 * a read, for 0. From memory when the store is this process's alone and
 * the viewer's recent engagements are few (timeline/engagement.h). */
int feed_viewer_state(struct feed *f, struct store_reader *r, uint64_t viewer,
		      const uint64_t *ids, size_t n, uint8_t *state);
/*
 * Blocks and mutes. Whom a viewer does not see: the users they block, the
 * users who block them, and (in the feed and stream, not in search or a
 * thread) the users they mute. Read once per page (one store query,
 * store_ops.relations), then looked up per tweet by its author.
 */
struct feed_hidden {
	struct store_relation *rel; /* sorted by id */
	size_t n;
};
/* Reads `viewer`'s relations into *h (empty for 0, without a read). */
int feed_hidden_read(struct store_reader *r, uint64_t viewer, struct feed_hidden *h);
/* The REL_* bits of `user` for the viewer of h (0: nothing between them). */
unsigned feed_hidden_bits(const struct feed_hidden *h, uint64_t user);
void feed_hidden_deinit(struct feed_hidden *h);
/* Whether `user` blocks `viewer` (false for viewer 0): the blocker's
 * profile and tweets are then not found for the viewer. */
int feed_blocked_by(struct store_reader *r, uint64_t viewer, uint64_t user, bool *blocked);

/* Appends the JSON of one tweet as `viewer` sees it, from the tweet cache
 * or else the store (and then caches the shared part); STORE_NOT_FOUND if
 * it does not exist or its author blocks the viewer, and then nothing is
 * appended. */
int feed_tweet_for(struct feed *f, struct store_reader *r, uint64_t viewer, uint64_t id,
		   struct strbuf *out);

/* One tweet's shared JSON with the viewer state (VIEWER_* bits) spliced in, from
 * the tweet cache or else the store; no block check (the caller's reads
 * have done it). STORE_NOT_FOUND, and nothing appended, if it is gone. */
int feed_tweet_as(struct feed *f, struct store_reader *r, uint64_t id, unsigned state,
		  struct strbuf *out);

/* feed_tweet_for with no viewer (liked false): what the live stream sends,
 * since a stream's events are hydrated without a per-reader read. */
int feed_tweet(struct feed *f, struct store_reader *r, uint64_t id, struct strbuf *out);

/* feed_tweet from the tweet cache alone, never the store, so an event
 * loop may call it whatever the store: true if the cache knows the tweet,
 * and then *rc is STORE_OK (its JSON appended) or STORE_NOT_FOUND
 * (deleted, nothing appended); false on a miss (nothing appended), when
 * only feed_tweet can tell. Always false with a remote cache (Redis),
 * whose lookup is itself a network wait. */
bool feed_tweet_cached(struct feed *f, uint64_t id, struct strbuf *out, int *rc);

/*
 * Where the ids of a hydrated page come from (feed_hydrate): a home
 * timeline, a search index.
 *
 * next(arg, want, ids, &n) reads at most `want` ids into ids[0..n), in
 * page order. The first call gives the top of the page; each later call
 * gives what comes right after the ids of the call before, or n = 0 if the
 * source cannot go on. Returns STORE_OK or a store error.
 *
 * gone(arg, id): a tweet the source gave does not exist any more (deleted,
 * and the source has not caught up); the source may forget it. May be NULL.
 */
struct feed_id_source {
	int (*next)(void *arg, size_t want, uint64_t *ids, size_t *n);
	void (*gone)(void *arg, uint64_t id);
	void *arg;
	uint64_t hide_retweets_of; /* retweets of this user's tweets are left out; 0: none */
	bool show_muted; /* a search or a thread: only blocks hide tweets, not mutes */
	bool no_relations; /* the viewer is known to block, mute and be blocked by
			    * nobody (struct session.has_relations): not read */
	/* A refill may read a whole page of ids and leave the ones after the
	 * page's last item unseen: the source is not read again after the page
	 * (the next page starts from `floor`). */
	bool refill_whole;
};

/* What feed_hydrate appended. */
struct feed_hydrated {
	size_t n;                /* tweets */
	uint64_t newest, oldest; /* their highest and lowest ids (for Link); 0 if none */
	uint64_t floor;          /* the lowest id the source gave, shown or left out
				  * (deleted, hidden); 0 if none: where a next page
				  * starts, so hidden tweets are not read again */
};

/*
 * Appends a JSON array of at most `limit` tweets to `out`: the ids `src`
 * gives, each hydrated as feed_tweet does. A tweet that is gone is left
 * out, `src->gone` is told, and the page is refilled from further down the
 * source; so is a tweet the page has already (as itself or in a retweet:
 * a page shows each tweet once, the newest item that carries it) (at most 4 reads of the source, so a page full of deleted tweets
 * ends short rather than scanning on; with `refill_whole`, each refill reads
 * a whole page of ids). Each tweet is as `viewer` sees it,
 * from one batched read of the viewer's state per read of the source (one
 * per page unless deletes made it refill). Tweets of authors the viewer
 * does not see (feed_hidden) are left out and refilled the same way, from
 * one read of the viewer's relations per call. Returns STORE_OK, or the first store
 * error, in which case `out` holds a partial array the caller discards.
 */
int feed_hydrate(struct feed *f, struct store_reader *r, uint64_t viewer,
		 const struct feed_id_source *src, size_t limit, struct strbuf *out,
		 struct feed_hydrated *res);

void feed_stats(struct feed *f, struct feed_stats *out);

/* ---- for live streams (live/service.c) ---- */

/* The ids of a page of the home feed, newest first, not hydrated: deleted
 * tweets may be among them (feed_tweet then answers STORE_NOT_FOUND). */
int feed_home_ids(struct feed *f, struct store_reader *r, uint64_t user_id,
		  const struct store_page *page, uint64_t *out, size_t *n);

/* The celebrities `user_id` follows (their tweets come on author channels),
 * into a malloc'd array the caller frees. */
int feed_celebrities(struct feed *f, struct store_reader *r, uint64_t user_id, uint64_t **ids,
		     size_t *n);

/*
 * The id of the newest tweet whose fanout job has started. Every tweet job
 * before it has finished; that one may be running. A stream that read this
 * value after subscribing to its channels (call it U) therefore knows:
 * every tweet with an id below U reached the timelines and was published
 * before this read, so a catch-up that reads the feed after it finds each
 * one that is in the feed; tweet U reaches the stream either in that
 * catch-up or live afterwards (its push precedes its publish), never both
 * missed; and every later tweet arrives live. See live/watermark.h.
 */
uint64_t feed_live_upto(struct feed *f);

/* Whether the watermark is the cluster's (--redis): every node's fanout
 * moves it, so a stream may resume on any node. Then it is read with
 * feed_live_upto_shared, never feed_live_upto (this node's alone). */
bool feed_live_upto_is_shared(struct feed *f);

/*
 * Cluster mode's feed_live_upto, with the same promise for the tweets
 * that every node fans out (timeline/live_upto_redis.h has how): blocks on
 * Redis, waiting up to LIVE_UPTO_WAIT_MS for fanouts at or below it to end
 * (worker threads only). With Redis unreachable, an id made now, as a node
 * takes at start: Redis's live events are gone too, streams end (or catch
 * up from the store) and catch up again when it is back.
 */
uint64_t feed_live_upto_shared(struct feed *f);

/* Registers the feed's effects of committed writes (timeline/feed_writes.c):
 * posts, deletes, follows and unfollows, and the counts that likes and
 * replies change. */
struct writes;
void feed_follow_writes(struct feed *f, struct writes *ws);

#endif
