/*
 * bqueue — a bounded FIFO of intrusive nodes between threads: producers
 * push without waiting, consumers wait for work and take it one at a time
 * or in batches.
 *
 * The store's writer (which takes batches for group commit) and the worker
 * pools share it. Pushing never blocks and never allocates: a full or
 * stopping queue refuses, and the caller answers 503 rather than letting a
 * backlog grow. Stopping lets consumers drain what is queued, then return.
 * (The fanout queue is a different shape on purpose: jobs by value, and a
 * full queue slows the producer down instead of refusing.)
 */
#ifndef CHIRP_UTIL_BQUEUE_H
#define CHIRP_UTIL_BQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* Embed one in each queued item; reach the item with container_of. */
struct bqueue_node {
	struct bqueue_node *next;
};

struct bqueue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct bqueue_node *head, *tail;
	size_t len, max;
	bool stopping;
};

/* Caller-owned storage; `max` items at most (0: one). */
void bqueue_init(struct bqueue *q, size_t max);
void bqueue_deinit(struct bqueue *q);

/* Appends `n`; 0, or -1 if the queue is full or stopping (the caller
 * still owns n). Any thread. */
int bqueue_push(struct bqueue *q, struct bqueue_node *n);

/* Waits for work, then detaches up to `max` nodes, oldest first, as a
 * list ending in NULL, and sets *n to their count. Returns NULL once the
 * queue is stopping and empty. */
struct bqueue_node *bqueue_pop(struct bqueue *q, size_t max, size_t *n);

/* bqueue_pop, waiting at most timeout_ms (0: for ever): NULL on a timeout
 * too, with *stopped (if given) saying whether the queue is done. */
struct bqueue_node *bqueue_pop_wait(struct bqueue *q, size_t max, size_t *n, unsigned timeout_ms,
				    bool *stopped);

/* Refuses further pushes and wakes every waiting consumer. */
void bqueue_stop(struct bqueue *q);

/* Items waiting now. */
size_t bqueue_len(struct bqueue *q);

#endif
