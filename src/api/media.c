/*
 * media — POST /v1/media, POST /v1/media/{id}/complete, GET /v1/media/{id}
 * (the flow is in media/media.h and docs/media.md).
 *
 * Responses of the two writes are rendered on the store's writer thread
 * (api_media_render), like every write, so an Idempotency-Key replays the
 * very URLs the client got first.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/write.h"
#include "http/respond.h"
#include "media/media.h"
#include "util/jsonw.h"
#include "util/container_of.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char *const accepted_types[] = {"image/jpeg", "image/png", "image/webp", "image/gif"};

struct multipart_begin {
	struct work work;
	struct write *aw;
	struct media_service *m;
};

/* On a media I/O thread: opens the multipart upload of the media's key
 * (which is why media ids are made here, not by the store), then hands the
 * write to the store. */
static void multipart_begin_run(struct work *wk)
{
	struct multipart_begin *mb = container_of(wk, struct multipart_begin, work);
	struct write *aw = mb->aw;
	char key[BLOB_KEY_MAX];
	media_key(key, aw->sw.in.media_create.id, ".orig");
	if (mb->m->blob->ops->multipart_begin(mb->m->blob, key, aw->sw.in.media_create.upload_id))
		write_fail(aw, 503, "unavailable", "the blob store failed; try again");
	else
		write_submit(aw);
	free(mb);
}

void api_media_create(struct ctx *c)
{
	struct media_service *m = c->app->media;
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *type;
	size_t tlen;
	if (!api_string(c, body, "content_type", true, "invalid_content_type", &type, &tlen))
		goto done;
	bool known = false;
	for (size_t i = 0; i < sizeof(accepted_types) / sizeof(accepted_types[0]); i++)
		known |= strlen(accepted_types[i]) == tlen && memcmp(accepted_types[i], type, tlen) == 0;
	if (!known) {
		http_send_error(c->req, 415, "unsupported_media_type",
				"content_type must be image/jpeg, image/png, image/webp or image/gif");
		goto done;
	}
	json_t *size = json_object_get(body, "size");
	if (!size || !json_is_integer(size) || json_integer_value(size) < 1) {
		http_send_error(c->req, 422, "invalid_size", "size must be a positive number of bytes");
		goto done;
	}
	uint64_t n = (uint64_t)json_integer_value(size);
	if (n > m->opt.max_bytes) {
		char msg[96];
		snprintf(msg, sizeof(msg), "media may be at most %llu bytes",
			 (unsigned long long)m->opt.max_bytes);
		http_send_error(c->req, 413, "too_large", msg);
		goto done;
	}
	struct write *aw = api_write_new(c, STORE_W_MEDIA_CREATE);
	aw->sw.in.media_create.id = idgen_next(&m->ids);
	aw->sw.in.media_create.owner_id = c->user_id;
	aw->sw.in.media_create.size = n;
	aw->sw.in.media_create.parts = media_parts(m, n);
	memcpy(aw->sw.in.media_create.claimed_type, type, tlen);
	aw->sw.in.media_create.claimed_type[tlen] = '\0';
	if (!aw->sw.in.media_create.parts) {
		write_submit(aw);
		goto done;
	}
	/* A multipart upload may need the blob store to open it first (S3
	 * hands out an upload id): a network call, so off the loop. */
	struct multipart_begin *mb = xcalloc(1, sizeof(*mb));
	mb->aw = aw;
	mb->m = m;
	mb->work.fn = multipart_begin_run;
	if (workpool_submit(m->io, &mb->work) != 0) {
		free(mb);
		write_fail(aw, 503, "unavailable", "too busy; try again");
	}
done:
	json_decref(body);
}

static void render_upload(struct media_service *m, struct strbuf *b, const struct media *md)
{
	uint64_t expires = time_now_ms() / 1000 + m->opt.upload_ttl_s;
	char ts[RFC3339_LEN + 1], key[BLOB_KEY_MAX];
	time_format_rfc3339(expires * 1000, ts);
	strbuf_append_str(b, ",\"upload\":{\"method\":\"PUT\",\"url\":");
	if (md->parts) {
		strbuf_append_str(b, "null,\"headers\":{}");
	} else {
		media_key(key, md->id, ".orig");
		strbuf_append_char(b, '"');
		m->blob->ops->presign(m->blob, "PUT", key, expires, md->size, b);
		strbuf_appendf(b, "\",\"headers\":{\"Content-Length\":\"%llu\"}",
			       (unsigned long long)md->size);
	}
	jsonw_field_str(b, "expires_at", ts, 0);
	strbuf_append_char(b, '}');
	if (!md->parts)
		return;
	strbuf_appendf(b, ",\"part_size\":%llu,\"parts\":[", (unsigned long long)m->opt.part_bytes);
	media_key(key, md->id, ".orig");
	for (unsigned n = 1; n <= md->parts; n++) {
		strbuf_appendf(b, "%s{\"part_number\":%u,\"size\":%llu,\"url\":\"", n > 1 ? "," : "", n,
			       (unsigned long long)media_part_size(m, md->size, n));
		m->blob->ops->presign_part(m->blob, key, md->upload_id, n, expires,
					   media_part_size(m, md->size, n), b);
		strbuf_append_str(b, "\"}");
	}
	strbuf_append_char(b, ']');
}

