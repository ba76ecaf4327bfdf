/*
 * test_jsonw — unit tests for util/jsonw (the JSON writer) and util/strbuf
 * (the buffer it writes into).
 *
 * jsonw does not track nesting and escapes by hand, so every response body
 * chirp sends is only as correct as these few functions. The tests check
 * the exact bytes for each escaping rule, and then that every document
 * written parses back with jansson (the library chirp reads JSON with) to
 * the very bytes that went in — NULs and multi-byte UTF-8 included. The
 * strbuf tests cover growth, the u64 formatter's extremes and detaching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/jsonw.h"
#include "util/strbuf.h"

/* Parses sb as a whole JSON document; fails the test with jansson's
 * message if it does not parse. Caller frees with json_decref. */
static json_t *parse(const struct strbuf *sb)
{
	json_error_t err;
	json_t *j = json_loadb(sb->data, sb->len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fail_msg("jansson rejected %.*s: %s at column %d", (int)sb->len, sb->data, err.text,
		         err.column);
	return j;
}

/* Writes s[0..len) as the value of {"s":...} and checks that jansson reads
 * back exactly the same bytes. */
static void assert_round_trip(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_char(&sb, '{');
	jsonw_key(&sb, "s");
	jsonw_string(&sb, s, len);
	strbuf_append_char(&sb, '}');
	json_t *j = parse(&sb);
	json_t *v = json_object_get(j, "s");
	assert_non_null(v);
	assert_true(json_is_string(v));
	assert_int_equal(json_string_length(v), len);
	if (len)
		assert_memory_equal(json_string_value(v), s, len);
	json_decref(j);
	strbuf_deinit(&sb);
}

/* Asserts that jsonw_string(s, len) writes exactly `want` (a C string),
 * comparing letters case-insensitively when `nocase` (hex digits in \u
 * escapes may be either case), and that the result round-trips. */
static void assert_written(const char *s, size_t len, const char *want, int nocase)
{
	struct strbuf sb = STRBUF_INIT;
	jsonw_string(&sb, s, len);
	assert_int_equal(sb.len, strlen(want));
	if (nocase ? strncasecmp(sb.data, want, sb.len) != 0 : memcmp(sb.data, want, sb.len) != 0)
		fail_msg("wrote %s, want %s", sb.data, want);
	assert_int_equal(sb.data[sb.len], '\0');
	strbuf_deinit(&sb);
	assert_round_trip(s, len);
}

/* ---- jsonw_string ------------------------------------------------------ */

static void test_string_plain(void **state)
{
	(void)state;
	assert_written("hello world", 11, "\"hello world\"", 0);
	assert_written("", 0, "\"\"", 0);
	/* '/' and DEL need no escape in JSON. */
	assert_written("a/b\x7f", 4, "\"a/b\x7f\"", 0);
}

static void test_string_quote_and_backslash(void **state)
{
	(void)state;
	assert_written("say \"hi\"", 8, "\"say \\\"hi\\\"\"", 0);
	assert_written("C:\\dir\\", 7, "\"C:\\\\dir\\\\\"", 0);
	assert_written("\\\"", 2, "\"\\\\\\\"\"", 0);
	/* A lone quote or backslash at either end. */
	assert_written("\"", 1, "\"\\\"\"", 0);
	assert_written("\\", 1, "\"\\\\\"", 0);
}

static void test_string_newline_cr_tab(void **state)
{
	(void)state;
	assert_written("a\nb\rc\td", 7, "\"a\\nb\\rc\\td\"", 0);
	assert_written("\r\n", 2, "\"\\r\\n\"", 0);
}

static void test_string_other_controls(void **state)
{
	(void)state;
	assert_written("\x01", 1, "\"\\u0001\"", 1);
	assert_written("\x08", 1, "\"\\u0008\"", 1); /* backspace */
	assert_written("\x0c", 1, "\"\\u000c\"", 1); /* form feed */
	assert_written("\x1b[0m", 4, "\"\\u001b[0m\"", 1);
	assert_written("\x1f", 1, "\"\\u001f\"", 1);
}

static void test_string_every_control_round_trips(void **state)
{
	(void)state;
	/* All 32 control bytes, each between plain letters. */
	char s[96];
	size_t n = 0;
	for (int c = 0; c < 0x20; c++) {
		s[n++] = 'x';
		s[n++] = (char)c;
		s[n++] = 'y';
	}
	assert_round_trip(s, n);
	/* And every printable ASCII byte, quote and backslash among them. */
	char p[0x7f - 0x20];
	for (int c = 0x20; c < 0x7f; c++)
		p[c - 0x20] = (char)c;
	assert_round_trip(p, sizeof(p));
}

static void test_string_nul_inside(void **state)
{
	(void)state;
	assert_written("a\0b", 3, "\"a\\u0000b\"", 1);
	assert_written("\0", 1, "\"\\u0000\"", 1);
	assert_written("\0\0", 2, "\"\\u0000\\u0000\"", 1);
}

static void test_string_utf8_passes_through(void **state)
{
	(void)state;
	static const char s[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5";
	assert_written(s, sizeof(s) - 1,
	               "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\"", 0);
	/* U+2028 LINE SEPARATOR is legal unescaped JSON. */
	assert_written("\xe2\x80\xa8", 3, "\"\xe2\x80\xa8\"", 0);
}

static void test_string_appends_after_existing(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_str(&sb, "[1,");
	jsonw_string(&sb, "a\"b\n", 4);
	strbuf_append_char(&sb, ']');
	assert_string_equal(sb.data, "[1,\"a\\\"b\\n\"]");
	json_t *j = parse(&sb);
	assert_string_equal(json_string_value(json_array_get(j, 1)), "a\"b\n");
	json_decref(j);
	strbuf_deinit(&sb);
}

static void test_string_long_with_escapes(void **state)
{
	(void)state;
	/* Long enough to grow the buffer several times mid-string, with
	 * escapes scattered through the runs of plain bytes. */
	size_t n = 10000;
	char *s = malloc(n);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = i % 97 == 0   ? '"'
		       : i % 89 == 0 ? '\0'
		       : i % 13 == 0 ? '\n'
		                     : (char)('a' + i % 26);
	assert_round_trip(s, n);
	free(s);
}

static void test_cstring(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	jsonw_cstring(&sb, "tab\there");
	assert_string_equal(sb.data, "\"tab\\there\"");
	strbuf_deinit(&sb);
}

/* ---- ids, fields, errors ----------------------------------------------- */

static void test_id_is_quoted_decimal(void **state)
{
	(void)state;
	const struct {
		uint64_t id;
		const char *want;
	} cases[] = {
	    {1, "\"1\""},
	    {1234567890123456789ULL, "\"1234567890123456789\""},
	    {INT64_MAX, "\"9223372036854775807\""},
	    {UINT64_MAX, "\"18446744073709551615\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_append_char(&sb, '[');
		jsonw_id(&sb, cases[i].id);
		strbuf_append_char(&sb, ']');
		assert_int_equal(sb.len, strlen(cases[i].want) + 2);
		assert_memory_equal(sb.data + 1, cases[i].want, sb.len - 2);
		/* A JSON string, not a number: JavaScript keeps every digit. */
		json_t *j = parse(&sb);
		json_t *v = json_array_get(j, 0);
		assert_true(json_is_string(v));
		assert_int_equal(strtoull(json_string_value(v), NULL, 10), cases[i].id);
		json_decref(j);
		strbuf_deinit(&sb);
	}
}

static void test_fields_make_an_object(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_char(&sb, '{');
	jsonw_field_id(&sb, "id", 9007199254740993ULL, 1); /* 2^53 + 1 */
	jsonw_field_str(&sb, "handle", "ada_l", 0);
	jsonw_field_str(&sb, "display_name", "Ada \"the\" L\xc3\xa9", 0);
	jsonw_field_u64(&sb, "followers_count", 0, 0);
	jsonw_field_u64(&sb, "tweets_count", 42, 0);
	strbuf_append_char(&sb, '}');
	assert_string_equal(sb.data, "{\"id\":\"9007199254740993\",\"handle\":\"ada_l\","
	                             "\"display_name\":\"Ada \\\"the\\\" L\xc3\xa9\","
	                             "\"followers_count\":0,\"tweets_count\":42}");
	json_t *j = parse(&sb);
	assert_int_equal(json_object_size(j), 5);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "9007199254740993");
	assert_string_equal(json_string_value(json_object_get(j, "handle")), "ada_l");
	assert_string_equal(json_string_value(json_object_get(j, "display_name")),
	                    "Ada \"the\" L\xc3\xa9");
	assert_true(json_is_integer(json_object_get(j, "followers_count")));
	assert_int_equal(json_integer_value(json_object_get(j, "followers_count")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "tweets_count")), 42);
	json_decref(j);
	strbuf_deinit(&sb);
}

static void test_error_shape(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	jsonw_error(&sb, "not_found", "no such user");
	assert_string_equal(sb.data, "{\"error\":\"no such user\",\"code\":\"not_found\"}");
	json_t *j = parse(&sb);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(j, "error")), "no such user");
	assert_string_equal(json_string_value(json_object_get(j, "code")), "not_found");
	json_decref(j);
	strbuf_deinit(&sb);
}

