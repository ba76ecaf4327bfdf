/*
 * test_utf8 — unit tests for util/utf8 (strict UTF-8 validation and
 * code-point counting).
 *
 * Tweet and display-name limits are counted in code points by this
 * function, and chirp must never store or echo malformed UTF-8, so the
 * tests cover both halves: well-formed text is counted right (NUL
 * included), and every class of ill-formed sequence in RFC 3629 / Unicode
 * table 3-7 is refused. Each input is copied into a heap block of exactly
 * its length, so a decoder that reads past `len` is caught by ASan in the
 * sanitizer build.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

/* Validates an exact-size heap copy of s[0..len). */
static bool check(const char *s, size_t len, size_t *count)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	bool ok = utf8_validate(copy, len, count);
	free(copy);
	return ok;
}

/* Asserts that the string literal `lit` is valid with `n` code points. */
#define ASSERT_VALID(lit, n)                                                                       \
	do {                                                                                       \
		size_t count_ = (size_t)-1;                                                        \
		if (!check((lit), sizeof(lit) - 1, &count_))                                       \
			fail_msg("rejected valid input %s", #lit);                                 \
		assert_int_equal(count_, (n));                                                     \
	} while (0)

#define ASSERT_INVALID(lit)                                                                        \
	do {                                                                                       \
		size_t count_ = 0;                                                                 \
		if (check((lit), sizeof(lit) - 1, &count_))                                        \
			fail_msg("accepted invalid input %s", #lit);                               \
	} while (0)

static void test_empty(void **state)
{
	(void)state;
	ASSERT_VALID("", 0);
}

static void test_ascii(void **state)
{
	(void)state;
	ASSERT_VALID("a", 1);
	ASSERT_VALID("hello, world", 12);
	ASSERT_VALID("\x7f", 1);
	ASSERT_VALID("\x01\x1f", 2);
}

static void test_nul_is_counted(void **state)
{
	(void)state;
	ASSERT_VALID("\0", 1);
	ASSERT_VALID("a\0b", 3);
	ASSERT_VALID("\0\0\0", 3);
}

static void test_multibyte_counts_code_points(void **state)
{
	(void)state;
	ASSERT_VALID("\xc3\xa9", 1);                 /* é U+00E9 */
	ASSERT_VALID("caf\xc3\xa9", 4);              /* café */
	ASSERT_VALID("\xe2\x82\xac", 1);             /* € U+20AC */
	ASSERT_VALID("\xe6\x97\xa5\xe6\x9c\xac", 2); /* 日本 */
	ASSERT_VALID("\xf0\x9f\x98\x80", 1);         /* 😀 U+1F600 */
	/* Mixed widths: a, é, €, 😀, z. */
	ASSERT_VALID("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 5);
	/* Emoji with a skin-tone modifier is two code points. */
	ASSERT_VALID("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 2);
	/* Family emoji: man ZWJ woman ZWJ girl = 5 code points, 18 bytes. */
	ASSERT_VALID("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", 5);
}

static void test_boundaries_of_each_length(void **state)
{
	(void)state;
	ASSERT_VALID("\xc2\x80", 1);         /* U+0080, smallest 2-byte */
	ASSERT_VALID("\xdf\xbf", 1);         /* U+07FF, largest 2-byte */
	ASSERT_VALID("\xe0\xa0\x80", 1);     /* U+0800, smallest 3-byte */
	ASSERT_VALID("\xed\x9f\xbf", 1);     /* U+D7FF, just below surrogates */
	ASSERT_VALID("\xee\x80\x80", 1);     /* U+E000, just above surrogates */
	ASSERT_VALID("\xef\xbf\xbf", 1);     /* U+FFFF */
	ASSERT_VALID("\xf0\x90\x80\x80", 1); /* U+10000, smallest 4-byte */
	ASSERT_VALID("\xf4\x8f\xbf\xbf", 1); /* U+10FFFF, largest code point */
	/* Lead bytes F1..F3 take any continuation, unlike F0 and F4. */
	ASSERT_VALID("\xf1\x80\x80\x80", 1); /* U+40000 */
	ASSERT_VALID("\xf3\xbf\xbf\xbf", 1); /* U+FFFFF */
	ASSERT_VALID("\xf2\x80\x80\x80\xf3\x8f\xbf\xbf", 2);
}

static void test_count_may_be_null(void **state)
{
	(void)state;
	assert_true(utf8_validate("\xc3\xa9t\xc3\xa9", 5, NULL));
	assert_false(utf8_validate("\xc3", 1, NULL));
}

static void test_rejects_overlong(void **state)
{
	(void)state;
	ASSERT_INVALID("\xc0\x80");         /* NUL as 2 bytes */
	ASSERT_INVALID("\xc0\xaf");         /* '/' as 2 bytes */
	ASSERT_INVALID("\xc1\xbf");         /* U+007F as 2 bytes */
	ASSERT_INVALID("\xe0\x80\x80");     /* NUL as 3 bytes */
	ASSERT_INVALID("\xe0\x9f\xbf");     /* U+07FF as 3 bytes */
	ASSERT_INVALID("\xf0\x80\x80\x80"); /* NUL as 4 bytes */
	ASSERT_INVALID("\xf0\x8f\xbf\xbf"); /* U+FFFF as 4 bytes */
}

static void test_rejects_surrogates(void **state)
{
	(void)state;
	ASSERT_INVALID("\xed\xa0\x80"); /* U+D800 */
	ASSERT_INVALID("\xed\xbf\xbf"); /* U+DFFF */
	/* A CESU-8 style pair for U+1F600. */
	ASSERT_INVALID("\xed\xa0\xbd\xed\xb8\x80");
}

static void test_rejects_above_max(void **state)
{
	(void)state;
	ASSERT_INVALID("\xf4\x90\x80\x80"); /* U+110000 */
	ASSERT_INVALID("\xf4\xbf\xbf\xbf");
}

static void test_rejects_lone_continuation(void **state)
{
	(void)state;
	ASSERT_INVALID("\x80");
	ASSERT_INVALID("\xbf");
	ASSERT_INVALID("a\x80");
	ASSERT_INVALID("\xc3\xa9\xa9"); /* é plus one continuation too many */
}

static void test_rejects_truncated_at_end(void **state)
{
	(void)state;
	ASSERT_INVALID("\xc3");
	ASSERT_INVALID("\xe2\x82");
	ASSERT_INVALID("\xe2");
	ASSERT_INVALID("\xf0\x9f\x98");
	ASSERT_INVALID("\xf0\x9f");
	ASSERT_INVALID("\xf0");
	ASSERT_INVALID("ok\xf0\x9f\x98");
	/* The rest of the sequence lies past len: it must not be read. On
	 * the heap copy ASan catches the read; here, where the bytes past len
	 * would complete the sequence, a plain build catches it too. */
	assert_false(check("\xf0\x9f\x98\x80", 3, NULL));
	assert_false(check("\xc3\xa9", 1, NULL));
	assert_false(utf8_validate("\xc3\xa9", 1, NULL));
	assert_false(utf8_validate("ab\xe2\x82\xac", 4, NULL));
	assert_false(utf8_validate("\xf0\x9f\x98\x80", 3, NULL));
}

static void test_rejects_bad_continuation(void **state)
{
	(void)state;
	ASSERT_INVALID("\xc3\x41");         /* second byte is ASCII */
	ASSERT_INVALID("\xe2\x82\x41");     /* third byte is ASCII */
	ASSERT_INVALID("\xf0\x9f\x98\x41"); /* fourth byte is ASCII */
	ASSERT_INVALID("\xe2\xc3\xa9");     /* new lead byte inside a sequence */
	ASSERT_INVALID("\xc3\xc0");
	/* Continuation bytes above 0xBF in the third and fourth place. */
	ASSERT_INVALID("\xe2\x82\xc0");
	ASSERT_INVALID("\xe2\x82\xff");
	ASSERT_INVALID("\xf0\x9f\xc0\x80");
	ASSERT_INVALID("\xf0\x9f\x98\xc0");
}

static void test_rejects_f5_to_ff(void **state)
{
	(void)state;
	for (unsigned b = 0xf5; b <= 0xff; b++) {
		char s[4] = {(char)b, (char)0x80, (char)0x80, (char)0x80};
		if (check(s, 1, NULL))
			fail_msg("accepted lone byte 0x%02x", b);
		if (check(s, 4, NULL))
			fail_msg("accepted 0x%02x 80 80 80", b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_ascii),
	    cmocka_unit_test(test_nul_is_counted),
	    cmocka_unit_test(test_multibyte_counts_code_points),
	    cmocka_unit_test(test_boundaries_of_each_length),
	    cmocka_unit_test(test_count_may_be_null),
	    cmocka_unit_test(test_rejects_overlong),
	    cmocka_unit_test(test_rejects_surrogates),
	    cmocka_unit_test(test_rejects_above_max),
	    cmocka_unit_test(test_rejects_lone_continuation),
	    cmocka_unit_test(test_rejects_truncated_at_end),
	    cmocka_unit_test(test_rejects_bad_continuation),
	    cmocka_unit_test(test_rejects_f5_to_ff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