/* The Media JSON; with_upload for the answer to POST /v1/media. */
static void render_media_json(struct media_service *m, struct strbuf *b, const struct media *md,
			      bool with_upload)
{
	strbuf_append_char(b, '{');
	jsonw_field_id(b, "id", md->id, 1);
	jsonw_field_str(b, "status", media_status_name(md->status), 0);
	bool ready = md->status == MEDIA_READY;
	jsonw_field_str(b, "content_type", ready ? md->out.content_type : md->claimed_type, 0);
	jsonw_field_u64(b, "size", md->size, 0);
	if (with_upload)
		render_upload(m, b, md);
	if (ready) {
		jsonw_field_u64(b, "width", md->out.width, 0);
		jsonw_field_u64(b, "height", md->out.height, 0);
		strbuf_append_str(b, ",\"url\":\"");
		media_url(m, b, &md->out, false);
		strbuf_append_str(b, "\",\"thumbnail_url\":\"");
		media_url(m, b, &md->out, true);
		strbuf_append_char(b, '"');
	}
	if (md->status == MEDIA_FAILED || md->status == MEDIA_PROCESSING)
		jsonw_field_u64(b, "attempts", md->attempts, 0);
	if (md->error[0])
		jsonw_field_str(b, "error", md->error, 0);
	strbuf_append_char(b, '}');
}

bool media_write_render(struct media_service *m, struct store_write *w)
{
	struct strbuf *b = &w->resp_body;
	if (w->kind != STORE_W_MEDIA_CREATE && w->kind != STORE_W_MEDIA_COMPLETE)
		return false;
	strbuf_reset(b);
	if (w->status == STORE_NOT_FOUND) {
		w->resp_status = 404;
		jsonw_error(b, "not_found", "no such media");
	} else if (w->status == STORE_CONFLICT) {
		w->resp_status = 409;
		jsonw_error(b, "media_not_uploadable", "this media failed or was released");
	} else {
		w->resp_status = w->kind == STORE_W_MEDIA_CREATE ? 201 : 202;
		render_media_json(m, b, &w->media, w->kind == STORE_W_MEDIA_CREATE);
	}
	return true;
}

void media_write_committed(struct media_service *m, const struct store_write *w)
{
	if (w->kind == STORE_W_MEDIA_COMPLETE && w->status == STORE_OK && w->created)
		m->queue->ops->notify(m->queue);
}

/* ---- complete ---- */

struct complete_check {
	struct work work;
	struct write *aw;
	struct media_service *m;
	struct media md;
	char (*etags)[BLOB_ETAG_LEN + 1]; /* parts of them, when md.parts */
};

/* On a media I/O thread: is everything the client announced there? A
 * multipart upload is joined first (unless an earlier complete, cut short,
 * already did), then the whole is checked like a single upload. */
static void complete_check_run(struct work *wk)
{
	struct complete_check *cc = container_of(wk, struct complete_check, work);
	struct media_service *m = cc->m;
	struct blob *b = m->blob;
	char key[BLOB_KEY_MAX], msg[128];
	uint64_t size;
	media_key(key, cc->md.id, ".orig");
	int rc = b->ops->stat(b, key, &size, NULL);
	if (cc->md.parts && (rc == BLOB_NOT_FOUND || (rc == BLOB_OK && size != cc->md.size))) {
		uint64_t *sizes = xcalloc(cc->md.parts, sizeof(*sizes));
		for (unsigned n = 1; n <= cc->md.parts; n++)
			sizes[n - 1] = media_part_size(m, cc->md.size, n);
		unsigned bad = 0;
		rc = b->ops->multipart_complete(b, key, cc->md.upload_id, cc->md.parts,
						(const char(*)[BLOB_ETAG_LEN + 1])cc->etags, sizes, &bad);
		free(sizes);
		if (rc == BLOB_NOT_FOUND) {
			if (bad)
				snprintf(msg, sizeof(msg), "part %u was not uploaded", bad);
			else /* S3: the multipart upload itself is gone */
				snprintf(msg, sizeof(msg), "the multipart upload is gone; create a new media");
			write_fail(cc->aw, 409, "upload_missing", msg);
		} else if (rc == BLOB_MISMATCH) {
			if (bad)
				snprintf(msg, sizeof(msg), "the ETag of part %u does not match", bad);
			else
				snprintf(msg, sizeof(msg), "a part is missing or its ETag does not match");
			write_fail(cc->aw, 422, "etag_mismatch", msg);
		} else if (rc == BLOB_SIZE) {
			snprintf(msg, sizeof(msg), "part %u does not have the size announced", bad);
			write_fail(cc->aw, 422, "size_mismatch", msg);
		}
		if (rc == BLOB_OK)
			rc = b->ops->stat(b, key, &size, NULL);
		else if (rc != BLOB_ERROR)
			goto out;
	}
	if (rc == BLOB_NOT_FOUND) {
		write_fail(cc->aw, 409, "upload_missing", "nothing was uploaded");
	} else if (rc) {
		write_fail(cc->aw, 503, "unavailable", "the blob store failed; try again");
	} else if (size != cc->md.size) {
		snprintf(msg, sizeof(msg), "the upload has %llu bytes, not the %llu announced",
			 (unsigned long long)size, (unsigned long long)cc->md.size);
		write_fail(cc->aw, 422, "size_mismatch", msg);
	} else {
		write_submit(cc->aw);
	}
out:
	free(cc->etags);
	free(cc);
}

