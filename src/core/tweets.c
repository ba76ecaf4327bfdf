/*
 * tweets — see tweets.h.
 */
#include "core/tweets.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/entities.h"
#include "core/render.h"
#include "util/log.h"

struct tweets {
	struct writes *writes;
	struct feed *feed;
	/* The last top hashtags read from the store's counters, and when:
	 * a cache of what every node reads alike, so that the counters are
	 * read at most every TRENDS_REFRESH_MS whatever the traffic. */
	pthread_mutex_t trends_lock;
	uint64_t trends_ms;
	struct store_trend trends[TRENDS_MAX];
	size_t trends_n;
};

static void render_post(struct write *w, void *arg)
{
	(void)arg;
	if (w->sw.status == STORE_INVALID) {
		write_render_error(w, 422, "invalid_media",
				   "each media id must be your own, processed (ready) and not on "
				   "another tweet, their descriptions at most 6000 bytes together");
		return;
	}
	if (w->sw.status == STORE_NOT_FOUND) {
		write_render_error(w, 422, "invalid_reply",
				   "in_reply_to_id names no tweet (it is missing or was deleted)");
		return;
	}
	w->sw.resp_status = 201;
	render_tweet_for(&w->sw.resp_body, &w->sw.tweet, 0); /* nobody liked it yet */
}

/* The tweet as the liker now sees it. */
static void render_like(struct write *w, void *arg)
{
	(void)arg;
	if (write_render_not_found(w))
		return;
	w->sw.resp_status = w->sw.created ? 201 : 200;
	render_tweet_for(&w->sw.resp_body, &w->sw.tweet, w->sw.viewer);
}

/* The retweet (new, or the one there was) as its retweeter sees it. */
static void render_retweet(struct write *w, void *arg)
{
	(void)arg;
	if (write_render_not_found(w))
		return;
	w->sw.resp_status = w->sw.created ? 201 : 200;
	render_retweet_for(&w->sw.resp_body, &w->sw.tweet, &w->sw.related, w->sw.viewer);
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
	pthread_mutex_init(&t->trends_lock, NULL);
	writes_define(ws, STORE_W_TWEET_CREATE, render_post, NULL);
	writes_define(ws, STORE_W_TWEET_DELETE, render_delete, NULL);
	writes_define(ws, STORE_W_LIKE, render_like, NULL);
	writes_define(ws, STORE_W_UNLIKE, render_delete, NULL); /* 204, or 404 */
	writes_define(ws, STORE_W_RETWEET, render_retweet, NULL);
	writes_define(ws, STORE_W_UNRETWEET, render_delete, NULL);
	return t;
}

void tweets_free(struct tweets *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->trends_lock);
	free(t);
}

