/*
 * blob_s3 — the blob port on an S3-compatible store (AWS S3, MinIO, Ceph
 * RGW, R2...), path-style: ENDPOINT/BUCKET/KEY.
 *
 * Clients upload straight to the store with SigV4 presigned URLs
 * (media/sigv4.c), a part at a time for multipart uploads. chirp's own
 * calls (read an upload, write the processed images, check sizes, join
 * parts, delete) use presigned URLs too, valid five minutes, over the
 * blocking client in util/httpc.c, from worker threads only. Downloads
 * stay on chirp's own signed /blobs/KEY URLs (they must outlive the
 * seven days a SigV4 URL can live, since tweets carry them); chirp answers
 * those with a redirect to a fresh presigned GET that also sets the
 * Content-Type and the year-long Cache-Control.
 *
 * What S3 cannot do that the local adapter does: a presigned PUT does not
 * limit its body (the size is checked at complete, by HEAD); part sizes
 * are only known after the join; an upload that is never completed stays
 * in the bucket until a lifecycle rule (AbortIncompleteMultipartUpload)
 * removes it.
 */
#include "media/blob.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/sigv4.h"
#include "util/httpc.h"
#include "util/log.h"
#include "util/timeutil.h"

#define CALL_TIMEOUT_MS 30000
#define CALL_URL_TTL 300
#define DOWNLOAD_URL_TTL 3600
#define PRESIGN_MAX 604800 /* SigV4's limit: seven days */

struct blob_s3 {
	struct blob base;
	char *scheme, *host, *bucket, *region, *access_key, *secret_key;
};

static void sign(struct blob_s3 *b, const char *method, const char *key, uint64_t expires,
		 const struct sigv4_param *params, size_t nparams, struct strbuf *url)
{
	uint64_t now = time_now_ms() / 1000;
	uint64_t ttl = expires > now ? expires - now : 1;
	char path[BLOB_KEY_MAX + 256];
	snprintf(path, sizeof(path), "/%s/%s", b->bucket, key);
	struct sigv4_request r = {
		.scheme = b->scheme,
		.host = b->host,
		.path = path,
		.method = method,
		.region = b->region,
		.service = "s3",
		.access_key = b->access_key,
		.secret_key = b->secret_key,
		.now = now,
		.expires = (unsigned)(ttl > PRESIGN_MAX ? PRESIGN_MAX : ttl),
		.params = params,
		.nparams = nparams,
	};
	sigv4_presign(&r, url);
}

/* One call of chirp's own. Returns the HTTP status, or 0 if none came. */
static int call(struct blob_s3 *b, const char *method, const char *key,
		const struct sigv4_param *params, size_t nparams, const void *body, size_t len,
		bool head, struct httpc_response *res)
{
	struct strbuf url = STRBUF_INIT, err = STRBUF_INIT;
	sign(b, method, key, time_now_ms() / 1000 + CALL_URL_TTL, params, nparams, &url);
	if (httpc_request(method, url.data, NULL, body, len, CALL_TIMEOUT_MS, head, res, &err))
		log_error("s3: %s %s: %s", method, key, err.data ? err.data : "failed");
	strbuf_deinit(&url);
	strbuf_deinit(&err);
	return res->status;
}

static bool key_ok(const char *key)
{
	return blob_key_valid(key, strlen(key));
}

static void s3_presign(struct blob *base, const char *method, const char *key, uint64_t expires,
		       uint64_t max_bytes, struct strbuf *url)
{
	(void)max_bytes; /* S3 cannot cap a presigned PUT: complete checks the size */
	sign((struct blob_s3 *)base, method, key, expires, NULL, 0, url);
}

