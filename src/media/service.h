/*
 * service — the media service's state, private to media/: service.c
 * (start, stop, keys, URLs, counters), upload.c, serve.c and worker.c
 * share it; everyone else goes through media.h, where the struct is
 * opaque, so no handler can reach the ports behind it.
 */
#ifndef CHIRP_MEDIA_SERVICE_H
#define CHIRP_MEDIA_SERVICE_H

#include <stdatomic.h>

#include "media/blob.h"
#include "media/media.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/id.h"
#include "util/workpool.h"

struct media_workers;

struct media_service {
	struct media_options opt;
	struct store *store;
	struct blob *blob;
	struct queue *queue;
	struct workpool *io; /* blob calls for the API (upload.c, serve.c), off the loops */
	struct idgen ids;    /* media ids: a multipart upload is opened under its key first */
	struct media_workers *workers;
	atomic_uint_fast64_t ready, retried, failed, removed, deferred; /* media_stats */
};

/* Starts opt.workers processing threads and the cleanup thread
 * (worker.c). Dies if a thread cannot start. */
struct media_workers *media_workers_new(struct media_service *m);

/* Stops and joins them (a job in progress finishes). NULL is a no-op. */
void media_workers_free(struct media_workers *w);

#endif
