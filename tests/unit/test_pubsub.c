/*
 * test_pubsub — unit tests for the pubsub port's in-process adapter
 * (pubsub/memory.c), against the contract in pubsub.h.
 *
 * Covers: a message reaches every subscriber of its channel and no other
 * channel; bytes arrive exactly as sent (NUL bytes included) and in the
 * order sent; a channel with no subscriber swallows messages; after
 * unsubscribe the handler never runs again, also while other threads are
 * publishing (the property streams rely on to free themselves); many
 * channels (the table grows) keep their own subscribers, whether the bus
 * was opened with a sizing hint or without; close(NULL) is a no-op.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub/pubsub.h"
#include "util/strbuf.h"

#define MAX_SEEN 64

struct seen {
	size_t n;
	char channel[MAX_SEEN][32];
	char msg[MAX_SEEN][16];
	size_t len[MAX_SEEN];
};

static void record(void *arg, const char *channel, const void *msg, size_t len)
{
	struct seen *s = arg;
	assert_true(s->n < MAX_SEEN && len <= sizeof(s->msg[0]));
	snprintf(s->channel[s->n], sizeof(s->channel[0]), "%s", channel);
	memcpy(s->msg[s->n], msg, len);
	s->len[s->n++] = len;
}

static struct pubsub *bus_open(size_t expected_channels)
{
	struct strbuf err = STRBUF_INIT;
	struct pubsub_options opt = {.expected_channels = expected_channels};
	struct pubsub *ps = pubsub_memory_ops.open(&opt, &err);
	assert_non_null(ps);
	assert_int_equal(err.len, 0); /* nothing to say when it works */
	strbuf_deinit(&err);
	return ps;
}

static struct pubsub *bus_new(void)
{
	return bus_open(0);
}

static void publish(struct pubsub *ps, const char *channel, const char *msg, size_t len)
{
	assert_int_equal(ps->ops->publish(ps, channel, msg, len), 0);
}

static void test_delivers_to_every_subscriber_of_the_channel_only(void **state)
{
	(void)state;
	struct pubsub *ps = bus_new();
	struct seen a = {0}, b = {0}, other = {0};
	struct pubsub_sub *sa = ps->ops->subscribe(ps, "feed:1", record, &a);
	struct pubsub_sub *sb = ps->ops->subscribe(ps, "feed:1", record, &b);
	struct pubsub_sub *so = ps->ops->subscribe(ps, "feed:10", record, &other);
	publish(ps, "feed:1", "t 5", 3);
	publish(ps, "nobody", "t 6", 3); /* no subscriber: dropped */
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 1);
	assert_int_equal(other.n, 0);
	assert_string_equal(a.channel[0], "feed:1");
	assert_memory_equal(a.msg[0], "t 5", 3);
	ps->ops->unsubscribe(ps, sa);
	ps->ops->unsubscribe(ps, sb);
	ps->ops->unsubscribe(ps, so);
	ps->ops->close(ps);
}

static void test_bytes_and_order_are_kept(void **state)
{
	(void)state;
	struct pubsub *ps = bus_new();
	struct seen s = {0};
	struct pubsub_sub *sub = ps->ops->subscribe(ps, "c", record, &s);
	publish(ps, "c", "a\0b", 3);
	publish(ps, "c", "", 0);
	publish(ps, "c", "third", 5);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.len[0], 3);
	assert_memory_equal(s.msg[0], "a\0b", 3);
	assert_int_equal(s.len[1], 0);
	assert_memory_equal(s.msg[2], "third", 5);
	ps->ops->unsubscribe(ps, sub);
	ps->ops->close(ps);
}

static void test_unsubscribe_stops_delivery(void **state)
{
	(void)state;
	struct pubsub *ps = bus_new();
	struct seen a = {0}, b = {0};
	struct pubsub_sub *sa = ps->ops->subscribe(ps, "c", record, &a);
	struct pubsub_sub *sb = ps->ops->subscribe(ps, "c", record, &b);
	ps->ops->unsubscribe(ps, sa);
	publish(ps, "c", "x", 1);
	assert_int_equal(a.n, 0);
	assert_int_equal(b.n, 1);
	ps->ops->unsubscribe(ps, sb);
	publish(ps, "c", "y", 1); /* the channel is gone now */
	assert_int_equal(b.n, 1);
	/* Subscribing again makes a fresh channel. */
	sa = ps->ops->subscribe(ps, "c", record, &a);
	publish(ps, "c", "z", 1);
	assert_int_equal(a.n, 1);
	ps->ops->unsubscribe(ps, sa);
	ps->ops->unsubscribe(ps, NULL); /* a no-op */
	ps->ops->close(ps);
}

