/*
 * test_id — unit tests for util/id (snowflake ids).
 *
 * Ids are cursors and timestamps at once, so the properties users notice
 * are: an id gives back the millisecond it was made in, a generator never
 * hands out the same id twice or an id smaller than a previous one (even
 * when several threads share it), the node bits survive, and id_parse takes
 * exactly the decimal forms the API documents and nothing else.
 *
 * Not covered: the "clock stepped backwards" branch of idgen_next. The
 * generator reads the wall clock through time_now_ms(), which the test
 * binary links from the real timeutil.o, so there is no seam to fake a
 * clock going back without touching src/ or the Makefile.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/id.h"
#include "util/timeutil.h"

#define SEQ_MASK ((1u << ID_SEQ_BITS) - 1)

static uint32_t node_of(uint64_t id)
{
	return (uint32_t)(id >> ID_SEQ_BITS) & ID_MAX_NODE;
}

/* ---- id_make / id_unix_ms ---------------------------------------------- */

static void test_make_round_trip(void **state)
{
	(void)state;
	/* The epoch itself, a recent instant, and the last millisecond that
	 * fits in 41 bits (2089). */
	const uint64_t ms[] = {
	    CHIRP_EPOCH_MS,
	    CHIRP_EPOCH_MS + 1,
	    1764355115123ULL, /* 2025-11-28T18:38:35.123Z */
	    CHIRP_EPOCH_MS + (1ULL << 41) - 1,
	};
	const uint32_t nodes[] = {0, 1, 513, ID_MAX_NODE};
	const uint32_t seqs[] = {0, 1, 2048, SEQ_MASK};
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		for (size_t j = 0; j < sizeof(nodes) / sizeof(nodes[0]); j++) {
			for (size_t k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
				uint64_t id = id_make(ms[i], nodes[j], seqs[k]);
				assert_int_equal(id_unix_ms(id), ms[i]);
				assert_int_equal(node_of(id), nodes[j]);
				assert_int_equal(id & SEQ_MASK, seqs[k]);
				/* The top bit stays clear: ids fit in a signed
				 * 64-bit column and in id_parse's range. */
				assert_int_equal(id >> 63, 0);
			}
		}
	}
}

static void test_make_orders_by_time_then_node_then_seq(void **state)
{
	(void)state;
	uint64_t t = 1764355115123ULL;
	/* A later millisecond beats any node/sequence of an earlier one. */
	assert_true(id_make(t + 1, 0, 0) > id_make(t, ID_MAX_NODE, SEQ_MASK));
	assert_true(id_make(t, 2, 0) > id_make(t, 1, SEQ_MASK));
	assert_true(id_make(t, 1, 6) > id_make(t, 1, 5));
}

/* ---- idgen_next -------------------------------------------------------- */

static void test_next_first_id_is_now(void **state)
{
	(void)state;
	struct idgen g;
	idgen_init(&g, 7);
	uint64_t before = time_now_ms();
	uint64_t id = idgen_next(&g);
	uint64_t after = time_now_ms();
	idgen_deinit(&g);
	/* created_at is derived from the id, so it must be the real time. */
	assert_in_range(id_unix_ms(id), before, after);
	assert_int_equal(node_of(id), 7);
}

static void test_next_strictly_increasing(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct idgen g;
	idgen_init(&g, 3);
	uint64_t prev = idgen_next(&g);
	for (int i = 1; i < N; i++) {
		uint64_t id = idgen_next(&g);
		if (id <= prev)
			fail_msg("call %d: id %llu not greater than previous %llu", i,
			         (unsigned long long)id, (unsigned long long)prev);
		prev = id;
	}
	idgen_deinit(&g);
}

static void test_next_keeps_node_bits(void **state)
{
	(void)state;
	const uint32_t nodes[] = {0, 1, 0x155, ID_MAX_NODE};
	for (size_t j = 0; j < sizeof(nodes) / sizeof(nodes[0]); j++) {
		struct idgen g;
		idgen_init(&g, nodes[j]);
		/* Enough calls to run past 4096 in one millisecond, so the
		 * sequence overflow path is taken too. Ids from generators
		 * with distinct nodes differ in these bits, so they can
		 * never collide. */
		for (int i = 0; i < 20000; i++) {
			uint64_t id = idgen_next(&g);
			if (node_of(id) != nodes[j])
				fail_msg("node %u: id %llu carries node %u", nodes[j],
				         (unsigned long long)id, node_of(id));
		}
		idgen_deinit(&g);
	}
}

