/*
 * media — the media service: uploads, background processing, cleanup.
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
 * The HTTP side is api/media.c and api/blobs.c; this module owns the
 * threads and the blob and queue ports. Keys are made here only.
 */
#ifndef CHIRP_MEDIA_MEDIA_H
#define CHIRP_MEDIA_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/model.h"
#include "media/blob.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "util/id.h"
#include "util/workpool.h"

struct media_options {
	uint32_t node_id;            /* for media ids, as the store's (--node-id) */
	uint8_t secret[BLOB_SECRET_LEN]; /* signs chirp's download URLs */
	const char *base_url;        /* their prefix; "" for relative URLs */
	uint64_t max_bytes;          /* largest upload */
	uint64_t part_bytes;         /* uploads above this go in parts of this size */
	uint64_t max_pixels;         /* decoded size limit */
	unsigned workers;            /* processing threads */
	unsigned max_attempts;       /* then dead-letter */
	uint64_t retry_base_ms;      /* first retry delay; doubles, with jitter */
	uint64_t upload_ttl_s;       /* life of a presigned PUT URL */
	uint64_t url_ttl_s;          /* life of a published GET URL, from upload */
	uint64_t cleanup_every_ms;   /* how often cleanup runs */
	uint64_t unattached_ttl_ms;  /* media never attached this long go */
	unsigned inject_failures;    /* testing: first N attempts of a job fail */
};

struct media_service {
	struct media_options opt;
	struct store *store;
	struct blob *blob;
	struct queue *queue;
	struct workpool *io; /* blob writes and checks for the API, off the loops */
	struct idgen ids;    /* media ids: a multipart upload is opened under its key first */
};

/* Starts the workers and the cleanup thread. Takes ownership of `blob`.
 * NULL with `err` on failure. */
struct media_service *media_new(struct store *store, struct blob *blob,
				const struct media_options *opt, struct strbuf *err);

/* Stops the threads (a job in progress finishes), frees. Call before the
 * store closes. NULL is a no-op. */
void media_free(struct media_service *m);

/* Key of media `id`: suffix ".orig", ".p<N>", ".jpg", "_t.jpg", ... into
 * key[BLOB_KEY_MAX]. */
void media_key(char *key, uint64_t id, const char *suffix);

/* The published URL of a media (thumb: its thumbnail): chirp's own signed
 * /blobs/KEY URL, whichever blob store holds the file (api/blobs.c sends
 * it or redirects). Deterministic for a media, so caches and edges see
 * one URL per image. */
void media_url(struct media_service *m, struct strbuf *sb, const struct media_ref *ref,
	       bool thumb);

/* Number of parts of an upload of `size` bytes (0: a single PUT), and the
 * size of part n (1-based). */
unsigned media_parts(const struct media_service *m, uint64_t size);
uint64_t media_part_size(const struct media_service *m, uint64_t size, unsigned n);

/* Status names for the API. */
const char *media_status_name(enum media_status s);

/* Counters since start, for /metrics. */
struct media_stats {
	uint64_t ready;   /* jobs that made an image */
	uint64_t retried; /* attempts that failed and were rescheduled */
	uint64_t failed;  /* jobs rejected or dead-lettered */
	uint64_t removed; /* media removed by cleanup */
};
void media_stats(struct media_service *m, struct media_stats *out);

/* Runs one cleanup pass now (the cleanup thread calls it). Returns how
 * many media were removed, or -1 if the store failed. */
int media_cleanup(struct media_service *m);

/* The answer of a media write (writer thread, inside the transaction):
 * fills w->resp_status and w->resp_body; false if `w` is not a media write. */
bool media_write_render(struct media_service *m, struct store_write *w);
/* After a media write committed: a completed upload wakes the workers. */
void media_write_committed(struct media_service *m, const struct store_write *w);
/* Defines the media write kinds and their effects (media/media_writes.c). */
struct writes;
void media_follow_writes(struct media_service *m, struct writes *ws);

#endif
