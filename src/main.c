/*
 * chirp — wiring only: read the configuration, open the store, start the
 * HTTP server, and on SIGINT/SIGTERM close everything in reverse order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <sys/resource.h>

#include "api/api.h"
#include "api/stream.h"
#include "config.h"
#include "core/accounts.h"
#include "core/render.h"
#include "http/server.h"
#include "media/media.h"
#include "pubsub/pubsub.h"
#include "search/search.h"
#include "search/service.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "util/log.h"
#include "util/workpool.h"

#define HASH_QUEUE_MAX 1024
#define SEARCH_QUEUE_MAX 1024
#define RATE_LIMIT_BUCKETS 1000000 /* least recently used beyond this go */

/* Every connection is a file descriptor; a soft limit of 1024 would let
 * a thousand slow clients lock everyone else out. Take what the hard
 * limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void render_media_url(void *arg, struct strbuf *sb, const struct media_ref *m, bool thumb)
{
	media_url(arg, sb, m, thumb);
}

/* The blob store (a directory in the data dir, or an S3-compatible bucket
 * with --blob-s3-*), the key that signs chirp's own blob URLs (kept in the
 * data dir), and the media service on top. */
static struct media_service *media_start(const struct chirp_config *cfg, struct store *store,
					 struct strbuf *err)
{
	struct media_options mopt = {
		.node_id = cfg->node_id,
		.base_url = cfg->media_base_url,
		.max_bytes = cfg->media_max_bytes,
		.part_bytes = cfg->media_part_bytes,
		.max_pixels = cfg->media_max_pixels,
		.workers = cfg->media_workers,
		.max_attempts = cfg->media_attempts,
		.retry_base_ms = cfg->media_retry_ms,
		.upload_ttl_s = cfg->media_upload_ttl_s,
		.url_ttl_s = 10ull * 365 * 86400,
		.cleanup_every_ms = cfg->media_cleanup_ms,
		.unattached_ttl_ms = cfg->media_unattached_ms,
		.inject_failures = cfg->media_inject_failures,
	};
	struct strbuf path = STRBUF_INIT;
	strbuf_appendf(&path, "%s/blob.key", cfg->data_dir);
	int rc = blob_secret_load(path.data, mopt.secret, err);
	strbuf_reset(&path);
	strbuf_appendf(&path, "%s/blobs", cfg->data_dir);
	struct blob_options bopt = {
		.dir = path.data,
		.secret = mopt.secret,
		.base_url = cfg->media_base_url,
		.s3_endpoint = cfg->blob_s3_endpoint,
		.s3_bucket = cfg->blob_s3_bucket,
		.s3_region = cfg->blob_s3_region,
		.s3_access_key = cfg->blob_s3_key,
		.s3_secret_key = cfg->blob_s3_secret,
	};
	const struct blob_ops *bops = cfg->blob_s3_endpoint ? &blob_s3_ops : &blob_dir_ops;
	struct blob *blob = rc ? NULL : bops->open(&bopt, err);
	strbuf_deinit(&path);
	struct media_service *m = blob ? media_new(store, blob, &mopt, err) : NULL;
	sodium_memzero(mopt.secret, sizeof(mopt.secret));
	if (m)
		render_set_media_url(render_media_url, m);
	return m;
}