/* Threads share one generator; with 100000 calls each, started together
 * at a barrier, a generator that lost its lock hands out duplicates. */
enum { THREADS = 4, PER_THREAD = 100000 };

struct worker {
	pthread_t thread;
	struct idgen *g;
	pthread_barrier_t *start;
	uint64_t ids[PER_THREAD];
};

static void *worker_run(void *arg)
{
	/* cmocka's asserts longjmp and are not thread-safe: only collect
	 * here, check on the main thread. */
	struct worker *w = arg;
	pthread_barrier_wait(w->start);
	for (int i = 0; i < PER_THREAD; i++)
		w->ids[i] = idgen_next(w->g);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void test_next_threads_no_duplicates(void **state)
{
	(void)state;
	struct idgen g;
	idgen_init(&g, 9);
	pthread_barrier_t start;
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	struct worker *w = calloc(THREADS, sizeof(*w));
	assert_non_null(w);
	for (int t = 0; t < THREADS; t++) {
		w[t].g = &g;
		w[t].start = &start;
		assert_int_equal(pthread_create(&w[t].thread, NULL, worker_run, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(w[t].thread, NULL), 0);
	pthread_barrier_destroy(&start);
	idgen_deinit(&g);

	uint64_t *all = malloc((size_t)THREADS * PER_THREAD * sizeof(*all));
	assert_non_null(all);
	size_t n = 0;
	for (int t = 0; t < THREADS; t++) {
		/* Each thread sees its own ids strictly increasing... */
		for (int i = 0; i < PER_THREAD; i++) {
			if (i > 0 && w[t].ids[i] <= w[t].ids[i - 1])
				fail_msg("thread %d call %d: %llu after %llu", t, i,
				         (unsigned long long)w[t].ids[i],
				         (unsigned long long)w[t].ids[i - 1]);
			assert_int_equal(node_of(w[t].ids[i]), 9);
			all[n++] = w[t].ids[i];
		}
	}
	/* ...and no id was handed to two threads. */
	qsort(all, n, sizeof(*all), cmp_u64);
	for (size_t i = 1; i < n; i++)
		if (all[i] == all[i - 1])
			fail_msg("duplicate id %llu", (unsigned long long)all[i]);
	free(all);
	free(w);
}

/* ---- id_parse ---------------------------------------------------------- */

static bool parse(const char *s, uint64_t *out)
{
	return id_parse(s, strlen(s), out);
}

static void test_parse_accepts(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_true(parse("1", &v));
	assert_int_equal(v, 1);
	assert_true(parse("42", &v));
	assert_int_equal(v, 42);
	assert_true(parse("9223372036854775807", &v));
	assert_int_equal(v, INT64_MAX);
	uint64_t id = id_make(1764355115123ULL, 5, 77);
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	assert_true(parse(buf, &v));
	assert_int_equal(v, id);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "0",
	    "00",
	    "-1",
	    "+1",
	    " 1",
	    "1 ",
	    "12x",
	    "abc",
	    "1.0",
	    "0x1",
	    "9223372036854775808",   /* INT64_MAX + 1 */
	    "18446744073709551615",  /* UINT64_MAX */
	    "18446744073709551616",  /* 2^64 */
	    "99999999999999999999",  /* 20 digits, overflows uint64 */
	    "100000000000000000000", /* 21 digits */
	    "000000000000000000001", /* 21 digits, small value */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 0;
		if (parse(bad[i], &v))
			fail_msg("id_parse accepted \"%s\" as %llu", bad[i], (unsigned long long)v);
	}
}

static void test_parse_respects_length(void **state)
{
	(void)state;
	uint64_t v = 0;
	/* Route params are not NUL-terminated: only len bytes count. */
	assert_true(id_parse("123/follows", 3, &v));
	assert_int_equal(v, 123);
	assert_false(id_parse("123/follows", 4, &v));
	/* A NUL inside the given length is not a digit. */
	assert_false(id_parse("1\0", 2, &v));
	assert_false(id_parse("12", 0, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make_round_trip),
	    cmocka_unit_test(test_make_orders_by_time_then_node_then_seq),
	    cmocka_unit_test(test_next_first_id_is_now),
	    cmocka_unit_test(test_next_strictly_increasing),
	    cmocka_unit_test(test_next_keeps_node_bits),
	    cmocka_unit_test(test_next_threads_no_duplicates),
	    cmocka_unit_test(test_parse_accepts),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_parse_respects_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
