/*
 * test_redis — the Redis adapters (timelines, tweet cache, rate limits,
 * pubsub) and the client's circuit breaker, against a real redis-server.
 *
 * CHIRP_TEST_REDIS_URL names a throwaway server (tests/redis/with-redis.sh,
 * as `make unit` runs it); each test empties the database first. Every
 * "node" is a client and adapter of its own, as two chirp processes would
 * have: a tombstone set through one is seen by the other, a budget of 10
 * is shared, a message published by one reaches a subscriber of the other
 * exactly once. The breaker tests start and stop a redis-server of their
 * own on a free port, so they can take it away mid-test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/limits.h"
#include "live/user_slots_redis.h"
#include "pubsub/pubsub.h"
#include "redis/redis.h"
#include "timeline/live.h"
#include "timeline/live_upto_redis.h"
#include "timeline/timeline.h"
#include "timeline/tweet_cache.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

static const char *server_url; /* CHIRP_TEST_REDIS_URL */

static struct redis *node(const char *url)
{
	struct strbuf err = STRBUF_INIT;
	struct redis *r = redis_open(url, 250, &err);
	assert_non_null(r);
	strbuf_deinit(&err);
	return r;
}

/* A client on the shared server, its database emptied. */
static struct redis *fresh_node(void)
{
	struct redis *r = node(server_url);
	redisReply *rep = redis_commandf(r, "FLUSHDB");
	assert_non_null(rep);
	freeReplyObject(rep);
	return r;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- the client ---- */

static void test_url_parsing(void **state)
{
	(void)state;
	static const char *bad[] = {"", "http://x:1", "redis://", "redis://h:0", "redis://h:99999",
				    "redis://h:1/x", "redis://h:1/2/3", "redis://h:1x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf err = STRBUF_INIT;
		assert_null(redis_open(bad[i], 100, &err));
		assert_non_null(strstr(err.data, "redis://HOST:PORT"));
		strbuf_deinit(&err);
	}
	redis_close(node("redis://localhost"));
	redis_close(node("redis://127.0.0.1:6380/3"));
}

static void test_database_is_selected(void **state)
{
	(void)state;
	struct strbuf url = STRBUF_INIT;
	strbuf_appendf(&url, "%s/5", server_url);
	struct redis *r5 = node(url.data), *r0 = fresh_node();
	redisReply *rep = redis_commandf(r5, "SET only5 x");
	assert_non_null(rep);
	freeReplyObject(rep);
	rep = redis_commandf(r0, "EXISTS only5");
	assert_int_equal(rep->integer, 0);
	freeReplyObject(rep);
	rep = redis_commandf(r5, "DEL only5");
	freeReplyObject(rep);
	redis_close(r5);
	redis_close(r0);
	strbuf_deinit(&url);
}

/* ---- tweet cache ---- */

static struct tweet_cache *cache_on(struct redis *r)
{
	struct tweet_cache_options opt = {.redis = r};
	struct strbuf err = STRBUF_INIT;
	struct tweet_cache *c = tweet_cache_redis_ops.open(&opt, &err);
	assert_non_null(c);
	return c;
}

static enum tweet_cache_result get(struct tweet_cache *c, uint64_t id, struct strbuf *out)
{
	strbuf_reset(out);
	return c->ops->get(c, id, out);
}

static void test_cache_contract(void **state)
{
	(void)state;
	struct redis *r = fresh_node();
	struct tweet_cache *c = cache_on(r);
	struct strbuf out = STRBUF_INIT;
	static const char json[] = "{\"text\":\"a\0b \xc3\xa9\"}";
	uint64_t id = 916703825279057921ull; /* above 2^53 */
	assert_int_equal(get(c, id, &out), TWEET_CACHE_MISS);
	assert_int_equal(out.len, 0);
	c->ops->put(c, id, json, sizeof(json) - 1);
	assert_int_equal(get(c, id, &out), TWEET_CACHE_HIT);
	assert_int_equal(out.len, sizeof(json) - 1);
	assert_memory_equal(out.data, json, sizeof(json) - 1);
	c->ops->put(c, id, "{}", 2); /* never overwrites */
	assert_int_equal(get(c, id, &out), TWEET_CACHE_HIT);
	assert_int_equal(out.len, sizeof(json) - 1);
	c->ops->replace(c, id, "{\"n\":2}", 7); /* the writer's rendering wins */
	assert_int_equal(get(c, id, &out), TWEET_CACHE_HIT);
	assert_string_equal(out.data, "{\"n\":2}");
	assert_int_equal(c->ops->mark_deleted(c, id), 0);
	assert_int_equal(get(c, id, &out), TWEET_CACHE_DELETED);
	c->ops->put(c, id, json, sizeof(json) - 1);
	c->ops->replace(c, id, json, sizeof(json) - 1);
	assert_int_equal(get(c, id, &out), TWEET_CACHE_DELETED);
	assert_true(c->ops->remote);
	c->ops->close(c);
	redis_close(r);
	strbuf_deinit(&out);
}

static void test_cache_tombstone_seen_by_other_node(void **state)
{
	(void)state;
	struct redis *r1 = fresh_node(), *r2 = node(server_url);
	struct tweet_cache *a = cache_on(r1), *b = cache_on(r2);
	struct strbuf out = STRBUF_INIT;
	a->ops->put(a, 42, "{\"id\":\"42\"}", 11);
	assert_int_equal(get(b, 42, &out), TWEET_CACHE_HIT);
	assert_int_equal(b->ops->mark_deleted(b, 42), 0);
	assert_int_equal(get(a, 42, &out), TWEET_CACHE_DELETED);
	a->ops->put(a, 42, "{\"id\":\"42\"}", 11); /* a reader that read before the delete */
	assert_int_equal(get(b, 42, &out), TWEET_CACHE_DELETED);
	a->ops->close(a);
	b->ops->close(b);
	redis_close(r1);
	redis_close(r2);
	strbuf_deinit(&out);
}

/* ---- timelines ---- */

static struct timelines *timelines_on(struct redis *r, unsigned cap, const char *name)
{
	struct timeline_options opt = {.cap = cap, .idle_ttl_ms = 60000, .redis = r, .name = name};
	struct strbuf err = STRBUF_INIT;
	struct timelines *t = timeline_redis_ops.open(&opt, &err);
	assert_non_null(t);
	return t;
}

static const struct store_page NEWEST = {.before = UINT64_MAX, .after = 0, .limit = 50};

static size_t range(struct timelines *t, uint64_t key, const struct store_page *p, uint64_t *out,
		    bool *complete)
{
	size_t n = 0;
	assert_int_equal(t->ops->range(t, key, p, out, &n, complete, NULL, NULL), TIMELINE_OK);
	return n;
}

static void test_timeline_contract(void **state)
{
	(void)state;
	struct redis *r = fresh_node();
	struct timelines *t = timelines_on(r, 5, "home");
	uint64_t out[50], big = 1ull << 60;
	size_t n;
	bool complete;
	t->ops->push(t, 7, big + 1); /* not held: dropped */
	assert_int_equal(t->ops->range(t, 7, &NEWEST, out, &n, &complete, NULL, NULL),
			 TIMELINE_MISS);
	t->ops->begin_build(t, 7);
	assert_int_equal(t->ops->range(t, 7, &NEWEST, out, &n, &complete, NULL, NULL),
			 TIMELINE_MISS); /* building: no reads yet */
	t->ops->push(t, 7, big + 9); /* collected while the store is read */
	const uint64_t ids[] = {big + 4, big + 3, big + 2};
	t->ops->finish_build(t, 7, ids, 3, false, "meta\0x", 6);
	void *meta = NULL;
	size_t meta_len = 0;
	assert_int_equal(t->ops->range(t, 7, &NEWEST, out, &n, &complete, &meta, &meta_len),
			 TIMELINE_OK);
	assert_int_equal(n, 4);
	assert_true(out[0] == big + 9 && out[1] == big + 4 && out[3] == big + 2); /* exact */
	assert_true(complete);
	assert_int_equal(meta_len, 6);
	assert_memory_equal(meta, "meta\0x", 6);
	free(meta);

	t->ops->push(t, 7, big + 9); /* twice (an outbox replay): once */
	t->ops->push(t, 7, big + 10);
	n = range(t, 7, &NEWEST, out, &complete);
	assert_int_equal(n, 5);
	t->ops->push(t, 7, big + 11); /* the cap: the oldest falls off */
	n = range(t, 7, &NEWEST, out, &complete);
	assert_int_equal(n, 5);
	assert_true(out[0] == big + 11 && out[4] == big + 3);
	assert_false(complete); /* wanted 50, older ones were cut */
	t->ops->push(t, 7, big + 1); /* older than all of a full list: not kept */
	n = range(t, 7, &NEWEST, out, &complete);
	assert_true(out[4] == big + 3);

	struct store_page p = {.before = big + 10, .after = big + 3, .limit = 2};
	n = range(t, 7, &p, out, &complete);
	assert_int_equal(n, 2);
	assert_true(out[0] == big + 9 && out[1] == big + 4 && complete);
	p.oldest_first = true;
	n = range(t, 7, &p, out, &complete);
	assert_int_equal(n, 2); /* the oldest two of the window, newest first */
	assert_true(out[0] == big + 9 && out[1] == big + 4);

	t->ops->remove(t, 7, big + 9);
	n = range(t, 7, &NEWEST, out, &complete);
	assert_int_equal(n, 4);
	t->ops->drop(t, 7);
	assert_int_equal(t->ops->range(t, 7, &NEWEST, out, &n, &complete, NULL, NULL),
			 TIMELINE_MISS);
	assert_true(t->ops->available(t));
	t->ops->close(t);
	redis_close(r);
}

static void test_timelines_shared_and_named(void **state)
{
	(void)state;
	struct redis *r1 = fresh_node(), *r2 = node(server_url);
	struct timelines *a = timelines_on(r1, 800, "home"), *b = timelines_on(r2, 800, "home");
	struct timelines *other = timelines_on(r1, 800, "authored");
	uint64_t out[50];
	bool complete;
	a->ops->begin_build(a, 1);
	a->ops->finish_build(a, 1, NULL, 0, false, NULL, 0);
	assert_int_equal(range(b, 1, &NEWEST, out, &complete), 0); /* empty, but held */
	b->ops->push(b, 1, 100);
	assert_int_equal(range(a, 1, &NEWEST, out, &complete), 1);
	assert_true(out[0] == 100);
	size_t n;
	assert_int_equal(other->ops->range(other, 1, &NEWEST, out, &n, &complete, NULL, NULL),
			 TIMELINE_MISS); /* another name, another list */
	a->ops->close(a);
	b->ops->close(b);
	other->ops->close(other);
	redis_close(r1);
	redis_close(r2);
}

static void test_one_node_rebuilds_a_list(void **state)
{
	(void)state;
	struct redis *r1 = fresh_node(), *r2 = node(server_url);
	struct timelines *a = timelines_on(r1, 800, "home"), *b = timelines_on(r2, 800, "home");
	assert_false(b->ops->building(b, 3));
	assert_true(a->ops->claim_build(a, 3));
	assert_false(b->ops->claim_build(b, 3)); /* node 1 is reading the store for it */
	assert_true(b->ops->building(b, 3));
	a->ops->begin_build(a, 3);
	a->ops->finish_build(a, 3, (const uint64_t[]){8}, 1, false, NULL, 0);
	assert_false(b->ops->building(b, 3)); /* done: node 2 reads the list */
	uint64_t out[50];
	bool complete;
	assert_int_equal(range(b, 3, &NEWEST, out, &complete), 1);
	assert_true(b->ops->claim_build(b, 3));
	b->ops->drop(b, 3); /* a failed build gives the claim back too */
	assert_true(a->ops->claim_build(a, 3));
	a->ops->close(a);
	b->ops->close(b);
	redis_close(r1);
	redis_close(r2);
}

static void test_celebrity_epoch_shared(void **state)
{
	(void)state;
	struct redis *r1 = fresh_node(), *r2 = node(server_url);
	struct timelines *a = timelines_on(r1, 800, "home"), *b = timelines_on(r2, 800, "home");
	uint32_t e = b->ops->epoch(b);
	a->ops->bump_epoch(a);
	assert_int_equal(a->ops->epoch(a), e + 1); /* at once where it crossed */
	sleep_ms(150);
	assert_int_equal(b->ops->epoch(b), e + 1); /* within moments elsewhere */
	a->ops->close(a);
	b->ops->close(b);
	redis_close(r1);
	redis_close(r2);
}

/* ---- the shared live watermark ---- */

/* Two nodes fan out side by side: the bound a stream reads on a third
 * covers what either recorded, and only once nothing at or below it is
 * still being fanned out. */
static void test_live_upto_shared_by_nodes(void **state)
{
	(void)state;
	struct redis *n1 = fresh_node(), *n2 = node(server_url), *n3 = node(server_url);
	uint64_t upto = 0;
	/* A watermark that is gone takes the seed, once. */
	assert_int_equal(live_upto_redis_read(n3, 50, &upto), 0);
	assert_int_equal(upto, 50);
	assert_int_equal(live_upto_redis_read(n3, 60, &upto), 0);
	assert_int_equal(upto, 50);

	assert_int_equal(live_upto_redis_queued(n1, 100), 0);
	assert_int_equal(live_upto_redis_queued(n2, 200), 0);
	live_upto_redis_done(n2, 200); /* node 2 is done; node 1's 100 still runs */
	/* Not settled: the wait runs out, and says so. */
	assert_int_equal(live_upto_redis_read(n3, 60, &upto), 1);
	assert_int_equal(upto, 200);
	live_upto_redis_done(n1, 100);
	assert_int_equal(live_upto_redis_read(n3, 60, &upto), 0);
	assert_int_equal(upto, 200);

	/* A smaller id recorded later never moves the bound back, but holds
	 * reads up until its fanout ends. */
	assert_int_equal(live_upto_redis_queued(n1, 150), 0);
	assert_int_equal(live_upto_redis_read(n3, 60, &upto), 1);
	assert_int_equal(upto, 200);
	live_upto_redis_done(n1, 150);
	assert_int_equal(live_upto_redis_queued(n2, 300), 0);
	assert_int_equal(live_upto_redis_read(n3, 60, &upto), 1); /* 300 is the bound, pending */
	assert_int_equal(upto, 300);
	live_upto_redis_done(n2, 300);
	assert_int_equal(live_upto_redis_read(n3, 60, &upto), 0);
	assert_int_equal(upto, 300);
	redis_close(n1);
	redis_close(n2);
	redis_close(n3);
}

/* ---- streams per user ---- */

/* Two processes' counts of one user's streams add up; a write older than
 * the one Redis holds changes nothing; an instance whose lease is gone
 * counts no more. */
static void test_user_slots_counted_across_instances(void **state)
{
	(void)state;
	struct redis *r1 = fresh_node(), *r2 = node(server_url);
	struct user_slots *a = user_slots_new(r1), *b = user_slots_new(r2);
	const uint64_t user = 42;
	unsigned total = 0;
	assert_int_equal(user_slots_write(a, user, 2, 1, &total), 0);
	assert_int_equal(total, 2);
	assert_int_equal(user_slots_write(b, user, 1, 1, &total), 0);
	assert_int_equal(total, 3);
	/* a's write of seq 1 arriving after its seq 2: ignored */
	assert_int_equal(user_slots_write(a, user, 1, 2, NULL), 0);
	assert_int_equal(user_slots_write(a, user, 2, 1, &total), 0);
	assert_int_equal(total, 2);
	/* b's process is gone and its lease ran out (the DEL stands for the
	 * 30 s); a's next write takes its own lease again. */
	user_slots_free(b);
	redisReply *rep = redis_commandf(r1, "EVAL %s 0",
					 "for _, k in ipairs(redis.call('KEYS', 'lsi:*')) do "
					 "redis.call('DEL', k) end return 1");
	assert_non_null(rep);
	freeReplyObject(rep);
	assert_int_equal(user_slots_write(a, user, 1, 3, &total), 0);
	assert_int_equal(total, 1);
	user_slots_free(a);
	redis_close(r1);
	redis_close(r2);
}

/* ---- rate limits ---- */

static struct limits *limits_on(struct redis *r)
{
	struct limits_options opt = {.max_buckets = 1000, .redis = r};
	struct strbuf err = STRBUF_INIT;
	struct limits *l = limits_redis_ops.open(&opt, &err);
	assert_non_null(l);
	return l;
}

static void test_limit_of_ten_shared_by_three_nodes(void **state)
{
	(void)state;
	struct redis *r[3] = {fresh_node(), node(server_url), node(server_url)};
	struct limits *l[3];
	for (int i = 0; i < 3; i++)
		l[i] = limits_on(r[i]);
	const struct limit_rule rule = {.name = "post", .count = 10, .seconds = 3600};
	int allowed = 0;
	struct limit_result res;
	for (int i = 0; i < 30; i++) {
		l[i % 3]->ops->take(l[i % 3], &rule, "user\0one", 8, 1, &res);
		allowed += res.allowed;
		assert_int_equal(res.limit, 10);
	}
	assert_int_equal(allowed, 10);
	assert_false(res.allowed);
	assert_int_equal(res.remaining, 0);
	assert_true(res.retry_after >= 300 && res.retry_after <= 361);
	l[0]->ops->take(l[0], &rule, "user\0two", 8, 1, &res); /* another subject */
	assert_true(res.allowed);
	assert_int_equal(res.remaining, 9);
	for (int i = 0; i < 3; i++) {
		l[i]->ops->close(l[i]);
		redis_close(r[i]);
	}
}

static void test_backoff_shared(void **state)
{
	(void)state;
	struct redis *r1 = fresh_node(), *r2 = node(server_url);
	struct limits *a = limits_on(r1), *b = limits_on(r2);
	const struct limit_rule rule = {.name = "login", .count = 2, .seconds = 60};
	uint32_t wait;
	b->ops->backoff(b, &rule, "bob", 3, false, &wait);
	assert_int_equal(wait, 0);
	a->ops->backoff(a, &rule, "bob", 3, true, &wait);
	b->ops->backoff(b, &rule, "bob", 3, true, &wait);
	assert_int_equal(wait, 0); /* the first `count` failures are free */
	a->ops->backoff(a, &rule, "bob", 3, true, &wait);
	assert_int_equal(wait, 1);
	b->ops->backoff(b, &rule, "bob", 3, true, &wait);
	assert_int_equal(wait, 2);
	a->ops->backoff(a, &rule, "bob", 3, false, &wait); /* a look */
	assert_true(wait >= 1 && wait <= 2);
	a->ops->close(a);
	b->ops->close(b);
	redis_close(r1);
	redis_close(r2);
}

/* ---- pubsub ---- */

struct inbox {
	pthread_mutex_t lock;
	char got[16][32];
	int n;
};

static void on_message(void *arg, const char *channel, const void *msg, size_t len)
{
	struct inbox *in = arg;
	pthread_mutex_lock(&in->lock);
	if (in->n < 16)
		snprintf(in->got[in->n++], 32, "%s=%.*s", channel, (int)len, (const char *)msg);
	pthread_mutex_unlock(&in->lock);
}

static int inbox_count(struct inbox *in)
{
	pthread_mutex_lock(&in->lock);
	int n = in->n;
	pthread_mutex_unlock(&in->lock);
	return n;
}

static struct pubsub *bus_on(struct redis *r)
{
	struct pubsub_options opt = {.redis = r};
	struct strbuf err = STRBUF_INIT;
	struct pubsub *ps = pubsub_redis_ops.open(&opt, &err);
	assert_non_null(ps);
	return ps;
}

/* Publishes until the subscription is live (SUBSCRIBE is asynchronous),
 * then waits for the messages to settle; returns what the inbox got. */
static int publish_until_seen(struct pubsub *ps, const char *channel, struct inbox *in)
{
	for (int i = 0; i < 200 && inbox_count(in) == 0; i++) {
		ps->ops->publish(ps, channel, "t 1", 3);
		sleep_ms(10);
	}
	sleep_ms(100);
	return inbox_count(in);
}

static void test_pubsub_across_nodes_once(void **state)
{
	(void)state;
	struct redis *r1 = fresh_node(), *r2 = node(server_url);
	struct pubsub *a = bus_on(r1), *b = bus_on(r2);
	struct inbox in1 = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct inbox in2 = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct pubsub_sub *s1 = a->ops->subscribe(a, "feed:1", on_message, &in1);
	struct pubsub_sub *s2 = a->ops->subscribe(a, "feed:1", on_message, &in2);
	assert_true(publish_until_seen(b, "feed:1", &in1) >= 1);
	int before1 = inbox_count(&in1), before2 = inbox_count(&in2);
	assert_int_equal(b->ops->publish(b, "feed:1", "d 77", 4), 0);
	assert_int_equal(b->ops->publish(b, "feed:2", "d 78", 4), 0); /* nobody listens */
	sleep_ms(200);
	assert_int_equal(inbox_count(&in1), before1 + 1); /* exactly once per subscriber */
	assert_int_equal(inbox_count(&in2), before2 + 1);
	assert_string_equal(in1.got[before1], "feed:1=d 77");
	a->ops->unsubscribe(a, s1);
	b->ops->publish(b, "feed:1", "d 79", 4);
	sleep_ms(200);
	assert_int_equal(inbox_count(&in1), before1 + 1); /* gone at once */
	assert_int_equal(inbox_count(&in2), before2 + 2); /* the other stays */
	a->ops->unsubscribe(a, s2);
	a->ops->close(a);
	b->ops->close(b);
	redis_close(r1);
	redis_close(r2);
}

static int wait_count(struct inbox *in, int want)
{
	for (int i = 0; i < 200 && inbox_count(in) < want; i++)
		sleep_ms(5);
	return inbox_count(in);
}

/* Node 2 publishes tweet 200 while node 1 still fans out tweet 100: a
 * stream on node 3 gets 100 first all the same (a reader that drops
 * after 200 must not resume past a 100 it never got). Other messages are
 * not held; a tweet held too long goes out anyway. */
static void test_pubsub_tweets_in_id_order_across_nodes(void **state)
{
	(void)state;
	struct redis *n1 = fresh_node(), *n2 = node(server_url), *n3 = node(server_url);
	struct pubsub_options opt = {.redis = n3,
				     .order_key = live_order_key,
				     .order_bound = live_upto_redis_bound,
				     .order_arg = n3,
				     .order_hold_ms = 400};
	struct strbuf err = STRBUF_INIT;
	struct pubsub *ps = pubsub_redis_ops.open(&opt, &err), *pub1 = bus_on(n1),
		      *pub2 = bus_on(n2);
	assert_non_null(ps);
	struct inbox in = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct pubsub_sub *s = ps->ops->subscribe(ps, "feed:1", on_message, &in);
	assert_true(publish_until_seen(pub1, "feed:1", &in) >= 1); /* "t 1": nothing pending */
	int at = inbox_count(&in);

	assert_int_equal(live_upto_redis_queued(n1, 100), 0);
	assert_int_equal(live_upto_redis_queued(n2, 200), 0);
	assert_int_equal(pub2->ops->publish(pub2, "feed:1", "t 200", 5), 0);
	assert_int_equal(pub2->ops->publish(pub2, "feed:1", "d 7", 3), 0);
	live_upto_redis_done(n2, 200);
	assert_int_equal(wait_count(&in, at + 1), at + 1);
	sleep_ms(100);
	assert_int_equal(inbox_count(&in), at + 1); /* 200 waits for 100 */
	assert_string_equal(in.got[at], "feed:1=d 7");
	assert_int_equal(pub1->ops->publish(pub1, "feed:1", "t 100", 5), 0);
	live_upto_redis_done(n1, 100);
	assert_int_equal(wait_count(&in, at + 3), at + 3);
	assert_string_equal(in.got[at + 1], "feed:1=t 100");
	assert_string_equal(in.got[at + 2], "feed:1=t 200");

	/* A fanout that never ends holds the others up for the hold time. */
	assert_int_equal(live_upto_redis_queued(n1, 300), 0);
	assert_int_equal(live_upto_redis_queued(n2, 400), 0);
	uint64_t t0 = time_now_ms();
	assert_int_equal(pub2->ops->publish(pub2, "feed:1", "t 400", 5), 0);
	live_upto_redis_done(n2, 400);
	assert_int_equal(wait_count(&in, at + 4), at + 4);
	assert_true(time_now_ms() - t0 >= 350);
	assert_string_equal(in.got[at + 3], "feed:1=t 400");
	live_upto_redis_done(n1, 300);

	ps->ops->unsubscribe(ps, s);
	ps->ops->close(ps);
	pub1->ops->close(pub1);
	pub2->ops->close(pub2);
	redis_close(n1);
	redis_close(n2);
	redis_close(n3);
}

/* ---- the breaker, with a server of the test's own ---- */

static pid_t own_server;
static int own_port;

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

static void start_own_server(void)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", own_port);
	own_server = fork();
	assert_true(own_server >= 0);
	if (own_server == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", port, "--save",
		       "", "--appendonly", "no", "--dir", "/tmp", "--logfile", "", "--loglevel",
		       "warning", (char *)NULL);
		_exit(127);
	}
	char url[64];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", own_port);
	for (int i = 0; i < 200; i++) { /* until it answers */
		redisContext *c = redisConnect("127.0.0.1", own_port);
		bool up = c && !c->err;
		if (c)
			redisFree(c);
		if (up)
			return;
		sleep_ms(10);
	}
	fail_msg("redis-server did not start on %s", url);
}