int main(int argc, char **argv)
{
	struct chirp_config cfg;
	switch (config_parse(&cfg, argc, argv)) {
	case CONFIG_EXIT_OK: return 0;
	case CONFIG_EXIT_ERROR: return 2;
	case CONFIG_RUN: break;
	}
	raise_fd_limit();
	if (accounts_init() != 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	const struct store_ops *ops = store_ops_find(cfg.store);
	if (!ops) {
		log_error("--store '%s': unknown (known: sqlite)", cfg.store);
		return 2;
	}
	struct store_options sopt = {
		.data_dir = cfg.data_dir,
		.node_id = cfg.node_id,
		.max_queued = cfg.max_queued_writes,
	};
	struct strbuf err = STRBUF_INIT;
	struct store *store = ops->open(&sopt, &err);
	if (!store) {
		log_error("store: %s", err.data ? err.data : "cannot open");
		strbuf_deinit(&err);
		return 1;
	}
	/* The live feed's bus; the Redis adapter comes with cluster mode. */
	struct pubsub *bus = pubsub_memory_ops.create();
	struct feed_options fopt = {
		.timelines = &timeline_memory_ops,
		.tweet_cache = &tweet_cache_memory_ops,
		.timeline_cap = cfg.timeline_cap,
		.timeline_bytes = cfg.timeline_bytes,
		.timeline_idle_ms = cfg.timeline_idle_ms,
		.celebrity_threshold = cfg.celebrity_threshold,
		.tweet_cache_bytes = cfg.tweet_cache_bytes,
		.fanout_queue = cfg.fanout_queue,
		.pubsub = bus,
	};
	int log_failed;
	struct accesslog *access = accesslog_open(
		cfg.access_log, cfg.access_log_text ? ACCESSLOG_TEXT : ACCESSLOG_JSON, &log_failed);
	if (log_failed) {
		ops->close(store);
		bus->ops->destroy(bus);
		return 1;
	}
	struct search_options qopt = {.data_dir = cfg.data_dir, .store = store};
	struct search *search = search_fts5_ops.open(&qopt, &err);
	if (!search) {
		log_error("search: %s", err.data ? err.data : "cannot open");
		strbuf_deinit(&err);
		accesslog_close(access);
		ops->close(store);
		bus->ops->destroy(bus);
		return 1;
	}
	struct media_service *media = media_start(&cfg, store, &err);
	if (!media) {
		log_error("media: %s", err.data ? err.data : "cannot start");
		strbuf_deinit(&err);
		search->ops->close(search);
		accesslog_close(access);
		ops->close(store);
		bus->ops->destroy(bus);
		return 1;
	}
	struct feed *feed = feed_new(store, &fopt, &err);
	if (!feed) {
		log_error("feed: %s", err.data ? err.data : "cannot start");
		strbuf_deinit(&err);
		media_free(media);
		search->ops->close(search);
		accesslog_close(access);
		ops->close(store);
		bus->ops->destroy(bus);
		return 1;
	}
	struct app app = {
		.cfg = &cfg,
		.store = store,
		.hashers = workpool_new(cfg.hash_threads, HASH_QUEUE_MAX, NULL),
		.feed = feed,
		.search = search,
		.limits = limits_memory_ops.create(RATE_LIMIT_BUCKETS),
		.metrics = metrics_new(api_route_count()),
		.access = access,
		.media = media,
	};
	/* Searches run on threads of their own, each with its own store and
	 * index readers (search/service.h). */
	struct search_service_options qsopt = {
		.threads = cfg.search_threads,
		.max_queued = SEARCH_QUEUE_MAX,
	};
	app.search_service = search_service_new(search, store, app.feed, &qsopt);
	struct stream_options stopt = {
		.max_streams = cfg.max_streams,
		.max_per_user = cfg.max_user_streams,
		.buffer_bytes = cfg.stream_buffer_bytes,
		.heartbeat_ms = cfg.stream_heartbeat_ms,
	};
	app.streams = streams_new(bus, app.feed, &stopt);
	struct http_app http = {
		.app = &app,
		.thread_init = api_thread_init,
		.thread_deinit = api_thread_deinit,
		.handle = api_handle,
		.thread_drain = api_thread_drain,
	};
	struct http_server_config scfg = {
		.listen = cfg.listen,
		.threads = cfg.threads,
		.read_timeout_ms = cfg.read_timeout_ms,
		/* h2o refuses larger bodies itself; chirp's own JSON limit
		 * (max_body_bytes) answers below that with a JSON 413. */
		.max_request_bytes = cfg.max_body_bytes * 16 > cfg.media_part_bytes
					     ? cfg.max_body_bytes * 16
					     : cfg.media_part_bytes,
		.drain_timeout_ms = cfg.drain_timeout_ms,
		.max_connections = cfg.max_connections,
	};
	int rc = http_server_run(&scfg, &http);
	/* The loops are done: finish hashing and searching, let the writer
	 * commit what is queued (its completions still feed the fanout and
	 * nudge the index), close the database, then finish the fanout (which
	 * publishes to the bus till its end) and the indexing. */
	workpool_free(app.hashers);
	search_service_free(app.search_service);
	media_free(app.media); /* its workers write through the store */
	ops->close(store);
	streams_free(app.streams);
	feed_free(app.feed);
	search->ops->close(search);
	bus->ops->destroy(bus);
	app.limits->ops->destroy(app.limits);
	metrics_free(app.metrics);
	accesslog_close(app.access);
	log_info(rc == 0 ? "stopped cleanly" : "stopped");
	return rc == 0 ? 0 : 1;
}
