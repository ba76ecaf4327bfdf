/*
 * test_fuzzy — unit tests for search/fuzzy.c: the edit budget by word
 * length, the edit distance (with swaps of neighbours, in code points),
 * and the promise deletion variants make: two words within k edits share a
 * variant; whole handles (digits, '_', up to 30 characters) likewise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "search/fuzzy.h"

static unsigned dist(const char *a, const char *b, unsigned max)
{
	return fuzzy_distance(a, strlen(a), b, strlen(b), max);
}

static void test_budget(void **state)
{
	(void)state;
	assert_int_equal(fuzzy_max_edits(2), 0);
	assert_int_equal(fuzzy_max_edits(3), 1);
	assert_int_equal(fuzzy_max_edits(7), 1);
	assert_int_equal(fuzzy_max_edits(8), 2);
	assert_int_equal(fuzzy_max_edits(FUZZY_MAX_CHARS), 2);
	assert_int_equal(fuzzy_max_edits(FUZZY_MAX_CHARS + 1), 0);
	assert_int_equal(fuzzy_chars("café", strlen("café")), 4);
}

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(dist("hello", "hello", 2), 0);
	assert_int_equal(dist("hello", "helo", 2), 1);
	assert_int_equal(dist("hello", "hallo", 2), 1);
	assert_int_equal(dist("hello", "helllo", 2), 1);
	assert_int_equal(dist("hello", "hlelo", 2), 1); /* a swap is one edit */
	assert_int_equal(dist("hello", "hxllx", 2), 2);
	assert_int_equal(dist("hello", "world", 2), 3);   /* more than max: max + 1 */
	assert_int_equal(dist("kitten", "sitting", 1), 2);
	assert_int_equal(dist("café", "cafe", 1), 1);     /* code points, not bytes */
	assert_int_equal(dist("naïve", "naive", 2), 1);
	assert_int_equal(dist("abc", "abcdef", 2), 3);    /* lengths alone say too far */
}

struct variants {
	char *v[512];
	size_t n;
};

static void collect(void *arg, const char *v, size_t len)
{
	struct variants *vs = arg;
	assert_true(vs->n < 512);
	vs->v[vs->n] = strndup(v, len);
	vs->n++;
}

static void variants_of(const char *w, struct variants *vs)
{
	vs->n = 0;
	fuzzy_variants(w, strlen(w), fuzzy_max_edits(fuzzy_chars(w, strlen(w))), collect, vs);
}

static void free_variants(struct variants *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		free(vs->v[i]);
}

static bool share(struct variants *a, struct variants *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (strcmp(a->v[i], b->v[j]) == 0)
				return true;
	return false;
}

static void test_variants(void **state)
{
	(void)state;
	struct variants vs;
	variants_of("abc", &vs);
	assert_int_equal(vs.n, 4); /* itself and three deletions */
	assert_string_equal(vs.v[0], "abc");
	assert_string_equal(vs.v[1], "bc");
	assert_string_equal(vs.v[3], "ab");
	free_variants(&vs);
	variants_of("café", &vs);
	assert_string_equal(vs.v[4], "caf"); /* whole code points go */
	free_variants(&vs);
	variants_of("abcdefgh", &vs);
	assert_int_equal(vs.n, 1 + 8 + 28); /* two deletions at eight letters */
	free_variants(&vs);
}

/* Every pair within budget meets on a variant; that is what the index
 * relies on to find candidates without scanning. */
static void test_neighbours_meet(void **state)
{
	(void)state;
	static const char *pairs[][2] = {
	    {"hello", "helo"},         {"hello", "hallo"},       {"hello", "helllo"},
	    {"hello", "hlelo"},        {"elephants", "elephnats"}, {"elephants", "elefants"},
	    {"elephants", "elephantine"}, {"enormous", "enormus"},  {"creatures", "cretures"},
	    {"abcdefgh", "axcdefgy"},  {"abcdefgh", "abcdef"},   {"abcdefg", "abcdefghi"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *q = pairs[i][1], *w = pairs[i][0];
		unsigned edits = fuzzy_max_edits(strlen(q));
		bool near = dist(q, w, edits) <= edits;
		struct variants a, b;
		variants_of(q, &a);
		variants_of(w, &b);
		if (near)
			assert_true(share(&a, &b));
		free_variants(&a);
		free_variants(&b);
	}
}

static void handle_variants(const char *h, struct variants *vs)
{
	vs->n = 0;
	fuzzy_variants(h, strlen(h), fuzzy_handle_edits(strlen(h)), collect, vs);
}

/* A handle is tolerant as a word of its length is, and up to 30
 * characters (HANDLE_MAX), past a word's limit. */
static void test_handles(void **state)
{
	(void)state;
	assert_int_equal(fuzzy_handle_edits(2), 0);
	assert_int_equal(fuzzy_handle_edits(4), 1);
	assert_int_equal(fuzzy_handle_edits(12), 2);
	assert_int_equal(fuzzy_handle_edits(FUZZY_MAX_CHARS + 1), 2);
	assert_int_equal(fuzzy_handle_edits(FUZZY_HANDLE_MAX_CHARS), 2);
	assert_int_equal(fuzzy_handle_edits(FUZZY_HANDLE_MAX_CHARS + 1), 0);

	static const char *pairs[][2] = {
	    {"alice_5b74a9", "alxce_5b74a9"},  /* the issue's */
	    {"alice_5b74a9", "alice_5b47a9"},  /* digits swapped */
	    {"alice_5b74a9", "alice5b74a9x"},  /* two edits */
	    {"abcdefghijklmnopqrstuvwxyz_123", "abcdefghijklmnopqrstuvwxyz_13"},
	    {"abcdefghijklmnopqrstuvwxyz_123", "abcdefghijklmnopqrstuvxwyz_124"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const char *q = pairs[i][1], *h = pairs[i][0];
		unsigned edits = fuzzy_handle_edits(strlen(q));
		assert_true(dist(q, h, edits) <= edits);
		struct variants a, b;
		handle_variants(q, &a);
		handle_variants(h, &b);
		assert_true(share(&a, &b));
		free_variants(&a);
		free_variants(&b);
	}
	/* three edits are past any handle's budget */
	assert_int_equal(dist("alice_5b74a9", "axice_5b7xa9x", 2), 3);
	struct variants vs;
	handle_variants("abcdefghijklmnopqrstuvwxyz_123", &vs);
	assert_int_equal(vs.n, 1 + 30 + 435); /* two deletions at thirty */
	free_variants(&vs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_variants),
	    cmocka_unit_test(test_neighbours_meet),
	    cmocka_unit_test(test_handles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
