/*
 * serve — the media service's side of chirp's own signed blob URLs
 * (media/blob_sign.h), which api/blobs.c serves:
 *   PUT /blobs/{key}?expires=&max=&sig=   an upload (single or one part)
 *   GET /blobs/{key}?expires=&sig=        a published image or thumbnail
 *
 * The signature is the authorisation: no bearer token. It is checked
 * before anything else but the key's shape, so a forged or expired URL
 * learns nothing about which keys exist (403 either way). See media.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/service.h"
#include "util/container_of.h"
#include "util/log.h"
#include "util/timeutil.h"

static int refuse(struct media_error *err, int status, const char *code, const char *message)
{
	err->status = status;
	err->code = code;
	err->store_failed = false;
	snprintf(err->message, sizeof(err->message), "%s", message);
	return -1;
}

/* The key's shape (404), then the URL's signature for `method` (403). */
static int check_signed(const struct media_service *m, const char *method,
			const struct media_blob_request *r, struct media_error *err)
{
	if (!blob_key_valid(r->key, r->key_len))
		return refuse(err, 404, "not_found", "no such blob");
	bool put = strcmp(method, "PUT") == 0;
	enum blob_sig_result s =
		r->signed_query ? blob_sig_check(m->opt.secret, method, r->key, r->key_len,
						 r->expires, put ? r->max : 0, r->sig, r->sig_len,
						 time_now_ms() / 1000)
				: BLOB_SIG_BAD;
	if (s == BLOB_SIG_EXPIRED)
		return refuse(err, 403, "url_expired", "this URL has expired");
	if (s != BLOB_SIG_OK)
		return refuse(err, 403, "invalid_signature", "this URL's signature is not valid");
	return 0;
}

/* Whether `key` is an upload's: "ID.orig", or part N of one ("ID.pN",
 * *part = N). */
static bool is_upload_key(const char *key, size_t len, unsigned *part)
{
	const char *dot = memchr(key, '.', len);
	*part = 0;
	if (!dot)
		return false;
	if ((size_t)(key + len - dot) == 5 && memcmp(dot, ".orig", 5) == 0)
		return true;
	if (dot[1] != 'p' || dot[2] < '1' || dot[2] > '9') /* ".png" is no part */
		return false;
	*part = (unsigned)strtoul(dot + 2, NULL, 10);
	return true;
}

int media_blob_check_put(struct media_service *m, const struct media_blob_request *r,
			 struct media_upload_target *t, struct media_error *err)
{
	if (check_signed(m, "PUT", r, err))
		return -1;
	if (!is_upload_key(r->key, r->key_len, &t->part))
		return refuse(err, 403, "invalid_signature", "this key cannot be uploaded to");
	t->id = strtoull(r->key, NULL, 10);
	t->max = r->max;
	return 0;
}

int media_blob_upload_open(struct store_reader *db, const struct media_upload_target *t,
			   size_t len, struct media_error *err)
{
	unsigned part = t->part;
	/* The upload must still be open: a PUT URL replayed after complete
	 * cannot swap the bytes being processed or published. */
	struct media md;
	int rc = db->ops->media_get(db, t->id, &md);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && (part ? part > md.parts : md.parts != 0)))
		return refuse(err, 404, "not_found", "no such upload");
	if (rc) {
		refuse(err, 503, "unavailable", "the store is unavailable; try again");
		err->store_failed = true;
		return -1;
	}
	if (md.status != MEDIA_AWAITING_UPLOAD)
		return refuse(err, 409, "upload_closed", "this upload is complete or was removed");
	if (len == 0)
		return refuse(err, 400, "empty_body", "the upload has no bytes");
	if (len > t->max)
		return refuse(err, 413, "too_large", "more bytes than this URL allows");
	return 0;
}

struct blob_put {
	struct work work;
	struct media_service *m;
	char key[BLOB_KEY_MAX];
	char *data;
	size_t len;
	media_put_fn done;
	void *arg;
};

static void blob_put_finish(struct blob_put *p, const char *etag)
{
	media_put_fn done = p->done;
	void *arg = p->arg;
	free(p->data);
	free(p);
	done(arg, etag);
}

static void blob_put_run(struct work *w)
{
	struct blob_put *p = container_of(w, struct blob_put, work);
	struct blob *b = p->m->blob;
	char etag[BLOB_ETAG_LEN + 1];
	int rc = b->ops->put(b, p->key, p->data, p->len, etag);
	blob_put_finish(p, rc == BLOB_OK ? etag : NULL);
}

void media_blob_put(struct media_service *m, const struct media_blob_request *r,
		    const void *data, size_t len, media_put_fn done, void *arg)
{
	struct blob_put *p = xcalloc(1, sizeof(*p));
	p->m = m;
	memcpy(p->key, r->key, r->key_len < BLOB_KEY_MAX ? r->key_len : BLOB_KEY_MAX - 1);
	/* A copy: the request's memory goes if the client hangs up mid-write. */
	p->data = xmalloc(len);
	memcpy(p->data, data, len);
	p->len = len;
	p->done = done;
	p->arg = arg;
	p->work.fn = blob_put_run;
	if (workpool_submit(m->io, &p->work) != 0)
		blob_put_finish(p, NULL);
}

int media_blob_locate(struct media_service *m, struct store_reader *db,
		      const struct media_blob_request *r, struct media_blob_source *src,
		      struct media_error *err)
{
	unsigned part;
	strbuf_init(&src->url);
	src->redirect = false;
	src->path[0] = '\0';
	if (check_signed(m, "GET", r, err))
		return -1;
	/* Only a ready media's blobs: a deleted tweet releases its media in
	 * the delete's own transaction, and from then on its URLs are 404,
	 * though cleanup removes the files later. */
	struct media md;
	int rc = is_upload_key(r->key, r->key_len, &part)
			 ? STORE_NOT_FOUND
			 : db->ops->media_get(db, strtoull(r->key, NULL, 10), &md);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && md.status != MEDIA_READY))
		return refuse(err, 404, "not_found", "no such blob");
	if (rc) {
		refuse(err, 503, "unavailable", "the store is unavailable; try again");
		err->store_failed = true;
		return -1;
	}
	bool png = r->key_len > 4 && memcmp(r->key + r->key_len - 4, ".png", 4) == 0;
	src->content_type = png ? "image/png" : "image/jpeg";
	char key[BLOB_KEY_MAX];
	memcpy(key, r->key, r->key_len); /* blob_key_valid: shorter than BLOB_KEY_MAX */
	key[r->key_len] = '\0';
	/* Uploads are never served (above): only what processing published. */
	int where = m->blob->ops->locate(m->blob, key, src->content_type, src->path, &src->url);
	if (where < 0)
		return refuse(err, 404, "not_found", "no such blob");
	src->redirect = where == 1;
	return 0;
}
