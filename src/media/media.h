/*
 * media — the media service: uploads, background processing, cleanup, and
 * chirp's own signed blob URLs (docs/media.md tells the story for users).
 *
 *   POST /v1/media ─► row "awaiting_upload" + presigned PUT URL(s)
 *   client PUTs the bytes to the blob store (one URL, or one per part)
 *   POST /v1/media/{id}/complete ─► checks the upload, "processing" + a job
 *   worker thread: reads the upload, media_process, writes the image and
 *     its thumbnail, "ready" (or retries with backoff, or "failed")
 *   POST /v1/tweets {media_ids} ─► attached; tweets render signed GET URLs
 *   cleanup thread: media never attached within the TTL, and media whose
 *     tweet was deleted, lose their rows, then their blobs
 *
 * The HTTP handlers (api/media.c, api/blobs.c) parse a request, call one
 * of the functions below and render what they return; the service owns
 * the blob and queue ports, the threads and the keys (made here only).
 * It knows nothing of HTTP requests, but its refusals carry the status,
 * code and message the API answers with (struct media_error), so every
 * transport says the same thing.
 *
 * Files: service.c (start and stop, keys, URLs, counters; service.h is
 * the state they share), upload.c (create, complete, show, and the write
 * path's hooks), serve.c (chirp's /blobs URLs), worker.c (processing and
 * cleanup threads), process.c (libvips), blob.h and blob_*.c (the blob
 * port), blob_sign.c (chirp's signed URLs).
 *
 * Threads: functions that take a `struct store_reader *` run on the
 * caller's thread with the caller's reader (an event loop's); anything
 * that blocks on the blob store runs on the service's own I/O threads and
 * reports through a callback, from that thread.
 */
#ifndef CHIRP_MEDIA_MEDIA_H
#define CHIRP_MEDIA_MEDIA_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/model.h"
#include "media/blob.h"
#include "media/blob_sign.h"
#include "store/store.h"
#include "util/strbuf.h"

struct media_options {
	uint32_t node_id;            /* for media ids, as the store's (--node-id) */
	uint8_t secret[BLOB_SECRET_LEN]; /* signs chirp's download URLs */
	const char *base_url;        /* their prefix; "" for relative URLs */
	uint64_t max_bytes;          /* largest upload */
	uint64_t part_bytes;         /* uploads above this go in parts of this size */
	uint64_t max_pixels;         /* decoded size limit */
	uint64_t max_pixels_per_byte; /* decoded pixels per uploaded byte (process.h) */
	uint64_t job_timeout_ms;     /* one job's processing time limit */
	unsigned workers;            /* processing threads; one job per user at a time */
	unsigned max_attempts;       /* then dead-letter */
	uint64_t retry_base_ms;      /* first retry delay; doubles, with jitter */
	uint64_t upload_ttl_s;       /* life of a presigned PUT URL */
	uint64_t url_ttl_s;          /* life of a published GET URL, from upload */
	uint64_t cleanup_every_ms;   /* how often cleanup runs */
	uint64_t unattached_ttl_ms;  /* media never attached this long go */
	unsigned inject_failures;    /* testing: first N attempts of a job fail */
};

struct media_service; /* opaque (media/service.h) */

/* Opens the queue, starts the I/O threads, the workers and the cleanup
 * thread. Takes ownership of `blob` (closed on failure too); copies
 * `opt`. NULL with `err` on failure. */
struct media_service *media_new(struct store *store, struct blob *blob,
				const struct media_options *opt, struct strbuf *err);

/* Stops the threads (a job in progress finishes), closes the ports,
 * frees. Call before the store closes. NULL is a no-op. */
void media_free(struct media_service *m);

/* ---- keys, URLs, names ---- */

/* Key of media `id`: suffix ".orig", ".p<N>", ".jpg", "_t.jpg", ... into
 * key[BLOB_KEY_MAX]. */
void media_key(char *key, uint64_t id, const char *suffix);

/* Appends the published URL of a media (thumb: its thumbnail): chirp's
 * own signed /blobs/KEY URL, whichever blob store holds the file
 * (media_blob_locate sends it there). Deterministic for a media, so
 * caches and edges see one URL per image. Any thread. */
void media_url(struct media_service *m, struct strbuf *sb, const struct media_ref *ref,
	       bool thumb);

/* Number of parts of an upload of `size` bytes (0: a single PUT), and the
 * size of part n (1-based). */
