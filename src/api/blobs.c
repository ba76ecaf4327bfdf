/*
 * blobs — chirp serving the local blob adapter's presigned URLs:
 *   PUT /blobs/{key}?expires=&max=&sig=   an upload (single or one part)
 *   GET /blobs/{key}?expires=&sig=        a published image or thumbnail
 *
 * The signature is the authorisation: no bearer token. It is checked
 * before anything else, so a forged or expired URL learns nothing about
 * which keys exist (403 either way).
 *
 * Bodies: h2o buffers a request body fully before any handler runs, with
 * one global cap (max_request_entity_size; h2o 2.2.5 has no per-path
 * limit). main.c sets that cap to the largest PUT chirp ever signs (a
 * part, --media-part-bytes); JSON routes keep their own, smaller limit
 * (--max-body, checked in api_body), and this handler refuses anything
 * past the size its URL was signed for.
 *
 * Downloads go out through h2o_file_send: it streams the file as the
 * socket drains, answers Range (206/416) and If-None-Match (304), and sets
 * an ETag. Reads come from the page cache; a blob is written once, under
 * a new key, and never changed, so every answer is cacheable forever.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/range.h"
#include "http/respond.h"
#include "http/server.h"
#include "media/media.h"
#include "util/container_of.h"
#include "util/log.h"
#include "util/timeutil.h"

static bool query_u64(h2o_req_t *req, const char *name, uint64_t *out)
{
	h2o_iovec_t v;
	if (!http_query_get(req, name, &v) || v.len == 0 || v.len > 19)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.base[i] < '0' || v.base[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v.base[i] - '0');
	}
	*out = n;
	return true;
}

/* Checks the URL's signature for `method`; sends 403 and returns false if
 * it is missing, forged or expired. */
static bool signed_ok(struct ctx *c, const char *method, const char *key, size_t key_len,
		      uint64_t *max)
{
	const uint8_t *secret = c->app->media->opt.secret;
	uint64_t expires = 0;
	h2o_iovec_t sig = {NULL, 0};
	*max = 0;
	bool put = strcmp(method, "PUT") == 0;
	bool have = query_u64(c->req, "expires", &expires) && http_query_get(c->req, "sig", &sig) &&
		    (!put || query_u64(c->req, "max", max));
	enum blob_sig_result r =
		have ? blob_sig_check(secret, method, key, key_len, expires, *max, sig.base,
				      sig.len, time_now_ms() / 1000)
		     : BLOB_SIG_BAD;
	if (r == BLOB_SIG_OK)
		return true;
	if (r == BLOB_SIG_EXPIRED)
		http_send_error(c->req, 403, "url_expired", "this URL has expired");
	else
		http_send_error(c->req, 403, "invalid_signature", "this URL's signature is not valid");
	return false;
}

static bool key_param(struct ctx *c, const char **key, size_t *len)
{
	*key = c->m.params[0].s;
	*len = c->m.params[0].len;
	if (!blob_key_valid(*key, *len)) {
		http_send_error(c->req, 404, "not_found", "no such blob");
		return false;
	}
	return true;
}

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

/* ---- PUT ---- */

struct blob_put {
	struct work work;
	struct app *app;
	struct ctx *ctx;
	struct http_async *async;
	char key[BLOB_KEY_MAX];
	char *data;
	size_t len;
	int rc;
	char etag[BLOB_ETAG_LEN + 1];
};

static void put_reply(h2o_req_t *req, void *arg)
{
	struct blob_put *p = arg;
	if (req) {
		if (p->rc == BLOB_OK) {
			char quoted[BLOB_ETAG_LEN + 3], body[BLOB_ETAG_LEN + 16];
			int n = snprintf(quoted, sizeof(quoted), "\"%s\"", p->etag);
			http_header_add(req, "etag", quoted, (size_t)n);
			n = snprintf(body, sizeof(body), "{\"etag\":\"%s\"}", p->etag);
			http_send(req, 200, "application/json", body, (size_t)n);
		} else {
			http_send_error(req, 503, "unavailable", "the blob store failed; try again");
		}
	}
	api_request_done(p->app, req ? p->ctx : NULL);
	free(p->data);
	free(p);
}

static void put_run(struct work *w)
{
	struct blob_put *p = container_of(w, struct blob_put, work);
	struct blob *b = p->app->media->blob;
	p->rc = b->ops->put(b, p->key, p->data, p->len, p->etag);
	http_async_finish(p->async, put_reply, p);
}

