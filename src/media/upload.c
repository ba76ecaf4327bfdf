/*
 * upload — the media service's requests: create an upload, complete it,
 * show a media, and the write path's hooks (render a media write inside
 * its transaction, wake a worker after a complete commits). See media.h.
 *
 * The two writes go through the store like every API write; what is
 * media-specific (the id, the parts, the blob calls before the write)
 * happens here, and the caller only carries the write to the store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/write.h"
#include "media/service.h"
#include "util/container_of.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char *const accepted_types[] = {"image/jpeg", "image/png", "image/webp", "image/gif"};

static int refuse(struct media_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fills `err` and returns -1, so a refusal is one line. */
static int refuse(struct media_error *err, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	err->status = status;
	err->code = code;
	err->store_failed = false;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int store_failed(struct media_error *err)
{
	refuse(err, 503, "unavailable", "the store is unavailable; try again");
	err->store_failed = true;
	return -1;
}

/* owner_id's media `id`: someone else's is "not found", like a missing one. */
static int get_own(struct store_reader *db, uint64_t owner_id, uint64_t id, struct media *md,
		   struct media_error *err)
{
	int rc = db->ops->media_get(db, id, md);
	if (rc == STORE_OK && md->owner_id != owner_id)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND)
		return refuse(err, 404, "not_found", "no such media");
	return rc ? store_failed(err) : 0;
}

/* ---- rendering ---- */

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

void media_render(struct media_service *m, struct strbuf *b, const struct media *md,
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
	if (md->description[0])
		jsonw_field_str(b, "description", md->description, 0);
	else
		strbuf_append_str(b, ",\"description\":null");
	strbuf_append_char(b, '}');
}

static void render(struct write *write, void *arg)
{
	struct media_service *m = arg;
	struct store_write *w = &write->sw;
	struct strbuf *b = &w->resp_body;
	if (w->status == STORE_NOT_FOUND) {
		w->resp_status = 404;
		jsonw_error(b, "not_found", "no such media");
	} else if (w->status == STORE_CONFLICT) {
		w->resp_status = 409;
		jsonw_error(b, "media_not_uploadable", "this media failed or was released");
	} else {
		w->resp_status = w->kind == STORE_W_MEDIA_CREATE ? 201 : 202;
		media_render(m, b, &w->media, w->kind == STORE_W_MEDIA_CREATE);
	}
}

static void render_describe(struct write *write, void *arg)
{
	struct media_service *m = arg;
	struct store_write *w = &write->sw;
	if (w->status == STORE_CONFLICT) {
		write_render_error(write, 409, "media_attached",
				   "a media's description can change only until it is on a tweet");
		return;
	}
	if (write_render_not_found(write))
		return;
	w->resp_status = 200;
	media_render(m, &w->resp_body, &w->media, false);
}

static void on_complete(void *arg, const struct store_write *w)
{
	struct media_service *m = arg;
	if (w->created)
		m->queue->ops->notify(m->queue);
}

void media_follow_writes(struct media_service *m, struct writes *ws)
{
	writes_define(ws, STORE_W_MEDIA_CREATE, render, m);
	writes_define(ws, STORE_W_MEDIA_COMPLETE, render, m);
	writes_define(ws, STORE_W_MEDIA_DESCRIBE, render_describe, m);
	writes_after_commit(ws, STORE_W_MEDIA_COMPLETE, on_complete, m);
}

/* ---- POST /v1/media ---- */

int media_check_create(const struct media_service *m, const char *type, size_t type_len,
		       uint64_t size, struct media_error *err)
{
	bool known = false;
	for (size_t i = 0; i < sizeof(accepted_types) / sizeof(accepted_types[0]); i++)
		known |= strlen(accepted_types[i]) == type_len &&
			 memcmp(accepted_types[i], type, type_len) == 0;
	if (!known)
		return refuse(err, 415, "unsupported_media_type",
			      "content_type must be image/jpeg, image/png, image/webp or image/gif");
	if (size == 0)
		return refuse(err, 422, "invalid_size", "size must be a positive number of bytes");
	if (size > m->opt.max_bytes)
		return refuse(err, 413, "too_large", "media may be at most %llu bytes",
			      (unsigned long long)m->opt.max_bytes);
	return 0;
}

