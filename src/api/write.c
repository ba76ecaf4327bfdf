/*
 * write — see write.h.
 */
#include "api/write.h"

#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "http/respond.h"
#include "util/jsonw.h"
#include "util/log.h"

static void render_error(struct store_write *w, int status, const char *code, const char *msg)
{
	w->resp_status = status;
	strbuf_reset(&w->resp_body);
	jsonw_error(&w->resp_body, code, msg);
}

/*
 * The response of each kind of write, given its outcome. Runs on the
 * writer thread, inside the transaction. If you add a write kind, add its
 * answer here.
 */
static void api_write_render(struct store_write *w)
{
	struct api_write *aw = container_of(w, struct api_write, w);
	struct strbuf *b = &w->resp_body;
	if (media_write_render(aw->app->media, w))
		return;
	strbuf_reset(b);
	if (w->status == STORE_INVALID) {
		render_error(w, 422, "invalid_media",
			     "each media id must be your own, processed (ready) and not on another tweet");
		return;
	}
	if (w->status == STORE_NOT_FOUND) {
		render_error(w, 404, "not_found", "not found");
		return;
	}
	if (w->status == STORE_CONFLICT) {
		render_error(w, 409, "handle_taken", "that handle is taken");
		return;
	}
	switch (w->kind) {
	case STORE_W_USER_CREATE:
		w->resp_status = 201;
		render_user(b, &w->user);
		break;
	case STORE_W_SESSION_CREATE:
		w->resp_status = 201;
		strbuf_append_char(b, '{');
		jsonw_field_str(b, "token", aw->token, 1);
		strbuf_append_char(b, ',');
		jsonw_key(b, "user");
		render_user(b, &w->user);
		strbuf_append_char(b, '}');
		break;
	case STORE_W_TWEET_CREATE:
		w->resp_status = 201;
		render_tweet(b, &w->tweet);
		break;
	case STORE_W_FOLLOW:
		w->resp_status = w->created ? 201 : 200;
		render_user(b, &w->user);
		break;
	case STORE_W_SESSION_DELETE:
	case STORE_W_TWEET_DELETE:
	case STORE_W_UNFOLLOW:
	case STORE_W_PROBE:
		w->resp_status = 204;
		break;
	case STORE_W_MEDIA_CREATE:
	case STORE_W_MEDIA_COMPLETE:
	case STORE_W_JOB_FINISH:
	case STORE_W_MEDIA_PURGE:
		break; /* api_media_render, or not an API write */
	}
}

static void reply(h2o_req_t *req, void *arg)
{
	struct api_write *aw = arg;
	struct store_write *w = &aw->w;
	if (req) {
		if (w->status == STORE_ERROR || w->status == STORE_BUSY) {
			api_send_unavailable(req);
		} else if (w->status == STORE_IDEM_MISMATCH) {
			http_send_error(req, 422, "idempotency_key_reused",
					"this Idempotency-Key was used with a different request");
		} else {
			if (w->replayed)
				http_header_add(req, "idempotent-replayed", "true", 4);
			http_send_json(req, w->resp_status, &w->resp_body);
		}
	}
	api_request_done(aw->app, req ? aw->ctx : NULL);
	store_write_deinit(w);
	sodium_memzero(aw, sizeof(*aw)); /* the token, and any password left */
	free(aw);
}

/* What a committed write changes in the feed; runs before the client is
 * answered, so e.g. a deleted tweet is gone from every feed by then. */
static void update_feed(struct feed *feed, struct store_write *w)
{
	if (w->status != STORE_OK || w->replayed)
		return;
	switch (w->kind) {
	case STORE_W_TWEET_CREATE:
		/* The 201 body is the tweet's JSON: the cache keeps those bytes. */
		feed_on_post(feed, &w->tweet, w->resp_body.data, w->resp_body.len);
		break;
	case STORE_W_TWEET_DELETE:
		feed_on_delete(feed, w->in.tweet_delete.author_id, w->in.tweet_delete.tweet_id);
		break;
	case STORE_W_FOLLOW:
	case STORE_W_UNFOLLOW:
		if (w->created)
			feed_on_follow(feed, w->in.follow.follower_id, w->in.follow.followee_id,
				       w->user.followers_count, w->kind == STORE_W_FOLLOW);
		break;
	case STORE_W_USER_CREATE:
	case STORE_W_SESSION_CREATE:
	case STORE_W_SESSION_DELETE:
	case STORE_W_PROBE:
	case STORE_W_MEDIA_CREATE:
	case STORE_W_MEDIA_COMPLETE:
	case STORE_W_JOB_FINISH:
	case STORE_W_MEDIA_PURGE:
		break;
	}
}

/* The search index follows the store by itself; a nudge makes it look
 * now, and a delete is dropped from it (hydration hides it until then). */
static void update_search(struct search *search, struct store_write *w)
{
	if (w->status != STORE_OK || w->replayed)
		return;
	if (w->kind == STORE_W_TWEET_CREATE || w->kind == STORE_W_USER_CREATE)
		search->ops->notify(search);
	else if (w->kind == STORE_W_TWEET_DELETE)
		search->ops->forget_tweet(search, w->in.tweet_delete.tweet_id);
}

static void on_done(struct store_write *w)
{
	struct api_write *aw = container_of(w, struct api_write, w);
	update_feed(aw->app->feed, w);
	update_search(aw->app->search, w);
	media_write_committed(aw->app->media, w);
	http_async_finish(aw->async, reply, aw);
}

struct api_write *api_write_new(struct ctx *c, enum store_write_kind kind)
{
	struct api_write *aw = xmalloc(sizeof(*aw));
	store_write_init(&aw->w, kind);
	aw->app = c->app;
	aw->token[0] = '\0';
	aw->secret_len = 0;
	aw->known_user = false;
	aw->w.idem = c->idem;
	aw->w.render = api_write_render;
	aw->w.done = on_done;
	aw->async = http_async_begin(c->req);
	aw->ctx = c;
	c->async = true;
	return aw;
}

void api_write_submit(struct api_write *aw)
{
	if (aw->app->store->ops->submit(aw->app->store, &aw->w) != 0) {
		aw->w.status = STORE_BUSY;
		http_async_finish(aw->async, reply, aw);
	}
}

void api_write_fail(struct api_write *aw, int status, const char *code, const char *message)
{
	aw->w.status = STORE_OK;
	render_error(&aw->w, status, code, message);
	http_async_finish(aw->async, reply, aw);
}

void api_write_run_blocking(struct api_write *aw, void (*fn)(struct work *w))
{
	aw->work.fn = fn;
	if (workpool_submit(aw->app->hashers, &aw->work) != 0) {
		aw->w.status = STORE_BUSY;
		http_async_finish(aw->async, reply, aw);
	}
}
