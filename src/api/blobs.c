/*
 * blobs — serving chirp's own signed blob URLs (media/blob_sign.h):
 *   PUT /blobs/{key}?expires=&max=&sig=   an upload (single or one part)
 *   GET /blobs/{key}?expires=&sig=        a published image or thumbnail
 *
 * The media service checks the key, the signature (the only
 * authorisation: no bearer token) and the upload, stores the bytes, and
 * says where a download's bytes are (media/serve.c); this file reads the
 * request and moves the bytes over HTTP.
 *
 * Bodies: h2o buffers a request body fully before any handler runs, with
 * one global cap (max_request_entity_size; h2o 2.2.5 has no per-path
 * limit). main.c sets that cap to the largest PUT chirp ever signs (a
 * part, --media-part-bytes); JSON routes keep their own, smaller limit
 * (--max-body, checked in api_body), and the service refuses anything
 * past the size a URL was signed for.
 *
 * Downloads of the local blob store's files go out through
 * h2o_file_send: it streams the file as the socket drains, answers Range
 * (206/416) and If-None-Match (304), and sets an ETag. Reads come from
 * the page cache; a blob is written once, under a new key, and never
 * changed, so every answer is cacheable forever. A bucket's blobs are a
 * redirect to a fresh presigned URL of the bucket.
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
#include "util/log.h"

/* The key and the signed query of a /blobs URL; the service checks them.
 * The query counts only in its one canonical form (blob_query_parse):
 * any other spelling is an unsigned request. */
static void read_request(struct ctx *c, bool put, struct media_blob_request *r)
{
	h2o_req_t *req = c->req;
	memset(r, 0, sizeof(*r));
	r->key = c->m.params[0].s;
	r->key_len = c->m.params[0].len;
	if (req->query_at == SIZE_MAX)
		return;
	const char *q = req->path.base + req->query_at + 1;
	size_t len = req->path.len - req->query_at - 1;
	r->signed_query = blob_query_parse(put ? "PUT" : "GET", q, len, &r->expires, &r->max,
					   &r->sig);
	r->sig_len = r->signed_query ? BLOB_SIG_HEX : 0;
}

/* ---- PUT ---- */

struct blob_put {
	struct app *app;
	struct ctx *ctx;
	struct http_async *async;
	bool ok;
	char etag[BLOB_ETAG_LEN + 1];
};

static void put_reply(h2o_req_t *req, void *arg)
{
	struct blob_put *p = arg;
	if (req) {
		if (p->ok) {
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
	free(p);
}

/* The service stored the bytes, or failed to (an I/O thread). */
static void put_done(void *arg, const char *etag)
{
	struct blob_put *p = arg;
	p->ok = etag != NULL;
	if (etag)
		memcpy(p->etag, etag, sizeof(p->etag));
	http_async_finish(p->async, put_reply, p);
}

void api_blob_put(struct ctx *c)
{
	struct media_blob_request r;
	struct media_error err;
	read_request(c, true, &r);
	size_t len = c->req->entity.base ? c->req->entity.len : 0;
	if (media_blob_accept_put(c->app->media, c->db, &r, len, &err)) {
		api_media_error(c, &err);
		return;
	}
	struct blob_put *p = xcalloc(1, sizeof(*p));
	p->app = c->app;
	p->ctx = c;
	p->async = http_async_begin(c->req);
	c->async = true;
	media_blob_put(c->app->media, &r, c->req->entity.base, len, put_done, p);
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

/* Sends a local blob file: 304 for a matching If-None-Match, 206 or 416
 * for a Range, else the whole file, streamed by h2o_file_send. */
static void send_file(struct ctx *c, const char *path, const char *mime)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
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

void api_blob_get(struct ctx *c)
{
	struct media_blob_request r;
	struct media_blob_source src;
	struct media_error err;
	read_request(c, false, &r);
	if (media_blob_locate(c->app->media, &r, &src, &err)) {
		api_media_error(c, &err);
		strbuf_deinit(&src.url);
		return;
	}
	if (src.redirect) {
		/* The blob store serves it (S3): send the client there. The
		 * target URL lives an hour; the redirect may be cached a bit less. */
		static const char cache[] = "public, max-age=3000";
		http_header_add(c->req, "cache-control", cache, sizeof(cache) - 1);
		http_header_add(c->req, "location", src.url.data, src.url.len);
		http_send(c->req, 302, NULL, NULL, 0);
		strbuf_deinit(&src.url);
		return;
	}
	strbuf_deinit(&src.url);
	send_file(c, src.path, src.content_type);
}
