/*
 * test_tweet_cache — unit tests for the tweet cache port (timeline/
 * tweet_cache.h), through its in-memory adapter's ops.
 *
 * Covers what feed hydration relies on: a hit appends exactly the bytes
 * that were put (NULs included) after what the buffer already holds; a
 * miss appends nothing; put never overwrites; mark_deleted leaves a tombstone
 * that answers "deleted" and that a racing put cannot undo; prefetch
 * changes no answer and no count; the byte
 * budget evicts the least recently used entries (by append, not by put)
 * and holds each of the 64 shards to max_bytes/64; and concurrent put,
 * append and forget keep every hit intact and never resurrect a forgotten
 * tweet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeline/tweet_cache.h"

#define SHARDS 64 /* as in tweet_cache_memory.c: the budget is per shard */

static struct tweet_cache *cache_open(size_t max_bytes)
{
	struct tweet_cache_options opt = {.max_bytes = max_bytes};
	struct strbuf err = STRBUF_INIT;
	struct tweet_cache *c = tweet_cache_memory_ops.open(&opt, &err);
	assert_non_null(c);
	assert_null(err.data);
	return c;
}

static struct tweet_cache_stats stats(struct tweet_cache *c)
{
	struct tweet_cache_stats st;
	c->ops->stats(c, &st);
	return st;
}

static void test_hit_appends_exact_bytes(void **state)
{
	(void)state;
	struct tweet_cache *c = cache_open(1 << 20);
	static const char json[] = "{\"id\":\"1\",\"text\":\"a\0b \xc3\xa9\"}";
	c->ops->put(c, 1, json, sizeof(json) - 1);

	struct strbuf out = STRBUF_INIT;
	strbuf_append_str(&out, "[");
	assert_int_equal(c->ops->get(c, 1, &out), TWEET_CACHE_HIT);
	assert_int_equal(out.len, 1 + sizeof(json) - 1);
	assert_memory_equal(out.data, "[", 1);
	assert_memory_equal(out.data + 1, json, sizeof(json) - 1);

	/* Twice: appended again, the entry is still whole. */
	assert_int_equal(c->ops->get(c, 1, &out), TWEET_CACHE_HIT);
	assert_int_equal(out.len, 1 + 2 * (sizeof(json) - 1));
	assert_memory_equal(out.data + sizeof(json), json, sizeof(json) - 1);

	/* An empty JSON is still a hit. */
	c->ops->put(c, 2, "", 0);
	size_t before = out.len;
	assert_int_equal(c->ops->get(c, 2, &out), TWEET_CACHE_HIT);
	assert_int_equal(out.len, before);

	struct tweet_cache_stats st = stats(c);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 0);
	strbuf_deinit(&out);
	c->ops->close(c);
}

static void test_miss_appends_nothing(void **state)
{
	(void)state;
	struct tweet_cache *c = cache_open(1 << 20);
	c->ops->put(c, 1, "{}", 2);
	struct strbuf out = STRBUF_INIT;
	strbuf_append_str(&out, "x");
	assert_int_equal(c->ops->get(c, 2, &out), TWEET_CACHE_MISS);
	assert_int_equal(c->ops->get(c, 0, &out), TWEET_CACHE_MISS);
	assert_int_equal(c->ops->get(c, UINT64_MAX, &out), TWEET_CACHE_MISS);
	assert_int_equal(out.len, 1);
	assert_string_equal(out.data, "x");
	assert_int_equal(stats(c).misses, 3);
	strbuf_deinit(&out);
	c->ops->close(c);
}

/* prefetch is a hint: on present, absent and deleted ids (and none) it
 * changes no answer and counts no hit or miss. */
static void test_prefetch_changes_nothing(void **state)
{
	(void)state;
	struct tweet_cache *c = cache_open(1 << 20);
	c->ops->put(c, 1, "{\"a\":1}", 7);
	c->ops->put(c, 2, "{}", 2);
	assert_int_equal(c->ops->mark_deleted(c, 2), 0);
	uint64_t ids[] = {1, 2, 3, 0, UINT64_MAX, 1};
	assert_non_null(c->ops->prefetch);
	c->ops->prefetch(c, ids, sizeof(ids) / sizeof(ids[0]));
	c->ops->prefetch(c, ids, 0);
	struct tweet_cache_stats st = stats(c);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.misses, 0);
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(c->ops->get(c, 1, &out), TWEET_CACHE_HIT);
	assert_int_equal(c->ops->get(c, 2, &out), TWEET_CACHE_DELETED);
	assert_int_equal(c->ops->get(c, 3, &out), TWEET_CACHE_MISS);
	assert_int_equal(out.len, 7);
	assert_memory_equal(out.data, "{\"a\":1}", 7);
	strbuf_deinit(&out);
	c->ops->close(c);
}

