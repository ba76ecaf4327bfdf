/*
 * fanout — the bounded queue between a committed tweet and its followers'
 * timelines (DESIGN §5).
 *
 * The writer thread hands each new tweet here after its commit; one fanout
 * thread takes jobs in order and runs the given function on each. The queue
 * is bounded: when it is full, fanout_enqueue waits, which holds the
 * writer, which slows posting down. Nothing is ever dropped.
 */
#ifndef CHIRP_TIMELINE_FANOUT_H
#define CHIRP_TIMELINE_FANOUT_H

#include <stddef.h>
#include <stdint.h>

struct fanout_job {
	uint64_t author_id;
	uint64_t tweet_id;
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
