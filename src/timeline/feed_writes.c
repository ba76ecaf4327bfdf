/*
 * feed_writes — what committed writes change in the feed, registered as
 * effects of those writes (core/write.h). They run on the store's writer
 * thread after the commit and before the client's answer, so a deleted
 * tweet is gone from every feed by then.
 */
#include "timeline/feed.h"

#include "core/write.h"

static void on_post(void *arg, const struct store_write *w)
{
	/* The 201 body is the tweet's JSON: the cache keeps those bytes. */
	feed_on_post(arg, &w->tweet, w->resp_body.data, w->resp_body.len);
}

static void on_delete(void *arg, const struct store_write *w)
{
	feed_on_delete(arg, w->in.tweet_delete.author_id, w->in.tweet_delete.tweet_id);
}

static void on_follow(void *arg, const struct store_write *w)
{
	if (w->created)
		feed_on_follow(arg, w->in.follow.follower_id, w->in.follow.followee_id,
			       w->user.followers_count, w->kind == STORE_W_FOLLOW);
}

void feed_follow_writes(struct feed *f, struct writes *ws)
{
	writes_after_commit(ws, STORE_W_TWEET_CREATE, on_post, f);
	writes_after_commit(ws, STORE_W_TWEET_DELETE, on_delete, f);
	writes_after_commit(ws, STORE_W_FOLLOW, on_follow, f);
	writes_after_commit(ws, STORE_W_UNFOLLOW, on_follow, f);
}