void media_prepare_create(struct media_service *m, uint64_t owner_id, const char *type,
			  size_t type_len, uint64_t size, struct store_write *w)
{
	w->in.media_create.id = idgen_next(&m->ids);
	w->in.media_create.owner_id = owner_id;
	w->in.media_create.size = size;
	w->in.media_create.parts = media_parts(m, size);
	memcpy(w->in.media_create.claimed_type, type, type_len);
	w->in.media_create.claimed_type[type_len] = '\0';
}

void media_prepare_description(struct store_write *w, const char *text, size_t len)
{
	char *dst = w->kind == STORE_W_MEDIA_CREATE ? w->in.media_create.description
						    : w->in.media_describe.description;
	if (len > DESCRIPTION_MAX)
		len = DESCRIPTION_MAX; /* validated before: never */
	if (len) /* text may be NULL then */
		memcpy(dst, text, len);
	dst[len] = '\0';
}

void media_prepare_describe(uint64_t owner_id, uint64_t id, struct store_write *w)
{
	w->in.media_describe.owner_id = owner_id;
	w->in.media_describe.media_id = id;
}

/* A blob call for the API, off the loop, and who to tell how it went. */
struct io_step {
	struct work work;
	struct media_service *m;
	media_step_fn done;
	void *arg;
};

/* Runs the step's work on an I/O thread; if the pool is full, says so
 * through done at once. Frees `s` in that case. */
static void io_submit(struct media_service *m, struct io_step *s, void (*fn)(struct work *w),
		      void (*discard)(struct io_step *s))
{
	s->m = m;
	s->work.fn = fn;
	if (workpool_submit(m->io, &s->work) != 0) {
		struct media_error err;
		refuse(&err, 503, "unavailable", "too busy; try again");
		media_step_fn done = s->done;
		void *arg = s->arg;
		discard(s);
		done(arg, &err);
	}
}

struct upload_open {
	struct io_step step;
	struct store_write *w;
};

static void upload_open_discard(struct io_step *s)
{
	free(container_of(s, struct upload_open, step));
}

/* On an I/O thread: opens the multipart upload of the media's key (which
 * is why media ids are made here, not by the store). */
static void upload_open_run(struct work *wk)
{
	struct upload_open *u = container_of(wk, struct upload_open, step.work);
	struct media_service *m = u->step.m;
	char key[BLOB_KEY_MAX];
	media_key(key, u->w->in.media_create.id, ".orig");
	struct media_error err, *e = NULL;
	if (m->blob->ops->multipart_begin(m->blob, key, u->w->in.media_create.upload_id)) {
		refuse(&err, 503, "unavailable", "the blob store failed; try again");
		e = &err;
	}
	media_step_fn done = u->step.done;
	void *arg = u->step.arg;
	free(u);
	done(arg, e);
}

void media_open_upload(struct media_service *m, struct store_write *w, media_step_fn done,
		       void *arg)
{
	if (!w->in.media_create.parts) {
		done(arg, NULL); /* a single PUT needs nothing opened */
		return;
	}
	/* A multipart upload may need the blob store to open it first (S3
	 * hands out an upload id): a network call, so off the loop. */
	struct upload_open *u = xcalloc(1, sizeof(*u));
	u->w = w;
	u->step.done = done;
	u->step.arg = arg;
	io_submit(m, &u->step, upload_open_run, upload_open_discard);
}

/* ---- POST /v1/media/{id}/complete ---- */

int media_complete_start(struct media_service *m, struct store_reader *db, uint64_t owner_id,
			 uint64_t id, struct media *md, struct media_error *err)
{
	(void)m;
	if (get_own(db, owner_id, id, md, err))
		return -1;
	if (md->status == MEDIA_PROCESSING || md->status == MEDIA_READY)
		return MEDIA_COMPLETE_DONE; /* completing twice changes nothing */
	if (md->status != MEDIA_AWAITING_UPLOAD)
		return refuse(err, 409, "media_not_uploadable", "this media failed or was released");
	return MEDIA_COMPLETE_CHECK;
}

void media_prepare_complete(const struct media *md, struct store_write *w)
{
	w->in.media_complete.owner_id = md->owner_id;
	w->in.media_complete.media_id = md->id;
}

