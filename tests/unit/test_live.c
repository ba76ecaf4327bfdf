/*
 * test_live — unit tests for timeline/live (the channel names and the
 * messages the feed publishes for live streams).
 *
 * Covers: every event survives encode then decode; channel names are
 * distinct per kind and per id; messages that this version does not write
 * (truncated, unknown kind, bad ids, stray bytes) are refused, never
 * misread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "timeline/live.h"

static void roundtrip(enum live_kind kind, uint64_t id)
{
	char buf[LIVE_MESSAGE_MAX];
	struct live_event in = {.kind = kind, .id = id}, out;
	size_t len = live_encode(&in, buf);
	assert_true(len > 0 && len < LIVE_MESSAGE_MAX);
	assert_true(live_decode(buf, len, &out));
	assert_int_equal(out.kind, kind);
	assert_int_equal(out.id, id);
}

static void test_roundtrip(void **state)
{
	(void)state;
	roundtrip(LIVE_TWEET, 1);
	roundtrip(LIVE_TWEET, 914633885000663040ull);
	roundtrip(LIVE_DELETE, (1ull << 63) - 1); /* the largest id */
	roundtrip(LIVE_RESYNC, 0);
}

static void test_channels(void **state)
{
	(void)state;
	char a[LIVE_CHANNEL_MAX], b[LIVE_CHANNEL_MAX];
	live_channel_feed(a, 42);
	live_channel_author(b, 42);
	assert_string_equal(a, "feed:42");
	assert_string_equal(b, "author:42");
	live_channel_author(a, (1ull << 63) - 1);
	assert_string_equal(a, "author:9223372036854775807");
}

static void refused(const char *msg, size_t len)
{
	struct live_event e;
	assert_false(live_decode(msg, len, &e));
}

static void test_refuses_what_it_does_not_write(void **state)
{
	(void)state;
	refused("", 0);
	refused("t", 1);
	refused("t ", 2);
	refused("x 5", 3);
	refused("t5", 2);
	refused("t 0", 3);           /* ids are never zero */
	refused("t -5", 4);
	refused("t 5 ", 4);
	refused("t 5\0", 4);
	refused("d 99999999999999999999", 22); /* past 63 bits */
	refused("rr", 2);
	refused("r ", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_channels),
	    cmocka_unit_test(test_refuses_what_it_does_not_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
