/*
 * test_mentions — unit tests for core/mentions: which @handles of a
 * tweet notify (docs/api.md, Notifications).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/mentions.h"

static unsigned parse(const char *text, char out[][HANDLE_MAX + 1])
{
	return mentions_parse(text, strlen(text), out);
}

static void test_mentions(void **state)
{
	(void)state;
	char h[MENTIONS_MAX][HANDLE_MAX + 1];
	assert_int_equal(parse("@alice hi @Bob_2, and (@carol)!", h), 3);
	assert_string_equal(h[0], "alice");
	assert_string_equal(h[1], "Bob_2");
	assert_string_equal(h[2], "carol");
	/* Once each, whatever the case; the first spelling is kept. */
	assert_int_equal(parse("@Ann @ann @ANN", h), 1);
	assert_string_equal(h[0], "Ann");
	/* Not a mention: inside a word or an address, a bare @, too long. */
	assert_int_equal(parse("mail a@b.c, @, @ @@", h), 0);
	char longer[64] = "@";
	memset(longer + 1, 'x', HANDLE_MAX + 1);
	assert_int_equal(parse(longer, h), 0);
	longer[HANDLE_MAX + 1] = '\0'; /* exactly the longest handle */
	assert_int_equal(parse(longer, h), 1);
	assert_int_equal(strlen(h[0]), HANDLE_MAX);
	/* At most MENTIONS_MAX. */
	assert_int_equal(parse("@a @b @c @d @e @f @g @h @i @j @k @l", h), MENTIONS_MAX);
	assert_string_equal(h[MENTIONS_MAX - 1], "j");
	/* Non-ASCII around a mention. */
	assert_int_equal(parse("héllo @zoë", h), 1);
	assert_string_equal(h[0], "zo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mentions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
