/*
 * fanout — the bounded queue between a committed tweet and its followers'
 * timelines (docs/architecture.md).
 *
 * The writer thread hands each new tweet here after its commit; one fanout
 * thread takes jobs in order and runs the given function on each. The queue
 * is bounded: when it is full, fanout_enqueue waits, which holds the
 * writer, which slows posting down. Nothing is ever dropped. There is one
 * thread, so jobs run one at a time in the order queued (the live feed
 * relies on it: timeline/feed.h, feed_live_upto).
 */
#ifndef CHIRP_TIMELINE_FANOUT_H
#define CHIRP_TIMELINE_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a job does (timeline/feed.c runs them). Everything that live
 * streams are told goes through this one queue, so it reaches them in
 * commit order. */
enum fanout_kind {
	FANOUT_TWEET,     /* push tweet_id into the followers' timelines */
	FANOUT_DELETE,    /* tell the streams that showed tweet_id it is gone */
	FANOUT_FOLLOWS,   /* author_id's follows changed: tell their streams */
	FANOUT_NOTIFY,    /* author_id has a new notification: tell their streams */
	FANOUT_CELEBRITY, /* author_id crossed the celebrity threshold: tell
			   * their followers' streams */
	FANOUT_AUTHOR,    /* author_id's display name changed: re-render their
			   * cached tweets */
};

struct fanout_job {
	enum fanout_kind kind;
	uint64_t author_id;
	uint64_t tweet_id;
	/* FANOUT_TWEET: the tweet goes to the public channels (it is no
	 * retweet), and its folded tags, each NUL-terminated, the list ended
	 * by an empty one; malloc'd, freed by whoever runs the job; NULL when
	 * it has none. */
	bool is_public;
	char *tags;
};

struct fanout;

/* Starts the thread; run(arg, job) is called for each job, in order. */
struct fanout *fanout_new(size_t capacity, void (*run)(void *arg, const struct fanout_job *job),
			  void *arg);

/* Runs every queued job, stops the thread, frees. NULL is a no-op. */
void fanout_free(struct fanout *f);

/* Queues a job, waiting while the queue is full. Thread-safe. */
void fanout_enqueue(struct fanout *f, const struct fanout_job *job);

/* Jobs waiting now (for metrics and readiness). */
size_t fanout_depth(struct fanout *f);

#endif
