/*
 * blob — the port to blob storage: a directory (media/blob_dir.c) or an
 * S3-compatible bucket (media/blob_s3.c), chosen once at start
 * (--blob-s3-*).
 *
 * Media bytes never pass through the JSON API: a client gets a presigned
 * URL and sends the bytes there; downloads go through signed URLs too, so
 * a key that was never published cannot be fetched by guessing it. The
 * directory adapter's presigned URLs are chirp's own (media/blob_sign.h),
 * served by chirp itself (api/blobs.c); an S3-compatible store serves its
 * own (SigV4, media/sigv4.h).
 *
 * Keys are made by the server only (media/media.h: media_key), so a key
 * is never a client's path. Adapters still refuse any key that is not
 * blob_key_valid, as a second line of defence against path escapes.
 *
 * put, read, stat, remove and the multipart calls block (disk or
 * network): call them from a worker thread, never from an event loop
 * (docs/architecture.md, threads).
 */
#ifndef CHIRP_MEDIA_BLOB_H
#define CHIRP_MEDIA_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/blob_sign.h"
#include "util/strbuf.h"

#define BLOB_KEY_MAX 48

/* How long a cache may keep a published blob before asking again, for
 * chirp's own answers and the bucket's (a presigned URL's
 * response-cache-control). A blob's bytes never change, but a deleted
 * tweet's media must leave every cache soon: after this, a cache
 * revalidates (If-None-Match: 304 while the media lives, 404 once its
 * tweet is gone). */
#define BLOB_CACHE_CONTROL "public, max-age=300"
#define BLOB_ETAG_LEN 32    /* hex characters, without quotes */

enum {
	BLOB_OK = 0,
	BLOB_ERROR = -1,      /* I/O failure: worth retrying */
	BLOB_NOT_FOUND = -2,  /* no such key */
	BLOB_TOO_LARGE = -3,  /* read: the blob is over the caller's cap */
	BLOB_BAD_KEY = -4,    /* not a key the server makes */
	BLOB_MISMATCH = -5,   /* multipart: a part's ETag is not the one named */
	BLOB_SIZE = -6,       /* multipart: a part's size is not the one announced */
};

#define BLOB_UPLOAD_ID_MAX 255

struct blob_options {
	const char *dir;                     /* local adapter: created if missing */
	const uint8_t *secret;               /* local: BLOB_SECRET_LEN bytes, copied */
	const char *base_url;                /* local: prefix of URLs; "" for relative ones */
	/* S3 adapter (media/blob_s3.c) */
	const char *s3_endpoint;             /* "https://s3.eu-west-1.amazonaws.com", "http://minio:9000" */
	const char *s3_bucket;
	const char *s3_region;               /* "us-east-1" */
	const char *s3_access_key;
	const char *s3_secret_key;
};

struct blob;

struct blob_ops {
	const char *name;
	struct blob *(*open)(const struct blob_options *opt, struct strbuf *err);
	void (*close)(struct blob *b); /* NULL is a no-op */

	/* Appends to `url` the URL that lets its holder send `method` ("PUT"
	 * or "GET") for `key` until `expires` (unix seconds); a PUT there is
	 * refused past `max_bytes` (0 for a GET). Non-blocking. */
	void (*presign)(struct blob *b, const char *method, const char *key, uint64_t expires,
			uint64_t max_bytes, struct strbuf *url);

	/* Stores `len` bytes under `key` durably (the data is on disk when
	 * this returns 0) and writes the content's ETag, BLOB_ETAG_LEN hex
	 * characters and a NUL, into `etag`. A reader sees the old blob or
	 * the new one, never a part. */
	int (*put)(struct blob *b, const char *key, const void *data, size_t len, char *etag);
	/* Appends the blob to `out`; BLOB_TOO_LARGE past `max` bytes. */
	int (*read)(struct blob *b, const char *key, size_t max, struct strbuf *out);
	/* The blob's size and ETag (as put wrote it). */
	int (*stat)(struct blob *b, const char *key, uint64_t *size, char *etag);
	/* Removes the blob; a missing one is not an error. */
	int (*remove)(struct blob *b, const char *key);

	/* Multipart uploads: the client PUTs parts 1..n to presign_part URLs,
	 * multipart_complete joins them into `key`. begin blocks (S3 asks the
	 * store for an upload id; the local adapter needs none and writes ""
	 * into upload_id[BLOB_UPLOAD_ID_MAX + 1]). complete checks each part
	 * against etags[i] (and sizes[i] where the store can tell before
	 * joining), sets *bad to the first part that fails, and returns
	 * BLOB_NOT_FOUND (a part is missing), BLOB_MISMATCH, BLOB_SIZE,
	 * BLOB_ERROR, or BLOB_OK with `key` complete. Blocks. */
	int (*multipart_begin)(struct blob *b, const char *key, char *upload_id);
	void (*presign_part)(struct blob *b, const char *key, const char *upload_id, unsigned part,
			     uint64_t expires, uint64_t max_bytes, struct strbuf *url);
	int (*multipart_complete)(struct blob *b, const char *key, const char *upload_id,
				  unsigned nparts, const char (*etags)[BLOB_ETAG_LEN + 1],
				  const uint64_t *sizes, unsigned *bad);

	/* Where a download of `key` (of `content_type`) comes from: a local
	 * file chirp sends itself (0, its path in path[PATH_MAX]) or a URL to
	 * redirect to, valid at least an hour (1, appended to `redirect`).
	 * -1 for a key that is not valid. Non-blocking. */
	int (*locate)(struct blob *b, const char *key, const char *content_type, char *path,
		      struct strbuf *redirect);
};

/* Every adapter's handle starts with this. */
struct blob {
	const struct blob_ops *ops;
};

extern const struct blob_ops blob_dir_ops;
extern const struct blob_ops blob_s3_ops;

/* A key the server makes: 1..20 digits, then one of ".orig", ".pN"
 * (N 1..99999), ".jpg", ".png", "_t.jpg", "_t.png". Nothing else, so no
 * '/', no "..", no NUL. */
bool blob_key_valid(const char *key, size_t len);

/* Local adapter only: the file behind `key` into `path` (PATH_MAX bytes);
 * -1 if the key is not valid. */
int blob_dir_path(struct blob *b, const char *key, size_t key_len, char *path);

#endif