static void stop_own_server(void)
{
	kill(own_server, SIGKILL);
	waitpid(own_server, NULL, 0);
}

static struct redis_stats stats_of(struct redis *r)
{
	struct redis_stats st;
	redis_stats(r, &st);
	return st;
}

static void test_breaker_opens_and_closes(void **state)
{
	(void)state;
	own_port = free_port();
	start_own_server();
	char url[64];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", own_port);
	struct redis *r = node(url);
	struct timelines *t = timelines_on(r, 800, "home");
	struct limits *l = limits_on(r);
	const struct limit_rule rule = {.name = "post", .count = 2, .seconds = 3600};
	struct limit_result res;
	uint64_t out[50];
	size_t n;
	bool complete;
	t->ops->begin_build(t, 1);
	t->ops->finish_build(t, 1, (const uint64_t[]){5}, 1, false, NULL, 0);
	assert_int_equal(range(t, 1, &NEWEST, out, &complete), 1);
	assert_int_equal(stats_of(r).state, BREAKER_CLOSED);

	stop_own_server(); /* Redis goes away mid-test */
	for (int i = 0; i < BREAKER_FAILURES; i++)
		assert_int_equal(t->ops->range(t, 1, &NEWEST, out, &n, &complete, NULL, NULL),
				 TIMELINE_MISS);
	struct redis_stats st = stats_of(r);
	assert_int_equal(st.state, BREAKER_OPEN);
	assert_true(st.errors >= BREAKER_FAILURES);
	assert_false(t->ops->available(t)); /* the feed reads the store now */
	uint64_t t0 = time_mono_ns();
	assert_null(redis_commandf(r, "PING")); /* refused at once, no network wait */
	assert_true(time_mono_ns() - t0 < 5000000ull);
	assert_true(stats_of(r).rejected >= 1);
	/* Rate limits fall back to this node's own buckets: still enforced. */
	int allowed = 0;
	for (int i = 0; i < 5; i++) {
		l->ops->take(l, &rule, "u", 1, 1, &res);
		allowed += res.allowed;
	}
	assert_int_equal(allowed, 2);

	start_own_server(); /* back, and empty */
	sleep_ms(BREAKER_COOLDOWN_MS + 100);
	assert_int_equal(stats_of(r).state, BREAKER_HALF_OPEN);
	assert_int_equal(t->ops->range(t, 1, &NEWEST, out, &n, &complete, NULL, NULL),
			 TIMELINE_MISS); /* the probe: answered (a miss: rebuild), so closed */
	assert_int_equal(stats_of(r).state, BREAKER_CLOSED);
	assert_true(stats_of(r).opened >= 1);
	assert_true(t->ops->available(t));
	t->ops->close(t);
	l->ops->close(l);
	redis_close(r);
	stop_own_server();
}