static void test_put_does_not_overwrite(void **state)
{
	(void)state;
	struct tweet_cache *c = cache_open(1 << 20);
	c->ops->put(c, 7, "{\"v\":1}", 7);
	c->ops->put(c, 7, "{\"v\":2,\"longer\":true}", 21);
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(c->ops->get(c, 7, &out), TWEET_CACHE_HIT);
	assert_int_equal(out.len, 7);
	assert_memory_equal(out.data, "{\"v\":1}", 7);
	assert_int_equal(stats(c).entries, 1);
	strbuf_deinit(&out);
	c->ops->close(c);
	tweet_cache_memory_ops.close(NULL); /* a no-op */
}

static void test_forget_leaves_tombstone(void **state)
{
	(void)state;
	struct tweet_cache *c = cache_open(1 << 20);
	c->ops->put(c, 5, "{\"id\":5}", 8);
	assert_int_equal(c->ops->mark_deleted(c, 5), 0);
	struct strbuf out = STRBUF_INIT;
	strbuf_append_str(&out, "[");
	assert_int_equal(c->ops->get(c, 5, &out), TWEET_CACHE_DELETED);
	assert_int_equal(out.len, 1);

	/* A reader that raced the delete puts what it read: still deleted. */
	c->ops->put(c, 5, "{\"id\":5}", 8);
	assert_int_equal(c->ops->get(c, 5, &out), TWEET_CACHE_DELETED);
	assert_int_equal(out.len, 1);

	/* Forgetting an id never seen leaves a tombstone too. */
	assert_int_equal(c->ops->mark_deleted(c, 6), 0);
	c->ops->put(c, 6, "{\"id\":6}", 8);
	assert_int_equal(c->ops->get(c, 6, &out), TWEET_CACHE_DELETED);
	/* And forgetting twice is harmless. */
	c->ops->mark_deleted(c, 6);
	assert_int_equal(c->ops->get(c, 6, &out), TWEET_CACHE_DELETED);
	assert_int_equal(out.len, 1);
	assert_int_equal(stats(c).entries, 2);

	/* Neighbours are untouched. */
	c->ops->put(c, 4, "{\"id\":4}", 8);
	assert_int_equal(c->ops->get(c, 4, &out), TWEET_CACHE_HIT);
	strbuf_deinit(&out);
	c->ops->close(c);
}

/* replace: a writer's fresh rendering (new counts) wins over what is
 * cached, a stale put after it is ignored, and a tombstone stays. */
static void test_replace_wins_but_not_over_a_tombstone(void **state)
{
	(void)state;
	struct tweet_cache *c = cache_open(1 << 20);
	struct strbuf out = STRBUF_INIT;
	c->ops->put(c, 7, "{\"likes\":0}", 11);
	c->ops->replace(c, 7, "{\"likes\":1}", 11);
	c->ops->put(c, 7, "{\"likes\":0}", 11); /* a reader that read before the like */
	assert_int_equal(c->ops->get(c, 7, &out), TWEET_CACHE_HIT);
	assert_string_equal(out.data, "{\"likes\":1}");

	strbuf_reset(&out);
	c->ops->replace(c, 8, "{\"likes\":3}", 11); /* unknown: kept, as a put */
	c->ops->put(c, 8, "{\"likes\":2}", 11);
	assert_int_equal(c->ops->get(c, 8, &out), TWEET_CACHE_HIT);
	assert_string_equal(out.data, "{\"likes\":3}");

	strbuf_reset(&out);
	c->ops->mark_deleted(c, 9);
	c->ops->replace(c, 9, "{\"likes\":1}", 11);
	assert_int_equal(c->ops->get(c, 9, &out), TWEET_CACHE_DELETED);
	assert_int_equal(out.len, 0);
	assert_int_equal(stats(c).entries, 3);
	strbuf_deinit(&out);
	c->ops->close(c);
}

/* ---- byte budget --------------------------------------------------------------- */

#define JSON_LEN 200
#define PER_SHARD 1024  /* a handful of entries of JSON_LEN bytes */
#define ENTRY_SLACK 128 /* an upper bound on an entry's bookkeeping */
#define NPUTS 3000

