/*
 * live_upto_redis — cluster mode's feed_live_upto (timeline/feed.h): one
 * "live up to" watermark shared by every node, in Redis, so a stream that
 * resumes on any node catches up on the tweets every node fanned out
 * (docs/architecture.md, "Replay across nodes").
 *
 * Why not each node's own: a node's watermark only moves with its own
 * fanout thread, so it says nothing of the tweets another node is fanning
 * out, and one number per node does not add up to one for the cluster (the
 * nodes' fanouts run side by side, not in one order). What the stream
 * needs is a bound U with: every tweet at or below U is in the timelines
 * and was published, and every tweet above U is published after U was
 * read. So each tweet is recorded from before its fanout job is queued (on
 * the writer thread, before the post is answered) until the job ends:
 *
 *   "live:upto"     the greatest tweet id recorded (20 digits), and
 *   "live:pending"  the tweets recorded and not yet fanned out: a sorted
 *                   set, member the id's 20 digits, score a deadline (ms,
 *                   Redis's clock) after which a node that died mid-fanout
 *                   no longer holds the others up.
 *
 * Reading U takes "live:upto", then waits until no pending tweet is at or
 * below it. A tweet above U was not recorded when U was read, so its
 * fanout (and publish) comes later: the stream, which subscribed before,
 * hears it live. What this cannot see: a tweet whose id is made but which
 * is not recorded yet (its commit or its record still running on another
 * node) and is smaller than U; the catch-up may read past it, but it is
 * published later, and the stream passes it on then, as a late tweet
 * (live/watermark.h), unless it is below the stream's start (a stream that
 * starts with what comes next starts at U). Every tweet whose post was
 * answered before the read is recorded.
 *
 * Every function blocks on Redis (redis/redis.h): worker threads only.
 */
#ifndef CHIRP_TIMELINE_LIVE_UPTO_REDIS_H
#define CHIRP_TIMELINE_LIVE_UPTO_REDIS_H

#include <stdint.h>

struct redis;

#define LIVE_UPTO_PENDING_MS 10000 /* a recorded tweet holds reads up this long at most */
#define LIVE_UPTO_WAIT_MS 1000     /* a read waits this long at most for pending tweets */

/* Records tweet `id`, about to be queued for fanout: "live:upto" moves up
 * to it and it is pending. Before the job is queued, so that its end
 * (live_upto_redis_done) always comes after. 0, or -1 if Redis did not
 * answer (the caller logs). */
int live_upto_redis_queued(struct redis *r, uint64_t id);

/* Tweet `id`'s fanout job ended (it pushed and published, or found nothing
 * to do): it is pending no more. A failure leaves it pending until its
 * deadline. */
void live_upto_redis_done(struct redis *r, uint64_t id);

/* The shared U into *upto, once no tweet at or below it is pending,
 * waiting up to LIVE_UPTO_WAIT_MS for that. Returns 0; 1 if the wait ran
 * out (a node's fanout is that far behind, or a node died mid-fanout) and
 * *upto is set all the same: a stream bounded by it may miss the tweets
 * still pending, which the caller says in its log; -1 if Redis did not
 * answer (*upto untouched). A "live:upto" that is gone (Redis flushed or
 * restarted) is set again to `seed` (an id made now), as each node takes
 * the clock for its own watermark when it starts. */
int live_upto_redis_read(struct redis *r, uint64_t seed, uint64_t *upto);

/* How far live tweets are known published, for the bus that holds them
 * back until they can go out in id order (pubsub_options.order_bound):
 * *bound is the smallest tweet still pending (every recorded tweet below
 * it is fanned out and published), or, with none pending, "live:upto"
 * (UINT64_MAX if it is gone). 0, or -1 if Redis did not answer. `redis`
 * is the struct redis. */
int live_upto_redis_bound(void *redis, uint64_t *bound);

#endif
