/*
 * queue — the port to the background job queue: the store's own jobs table
 * today (queue/store_queue.c), Redis later (docs/architecture.md, ports).
 *
 * Jobs are rows the store commits together with the change that asks for
 * them (store.h: STORE_W_MEDIA_COMPLETE queues a processing job in the same
 * transaction), so a job exists exactly when its reason does, and survives
 * restarts. Workers (media/worker.c) claim due jobs here, run them, and
 * report the outcome as a store write (STORE_W_JOB_FINISH), which removes,
 * reschedules or dead-letters the job. A claim lives only in this process:
 * after a crash the job is due again and runs again, so jobs must be
 * idempotent.
 *
 * The embedded adapter (queue/store_queue.c) polls the store's jobs table;
 * a Redis adapter would block on a list instead.
 */
#ifndef CHIRP_QUEUE_QUEUE_H
#define CHIRP_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct queue_options {
	struct store *store; /* the store adapter keeps its jobs in the store */
	uint64_t poll_ms;    /* how often an idle worker looks (0: 250) */
};

struct queue;

struct queue_ops {
	const char *name;
	struct queue *(*open)(const struct queue_options *opt, struct strbuf *err);
	void (*close)(struct queue *q); /* after every worker has returned */
	/* A job was committed: wake a waiting worker now rather than at the
	 * next poll. Any thread. */
	void (*notify)(struct queue *q);
	/* Waits up to timeout_ms for a due job nobody else holds and claims
	 * it into *job: true. False on timeout or once stopping. */
	bool (*claim)(struct queue *q, struct store_job *job, uint64_t timeout_ms);
	/* Ends a claim, once the job's outcome is committed. */
	void (*release)(struct queue *q, uint64_t job_id);
	/* Makes every claim return false from now on. */
	void (*stop)(struct queue *q);
};

struct queue {
	const struct queue_ops *ops;
};

extern const struct queue_ops queue_store_ops;

#endif
