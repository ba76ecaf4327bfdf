/*
 * media — POST /v1/media, POST /v1/media/{id}/complete, GET /v1/media/{id},
 * PATCH /v1/media/{id} (the description).
 *
 * Thin: each handler reads the request, calls the media service
 * (media/media.h, which has the flow; docs/media.md for users) and sends
 * what it returns. The two writes go through the write service like every
 * write (core/write.h);
 * the service fills in what a media write carries, does the blob store's
 * part before it (on its own threads), and renders the answer inside the
 * transaction (media_follow_writes), so an Idempotency-Key replays the very
 * URLs the client got first.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/write.h"
#include "core/validate.h"
#include "http/respond.h"
#include "media/media.h"
#include "util/log.h"

void api_media_error(struct ctx *c, const struct media_error *err)
{
	if (err->store_failed)
		http_send_unavailable(c->req);
	else
		http_send_error(c->req, err->status, err->code, err->message);
}

/* The service's blob step is over (any thread): on to the store, or the
 * refusal instead. */
static void write_step_done(void *arg, const struct media_error *err)
{
	struct write *aw = arg;
	if (err)
		write_fail(aw, err->status, err->code, err->message);
	else
		write_submit(aw);
}

/* The "description" field (alt text): a string of validate_description,
 * or null or absent (*s NULL, *len 0: none). With `required`, absent is a
 * 422. Anything else is answered here (false). */
static bool read_description(struct ctx *c, json_t *body, bool required, const char **s,
			     size_t *len)
{
	json_t *v = json_object_get(body, "description");
	*s = NULL;
	*len = 0;
	if (!v && required) {
		http_send_error(c->req, 422, "invalid_description", "description is required");
		return false;
	}
	if (!v || json_is_null(v))
		return true;
	if (!api_string(c, body, "description", false, NULL, s, len))
		return false;
	if (!validate_description(*s, *len)) {
		http_send_error(c->req, 422, "invalid_description",
				"description must be at most 1500 characters, without control "
				"characters other than line breaks and tabs");
		return false;
	}
	return true;
}

void api_media_create(struct ctx *c)
{
	struct media_service *m = c->app->media;
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *type, *desc;
	size_t tlen, dlen;
	if (!api_string(c, body, "content_type", true, "invalid_content_type", &type, &tlen) ||
	    !read_description(c, body, false, &desc, &dlen))
		goto done;
	json_t *size = json_object_get(body, "size");
	uint64_t n = size && json_is_integer(size) && json_integer_value(size) >= 1
			     ? (uint64_t)json_integer_value(size)
			     : 0; /* the service says what is wrong with it */
	struct media_error err;
	if (media_check_create(m, type, tlen, n, &err)) {
		api_media_error(c, &err);
		goto done;
	}
	struct write *aw = api_write_new(c, STORE_W_MEDIA_CREATE);
	media_prepare_create(m, c->user_id, type, tlen, n, &aw->sw);
	media_prepare_description(&aw->sw, desc, dlen);
	media_open_upload(m, &aw->sw, write_step_done, aw);
done:
	json_decref(body);
}

/* parts: [{part_number, etag}] naming every part once, in order. Returns
 * the ETags (unquoted; caller frees), or NULL after answering 422. */
static char (*read_parts(struct ctx *c, json_t *body, unsigned nparts))[BLOB_ETAG_LEN + 1]
{
	json_t *parts = json_object_get(body, "parts");
	if (!json_is_array(parts) || json_array_size(parts) != nparts) {
		char msg[96];
		snprintf(msg, sizeof(msg), "parts must list all %u parts with their ETags", nparts);
		http_send_error(c->req, 422, "invalid_parts", msg);
		return NULL;
	}
	char (*etags)[BLOB_ETAG_LEN + 1] = xcalloc(nparts, sizeof(*etags));
	for (unsigned i = 0; i < nparts; i++) {
		json_t *p = json_array_get(parts, i);
		json_t *num = json_object_get(p, "part_number"), *et = json_object_get(p, "etag");
		const char *s = json_is_string(et) ? json_string_value(et) : NULL;
		size_t len = s ? strlen(s) : 0;
		if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
			s++, len -= 2; /* ETags are sent quoted, as HTTP has them */
		if (!json_is_integer(num) || json_integer_value(num) != (json_int_t)i + 1 || !s ||
		    len != BLOB_ETAG_LEN) {
			http_send_error(c->req, 422, "invalid_parts",
					"each part needs part_number (1, 2, ... in order) and its etag");
			free(etags);
			return NULL;
		}
		memcpy(etags[i], s, len);
		etags[i][len] = '\0';
	}
	return etags;
}

