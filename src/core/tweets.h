/*
 * tweets — the tweets service: post, read and delete a tweet, and a
 * user's own tweets.
 *
 * Posting and deleting are writes (core/write.h) whose answers are defined
 * here: 201 Tweet, 422 invalid_media when a media id is not the author's
 * ready and unattached image (checked in the store's transaction, so it
 * cannot change between check and post), 204 for a delete, and 404 for a
 * tweet that is missing or someone else's (the same answer, on purpose).
 * What a post or a delete sets off (fanout, the search index, live events)
 * is registered by those services as effects of these writes.
 */
#ifndef CHIRP_CORE_TWEETS_H
#define CHIRP_CORE_TWEETS_H

#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/write.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "util/strbuf.h"

struct tweets;

struct tweets *tweets_new(struct writes *ws, struct feed *feed);
void tweets_free(struct tweets *t); /* NULL is a no-op */

/* A post, validated (core/validate.h): the text and up to
 * MEDIA_PER_TWEET_MAX distinct media ids are copied. */
void tweets_post(struct tweets *t, uint64_t author_id, const char *text, size_t len,
		 const uint64_t *media_ids, unsigned media_n, const struct store_idem *idem,
		 write_done_fn done, void *arg);

/* 204, or 404 if `tweet_id` is missing or not `author_id`'s. */
void tweets_delete(struct tweets *t, uint64_t author_id, uint64_t tweet_id, write_done_fn done,
		   void *arg);

/* Appends the JSON of one tweet (from the tweet cache when it can);
 * STORE_NOT_FOUND if there is none. */
int tweets_get(struct tweets *t, struct store_reader *r, uint64_t id, struct strbuf *out);

/* A page of `user_id`'s tweets into out[0..page->limit); STORE_NOT_FOUND
 * if the user does not exist. */
int tweets_of_user(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		   struct tweet *out, size_t *n);

#endif
