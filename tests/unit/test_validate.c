/*
 * test_validate — unit tests for core/validate, the rules for handles,
 * passwords, display names and tweet text (docs/api.md).
 *
 * These rules are what a user meets first when signing up or posting, so
 * the tests sit on the boundaries: exact maximum lengths (counted in bytes
 * for handles and passwords, in code points for names and tweets, with
 * multi-byte text at the limit), one past them, and each kind of byte the
 * rules exclude (control characters, NUL, malformed UTF-8), and the text
 * that would show as nothing or reorder what follows it (invisible
 * characters, unclosed bidi controls). Every input is passed with an
 * explicit length, as the API does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/validate.h"

/* Returns a heap string of `n` copies of `unit` (caller frees); *len gets
 * its length in bytes. */
static char *repeat(const char *unit, size_t n, size_t *len)
{
	size_t u = strlen(unit);
	char *s = malloc(u * n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	*len = u * n;
	return s;
}

/* Runs `fn` on n copies of `unit` (an exact-size heap block, so ASan sees
 * any read past len). */
static bool check_repeat(bool (*fn)(const char *, size_t), const char *unit, size_t n)
{
	size_t len;
	char *s = repeat(unit, n, &len);
	bool ok = fn(s, len);
	free(s);
	return ok;
}

/* For string literals, which may hold NUL. */
#define LIT(fn, lit) fn((lit), sizeof(lit) - 1)

/* ---- handles ----------------------------------------------------------- */

static void test_handle_accepts(void **state)
{
	(void)state;
	assert_true(LIT(validate_handle, "a"));
	assert_true(LIT(validate_handle, "Z"));
	assert_true(LIT(validate_handle, "7"));
	assert_true(LIT(validate_handle, "_"));
	assert_true(LIT(validate_handle, "ada_Lovelace_1815"));
	assert_true(LIT(validate_handle, "abcdefghijklmnopqrstuvwxyzABCD")); /* 30 */
	assert_true(check_repeat(validate_handle, "_", 30));
}

static void test_handle_rejects(void **state)
{
	(void)state;
	assert_false(LIT(validate_handle, ""));
	assert_false(LIT(validate_handle, "abcdefghijklmnopqrstuvwxyzABCDE")); /* 31 */
	assert_false(check_repeat(validate_handle, "x", 31));
	assert_false(LIT(validate_handle, "-"));
	assert_false(LIT(validate_handle, "ada-l"));
	assert_false(LIT(validate_handle, " ada"));
	assert_false(LIT(validate_handle, "ada "));
	assert_false(LIT(validate_handle, "ada l"));
	assert_false(LIT(validate_handle, "ada.l"));
	assert_false(LIT(validate_handle, "@ada"));
	assert_false(LIT(validate_handle, "jos\xc3\xa9")); /* é */
	assert_false(LIT(validate_handle, "\xc3\xa9"));
	assert_false(LIT(validate_handle, "ad\xff"));
	assert_false(LIT(validate_handle, "ada\0"));
	assert_false(LIT(validate_handle, "a\0b"));
}

static void test_handle_every_single_byte(void **state)
{
	(void)state;
	/* Exactly [A-Za-z0-9_]: this also covers the neighbours of each range
	 * ('/' ':' '@' '[' '`' '{'), which a range check gets wrong by one. */
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		bool want = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
		            (b >= '0' && b <= '9') || b == '_';
		if (validate_handle(&c, 1) != want)
			fail_msg("byte 0x%02x: accepted %d, want %d", b, !want, want);
	}
}

static void test_handle_respects_length(void **state)
{
	(void)state;
	/* Only len bytes are looked at. */
	assert_true(validate_handle("ada/follows", 3));
	assert_false(validate_handle("ada/follows", 4));
}

/* ---- passwords --------------------------------------------------------- */

