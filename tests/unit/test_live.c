/*
 * test_live — unit tests for the live feed's pure parts: the messages the
 * feed publishes (timeline/live) and a session's watermark
 * (live/watermark), which decides what a session hands on.
 *
 * Covers: every event survives encode then decode (a revoke with its
 * token id); channel names are
 * distinct per kind and per id; messages that this version does not write
 * (truncated, unknown kind, bad ids, stray bytes) are refused, never
 * misread. The watermark: a session without a resume point starts after
 * U and replays nothing; a resumed one replays (after, U] and then takes
 * live tweets past it; a live tweet above the cursor during a round is
 * left to the round (or the next); a tweet that comes late (below one
 * passed on, as two nodes publish out of order) is passed on once, live
 * or during a round, without moving the resume point back; a full memory
 * of passed ids raises the floor, dropping, never repeating; and, against
 * a model of one or two nodes' fanouts (record, push into the timeline,
 * publish) interleaved at random with deliveries, catch-up pages and
 * resyncs, every tweet of the feed past the resume point is handed on
 * exactly once (in id order on one node); also when each page is read off
 * the loop (the fanout moves on before it is applied, with the session's
 * events waiting, and room for only part of it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "live/watermark.h"
#include "timeline/live.h"

static void roundtrip(enum live_kind kind, uint64_t id)
{
	char buf[LIVE_MESSAGE_MAX];
	struct live_event in = {.kind = kind, .id = id}, out;
	size_t len = live_encode(&in, buf);
	assert_true(len > 0 && len < LIVE_MESSAGE_MAX);
	assert_true(live_decode(buf, len, &out));
	assert_int_equal(out.kind, kind);
	assert_int_equal(out.id, id);
}

static void test_roundtrip(void **state)
{
	(void)state;
	roundtrip(LIVE_TWEET, 1);
	roundtrip(LIVE_TWEET, 914633885000663040ull);
	roundtrip(LIVE_DELETE, (1ull << 63) - 1); /* the largest id */
	roundtrip(LIVE_RESYNC, 0);
	roundtrip(LIVE_BUS_LOST, 0);
	roundtrip(LIVE_NOTIFY, 0);
}

static void test_revoke_roundtrip(void **state)
{
	(void)state;
	struct live_event in = {.kind = LIVE_REVOKE}, out;
	for (size_t i = 0; i < LIVE_TOKEN_ID_LEN; i++)
		in.token[i] = (uint8_t)(0xf1 - 17 * i); /* every nibble value somewhere */
	char buf[LIVE_MESSAGE_MAX];
	size_t len = live_encode(&in, buf);
	assert_int_equal(len, 2 + 2 * LIVE_TOKEN_ID_LEN);
	assert_true(len < LIVE_MESSAGE_MAX);
	assert_memory_equal(buf, "x f1e0cfbead9c8b7a69584736251403f2", len);
	assert_true(live_decode(buf, len, &out));
	assert_int_equal(out.kind, LIVE_REVOKE);
	assert_memory_equal(out.token, in.token, LIVE_TOKEN_ID_LEN);

	/* Every session but one: a letter of its own, the same token. */
	in.kind = LIVE_REVOKE_OTHERS;
	len = live_encode(&in, buf);
	assert_memory_equal(buf, "o f1e0cfbead9c8b7a69584736251403f2", len);
	assert_true(live_decode(buf, len, &out));
	assert_int_equal(out.kind, LIVE_REVOKE_OTHERS);
	assert_memory_equal(out.token, in.token, LIVE_TOKEN_ID_LEN);
}

static void test_channels(void **state)
{
	(void)state;
	char a[LIVE_CHANNEL_MAX], b[LIVE_CHANNEL_MAX];
	live_channel_feed(a, 42);
	live_channel_author(b, 42);
	assert_string_equal(a, "feed:42");
	assert_string_equal(b, "author:42");
	live_channel_author(a, (1ull << 63) - 1);
	assert_string_equal(a, "author:9223372036854775807");
}

static void refused(const char *msg, size_t len)
{
	struct live_event e;
	assert_false(live_decode(msg, len, &e));
}

static void test_refuses_what_it_does_not_write(void **state)
{
	(void)state;
	refused("", 0);
	refused("t", 1);
	refused("t ", 2);
	refused("x 5", 3);
	refused("t5", 2);
	refused("t 0", 3);           /* ids are never zero */
	refused("t -5", 4);
	refused("t 5 ", 4);
	refused("t 5\0", 4);
	refused("d 99999999999999999999", 22); /* past 63 bits */
	refused("rr", 2);
	refused("r ", 2);
	refused("x ", 2);
	refused("x 0123456789abcdef0123456789abcde", 33);   /* one digit short */
	refused("x 0123456789abcdef0123456789abcdef0", 35); /* one too many */
	refused("x 0123456789ABCDEF0123456789abcdef", 34);  /* upper case */
	refused("x 0123456789abcdeg0123456789abcdef", 34);
	refused("x-0123456789abcdef0123456789abcdef", 34);
}

