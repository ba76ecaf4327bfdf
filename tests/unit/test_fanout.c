/*
 * test_fanout — unit tests for timeline/fanout (the bounded job queue
 * between committed tweets and followers' timelines).
 *
 * Covers the promises in fanout.h: jobs run in the order they were queued,
 * all on one thread that is not the caller's; fanout_free runs every job
 * still queued before it returns; a full queue makes fanout_enqueue wait
 * (backpressure) instead of dropping, and every job then runs exactly
 * once; fanout_depth counts the jobs waiting, not the one running.
 *
 * The blocking tests use a gate: run() stops on the first job until the
 * test opens the gate, so the queue's state is known while it waits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeline/fanout.h"

#define MAX_JOBS 2000

/* What run() saw, and the gate it may stop at. */
struct recorder {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool gated; /* run() waits on the first job until the gate opens */
	bool open;
	bool started; /* run() has begun its first job */
	size_t n;
	uint64_t tweet[MAX_JOBS];
	uint64_t author[MAX_JOBS];
	pthread_t thread[MAX_JOBS];
};

static void rec_init(struct recorder *r, bool gated)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->gated = gated;
}

static void rec_deinit(struct recorder *r)
{
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
}

static void run(void *arg, const struct fanout_job *job)
{
	struct recorder *r = arg;
	pthread_mutex_lock(&r->lock);
	if (r->n < MAX_JOBS) {
		r->tweet[r->n] = job->tweet_id;
		r->author[r->n] = job->author_id;
		r->thread[r->n] = pthread_self();
	}
	r->n++;
	r->started = true;
	pthread_cond_broadcast(&r->cond);
	while (r->gated && !r->open)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

static void rec_wait_started(struct recorder *r)
{
	pthread_mutex_lock(&r->lock);
	while (!r->started)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

static void rec_open(struct recorder *r)
{
	pthread_mutex_lock(&r->lock);
	r->open = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static size_t rec_count(struct recorder *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void enqueue(struct fanout *f, uint64_t author, uint64_t tweet)
{
	struct fanout_job job = {.author_id = author, .tweet_id = tweet};
	fanout_enqueue(f, &job);
}

/* ---- order ----------------------------------------------------------------- */

static void test_fifo_on_one_thread(void **state)
{
	(void)state;
	struct recorder *r = malloc(sizeof(*r));
	assert_non_null(r);
	rec_init(r, false);
	struct fanout *f = fanout_new(8, run, r); /* small: the queue wraps many times */
	for (uint64_t i = 0; i < MAX_JOBS; i++)
		enqueue(f, 1000 + i, i + 1);
	fanout_free(f);

	assert_int_equal(r->n, MAX_JOBS);
	for (size_t i = 0; i < MAX_JOBS; i++) {
		assert_int_equal(r->tweet[i], i + 1);
		assert_int_equal(r->author[i], 1000 + i);
		assert_true(pthread_equal(r->thread[i], r->thread[0]));
	}
	assert_false(pthread_equal(r->thread[0], pthread_self()));
	rec_deinit(r);
	free(r);
}

/* ---- fanout_free drains ------------------------------------------------------ */

struct opener {
	struct recorder *r;
	long delay_ms;
};

static void *open_later(void *p)
{
	struct opener *o = p;
	sleep_ms(o->delay_ms);
	rec_open(o->r);
	return NULL;
}

static void test_free_runs_every_queued_job(void **state)
{
	(void)state;
	struct recorder *r = malloc(sizeof(*r));
	assert_non_null(r);
	rec_init(r, true);
	struct fanout *f = fanout_new(64, run, r);
	for (uint64_t i = 1; i <= 20; i++)
		enqueue(f, 1, i);
	rec_wait_started(r);
	assert_int_equal(fanout_depth(f), 19);

	/* The gate opens only once fanout_free is waiting: it is asked to
	 * stop with 19 jobs still queued, and must run them all first. */
	struct opener o = {r, 50};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, open_later, &o), 0);
	fanout_free(f);
	assert_int_equal(rec_count(r), 20);
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(r->tweet[i], i + 1);
	pthread_join(th, NULL);

	/* NULL is a no-op; an idle queue stops at once. */
	fanout_free(NULL);
	rec_deinit(r);
	rec_init(r, false);
	fanout_free(fanout_new(4, run, r));
	assert_int_equal(r->n, 0);
	rec_deinit(r);
	free(r);
}

/* ---- backpressure ------------------------------------------------------------ */

struct producer {
	struct fanout *f;
	uint64_t tweet;
	atomic_bool returned;
};

static void *produce(void *p)
{
	struct producer *pr = p;
	enqueue(pr->f, 7, pr->tweet);
	atomic_store(&pr->returned, true);
	return NULL;
}

static void test_full_queue_blocks_and_drops_nothing(void **state)
{
	(void)state;
	struct recorder *r = malloc(sizeof(*r));
	assert_non_null(r);
	rec_init(r, true);
	struct fanout *f = fanout_new(1, run, r);

	enqueue(f, 7, 1);
	rec_wait_started(r); /* job 1 is running (and held at the gate) */
	enqueue(f, 7, 2);    /* job 2 fills the queue */
	assert_int_equal(fanout_depth(f), 1);

	struct producer pr = {.f = f, .tweet = 3};
	atomic_init(&pr.returned, false);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, produce, &pr), 0);
	sleep_ms(100);
	assert_false(atomic_load(&pr.returned)); /* waiting, not dropped */
	assert_int_equal(fanout_depth(f), 1);
	assert_int_equal(rec_count(r), 1);

	rec_open(r);
	pthread_join(th, NULL);
	assert_true(atomic_load(&pr.returned));
	fanout_free(f);

	assert_int_equal(r->n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(r->tweet[i], i + 1);
	rec_deinit(r);
	free(r);
}

/* ---- depth ------------------------------------------------------------------- */

static void test_depth_counts_waiting_jobs(void **state)
{
	(void)state;
	struct recorder *r = malloc(sizeof(*r));
	assert_non_null(r);
	rec_init(r, true);
	struct fanout *f = fanout_new(8, run, r);
	assert_int_equal(fanout_depth(f), 0);

	enqueue(f, 1, 1);
	rec_wait_started(r);
	assert_int_equal(fanout_depth(f), 0); /* the running job is not waiting */
	for (uint64_t i = 2; i <= 6; i++) {
		enqueue(f, 1, i);
		assert_int_equal(fanout_depth(f), i - 1);
	}

	rec_open(r);
	fanout_free(f);
	assert_int_equal(r->n, 6);
	rec_deinit(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_on_one_thread),
	    cmocka_unit_test(test_free_runs_every_queued_job),
	    cmocka_unit_test(test_full_queue_blocks_and_drops_nothing),
	    cmocka_unit_test(test_depth_counts_waiting_jobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
