/*
 * test_search_service — unit tests for search/service: a search runs on
 * the service's threads and calls back, with the index (search port) and
 * the store both fakes, so each case says exactly what matches and what
 * still exists.
 *
 * Covers: the callback runs on a search thread; a recent page left short
 * by deleted tweets is refilled from below the last id the index gave, and
 * the index is told to forget those tweets; an oldest-first page goes on
 * above the newest; relevance goes on by offset; from:handle becomes the
 * author id the index sees, an unknown handle an empty page without asking
 * the index, and a store error an error; users gone from the store are
 * left out of a user search; and a search past the queue's capacity is
 * refused at once with STORE_BUSY while the queued ones still finish.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_store.h"
#include "search/service.h"

/* ---- a fake index ---- */

#define SEEN_MAX 8

static struct {
	struct search search;
	struct search_reader reader;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Matching tweets: newest first for recent, in rank order for relevance. */
	const uint64_t *ids;
	size_t n;
	struct search_request seen[SEEN_MAX]; /* the requests the index answered */
	size_t nseen;
	uint64_t forgotten[64];
	size_t nforgotten;
	bool hold;  /* tweets() waits while set */
	int inside; /* tweets() calls waiting */
} idx = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static struct search_reader *idx_reader_new(struct search *s)
{
	(void)s;
	return &idx.reader;
}

static void idx_reader_free(struct search_reader *r)
{
	(void)r;
}

static int idx_tweets(struct search_reader *r, const struct search_request *req, uint64_t *ids,
		      size_t *n)
{
	(void)r;
	pthread_mutex_lock(&idx.lock);
	idx.inside++;
	pthread_cond_broadcast(&idx.cond);
	while (idx.hold)
		pthread_cond_wait(&idx.cond, &idx.lock);
	idx.inside--;
	if (idx.nseen == SEEN_MAX)
		abort(); /* not a cmocka assert: this is a search thread */
	idx.seen[idx.nseen++] = *req;
	*n = 0;
	const struct store_page *p = &req->page;
	if (req->sort == SEARCH_RELEVANCE) {
		for (size_t i = req->offset; i < idx.n && *n < p->limit; i++)
			ids[(*n)++] = idx.ids[i];
	} else if (!p->oldest_first) {
		for (size_t i = 0; i < idx.n && *n < p->limit; i++)
			if (idx.ids[i] < p->before && idx.ids[i] > p->after)
				ids[(*n)++] = idx.ids[i];
	} else {
		/* The oldest `limit` above `after`, returned newest first. */
		for (size_t i = idx.n; i-- > 0 && *n < p->limit;)
			if (idx.ids[i] < p->before && idx.ids[i] > p->after)
				ids[(*n)++] = idx.ids[i];
		for (size_t i = 0, j = *n; i + 1 < j; i++, j--) {
			uint64_t t = ids[i];
			ids[i] = ids[j - 1];
			ids[j - 1] = t;
		}
	}
	pthread_mutex_unlock(&idx.lock);
	return STORE_OK;
}

/* Users 1..FAKE_USERS match, in that order. */
static int idx_users(struct search_reader *r, const struct search_query *q, unsigned limit,
		     unsigned offset, uint64_t *ids, size_t *n)
{
	(void)r;
	(void)q;
	*n = 0;
	for (uint64_t id = 1 + offset; id <= FAKE_USERS && *n < limit; id++)
		ids[(*n)++] = id;
	return STORE_OK;
}

static void idx_forget_tweet(struct search *s, uint64_t id)
{
	(void)s;
	pthread_mutex_lock(&idx.lock);
	if (idx.nforgotten == sizeof(idx.forgotten) / sizeof(idx.forgotten[0]))
		abort();
	idx.forgotten[idx.nforgotten++] = id;
	pthread_mutex_unlock(&idx.lock);
}

static void idx_stats(struct search *s, struct search_stats *out)
{
	(void)s;
	*out = (struct search_stats){.tweets_indexed = 42};
}

static const struct search_ops idx_ops = {
	.name = "fake",
	.reader_new = idx_reader_new,
	.reader_free = idx_reader_free,
	.tweets = idx_tweets,
	.users = idx_users,
	.forget_tweet = idx_forget_tweet,
	.stats = idx_stats,
};

/* ---- the service under test, over a real feed on the fake store ---- */

struct env {
	struct feed *feed;
	struct search_service *svc;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct feed_options fopt = {
		.timelines = &timeline_memory_ops,
		.tweet_cache = &tweet_cache_memory_ops,
		.timeline_cap = 800,
		.timeline_bytes = 1 << 20,
		.tweet_cache_bytes = 1 << 20,
		.fanout_queue = 16,
	};
	struct strbuf err = STRBUF_INIT;
	struct store *store = fake_store_reset();
	e->feed = feed_new(store, &fopt, &err);
	assert_non_null(e->feed);
	idx.search.ops = &idx_ops;
	idx.reader.ops = &idx_ops;
	idx.ids = NULL;
	idx.n = idx.nseen = idx.nforgotten = 0;
	idx.hold = false;
	struct search_service_options opt = {.threads = 2, .max_queued = 16};
	e->svc = search_service_new(&idx.search, store, e->feed, &opt);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	search_service_free(e->svc);
	feed_free(e->feed);
	free(e);
	return 0;
}