/* A delete while Redis is away: the tombstone is written as soon as Redis
 * answers again, so another node stops showing the copy it cached. */
static void test_tombstone_written_once_redis_is_back(void **state)
{
	(void)state;
	own_port = free_port();
	start_own_server();
	char url[64];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", own_port);
	struct redis *r = node(url);
	struct tweet_cache *c = cache_on(r);
	struct strbuf out = STRBUF_INIT;
	stop_own_server();
	assert_int_equal(c->ops->mark_deleted(c, 77), -1);
	start_own_server();
	struct redis *other = node(url); /* another node cached the tweet meanwhile */
	struct tweet_cache *o = cache_on(other);
	o->ops->put(o, 77, "{}", 2);
	assert_int_equal(get(o, 77, &out), TWEET_CACHE_HIT);
	sleep_ms(BREAKER_COOLDOWN_MS + 100);
	assert_int_equal(get(c, 77, &out), TWEET_CACHE_DELETED); /* written first */
	assert_int_equal(get(o, 77, &out), TWEET_CACHE_DELETED);
	c->ops->close(c);
	o->ops->close(o);
	redis_close(r);
	redis_close(other);
	stop_own_server();
	strbuf_deinit(&out);
}

/* The subscription breaks (Redis restarts): each local subscriber gets the
 * lost message at once and the gap message once it is back, and live
 * messages flow again. */