/* ---- the watermark ---- */

static void test_a_fresh_session_starts_after_upto(void **state)
{
	(void)state;
	struct live_watermark w;
	live_watermark_init(&w, 0, 20);
	assert_false(w.syncing); /* nothing to replay */
	assert_false(live_watermark_live(&w, 20)); /* U: counted as before the start */
	assert_false(live_watermark_live(&w, 19));
	assert_true(live_watermark_live(&w, 21));
	assert_false(live_watermark_live(&w, 21)); /* never twice */
	assert_true(live_watermark_live(&w, 30));
	assert_int_equal(w.resume, 30);
}

/* Two nodes posted 21 and 22 at once, and 22 was published first: 21 is
 * late, not passed. */
static void test_a_late_tweet_is_passed_on_once(void **state)
{
	(void)state;
	struct live_watermark w;
	live_watermark_init(&w, 0, 20);
	assert_true(live_watermark_live(&w, 22));
	assert_true(live_watermark_live(&w, 21));
	assert_int_equal(w.resume, 22); /* a reconnect resumes after both */
	assert_false(live_watermark_live(&w, 21));
	assert_false(live_watermark_live(&w, 22));
	assert_true(live_watermark_live(&w, 23));
	assert_int_equal(w.resume, 23);
}

static void test_a_resumed_session_replays_then_goes_live(void **state)
{
	(void)state;
	struct live_watermark w;
	uint64_t after, before;
	live_watermark_init(&w, 5, 20);
	assert_true(w.syncing);
	assert_true(live_watermark_pending(&w, &after, &before));
	assert_int_equal(after, 5);
	assert_int_equal(before, 21); /* (5, 20] */
	live_watermark_replayed(&w, 7);
	live_watermark_replayed(&w, 12);
	assert_true(live_watermark_pending(&w, &after, &before));
	assert_int_equal(after, 12); /* the next page starts past the last one */
	live_watermark_round_done(&w, 22);
	assert_false(w.syncing);
	assert_int_equal(w.cursor, 20);
	assert_int_equal(w.resume, 12);
	assert_false(live_watermark_live(&w, 12)); /* replayed: not again */
	assert_false(live_watermark_live(&w, 5));  /* the client had it */
	/* Not in the feed when the round read it (its node had not recorded
	 * it, or, on one node, tweet U was not pushed yet): it comes live. */
	assert_true(live_watermark_live(&w, 20));
	assert_true(live_watermark_live(&w, 19));
	assert_true(live_watermark_live(&w, 23));
	assert_int_equal(w.resume, 23);
}

static void test_live_tweets_during_a_round_come_with_the_next(void **state)
{
	(void)state;
	struct live_watermark w;
	uint64_t after, before;
	live_watermark_init(&w, 5, 10);
	assert_false(live_watermark_live(&w, 11)); /* during the round: dropped */
	assert_true(w.again);
	live_watermark_replayed(&w, 10);
	live_watermark_round_done(&w, 11); /* U read now covers tweet 11 */
	assert_true(w.syncing);
	assert_false(w.again);
	assert_true(live_watermark_pending(&w, &after, &before));
	assert_int_equal(after, 10);
	assert_int_equal(before, 12);
	live_watermark_replayed(&w, 11);
	live_watermark_round_done(&w, 11);
	assert_false(w.syncing);
	assert_int_equal(w.cursor, 11);
	assert_false(live_watermark_live(&w, 11));
	/* A resync while idle starts a round at once; during one, asks for
	 * another. */
	live_watermark_resync(&w, 15);
	assert_true(w.syncing);
	live_watermark_resync(&w, 16);
	assert_true(w.again);
}

/* During a round: a live tweet above the cursor is the round's to read,
 * one below it that the round did not find (it came late) goes at once. */
static void test_a_late_tweet_during_a_round(void **state)
{
	(void)state;
	struct live_watermark w;
	live_watermark_init(&w, 5, 20);
	live_watermark_replayed(&w, 7);
	live_watermark_replayed(&w, 12);
	assert_false(live_watermark_live(&w, 15)); /* the round reads it */
	assert_false(w.again);
	assert_true(live_watermark_live(&w, 9));   /* late: the round passed it */
	assert_false(live_watermark_live(&w, 9));
	assert_false(live_watermark_live(&w, 7));  /* replayed */
	assert_int_equal(w.resume, 12);            /* never back */
	live_watermark_replayed(&w, 15);
	live_watermark_round_done(&w, 20);
	assert_false(live_watermark_live(&w, 15));
}

