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
 * A download is served only while its media is ready: the media's row is
 * read first (api_read), so a deleted tweet's media is 404 at once. The
 * local blob store's files go out through h2o_file_send, which streams
 * the file as the socket drains; Range (206/416) and If-None-Match (304)
 * are answered here, with an ETag of chirp's own (no inode number). A blob
 * is written once, under a new key, and never changed, but caches keep it
 * only minutes (BLOB_CACHE_CONTROL), so a deleted one leaves them soon. A
 * bucket's blobs are a redirect to a fresh presigned URL of the bucket.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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
	bool again = false; /* a façade's answer started another step (api/write.c) */
	if (req) {
		p->ctx->async = false;
		if (p->ok) {
			char quoted[BLOB_ETAG_LEN + 3];
			int n = snprintf(quoted, sizeof(quoted), "\"%s\"", p->etag);
			http_header_add(req, "etag", quoted, (size_t)n);
			struct strbuf body = STRBUF_INIT;
			strbuf_appendf(&body, "{\"etag\":\"%s\"}", p->etag);
			api_send(p->ctx, 200, &body);
			strbuf_deinit(&body);
		} else {
			http_send_error(req, 503, "unavailable", "the blob store failed; try again");
		}
		again = p->ctx->async;
	}
	if (!again)
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

/* The upload's row, read off the loop when the store says so. */
struct put_check {
	struct api_read r;
	struct media_upload_target t;
	char key[BLOB_KEY_MAX];
	size_t len;
	int rc;
	struct media_error err;
};

static void put_check_run(struct api_read *r, struct store_reader *db)
{
	struct put_check *k = (struct put_check *)r;
	k->rc = media_blob_upload_open(db, &k->t, k->len, &k->err);
}

static void put_check_finish(struct api_read *r, struct ctx *c)
{
	struct put_check *k = (struct put_check *)r;
	if (k->rc) {
		api_media_error(c, &k->err);
		return;
	}
	struct media_blob_request req = {.key = k->key, .key_len = strlen(k->key)};
	struct blob_put *p = xcalloc(1, sizeof(*p));
	p->app = c->app;
	p->ctx = c;
	p->async = http_async_begin(c->req);
	c->async = true;
	media_blob_put(c->app->media, &req, c->req->entity.base, k->len, put_done, p);
}

/* The PUT of the request's body to upload `t`, stored under key[0..len)
 * once the upload is found open. */
static void put_checked(struct ctx *c, const struct media_upload_target *t, const char *key,
			size_t len)
{
	struct put_check *k = api_read_new(c, sizeof(*k));
	k->r.run = put_check_run;
	k->r.finish = put_check_finish;
	k->t = *t;
	memcpy(k->key, key, len < sizeof(k->key) ? len : sizeof(k->key) - 1);
	k->len = c->req->entity.base ? c->req->entity.len : 0;
	api_read(c, &k->r);
}

void api_blob_put(struct ctx *c)
{
	struct media_blob_request r;
	struct media_upload_target t;
	struct media_error err;
	read_request(c, true, &r);
	if (media_blob_check_put(c->app->media, &r, &t, &err)) {
		api_media_error(c, &err);
		return;
	}
	put_checked(c, &t, r.key, r.key_len);
}

void api_blob_put_own(struct ctx *c, uint64_t media_id, uint64_t size)
{
	struct media_upload_target t = {.id = media_id, .part = 0, .max = size};
	char key[BLOB_KEY_MAX];
	media_key(key, media_id, ".orig");
	put_checked(c, &t, key, strlen(key));
}

/* ---- GET ---- */

#define CACHE_BLOB BLOB_CACHE_CONTROL /* media/blob.h */
/* A 404's: short, so a cache stops asking for a gone blob for a moment
 * without hiding a mistake for long. */
#define CACHE_404 "public, max-age=30"

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

