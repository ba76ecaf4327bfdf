/*
 * feed_writes — what committed writes change in the feed, registered as
 * effects of those writes (core/write.h). They run on the store's writer
 * thread after the commit and before the client's answer, so a deleted
 * tweet is gone from every feed by then.
 */
#include "timeline/feed.h"

#include "core/render.h"
#include "core/write.h"

static void on_post(void *arg, const struct store_write *w)
{
	/* The 201 body has the poster's own fields spliced in; the cache
	 * keeps the shared JSON every reader starts from. */
	struct strbuf sb = STRBUF_INIT;
	render_tweet(&sb, &w->tweet);
	feed_on_post(arg, &w->tweet, sb.data, sb.len);
	strbuf_deinit(&sb);
	if (w->related.id) /* the tweet replied to has one reply more */
		feed_on_counts(arg, &w->related);
}

/* A deleted tweet's retweets go with it: each is hydrated with its
 * original, whose tombstone hides them all. A deleted retweet's original
 * counts one less (in `related`). */
static void on_delete(void *arg, const struct store_write *w)
{
	feed_on_delete(arg, w->in.tweet_delete.author_id, w->in.tweet_delete.tweet_id);
	if (w->related.id) /* the tweet it replied to has one reply less */
		feed_on_counts(arg, &w->related);
}

/* The author's name and avatar are inside their cached tweets. */
static void on_profile(void *arg, const struct store_write *w)
{
	if (w->in.profile.set_display_name || w->in.profile.set_avatar)
		feed_on_author_renamed(arg, w->in.profile.user_id);
}

/* A like or unlike that changed something: the tweet's like_count. */
static void on_like(void *arg, const struct store_write *w)
{
	if (w->created)
		feed_on_counts(arg, &w->tweet);
}

/* A new retweet is posted like a tweet (its head is what the cache keeps,
 * fanned out by the retweeter's rules), and its original counts one more;
 * an undone one is deleted like a tweet, and its original counts one less. */
static void on_retweet(void *arg, const struct store_write *w)
{
	if (!w->created)
		return;
	struct strbuf sb = STRBUF_INIT;
	render_retweet_head(&sb, &w->tweet);
	feed_on_post(arg, &w->tweet, sb.data, sb.len);
	strbuf_deinit(&sb);
	feed_on_counts(arg, &w->related);
}

static void on_unretweet(void *arg, const struct store_write *w)
{
	if (!w->created)
		return;
	feed_on_delete(arg, w->related.author_id, w->related.id);
	feed_on_counts(arg, &w->tweet);
}

static void on_follow(void *arg, const struct store_write *w)
{
	if (w->created)
		feed_on_follow(arg, w->in.follow.follower_id, w->in.follow.followee_id,
			       w->user.followers_count, w->kind == STORE_W_FOLLOW);
}

/* A new block ended the follows between the two, both ways: both
 * timelines are rebuilt without them (reads hide the rest). The reverse
 * edge's count is unknown here; UINT64_MAX never looks like a celebrity
 * crossing. */
static void on_block(void *arg, const struct store_write *w)
{
	if (!w->created)
		return;
	feed_on_follow(arg, w->in.relation.user_id, w->in.relation.other_id,
		       w->user.followers_count, false);
	feed_on_follow(arg, w->in.relation.other_id, w->in.relation.user_id, UINT64_MAX, false);
}

/* A mute, or the end of a mute or block: live streams read the reader's
 * relations again (reads hide by them already). */
static void on_relation(void *arg, const struct store_write *w)
{
	if (!w->created)
		return;
	feed_on_relation(arg, w->in.relation.user_id);
	if (w->kind == STORE_W_UNBLOCK) /* the blocked one saw nothing of them either */
		feed_on_relation(arg, w->in.relation.other_id);
}

/* Users a follow, like or post notified (w->notified, filled by the
 * store): their streams send it. */
static void on_notified(void *arg, const struct store_write *w)
{
	for (unsigned i = 0; i < w->notified_n; i++)
		feed_on_notified(arg, w->notified[i]);
}

/* Whatever the write changed of what its user liked or retweeted. */
static void on_engaged(void *arg, const struct store_write *w)
{
	feed_on_engaged(arg, w->kind == STORE_W_TWEET_DELETE ? w->in.tweet_delete.author_id
							    : w->in.like.user_id);
}

void feed_follow_writes(struct feed *f, struct writes *ws)
{
	/* First, so that nothing the write sets off reads a stale cache. */
	writes_after_commit(ws, STORE_W_LIKE, on_engaged, f);
	writes_after_commit(ws, STORE_W_UNLIKE, on_engaged, f);
	writes_after_commit(ws, STORE_W_RETWEET, on_engaged, f);
	writes_after_commit(ws, STORE_W_UNRETWEET, on_engaged, f);
	writes_after_commit(ws, STORE_W_TWEET_DELETE, on_engaged, f);
	writes_after_commit(ws, STORE_W_FOLLOW, on_notified, f);
	writes_after_commit(ws, STORE_W_LIKE, on_notified, f);
	writes_after_commit(ws, STORE_W_TWEET_CREATE, on_notified, f);
	writes_after_commit(ws, STORE_W_RETWEET, on_notified, f);
	writes_after_commit(ws, STORE_W_UNBLOCK, on_relation, f);
	writes_after_commit(ws, STORE_W_MUTE, on_relation, f);
	writes_after_commit(ws, STORE_W_UNMUTE, on_relation, f);
	writes_after_commit(ws, STORE_W_BLOCK, on_block, f);
	writes_after_commit(ws, STORE_W_TWEET_CREATE, on_post, f);
	writes_after_commit(ws, STORE_W_TWEET_DELETE, on_delete, f);
	writes_after_commit(ws, STORE_W_FOLLOW, on_follow, f);
	writes_after_commit(ws, STORE_W_UNFOLLOW, on_follow, f);
	writes_after_commit(ws, STORE_W_LIKE, on_like, f);
	writes_after_commit(ws, STORE_W_UNLIKE, on_like, f);
	writes_after_commit(ws, STORE_W_PROFILE_UPDATE, on_profile, f);
	writes_after_commit(ws, STORE_W_RETWEET, on_retweet, f);
	writes_after_commit(ws, STORE_W_UNRETWEET, on_unretweet, f);
}