static void fake_json(uint64_t id, char *buf, size_t len)
{
	memset(buf, ' ', len);
	int w = snprintf(buf, len, "{\"id\":\"%llu\"}", (unsigned long long)id);
	buf[w] = ' ';
}

static void test_budget_evicts_least_recently_used(void **state)
{
	(void)state;
	const size_t max_bytes = SHARDS * PER_SHARD;
	struct tweet_cache *c = cache_open(max_bytes);
	char json[JSON_LEN];
	struct strbuf out = STRBUF_INIT;
	const uint64_t hot = 1;
	fake_json(hot, json, sizeof(json));
	c->ops->put(c, hot, json, sizeof(json));

	for (uint64_t id = 2; id <= NPUTS; id++) {
		fake_json(id, json, sizeof(json));
		c->ops->put(c, id, json, sizeof(json));
		/* The hot tweet is read all the time; the others never. */
		strbuf_reset(&out);
		assert_int_equal(c->ops->get(c, hot, &out), TWEET_CACHE_HIT);
		struct tweet_cache_stats st = stats(c);
		assert_true(st.bytes <= max_bytes + SHARDS * (JSON_LEN + ENTRY_SLACK));
	}

	struct tweet_cache_stats st = stats(c);
	assert_true(st.evictions > 0);
	assert_int_equal(st.entries + st.evictions, NPUTS);
	assert_true(st.bytes >= st.entries * JSON_LEN);
	assert_true(st.bytes <= max_bytes + SHARDS * (JSON_LEN + ENTRY_SLACK));

	/* Recently used survives; the first cold ones are long gone; the
	 * last one put is there. */
	strbuf_reset(&out);
	assert_int_equal(c->ops->get(c, hot, &out), TWEET_CACHE_HIT);
	fake_json(hot, json, sizeof(json));
	assert_int_equal(out.len, JSON_LEN);
	assert_memory_equal(out.data, json, JSON_LEN);
	for (uint64_t id = 2; id < 2 + SHARDS; id++)
		assert_int_equal(c->ops->get(c, id, &out), TWEET_CACHE_MISS);
	strbuf_reset(&out);
	assert_int_equal(c->ops->get(c, NPUTS, &out), TWEET_CACHE_HIT);
	fake_json(NPUTS, json, sizeof(json));
	assert_memory_equal(out.data, json, JSON_LEN);

	/* Every entry still held is whole: count them against the stats. */
	uint64_t held = 0;
	for (uint64_t id = 1; id <= NPUTS; id++) {
		strbuf_reset(&out);
		if (c->ops->get(c, id, &out) == TWEET_CACHE_HIT) {
			held++;
			fake_json(id, json, sizeof(json));
			assert_int_equal(out.len, JSON_LEN);
			assert_memory_equal(out.data, json, JSON_LEN);
		}
	}
	assert_int_equal(held, st.entries);
	strbuf_deinit(&out);
	c->ops->close(c);
}

/* ---- concurrency --------------------------------------------------------------- */

#define THREADS 6
#define OPS 20000
#define IDS 512
#define CHURN_OPS 100000

struct shared {
	struct tweet_cache *c;
	atomic_bool forgotten[IDS + 1]; /* set once forget() has returned */
	atomic_ulong resurrected;       /* HIT on an id forgotten before */
	atomic_ulong corrupt;           /* a HIT with the wrong bytes */
	atomic_ulong hits;
};

struct worker {
	struct shared *sh;
	unsigned seed;
};

static size_t json_of(uint64_t id, char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "{\"id\":\"%llu\",\"text\":\"%0*llu\"}",
	                        (unsigned long long)id, (int)(id % 50), (unsigned long long)id);
}

static void *worker_main(void *p)
{
	struct worker *w = p;
	struct shared *sh = w->sh;
	struct strbuf out = STRBUF_INIT;
	char json[128];
	for (int i = 0; i < OPS; i++) {
		uint64_t id = (uint64_t)(rand_r(&w->seed) % IDS) + 1;
		int op = rand_r(&w->seed) % 16;
		if (op == 0 && id % 4 == 0) {
			sh->c->ops->mark_deleted(sh->c, id);
			atomic_store(&sh->forgotten[id], true);
		} else if (op < 6) {
			size_t len = json_of(id, json, sizeof(json));
			sh->c->ops->put(sh->c, id, json, len);
		} else {
			bool was_forgotten = atomic_load(&sh->forgotten[id]);
			strbuf_reset(&out);
			if (sh->c->ops->get(sh->c, id, &out) == TWEET_CACHE_HIT) {
				atomic_fetch_add(&sh->hits, 1);
				if (was_forgotten)
					atomic_fetch_add(&sh->resurrected, 1);
				size_t len = json_of(id, json, sizeof(json));
				if (out.len != len || memcmp(out.data, json, len) != 0)
					atomic_fetch_add(&sh->corrupt, 1);
			}
		}
	}
	strbuf_deinit(&out);
	return NULL;
}