static int s3_put(struct blob *base, const char *key, const void *data, size_t len, char *etag)
{
	if (!key_ok(key))
		return BLOB_BAD_KEY;
	struct httpc_response res;
	int st = call((struct blob_s3 *)base, "PUT", key, NULL, 0, data ? data : "", len, false, &res);
	if (st == 200 && etag)
		snprintf(etag, BLOB_ETAG_LEN + 1, "%.*s", BLOB_ETAG_LEN, res.etag);
	httpc_response_deinit(&res);
	return st == 200 ? BLOB_OK : BLOB_ERROR;
}

static int s3_read(struct blob *base, const char *key, size_t max, struct strbuf *out)
{
	if (!key_ok(key))
		return BLOB_BAD_KEY;
	struct httpc_response res;
	int st = call((struct blob_s3 *)base, "GET", key, NULL, 0, NULL, 0, false, &res);
	int rc = st == 404 ? BLOB_NOT_FOUND : st != 200 ? BLOB_ERROR
			: res.body.len > max ? BLOB_TOO_LARGE : BLOB_OK;
	if (rc == BLOB_OK)
		strbuf_append(out, res.body.data ? res.body.data : "", res.body.len);
	httpc_response_deinit(&res);
	return rc;
}

static int s3_stat(struct blob *base, const char *key, uint64_t *size, char *etag)
{
	if (!key_ok(key))
		return BLOB_BAD_KEY;
	struct httpc_response res;
	int st = call((struct blob_s3 *)base, "HEAD", key, NULL, 0, NULL, 0, true, &res);
	if (st == 200) {
		*size = res.content_length;
		if (etag)
			snprintf(etag, BLOB_ETAG_LEN + 1, "%.*s", BLOB_ETAG_LEN, res.etag);
	}
	httpc_response_deinit(&res);
	return st == 200 ? BLOB_OK : st == 404 ? BLOB_NOT_FOUND : BLOB_ERROR;
}

static int s3_remove(struct blob *base, const char *key)
{
	if (!key_ok(key))
		return BLOB_BAD_KEY;
	struct httpc_response res;
	int st = call((struct blob_s3 *)base, "DELETE", key, NULL, 0, NULL, 0, false, &res);
	httpc_response_deinit(&res);
	return st == 204 || st == 200 || st == 404 ? BLOB_OK : BLOB_ERROR;
}

/* The text of the first <tag>...</tag> in xml, into out[cap]; false if none. */
static bool xml_text(const char *xml, const char *tag, char *out, size_t cap)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *a = xml ? strstr(xml, open) : NULL;
	const char *z = a ? strstr(a, close) : NULL;
	if (!z)
		return false;
	a += strlen(open);
	size_t len = (size_t)(z - a);
	if (len >= cap)
		return false;
	memcpy(out, a, len);
	out[len] = '\0';
	return true;
}

static int s3_multipart_begin(struct blob *base, const char *key, char *upload_id)
{
	if (!key_ok(key))
		return BLOB_BAD_KEY;
	struct httpc_response res;
	struct sigv4_param p[] = {{"uploads", ""}};
	int st = call((struct blob_s3 *)base, "POST", key, p, 1, "", 0, false, &res);
	bool ok = st == 200 && xml_text(res.body.data, "UploadId", upload_id, BLOB_UPLOAD_ID_MAX + 1);
	httpc_response_deinit(&res);
	return ok ? BLOB_OK : BLOB_ERROR;
}

static void s3_presign_part(struct blob *base, const char *key, const char *upload_id,
			    unsigned part, uint64_t expires, uint64_t max_bytes, struct strbuf *url)
{
	(void)max_bytes;
	char num[16];
	snprintf(num, sizeof(num), "%u", part);
	struct sigv4_param p[] = {{"partNumber", num}, {"uploadId", upload_id}};
	sign((struct blob_s3 *)base, "PUT", key, expires, p, 2, url);
}

