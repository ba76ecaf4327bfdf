/*
 * mastodon_media — Mastodon's one-request upload (POST /api/v1/media,
 * /api/v2/media: the file in a multipart form) over chirp's three steps:
 * create the upload (POST /v1/media), put the bytes to its signed URL
 * (PUT /blobs/{key}), complete it (POST /v1/media/{id}/complete). Each
 * step is the native handler; the answer of one starts the next. The
 * media pipeline then strips EXIF and makes the thumbnail in the
 * background, as for any upload: v2 answers 202 with `url: null` until
 * then, and GET /api/v1/media/{id} 206 until it is ready.
 *
 * The server puts the bytes itself, into whichever blob store (the local
 * directory or a bucket), as one PUT: a file of at most --media-part-bytes.
 *
 * A `description` (alt text) rides along to the first step, and PUT
 * /api/v1/media/{id} changes it through PATCH /v1/media/{id}.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/mastodon.h"
#include "http/respond.h"
#include "util/id.h"

struct upload {
	mastodon_uploaded_fn then;
	void *arg;
	struct mastodon_file file;
};

static void answer_completed(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	struct upload *u = c->facade;
	json_t *m = mastodon_parse(body);
	c->facade = u->arg;
	u->then(c, m, u->arg);
	json_decref(m);
}

/* The bytes are stored: complete the upload. */
static void answer_uploaded(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	c->m = *(struct route_match *)((struct upload *)c->facade + 1);
	mastodon_set_body(c, json_object());
	c->answer = answer_completed;
	api_media_complete(c);
}

/* The upload exists: put the file in its place (a single PUT: an upload
 * of more parts has no `upload.url`). */
static void answer_created(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	struct upload *u = c->facade;
	json_t *m = mastodon_parse(body);
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *url = json_string_value(json_object_get(json_object_get(m, "upload"), "url"));
	uint64_t media_id;
	if (!id || !id_parse(id, strlen(id), &media_id) || !url) {
		json_decref(m);
		mastodon_error(c, 413, "a file through the Mastodon API is at most "
				       "--media-part-bytes");
		return;
	}
	/* the complete step's path parameter, the id, kept behind the upload */
	size_t idlen = strlen(id);
	char *kept = h2o_mem_alloc_pool(&c->req->pool, idlen);
	memcpy(kept, id, idlen);
	struct route_match *next = (struct route_match *)(u + 1);
	*next = c->m;
	next->params[0].s = kept;
	next->params[0].len = idlen;
	next->nparams = 1;
	h2o_req_t *req = c->req;
	req->entity = h2o_iovec_init(u->file.data, u->file.len);
	json_decref(m);
	c->answer = answer_uploaded;
	api_blob_put_own(c, media_id, u->file.len);
}

void mastodon_upload(struct ctx *c, const struct mastodon_file *file, json_t *description,
		     mastodon_uploaded_fn then, void *arg)
{
	struct upload *u = h2o_mem_alloc_pool(&c->req->pool,
					      sizeof(*u) + sizeof(struct route_match));
	u->then = then;
	u->arg = arg;
	u->file = *file;
	c->facade = u;
	json_t *body = json_pack("{ss, sI}", "content_type", file->content_type, "size",
				 (json_int_t)file->len);
	if (description)
		json_object_set(body, "description", description); /* the native step checks it */
	mastodon_set_body(c, body);
	c->answer = answer_created;
	api_media_create(c);
}

/* v1 answers 200 and v2 202, both before processing ends (v2's `url` is
 * null until then). */
static void answer_uploaded_media(struct ctx *c, json_t *media, void *v2)
{
	mastodon_send(c, (uintptr_t)v2 ? 202 : 200, mastodon_attachment(c, media));
}

static void media_create(struct ctx *c, bool v2)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	struct mastodon_file file;
	if (!mastodon_file(c, p, "file", &file)) {
		mastodon_error(c, 422, "file must be a file of a multipart/form-data body");
		return;
	}
	mastodon_upload(c, &file, json_object_get(p, "description"), answer_uploaded_media,
			(void *)(uintptr_t)v2);
}

void mastodon_media_create_v1(struct ctx *c)
{
	media_create(c, false);
}

void mastodon_media_create_v2(struct ctx *c)
{
	media_create(c, true);
}

/* GET /api/v1/media/{id}: 206 while processing, 200 once ready. */
static void answer_media(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *m = mastodon_parse(body);
	const char *st = json_string_value(json_object_get(m, "status"));
	if (st && strcmp(st, "failed") == 0) {
		json_decref(m);
		mastodon_error(c, 422, "the file could not be processed as an image");
		return;
	}
	bool ready = st && strcmp(st, "ready") == 0;
	mastodon_send(c, ready ? 200 : 206, mastodon_attachment(c, m));
	json_decref(m);
}

void mastodon_media_get(struct ctx *c)
{
	c->answer = answer_media;
	api_media_get(c);
}

/* PUT /api/v1/media/{id}: a new description (focus and thumbnail are not
 * chirp's: ignored), through PATCH /v1/media/{id}; without one, the media
 * as it is. 409 once the media is on a status (Mastodon answers 404). */
void mastodon_media_update(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	json_t *desc = json_object_get(p, "description");
	c->answer = answer_media;
	if (!desc) {
		api_media_get(c);
		return;
	}
	mastodon_set_body(c, json_pack("{sO}", "description", desc));
	api_media_describe(c);
}