unsigned media_parts(const struct media_service *m, uint64_t size);
uint64_t media_part_size(const struct media_service *m, uint64_t size, unsigned n);

/* Status names for the API. */
const char *media_status_name(enum media_status s);

/* ---- what the API answers ---- */

/* Why the service refused a request, as the API says it. */
struct media_error {
	int status;       /* HTTP status: 404, 409, 413, 415, 422, 503... */
	const char *code; /* the JSON error code, a static string */
	char message[160];
	bool store_failed; /* the store could not be read: answer as for any
			    * store failure (503 with Retry-After) */
};

/* How an asynchronous step ended: err NULL when the write may go to the
 * store now, else the answer to send instead (err lives only during the
 * call). Called once: from one of the service's I/O threads, or from the
 * caller's own thread before the call returns when there is nothing to do
 * or the I/O threads' queue is full (503 "too busy"). */
typedef void (*media_step_fn)(void *arg, const struct media_error *err);

/* Appends the Media JSON of `md`: with_upload for the answer to POST
 * /v1/media (its presigned URLs, signed now). Any thread. */
void media_render(struct media_service *m, struct strbuf *b, const struct media *md,
		  bool with_upload);

/* ---- POST /v1/media ---- */

/* Whether an upload of `size` bytes of the claimed content type (not
 * NUL-terminated) may be made: 0, or -1 with `err`, checked in this order:
 * 415 for a type chirp does not take, 422 for size 0 (pass 0 for a size
 * that was missing or not a positive integer), 413 above
 * --media-max-bytes. */
int media_check_create(const struct media_service *m, const char *type, size_t type_len,
		       uint64_t size, struct media_error *err);

/* Fills the STORE_W_MEDIA_CREATE write `w` for an upload media_check_create
 * accepted: a new media id, its owner, size, parts and claimed type. */
void media_prepare_create(struct media_service *m, uint64_t owner_id, const char *type,
			  size_t type_len, uint64_t size, struct store_write *w);

/* Opens the upload of the media in the prepared `w` where the blob store
 * needs that first (a multipart upload on S3 gets its upload id, written
 * into `w`; a network call, so on an I/O thread), then calls done. */
void media_open_upload(struct media_service *m, struct store_write *w, media_step_fn done,
		       void *arg);

/* ---- POST /v1/media/{id}/complete ---- */

enum {
	MEDIA_COMPLETE_CHECK = 0, /* the upload must be checked: media_check_upload */
	MEDIA_COMPLETE_DONE = 1,  /* completed before: answer 202 with `md` as it is */
};

/* Reads media `id` of `owner_id` into `md` with the caller's reader and
 * says what completing it takes: MEDIA_COMPLETE_CHECK (awaiting upload;
 * a multipart one then needs md->parts ETags), MEDIA_COMPLETE_DONE, or -1
 * with `err` (404 for a missing media or someone else's, 409 for a failed
 * or released one, or a store failure). */
int media_complete_start(struct media_service *m, struct store_reader *db, uint64_t owner_id,
			 uint64_t id, struct media *md, struct media_error *err);

/* Fills the STORE_W_MEDIA_COMPLETE write `w` for `md`. */
void media_prepare_complete(const struct media *md, struct store_write *w);

/* On an I/O thread: is everything the client announced in the blob
 * store? A multipart upload is joined first, its parts checked against
 * `etags` (md->parts of them, without quotes; the service takes and frees
 * the array, NULL for a single upload), then the whole is checked like a
 * single upload. Then calls done: NULL, or 409 upload_missing, 422
 * etag_mismatch or size_mismatch, 503. `md` is copied. */
void media_check_upload(struct media_service *m, const struct media *md,
			char (*etags)[BLOB_ETAG_LEN + 1], media_step_fn done, void *arg);

/* ---- descriptions (alt text) ---- */

/* Sets the description that a STORE_W_MEDIA_CREATE or STORE_W_MEDIA_DESCRIBE
 * write carries: text[0..len), validated (validate_description); len 0
 * for none. */
void media_prepare_description(struct store_write *w, const char *text, size_t len);

/* Fills the STORE_W_MEDIA_DESCRIBE write `w` (PATCH /v1/media/{id}):
 * `owner_id`'s media `id` gets the description media_prepare_description
 * set. Its answer: 200 Media; 404 for a missing media or someone else's;
 * 409 media_attached once the media is on a tweet (or an avatar), whose
 * copy of the description then stays as it was posted. */
void media_prepare_describe(uint64_t owner_id, uint64_t id, struct store_write *w);

