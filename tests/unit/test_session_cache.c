/*
 * test_session_cache — the gateway's cache of who a token is: an entry
 * counts only under the epoch it was read in and while its recorded use
 * is recent, a read taken before an invalidation is never served, and two
 * tokens never answer for each other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/session_cache.h"

#define SLOTS 64

static void token(uint8_t *hash, uint64_t slot_bits, uint8_t tail)
{
	memset(hash, tail, TOKEN_HASH_LEN);
	memcpy(hash, &slot_bits, sizeof(slot_bits)); /* the slot comes from these */
}

static struct session session_of(uint64_t user, bool has_relations)
{
	struct session s = {.id = user + 1000,
	                    .user_id = user,
	                    .last_used_ms = 5000,
	                    .has_relations = has_relations};
	strcpy(s.device, "curl"); /* not kept */
	return s;
}

static void test_put_then_get(void **state)
{
	(void)state;
	struct session_cache *c = session_cache_new(SLOTS);
	uint8_t h[TOKEN_HASH_LEN];
	token(h, 7, 0xaa);
	struct session out;
	assert_false(session_cache_get(c, h, 0, &out));
	struct session s = session_of(42, true);
	session_cache_put(c, h, &s, session_cache_epoch(c));
	assert_true(session_cache_get(c, h, 0, &out));
	assert_int_equal(out.user_id, 42);
	assert_int_equal(out.id, 1042);
	assert_int_equal(out.last_used_ms, 5000);
	assert_true(out.has_relations);
	assert_string_equal(out.device, "");
	uint64_t hits, misses;
	session_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 1);
	session_cache_free(c);
}

static void test_invalidate_ends_every_entry(void **state)
{
	(void)state;
	struct session_cache *c = session_cache_new(SLOTS);
	uint8_t a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN];
	token(a, 1, 0x11);
	token(b, 2, 0x22);
	struct session sa = session_of(1, false), sb = session_of(2, false), out;
	session_cache_put(c, a, &sa, session_cache_epoch(c));
	session_cache_put(c, b, &sb, session_cache_epoch(c));
	session_cache_invalidate(c);
	assert_false(session_cache_get(c, a, 0, &out));
	assert_false(session_cache_get(c, b, 0, &out));
	/* Read again after the invalidation: counts. */
	session_cache_put(c, a, &sa, session_cache_epoch(c));
	assert_true(session_cache_get(c, a, 0, &out));
	session_cache_free(c);
}

/* A reader took the epoch, a log-out committed and invalidated, then the
 * reader (whose read began before the commit) stores what it read: never
 * served. */
static void test_read_from_before_an_invalidation_is_not_served(void **state)
{
	(void)state;
	struct session_cache *c = session_cache_new(SLOTS);
	uint8_t h[TOKEN_HASH_LEN];
	token(h, 3, 0x33);
	uint64_t epoch = session_cache_epoch(c);
	session_cache_invalidate(c);
	struct session s = session_of(3, false), out;
	session_cache_put(c, h, &s, epoch);
	assert_false(session_cache_get(c, h, 0, &out));
	session_cache_free(c);
}

static void test_an_old_recorded_use_is_not_served(void **state)
{
	(void)state;
	struct session_cache *c = session_cache_new(SLOTS);
	uint8_t h[TOKEN_HASH_LEN];
	token(h, 4, 0x44);
	struct session s = session_of(4, false), out; /* last used at 5000 */
	session_cache_put(c, h, &s, session_cache_epoch(c));
	assert_true(session_cache_get(c, h, 4999, &out));
	assert_false(session_cache_get(c, h, 5000, &out));
	session_cache_free(c);
}

static void test_tokens_sharing_a_slot_never_answer_for_each_other(void **state)
{
	(void)state;
	struct session_cache *c = session_cache_new(SLOTS);
	uint8_t a[TOKEN_HASH_LEN], b[TOKEN_HASH_LEN];
	token(a, 9, 0x01);
	token(b, 9 + SLOTS, 0x02); /* the same slot */
	struct session sa = session_of(1, false), sb = session_of(2, false), out;
	session_cache_put(c, a, &sa, session_cache_epoch(c));
	assert_false(session_cache_get(c, b, 0, &out));
	session_cache_put(c, b, &sb, session_cache_epoch(c)); /* replaces a */
	assert_true(session_cache_get(c, b, 0, &out));
	assert_int_equal(out.user_id, 2);
	assert_false(session_cache_get(c, a, 0, &out));
	/* Same first bytes, different tail: not the same token either. */
	uint8_t b2[TOKEN_HASH_LEN];
	memcpy(b2, b, sizeof(b2));
	b2[TOKEN_HASH_LEN - 1] ^= 1;
	assert_false(session_cache_get(c, b2, 0, &out));
	session_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_then_get),
	    cmocka_unit_test(test_invalidate_ends_every_entry),
	    cmocka_unit_test(test_read_from_before_an_invalidation_is_not_served),
	    cmocka_unit_test(test_an_old_recorded_use_is_not_served),
	    cmocka_unit_test(test_tokens_sharing_a_slot_never_answer_for_each_other),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
