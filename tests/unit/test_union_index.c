/*
 * test_union_index — the one time-ordered index of the celebrities' ids
 * (timeline/union_index.c) and the memory adapter's range_union over it.
 *
 * What the feed relies on: a page is answered only when it is exact (every
 * key covered, nothing of the window below the horizon or a key's cover),
 * and then it equals the union of the keys' ids cut to the page; pushes
 * while a key is built are kept; removes, duplicates and out-of-order
 * pushes; the capacity and its horizon; and readers that take no lock
 * while a writer pushes and merges builds.
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

#include "timeline/timeline.h"
#include "timeline/union_index.h"

struct page {
	int rc;
	uint64_t ids[64];
	size_t n;
};

static struct page page_of(struct union_index *ix, const uint64_t *keys, size_t nkeys,
                        uint64_t before, uint64_t after, unsigned limit, bool oldest_first)
{
	struct store_page p = {
	    .before = before, .after = after, .limit = limit, .oldest_first = oldest_first};
	struct page r;
	memset(&r, 0xA5, sizeof(r));
	assert_true(limit <= 64);
	r.rc = union_index_range(ix, keys, nkeys, &p, r.ids, &r.n);
	return r;
}

#define IDS(...) ((const uint64_t[]){__VA_ARGS__})
#define NIDS(...) (sizeof(IDS(__VA_ARGS__)) / sizeof(uint64_t))

static void check_page(struct page r, const uint64_t *want, size_t nwant, int line)
{
	if (r.rc != TIMELINE_OK)
		fail_msg("line %d: a miss, want a page", line);
	bool same = r.n == nwant;
	for (size_t i = 0; same && i < r.n; i++)
		same = r.ids[i] == want[i];
	if (!same) {
		print_error("line %d: got %zu ids:", line, r.n);
		for (size_t i = 0; i < r.n && i < 64; i++)
			print_error(" %llu", (unsigned long long)r.ids[i]);
		print_error("\n");
		fail_msg("line %d: not the page wanted", line);
	}
}
#define ASSERT_PAGE(r, ...) check_page((r), IDS(__VA_ARGS__), NIDS(__VA_ARGS__), __LINE__)
#define ASSERT_EMPTY_PAGE(r) check_page((r), NULL, 0, __LINE__)
#define ASSERT_MISS(r) assert_int_equal((r).rc, TIMELINE_MISS)

static void build(struct union_index *ix, uint64_t key, const uint64_t *ids, size_t n,
                  bool truncated)
{
	union_index_begin(ix, key);
	union_index_finish(ix, key, ids, n, truncated);
}

static void test_a_page_is_the_union_of_its_keys(void **state)
{
	(void)state;
	struct union_index *ix = union_index_new(64);
	build(ix, 1, IDS(90, 50, 10), 3, false);
	build(ix, 2, IDS(80, 40), 2, false);
	build(ix, 3, IDS(70, 60), 2, false); /* not asked for */
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 10, false), 90, 80, 50, 40, 10);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 2, false), 90, 80);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, 80, 10, 10, false), 50, 40); /* bounds exclusive */
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 2, true), 40, 10);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, 90, 10, 2, true), 50, 40);
	ASSERT_PAGE(page_of(ix, IDS(3), 1, UINT64_MAX, 0, 10, false), 70, 60);
	ASSERT_EMPTY_PAGE(page_of(ix, IDS(1), 1, 10, 0, 10, false));
	union_index_free(ix);
}

static void test_a_key_not_built_is_a_miss(void **state)
{
	(void)state;
	struct union_index *ix = union_index_new(64);
	build(ix, 1, IDS(90), 1, false);
	ASSERT_MISS(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 10, false));
	union_index_push(ix, 2, 95); /* not begun: not kept */
	union_index_begin(ix, 2);
	ASSERT_MISS(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 10, false)); /* still building */
	union_index_push(ix, 2, 99); /* kept: begun */
	union_index_finish(ix, 2, IDS(80), 1, false);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 10, false), 99, 90, 80);
	/* 0 marks free slots and removed ids: it is never a key. */
	build(ix, 0, IDS(77), 1, false);
	union_index_push(ix, 0, 78);
	ASSERT_MISS(page_of(ix, IDS(0), 1, UINT64_MAX, 0, 10, false));
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 10, false), 99, 90, 80);
	/* Another build of a covered key changes nothing of its answers. */
	union_index_begin(ix, 2);
	ASSERT_PAGE(page_of(ix, IDS(2), 1, UINT64_MAX, 0, 10, false), 99, 80);
	union_index_finish(ix, 2, IDS(99, 80), 2, false);
	ASSERT_PAGE(page_of(ix, IDS(2), 1, UINT64_MAX, 0, 10, false), 99, 80);
	union_index_free(ix);
}