/* The ETag of blob `key`: a hash of the key, the file's size and its
 * modification time. h2o's own (and chirp's before) showed the inode
 * number, which says where on the disk the file is and how many files
 * came before it. */
static int blob_etag(const char *key, const struct stat *st, char *out, size_t cap)
{
	char in[BLOB_KEY_MAX + 64];
	int n = snprintf(in, sizeof(in), "%s\n%llu\n%lld.%09ld", key, (unsigned long long)st->st_size,
			 (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
	uint8_t h[12];
	crypto_generichash(h, sizeof(h), (const uint8_t *)in, (size_t)n, NULL, 0);
	char hex[2 * sizeof(h) + 1];
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return snprintf(out, cap, "\"%s\"", hex);
}

/* Sends local blob file `path` of `key`: 304 for a matching
 * If-None-Match, 206 or 416 for a Range, else the whole file, streamed by
 * h2o_file_send. */
static void send_file(struct ctx *c, const char *key, const char *path, const char *mime)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		http_header_add(c->req, "cache-control", CACHE_404, sizeof(CACHE_404) - 1);
		http_send_error(c->req, 404, "not_found", "no such blob");
		return;
	}
	char etag[64];
	int elen = blob_etag(key, &st, etag, sizeof(etag));
	http_header_add(c->req, "cache-control", CACHE_BLOB, sizeof(CACHE_BLOB) - 1);
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

/* A GET's read: the signature, then the media's row (a deleted tweet's
 * media is 404 at once), then where the bytes are. Key and signature are
 * copied: run() may outlive the request on a reader thread. */
struct blob_get {
	struct api_read r;
	struct media_service *media;
	struct media_blob_request req;
	char key[BLOB_KEY_MAX + 1];
	char sig[BLOB_SIG_HEX];
	int rc;
	struct media_error err;
	struct media_blob_source src;
};

static void get_run(struct api_read *r, struct store_reader *db)
{
	struct blob_get *g = (struct blob_get *)r;
	g->rc = media_blob_locate(g->media, db, &g->req, &g->src, &g->err);
}

static void get_finish(struct api_read *r, struct ctx *c)
{
	struct blob_get *g = (struct blob_get *)r;
	if (g->rc) {
		/* A 404 may be cached a little, so a deleted tweet's media does
		 * not bring every request for it to chirp; not so long that a
		 * cache holds it past a mistake. */
		if (g->err.status == 404 && !g->err.store_failed)
			http_header_add(c->req, "cache-control", CACHE_404, sizeof(CACHE_404) - 1);
		api_media_error(c, &g->err);
	} else if (g->src.redirect) {
		/* The blob store serves it (S3): send the client there. The
		 * target URL lives an hour; the redirect is cached as a blob is. */
		http_header_add(c->req, "cache-control", CACHE_BLOB, sizeof(CACHE_BLOB) - 1);
		http_header_add(c->req, "location", g->src.url.data, g->src.url.len);
		http_send(c->req, 302, NULL, NULL, 0);
	} else {
		send_file(c, g->key, g->src.path, g->src.content_type);
	}
}

static void get_release(struct api_read *r)
{
	strbuf_deinit(&((struct blob_get *)r)->src.url);
}

void api_blob_get(struct ctx *c)
{
	struct blob_get *g = api_read_new(c, sizeof(*g));
	g->r.run = get_run;
	g->r.finish = get_finish;
	g->r.release = get_release;
	g->media = c->app->media;
	strbuf_init(&g->src.url);
	read_request(c, false, &g->req);
	/* a key this long is not valid: keep it so (blob_key_valid) */
	size_t klen = g->req.key_len < BLOB_KEY_MAX ? g->req.key_len : BLOB_KEY_MAX;
	memcpy(g->key, g->req.key, klen);
	g->req.key = g->key;
	g->req.key_len = klen;
	if (g->req.sig) {
		memcpy(g->sig, g->req.sig, BLOB_SIG_HEX);
		g->req.sig = g->sig;
	}
	api_read(c, &g->r);
}