static void test_password_length_boundaries(void **state)
{
	(void)state;
	assert_false(check_repeat(validate_password, "p", 0));
	assert_false(check_repeat(validate_password, "p", 7));
	assert_true(check_repeat(validate_password, "p", 8));
	assert_true(check_repeat(validate_password, "p", 1024));
	assert_false(check_repeat(validate_password, "p", 1025));
}

static void test_password_bytes_are_bytes(void **state)
{
	(void)state;
	/* Any byte is allowed, and length is in bytes: 4 "é" are 8 bytes. */
	assert_true(check_repeat(validate_password, "\xc3\xa9", 4));
	assert_false(LIT(validate_password, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3")); /* 7 bytes */
	assert_true(LIT(validate_password, "pass word"));
	assert_true(LIT(validate_password, "\0\0\0\0\0\0\0\0"));
	assert_true(LIT(validate_password, "tab\there\n"));
	/* 1024 bytes of 4-byte emoji = 256 of them. */
	assert_true(check_repeat(validate_password, "\xf0\x9f\x98\x80", 256));
}

/* ---- display names ----------------------------------------------------- */

static void test_display_name_accepts(void **state)
{
	(void)state;
	assert_true(LIT(validate_display_name, "A"));
	assert_true(LIT(validate_display_name, "Ada Lovelace"));
	assert_true(LIT(validate_display_name, "Ren\xc3\xa9"
	                                       "e \xf0\x9f\x8c\xb8"));
	assert_true(check_repeat(validate_display_name, "x", 50));
	/* Exactly 50 code points of 2-, 3- and 4-byte characters. */
	assert_true(check_repeat(validate_display_name, "\xc3\xa9", 50));
	assert_true(check_repeat(validate_display_name, "\xe6\x97\xa5", 50));
	assert_true(check_repeat(validate_display_name, "\xf0\x9f\x98\x80", 50));
	/* U+00A0 NO-BREAK SPACE is just past the C1 range. */
	assert_true(LIT(validate_display_name, "a\xc2\xa0z"));
}

static void test_display_name_length(void **state)
{
	(void)state;
	assert_false(LIT(validate_display_name, ""));
	assert_false(check_repeat(validate_display_name, "x", 51));
	assert_false(check_repeat(validate_display_name, "\xc3\xa9", 51));
	assert_false(check_repeat(validate_display_name, "\xf0\x9f\x98\x80", 51));
}

static void test_display_name_rejects_controls(void **state)
{
	(void)state;
	assert_false(LIT(validate_display_name, "Ada\nLovelace"));
	assert_false(LIT(validate_display_name, "Ada\rLovelace"));
	assert_false(LIT(validate_display_name, "Ada\tLovelace"));
	assert_false(LIT(validate_display_name, "Ada\x1b[31m"));
	assert_false(LIT(validate_display_name, "\x01"));
	assert_false(LIT(validate_display_name, "\x1f"));
	assert_false(LIT(validate_display_name, "Ada\0"));
	assert_false(LIT(validate_display_name, "\0"));
	assert_false(LIT(validate_display_name, "Ada\x7f"));     /* DEL */
	assert_false(LIT(validate_display_name, "Ada\xc2\x85")); /* U+0085 NEL */
	assert_false(LIT(validate_display_name, "\xc2\x80"));    /* U+0080 */
	assert_false(LIT(validate_display_name, "A\xc2\x9f"
	                                        "B")); /* U+009F */
}

static void test_display_name_rejects_bad_utf8(void **state)
{
	(void)state;
	assert_false(LIT(validate_display_name, "Ada\xff"));
	assert_false(LIT(validate_display_name, "\x80"));
	assert_false(LIT(validate_display_name, "Ren\xc3"));
	assert_false(LIT(validate_display_name, "\xc0\x80"));
	assert_false(LIT(validate_display_name, "\xed\xa0\x80"));
	/* A C1 lead byte cut off at the end is malformed, not a control. */
	assert_false(LIT(validate_display_name, "Ada\xc2"));
}

/* ---- tweet text -------------------------------------------------------- */

static void test_tweet_accepts(void **state)
{
	(void)state;
	assert_true(LIT(validate_tweet_text, "x"));
	assert_true(LIT(validate_tweet_text, "hello, world"));
	assert_true(LIT(validate_tweet_text, "  padded  "));
	assert_true(LIT(validate_tweet_text, "line one\nline two\ttabbed"));
	assert_true(LIT(validate_tweet_text, "\xf0\x9f\x8e\x89 launch day"));
}

static void test_tweet_length_in_code_points(void **state)
{
	(void)state;
	assert_true(check_repeat(validate_tweet_text, "x", 280));
	assert_false(check_repeat(validate_tweet_text, "x", 281));
	/* 280 "é" are 560 bytes: still 280 code points. */
	assert_true(check_repeat(validate_tweet_text, "\xc3\xa9", 280));
	assert_false(check_repeat(validate_tweet_text, "\xc3\xa9", 281));
	/* 280 four-byte emoji are 1120 bytes. */
	assert_true(check_repeat(validate_tweet_text, "\xf0\x9f\x98\x80", 280));
	assert_false(check_repeat(validate_tweet_text, "\xf0\x9f\x98\x80", 281));
}

static void test_tweet_rejects_empty_and_blank(void **state)
{
	(void)state;
	assert_false(LIT(validate_tweet_text, ""));
	assert_false(LIT(validate_tweet_text, " "));
	assert_false(LIT(validate_tweet_text, "\n"));
	assert_false(LIT(validate_tweet_text, " \t\r\n "));
	assert_false(check_repeat(validate_tweet_text, " ", 280));
	/* Any Unicode white space is blank: VT, FF, NBSP, ideographic space. */
	assert_false(LIT(validate_tweet_text, "\x0b\x0c"));
	assert_false(LIT(validate_tweet_text, "\xc2\xa0"));
	assert_false(LIT(validate_tweet_text, "\xe3\x80\x80 \xe2\x80\x83"));
	/* ... but white space around a visible character is fine. */
	assert_true(LIT(validate_tweet_text, "\xc2\xa0x\xe3\x80\x80"));
}

/* Writes the UTF-8 encoding of code point c (below U+10000) to out and
 * returns its length. */
static size_t utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | (c >> 12));
	out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[2] = (char)(0x80 | (c & 0x3F));
	return 3;
}