struct upload_check {
	struct io_step step;
	struct media md;
	char (*etags)[BLOB_ETAG_LEN + 1]; /* md.parts of them, when md.parts */
};

static void upload_check_discard(struct io_step *s)
{
	struct upload_check *u = container_of(s, struct upload_check, step);
	free(u->etags);
	free(u);
}

/* Joins a multipart upload's parts into KEY.orig. 0 (joined, or a blob
 * store failure the size check after it reports), or -1 with `err`. */
static int join_parts(struct media_service *m, struct upload_check *u, const char *key,
		      int *rc, struct media_error *err)
{
	struct blob *b = m->blob;
	const struct media *md = &u->md;
	uint64_t *sizes = xcalloc(md->parts, sizeof(*sizes));
	for (unsigned n = 1; n <= md->parts; n++)
		sizes[n - 1] = media_part_size(m, md->size, n);
	unsigned bad = 0;
	*rc = b->ops->multipart_complete(b, key, md->upload_id, md->parts,
					 (const char(*)[BLOB_ETAG_LEN + 1])u->etags, sizes, &bad);
	free(sizes);
	if (*rc == BLOB_NOT_FOUND) {
		if (bad)
			return refuse(err, 409, "upload_missing", "part %u was not uploaded", bad);
		/* S3: the multipart upload itself is gone */
		return refuse(err, 409, "upload_missing",
			      "the multipart upload is gone; create a new media");
	}
	if (*rc == BLOB_MISMATCH) {
		if (bad)
			return refuse(err, 422, "etag_mismatch",
				      "the ETag of part %u does not match", bad);
		return refuse(err, 422, "etag_mismatch",
			      "a part is missing or its ETag does not match");
	}
	if (*rc == BLOB_SIZE)
		return refuse(err, 422, "size_mismatch",
			      "part %u does not have the size announced", bad);
	return 0;
}

/* On an I/O thread: is everything the client announced there? A
 * multipart upload is joined first (unless an earlier complete, cut short,
 * already did), then the whole is checked like a single upload. */
static void upload_check_run(struct work *wk)
{
	struct upload_check *u = container_of(wk, struct upload_check, step.work);
	struct media_service *m = u->step.m;
	struct blob *b = m->blob;
	struct media_error err, *e = &err;
	char key[BLOB_KEY_MAX];
	uint64_t size;
	media_key(key, u->md.id, ".orig");
	int rc = b->ops->stat(b, key, &size, NULL);
	if (u->md.parts && (rc == BLOB_NOT_FOUND || (rc == BLOB_OK && size != u->md.size))) {
		if (join_parts(m, u, key, &rc, &err))
			goto out;
		if (rc == BLOB_OK)
			rc = b->ops->stat(b, key, &size, NULL);
	}
	if (rc == BLOB_NOT_FOUND)
		refuse(&err, 409, "upload_missing", "nothing was uploaded");
	else if (rc)
		refuse(&err, 503, "unavailable", "the blob store failed; try again");
	else if (size != u->md.size)
		refuse(&err, 422, "size_mismatch", "the upload has %llu bytes, not the %llu announced",
		       (unsigned long long)size, (unsigned long long)u->md.size);
	else
		e = NULL;
out:;
	media_step_fn done = u->step.done;
	void *arg = u->step.arg;
	upload_check_discard(&u->step);
	done(arg, e);
}

void media_check_upload(struct media_service *m, const struct media *md,
			char (*etags)[BLOB_ETAG_LEN + 1], media_step_fn done, void *arg)
{
	struct upload_check *u = xcalloc(1, sizeof(*u));
	u->md = *md;
	u->etags = etags;
	u->step.done = done;
	u->step.arg = arg;
	io_submit(m, &u->step, upload_check_run, upload_check_discard);
}

/* ---- GET /v1/media/{id} ---- */

int media_show(struct media_service *m, struct store_reader *db, uint64_t owner_id, uint64_t id,
	       struct strbuf *out, struct media_error *err)
{
	struct media md;
	if (get_own(db, owner_id, id, &md, err))
		return -1;
	media_render(m, out, &md, false);
	return 0;
}
