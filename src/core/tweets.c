/*
 * tweets — see tweets.h.
 */
#include "core/tweets.h"

#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "util/log.h"

struct tweets {
	struct writes *writes;
	struct feed *feed;
};

static void render_post(struct write *w, void *arg)
{
	(void)arg;
	if (w->sw.status == STORE_INVALID) {
		write_render_error(w, 422, "invalid_media",
				   "each media id must be your own, processed (ready) and not on "
				   "another tweet");
		return;
	}
	w->sw.resp_status = 201;
	render_tweet(&w->sw.resp_body, &w->sw.tweet);
}

static void render_delete(struct write *w, void *arg)
{
	(void)arg;
	if (!write_render_not_found(w))
		w->sw.resp_status = 204;
}

struct tweets *tweets_new(struct writes *ws, struct feed *feed)
{
	struct tweets *t = xcalloc(1, sizeof(*t));
	t->writes = ws;
	t->feed = feed;
	writes_define(ws, STORE_W_TWEET_CREATE, render_post, NULL);
	writes_define(ws, STORE_W_TWEET_DELETE, render_delete, NULL);
	return t;
}

void tweets_free(struct tweets *t)
{
	free(t);
}

void tweets_post(struct tweets *t, uint64_t author_id, const char *text, size_t len,
		 const uint64_t *media_ids, unsigned media_n, const struct store_idem *idem,
		 write_done_fn done, void *arg)
{
	struct write *w = write_new(t->writes, STORE_W_TWEET_CREATE, sizeof(*w), idem, done, arg);
	struct store_write *sw = &w->sw;
	sw->in.tweet_create.author_id = author_id;
	memcpy(sw->in.tweet_create.text, text, len);
	sw->in.tweet_create.text[len] = '\0';
	sw->in.tweet_create.text_len = len;
	sw->in.tweet_create.media_n = media_n;
	memcpy(sw->in.tweet_create.media_ids, media_ids, media_n * sizeof(*media_ids));
	write_submit(w);
}

void tweets_delete(struct tweets *t, uint64_t author_id, uint64_t tweet_id, write_done_fn done,
		   void *arg)
{
	struct write *w = write_new(t->writes, STORE_W_TWEET_DELETE, sizeof(*w), NULL, done, arg);
	w->sw.in.tweet_delete.author_id = author_id;
	w->sw.in.tweet_delete.tweet_id = tweet_id;
	write_submit(w);
}

int tweets_get(struct tweets *t, struct store_reader *r, uint64_t id, struct strbuf *out)
{
	return feed_tweet(t->feed, r, id, out);
}

int tweets_of_user(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		   struct tweet *out, size_t *n)
{
	return r->ops->user_tweets(r, user_id, page, out, n);
}
