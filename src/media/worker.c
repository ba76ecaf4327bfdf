/*
 * worker — the media service's background threads: the processing
 * workers and the cleanup thread (media.h has the flow).
 *
 * A worker claims a due job from the queue port, runs it (read the
 * upload, media_process, write the image and its thumbnail) and reports
 * the outcome as a store write (STORE_W_JOB_FINISH) before its claim ends.
 * Workers and cleanup write through the store like any request does, but
 * wait for the commit on their own thread (store_write_sync): they are not on
 * an event loop, and a job's outcome must be durable before its claim ends.
 *
 * Retries: a transient failure (the blob store cannot be read or written)
 * is tried again after retry_base_ms * 2^(attempt-1), capped at 5 minutes,
 * with "equal jitter" (half fixed, half random) so that many jobs failing
 * together do not retry together. After max_attempts the job is dead: the
 * media is "failed" and GET /v1/media/{id} shows the last reason. An input
 * that can never work (not an image, too many pixels, corrupt) fails at
 * once: retrying it would only burn CPU.
 *
 * Fairness: one user's jobs run one at a time. A worker that claims a job
 * whose owner has another one running on another worker puts it back
 * (due again DEFER_MS later, its attempts unchanged) and claims the next,
 * so one user's burst of uploads holds at most one worker while the
 * others serve everyone else. Each job also has a time limit and a cap
 * on pixels per byte (process.h). The owners running are known to this
 * process only: with several nodes, a user may have one job per node.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/service.h"
#include "media/process.h"
#include "util/container_of.h"
#include "util/log.h"
#include "util/timeutil.h"

#define RETRY_CAP_MS (5ull * 60 * 1000)
#define DEFER_MS 1000 /* a job put back for its owner's other one: due again after 1-1.5 s */

struct media_thread {
	struct media_workers *w;
	pthread_t thread;
	bool cleanup;   /* the cleanup thread, else a worker */
	uint64_t owner; /* the user whose job this worker runs; 0: none (under w->lock) */
};

struct media_workers {
	struct media_service *m;
	struct media_thread *threads;
	unsigned nthreads;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
};

/* ---- processing ------------------------------------------------------------ */

/* The uploaded bytes (parts were joined at complete). */
static int read_upload(struct media_service *m, const struct media *md, struct strbuf *out)
{
	char key[BLOB_KEY_MAX];
	media_key(key, md->id, ".orig");
	return m->blob->ops->read(m->blob, key, m->opt.max_bytes, out);
}

static void remove_upload(struct media_service *m, uint64_t id, unsigned parts)
{
	char key[BLOB_KEY_MAX];
	media_key(key, id, ".orig");
	m->blob->ops->remove(m->blob, key);
	for (unsigned n = 1; n <= parts; n++) {
		char suffix[16];
		snprintf(suffix, sizeof(suffix), ".p%u", n);
		media_key(key, id, suffix);
		m->blob->ops->remove(m->blob, key);
	}
}

enum attempt { ATTEMPT_READY, ATTEMPT_TRANSIENT, ATTEMPT_REJECT, ATTEMPT_GONE };

/* One try at a job; fills the outcome's fields in `f`. */
static enum attempt attempt(struct media_service *m, const struct store_job *job,
			    struct store_reader *db, struct store_job_finish *f)
{
	struct media md;
	int rc = db->ops->media_get(db, job->media_id, &md);
	if (rc == STORE_NOT_FOUND)
		return ATTEMPT_GONE;
	if (rc) {
		snprintf(f->error, sizeof(f->error), "the store could not be read");
		return ATTEMPT_TRANSIENT;
	}
	if (md.status != MEDIA_PROCESSING)
		return ATTEMPT_GONE;
	if (job->attempts < m->opt.inject_failures) {
		snprintf(f->error, sizeof(f->error), "injected failure (--media-inject-failures)");
		return ATTEMPT_TRANSIENT;
	}
	struct strbuf raw = STRBUF_INIT;
	rc = read_upload(m, &md, &raw);
	if (rc == BLOB_NOT_FOUND || rc == BLOB_TOO_LARGE) {
		snprintf(f->error, sizeof(f->error),
			 rc == BLOB_NOT_FOUND ? "the upload is missing" : "the upload is too large");
		strbuf_deinit(&raw);
		return ATTEMPT_REJECT;
	}
	if (rc) {
		snprintf(f->error, sizeof(f->error), "the blob store could not be read");
		strbuf_deinit(&raw);
		return ATTEMPT_TRANSIENT;
	}
	struct processed p;
	struct process_limits lim = {
		.max_pixels = m->opt.max_pixels,
		.max_pixels_per_byte = m->opt.max_pixels_per_byte,
		.timeout_ms = m->opt.job_timeout_ms,
	};
	rc = media_process(raw.data ? raw.data : "", raw.len, &lim, &p, f->error);
	strbuf_deinit(&raw);
	if (rc)
		return ATTEMPT_REJECT;
	char key[BLOB_KEY_MAX], suffix[16];
	enum attempt res = ATTEMPT_READY;
	snprintf(suffix, sizeof(suffix), ".%s", p.ext);
	media_key(key, md.id, suffix);
	if (m->blob->ops->put(m->blob, key, p.full.data, p.full.len, NULL) != BLOB_OK)
		res = ATTEMPT_TRANSIENT;
	snprintf(suffix, sizeof(suffix), "_t.%s", p.ext);
	media_key(key, md.id, suffix);
	if (res == ATTEMPT_READY &&
	    m->blob->ops->put(m->blob, key, p.thumb.data, p.thumb.len, NULL) != BLOB_OK)
		res = ATTEMPT_TRANSIENT;
	if (res == ATTEMPT_TRANSIENT) {
		snprintf(f->error, sizeof(f->error), "the blob store could not be written");
	} else {
		f->out.id = md.id;
		f->out.width = p.width;
		f->out.height = p.height;
		memcpy(f->out.content_type, p.content_type, sizeof(f->out.content_type));
	}
	processed_deinit(&p);
	return res;
}