static void test_pushes_removes_and_duplicates(void **state)
{
	(void)state;
	struct union_index *ix = union_index_new(64);
	build(ix, 1, IDS(50, 30), 2, false);
	union_index_push(ix, 1, 60);
	union_index_push(ix, 1, 40); /* out of order */
	union_index_push(ix, 1, 60); /* again */
	ASSERT_PAGE(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 10, false), 60, 50, 40, 30);
	union_index_remove(ix, 50);
	union_index_remove(ix, 51); /* never there */
	ASSERT_PAGE(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 10, false), 60, 40, 30);
	/* A stale store read of the removed id does not bring it back. */
	build(ix, 1, IDS(60, 50, 40, 30), 4, false);
	ASSERT_PAGE(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 10, false), 60, 40, 30);
	union_index_free(ix);
}

static void test_a_page_below_a_truncated_build_is_a_miss(void **state)
{
	(void)state;
	struct union_index *ix = union_index_new(64);
	build(ix, 1, IDS(90, 80, 70), 3, true); /* the store has older ids */
	build(ix, 2, IDS(85, 5), 2, false);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 3, false), 90, 85, 80);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 69, 10, false), 90, 85, 80, 70);
	ASSERT_MISS(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 10, false)); /* would need < 70 */
	ASSERT_MISS(page_of(ix, IDS(1, 2), 2, 80, 0, 3, false));
	/* Full, but key 1 may have ids between 70 and 5 that the index lacks. */
	ASSERT_MISS(page_of(ix, IDS(1, 2), 2, 80, 0, 2, false));
	ASSERT_MISS(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 3, true));
	ASSERT_PAGE(page_of(ix, IDS(2), 1, UINT64_MAX, 0, 10, false), 85, 5);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 69, 2, true), 80, 70);
	union_index_free(ix);
}

static void test_past_capacity_the_oldest_go_and_pages_below_miss(void **state)
{
	(void)state;
	struct union_index *ix = union_index_new(8);
	build(ix, 1, IDS(1), 1, false);
	for (uint64_t id = 2; id <= 8; id++)
		union_index_push(ix, 1, id);
	ASSERT_PAGE(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 10, false), 8, 7, 6, 5, 4, 3, 2, 1);
	union_index_push(ix, 1, 9); /* full: the oldest eighth (one id) goes */
	ASSERT_PAGE(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 8, false), 9, 8, 7, 6, 5, 4, 3, 2);
	ASSERT_MISS(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 10, false));
	ASSERT_PAGE(page_of(ix, IDS(1), 1, UINT64_MAX, 1, 10, false), 9, 8, 7, 6, 5, 4, 3, 2);
	union_index_push(ix, 1, 1); /* below the horizon: not kept */
	ASSERT_MISS(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 10, true));
	/* A build that overflows keeps the newest. */
	build(ix, 2, IDS(20, 19, 18, 17, 16, 15, 14, 13, 12, 11), 10, false);
	ASSERT_PAGE(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 8, false), 20, 19, 18, 17, 16, 15, 14,
	            13);
	ASSERT_MISS(page_of(ix, IDS(1, 2), 2, UINT64_MAX, 0, 9, false));
	union_index_free(ix);
}