/* ---- waiting for a callback ---- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	pthread_t thread; /* where done ran */
	struct search_result res;
};

static void waiter_init(struct waiter *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
}

static void on_done(struct search_result *res, void *arg)
{
	struct waiter *w = arg;
	if (res != &w->res)
		abort(); /* not a cmocka assert: this may be a search thread */
	pthread_mutex_lock(&w->lock);
	w->thread = pthread_self();
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void waiter_wait(struct waiter *w)
{
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

static void waiter_deinit(struct waiter *w)
{
	strbuf_deinit(&w->res.json);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

/* The value of field `key` of each element of the JSON array, in order. */
static void expect_field(const struct strbuf *json, const char *key, const char *const *want,
			 size_t n)
{
	json_error_t jerr;
	json_t *a = json_loadb(json->data, json->len, 0, &jerr);
	assert_non_null(a);
	assert_int_equal(json_array_size(a), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(a, i), key)),
				    want[i]);
	json_decref(a);
}

/* Runs one tweet search and waits for it. */
static void search_tweets(struct env *e, const char *q, enum search_sort sort,
			  struct store_page page, unsigned offset, struct waiter *w)
{
	struct search_query query;
	search_query_parse(q, strlen(q), &query);
	struct search_request req = {.query = &query, .sort = sort, .page = page, .offset = offset};
	waiter_init(w);
	search_service_tweets(e->svc, &req, &w->res, on_done, w);
	waiter_wait(w);
}

static const struct store_page first_page = {.before = UINT64_MAX, .limit = 5};

/* ---- cases ---- */

static void test_recent_refills_below_deleted(void **state)
{
	struct env *e = *state;
	uint64_t ids[20];
	for (size_t i = 0; i < 20; i++)
		ids[i] = 1020 - i;
	idx.ids = ids;
	idx.n = 20;
	fake_tweet_set(1019, FAKE_GONE);
	fake_tweet_set(1018, FAKE_GONE);
	struct waiter w;
	search_tweets(e, "hello", SEARCH_RECENT, first_page, 0, &w);
	assert_false(pthread_equal(w.thread, pthread_self())); /* on a search thread */
	assert_int_equal(w.res.status, STORE_OK);
	assert_int_equal(w.res.n, 5);
	const char *want[] = {"1020", "1017", "1016", "1015", "1014"};
	expect_field(&w.res.json, "id", want, 5);
	assert_int_equal(w.res.newest, 1020);
	assert_int_equal(w.res.oldest, 1014);
	assert_int_equal(idx.nforgotten, 2);
	assert_int_equal(idx.forgotten[0], 1019);
	assert_int_equal(idx.forgotten[1], 1018);
	assert_int_equal(idx.nseen, 2);
	assert_int_equal(idx.seen[1].page.before, 1016);
	assert_int_equal(idx.seen[1].page.limit, 2);
	waiter_deinit(&w);
}

static void test_oldest_first_goes_on_above(void **state)
{
	struct env *e = *state;
	uint64_t ids[10];
	for (size_t i = 0; i < 10; i++)
		ids[i] = 1010 - i;
	idx.ids = ids;
	idx.n = 10;
	fake_tweet_set(1007, FAKE_GONE);
	struct store_page page = {.before = UINT64_MAX, .after = 1005, .limit = 3,
				  .oldest_first = true};
	struct waiter w;
	search_tweets(e, "hello", SEARCH_RECENT, page, 0, &w);
	assert_int_equal(w.res.status, STORE_OK);
	assert_int_equal(w.res.n, 3);
	assert_int_equal(w.res.newest, 1009);
	assert_int_equal(w.res.oldest, 1006);
	assert_int_equal(idx.nseen, 2);
	assert_int_equal(idx.seen[1].page.after, 1008);
	waiter_deinit(&w);
}

static void test_relevance_goes_on_by_offset(void **state)
{
	struct env *e = *state;
	static const uint64_t ranked[] = {1005, 1001, 1009, 1003, 1007, 1002};
	idx.ids = ranked;
	idx.n = 6;
	fake_tweet_set(1001, FAKE_GONE);
	struct store_page page = first_page;
	page.limit = 3;
	struct waiter w;
	search_tweets(e, "hello", SEARCH_RELEVANCE, page, 0, &w);
	assert_int_equal(w.res.status, STORE_OK);
	const char *want[] = {"1005", "1009", "1003"};
	expect_field(&w.res.json, "id", want, 3);
	assert_int_equal(idx.nseen, 2);
	assert_int_equal(idx.seen[1].offset, 3);
	waiter_deinit(&w);

	/* From an offset: the index is asked from there. */
	idx.nseen = 0;
	search_tweets(e, "hello", SEARCH_RELEVANCE, page, 4, &w);
	const char *rest[] = {"1007", "1002"};
	expect_field(&w.res.json, "id", rest, 2);
	assert_int_equal(idx.seen[0].offset, 4);
	waiter_deinit(&w);
}

static void test_from_resolves_the_author(void **state)
{
	struct env *e = *state;
	static const uint64_t ids[] = {1003, 1002};
	idx.ids = ids;
	idx.n = 2;
	struct waiter w;
	search_tweets(e, "hello from:user7", SEARCH_RECENT, first_page, 0, &w);
	assert_int_equal(w.res.status, STORE_OK);
	assert_int_equal(w.res.n, 2);
	assert_int_equal(idx.nseen, 1);
	assert_true(idx.seen[0].has_author);
	assert_int_equal(idx.seen[0].author_id, 7);
	waiter_deinit(&w);

	/* Nobody by that name: nothing they wrote, and no index query. */
	idx.nseen = 0;
	search_tweets(e, "from:nobody", SEARCH_RECENT, first_page, 0, &w);
	assert_int_equal(w.res.status, STORE_OK);
	assert_int_equal(w.res.n, 0);
	assert_string_equal(w.res.json.data, "[]");
	assert_int_equal(idx.nseen, 0);
	waiter_deinit(&w);

	/* The store fails: so does the search. */
	atomic_store(&fake.users[8], FAKE_BROKEN);
	search_tweets(e, "from:user8", SEARCH_RECENT, first_page, 0, &w);
	assert_int_equal(w.res.status, STORE_ERROR);
	assert_int_equal(idx.nseen, 0);
	waiter_deinit(&w);
}

static void test_users_gone_are_left_out(void **state)
{
	struct env *e = *state;
	atomic_store(&fake.users[3], FAKE_GONE);
	struct search_query q;
	search_query_parse("user", 4, &q);
	struct waiter w;
	waiter_init(&w);
	search_service_users(e->svc, &q, 5, 0, &w.res, on_done, &w);
	waiter_wait(&w);
	assert_int_equal(w.res.status, STORE_OK);
	assert_int_equal(w.res.n, 4);
	const char *want[] = {"user1", "user2", "user4", "user5"};
	expect_field(&w.res.json, "handle", want, 4);
	waiter_deinit(&w);

	waiter_init(&w);
	search_service_users(e->svc, &q, 5, 7, &w.res, on_done, &w);
	waiter_wait(&w);
	const char *rest[] = {"user8", "user9"};
	expect_field(&w.res.json, "handle", rest, 2);
	waiter_deinit(&w);

	struct search_stats st;
	search_service_stats(e->svc, &st);
	assert_int_equal(st.tweets_indexed, 42);
}

static void test_refused_when_the_queue_is_full(void **state)
{
	struct env *e = *state;
	/* One thread, room for one waiting search. */
	search_service_free(e->svc);
	struct search_service_options opt = {.threads = 1, .max_queued = 1};
	e->svc = search_service_new(&idx.search, fake_store_reset(), e->feed, &opt);
	static const uint64_t ids[] = {1001};
	idx.ids = ids;
	idx.n = 1;
	struct search_query q;
	search_query_parse("hello", 5, &q);
	struct search_request req = {.query = &q, .sort = SEARCH_RECENT, .page = first_page};

	struct waiter running, queued, refused;
	waiter_init(&running);
	waiter_init(&queued);
	waiter_init(&refused);
	pthread_mutex_lock(&idx.lock);
	idx.hold = true;
	pthread_mutex_unlock(&idx.lock);
	search_service_tweets(e->svc, &req, &running.res, on_done, &running);
	pthread_mutex_lock(&idx.lock);
	while (idx.inside == 0)
		pthread_cond_wait(&idx.cond, &idx.lock);
	pthread_mutex_unlock(&idx.lock);
	search_service_tweets(e->svc, &req, &queued.res, on_done, &queued);

	search_service_tweets(e->svc, &req, &refused.res, on_done, &refused);
	assert_true(refused.done); /* at once, on this thread */
	assert_true(pthread_equal(refused.thread, pthread_self()));
	assert_int_equal(refused.res.status, STORE_BUSY);

	pthread_mutex_lock(&idx.lock);
	idx.hold = false;
	pthread_cond_broadcast(&idx.cond);
	pthread_mutex_unlock(&idx.lock);
	waiter_wait(&running);
	waiter_wait(&queued);
	assert_int_equal(running.res.status, STORE_OK);
	assert_int_equal(queued.res.status, STORE_OK);
	assert_int_equal(queued.res.n, 1);
	waiter_deinit(&running);
	waiter_deinit(&queued);
	waiter_deinit(&refused);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_recent_refills_below_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oldest_first_goes_on_above, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relevance_goes_on_by_offset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_from_resolves_the_author, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users_gone_are_left_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_when_the_queue_is_full, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
