/*
 * tweets — post, read, delete, a user's own tweets, a tweet's context and
 * its likes (the tweets service: core/tweets.h).
 *
 * Every Tweet is rendered for the request's reader (c->user_id, 0 when
 * anonymous): the service splices the reader's "liked" into shared JSON.
 * The liker is always the token's user: nothing in the path or body can
 * make one user like on another's behalf.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/render.h"
#include "api/write.h"
#include "core/entities.h"
#include "core/tweets.h"
#include "core/validate.h"
#include "http/respond.h"
#include "util/id.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/query.h"
#include "util/timeutil.h"
#include "util/utf8.h"

/* media_ids: up to MEDIA_PER_TWEET_MAX distinct ids. Whether each is the
 * author's and ready is checked in the store's transaction (STORE_INVALID
 * -> 422), so it cannot change between the check and the post. */
static bool read_media_ids(struct ctx *c, json_t *body, uint64_t *ids, unsigned *n)
{
	json_t *arr = json_object_get(body, "media_ids");
	*n = 0;
	if (!arr)
		return true;
	if (!json_is_array(arr)) {
		http_send_error(c->req, 400, "wrong_type", "media_ids must be an array of ids");
		return false;
	}
	if (json_array_size(arr) > MEDIA_PER_TWEET_MAX) {
		http_send_error(c->req, 422, "invalid_media", "a tweet carries at most 4 media");
		return false;
	}
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			http_send_error(c->req, 400, "wrong_type", "media_ids must be an array of ids");
			return false;
		}
		uint64_t id;
		if (!id_parse(json_string_value(v), json_string_length(v), &id)) {
			http_send_error(c->req, 422, "invalid_media", "no such media");
			return false;
		}
		for (unsigned k = 0; k < *n; k++) {
			if (ids[k] == id) {
				http_send_error(c->req, 422, "invalid_media", "a media id appears twice");
				return false;
			}
		}
		ids[(*n)++] = id;
	}
	return true;
}

/* in_reply_to_id: an id string, or null or absent for no reply. Whether
 * the tweet exists is checked in the store's transaction (422
 * invalid_reply), like media. */
static bool read_reply_to(struct ctx *c, json_t *body, uint64_t *id)
{
	bool present;
	return api_nullable_id(c, body, "in_reply_to_id", "invalid_reply", &present, id);
}

void api_tweets_create(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	uint64_t media_ids[MEDIA_PER_TWEET_MAX];
	struct tweets_new_post in = {.media_ids = media_ids};
	if (!api_string(c, body, "text", true, "invalid_text", &in.text, &in.len) ||
	    !read_media_ids(c, body, media_ids, &in.media_n) ||
	    !read_reply_to(c, body, &in.in_reply_to_id))
		goto done;
	if (!validate_tweet_text(in.text, in.len)) {
		http_send_error(c->req, 422, "invalid_text",
				"text must be 1..280 characters of UTF-8, not only spaces or invisible "
				"characters, without NUL");
		goto done;
	}
	tweets_post(c->app->tweets, c->user_id, &in, &c->idem, api_write_done, api_write_begin(c));
done:
	json_decref(body);
}

/* One tweet's JSON, from the tweet cache or the store, or its context. */
struct tweet_read {
	struct api_read r;
	struct tweets *tweets;
	uint64_t viewer;
	uint64_t id;
	bool context;
	int rc;
	struct strbuf json;
};

static void tweet_run(struct api_read *r, struct store_reader *db)
{
	struct tweet_read *t = (struct tweet_read *)r;
	t->rc = t->context ? tweets_context(t->tweets, db, t->viewer, t->id, &t->json)
			   : tweets_get(t->tweets, db, t->viewer, t->id, &t->json);
}

static void tweet_finish(struct api_read *r, struct ctx *c)
{
	struct tweet_read *t = (struct tweet_read *)r;
	if (t->rc != STORE_OK)
		api_store_error(c, t->rc);
	else
		api_send(c, 200, &t->json);
}

static void tweet_release(struct api_read *r)
{
	strbuf_deinit(&((struct tweet_read *)r)->json);
}

static void tweet_read(struct ctx *c, bool context)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	struct tweet_read *t = api_read_new(c, sizeof(*t));
	t->r.run = tweet_run;
	t->r.finish = tweet_finish;
	t->r.release = tweet_release;
	t->tweets = c->app->tweets;
	t->viewer = c->user_id;
	t->id = id;
	t->context = context;
	strbuf_init(&t->json);
	api_read(c, &t->r);
}

