/*
 * test_engagement — readers' recent likes and retweets in memory: a page
 * is answered only down to the floor it was read from, a read taken
 * before a forget is never kept, a forget ends only its reader's entry,
 * and a tweet liked and retweeted carries both bits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/model.h"
#include "timeline/engagement.h"

#define SLOTS 64

static void test_answers_down_to_its_floor(void **state)
{
	(void)state;
	struct engagement_cache *c = engagement_cache_new(SLOTS);
	const uint64_t got[] = {150, 120, 150};
	const uint8_t bits[] = {VIEWER_LIKED, VIEWER_RETWEETED, VIEWER_RETWEETED};
	engagement_cache_put(c, 7, 100, got, bits, 3, engagement_cache_epoch(c));
	const uint64_t page[] = {200, 150, 120, 100};
	uint8_t st[4];
	assert_int_equal(ENGAGEMENT_HIT, engagement_cache_get(c, 7, page, 4, st));
	assert_int_equal(st[0], 0);
	assert_int_equal(st[1], VIEWER_LIKED | VIEWER_RETWEETED);
	assert_int_equal(st[2], VIEWER_RETWEETED);
	assert_int_equal(st[3], 0);
	const uint64_t older[] = {150, 99}; /* below the floor: unknown */
	assert_int_equal(ENGAGEMENT_MISS, engagement_cache_get(c, 7, older, 2, st));
	assert_int_equal(ENGAGEMENT_MISS,
	                 engagement_cache_get(c, 8, page, 4, st)); /* another reader */
	uint64_t hits, misses;
	engagement_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 2);
	engagement_cache_free(c);
}

static void test_a_read_from_before_a_forget_is_not_kept(void **state)
{
	(void)state;
	struct engagement_cache *c = engagement_cache_new(SLOTS);
	uint64_t epoch = engagement_cache_epoch(c);
	engagement_cache_forget(c, 99); /* anyone's write, committed meanwhile */
	engagement_cache_put(c, 7, 100, NULL, NULL, 0, epoch);
	const uint64_t page[] = {200};
	uint8_t st[1];
	assert_int_equal(ENGAGEMENT_MISS, engagement_cache_get(c, 7, page, 1, st));
	engagement_cache_put(c, 7, 100, NULL, NULL, 0, engagement_cache_epoch(c));
	assert_int_equal(ENGAGEMENT_HIT, engagement_cache_get(c, 7, page, 1, st));
	engagement_cache_free(c);
}

static void test_forget_ends_only_its_readers_entry(void **state)
{
	(void)state;
	struct engagement_cache *c = engagement_cache_new(SLOTS);
	const uint64_t got[] = {150};
	const uint8_t bits[] = {VIEWER_LIKED};
	engagement_cache_put(c, 7, 100, got, bits, 1, engagement_cache_epoch(c));
	engagement_cache_put(c, 8, 100, got, bits, 1, engagement_cache_epoch(c));
	engagement_cache_forget(c, 7);
	uint8_t st[1];
	assert_int_equal(ENGAGEMENT_MISS, engagement_cache_get(c, 7, got, 1, st));
	assert_int_equal(ENGAGEMENT_HIT, engagement_cache_get(c, 8, got, 1, st));
	assert_int_equal(st[0], VIEWER_LIKED);
	engagement_cache_free(c);
}

static void test_too_many_is_kept_as_too_many(void **state)
{
	(void)state;
	struct engagement_cache *c = engagement_cache_new(SLOTS);
	uint64_t got[ENGAGEMENT_MAX + 1];
	uint8_t bits[ENGAGEMENT_MAX + 1];
	for (int i = 0; i <= ENGAGEMENT_MAX; i++) {
		got[i] = 1000 + (uint64_t)i;
		bits[i] = VIEWER_LIKED;
	}
	engagement_cache_put(c, 7, 1000, got, bits, ENGAGEMENT_MAX + 1, engagement_cache_epoch(c));
	uint8_t st[2];
	const uint64_t lower[] = {2000, 900}; /* holds the range with too many */
	assert_int_equal(ENGAGEMENT_MANY, engagement_cache_get(c, 7, lower, 2, st));
	const uint64_t higher[] = {2000, 1010}; /* might hold few: not known */
	assert_int_equal(ENGAGEMENT_MISS, engagement_cache_get(c, 7, higher, 2, st));
	engagement_cache_forget(c, 7); /* an unlike: maybe few now */
	assert_int_equal(ENGAGEMENT_MISS, engagement_cache_get(c, 7, lower, 2, st));
	engagement_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answers_down_to_its_floor),
	    cmocka_unit_test(test_a_read_from_before_a_forget_is_not_kept),
	    cmocka_unit_test(test_forget_ends_only_its_readers_entry),
	    cmocka_unit_test(test_too_many_is_kept_as_too_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