/* ---- GET /v1/media/{id} ---- */

/* Appends the Media JSON of `owner_id`'s media `id` to `out`: 0, or -1
 * with `err` (404, or a store failure). */
int media_show(struct media_service *m, struct store_reader *db, uint64_t owner_id, uint64_t id,
	       struct strbuf *out, struct media_error *err);

/* ---- the write path's hooks (writer thread, then after commit) ---- */

/* Defines the media write kinds (core/write.h): their answers are
 * rendered inside the transaction, so that an Idempotency-Key replays the
 * very URLs the client got first; and after a completed upload commits, a
 * worker wakes now rather than at the queue's next poll. */
struct writes;
void media_follow_writes(struct media_service *m, struct writes *ws);

/* ---- chirp's own blob URLs: /blobs/KEY (media/serve.c) ---- */

/* A request to a signed /blobs URL, as the transport found it. */
struct media_blob_request {
	const char *key;     /* the path's key, not NUL-terminated */
	size_t key_len;
	bool signed_query;   /* the query was in its canonical form (blob_query_parse) */
	uint64_t expires;
	uint64_t max;        /* PUT: the largest body the URL allows */
	const char *sig;
	size_t sig_len;
};

/* Which upload, and which part of it (0: a single PUT), a PUT names. */
struct media_upload_target {
	uint64_t id;
	unsigned part;
	uint64_t max; /* the largest body the URL allows */
};

/* Checks a PUT to an upload URL without the store (never blocks): the
 * key (404), the signature and expiry (403 invalid_signature or
 * url_expired; before anything that would tell which keys exist), and
 * that the key is an upload's (403). 0 with *t set, or -1 with `err`. */
int media_blob_check_put(struct media_service *m, const struct media_blob_request *r,
			 struct media_upload_target *t, struct media_error *err);

/* The rest of accepting a PUT of `len` bytes, with a store reader (a
 * read: off the loop when the store says so): the upload is still open
 * (404 no such upload, 409 upload_closed: a URL replayed after complete
 * cannot swap the bytes being processed), and the size (400 empty, 413
 * past max). 0, or -1 with `err`. */
int media_blob_upload_open(struct store_reader *db, const struct media_upload_target *t,
			   size_t len, struct media_error *err);

/* How an accepted PUT ended: the stored blob's ETag (BLOB_ETAG_LEN hex
 * characters), or NULL when the blob store failed (503). From an I/O
 * thread, or the caller's if the service is too busy to take it. */
typedef void (*media_put_fn)(void *arg, const char *etag);

/* Stores the body of an accepted PUT under r->key, on an I/O thread. The
 * bytes are copied: the caller's may go as soon as this returns. */
void media_blob_put(struct media_service *m, const struct media_blob_request *r,
		    const void *data, size_t len, media_put_fn done, void *arg);

/* Where a download of a published blob comes from. */
struct media_blob_source {
	const char *content_type; /* "image/jpeg" or "image/png", from the key */
	bool redirect;            /* true: send the client to `url`; else serve `path` */
	char path[PATH_MAX];      /* a file of the local blob store */
	struct strbuf url;        /* a presigned URL of the bucket, valid an hour */
};

/* Checks a GET of a signed URL (404 for a key that is not a published
 * blob's, 403 as for PUT; then 404 unless the media's row, read with the
 * caller's reader, is ready: a deleted tweet's media is gone at once) and
 * says where its bytes are: 0 and `src` filled (the caller deinits
 * src->url, also on failure), or -1 with `err`. Reads the store once. */
int media_blob_locate(struct media_service *m, struct store_reader *db,
		      const struct media_blob_request *r, struct media_blob_source *src,
		      struct media_error *err);

/* ---- counters ---- */

/* Counters since start. */
struct media_stats {
	uint64_t ready;   /* jobs that made an image */
	uint64_t retried; /* attempts that failed and were rescheduled */
	uint64_t failed;  /* jobs rejected or dead-lettered */
	uint64_t removed; /* media removed by cleanup */
	uint64_t deferred; /* jobs put back: their user had another one running */
};
void media_stats(struct media_service *m, struct media_stats *out);

/* Appends the counters in Prometheus text format, for GET /metrics. */
void media_metrics(struct media_service *m, struct strbuf *sb);

/* Runs one cleanup pass now (the cleanup thread calls it). Returns how
 * many media were removed, or -1 if the store failed. Blocks. */
int media_cleanup(struct media_service *m);


#endif