/* Complete: the media row is read first (it may be done already). */
struct complete_read {
	struct api_read r;
	struct media_service *m;
	uint64_t user_id, id;
	json_t *body;
	int rc;
	struct media md;
	struct media_error err;
};

static void complete_run(struct api_read *r, struct store_reader *db)
{
	struct complete_read *q = (struct complete_read *)r;
	q->rc = media_complete_start(q->m, db, q->user_id, q->id, &q->md, &q->err);
}

static void complete_finish(struct api_read *r, struct ctx *c)
{
	struct complete_read *q = (struct complete_read *)r;
	char (*etags)[BLOB_ETAG_LEN + 1] = NULL;
	if (q->rc < 0) {
		api_media_error(c, &q->err);
	} else if (q->rc == MEDIA_COMPLETE_DONE) {
		struct strbuf sb = STRBUF_INIT;
		media_render(q->m, &sb, &q->md, false);
		api_send(c, 202, &sb);
		strbuf_deinit(&sb);
	} else if (!q->md.parts || (etags = read_parts(c, q->body, q->md.parts))) {
		struct write *aw = api_write_new(c, STORE_W_MEDIA_COMPLETE);
		media_prepare_complete(&q->md, &aw->sw);
		media_check_upload(q->m, &q->md, etags, write_step_done, aw); /* takes etags */
	}
}

static void complete_release(struct api_read *r)
{
	json_decref(((struct complete_read *)r)->body);
}

void api_media_complete(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	json_t *body = api_body(c, false);
	if (!body)
		return;
	struct complete_read *q = api_read_new(c, sizeof(*q));
	q->r.run = complete_run;
	q->r.finish = complete_finish;
	q->r.release = complete_release;
	q->m = c->app->media;
	q->user_id = c->user_id;
	q->id = id;
	q->body = body;
	api_read(c, &q->r);
}

/* GET /v1/media/{id}: the owner's view of an upload. */
struct show_read {
	struct api_read r;
	struct media_service *m;
	uint64_t user_id, id;
	int rc;
	struct strbuf json;
	struct media_error err;
};

static void show_run(struct api_read *r, struct store_reader *db)
{
	struct show_read *q = (struct show_read *)r;
	q->rc = media_show(q->m, db, q->user_id, q->id, &q->json, &q->err);
}

static void show_finish(struct api_read *r, struct ctx *c)
{
	struct show_read *q = (struct show_read *)r;
	if (q->rc)
		api_media_error(c, &q->err);
	else
		api_send(c, 200, &q->json);
}

static void show_release(struct api_read *r)
{
	strbuf_deinit(&((struct show_read *)r)->json);
}

void api_media_get(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	struct show_read *q = api_read_new(c, sizeof(*q));
	q->r.run = show_run;
	q->r.finish = show_finish;
	q->r.release = show_release;
	q->m = c->app->media;
	q->user_id = c->user_id;
	q->id = id;
	strbuf_init(&q->json);
	api_read(c, &q->r);
}

/* PATCH /v1/media/{id}: {"description": text or null}, the owner's, until
 * the media is on a tweet (media_prepare_describe has the answers). */
void api_media_describe(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *desc;
	size_t dlen;
	if (read_description(c, body, true, &desc, &dlen)) {
		struct write *aw = api_write_new(c, STORE_W_MEDIA_DESCRIBE);
		media_prepare_describe(c->user_id, id, &aw->sw);
		media_prepare_description(&aw->sw, desc, dlen);
		write_submit(aw);
	}
	json_decref(body);
}