static void count(void *arg, const char *channel, const void *msg, size_t len)
{
	(void)channel, (void)msg, (void)len;
	atomic_fetch_add((atomic_uint *)arg, 1);
}

static void many_channels(size_t hint)
{
	enum { N = 5000 }; /* more than the default table: it grows */
	struct pubsub *ps = bus_open(hint);
	atomic_uint *counts = calloc(N, sizeof(*counts));
	struct pubsub_sub **subs = calloc(N, sizeof(*subs));
	char name[32];
	for (unsigned i = 0; i < N; i++) {
		atomic_init(&counts[i], 0);
		snprintf(name, sizeof(name), "feed:%u", i);
		subs[i] = ps->ops->subscribe(ps, name, count, &counts[i]);
	}
	for (unsigned i = 0; i < N; i += 7) {
		snprintf(name, sizeof(name), "feed:%u", i);
		publish(ps, name, "t 1", 3);
	}
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(atomic_load(&counts[i]), i % 7 == 0 ? 1 : 0);
	for (unsigned i = 0; i < N; i++)
		ps->ops->unsubscribe(ps, subs[i]);
	free(subs);
	free(counts);
	ps->ops->close(ps);
}

static void test_many_channels(void **state)
{
	(void)state;
	many_channels(0);
	many_channels(5000); /* sized for them: no growth */
	many_channels(SIZE_MAX); /* an absurd hint is capped, not obeyed */
	pubsub_memory_ops.close(NULL);
}

/* A subscriber that may be freed once unsubscribed: the handler counts any
 * call that comes after, which must never happen. */
struct mortal {
	atomic_bool gone;
	atomic_uint calls;
};

static atomic_uint late_calls;

static void mortal_handler(void *arg, const char *channel, const void *msg, size_t len)
{
	(void)channel, (void)msg, (void)len;
	struct mortal *m = arg;
	if (atomic_load(&m->gone))
		atomic_fetch_add(&late_calls, 1);
	atomic_fetch_add(&m->calls, 1);
}

struct publisher {
	struct pubsub *ps;
	atomic_bool stop;
	atomic_ulong sent;
};

static void *publish_loop(void *arg)
{
	struct publisher *p = arg;
	while (!atomic_load(&p->stop)) {
		p->ps->ops->publish(p->ps, "hot", "t 1", 3);
		atomic_fetch_add(&p->sent, 1);
	}
	return NULL;
}

static void test_no_delivery_after_unsubscribe_under_load(void **state)
{
	(void)state;
	struct publisher p = {.ps = bus_new()};
	atomic_init(&p.stop, false);
	atomic_init(&p.sent, 0);
	atomic_init(&late_calls, 0);
	pthread_t threads[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, publish_loop, &p), 0);
	while (atomic_load(&p.sent) == 0) /* the publishers are under way */
		sched_yield();
	unsigned delivered = 0;
	for (int round = 0; round < 2000; round++) {
		struct mortal *m = calloc(1, sizeof(*m));
		atomic_init(&m->gone, false);
		atomic_init(&m->calls, 0);
		struct pubsub_sub *sub = p.ps->ops->subscribe(p.ps, "hot", mortal_handler, m);
		p.ps->ops->unsubscribe(p.ps, sub);
		atomic_store(&m->gone, true);
		delivered += atomic_load(&m->calls);
		free(m); /* a late call would touch freed memory: ASan would say */
	}
	atomic_store(&p.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(atomic_load(&late_calls), 0);
	(void)delivered; /* how many landed depends on scheduling */
	p.ps->ops->close(p.ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delivers_to_every_subscriber_of_the_channel_only),
	    cmocka_unit_test(test_bytes_and_order_are_kept),
	    cmocka_unit_test(test_unsubscribe_stops_delivery),
	    cmocka_unit_test(test_many_channels),
	    cmocka_unit_test(test_no_delivery_after_unsubscribe_under_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