static void test_pubsub_gap_after_reconnect(void **state)
{
	(void)state;
	own_port = free_port();
	start_own_server();
	char url[64];
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", own_port);
	struct redis *r = node(url);
	struct pubsub_options opt = {
	    .redis = r, .gap_msg = "r", .gap_len = 1, .lost_msg = "l", .lost_len = 1};
	struct strbuf err = STRBUF_INIT;
	struct pubsub *ps = pubsub_redis_ops.open(&opt, &err);
	assert_non_null(ps);
	struct inbox in = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct pubsub_sub *s = ps->ops->subscribe(ps, "feed:9", on_message, &in);
	assert_true(publish_until_seen(ps, "feed:9", &in) >= 1);
	int before = inbox_count(&in);
	stop_own_server();
	start_own_server();
	for (int i = 0; i < 500 && inbox_count(&in) < before + 2; i++)
		sleep_ms(10);
	assert_true(inbox_count(&in) >= before + 2);
	assert_string_equal(in.got[before], "feed:9=l"); /* at the break */
	assert_string_equal(in.got[before + 1], "feed:9=r"); /* once back */
	before++;
	sleep_ms(BREAKER_COOLDOWN_MS + 100); /* the breaker counted the break */
	/* (A second resync may come if a reconnect raced the server's start:
	 * harmless, a resync is a catch-up.) */
	int resyncs = inbox_count(&in) - before;
	assert_true(resyncs <= 4);
	assert_int_equal(ps->ops->publish(ps, "feed:9", "t 5", 3), 0);
	assert_int_equal(ps->ops->publish(ps, "feed:9", "t 6", 3), 0);
	int want = before + resyncs + 2;
	for (int i = 0; i < 100 && inbox_count(&in) < want; i++)
		sleep_ms(10);
	sleep_ms(50);
	assert_int_equal(inbox_count(&in), want); /* each once */
	assert_string_equal(in.got[want - 2], "feed:9=t 5");
	assert_string_equal(in.got[want - 1], "feed:9=t 6");
	ps->ops->unsubscribe(ps, s);
	ps->ops->close(ps);
	redis_close(r);
	stop_own_server();
}

