/*
 * service — the media service's start and stop, its keys, URLs and names,
 * and its counters (the interface is media.h; the requests are in
 * upload.c and serve.c, the threads in worker.c).
 */
#include "media/media.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/service.h"
#include "media/process.h"
#include "util/log.h"

#define IO_THREADS 2
#define IO_QUEUE_MAX 256
#define QUEUE_POLL_MS 250

void media_key(char *key, uint64_t id, const char *suffix)
{
	snprintf(key, BLOB_KEY_MAX, "%llu%s", (unsigned long long)id, suffix);
}

const char *media_status_name(enum media_status s)
{
	switch (s) {
	case MEDIA_AWAITING_UPLOAD: return "awaiting_upload";
	case MEDIA_PROCESSING: return "processing";
	case MEDIA_READY: return "ready";
	case MEDIA_FAILED: return "failed";
	case MEDIA_RELEASED: return "released";
	}
	return "unknown";
}

unsigned media_parts(const struct media_service *m, uint64_t size)
{
	if (size <= m->opt.part_bytes)
		return 0;
	return (unsigned)((size + m->opt.part_bytes - 1) / m->opt.part_bytes);
}

uint64_t media_part_size(const struct media_service *m, uint64_t size, unsigned n)
{
	uint64_t start = (uint64_t)(n - 1) * m->opt.part_bytes;
	uint64_t left = size - start;
	return left < m->opt.part_bytes ? left : m->opt.part_bytes;
}

void media_url(struct media_service *m, struct strbuf *sb, const struct media_ref *ref, bool thumb)
{
	char key[BLOB_KEY_MAX];
	bool png = strcmp(ref->content_type, "image/png") == 0;
	media_key(key, ref->id, thumb ? (png ? "_t.png" : "_t.jpg") : (png ? ".png" : ".jpg"));
	/* Expiry counts from the media's creation (in its id), not from now:
	 * the same image always has the same URL. */
	uint64_t expires = id_unix_ms(ref->id) / 1000 + m->opt.url_ttl_s;
	blob_sign_url(sb, m->opt.secret, m->opt.base_url, "GET", key, expires, 0);
}

void media_stats(struct media_service *m, struct media_stats *out)
{
	out->ready = atomic_load(&m->ready);
	out->retried = atomic_load(&m->retried);
	out->failed = atomic_load(&m->failed);
	out->removed = atomic_load(&m->removed);
	out->deferred = atomic_load(&m->deferred);
}

void media_metrics(struct media_service *m, struct strbuf *sb)
{
	struct media_stats st;
	media_stats(m, &st);
	strbuf_appendf(sb,
		       "# HELP chirp_media_jobs_total Media processing attempts since start, by outcome.\n"
		       "# TYPE chirp_media_jobs_total counter\n"
		       "chirp_media_jobs_total{outcome=\"ready\"} %llu\n"
		       "chirp_media_jobs_total{outcome=\"retry\"} %llu\n"
		       "chirp_media_jobs_total{outcome=\"failed\"} %llu\n"
		       "# HELP chirp_media_removed_total Media removed by cleanup since start.\n"
		       "# TYPE chirp_media_removed_total counter\n"
		       "chirp_media_removed_total %llu\n"
		       "# HELP chirp_media_jobs_deferred_total Jobs put back because their user had "
		       "another one running.\n"
		       "# TYPE chirp_media_jobs_deferred_total counter\n"
		       "chirp_media_jobs_deferred_total %llu\n",
		       (unsigned long long)st.ready, (unsigned long long)st.retried,
		       (unsigned long long)st.failed, (unsigned long long)st.removed,
		       (unsigned long long)st.deferred);
}

struct media_service *media_new(struct store *store, struct blob *blob,
				const struct media_options *opt, struct strbuf *err)
{
	if (media_process_init() != 0) {
		strbuf_appendf(err, "libvips failed to start");
		blob->ops->close(blob);
		return NULL;
	}
	struct media_service *m = xcalloc(1, sizeof(*m));
	m->opt = *opt;
	m->opt.base_url = xstrdup(opt->base_url ? opt->base_url : "");
	m->store = store;
	m->blob = blob;
	idgen_init(&m->ids, opt->node_id);
	struct queue_options qopt = {.store = store, .poll_ms = QUEUE_POLL_MS};
	if (!(m->queue = queue_store_ops.open(&qopt, err))) {
		media_free(m);
		return NULL;
	}
	m->io = workpool_new(IO_THREADS, IO_QUEUE_MAX, NULL);
	m->workers = media_workers_new(m);
	return m;
}

void media_free(struct media_service *m)
{
	if (!m)
		return;
	media_workers_free(m->workers); /* they use the queue and the blob store */
	workpool_free(m->io);
	if (m->queue)
		m->queue->ops->close(m->queue);
	m->blob->ops->close(m->blob);
	sodium_memzero(m->opt.secret, sizeof(m->opt.secret));
	idgen_deinit(&m->ids);
	free((char *)m->opt.base_url);
	free(m);
}