/* Past LIVE_WATERMARK_RECENT ids the smallest make room and the floor
 * rises over them: a tweet that late is dropped, never passed twice. */
static void test_a_full_memory_raises_the_floor(void **state)
{
	(void)state;
	struct live_watermark w;
	live_watermark_init(&w, 0, 1000);
	/* every other id, so that the gaps could still come late */
	for (uint64_t k = 0; k < LIVE_WATERMARK_RECENT + 10; k++)
		assert_true(live_watermark_live(&w, 1002 + 2 * k));
	assert_int_equal(w.floor, 1002 + 2 * 9); /* the ten oldest went */
	for (uint64_t k = 0; k < LIVE_WATERMARK_RECENT + 10; k++)
		assert_false(live_watermark_live(&w, 1002 + 2 * k)); /* never twice */
	assert_false(live_watermark_live(&w, 1001)); /* below the floor: too late */
	assert_true(live_watermark_live(&w, 1021));  /* above it: still in time */
	assert_int_equal(w.floor, 1022);             /* room made again */
	assert_false(live_watermark_live(&w, 1021)); /* the floor covers it */
	assert_int_equal(w.resume, 1002 + 2 * (LIVE_WATERMARK_RECENT + 9));
}

/*
 * A model of what a session sees. Tweets 1..N are posted on `nodes` nodes
 * (each tweet on one, chosen at random); each node's fanout handles its
 * own tweets in id order, each in three steps: the tweet is recorded
 * (feed_live_upto moves up to its id, and it is pending), it is pushed
 * into the reader's timeline, it is published to the reader's channel
 * (and is done). A tweet not in the reader's feed is neither pushed nor
 * published. The nodes' steps interleave at random, so with two nodes a
 * tweet may be published after a larger one, or recorded after U was
 * read above it (its id was made, its commit still ran). U is read as
 * feed_live_upto_shared does: it waits (here: runs the fanouts) until no
 * tweet at or below it is pending. The session subscribes at some point,
 * so it receives only what is published after; between its steps, the
 * test delivers queued events, reads catch-up pages, resyncs, or lets a
 * fanout move.
 */
#define MODEL_TWEETS 60
#define MODEL_PAGE 3
#define MODEL_NODES_MAX 2

struct model_node {
	unsigned job;  /* the tweet whose job is in progress; 0: none yet */
	unsigned step; /* of that job: 0 recorded, 1 pushed, 2 published */
};

struct model {
	uint64_t rng;
	unsigned nodes;
	unsigned node_of[MODEL_TWEETS + 1];
	struct model_node node[MODEL_NODES_MAX];
	bool in_feed[MODEL_TWEETS + 1];
	bool pushed[MODEL_TWEETS + 1];
	uint64_t upto;         /* feed_live_upto: the largest id recorded */
	bool subscribed;
	uint64_t queue[MODEL_TWEETS];
	size_t queued, delivered;
	uint64_t out[MODEL_TWEETS];
	size_t nout;
	struct live_watermark w;
};

static unsigned model_rand(struct model *m, unsigned n)
{
	m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((m->rng >> 33) % n);
}

/* The next tweet of node `k` after `id`, or 0. */
static unsigned model_next_job(const struct model *m, unsigned k, unsigned id)
{
	for (unsigned t = id + 1; t <= MODEL_TWEETS; t++)
		if (m->node_of[t] == k)
			return t;
	return 0;
}

/* One step of node k's fanout; false if it has nothing left to do. */
static bool model_node_step(struct model *m, unsigned k)
{
	struct model_node *n = &m->node[k];
	if (n->job == 0 || n->step == 2) {
		unsigned next = model_next_job(m, k, n->job);
		if (!next)
			return false;
		n->job = next;
		n->step = 0;
		if (m->upto < next)
			m->upto = next;
	} else if (n->step == 0) {
		m->pushed[n->job] = m->in_feed[n->job];
		n->step = 1;
	} else {
		if (m->in_feed[n->job] && m->subscribed)
			m->queue[m->queued++] = n->job;
		n->step = 2;
	}
	return true;
}

/* One step of some node's fanout; false once every tweet is published. */
static bool model_fanout(struct model *m)
{
	unsigned first = model_rand(m, m->nodes);
	for (unsigned i = 0; i < m->nodes; i++)
		if (model_node_step(m, (first + i) % m->nodes))
			return true;
	return false;
}

/* U, once no tweet at or below it is pending. */
static uint64_t model_upto(struct model *m)
{
	uint64_t upto = m->upto;
	for (unsigned k = 0; k < m->nodes; k++) {
		struct model_node *n = &m->node[k];
		while (n->job && n->job <= upto && n->step < 2)
			model_node_step(m, k);
	}
	return upto;
}