int main(void)
{
	server_url = getenv("CHIRP_TEST_REDIS_URL");
	if (!server_url || !*server_url) {
		fprintf(stderr, "test_redis: CHIRP_TEST_REDIS_URL is not set "
				"(run under tests/redis/with-redis.sh, as `make unit` does)\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_parsing),
	    cmocka_unit_test(test_database_is_selected),
	    cmocka_unit_test(test_cache_contract),
	    cmocka_unit_test(test_cache_tombstone_seen_by_other_node),
	    cmocka_unit_test(test_timeline_contract),
	    cmocka_unit_test(test_timelines_shared_and_named),
	    cmocka_unit_test(test_one_node_rebuilds_a_list),
	    cmocka_unit_test(test_celebrity_epoch_shared),
	    cmocka_unit_test(test_live_upto_shared_by_nodes),
	    cmocka_unit_test(test_user_slots_counted_across_instances),
	    cmocka_unit_test(test_limit_of_ten_shared_by_three_nodes),
	    cmocka_unit_test(test_backoff_shared),
	    cmocka_unit_test(test_pubsub_across_nodes_once),
	    cmocka_unit_test(test_pubsub_tweets_in_id_order_across_nodes),
	    cmocka_unit_test(test_breaker_opens_and_closes),
	    cmocka_unit_test(test_pubsub_gap_after_reconnect),
	    cmocka_unit_test(test_tombstone_written_once_redis_is_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
