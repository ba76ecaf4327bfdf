/*
 * test_feed — unit tests for timeline/feed's read side: feed_hydrate, the
 * one loop that turns ids into a page of tweets for the home feed and for
 * search, and feed_tweet with the tweet cache port behind it.
 *
 * The store is a fake (fake_store.h) and the ids come from a list, so each
 * case says exactly which tweets exist. Covers: a page in source order
 * with its count and id range; deleted tweets (a tombstone in the cache,
 * or "not found" in the store) left out, reported to the source, and the
 * page refilled from further down; a source that runs out; at most four
 * reads of the source for a page of deleted tweets; a store error stops
 * the page and is returned; an empty source gives "[]"; tweets read once
 * from the store are then served by the cache, and a posted tweet's JSON
 * is served as given (by feed_tweet_cached too, which never reads the
 * store, and tells a miss); the reader's "liked" spliced into each tweet
 * from one batched read per page (none for an anonymous reader); and
 * feed_new fails cleanly when an adapter cannot be opened.
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

#include "fake_store.h"
#include "timeline/feed.h"

static struct feed *feed_open(void)
{
	struct feed_options opt = {
		.timelines = &timeline_memory_ops,
		.tweet_cache = &tweet_cache_memory_ops,
		.timeline_cap = 800,
		.timeline_bytes = 1 << 20,
		.celebrity_threshold = 1000,
		.tweet_cache_bytes = 1 << 20,
		.fanout_queue = 16,
	};
	struct strbuf err = STRBUF_INIT;
	struct feed *f = feed_new(fake_store_reset(), &opt, &err);
	assert_non_null(f);
	assert_null(err.data);
	return f;
}

/* ---- a source of ids: a list, read in pages ---- */

struct list_source {
	const uint64_t *ids;
	size_t n, pos;
	unsigned reads;
	uint64_t gone[64];
	size_t ngone;
};

static int list_next(void *arg, size_t want, uint64_t *ids, size_t *n)
{
	struct list_source *l = arg;
	l->reads++;
	*n = 0;
	while (*n < want && l->pos < l->n)
		ids[(*n)++] = l->ids[l->pos++];
	return STORE_OK;
}

static void list_gone(void *arg, uint64_t id)
{
	struct list_source *l = arg;
	assert_true(l->ngone < 64);
	l->gone[l->ngone++] = id;
}

/* ids[i] = first - i, newest first. */
static void fill_desc(uint64_t *ids, size_t n, uint64_t first)
{
	for (size_t i = 0; i < n; i++)
		ids[i] = first - i;
}

/* Hydrates `limit` from the list; checks the JSON is an array of exactly
 * the tweets `want` (in order) and the counts match. */
static int hydrate_expect(struct feed *f, struct list_source *l, size_t limit,
			  const uint64_t *want, size_t nwant)
{
	struct feed_id_source src = {.next = list_next, .gone = list_gone, .arg = l};
	struct strbuf out = STRBUF_INIT;
	strbuf_append_str(&out, "x"); /* appended to, not replaced */
	struct feed_hydrated res;
	int rc = feed_hydrate(f, &fake.reader, 0, &src, limit, &out, &res);
	if (rc == STORE_OK) {
		assert_int_equal(out.data[0], 'x');
		json_error_t jerr;
		json_t *a = json_loadb(out.data + 1, out.len - 1, 0, &jerr);
		assert_non_null(a);
		assert_true(json_is_array(a));
		assert_int_equal(json_array_size(a), nwant);
		assert_int_equal(res.n, nwant);
		uint64_t hi = 0, lo = 0;
		for (size_t i = 0; i < nwant; i++) {
			char id[24];
			snprintf(id, sizeof(id), "%llu", (unsigned long long)want[i]);
			const char *got = json_string_value(json_object_get(json_array_get(a, i), "id"));
			assert_non_null(got);
			assert_string_equal(got, id);
			if (!hi || want[i] > hi)
				hi = want[i];
			if (!lo || want[i] < lo)
				lo = want[i];
		}
		assert_int_equal(res.newest, hi);
		assert_int_equal(res.oldest, lo);
		json_decref(a);
	}
	strbuf_deinit(&out);
	return rc;
}