static uint64_t backoff_ms(const struct media_options *o, unsigned attempts)
{
	uint64_t d = o->retry_base_ms;
	for (unsigned i = 1; i < attempts && d < RETRY_CAP_MS; i++)
		d *= 2;
	if (d > RETRY_CAP_MS)
		d = RETRY_CAP_MS;
	return d / 2 + randombytes_uniform((uint32_t)(d / 2 + 1));
}

/* Marks worker t as running a job of `owner`: false if another worker
 * runs one of the same owner already. */
static bool owner_take(struct media_thread *t, uint64_t owner)
{
	struct media_workers *ws = t->w;
	bool idle = true;
	pthread_mutex_lock(&ws->lock);
	for (unsigned i = 0; i < ws->nthreads && idle; i++)
		idle = &ws->threads[i] == t || ws->threads[i].owner != owner;
	if (idle)
		t->owner = owner;
	pthread_mutex_unlock(&ws->lock);
	return idle;
}

static void owner_drop(struct media_thread *t)
{
	pthread_mutex_lock(&t->w->lock);
	t->owner = 0;
	pthread_mutex_unlock(&t->w->lock);
}

/* Puts a job back for later, as it was: its owner has another running. */
static void defer_job(struct media_service *m, const struct store_job *job)
{
	struct store_write w;
	store_write_init(&w, STORE_W_JOB_FINISH);
	struct store_job_finish *f = &w.in.job_finish;
	f->job_id = job->id;
	f->media_id = job->media_id;
	f->attempts = job->attempts;
	f->outcome = JOB_RETRY;
	f->run_at_ms = time_now_ms() + DEFER_MS + randombytes_uniform(DEFER_MS / 2);
	snprintf(f->error, sizeof(f->error), "waiting for the same user's other upload");
	if (store_write_sync(m->store, &w) == STORE_OK)
		atomic_fetch_add(&m->deferred, 1);
	store_write_deinit(&w);
}

static void run_job(struct media_service *m, struct store_reader *db, const struct store_job *job)
{
	struct store_write w;
	store_write_init(&w, STORE_W_JOB_FINISH);
	struct store_job_finish *f = &w.in.job_finish;
	f->job_id = job->id;
	f->media_id = job->media_id;
	f->attempts = job->attempts + 1;
	enum attempt a = attempt(m, job, db, f);
	switch (a) {
	case ATTEMPT_READY: f->outcome = JOB_READY; break;
	case ATTEMPT_REJECT: f->outcome = JOB_DEAD; break;
	case ATTEMPT_GONE:
		/* The media went (cleanup) or moved on: the job is done. */
		f->outcome = JOB_READY;
		break;
	case ATTEMPT_TRANSIENT:
		if (f->attempts >= m->opt.max_attempts) {
			char last[MEDIA_ERROR_MAX + 1];
			memcpy(last, f->error, sizeof(last));
			snprintf(f->error, sizeof(f->error), "gave up after %u attempts: %.150s",
				 f->attempts, last);
			f->outcome = JOB_DEAD;
		} else {
			f->outcome = JOB_RETRY;
			f->run_at_ms = time_now_ms() + backoff_ms(&m->opt, f->attempts);
		}
		break;
	}
	if (a == ATTEMPT_GONE) {
		/* Keep the media row as it is: only the job goes. */
		struct media md;
		if (db->ops->media_get(db, job->media_id, &md) == STORE_OK) {
			f->out = md.out;
			f->attempts = md.attempts;
			f->outcome = md.status == MEDIA_READY ? JOB_READY : JOB_DEAD;
			memcpy(f->error, md.error, sizeof(f->error));
		}
	}
	int rc = store_write_sync(m->store, &w);
	if (rc == STORE_OK && a == ATTEMPT_READY) {
		struct media md;
		if (db->ops->media_get(db, job->media_id, &md) == STORE_OK)
			remove_upload(m, md.id, md.parts); /* the original, EXIF and all, goes */
	}
	if (rc == STORE_OK && a != ATTEMPT_GONE)
		atomic_fetch_add(f->outcome == JOB_READY ? &m->ready
				 : f->outcome == JOB_RETRY ? &m->retried
							   : &m->failed,
				 1);
	if (rc != STORE_OK)
		log_error("media: job %llu: the outcome could not be committed; it will run again",
			  (unsigned long long)job->id);
	else if (f->outcome == JOB_DEAD)
		log_info("media %llu failed: %s", (unsigned long long)job->media_id, f->error);
	store_write_deinit(&w);
}

