/*
 * test_idmap — the intrusive id hash and LRU list that the timelines and
 * the tweet cache share: lookups across table growth, removal, and the
 * order of least recent use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "util/idmap.h"

struct item {
	struct idmap_node node;
	struct lru_node lru;
	int value;
};

static void test_get_insert_remove_across_growth(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct idmap m;
	idmap_init(&m, 4);
	struct item *items = calloc(N, sizeof(*items));
	for (int i = 0; i < N; i++) {
		/* snowflake-like keys: the low bits barely change */
		items[i].node.key = ((uint64_t)(i + 1) << 22) | 7;
		items[i].value = i;
		idmap_insert(&m, &items[i].node);
	}
	assert_int_equal(m.n, N);
	assert_true(m.nbuckets >= N); /* grew */
	for (int i = 0; i < N; i++) {
		struct idmap_node *n = idmap_get(&m, items[i].node.key);
		assert_non_null(n);
		assert_int_equal(container_of(n, struct item, node)->value, i);
	}
	assert_null(idmap_get(&m, 12345));
	for (int i = 0; i < N; i += 2)
		assert_ptr_equal(idmap_remove(&m, items[i].node.key), &items[i].node);
	assert_null(idmap_remove(&m, items[0].node.key)); /* already gone */
	assert_int_equal(m.n, N / 2);
	for (int i = 0; i < N; i++)
		assert_true((idmap_get(&m, items[i].node.key) != NULL) == (i % 2 == 1));
	idmap_deinit(&m);
	free(items);
}

static void test_lru_order(void **state)
{
	(void)state;
	struct lru l = {NULL, NULL};
	struct item a = {.value = 1}, b = {.value = 2}, c = {.value = 3};
	lru_push_newest(&l, &a.lru);
	lru_push_newest(&l, &b.lru);
	lru_push_newest(&l, &c.lru);
	assert_ptr_equal(l.oldest, &a.lru);
	assert_ptr_equal(l.newest, &c.lru);
	lru_touch(&l, &a.lru); /* a was used: b is now the oldest */
	assert_ptr_equal(l.oldest, &b.lru);
	assert_ptr_equal(l.newest, &a.lru);
	lru_unlink(&l, &b.lru);
	assert_ptr_equal(l.oldest, &c.lru);
	lru_unlink(&l, &c.lru);
	lru_unlink(&l, &a.lru);
	assert_null(l.oldest);
	assert_null(l.newest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_insert_remove_across_growth),
	    cmocka_unit_test(test_lru_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
