/*
 * index_writes — what committed writes tell the search index, registered
 * as effects of those writes (core/write.h). The index follows the store
 * by itself; a nudge makes it look now, and a delete is dropped from it
 * (hydration hides the tweet until then).
 */
#include "search/search.h"

#include "core/write.h"

static void on_new(void *arg, const struct store_write *w)
{
	(void)w;
	struct search *s = arg;
	s->ops->notify(s);
}

static void on_delete(void *arg, const struct store_write *w)
{
	struct search *s = arg;
	s->ops->forget_tweet(s, w->in.tweet_delete.tweet_id);
}

void search_follow_writes(struct search *s, struct writes *ws)
{
	writes_after_commit(ws, STORE_W_TWEET_CREATE, on_new, s);
	writes_after_commit(ws, STORE_W_USER_CREATE, on_new, s);
	writes_after_commit(ws, STORE_W_TWEET_DELETE, on_delete, s);
}