/* ---- cleanup ------------------------------------------------------------------ */

int media_cleanup(struct media_service *m)
{
	int total = 0;
	for (;;) {
		struct store_write w;
		store_write_init(&w, STORE_W_MEDIA_PURGE);
		uint64_t now = time_now_ms();
		w.in.media_purge.cutoff_ms = now > m->opt.unattached_ttl_ms ? now - m->opt.unattached_ttl_ms : 0;
		int rc = store_write_sync(m->store, &w);
		size_t n = w.in.media_purge.n;
		/* The rows are gone, so nothing can attach these any more: now
		 * the blobs. A crash here leaves files without rows, never rows
		 * without files. */
		for (size_t i = 0; rc == STORE_OK && i < n; i++) {
			uint64_t id = w.in.media_purge.ids[i];
			remove_upload(m, id, w.in.media_purge.parts[i]);
			static const char *const outs[] = {".jpg", "_t.jpg", ".png", "_t.png"};
			for (size_t k = 0; k < 4; k++) {
				char key[BLOB_KEY_MAX];
				media_key(key, id, outs[k]);
				m->blob->ops->remove(m->blob, key);
			}
		}
		store_write_deinit(&w);
		if (rc != STORE_OK)
			return -1;
		total += (int)n;
		atomic_fetch_add(&m->removed, n);
		if (n < STORE_PURGE_BATCH)
			return total;
	}
}

/* ---- threads ------------------------------------------------------------------ */

/* The cleanup thread: a pass every cleanup_every_ms. */
static void *cleanup_main(void *arg)
{
	struct media_thread *t = arg;
	struct media_workers *ws = t->w;
	struct media_service *m = ws->m;
	pthread_setname_np(pthread_self(), "chirp-cleanup");
	pthread_mutex_lock(&ws->lock);
	while (!ws->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t ns = (uint64_t)ts.tv_nsec + (m->opt.cleanup_every_ms % 1000) * 1000000ull;
		ts.tv_sec += (time_t)(m->opt.cleanup_every_ms / 1000 + ns / 1000000000ull);
		ts.tv_nsec = (long)(ns % 1000000000ull);
		pthread_cond_timedwait(&ws->wake, &ws->lock, &ts);
		if (ws->stopping)
			break;
		pthread_mutex_unlock(&ws->lock);
		int n = media_cleanup(m);
		if (n > 0)
			log_info("media cleanup: removed %d", n);
		pthread_mutex_lock(&ws->lock);
	}
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

static bool stopping(struct media_workers *ws)
{
	pthread_mutex_lock(&ws->lock);
	bool stop = ws->stopping;
	pthread_mutex_unlock(&ws->lock);
	return stop;
}

/* A worker: claim, run, release, until the service stops. (claim also
 * returns false on a timeout, hence the check of `stopping`.) */
static void *worker_main(void *arg)
{
	struct media_thread *t = arg;
	struct media_workers *ws = t->w;
	struct media_service *m = ws->m;
	pthread_setname_np(pthread_self(), "chirp-media");
	struct store_reader *db = m->store->ops->reader_new(m->store);
	struct store_job job;
	while (!stopping(ws)) {
		if (!m->queue->ops->claim(m->queue, &job, 1000))
			continue;
		struct media md;
		uint64_t owner = db->ops->media_get(db, job.media_id, &md) == STORE_OK ? md.owner_id : 0;
		if (owner && !owner_take(t, owner)) {
			defer_job(m, &job);
		} else {
			run_job(m, db, &job);
			owner_drop(t);
		}
		m->queue->ops->release(m->queue, job.id);
	}
	db->ops->reader_free(db);
	return NULL;
}

struct media_workers *media_workers_new(struct media_service *m)
{
	struct media_workers *ws = xcalloc(1, sizeof(*ws));
	ws->m = m;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->wake, NULL);
	ws->nthreads = m->opt.workers + 1;
	ws->threads = xcalloc(ws->nthreads, sizeof(*ws->threads));
	for (unsigned i = 0; i < ws->nthreads; i++) {
		struct media_thread *t = &ws->threads[i];
		t->w = ws;
		t->cleanup = i == m->opt.workers;
		if (pthread_create(&t->thread, NULL, t->cleanup ? cleanup_main : worker_main, t) != 0)
			die("media: cannot start a thread");
	}
	return ws;
}

void media_workers_free(struct media_workers *ws)
{
	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	ws->stopping = true;
	pthread_cond_broadcast(&ws->wake);
	pthread_mutex_unlock(&ws->lock);
	ws->m->queue->ops->stop(ws->m->queue);
	for (unsigned i = 0; i < ws->nthreads; i++)
		pthread_join(ws->threads[i].thread, NULL);
	pthread_cond_destroy(&ws->wake);
	pthread_mutex_destroy(&ws->lock);
	free(ws->threads);
	free(ws);
}