void tweets_post(struct tweets *t, uint64_t author_id, const struct tweets_new_post *in,
		 const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct write *w = write_new(t->writes, STORE_W_TWEET_CREATE, sizeof(*w), idem, done, arg);
	struct store_write *sw = &w->sw;
	sw->in.tweet_create.author_id = author_id;
	memcpy(sw->in.tweet_create.text, in->text, in->len);
	sw->in.tweet_create.text[in->len] = '\0';
	sw->in.tweet_create.text_len = in->len;
	sw->in.tweet_create.media_n = in->media_n;
	memcpy(sw->in.tweet_create.media_ids, in->media_ids, in->media_n * sizeof(*in->media_ids));
	sw->in.tweet_create.in_reply_to_id = in->in_reply_to_id;
	entities_parse(in->text, in->len, &sw->in.tweet_create.entities);
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

int tweets_get(struct tweets *t, struct store_reader *r, uint64_t viewer, uint64_t id,
	       struct strbuf *out)
{
	return feed_tweet_for(t->feed, r, viewer, id, out);
}

/* A fixed list of ids as a feed_id_source: one read gives them all. */
struct id_list {
	const uint64_t *ids;
	size_t n;
	bool read;
};

static int id_list_next(void *arg, size_t want, uint64_t *ids, size_t *n)
{
	struct id_list *l = arg;
	*n = 0;
	if (l->read)
		return STORE_OK;
	l->read = true;
	*n = l->n < want ? l->n : want;
	memcpy(ids, l->ids, *n * sizeof(*ids));
	return STORE_OK;
}

static int hydrate_list(struct tweets *t, struct store_reader *r, uint64_t viewer,
			const uint64_t *ids, size_t n, struct strbuf *out, struct feed_hydrated *res)
{
	struct id_list l = {.ids = ids, .n = n};
	/* A list of tweets of one kind (a profile, a tag, a thread): only
	 * blocks hide tweets there, not mutes. */
	struct feed_id_source src = {.next = id_list_next, .arg = &l, .show_muted = true};
	return feed_hydrate(t->feed, r, viewer, &src, n, out, res);
}

int tweets_of_user(struct tweets *t, struct store_reader *r, uint64_t viewer, uint64_t user_id,
		   const struct store_page *page, struct strbuf *out, struct feed_hydrated *res)
{
	bool blocked;
	int rc = feed_blocked_by(r, viewer, user_id, &blocked);
	if (rc || blocked)
		return rc ? rc : STORE_NOT_FOUND; /* a blocker's profile is not there for the blocked */
	struct tweet *rows = xmalloc(page->limit * sizeof(*rows));
	uint64_t *ids = xmalloc(page->limit * sizeof(*ids));
	size_t n;
	rc = r->ops->user_tweets(r, user_id, page, rows, &n);
	for (size_t i = 0; rc == STORE_OK && i < n; i++)
		ids[i] = rows[i].id;
	free(rows);
	if (rc == STORE_OK) /* retweets among them come with their originals */
		rc = hydrate_list(t, r, viewer, ids, n, out, res);
	free(ids);
	return rc;
}

int tweets_of_hashtag(struct tweets *t, struct store_reader *r, uint64_t viewer, const char *tag,
		      const struct store_page *page, struct strbuf *out, struct feed_hydrated *res)
{
	uint64_t *ids = xmalloc(page->limit * sizeof(*ids));
	size_t n;
	int rc = r->ops->hashtag_tweet_ids(r, tag, page, ids, &n);
	if (rc == STORE_OK)
		rc = hydrate_list(t, r, viewer, ids, n, out, res);
	free(ids);
	return rc;
}

int tweets_public(struct tweets *t, struct store_reader *r, uint64_t viewer,
		  const struct store_page *page, struct strbuf *out, struct feed_hydrated *res)
{
	uint64_t *ids = xmalloc(page->limit * sizeof(*ids));
	size_t n;
	int rc = r->ops->public_tweet_ids(r, page, ids, &n);
	if (rc == STORE_OK)
		rc = hydrate_list(t, r, viewer, ids, n, out, res);
	free(ids);
	return rc;
}

int tweets_trends(struct tweets *t, struct store_reader *r, uint64_t now_ms,
		  struct store_trend *out, size_t *n)
{
	pthread_mutex_lock(&t->trends_lock);
	bool fresh = t->trends_ms && now_ms >= t->trends_ms && now_ms - t->trends_ms < TRENDS_REFRESH_MS;
	if (fresh) {
		*n = t->trends_n;
		memcpy(out, t->trends, *n * sizeof(*out));
	}
	pthread_mutex_unlock(&t->trends_lock);
	if (fresh)
		return STORE_OK;
	uint64_t window = (uint64_t)STORE_TREND_MINUTES * 60000;
	int rc = r->ops->trends(r, now_ms > window ? now_ms - window : 0, out, TRENDS_MAX, n);
	if (rc)
		return rc;
	pthread_mutex_lock(&t->trends_lock);
	t->trends_ms = now_ms;
	t->trends_n = *n;
	memcpy(t->trends, out, *n * sizeof(*out));
	pthread_mutex_unlock(&t->trends_lock);
	return STORE_OK;
}

int tweets_context(struct tweets *t, struct store_reader *r, uint64_t viewer, uint64_t id,
		   struct strbuf *out)
{
	uint64_t up[TWEETS_CONTEXT_MAX], down[TWEETS_CONTEXT_MAX];
	size_t nup, ndown;
	struct strbuf probe = STRBUF_INIT;
	/* It exists (and is not deleted), and its author does not block the viewer? */
	int rc = feed_tweet_for(t->feed, r, viewer, id, &probe);
	strbuf_deinit(&probe);
	if (rc)
		return rc;
	if ((rc = r->ops->ancestor_ids(r, id, TWEETS_CONTEXT_MAX, up, &nup)) ||
	    (rc = r->ops->descendant_ids(r, id, TWEETS_CONTEXT_MAX, down, &ndown)))
		return rc;
	for (size_t i = 0, j = nup; i + 1 < j; i++, j--) { /* nearest first -> oldest first */
		uint64_t x = up[i];
		up[i] = up[j - 1];
		up[j - 1] = x;
	}
	struct feed_hydrated res;
	strbuf_append_str(out, "{\"ancestors\":");
	if ((rc = hydrate_list(t, r, viewer, up, nup, out, &res)))
		return rc;
	strbuf_append_str(out, ",\"descendants\":");
	if ((rc = hydrate_list(t, r, viewer, down, ndown, out, &res)))
		return rc;
	strbuf_append_char(out, '}');
	return STORE_OK;
}

void tweets_like(struct tweets *t, uint64_t user_id, uint64_t tweet_id, bool like,
		 const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct write *w = write_new(t->writes, like ? STORE_W_LIKE : STORE_W_UNLIKE, sizeof(*w),
				    idem, done, arg);
	w->sw.in.like.user_id = user_id;
	w->sw.in.like.tweet_id = tweet_id;
	write_submit(w);
}

void tweets_retweet(struct tweets *t, uint64_t user_id, uint64_t tweet_id, bool on,
		    const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct write *w = write_new(t->writes, on ? STORE_W_RETWEET : STORE_W_UNRETWEET,
				    sizeof(*w), idem, done, arg);
	w->sw.in.like.user_id = user_id;
	w->sw.in.like.tweet_id = tweet_id;
	write_submit(w);
}

int tweets_liked_by(struct store_reader *r, uint64_t tweet_id, const struct store_page *page,
		    struct follow_entry *out, size_t *n)
{
	return r->ops->liked_by(r, tweet_id, page, out, n);
}

int tweets_retweeted_by(struct store_reader *r, uint64_t tweet_id, const struct store_page *page,
			struct follow_entry *out, size_t *n)
{
	return r->ops->retweeted_by(r, tweet_id, page, out, n);
}