void api_tweets_get(struct ctx *c)
{
	tweet_read(c, false);
}

void api_tweets_context(struct ctx *c)
{
	tweet_read(c, true);
}

void api_tweets_delete(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	/* Someone else's tweet is "not found", exactly like a missing one. */
	tweets_delete(c->app->tweets, c->user_id, id, api_write_done, api_write_begin(c));
}

/* A page of one user's tweets and retweets, or of a hashtag's tweets. */
struct user_tweets_read {
	struct api_read r;
	struct tweets *tweets;
	uint64_t viewer;
	uint64_t user_id; /* 0: the tag's page, or the public timeline's */
	char tag[HASHTAG_MAX + 1]; /* "": the public timeline */
	struct store_page page;
	int rc;
	struct feed_hydrated res;
	struct strbuf body;
};

static void user_tweets_run(struct api_read *r, struct store_reader *db)
{
	struct user_tweets_read *u = (struct user_tweets_read *)r;
	if (u->user_id)
		u->rc = tweets_of_user(u->tweets, db, u->viewer, u->user_id, &u->page, &u->body,
				       &u->res);
	else if (u->tag[0])
		u->rc = tweets_of_hashtag(u->tweets, db, u->viewer, u->tag, &u->page, &u->body,
					  &u->res);
	else
		u->rc = tweets_public(u->tweets, db, u->viewer, &u->page, &u->body, &u->res);
}

static void user_tweets_finish(struct api_read *r, struct ctx *c)
{
	struct user_tweets_read *u = (struct user_tweets_read *)r;
	if (u->rc != STORE_OK) {
		api_store_error(c, u->rc);
		return;
	}
	api_link(c, &u->page, u->res.n, u->res.newest, u->res.oldest);
	api_send(c, 200, &u->body);
}

static void user_tweets_release(struct api_read *r)
{
	strbuf_deinit(&((struct user_tweets_read *)r)->body);
}

static struct user_tweets_read *tweet_page_read(struct ctx *c, const struct store_page *page)
{
	struct user_tweets_read *u = api_read_new(c, sizeof(*u));
	u->r.run = user_tweets_run;
	u->r.finish = user_tweets_finish;
	u->r.release = user_tweets_release;
	u->tweets = c->app->tweets;
	u->viewer = c->user_id;
	u->page = *page;
	strbuf_init(&u->body);
	return u;
}

void api_user_tweets(struct ctx *c)
{
	uint64_t id;
	struct store_page page;
	if (!api_param_id(c, 0, &id) || !api_page(c, &page))
		return;
	struct user_tweets_read *u = tweet_page_read(c, &page);
	u->user_id = id;
	api_read(c, &u->r);
}

/* The {tag} of the path, percent-decoded, as a hashtag would have it
 * (core/entities.h), folded into out; else a 400 invalid_tag. */
static bool param_tag(struct ctx *c, char *out)
{
	/* Decoding never lengthens: room for the whole encoded form, whose
	 * bound is three bytes (%XX) per byte of the longest tag. */
	char raw[3 * HASHTAG_MAX + 1];
	size_t len = c->m.params[0].len, n;
	bool ok = len <= 3 * HASHTAG_MAX && query_decode(c->m.params[0].s, len, raw, &n) &&
		  n <= HASHTAG_MAX;
	if (ok) {
		raw[n] = '\0';
		ok = utf8_validate(raw, n, NULL) && entities_tag_valid(raw, n, out);
	}
	if (!ok)
		http_send_error(c->req, 400, "invalid_tag",
				"a tag is 1 to 50 letters, digits or _ (not only digits), without "
				"the #");
	return ok;
}

void api_hashtag_tweets(struct ctx *c)
{
	char tag[HASHTAG_MAX + 1];
	struct store_page page;
	if (!param_tag(c, tag) || !api_page(c, &page))
		return;
	struct user_tweets_read *u = tweet_page_read(c, &page);
	memcpy(u->tag, tag, sizeof(u->tag));
	api_read(c, &u->r);
}

/* The public timeline: for the Mastodon API's (docs/mastodon.md); chirp's
 * own API has no route to it yet. */
void api_public_tweets(struct ctx *c)
{
	struct store_page page;
	if (!api_page(c, &page))
		return;
	struct user_tweets_read *u = tweet_page_read(c, &page);
	api_read(c, &u->r);
}

/* ---- trends ---- */

struct trends_read {
	struct api_read r;
	struct tweets *tweets;
	int rc;
	size_t n;
	struct store_trend top[TRENDS_MAX];
};