static void test_error_message_is_escaped(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	const char *msg = "field \"text\" has\ta \\ and a\nnewline";
	jsonw_error(&sb, "invalid_field", msg);
	json_t *j = parse(&sb);
	assert_string_equal(json_string_value(json_object_get(j, "error")), msg);
	assert_string_equal(json_string_value(json_object_get(j, "code")), "invalid_field");
	json_decref(j);
	strbuf_deinit(&sb);
}

/* ---- strbuf ------------------------------------------------------------ */

static void test_strbuf_growth(void **state)
{
	(void)state;
	struct strbuf sb;
	strbuf_init(&sb);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	/* 100000 appends of 1..7 bytes, a NUL among them, checked at the end
	 * against the same bytes laid out by hand. */
	static const char piece[] = "ab\0cdef";
	size_t total = 0;
	for (int i = 0; i < 100000; i++)
		total += (size_t)(i % 7) + 1;
	char *want = malloc(total);
	assert_non_null(want);
	size_t off = 0;
	for (int i = 0; i < 100000; i++) {
		size_t n = (size_t)(i % 7) + 1;
		strbuf_append(&sb, piece, n);
		memcpy(want + off, piece, n);
		off += n;
	}
	assert_int_equal(sb.len, total);
	assert_true(sb.cap > sb.len);
	assert_memory_equal(sb.data, want, total);
	assert_int_equal(sb.data[sb.len], '\0');
	free(want);
	strbuf_deinit(&sb);
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
}

