/*
 * test_query — unit tests for util/query, the split of a URL query string
 * behind every `limit`, `max_id`, `since_id` and `min_id` (docs/api.md).
 *
 * What a client notices when this is wrong is a parameter read from the
 * wrong place: a prefix of another name ("lim" for "limit"), a value that
 * runs into the next pair, or a bare name with no '='. Every query is
 * passed in an exact-size heap copy with no NUL after it, as h2o hands it
 * over, so ASan sees any read past its end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/query.h"

/* Looks `name` up in a heap copy of `q` (no terminating NUL). On a hit,
 * returns the value as a new NUL-terminated string (caller frees); on a
 * miss, NULL. */
static char *find(const char *q, const char *name)
{
	size_t len = strlen(q);
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, q, len);
	const char *v = NULL;
	size_t vlen = 0;
	char *out = NULL;
	if (query_find(copy, len, name, &v, &vlen)) {
		assert_true(v >= copy && v + vlen <= copy + len);
		out = strndup(v, vlen);
		assert_non_null(out);
	}
	free(copy);
	return out;
}

#define ASSERT_FOUND(q, name, want)                                                        \
	do {                                                                               \
		char *got_ = find((q), (name));                                            \
		assert_non_null(got_);                                                     \
		assert_string_equal(got_, (want));                                         \
		free(got_);                                                                \
	} while (0)
#define ASSERT_MISSING(q, name) assert_null(find((q), (name)))

static void test_finds_each_pair(void **state)
{
	(void)state;
	ASSERT_FOUND("limit=5", "limit", "5");
	ASSERT_FOUND("limit=5&max_id=99", "limit", "5");
	ASSERT_FOUND("limit=5&max_id=99", "max_id", "99");
	ASSERT_FOUND("a=1&limit=20&b=2", "limit", "20");
}

static void test_name_must_match_whole(void **state)
{
	(void)state;
	ASSERT_MISSING("lim=5", "limit");
	ASSERT_MISSING("limits=5", "limit");
	ASSERT_MISSING("xlimit=5", "limit");
	ASSERT_FOUND("lim=1&limitx=2&limit=3", "limit", "3");
	ASSERT_MISSING("LIMIT=5", "limit"); /* names are case-sensitive */
}

static void test_first_of_duplicates_wins(void **state)
{
	(void)state;
	ASSERT_FOUND("limit=1&limit=2", "limit", "1");
	ASSERT_FOUND("limit=&limit=2", "limit", "");
}

static void test_bare_name_and_empty_value(void **state)
{
	(void)state;
	ASSERT_FOUND("limit", "limit", "");
	ASSERT_FOUND("limit&max_id=7", "limit", "");
	ASSERT_FOUND("max_id=7&limit", "limit", "");
	ASSERT_FOUND("limit=", "limit", "");
	ASSERT_FOUND("limit=&max_id=7", "limit", "");
}

static void test_value_is_raw_up_to_the_next_pair(void **state)
{
	(void)state;
	/* Not decoded, and only the first '=' splits. */
	ASSERT_FOUND("max_id=%31%32", "max_id", "%31%32");
	ASSERT_FOUND("limit=1=2&x=3", "limit", "1=2");
	ASSERT_FOUND("limit=+5", "limit", "+5");
}

static void test_empty_and_degenerate_queries(void **state)
{
	(void)state;
	ASSERT_MISSING("", "limit");
	ASSERT_MISSING("&", "limit");
	ASSERT_MISSING("&&&", "limit");
	ASSERT_MISSING("=5", "limit");
	ASSERT_FOUND("&&limit=5&&", "limit", "5");
	ASSERT_FOUND("limit=5&", "limit", "5");
	ASSERT_MISSING("limit=5", "max_id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_finds_each_pair),
	    cmocka_unit_test(test_name_must_match_whole),
	    cmocka_unit_test(test_first_of_duplicates_wins),
	    cmocka_unit_test(test_bare_name_and_empty_value),
	    cmocka_unit_test(test_value_is_raw_up_to_the_next_pair),
	    cmocka_unit_test(test_empty_and_degenerate_queries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
