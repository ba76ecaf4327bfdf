/*
 * workpool — a fixed set of threads for blocking work.
 *
 * The event loops must never block (docs/architecture.md, "Threads"), so CPU-heavy or blocking
 * work (Argon2id hashing, above all) is handed to a workpool. The queue is
 * bounded: when it is full, workpool_submit refuses, and the caller answers
 * 503 instead of letting a queue grow without limit.
 */
#ifndef CHIRP_UTIL_WORKPOOL_H
#define CHIRP_UTIL_WORKPOOL_H

#include <stddef.h>

#include "util/bqueue.h"

struct work {
	void (*fn)(struct work *w); /* runs on a pool thread */
	struct bqueue_node node;    /* owned by the pool while queued */
	void *thread;               /* set before fn runs: the thread's own state */
};

/* State each pool thread keeps for its jobs (a database connection, say):
 * init(arg) runs on the thread before its first job, deinit(state) as it
 * stops. */
struct workpool_hooks {
	void *(*init)(void *arg);
	void (*deinit)(void *state);
	void *arg;
};

struct workpool;

/* Starts `threads` threads with room for `max_queued` waiting jobs;
 * `hooks` may be NULL (then w->thread is NULL). */
struct workpool *workpool_new(unsigned threads, size_t max_queued,
			      const struct workpool_hooks *hooks);

/* Runs every job already queued, then joins the threads and frees the pool.
 * NULL is a no-op. */
void workpool_free(struct workpool *p);

/* Queues `w`; w->fn(w) runs later on a pool thread and owns `w` from then.
 * Returns 0, or -1 if the queue is full or the pool is stopping (then the
 * caller still owns `w`). */
int workpool_submit(struct workpool *p, struct work *w);

#endif