/* A walk past a few pages' worth of entries for one page is not made. */
static void test_a_long_walk_is_a_miss(void **state)
{
	(void)state;
	struct union_index *ix = union_index_new(4096);
	build(ix, 1, IDS(1), 1, false);
	build(ix, 2, NULL, 0, false);
	for (uint64_t id = 2; id < 2000; id++)
		union_index_push(ix, 2, id);
	ASSERT_PAGE(page_of(ix, IDS(2), 1, UINT64_MAX, 0, 2, false), 1999, 1998);
	ASSERT_MISS(page_of(ix, IDS(1), 1, UINT64_MAX, 0, 2, false));
	ASSERT_PAGE(page_of(ix, IDS(1), 1, 5, 0, 2, false), 1);
	union_index_free(ix);
}

/* Many keys: the key table grows, and every key stays covered. */
static void test_many_keys(void **state)
{
	(void)state;
	struct union_index *ix = union_index_new(4096);
	uint64_t keys[300];
	for (uint64_t k = 0; k < 300; k++) {
		keys[k] = 1000 + k;
		uint64_t id = 10 * (k + 1);
		build(ix, keys[k], &id, 1, false);
	}
	struct page r = page_of(ix, keys, 300, UINT64_MAX, 0, 64, false);
	assert_int_equal(r.rc, TIMELINE_OK);
	assert_int_equal(r.n, 64);
	for (size_t i = 0; i < 64; i++)
		assert_int_equal(r.ids[i], 3000 - 10 * i);
	ASSERT_PAGE(page_of(ix, keys + 150, 2, UINT64_MAX, 0, 64, false), 1520, 1510);
	union_index_free(ix);
}

/* Random pushes, removes and builds against a model: every page answered
 * is exactly the model's, and pages above every cover are answered. */
#define MODEL_KEYS 6
#define MODEL_IDS 3000

static void test_random_against_a_model(void **state)
{
	(void)state;
	srand(7);
	struct union_index *ix = union_index_new(1024);
	uint64_t owner[MODEL_IDS + 1] = {0}; /* id -> key, 0: none (or removed) */
	for (uint64_t k = 1; k <= MODEL_KEYS; k++)
		build(ix, k, NULL, 0, false);
	unsigned answered = 0, asked = 0;
	for (uint64_t id = 1; id <= MODEL_IDS; id++) {
		uint64_t key = 1 + (uint64_t)rand() % MODEL_KEYS;
		owner[id] = key;
		union_index_push(ix, key, id);
		if (rand() % 10 == 0) {
			uint64_t gone = 1 + (uint64_t)rand() % id;
			owner[gone] = 0;
			union_index_remove(ix, gone);
		}
		if (id % 7)
			continue;
		uint64_t keys[MODEL_KEYS], nkeys = 0;
		for (uint64_t k = 1; k <= MODEL_KEYS; k++)
			if (rand() % 2)
				keys[nkeys++] = k;
		uint64_t before = 1 + (uint64_t)rand() % (id + 1), after = (uint64_t)rand() % before;
		unsigned limit = 1 + (unsigned)rand() % 30;
		bool oldest_first = rand() % 4 == 0;
		struct page r = page_of(ix, keys, nkeys, before, after, limit, oldest_first);
		asked++;
		if (r.rc != TIMELINE_OK)
			continue;
		answered++;
		static uint64_t want[MODEL_IDS];
		size_t nwant = 0;
		for (uint64_t x = before - 1; x > after; x--) {
			bool asked_for = false;
			for (size_t i = 0; i < nkeys; i++)
				asked_for |= owner[x] == keys[i];
			if (asked_for)
				want[nwant++] = x;
		}
		if (nwant > limit && oldest_first)
			memmove(want, want + nwant - limit, limit * sizeof(uint64_t));
		nwant = nwant > limit ? limit : nwant;
		check_page(r, want, nwant, (int)id);
	}
	/* Most are answered: 1024 ids held of 3000, pages anywhere. */
	assert_true(answered > asked / 4);
	union_index_free(ix);
}

/* Readers without a lock beside a writer that pushes, removes and merges
 * builds: every page answered is well formed. Key 1's ids are odd, key
 * 2's even, and ids only grow, so a torn read would show as an id of the
 * wrong key, out of order or out of the window. */
