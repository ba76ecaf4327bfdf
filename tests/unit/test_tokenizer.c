/*
 * test_tokenizer — unit tests for search/tokenizer.c, the "chirp" FTS5
 * tokenizer, in a real in-memory FTS5 table: stemming, case and diacritics,
 * hashtags and mentions, prefixes, and the words and terms it reports to C
 * code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/tokenizer.h"

static const char *const docs[] = {
    /* rowid 1.. */
    "I was Running to the Café",
    "she runs every day #running",
    "hello @bob and #Rust_lang",
    "the quick brown fox",
    "version 2.0 released, 42 fixes",
};

static int setup(void **state)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(search_tokenizer_register(db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='chirp')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t(rowid, x) VALUES (?1, ?2)", -1, &st,
					    NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		sqlite3_bind_int(st, 1, (int)i + 1);
		sqlite3_bind_text(st, 2, docs[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	sqlite3_close(*state);
	return 0;
}

/* The matching rowids as a string like "1,2". */
static const char *match(sqlite3 *db, const char *expr)
{
	static char out[64];
	sqlite3_stmt *st;
	out[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, expr, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char one[24];
		snprintf(one, sizeof(one), "%s%lld", out[0] ? "," : "", sqlite3_column_int64(st, 0));
		strcat(out, one);
	}
	sqlite3_finalize(st);
	return out;
}

static void test_stemming(void **state)
{
	sqlite3 *db = *state;
	assert_string_equal(match(db, "\"run\""), "1,2");
	assert_string_equal(match(db, "\"running\""), "1,2");
	assert_string_equal(match(db, "\"runs\""), "1,2");
	assert_string_equal(match(db, "\"release\""), "5");
}

static void test_case_and_diacritics(void **state)
{
	sqlite3 *db = *state;
	assert_string_equal(match(db, "\"cafe\""), "1");
	assert_string_equal(match(db, "\"CAFÉ\""), "1");
	assert_string_equal(match(db, "\"QUICK brown\""), "4");
}

static void test_tags_and_mentions(void **state)
{
	sqlite3 *db = *state;
	assert_string_equal(match(db, "\"#running\""), "2");
	assert_string_equal(match(db, "\"#rust_lang\""), "3");
	assert_string_equal(match(db, "\"rust_lang\""), "3"); /* the bare word too */
	assert_string_equal(match(db, "\"@bob\""), "3");
	assert_string_equal(match(db, "\"bob\""), "3");
	assert_string_equal(match(db, "\"#fox\""), "");        /* the tag is not the word */
}

static void test_prefix_matches_words_as_written(void **state)
{
	sqlite3 *db = *state;
	assert_string_equal(match(db, "\"runni\" *"), "1,2");
	assert_string_equal(match(db, "\"qui\" *"), "4");
	assert_string_equal(match(db, "\"relea\" *"), "5");
}

static void test_digits_are_not_stemmed(void **state)
{
	sqlite3 *db = *state;
	assert_string_equal(match(db, "\"42\""), "5");
	assert_string_equal(match(db, "\"2\""), "5");
}

struct words {
	char buf[256];
};

static void collect(void *arg, const char *w, size_t len)
{
	struct words *ws = arg;
	if (ws->buf[0])
		strcat(ws->buf, " ");
	strncat(ws->buf, w, len);
}

static void test_words(void **state)
{
	sqlite3 *db = *state;
	struct search_words *sw = search_words_new(db);
	assert_non_null(sw);
	struct words ws = {""};
	const char *text = "Running à la Café, #Tags @Someone a#b !!";
	search_words(sw, text, strlen(text), false, collect, &ws);
	assert_string_equal(ws.buf, "running a la cafe #tags @someone ab");
	ws.buf[0] = '\0';
	search_words(sw, text, strlen(text), true, collect, &ws);
	assert_string_equal(ws.buf, "run a la cafe #tags @someone ab");
	search_words_free(sw);
}

static void collect_term(void *arg, const char *t, size_t len, unsigned pos)
{
	struct words *ws = arg;
	size_t used = strlen(ws->buf);
	snprintf(ws->buf + used, sizeof(ws->buf) - used, "%s%.*s:%u", used ? " " : "", (int)len, t,
		 pos);
}

/* What a document is indexed under, for an index that is not FTS5
 * (search/postgres.c): stems and the words as written at one position,
 * tags whole and bare at one position, positions counting words. */
static void test_terms(void **state)
{
	sqlite3 *db = *state;
	struct search_words *sw = search_words_new(db);
	assert_non_null(sw);
	struct words ws = {""};
	const char *text = "Running à la Café, #Tags @bob v2 a#b !!";
	search_terms(sw, text, strlen(text), collect_term, &ws);
	assert_string_equal(ws.buf, "run:0 running:0 a:1 la:2 cafe:3 #tags:4 tag:4 tags:4 @bob:5"
				    " bob:5 v2:6 ab:7");
	ws.buf[0] = '\0';
	search_terms(sw, "", 0, collect_term, &ws);
	assert_string_equal(ws.buf, "");
	search_words_free(sw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stemming),
	    cmocka_unit_test(test_case_and_diacritics),
	    cmocka_unit_test(test_tags_and_mentions),
	    cmocka_unit_test(test_prefix_matches_words_as_written),
	    cmocka_unit_test(test_digits_are_not_stemmed),
	    cmocka_unit_test(test_words),
	    cmocka_unit_test(test_terms),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