static void trends_run(struct api_read *r, struct store_reader *db)
{
	struct trends_read *t = (struct trends_read *)r;
	t->rc = tweets_trends(t->tweets, db, time_now_ms(), t->top, &t->n);
}

static void trends_finish(struct api_read *r, struct ctx *c)
{
	struct trends_read *t = (struct trends_read *)r;
	if (t->rc != STORE_OK) {
		api_store_error(c, t->rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_char(&sb, '[');
	for (size_t i = 0; i < t->n; i++) {
		strbuf_append_str(&sb, i ? ",{" : "{");
		jsonw_field_str(&sb, "tag", t->top[i].tag, 1);
		jsonw_field_u64(&sb, "authors", t->top[i].authors, 0);
		jsonw_field_u64(&sb, "tweets", t->top[i].tweets, 0);
		strbuf_append_char(&sb, '}');
	}
	strbuf_append_char(&sb, ']');
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_trends(struct ctx *c)
{
	struct trends_read *t = api_read_new(c, sizeof(*t));
	t->r.run = trends_run;
	t->r.finish = trends_finish;
	t->tweets = c->app->tweets;
	api_read(c, &t->r);
}

/* ---- likes ---- */

static void like(struct ctx *c, bool on)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	if (on) {
		/* A body is not needed; one that is sent must still be valid JSON. */
		json_t *body = api_body(c, false);
		if (!body)
			return;
		json_decref(body);
	}
	tweets_like(c->app->tweets, c->user_id, id, on, &c->idem, api_write_done,
		    api_write_begin(c));
}

void api_likes_create(struct ctx *c)
{
	like(c, true);
}

void api_likes_delete(struct ctx *c)
{
	like(c, false);
}

/* ---- retweets ---- */

static void retweet(struct ctx *c, bool on)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	if (on) {
		json_t *body = api_body(c, false); /* optional, but JSON if sent */
		if (!body)
			return;
		json_decref(body);
	}
	/* The retweeter is the token's user: nobody undoes another's retweet. */
	tweets_retweet(c->app->tweets, c->user_id, id, on, &c->idem, api_write_done,
		       api_write_begin(c));
}

void api_retweets_create(struct ctx *c)
{
	retweet(c, true);
}

void api_retweets_delete(struct ctx *c)
{
	retweet(c, false);
}

/* A page of the users who liked or retweeted a tweet. (The same shape as a
 * followers page, api/follows.c, whose reader is its own.) */
typedef int (*actors_fn)(struct store_reader *r, uint64_t tweet_id, const struct store_page *page,
			 struct follow_entry *out, size_t *n);

struct liked_by_read {
	struct api_read r;
	actors_fn list; /* tweets_liked_by or tweets_retweeted_by */
	uint64_t tweet_id;
	struct store_page page;
	int rc;
	size_t n;
	struct follow_entry *e; /* page.limit of them; follow_id is the like's
	                         * or retweet's id */
};

static void liked_by_run(struct api_read *r, struct store_reader *db)
{
	struct liked_by_read *l = (struct liked_by_read *)r;
	l->e = xmalloc(sizeof(*l->e) * l->page.limit);
	l->rc = l->list(db, l->tweet_id, &l->page, l->e, &l->n);
}

static void liked_by_finish(struct api_read *r, struct ctx *c)
{
	struct liked_by_read *l = (struct liked_by_read *)r;
	if (l->rc != STORE_OK) {
		api_store_error(c, l->rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	render_follow_users(&sb, l->e, l->n);
	api_link(c, &l->page, l->n, l->n ? l->e[0].follow_id : 0,
		 l->n ? l->e[l->n - 1].follow_id : 0);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

static void liked_by_release(struct api_read *r)
{
	free(((struct liked_by_read *)r)->e);
}

static void actors(struct ctx *c, actors_fn list)
{
	uint64_t id;
	struct store_page page;
	if (!api_param_id(c, 0, &id) || !api_page(c, &page))
		return;
	struct liked_by_read *l = api_read_new(c, sizeof(*l));
	l->r.run = liked_by_run;
	l->r.finish = liked_by_finish;
	l->r.release = liked_by_release;
	l->list = list;
	l->tweet_id = id;
	l->page = page;
	api_read(c, &l->r);
}

void api_liked_by(struct ctx *c)
{
	actors(c, tweets_liked_by);
}

void api_retweeted_by(struct ctx *c)
{
	actors(c, tweets_retweeted_by);
}