static void test_concurrent_put_append_forget(void **state)
{
	(void)state;
	struct shared *sh = calloc(1, sizeof(*sh));
	assert_non_null(sh);
	sh->c = cache_open(64 << 20); /* no evictions: tombstones stay */
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){sh, (unsigned)i * 7919u + 1};
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&sh->resurrected), 0);
	assert_int_equal(atomic_load(&sh->corrupt), 0);
	assert_true(atomic_load(&sh->hits) > 0);

	/* Afterwards: every forgotten id is DELETED, even after another put. */
	struct strbuf out = STRBUF_INIT;
	char json[128];
	uint64_t nforgotten = 0;
	for (uint64_t id = 1; id <= IDS; id++) {
		if (!atomic_load(&sh->forgotten[id]))
			continue;
		nforgotten++;
		sh->c->ops->put(sh->c, id, json, json_of(id, json, sizeof(json)));
		assert_int_equal(sh->c->ops->get(sh->c, id, &out), TWEET_CACHE_DELETED);
	}
	assert_true(nforgotten > 0);
	assert_int_equal(out.len, 0);
	assert_true(stats(sh->c).entries <= IDS);
	assert_int_equal(stats(sh->c).evictions, 0);
	strbuf_deinit(&out);
	sh->c->ops->close(sh->c);
	free(sh);
}

/* With a budget of about two entries per shard, every put evicts: readers
 * race with frees all the time, and still only ever see whole entries. */
struct churner {
	struct tweet_cache *c;
	unsigned seed;
	atomic_ulong *corrupt;
	atomic_ulong *hits;
};

static void *churn_main(void *p)
{
	struct churner *w = p;
	struct strbuf out = STRBUF_INIT;
	char json[128];
	for (int i = 0; i < CHURN_OPS; i++) {
		uint64_t id = (uint64_t)(rand_r(&w->seed) % (4 * IDS)) + 1;
		if (rand_r(&w->seed) % 2) {
			w->c->ops->put(w->c, id, json, json_of(id, json, sizeof(json)));
			continue;
		}
		strbuf_reset(&out);
		if (w->c->ops->get(w->c, id, &out) == TWEET_CACHE_HIT) {
			atomic_fetch_add(w->hits, 1);
			size_t len = json_of(id, json, sizeof(json));
			if (out.len != len || memcmp(out.data, json, len) != 0)
				atomic_fetch_add(w->corrupt, 1);
		}
	}
	strbuf_deinit(&out);
	return NULL;
}

static void test_concurrent_churn_under_budget(void **state)
{
	(void)state;
	const size_t max_bytes = SHARDS * 256;
	struct tweet_cache *c = cache_open(max_bytes);
	atomic_ulong corrupt = 0, hits = 0;
	pthread_t th[THREADS];
	struct churner w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct churner){c, (unsigned)i + 11, &corrupt, &hits};
		assert_int_equal(pthread_create(&th[i], NULL, churn_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(atomic_load(&corrupt), 0);
	assert_true(atomic_load(&hits) > 0);
	struct tweet_cache_stats st = stats(c);
	assert_true(st.evictions > 0);
	assert_true(st.bytes <= max_bytes + SHARDS * (128 + ENTRY_SLACK));
	c->ops->close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hit_appends_exact_bytes),
	    cmocka_unit_test(test_miss_appends_nothing),
	    cmocka_unit_test(test_prefetch_changes_nothing),
	    cmocka_unit_test(test_put_does_not_overwrite),
	    cmocka_unit_test(test_forget_leaves_tombstone),
	    cmocka_unit_test(test_replace_wins_but_not_over_a_tombstone),
	    cmocka_unit_test(test_budget_evicts_least_recently_used),
	    cmocka_unit_test(test_concurrent_put_append_forget),
	    cmocka_unit_test(test_concurrent_churn_under_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