static void model_pass(struct model *m, uint64_t id)
{
	assert_true(m->nout < MODEL_TWEETS);
	assert_true(m->w.resume >= id); /* what the client resumes after */
	m->out[m->nout++] = id;
}

/* One catch-up page, as live/service.c reads it. With `offloaded`, as it
 * does when the store may not be read on a loop: the page is read, the
 * fanout moves on while it comes back (the session's events wait in its
 * queue), and the room left takes only its oldest tweets; U for the next
 * round is read when it is applied. */
static void model_catch_up(struct model *m, bool offloaded)
{
	if (!m->w.syncing)
		return;
	uint64_t after, before, page[MODEL_PAGE];
	size_t n = 0;
	if (live_watermark_pending(&m->w, &after, &before)) {
		for (uint64_t id = after + 1; id < before && n < MODEL_PAGE; id++)
			if (m->pushed[id])
				page[n++] = id;
	}
	size_t fits = n;
	if (offloaded) {
		for (unsigned k = model_rand(m, 4); k > 0; k--)
			model_fanout(m);
		if (n)
			fits = 1 + model_rand(m, (unsigned)n);
	}
	for (size_t i = 0; i < fits; i++) {
		live_watermark_replayed(&m->w, page[i]);
		model_pass(m, page[i]);
	}
	if (fits == n && n < MODEL_PAGE)
		live_watermark_round_done(&m->w, m->w.again ? model_upto(m) : m->w.upto);
}

static bool model_deliver(struct model *m)
{
	if (m->delivered == m->queued)
		return false;
	uint64_t id = m->queue[m->delivered++];
	if (live_watermark_live(&m->w, id))
		model_pass(m, id);
	return true;
}

static void model_run(uint64_t seed, unsigned nodes, bool offloaded)
{
	struct model m = {.rng = seed, .nodes = nodes};
	for (unsigned i = 1; i <= MODEL_TWEETS; i++) {
		m.in_feed[i] = model_rand(&m, 5) != 0;
		m.node_of[i] = model_rand(&m, nodes);
	}
	/* The fanout gets a head start; then the session subscribes, reads
	 * U, and resumes from a tweet it saw before (or not at all). */
	for (unsigned k = model_rand(&m, 3 * MODEL_TWEETS); k > 0; k--)
		model_fanout(&m);
	m.subscribed = true;
	uint64_t upto = model_upto(&m);
	uint64_t resume = model_rand(&m, 2) ? model_rand(&m, (unsigned)upto + 1) : 0;
	uint64_t start = resume ? resume : upto;
	live_watermark_init(&m.w, resume, upto);
	for (;;) {
		unsigned r = model_rand(&m, 10);
		if (r < 4) {
			if (!model_fanout(&m) && !model_deliver(&m) && !m.w.syncing)
				break;
		} else if (r < 7) {
			model_deliver(&m);
		} else if (r < 9) {
			model_catch_up(&m, offloaded);
		} else {
			live_watermark_resync(&m.w, model_upto(&m));
		}
	}
	/* Exactly the feed's tweets past the start, each once; on one node
	 * in id order. */
	bool got[MODEL_TWEETS + 1] = {false};
	for (size_t k = 0; k < m.nout; k++) {
		assert_true(m.out[k] > start && m.in_feed[m.out[k]]);
		assert_false(got[m.out[k]]);
		got[m.out[k]] = true;
		if (nodes == 1 && k > 0)
			assert_true(m.out[k] > m.out[k - 1]);
	}
	for (uint64_t id = start + 1; id <= MODEL_TWEETS; id++)
		assert_int_equal(got[id], m.in_feed[id]);
}

static void test_no_gap_and_no_duplicate_against_a_model(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 5000; seed++) {
		model_run(seed, 1, false);
		model_run(seed, 1, true);
	}
}

/* Two nodes publish out of id order: the session still passes on every
 * tweet past its start once. */
static void test_two_nodes_no_gap_and_no_duplicate_against_a_model(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 5000; seed++) {
		model_run(seed, 2, false);
		model_run(seed, 2, true);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_revoke_roundtrip),
	    cmocka_unit_test(test_channels),
	    cmocka_unit_test(test_refuses_what_it_does_not_write),
	    cmocka_unit_test(test_a_fresh_session_starts_after_upto),
	    cmocka_unit_test(test_a_late_tweet_is_passed_on_once),
	    cmocka_unit_test(test_a_resumed_session_replays_then_goes_live),
	    cmocka_unit_test(test_live_tweets_during_a_round_come_with_the_next),
	    cmocka_unit_test(test_a_late_tweet_during_a_round),
	    cmocka_unit_test(test_a_full_memory_raises_the_floor),
	    cmocka_unit_test(test_no_gap_and_no_duplicate_against_a_model),
	    cmocka_unit_test(test_two_nodes_no_gap_and_no_duplicate_against_a_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