static void test_tweet_blank_is_any_unicode_white_space(void **state)
{
	(void)state;
	/* Every code point with the White_Space property (PropList.txt). */
	static const uint32_t space[] = {
	    0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,   0xA0,   0x1680,
	    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
	    0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
	for (size_t i = 0; i < sizeof(space) / sizeof(space[0]); i++) {
		char buf[8];
		size_t n = utf8_put(space[i], buf);
		if (validate_tweet_text(buf, n))
			fail_msg("U+%04X alone was accepted", (unsigned)space[i]);
		buf[n] = 'x';
		if (!validate_tweet_text(buf, n + 1))
			fail_msg("U+%04X before a letter was refused", (unsigned)space[i]);
	}
	/* Visible neighbours of those ranges make a text that is not blank. */
	static const uint32_t not_space[] = {0x21,   0x7E,   0xA1,   0x167F, 0x1681,
	                                     0x2010, 0x2030, 0x205E, 0x3001};
	for (size_t i = 0; i < sizeof(not_space) / sizeof(not_space[0]); i++) {
		char buf[8];
		size_t n = utf8_put(not_space[i], buf);
		if (!validate_tweet_text(buf, n))
			fail_msg("U+%04X alone was refused", (unsigned)not_space[i]);
	}
}

/* ---- spoofing characters (issue 19, finding 9) ------------------------ */

/* Each alone, and each with white space around it, shows as nothing. */
static const char *const invisible_samples[] = {
	"\xe2\x80\x8b",     /* U+200B ZERO WIDTH SPACE */
	"\xe2\x80\x8c",     /* U+200C ZERO WIDTH NON-JOINER */
	"\xe2\x80\x8d",     /* U+200D ZERO WIDTH JOINER */
	"\xc2\xad",         /* U+00AD SOFT HYPHEN */
	"\xef\xbb\xbf",     /* U+FEFF BOM */
	"\xe2\x81\xa0",     /* U+2060 WORD JOINER */
	"\xe2\x80\x8e",     /* U+200E LEFT-TO-RIGHT MARK */
	"\xe2\x80\xae",     /* U+202E RIGHT-TO-LEFT OVERRIDE */
	"\xe2\x81\xa6",     /* U+2066 LEFT-TO-RIGHT ISOLATE */
	"\xe2\x81\xa9",     /* U+2069 POP DIRECTIONAL ISOLATE */
	"\xe1\x85\x9f",     /* U+115F HANGUL CHOSEONG FILLER */
	"\xe3\x85\xa4",     /* U+3164 HANGUL FILLER */
	"\xef\xb8\x8f",     /* U+FE0F VARIATION SELECTOR-16 */
	"\xcd\x8f",         /* U+034F COMBINING GRAPHEME JOINER */
	"\xf3\xa0\x80\xa1", /* U+E0021 TAG EXCLAMATION MARK */
	"\xf0\x9d\x85\xb3", /* U+1D173 MUSICAL SYMBOL BEGIN BEAM */
};

static void test_blank_is_also_invisible_characters(void **state)
{
	(void)state;
	char buf[64];
	size_t n_samples = sizeof(invisible_samples) / sizeof(invisible_samples[0]);
	for (size_t i = 0; i < n_samples; i++) {
		const char *inv = invisible_samples[i];
		size_t len = strlen(inv);
		assert_false(validate_tweet_text(inv, len));
		assert_false(check_repeat(validate_tweet_text, inv, 20));
		int n = snprintf(buf, sizeof(buf), " %s\xc2\xa0%s ", inv, inv);
		assert_false(validate_tweet_text(buf, (size_t)n));
		/* one visible character makes it a text */
		n = snprintf(buf, sizeof(buf), "%sx%s", inv, inv);
		assert_true(validate_tweet_text(buf, (size_t)n));
		/* and names the same, bidi controls aside (below) */
		assert_false(validate_display_name(inv, len));
		n = snprintf(buf, sizeof(buf), "%s %s", inv, inv);
		assert_false(validate_display_name(buf, (size_t)n));
	}
	/* all of them together, in a name or a tweet */
	char all[256] = "";
	for (size_t i = 0; i < n_samples; i++)
		strcat(all, invisible_samples[i]);
	assert_false(validate_tweet_text(all, strlen(all)));
	/* white space alone is a blank name too */
	assert_false(LIT(validate_display_name, " "));
	assert_false(LIT(validate_display_name, "\xc2\xa0\xe3\x80\x80"));
	/* visible neighbours of the ranges are not invisible */
	assert_true(LIT(validate_tweet_text, "\xc2\xac"));       /* U+00AC NOT SIGN */
	assert_true(LIT(validate_tweet_text, "\xe2\x80\x90"));   /* U+2010 HYPHEN */
	assert_true(LIT(validate_tweet_text, "\xe2\x81\xb0"));   /* U+2070 SUPERSCRIPT ZERO */
	assert_true(LIT(validate_tweet_text, "\xef\xbb\xbe"));   /* U+FEFE */
	assert_true(LIT(validate_tweet_text, "\xe3\x85\xa5"));   /* U+3165 */
	assert_true(LIT(validate_display_name, "\xe2\xa0\x81")); /* U+2801 BRAILLE */
}

static void test_joiners_inside_visible_text_are_fine(void **state)
{
	(void)state;
	/* family emoji: man ZWJ woman ZWJ girl */
	const char family[] = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"
			      "\xe2\x80\x8d\xf0\x9f\x91\xa7";
	assert_true(LIT(validate_tweet_text, family));
	assert_true(LIT(validate_display_name, family));
	/* a red heart with its emoji presentation selector */
	assert_true(LIT(validate_display_name, "\xe2\x9d\xa4\xef\xb8\x8f"));
	/* a soft hyphen inside a word */
	assert_true(LIT(validate_display_name, "Donau\xc2\xad" "dampf"));
}

static void test_display_name_bidi_controls_must_be_closed(void **state)
{
	(void)state;
#define RLO "\xe2\x80\xae"
#define LRE "\xe2\x80\xaa"
#define PDF "\xe2\x80\xac"
#define RLI "\xe2\x81\xa7"
#define FSI "\xe2\x81\xa8"
#define PDI "\xe2\x81\xa9"
	/* closed, nested: the name keeps its direction to itself */
	assert_true(LIT(validate_display_name, "Bob " RLO "olleh" PDF));
	assert_true(LIT(validate_display_name, RLI "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" PDI));
	assert_true(LIT(validate_display_name, FSI "a" LRE "b" PDF "c" PDI " d"));
	/* left open, closed by the wrong kind, closed twice, or crossed */
	assert_false(LIT(validate_display_name, "Bob" RLO));
	assert_false(LIT(validate_display_name, "Bob " RLO "olleh"));
	assert_false(LIT(validate_display_name, "Bob" RLI "x"));
	assert_false(LIT(validate_display_name, "Bob" PDF));
	assert_false(LIT(validate_display_name, "Bob" PDI));
	assert_false(LIT(validate_display_name, RLO "x" PDI));
	assert_false(LIT(validate_display_name, RLI "x" PDF));
	assert_false(LIT(validate_display_name, RLO "x" PDF PDF));
	assert_false(LIT(validate_display_name, RLI "a" LRE "b" PDI "c" PDF));
	/* nesting has a bound */
	assert_true(LIT(validate_display_name,
			"x" LRE LRE LRE LRE LRE LRE LRE LRE PDF PDF PDF PDF PDF PDF PDF PDF));
	size_t len;
	char *deep = repeat(LRE, 17, &len);
	char name[128];
	memcpy(name, "x", 1);
	memcpy(name + 1, deep, len);
	for (int i = 0; i < 17; i++)
		memcpy(name + 1 + len + 3 * i, PDF, 3);
	assert_false(validate_display_name(name, 1 + len + 3 * 17)); /* 35 code points */
	free(deep);
	/* tweets are text, not a name shown inside other text: not checked */
	assert_true(LIT(validate_tweet_text, "reversed: " RLO "olleh"));
#undef RLO
#undef LRE
#undef PDF
#undef RLI
#undef FSI
#undef PDI
}

static void test_tweet_rejects_nul(void **state)
{
	(void)state;
	assert_false(LIT(validate_tweet_text, "a\0b"));
	assert_false(LIT(validate_tweet_text, "\0"));
	assert_false(LIT(validate_tweet_text, "hello\0"));
}

static void test_tweet_rejects_bad_utf8(void **state)
{
	(void)state;
	assert_false(LIT(validate_tweet_text, "hi \xff"));
	assert_false(LIT(validate_tweet_text, "\x80"));
	assert_false(LIT(validate_tweet_text, "caf\xc3"));
	assert_false(LIT(validate_tweet_text, "\xc0\x80")); /* overlong NUL */
	assert_false(LIT(validate_tweet_text, "\xed\xa0\x80"));
	assert_false(LIT(validate_tweet_text, "\xf4\x90\x80\x80"));
}

static bool email(const char *s)
{
	return validate_email(s, strlen(s));
}

static void test_email_accepts(void **state)
{
	(void)state;
	assert_true(email("ann@example.org"));
	assert_true(email("Ann.Lee+chirp@mail.Example-1.co.uk"));
	assert_true(email("o'brien_{x}@a.b"));
	char fold[EMAIL_MAX + 1];
	validate_email_fold("Ann.Lee@Example.ORG", 19, fold);
	assert_string_equal(fold, "ann.lee@example.org");
	/* 64 bytes before the '@', EMAIL_MAX in all */
	char s[EMAIL_MAX + 2];
	memset(s, 'a', 64);
	strcpy(s + 64, "@b.c");
	assert_true(email(s));
	s[64] = 'a';
	strcpy(s + 65, "@b.c");
	assert_false(email(s)); /* 65 */
	memset(s, 'a', EMAIL_MAX);
	s[EMAIL_MAX] = '\0';
	s[10] = '@';
	for (int i = 70; i < EMAIL_MAX; i += 60)
		s[i] = '.';
	assert_true(email(s));
	s[EMAIL_MAX] = 'a';
	s[EMAIL_MAX + 1] = '\0';
	assert_false(email(s)); /* one byte too many */
}

static void test_email_rejects(void **state)
{
	(void)state;
	const char *bad[] = {"", "@", "a@", "@b.c", "ab.c", "a@b", "a@@b.c", "a@b@c.d", ".a@b.c",
			     "a.@b.c", "a..b@c.d", "a b@c.d", "a@b .c", "a@-b.c", "a@b-.c", "a@b..c",
			     "a@b.c.", "a@.b.c", "\"a\"@b.c", "a@[127.0.0.1]", "a(b)@c.d",
			     "\xc3\xa9@b.c", "a@\xc3\xa9.fr", "a\n@b.c", "a@b.c\n", "a<b>@c.d"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (email(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	assert_false(validate_email("a\0b@c.d", 7)); /* NUL inside */
	char label[80];
	memset(label, 'x', 64);
	strcpy(label + 64, ".com");
	char s[100] = "a@";
	strcat(s, label);
	assert_false(email(s)); /* a 64-byte label */
}

static void test_description(void **state)
{
	(void)state;
	size_t len;
	assert_true(validate_description("", 0));
	assert_true(validate_description("two lines\n\tand a tab", 20));
	char *s = repeat("\xe6\x97\xa5", DESCRIPTION_MAX_CP, &len); /* 1500 CJK characters */
	assert_true(validate_description(s, len));
	free(s);
	s = repeat("a", DESCRIPTION_MAX_CP + 1, &len);
	assert_false(validate_description(s, len));
	free(s);
	assert_false(validate_description("bell\a", 5));
	assert_false(validate_description("nul\0x", 5));
	assert_false(validate_description("\xc2\x85", 2)); /* C1 */
	assert_false(validate_description("\xff", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_email_accepts),
	    cmocka_unit_test(test_email_rejects),
	    cmocka_unit_test(test_description),
	    cmocka_unit_test(test_handle_accepts),
	    cmocka_unit_test(test_handle_rejects),
	    cmocka_unit_test(test_handle_every_single_byte),
	    cmocka_unit_test(test_handle_respects_length),
	    cmocka_unit_test(test_password_length_boundaries),
	    cmocka_unit_test(test_password_bytes_are_bytes),
	    cmocka_unit_test(test_display_name_accepts),
	    cmocka_unit_test(test_display_name_length),
	    cmocka_unit_test(test_display_name_rejects_controls),
	    cmocka_unit_test(test_display_name_rejects_bad_utf8),
	    cmocka_unit_test(test_tweet_accepts),
	    cmocka_unit_test(test_tweet_length_in_code_points),
	    cmocka_unit_test(test_tweet_rejects_empty_and_blank),
	    cmocka_unit_test(test_tweet_blank_is_any_unicode_white_space),
	    cmocka_unit_test(test_tweet_rejects_nul),
	    cmocka_unit_test(test_tweet_rejects_bad_utf8),
	    cmocka_unit_test(test_blank_is_also_invisible_characters),
	    cmocka_unit_test(test_joiners_inside_visible_text_are_fine),
	    cmocka_unit_test(test_display_name_bidi_controls_must_be_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
