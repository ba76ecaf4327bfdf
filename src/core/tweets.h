/*
 * tweets — the tweets service: post, read and delete a tweet, a user's own
 * tweets, conversations (replies and a tweet's context) and likes.
 *
 * Posting and deleting are writes (core/write.h) whose answers are defined
 * here: 201 Tweet, 422 invalid_media when a media id is not the author's
 * ready and unattached image (checked in the store's transaction, so it
 * cannot change between check and post), 204 for a delete, and 404 for a
 * tweet that is missing or someone else's (the same answer, on purpose);
 * 422 invalid_reply for a reply to a tweet that is missing or deleted;
 * a like answers 201 Tweet the first time, 200 after, an unlike 204, both
 * 404 for a missing tweet. A like's count reaches the tweet cache as an
 * effect of the write (timeline/feed_writes.c), before the answer.
 * What a post or a delete sets off (fanout, the search index, live events)
 * is registered by those services as effects of these writes.
 */
#ifndef CHIRP_CORE_TWEETS_H
#define CHIRP_CORE_TWEETS_H

#include <stdbool.h>
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
struct tweets_new_post {
	const char *text;
	size_t len;
	const uint64_t *media_ids;
	unsigned media_n;
	uint64_t in_reply_to_id; /* 0: not a reply */
};
void tweets_post(struct tweets *t, uint64_t author_id, const struct tweets_new_post *in,
		 const struct store_idem *idem, write_done_fn done, void *arg);

/* 204, or 404 if `tweet_id` is missing or not `author_id`'s. */
void tweets_delete(struct tweets *t, uint64_t author_id, uint64_t tweet_id, write_done_fn done,
		   void *arg);

/* Appends the JSON of one tweet as `viewer` (0: anonymous) sees it, from
 * the tweet cache when it can; STORE_NOT_FOUND if there is none. */
int tweets_get(struct tweets *t, struct store_reader *r, uint64_t viewer, uint64_t id,
	       struct strbuf *out);

/* A page of `user_id`'s tweets and retweets as `viewer` sees them (a
 * Tweet[] appended to `out`, what it holds in *res); STORE_NOT_FOUND if
 * the user does not exist. */
int tweets_of_user(struct tweets *t, struct store_reader *r, uint64_t viewer, uint64_t user_id,
		   const struct store_page *page, struct strbuf *out, struct feed_hydrated *res);

/* A page of the public timeline (every tweet, no retweets), newest first,
 * as `viewer` sees them. */
int tweets_public(struct tweets *t, struct store_reader *r, uint64_t viewer,
		  const struct store_page *page, struct strbuf *out, struct feed_hydrated *res);

/* A page of the tweets carrying hashtag `tag` (folded, core/entities.h),
 * newest first, as `viewer` sees them. */
int tweets_of_hashtag(struct tweets *t, struct store_reader *r, uint64_t viewer, const char *tag,
		      const struct store_page *page, struct strbuf *out, struct feed_hydrated *res);

/* The top TRENDS_MAX hashtags of the STORE_TREND_MINUTES before `now_ms`
 * (a parameter, so tests need not wait an hour) into out[TRENDS_MAX]: by
 * distinct authors, then tweets. Read from the store's counters, which
 * every node shares, at most every TRENDS_REFRESH_MS per process; so a
 * post shows within that much (and a read's round trip). */
#define TRENDS_MAX 10
#define TRENDS_REFRESH_MS 3000
int tweets_trends(struct tweets *t, struct store_reader *r, uint64_t now_ms,
		  struct store_trend *out, size_t *n);

/* How far GET /v1/tweets/{id}/context reaches each way (docs/api.md). */
#define TWEETS_CONTEXT_MAX 40

/* Appends {"ancestors": Tweet[], "descendants": Tweet[]} for tweet `id` as
 * `viewer` sees it: at most TWEETS_CONTEXT_MAX each, oldest first;
 * deleted tweets are left out. STORE_NOT_FOUND if `id` does not exist. */
int tweets_context(struct tweets *t, struct store_reader *r, uint64_t viewer, uint64_t id,
		   struct strbuf *out);

/* `user_id` likes (like true) or stops liking `tweet_id`. */
void tweets_like(struct tweets *t, uint64_t user_id, uint64_t tweet_id, bool like,
		 const struct store_idem *idem, write_done_fn done, void *arg);

/* `user_id` retweets (on true) or stops retweeting `tweet_id` (a
 * retweet's id means its original). A retweet answers 201 with the
 * retweet the first time, 200 with the same retweet after; an unretweet
 * 204; both 404 for a missing tweet. The retweet is fanned out like a
 * tweet (timeline/feed_writes.c). */
void tweets_retweet(struct tweets *t, uint64_t user_id, uint64_t tweet_id, bool on,
		    const struct store_idem *idem, write_done_fn done, void *arg);

/* A page of the users who liked `tweet_id`, newest like first (the like's
 * id is each entry's cursor); STORE_NOT_FOUND if the tweet does not exist. */
int tweets_liked_by(struct store_reader *r, uint64_t tweet_id, const struct store_page *page,
		    struct follow_entry *out, size_t *n);
/* The same for the users who retweeted it (the retweet's id is the cursor). */
int tweets_retweeted_by(struct store_reader *r, uint64_t tweet_id, const struct store_page *page,
			struct follow_entry *out, size_t *n);

#endif