/* parts: [{part_number, etag}] naming every part once, in order. */
static bool read_parts(struct ctx *c, json_t *body, struct complete_check *cc)
{
	json_t *parts = json_object_get(body, "parts");
	if (!json_is_array(parts) || json_array_size(parts) != cc->md.parts) {
		char msg[96];
		snprintf(msg, sizeof(msg), "parts must list all %u parts with their ETags", cc->md.parts);
		http_send_error(c->req, 422, "invalid_parts", msg);
		return false;
	}
	cc->etags = xcalloc(cc->md.parts, sizeof(*cc->etags));
	for (unsigned i = 0; i < cc->md.parts; i++) {
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
			return false;
		}
		memcpy(cc->etags[i], s, len);
		cc->etags[i][len] = '\0';
	}
	return true;
}

void api_media_complete(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	json_t *body = api_body(c, false);
	if (!body)
		return;
	struct complete_check *cc = xcalloc(1, sizeof(*cc));
	cc->m = c->app->media;
	int rc = c->db->ops->media_get(c->db, id, &cc->md);
	if (rc == STORE_OK && cc->md.owner_id != c->user_id)
		rc = STORE_NOT_FOUND; /* someone else's is "not found", like a missing one */
	if (rc != STORE_OK) {
		if (rc == STORE_NOT_FOUND)
			http_send_error(c->req, 404, "not_found", "no such media");
		else
			api_store_error(c, rc);
		goto fail;
	}
	if (cc->md.status == MEDIA_PROCESSING || cc->md.status == MEDIA_READY) {
		struct strbuf sb = STRBUF_INIT; /* completing twice changes nothing */
		render_media_json(c->app->media, &sb, &cc->md, false);
		api_send(c, 202, &sb);
		strbuf_deinit(&sb);
		goto fail;
	}
	if (cc->md.status != MEDIA_AWAITING_UPLOAD) {
		http_send_error(c->req, 409, "media_not_uploadable", "this media failed or was released");
		goto fail;
	}
	if (cc->md.parts && !read_parts(c, body, cc))
		goto fail;
	json_decref(body);
	cc->aw = api_write_new(c, STORE_W_MEDIA_COMPLETE);
	cc->aw->sw.in.media_complete.owner_id = c->user_id;
	cc->aw->sw.in.media_complete.media_id = id;
	cc->work.fn = complete_check_run;
	if (workpool_submit(cc->m->io, &cc->work) != 0) {
		write_fail(cc->aw, 503, "unavailable", "too busy; try again");
		free(cc->etags);
		free(cc);
	}
	return;
fail:
	json_decref(body);
	free(cc->etags);
	free(cc);
}

void api_media_get(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	struct media md;
	int rc = c->db->ops->media_get(c->db, id, &md);
	if (rc == STORE_OK && md.owner_id != c->user_id)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND) {
		http_send_error(c->req, 404, "not_found", "no such media");
		return;
	}
	if (rc) {
		api_store_error(c, rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	render_media_json(c->app->media, &sb, &md, false);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_media_metrics(struct app *app, struct strbuf *sb)
{
	struct media_stats st;
	media_stats(app->media, &st);
	strbuf_appendf(sb,
		       "# HELP chirp_media_jobs_total Media processing attempts since start, by outcome.\n"
		       "# TYPE chirp_media_jobs_total counter\n"
		       "chirp_media_jobs_total{outcome=\"ready\"} %llu\n"
		       "chirp_media_jobs_total{outcome=\"retry\"} %llu\n"
		       "chirp_media_jobs_total{outcome=\"failed\"} %llu\n"
		       "# HELP chirp_media_removed_total Media removed by cleanup since start.\n"
		       "# TYPE chirp_media_removed_total counter\n"
		       "chirp_media_removed_total %llu\n",
		       (unsigned long long)st.ready, (unsigned long long)st.retried,
		       (unsigned long long)st.failed, (unsigned long long)st.removed);
}