struct race {
	struct union_index *ix;
	atomic_bool done;
	atomic_ulong bad, answered;
	pthread_barrier_t start;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	pthread_barrier_wait(&r->start);
	for (uint64_t id = 1000; id < 60000; id++) {
		union_index_push(r->ix, 2 - id % 2, id);
		if (id % 5 == 0)
			union_index_remove(r->ix, id - 3);
		if (id % 1000 == 0) /* a build merging the whole index */
			union_index_finish(r->ix, 2, IDS(id - 2, id - 4, 10, 8, 6), 5, false);
	}
	atomic_store(&r->done, true);
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	pthread_barrier_wait(&r->start);
	while (!atomic_load(&r->done)) {
		struct page p = page_of(r->ix, IDS(1), 1, UINT64_MAX, 0, 20, false);
		if (p.rc != TIMELINE_OK)
			continue;
		atomic_fetch_add(&r->answered, 1);
		for (size_t i = 0; i < p.n; i++)
			if (p.ids[i] % 2 != 1 || (i && p.ids[i] >= p.ids[i - 1]))
				atomic_fetch_add(&r->bad, 1);
	}
	return NULL;
}

static void test_readers_beside_a_writer(void **state)
{
	(void)state;
	struct race r = {.ix = union_index_new(4096)};
	build(r.ix, 1, IDS(5, 3, 1), 3, false);
	build(r.ix, 2, IDS(4, 2), 2, false);
	pthread_barrier_init(&r.start, NULL, 3);
	pthread_t th[3];
	assert_int_equal(pthread_create(&th[0], NULL, race_writer, &r), 0);
	assert_int_equal(pthread_create(&th[1], NULL, race_reader, &r), 0);
	assert_int_equal(pthread_create(&th[2], NULL, race_reader, &r), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&r.start);
	assert_int_equal(atomic_load(&r.bad), 0);
	assert_true(atomic_load(&r.answered) > 0);
	union_index_free(r.ix);
}

/* The memory adapter: range_union only when opened with union_index, fed
 * by the same pushes, removes and builds as its lists. */
static void test_memory_adapter_answers_range_union(void **state)
{
	(void)state;
	const struct timeline_ops *ops = &timeline_memory_ops;
	struct strbuf err = STRBUF_INIT;
	struct timeline_options opt = {.cap = 800, .max_bytes = 1 << 20};
	struct timelines *plain = ops->open(&opt, &err);
	opt.union_index = true;
	struct timelines *t = ops->open(&opt, &err);
	struct store_page p = {.before = UINT64_MAX, .limit = 10};
	uint64_t out[10];
	size_t n;
	assert_non_null(plain);
	assert_non_null(t);

	ops->begin_build(t, 1);
	ops->push(t, 1, 30);
	ops->finish_build(t, 1, IDS(20, 10), 2, false, NULL, 0);
	ops->begin_build(t, 2);
	ops->finish_build(t, 2, IDS(25), 1, false, NULL, 0);
	ops->push(t, 2, 35);
	ops->remove(t, 1, 20);
	ops->drop(t, 2); /* the list goes; the index keeps its exact ids */
	struct page r = {.rc = ops->range_union(t, IDS(1, 2), 2, &p, r.ids, &r.n)};
	ASSERT_PAGE(r, 35, 30, 25, 10);
	assert_int_equal(ops->range_union(t, IDS(1, 3), 2, &p, out, &n), TIMELINE_MISS);

	ops->begin_build(plain, 1);
	ops->finish_build(plain, 1, IDS(20, 10), 2, false, NULL, 0);
	assert_int_equal(ops->range_union(plain, IDS(1), 1, &p, out, &n), TIMELINE_MISS);
	ops->close(plain);
	ops->close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_page_is_the_union_of_its_keys),
	    cmocka_unit_test(test_a_key_not_built_is_a_miss),
	    cmocka_unit_test(test_pushes_removes_and_duplicates),
	    cmocka_unit_test(test_a_page_below_a_truncated_build_is_a_miss),
	    cmocka_unit_test(test_past_capacity_the_oldest_go_and_pages_below_miss),
	    cmocka_unit_test(test_a_long_walk_is_a_miss),
	    cmocka_unit_test(test_many_keys),
	    cmocka_unit_test(test_random_against_a_model),
	    cmocka_unit_test(test_readers_beside_a_writer),
	    cmocka_unit_test(test_memory_adapter_answers_range_union),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
