/*
 * tweets — post, read, delete, and a user's own timeline.
 */
#include <string.h>

#include "api/api.h"
#include "core/render.h"
#include "api/write.h"
#include "core/validate.h"
#include "http/respond.h"

/* media_ids: until media upload exists, only an empty list is valid. */
static bool check_media(struct ctx *c, json_t *body)
{
	json_t *ids = json_object_get(body, "media_ids");
	if (!ids)
		return true;
	if (!json_is_array(ids)) {
		http_send_error(c->req, 400, "wrong_type", "media_ids must be an array of ids");
		return false;
	}
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v)) {
			http_send_error(c->req, 400, "wrong_type", "media_ids must be an array of ids");
			return false;
		}
	}
	if (json_array_size(ids) > 0) {
		http_send_error(c->req, 422, "invalid_media", "no such media");
		return false;
	}
	return true;
}

void api_tweets_create(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *text;
	size_t len;
	if (!api_string(c, body, "text", true, "invalid_text", &text, &len) || !check_media(c, body))
		goto done;
	if (!validate_tweet_text(text, len)) {
		http_send_error(c->req, 422, "invalid_text",
				"text must be 1..280 characters of UTF-8, not only spaces, without NUL");
		goto done;
	}
	struct api_write *aw = api_write_new(c, STORE_W_TWEET_CREATE);
	aw->w.in.tweet_create.author_id = c->user_id;
	memcpy(aw->w.in.tweet_create.text, text, len);
	aw->w.in.tweet_create.text[len] = '\0';
	aw->w.in.tweet_create.text_len = len;
	api_write_submit(aw);
done:
	json_decref(body);
}

void api_tweets_get(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	struct strbuf sb = STRBUF_INIT;
	int rc = feed_tweet(c->app->feed, c->db, id, &sb);
	if (rc != STORE_OK)
		api_store_error(c, rc);
	else
		api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_tweets_delete(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	/* Someone else's tweet is "not found", exactly like a missing one. */
	struct api_write *aw = api_write_new(c, STORE_W_TWEET_DELETE);
	aw->w.in.tweet_delete.author_id = c->user_id;
	aw->w.in.tweet_delete.tweet_id = id;
	api_write_submit(aw);
}

/* Sends a page of tweets with its Link header. */
void api_send_tweet_page(struct ctx *c, const struct store_page *page, const struct tweet *t,
			 size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	render_tweets(&sb, t, n);
	api_link(c, page, n, n ? t[0].id : 0, n ? t[n - 1].id : 0);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_user_tweets(struct ctx *c)
{
	uint64_t id;
	struct store_page page;
	if (!api_param_id(c, 0, &id) || !api_page(c, &page))
		return;
	struct tweet *t = h2o_mem_alloc_pool(&c->req->pool, sizeof(*t) * page.limit);
	size_t n;
	int rc = c->db->ops->user_tweets(c->db, id, &page, t, &n);
	if (rc != STORE_OK)
		api_store_error(c, rc);
	else
		api_send_tweet_page(c, &page, t, n);
}
