/*
 * store_queue — the embedded queue adapter: the store's jobs table, polled.
 *
 * One store reader serves every worker, under the queue's lock (a reader
 * is not thread-safe). Claims are an in-memory list, so two workers never
 * run the same job; see queue.h for what happens after a crash. A store
 * shared by several processes (job_lease) also holds each claimed job
 * for LEASE_MS in the database, so no other process runs it meanwhile,
 * and one whose process died runs again once the lease ends.
 */
#include "queue/queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "util/log.h"
#include "util/timeutil.h"

#define CLAIMS_MAX 64
#define LOOK_AHEAD 16 /* due jobs read per look; claimed ones are skipped */
#define LEASE_MS (5 * 60 * 1000) /* longer than any processing attempt */
#define NOTIFIED_POLL_MS 5000    /* the poll, when the store notifies new jobs */

struct store_queue {
	struct queue base;
	struct store *store;
	struct store_reader *db;
	uint64_t poll_ms;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	uint64_t claimed[CLAIMS_MAX];
	size_t nclaimed;
};

static bool is_claimed(struct store_queue *q, uint64_t id)
{
	for (size_t i = 0; i < q->nclaimed; i++)
		if (q->claimed[i] == id)
			return true;
	return false;
}

static void wait_ms(struct store_queue *q, uint64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (ms % 1000) * 1000000ull;
	ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000ull);
	ts.tv_nsec = (long)(ns % 1000000000ull);
	pthread_cond_timedwait(&q->wake, &q->lock, &ts);
}

static bool sq_claim(struct queue *base, struct store_job *job, uint64_t timeout_ms)
{
	struct store_queue *q = (struct store_queue *)base;
	uint64_t deadline = time_mono_ns() / 1000000 + timeout_ms;
	bool got = false;
	pthread_mutex_lock(&q->lock);
	while (!q->stopping) {
		struct store_job due[LOOK_AHEAD];
		size_t n = 0;
		if (q->nclaimed < CLAIMS_MAX && q->db->ops->job_lease) {
			if (q->db->ops->job_lease(q->db, time_now_ms(), LEASE_MS, job) == STORE_OK) {
				q->claimed[q->nclaimed++] = job->id;
				got = true;
			}
		} else if (q->nclaimed < CLAIMS_MAX &&
			   q->db->ops->job_due(q->db, time_now_ms(), due, LOOK_AHEAD, &n) == STORE_OK) {
			for (size_t i = 0; i < n && !got; i++) {
				if (is_claimed(q, due[i].id))
					continue;
				*job = due[i];
				q->claimed[q->nclaimed++] = due[i].id;
				got = true;
			}
		}
		uint64_t now = time_mono_ns() / 1000000;
		if (got || now >= deadline)
			break;
		/* notify and release signal under the lock we hold: no wake-up
		 * is lost between the look above and this wait. */
		uint64_t left = deadline - now;
		wait_ms(q, left < q->poll_ms ? left : q->poll_ms);
	}
	pthread_mutex_unlock(&q->lock);
	return got;
}

static void sq_release(struct queue *base, uint64_t job_id)
{
	struct store_queue *q = (struct store_queue *)base;
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < q->nclaimed; i++) {
		if (q->claimed[i] == job_id) {
			q->claimed[i] = q->claimed[--q->nclaimed];
			break;
		}
	}
	pthread_cond_signal(&q->wake); /* a job held back by the claim may be due */
	pthread_mutex_unlock(&q->lock);
}

static void sq_notify(struct queue *base)
{
	struct store_queue *q = (struct store_queue *)base;
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

static void woken(void *arg)
{
	sq_notify(arg);
}

static void sq_stop(struct queue *base)
{
	struct store_queue *q = (struct store_queue *)base;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

static struct queue *sq_open(const struct queue_options *opt, struct strbuf *err)
{
	(void)err; /* nothing can fail but memory, which aborts */
	struct store_queue *q = xcalloc(1, sizeof(*q));
	q->base.ops = &queue_store_ops;
	q->store = opt->store;
	q->db = opt->store->ops->reader_new(opt->store);
	q->poll_ms = opt->poll_ms ? opt->poll_ms : 250;
	/* Jobs other processes commit wake us too; the poll stays, slower,
	 * for a notification lost with a connection. */
	if (opt->store->ops->on_new_job) {
		opt->store->ops->on_new_job(opt->store, woken, q);
		q->poll_ms = NOTIFIED_POLL_MS;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	return &q->base;
}

static void sq_close(struct queue *base)
{
	struct store_queue *q = (struct store_queue *)base;
	if (!q)
		return;
	if (q->store->ops->on_new_job)
		q->store->ops->on_new_job(q->store, NULL, NULL);
	q->db->ops->reader_free(q->db);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

const struct queue_ops queue_store_ops = {
	.name = "store",
	.open = sq_open,
	.close = sq_close,
	.notify = sq_notify,
	.claim = sq_claim,
	.release = sq_release,
	.stop = sq_stop,
};