/* ---- cases ---- */

static void test_page_in_source_order(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[10];
	fill_desc(ids, 10, 1010);
	struct list_source l = {.ids = ids, .n = 10};
	assert_int_equal(hydrate_expect(f, &l, 5, ids, 5), STORE_OK);
	assert_int_equal(l.reads, 1);
	assert_int_equal(l.ngone, 0);

	/* Any order the source gives (relevance) is kept; the range is by id. */
	uint64_t mixed[] = {1003, 1009, 1001, 1005};
	struct list_source m = {.ids = mixed, .n = 4};
	assert_int_equal(hydrate_expect(f, &m, 4, mixed, 4), STORE_OK);
	feed_free(f);
}

static void test_deleted_are_skipped_and_refilled(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[20];
	fill_desc(ids, 20, 1020);
	/* Gone from the store, and deleted through the feed (a tombstone;
	 * the fake store still has it, so only the cache can tell). */
	fake_tweet_set(1019, FAKE_GONE);
	fake_tweet_set(1017, FAKE_GONE);
	feed_on_delete(f, 1, 1018);
	struct list_source l = {.ids = ids, .n = 20};
	const uint64_t want[] = {1020, 1016, 1015, 1014, 1013};
	assert_int_equal(hydrate_expect(f, &l, 5, want, 5), STORE_OK);
	assert_int_equal(l.reads, 2); /* 5, then the 3 lost */
	assert_int_equal(l.ngone, 3);
	assert_int_equal(l.gone[0], 1019);
	assert_int_equal(l.gone[1], 1018);
	assert_int_equal(l.gone[2], 1017);
	feed_free(f);
}

static void test_short_source_ends_the_page(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[3];
	fill_desc(ids, 3, 1100);
	fake_tweet_set(1099, FAKE_GONE);
	struct list_source l = {.ids = ids, .n = 3};
	const uint64_t want[] = {1100, 1098};
	assert_int_equal(hydrate_expect(f, &l, 10, want, 2), STORE_OK);
	assert_int_equal(l.reads, 1); /* a short read: the source has no more */

	struct list_source empty = {.ids = ids, .n = 0};
	assert_int_equal(hydrate_expect(f, &empty, 10, NULL, 0), STORE_OK);
	feed_free(f);
}

static void test_refills_are_bounded(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[40];
	fill_desc(ids, 40, 1240);
	for (size_t i = 0; i < 40; i++)
		fake_tweet_set(ids[i], FAKE_GONE);
	struct list_source l = {.ids = ids, .n = 40};
	assert_int_equal(hydrate_expect(f, &l, 5, NULL, 0), STORE_OK);
	assert_int_equal(l.reads, 4);
	assert_int_equal(l.ngone, 20);
	feed_free(f);
}

static void test_store_error_is_returned(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[10];
	fill_desc(ids, 10, 1310);
	fake_tweet_set(1308, FAKE_BROKEN);
	struct list_source l = {.ids = ids, .n = 10};
	assert_int_equal(hydrate_expect(f, &l, 5, NULL, 0), STORE_ERROR);
	assert_int_equal(l.ngone, 0); /* an error is not a delete */
	assert_int_equal(l.reads, 1);
	feed_free(f);
}

