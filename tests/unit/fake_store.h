/*
 * fake_store — a store port adapter for unit tests of the read side
 * (test_feed, test_search_service), included by each.
 *
 * It answers only what hydration, search and the fanout of a post read:
 * tweet_get, user_get, user_get_by_handle and follower_ids (nobody follows
 * anyone), over tweets FAKE_FIRST..FAKE_LAST and users 1..9.
 * Each tweet is live unless a test marks it gone (the store says "not
 * found", as after a delete) or broken (the store fails on it). Every
 * reader is the same object: the fake keeps no state per reader. It counts
 * tweet reads, so a test can tell a cache hit from a store read.
 *
 * Every other op is NULL: a test that reaches one crashes, which is the
 * point (the code under test read something it should not).
 */
#ifndef CHIRP_TESTS_UNIT_FAKE_STORE_H
#define CHIRP_TESTS_UNIT_FAKE_STORE_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

#define FAKE_FIRST 1000
#define FAKE_LAST 1999
#define FAKE_USERS 9

enum fake_state { FAKE_LIVE, FAKE_GONE, FAKE_BROKEN };

static struct {
	struct store store;
	struct store_reader reader;
	_Atomic enum fake_state tweets[FAKE_LAST - FAKE_FIRST + 1];
	_Atomic enum fake_state users[FAKE_USERS + 1];
	atomic_uint tweet_reads;
	atomic_uint liked_reads;
	atomic_uint relation_reads;
} fake;

static struct store_reader *fake_reader_new(struct store *s)
{
	(void)s;
	return &fake.reader;
}

static void fake_reader_free(struct store_reader *r)
{
	(void)r;
}

static int fake_tweet_get(struct store_reader *r, uint64_t id, struct tweet *out)
{
	(void)r;
	atomic_fetch_add(&fake.tweet_reads, 1);
	if (id < FAKE_FIRST || id > FAKE_LAST)
		return STORE_NOT_FOUND;
	switch (atomic_load(&fake.tweets[id - FAKE_FIRST])) {
	case FAKE_GONE: return STORE_NOT_FOUND;
	case FAKE_BROKEN: return STORE_ERROR;
	case FAKE_LIVE: break;
	}
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->author_id = 1;
	strcpy(out->author_handle, "alice");
	strcpy(out->author_display_name, "Alice");
	out->text_len = (size_t)snprintf(out->text, sizeof(out->text), "tweet %llu",
					 (unsigned long long)id);
	return STORE_OK;
}

static int fake_user_get(struct store_reader *r, uint64_t id, struct user *out)
{
	(void)r;
	if (id == 0 || id > FAKE_USERS || atomic_load(&fake.users[id]) == FAKE_GONE)
		return STORE_NOT_FOUND;
	if (atomic_load(&fake.users[id]) == FAKE_BROKEN)
		return STORE_ERROR;
	memset(out, 0, sizeof(*out));
	out->id = id;
	snprintf(out->handle, sizeof(out->handle), "user%llu", (unsigned long long)id);
	strcpy(out->display_name, "Someone");
	return STORE_OK;
}

/* "user<N>" is user N. */
static int fake_user_get_by_handle(struct store_reader *r, const char *handle, struct user *out)
{
	unsigned long long id;
	char rest;
	if (sscanf(handle, "user%llu%c", &id, &rest) != 1)
		return STORE_NOT_FOUND;
	return fake_user_get(r, id, out);
}

static int fake_follower_ids(struct store_reader *r, uint64_t user_id, uint64_t **ids, size_t *n)
{
	(void)r;
	(void)user_id;
	*ids = malloc(sizeof(**ids));
	*n = 0;
	return STORE_OK;
}

/* User FAKE_LIKER likes every tweet whose id is a multiple of 3; nobody
 * else likes anything. */
#define FAKE_LIKER 7
static int fake_viewer_state(struct store_reader *r, uint64_t user_id, const uint64_t *ids,
			     size_t n, uint8_t *state)
{
	(void)r;
	atomic_fetch_add(&fake.liked_reads, 1);
	for (size_t i = 0; i < n; i++)
		state[i] = user_id == FAKE_LIKER && ids[i] % 3 == 0 ? VIEWER_LIKED : 0;
	return STORE_OK;
}

/* User FAKE_MUTER mutes user 1, the author of every fake tweet, and user 1
 * blocks FAKE_BLOCKED; nobody else relates to anyone. */
#define FAKE_MUTER 8
#define FAKE_BLOCKED 9
static int fake_relations(struct store_reader *r, uint64_t user_id, struct store_relation **out,
			  size_t *n)
{
	(void)r;
	atomic_fetch_add(&fake.relation_reads, 1);
	*out = malloc(sizeof(**out));
	*n = 0;
	if (user_id == FAKE_MUTER || user_id == FAKE_BLOCKED) {
		(*out)[0] = (struct store_relation){
			.id = 1, .bits = user_id == FAKE_MUTER ? REL_MUTING : REL_BLOCKED_BY};
		*n = 1;
	}
	return STORE_OK;
}

static const struct store_ops fake_store_ops = {
	.name = "fake",
	.reader_new = fake_reader_new,
	.reader_free = fake_reader_free,
	.tweet_get = fake_tweet_get,
	.user_get = fake_user_get,
	.user_get_by_handle = fake_user_get_by_handle,
	.follower_ids = fake_follower_ids,
	.viewer_state = fake_viewer_state,
	.relations = fake_relations,
};

/* Every tweet and user live again, the read count zero; the store. */
static inline struct store *fake_store_reset(void)
{
	fake.store.ops = &fake_store_ops;
	fake.reader.ops = &fake_store_ops;
	for (size_t i = 0; i < sizeof(fake.tweets) / sizeof(fake.tweets[0]); i++)
		atomic_store(&fake.tweets[i], FAKE_LIVE);
	for (size_t i = 0; i <= FAKE_USERS; i++)
		atomic_store(&fake.users[i], FAKE_LIVE);
	atomic_store(&fake.tweet_reads, 0);
	atomic_store(&fake.liked_reads, 0);
	atomic_store(&fake.relation_reads, 0);
	return &fake.store;
}

static inline void fake_tweet_set(uint64_t id, enum fake_state st)
{
	atomic_store(&fake.tweets[id - FAKE_FIRST], st);
}

#endif