static int s3_multipart_complete(struct blob *base, const char *key, const char *upload_id,
				 unsigned nparts, const char (*etags)[BLOB_ETAG_LEN + 1],
				 const uint64_t *sizes, unsigned *bad)
{
	(void)sizes; /* S3 knows part sizes only after the join; complete checks the whole */
	*bad = 0;
	if (!key_ok(key))
		return BLOB_BAD_KEY;
	struct strbuf xml = STRBUF_INIT;
	strbuf_append_str(&xml, "<CompleteMultipartUpload>");
	for (unsigned n = 1; n <= nparts; n++)
		strbuf_appendf(&xml, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag></Part>", n,
			       etags[n - 1]);
	strbuf_append_str(&xml, "</CompleteMultipartUpload>");
	struct httpc_response res;
	struct sigv4_param p[] = {{"uploadId", upload_id}};
	int st = call((struct blob_s3 *)base, "POST", key, p, 1, xml.data, xml.len, false, &res);
	char code[64] = "";
	/* S3 may answer 200 and still report an error in the body. */
	bool failed = st != 200 || xml_text(res.body.data, "Code", code, sizeof(code));
	if (failed && !code[0])
		xml_text(res.body.data, "Code", code, sizeof(code));
	int rc = !failed ? BLOB_OK
		 : strcmp(code, "InvalidPart") == 0 || strcmp(code, "InvalidPartOrder") == 0 ? BLOB_MISMATCH
		 : strcmp(code, "NoSuchUpload") == 0 ? BLOB_NOT_FOUND
		 : strcmp(code, "EntityTooSmall") == 0 ? BLOB_SIZE
						       : BLOB_ERROR;
	httpc_response_deinit(&res);
	strbuf_deinit(&xml);
	return rc;
}

static int s3_locate(struct blob *base, const char *key, const char *content_type, char *path,
		     struct strbuf *redirect)
{
	(void)path;
	if (!key_ok(key))
		return -1;
	struct sigv4_param p[] = {
		{"response-cache-control", BLOB_CACHE_CONTROL},
		{"response-content-type", content_type},
	};
	sign((struct blob_s3 *)base, "GET", key, time_now_ms() / 1000 + DOWNLOAD_URL_TTL, p, 2,
	     redirect);
	return 1;
}

static void s3_close(struct blob *base)
{
	struct blob_s3 *b = (struct blob_s3 *)base;
	if (!b)
		return;
	free(b->scheme);
	free(b->host);
	free(b->bucket);
	free(b->region);
	free(b->access_key);
	if (b->secret_key)
		sodium_memzero(b->secret_key, strlen(b->secret_key));
	free(b->secret_key);
	free(b);
}

static struct blob *s3_open(const struct blob_options *opt, struct strbuf *err)
{
	const char *e = opt->s3_endpoint;
	bool tls = strncmp(e, "https://", 8) == 0;
	const char *host = e + (tls ? 8 : 7);
	size_t hlen = strcspn(host, "/");
	if (hlen == 0 || !opt->s3_bucket || !*opt->s3_bucket) {
		strbuf_appendf(err, "--blob-s3-endpoint '%s' and --blob-s3-bucket are needed", e);
		return NULL;
	}
	struct blob_s3 *b = xcalloc(1, sizeof(*b));
	b->base.ops = &blob_s3_ops;
	b->scheme = xstrdup(tls ? "https" : "http");
	b->host = xstrndup(host, hlen);
	b->bucket = xstrdup(opt->s3_bucket);
	b->region = xstrdup(opt->s3_region ? opt->s3_region : "us-east-1");
	b->access_key = xstrdup(opt->s3_access_key ? opt->s3_access_key : "");
	b->secret_key = xstrdup(opt->s3_secret_key ? opt->s3_secret_key : "");
	return &b->base;
}

const struct blob_ops blob_s3_ops = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.presign = s3_presign,
	.put = s3_put,
	.read = s3_read,
	.stat = s3_stat,
	.remove = s3_remove,
	.multipart_begin = s3_multipart_begin,
	.presign_part = s3_presign_part,
	.multipart_complete = s3_multipart_complete,
	.locate = s3_locate,
};