static void test_strbuf_char_str_appendf(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 1000; i++)
		strbuf_append_char(&sb, (char)('0' + i % 10));
	assert_int_equal(sb.len, 1000);
	assert_int_equal(sb.data[999], '9');
	assert_int_equal(sb.data[1000], '\0');
	strbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.data, "");
	strbuf_append_str(&sb, "n=");
	strbuf_appendf(&sb, "%d/%s/%05.1f", -12, "x", 3.14159);
	assert_string_equal(sb.data, "n=-12/x/003.1");
	assert_int_equal(sb.len, strlen("n=-12/x/003.1"));
	strbuf_deinit(&sb);
}

static void test_strbuf_append_u64(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_u64(&sb, 0);
	assert_string_equal(sb.data, "0");
	assert_int_equal(sb.len, 1);
	strbuf_append_char(&sb, ' ');
	strbuf_append_u64(&sb, UINT64_MAX);
	assert_string_equal(sb.data, "0 18446744073709551615");
	assert_int_equal(sb.len, 22);
	strbuf_append_char(&sb, ' ');
	strbuf_append_u64(&sb, 10);
	assert_string_equal(sb.data, "0 18446744073709551615 10");
	strbuf_deinit(&sb);
}

static void test_strbuf_detach_empty(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	size_t len = 99;
	char *p = strbuf_detach(&sb, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	/* After a reset the buffer is empty but allocated: same result. */
	strbuf_append_str(&sb, "gone");
	strbuf_reset(&sb);
	p = strbuf_detach(&sb, NULL);
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
}

static void test_strbuf_detach_hands_over(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	strbuf_append(&sb, "a\0b", 3);
	size_t len = 0;
	char *p = strbuf_detach(&sb, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 4); /* NUL-terminated too */
	/* sb is empty again and independent of p. */
	assert_null(sb.data);
	assert_int_equal(sb.len, 0);
	strbuf_append_str(&sb, "new");
	assert_string_equal(sb.data, "new");
	assert_memory_equal(p, "a\0b", 4);
	free(p);
	strbuf_deinit(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_string_plain),
	    cmocka_unit_test(test_string_quote_and_backslash),
	    cmocka_unit_test(test_string_newline_cr_tab),
	    cmocka_unit_test(test_string_other_controls),
	    cmocka_unit_test(test_string_every_control_round_trips),
	    cmocka_unit_test(test_string_nul_inside),
	    cmocka_unit_test(test_string_utf8_passes_through),
	    cmocka_unit_test(test_string_appends_after_existing),
	    cmocka_unit_test(test_string_long_with_escapes),
	    cmocka_unit_test(test_cstring),
	    cmocka_unit_test(test_id_is_quoted_decimal),
	    cmocka_unit_test(test_fields_make_an_object),
	    cmocka_unit_test(test_error_shape),
	    cmocka_unit_test(test_error_message_is_escaped),
	    cmocka_unit_test(test_strbuf_growth),
	    cmocka_unit_test(test_strbuf_char_str_appendf),
	    cmocka_unit_test(test_strbuf_append_u64),
	    cmocka_unit_test(test_strbuf_detach_empty),
	    cmocka_unit_test(test_strbuf_detach_hands_over),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
