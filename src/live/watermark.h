/*
 * watermark — where one live session stands in its reader's feed: which
 * tweets it has passed on, and whether a catch-up (replay) round is due.
 * A small state machine with no I/O, so the rules that make "catch-up then
 * live" lose and repeat nothing are in one place and unit-tested
 * (tests/unit/test_live.c); live/service.c drives it.
 *
 * The rules. Live events need not arrive in id order: one node's fanout
 * thread publishes in commit order, but two nodes posting at once may
 * publish in either order; the cluster's bus puts them back in id order
 * as far as the shared watermark sees, which is not always
 * (docs/architecture.md, "Live order across nodes"). So the session
 * remembers what it passed on instead of trusting the order: `recent` holds the ids above `floor`
 * it passed on, and a tweet is passed on once, if it is above the floor and not in `recent`. U,
 * read from feed_live_upto (timeline/feed.h; in cluster mode feed_live_upto_shared, the same
 * promise for every node's tweets) after the session subscribed, promises that every tweet below U
 * is in the timelines and tweet U is there or still to come live (a tweet whose id was made but not
 * yet recorded anywhere comes live later, whatever its id). So:
 *   - the floor is the start: the resume point (Last-Event-ID), or U for a
 *     session that starts with what comes next; it rises only when
 *     `recent` is full (its smallest id makes room and becomes the floor,
 *     so a tweet that many passed tweets late is dropped, never repeated);
 *   - a round replays the feed's tweets in (cursor, U], oldest first, the
 *     cursor following; once complete the cursor moves to U: a tweet at
 *     or below it that the round did not find comes live;
 *   - a live tweet above the cursor that comes during a round is left to
 *     the feed (its push preceded its publish): this round reads it, or,
 *     above U, the next one, which follows;
 *   - any other live tweet is passed on, unless passed before (late ones,
 *     below the cursor, included); between rounds it moves the cursor up.
 * `resume` is the highest id passed on: a client that reconnects after it
 * is replayed what came after and repeats nothing (the SSE `id:`).
 * Invariants, checked by assert in debug builds: every id passed on is in
 * `recent` or at or below the floor, so none twice; the cursor and U never
 * move back; resume <= cursor, so a replayed tweet is new, and the resume
 * points a client is given never go back.
 */
#ifndef CHIRP_LIVE_WATERMARK_H
#define CHIRP_LIVE_WATERMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ids remembered above the floor: far more than the tweets in flight at
 * once for one reader (1 KiB a session). */
#define LIVE_WATERMARK_RECENT 128

struct live_watermark {
	uint64_t floor;  /* tweets at or below this are not passed on */
	uint64_t cursor; /* rounds read the feed after this */
	uint64_t upto;   /* U of the current (or last) round */
	uint64_t resume; /* the highest id passed on, or the start */
	bool syncing;    /* a round is running */
	bool again;      /* another round must follow this one */
	size_t nrecent;
	uint64_t recent[LIVE_WATERMARK_RECENT]; /* passed on, above the floor; unordered */
};

/* A session that resumes after tweet `after` (Last-Event-ID) starts with a
 * round up to `upto`; with after == 0 it starts at `upto` and replays
 * nothing. `upto` is feed_live_upto read after subscribing. */
void live_watermark_init(struct live_watermark *w, uint64_t after, uint64_t upto);

/* A round is wanted (the reader's follows changed). Starts one bounded by
 * `upto` (read now, after any new subscription), or, if one is running,
 * asks for another after it. */
void live_watermark_resync(struct live_watermark *w, uint64_t upto);

/* A tweet arrived live: true if it is to be passed on (it is then
 * remembered); false if it was passed on before, is at or below the floor,
 * or is left to a round. */
bool live_watermark_live(struct live_watermark *w, uint64_t id);

/* The ids a round still has to read: (*after, *before), exclusive, oldest
 * first. False if nothing is left to read (the round may complete). Only
 * while syncing. */
bool live_watermark_pending(const struct live_watermark *w, uint64_t *after, uint64_t *before);

/* Tweet `id`, read from the feed in the round, is passed on. It cannot
 * have been before: it is above the cursor, and so above every tweet
 * passed on. */
void live_watermark_replayed(struct live_watermark *w, uint64_t id);

/* The round read everything up to its U. Starts the round asked for
 * meanwhile, bounded by `upto` (read now), if any. */
void live_watermark_round_done(struct live_watermark *w, uint64_t upto);

#endif