static void test_cache_serves_what_it_has(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[5];
	fill_desc(ids, 5, 1405);
	struct list_source l = {.ids = ids, .n = 5};
	assert_int_equal(hydrate_expect(f, &l, 5, ids, 5), STORE_OK);
	unsigned reads = atomic_load(&fake.tweet_reads);
	assert_int_equal(reads, 5);
	/* Again: all from the cache. */
	l.pos = 0;
	assert_int_equal(hydrate_expect(f, &l, 5, ids, 5), STORE_OK);
	assert_int_equal(atomic_load(&fake.tweet_reads), reads);
	struct feed_stats st;
	feed_stats(f, &st);
	assert_int_equal(st.cache.hits, 5);
	assert_int_equal(st.cache.entries, 5);

	/* A posted tweet is served as the writer rendered it, without a
	 * store read (the fake store does not even have it), with the
	 * reader's fields spliced in (none liked: an anonymous reader). */
	static const char json[] = "{\"id\":\"2500\",\"posted\":true}";
	struct tweet t = {.id = 2500, .author_id = 1};
	feed_on_post(f, &t, json, sizeof(json) - 1);
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(feed_tweet(f, &fake.reader, 2500, &out), STORE_OK);
	assert_string_equal(out.data, "{\"id\":\"2500\",\"posted\":true,\"liked\":false,\"retweeted\":false}");
	assert_int_equal(atomic_load(&fake.tweet_reads), reads);

	/* The cache alone (what an event loop may ask): the same JSON on a
	 * hit, nothing and no store read on a miss. */
	int rc = -100;
	strbuf_reset(&out);
	assert_true(feed_tweet_cached(f, 2500, &out, &rc));
	assert_int_equal(rc, STORE_OK);
	assert_string_equal(out.data, "{\"id\":\"2500\",\"posted\":true,\"liked\":false,\"retweeted\":false}");
	strbuf_reset(&out);
	assert_false(feed_tweet_cached(f, 1999, &out, &rc));
	assert_int_equal(out.len, 0);
	assert_int_equal(atomic_load(&fake.tweet_reads), reads);

	/* Deleted: not found, nothing appended, even though cached before. */
	feed_on_delete(f, 1, 2500);
	feed_on_delete(f, 1, 1405);
	strbuf_reset(&out);
	assert_int_equal(feed_tweet(f, &fake.reader, 2500, &out), STORE_NOT_FOUND);
	assert_int_equal(feed_tweet(f, &fake.reader, 1405, &out), STORE_NOT_FOUND);
	assert_true(feed_tweet_cached(f, 1405, &out, &rc));
	assert_int_equal(rc, STORE_NOT_FOUND);
	assert_int_equal(out.len, 0);
	strbuf_deinit(&out);
	feed_free(f);
}

/* Blocked and muted authors leave a hydrated page, from one read of the
 * reader's relations per page; a muted author stays where mutes do not
 * apply (search, threads); a blocker's tweet is not found by the blocked. */
static void test_blocked_and_muted_authors_are_left_out(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[10];
	fill_desc(ids, 10, 1500);
	struct {
		uint64_t viewer;
		bool show_muted;
		size_t want;
	} cases[] = {{FAKE_MUTER, false, 0}, {FAKE_MUTER, true, 10}, {FAKE_BLOCKED, false, 0},
		     {FAKE_BLOCKED, true, 0},    {FAKE_LIKER, false, 10}, {0, false, 10}};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct list_source l = {.ids = ids, .n = 10};
		struct feed_id_source src = {.next = list_next, .arg = &l,
					     .show_muted = cases[c].show_muted};
		struct strbuf out = STRBUF_INIT;
		struct feed_hydrated res;
		unsigned before = atomic_load(&fake.relation_reads);
		assert_int_equal(feed_hydrate(f, &fake.reader, cases[c].viewer, &src, 10, &out, &res),
				 STORE_OK);
		assert_int_equal(res.n, cases[c].want);
		assert_int_equal(atomic_load(&fake.relation_reads) - before, cases[c].viewer ? 1 : 0);
		json_error_t jerr;
		json_t *a = json_loadb(out.data, out.len, 0, &jerr);
		assert_non_null(a);
		assert_int_equal(json_array_size(a), cases[c].want);
		json_decref(a);
		strbuf_deinit(&out);
	}
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(feed_tweet_for(f, &fake.reader, FAKE_BLOCKED, 1497, &out), STORE_NOT_FOUND);
	assert_int_equal(out.len, 0);
	assert_int_equal(feed_tweet_for(f, &fake.reader, FAKE_MUTER, 1497, &out), STORE_OK);
	strbuf_deinit(&out);
	feed_free(f);
}

