/*
 * test_search_query — unit tests for search/query.c, the search query
 * language: words, "phrases", prefix* and from:handle, and everything else
 * taken as text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "search/search.h"

static struct search_query parse(const char *q)
{
	struct search_query out;
	search_query_parse(q, strlen(q), &out);
	return out;
}

static void assert_term(const struct search_query *q, size_t i, enum search_term_kind kind,
			const char *text)
{
	assert_true(i < q->nterms);
	assert_int_equal(q->terms[i].kind, kind);
	assert_int_equal(q->terms[i].len, strlen(text));
	assert_memory_equal(q->terms[i].text, text, strlen(text));
}

static void test_words(void **state)
{
	(void)state;
	struct search_query q = parse("  hello\tworld\n");
	assert_int_equal(q.nterms, 2);
	assert_term(&q, 0, SEARCH_WORD, "hello");
	assert_term(&q, 1, SEARCH_WORD, "world");
	assert_null(q.from);
	q = parse("");
	assert_int_equal(q.nterms, 0);
	q = parse(" \t ");
	assert_int_equal(q.nterms, 0);
}

static void test_phrases(void **state)
{
	(void)state;
	struct search_query q = parse("a \"quick brown\" fox");
	assert_int_equal(q.nterms, 3);
	assert_term(&q, 0, SEARCH_WORD, "a");
	assert_term(&q, 1, SEARCH_PHRASE, "quick brown");
	assert_term(&q, 2, SEARCH_WORD, "fox");
	q = parse("x\"y z\"w");
	assert_int_equal(q.nterms, 3);
	assert_term(&q, 1, SEARCH_PHRASE, "y z");
	q = parse("\"\"");
	assert_int_equal(q.nterms, 0);
}

static void test_unbalanced_quote_is_text(void **state)
{
	(void)state;
	struct search_query q = parse("\"never closed here");
	assert_int_equal(q.nterms, 3);
	assert_term(&q, 0, SEARCH_WORD, "never");
	assert_term(&q, 2, SEARCH_WORD, "here");
	q = parse("one \"two\" \"three");
	assert_int_equal(q.nterms, 3);
	assert_term(&q, 1, SEARCH_PHRASE, "two");
	assert_term(&q, 2, SEARCH_WORD, "three");
}

static void test_prefixes(void **state)
{
	(void)state;
	struct search_query q = parse("run* ab*** * **");
	assert_int_equal(q.nterms, 2);
	assert_term(&q, 0, SEARCH_PREFIX, "run");
	assert_term(&q, 1, SEARCH_PREFIX, "ab");
	q = parse("a*b");
	assert_term(&q, 0, SEARCH_WORD, "a*b");
}

static void test_from(void **state)
{
	(void)state;
	struct search_query q = parse("cats from:Alice_1");
	assert_int_equal(q.nterms, 1);
	assert_non_null(q.from);
	assert_int_equal(q.from_len, 7);
	assert_memory_equal(q.from, "Alice_1", 7);
	q = parse("FROM:@bob");
	assert_int_equal(q.nterms, 0);
	assert_memory_equal(q.from, "bob", 3);
	/* Not a handle: just text. */
	q = parse("from: from:@ from:a-b from:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_null(q.from);
	assert_int_equal(q.nterms, 4);
	assert_term(&q, 0, SEARCH_WORD, "from:");
	assert_term(&q, 2, SEARCH_WORD, "from:a-b");
}

static void test_operators_are_words(void **state)
{
	(void)state;
	struct search_query q = parse("NEAR(a b) OR NOT {text}: ^x");
	assert_int_equal(q.nterms, 6);
	assert_term(&q, 0, SEARCH_WORD, "NEAR(a");
	assert_term(&q, 2, SEARCH_WORD, "OR");
	assert_term(&q, 4, SEARCH_WORD, "{text}:");
}

static void test_term_cap(void **state)
{
	(void)state;
	char q[256] = "";
	for (int i = 0; i < 40; i++)
		strcat(q, "w ");
	struct search_query out = parse(q);
	assert_int_equal(out.nterms, SEARCH_TERMS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words),
	    cmocka_unit_test(test_phrases),
	    cmocka_unit_test(test_unbalanced_quote_is_text),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_from),
	    cmocka_unit_test(test_operators_are_words),
	    cmocka_unit_test(test_term_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
