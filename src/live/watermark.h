/*
 * watermark — where one live session stands in its reader's feed: which
 * tweets it has passed on, and whether a catch-up (replay) round is due.
 * A small state machine with no I/O, so the rules that make "catch-up then
 * live" lose and repeat nothing are in one place and unit-tested
 * (tests/unit/test_live.c); live/service.c drives it.
 *
 * The rules. Events for one session arrive in id order, because the fanout
 * thread publishes every tweet in commit order (one node's; across nodes
 * see docs/architecture.md's left-to-do list). U, read from
 * feed_live_upto (timeline/feed.h; in cluster mode feed_live_upto_shared,
 * the same promise for every node's tweets) after the session subscribed,
 * promises that every tweet below U is in the timelines and tweet U is
 * there or still to come live. So:
 *   - the cursor is the watermark: a live tweet at or below it is dropped,
 *     a newer one is passed on and becomes the cursor;
 *   - a round replays the feed's tweets in (cursor, U], oldest first, each
 *     becoming the cursor; once complete the cursor moves to U - 1 (or
 *     stays at U if U itself was replayed): every tweet at or below it was
 *     replayed or is not in the feed;
 *   - a live tweet that comes during a round is dropped and another round
 *     follows, which finds it in the timelines (its push preceded its
 *     publish).
 * Invariants, checked by assert in debug builds: the cursor never moves
 * back; the tweets passed on have strictly increasing ids; a replayed tweet
 * lies in (cursor, U]; U never moves back.
 */
#ifndef CHIRP_LIVE_WATERMARK_H
#define CHIRP_LIVE_WATERMARK_H

#include <stdbool.h>
#include <stdint.h>

struct live_watermark {
	uint64_t cursor; /* tweets at or below this are not passed on */
	uint64_t upto;   /* U of the current (or last) round */
	uint64_t passed; /* the last tweet id passed on; 0: none yet */
	bool syncing;    /* a round is running */
	bool again;      /* another round must follow this one */
};

/* A session that resumes after tweet `after` (Last-Event-ID) starts with a
 * round up to `upto`; with after == 0 it starts at `upto` and replays
 * nothing. `upto` is feed_live_upto read after subscribing. */
void live_watermark_init(struct live_watermark *w, uint64_t after, uint64_t upto);

/* A round is wanted (the reader's follows changed). Starts one bounded by
 * `upto` (read now, after any new subscription), or, if one is running,
 * asks for another after it. */
void live_watermark_resync(struct live_watermark *w, uint64_t upto);

/* A tweet arrived live: true if it is to be passed on (it is then the
 * cursor); false if the cursor covers it or a round is running. */
bool live_watermark_live(struct live_watermark *w, uint64_t id);

/* The ids a round still has to read: (*after, *before), exclusive, oldest
 * first. False if nothing is left to read (the round may complete). Only
 * while syncing. */
bool live_watermark_pending(const struct live_watermark *w, uint64_t *after, uint64_t *before);

/* Tweet `id`, read from the feed in the round, is passed on. */
void live_watermark_replayed(struct live_watermark *w, uint64_t id);

/* The round read everything up to its U. Starts the round asked for
 * meanwhile, bounded by `upto` (read now), if any. */
void live_watermark_round_done(struct live_watermark *w, uint64_t upto);

#endif