/* The reader's state is spliced into the shared JSON: one read of it per
 * page, none for an anonymous reader, and the cache keeps no trace of it. */
static void test_viewer_state_is_spliced_per_page(void **state)
{
	(void)state;
	struct feed *f = feed_open();
	uint64_t ids[10];
	fill_desc(ids, 10, 1500);
	for (int pass = 0; pass < 2; pass++) { /* from the store, then from the cache */
		for (uint64_t viewer = 0; viewer <= FAKE_LIKER; viewer += FAKE_LIKER) {
			struct list_source l = {.ids = ids, .n = 10};
			struct feed_id_source src = {.next = list_next, .arg = &l};
			struct strbuf out = STRBUF_INIT;
			struct feed_hydrated res;
			unsigned before = atomic_load(&fake.liked_reads);
			assert_int_equal(feed_hydrate(f, &fake.reader, viewer, &src, 10, &out, &res),
					 STORE_OK);
			assert_int_equal(atomic_load(&fake.liked_reads) - before, viewer ? 1 : 0);
			json_error_t jerr;
			json_t *a = json_loadb(out.data, out.len, 0, &jerr);
			assert_non_null(a);
			assert_int_equal(json_array_size(a), 10);
			for (size_t i = 0; i < 10; i++) {
				json_t *liked = json_object_get(json_array_get(a, i), "liked");
				assert_true(json_is_boolean(liked));
				assert_int_equal(json_is_true(liked),
						 viewer == FAKE_LIKER && ids[i] % 3 == 0);
			}
			json_decref(a);
			strbuf_deinit(&out);
		}
	}
	/* One tweet, for a reader: the same splice. */
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(feed_tweet_for(f, &fake.reader, FAKE_LIKER, 1497, &out), STORE_OK);
	assert_non_null(strstr(out.data, "\"liked\":true,"));
	strbuf_reset(&out);
	assert_int_equal(feed_tweet_for(f, &fake.reader, FAKE_LIKER, 1498, &out), STORE_OK);
	assert_non_null(strstr(out.data, "\"liked\":false,"));
	strbuf_deinit(&out);
	feed_free(f);
}

/* ---- an adapter that cannot open ---- */

static struct tweet_cache *broken_open(const struct tweet_cache_options *opt, struct strbuf *err)
{
	(void)opt;
	strbuf_append_str(err, "cache unreachable");
	return NULL;
}

static void test_new_fails_when_an_adapter_cannot_open(void **state)
{
	(void)state;
	const struct tweet_cache_ops broken = {.name = "broken", .open = broken_open};
	struct feed_options opt = {
		.timelines = &timeline_memory_ops,
		.tweet_cache = &broken,
		.timeline_cap = 800,
		.timeline_bytes = 1 << 20,
		.tweet_cache_bytes = 1 << 20,
		.fanout_queue = 16,
	};
	struct strbuf err = STRBUF_INIT;
	assert_null(feed_new(fake_store_reset(), &opt, &err));
	assert_string_equal(err.data, "cache unreachable");
	strbuf_deinit(&err); /* and the timelines opened before are closed: ASan */
	feed_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_in_source_order),
	    cmocka_unit_test(test_deleted_are_skipped_and_refilled),
	    cmocka_unit_test(test_short_source_ends_the_page),
	    cmocka_unit_test(test_refills_are_bounded),
	    cmocka_unit_test(test_store_error_is_returned),
	    cmocka_unit_test(test_cache_serves_what_it_has),
	    cmocka_unit_test(test_viewer_state_is_spliced_per_page),
	    cmocka_unit_test(test_blocked_and_muted_authors_are_left_out),
	    cmocka_unit_test(test_new_fails_when_an_adapter_cannot_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