void api_blob_put(struct ctx *c)
{
	const char *key;
	size_t key_len;
	uint64_t max;
	unsigned part;
	if (!key_param(c, &key, &key_len) || !signed_ok(c, "PUT", key, key_len, &max))
		return;
	if (!is_upload_key(key, key_len, &part)) {
		http_send_error(c->req, 403, "invalid_signature", "this key cannot be uploaded to");
		return;
	}
	/* The upload must still be open: a PUT URL replayed after complete
	 * cannot swap the bytes being processed or published. */
	uint64_t id = strtoull(key, NULL, 10);
	struct media md;
	int rc = c->db->ops->media_get(c->db, id, &md);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && (part ? part > md.parts : md.parts != 0))) {
		http_send_error(c->req, 404, "not_found", "no such upload");
		return;
	}
	if (rc) {
		api_store_error(c, rc);
		return;
	}
	if (md.status != MEDIA_AWAITING_UPLOAD) {
		http_send_error(c->req, 409, "upload_closed", "this upload is complete or was removed");
		return;
	}
	size_t len = c->req->entity.base ? c->req->entity.len : 0;
	if (len == 0) {
		http_send_error(c->req, 400, "empty_body", "the upload has no bytes");
		return;
	}
	if (len > max) {
		http_send_error(c->req, 413, "too_large", "more bytes than this URL allows");
		return;
	}
	struct blob_put *p = xcalloc(1, sizeof(*p));
	p->app = c->app;
	p->ctx = c;
	memcpy(p->key, key, key_len);
	/* A copy: the request's memory goes if the client hangs up mid-write. */
	p->data = xmalloc(len);
	memcpy(p->data, c->req->entity.base, len);
	p->len = len;
	p->work.fn = put_run;
	p->async = http_async_begin(c->req);
	c->async = true;
	if (workpool_submit(c->app->media->io, &p->work) != 0) {
		p->rc = BLOB_ERROR;
		http_async_finish(p->async, put_reply, p);
	}
}

/* ---- GET ---- */

/* Answers a Range request from the file (small images, from the page
 * cache) with 206, or 416. */
static void send_range(struct ctx *c, int fd, uint64_t size, uint64_t from, uint64_t to,
		       const char *mime)
{
	char cr[80];
	size_t n = (size_t)(to - from + 1);
	char *buf = h2o_mem_alloc_pool(&c->req->pool, n);
	ssize_t got = pread(fd, buf, n, (off_t)from);
	if (got != (ssize_t)n) {
		http_send_error(c->req, 503, "unavailable", "the blob could not be read");
		return;
	}
	int len = snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)from,
			   (unsigned long long)to, (unsigned long long)size);
	http_header_add(c->req, "content-range", cr, (size_t)len);
	http_send(c->req, 206, mime, buf, n);
}

void api_blob_get(struct ctx *c)
{
	const char *key;
	size_t key_len;
	uint64_t max;
	unsigned part;
	if (!key_param(c, &key, &key_len) || !signed_ok(c, "GET", key, key_len, &max))
		return;
	bool png = key_len > 4 && memcmp(key + key_len - 4, ".png", 4) == 0;
	const char *mime = png ? "image/png" : "image/jpeg";
	char path[PATH_MAX], k[BLOB_KEY_MAX];
	int fd = -1;
	struct stat st;
	struct blob *b = c->app->media->blob;
	struct strbuf redirect = STRBUF_INIT;
	memcpy(k, key, key_len);
	k[key_len] = '\0';
	int where = is_upload_key(key, key_len, &part) ? -1 : b->ops->locate(b, k, mime, path, &redirect);
	if (where == 1) {
		/* The blob store serves it (S3): send the client there. The
		 * target URL lives an hour; the redirect may be cached a bit less. */
		static const char cache[] = "public, max-age=3000";
		http_header_add(c->req, "cache-control", cache, sizeof(cache) - 1);
		http_header_add(c->req, "location", redirect.data, redirect.len);
		http_send(c->req, 302, NULL, NULL, 0);
		strbuf_deinit(&redirect);
		return;
	}
	strbuf_deinit(&redirect);
	if (where != 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		http_send_error(c->req, 404, "not_found", "no such blob");
		return;
	}
	/* A key's bytes never change (a blob is written once, under a new
	 * key), so its ETag and the caching headers hold forever. */
	char etag[64];
	int elen = snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)st.st_ino,
			    (unsigned long long)st.st_size);
	static const char cache[] = "public, max-age=31536000, immutable";
	http_header_add(c->req, "cache-control", cache, sizeof(cache) - 1);
	http_header_add(c->req, "etag", etag, (size_t)elen);
	http_header_add(c->req, "x-content-type-options", "nosniff", 7);
	http_header_add(c->req, "accept-ranges", "bytes", 5);
	h2o_iovec_t v;
	if (http_header_get(c->req, "if-none-match", &v) && v.len == (size_t)elen &&
	    memcmp(v.base, etag, v.len) == 0) {
		http_send(c->req, 304, NULL, NULL, 0);
		close(fd);
		return;
	}
	uint64_t size = (uint64_t)st.st_size, from, to;
	int r = http_header_get(c->req, "range", &v) ? http_range_parse(v.base, v.len, size, &from, &to) : -1;
	if (r == 1) {
		send_range(c, fd, size, from, to, mime);
	} else if (r == 0) {
		char cr[48];
		int n = snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
		http_header_add(c->req, "content-range", cr, (size_t)n);
		http_header_set(c->req, "cache-control", "no-store", 8);
		http_send_error(c->req, 416, "range_not_satisfiable", "the range is outside the blob");
	} else if (h2o_file_send(c->req, 200, "OK", path, h2o_iovec_init(mime, strlen(mime)),
				 H2O_FILE_FLAG_NO_ETAG) != 0) {
		http_header_set(c->req, "cache-control", "no-store", 8);
		http_send_error(c->req, 404, "not_found", "no such blob");
	}
	close(fd);
}
