/*
 * chirp — wiring only: read the configuration, open the store, start the
 * HTTP server, and on SIGINT/SIGTERM close everything in reverse order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "api/api.h"
#include "config.h"
#include "core/accounts.h"
#include "core/credentials.h"
#include "core/graph.h"
#include "core/health.h"
#include "core/markers.h"
#include "core/notifications.h"
#include "core/session_cache.h"
#include "core/tweets.h"
#include "core/write.h"
#include "core/render.h"
#include "gateway/idempotency.h"
#include "http/server.h"
#include "live/service.h"
#include "media/media.h"
#include "pubsub/pubsub.h"
#include "redis/redis.h"
#include "timeline/live.h"
#include "search/search.h"
#include "search/service.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "timeline/live_upto_redis.h"
#include "util/log.h"
#include "util/workpool.h"

#define HASH_QUEUE_MAX 1024
#define SEARCH_QUEUE_MAX 1024
#define READ_QUEUE_MAX 4096
#define RATE_LIMIT_BUCKETS 1000000 /* least recently used beyond this go */
#define REDIS_TIMEOUT_MS 250      /* each Redis connect and reply at most */

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

/* A 32-byte key: from the operator's file when a flag names one (a
 * cluster's nodes share it), else from `name` in the data dir, made on
 * first start (one server alone). */
static int secret_load(const struct chirp_config *cfg, const char *file, const char *name,
		       uint8_t *secret, struct strbuf *err)
{
	if (file && *file)
		return blob_secret_read(file, secret, err);
	struct strbuf path = STRBUF_INIT;
	strbuf_appendf(&path, "%s/%s", cfg->data_dir, name);
	int rc = blob_secret_load(path.data, secret, err);
	strbuf_deinit(&path);
	return rc;
}

/* The blob store (a directory in the data dir, or an S3-compatible bucket
 * with --blob-s3-*), the key that signs chirp's own blob URLs (the
 * operator's, or kept in the data dir), and the media service on top. */
static struct media_service *media_start(const struct chirp_config *cfg, struct store *store,
					 struct strbuf *err)
{
	struct media_options mopt = {
		.node_id = cfg->node_id,
		.base_url = cfg->media_base_url,
		.max_bytes = cfg->media_max_bytes,
		.part_bytes = cfg->media_part_bytes,
		.max_pixels = cfg->media_max_pixels,
		.max_pixels_per_byte = cfg->media_max_pixels_per_byte,
		.job_timeout_ms = cfg->media_job_timeout_ms,
		.workers = cfg->media_workers,
		.max_attempts = cfg->media_attempts,
		.retry_base_ms = cfg->media_retry_ms,
		.upload_ttl_s = cfg->media_upload_ttl_s,
		.url_ttl_s = 10ull * 365 * 86400,
		.cleanup_every_ms = cfg->media_cleanup_ms,
		.unattached_ttl_ms = cfg->media_unattached_ms,
		.inject_failures = cfg->media_inject_failures,
	};
	int rc = cfg->blob_secret
		     ? blob_secret_parse(cfg->blob_secret, strlen(cfg->blob_secret), false, mopt.secret,
					 "--blob-secret (CHIRP_BLOB_SECRET)", err)
		     : secret_load(cfg, cfg->blob_secret_file, "blob.key", mopt.secret, err);
	struct strbuf path = STRBUF_INIT;
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

/* Everything main() starts, so one path can stop it in reverse order:
 * the app's services, and the adapters only they hold. */
struct chirp {
	struct pubsub *bus;
	struct search *search;
	struct limits *limits;
	struct app app;
};

/* Stops what started, last first; anything not started is NULL. The loops
 * are done by now: finish hashing and searching, let the writer commit
 * what is queued (its completions still feed the fanout and nudge the
 * index), close the database, then finish the fanout (which publishes to
 * the bus till its end) and the indexing. */
static void chirp_stop(struct chirp *ch)
{
	struct app *app = &ch->app;
	accounts_free(app->accounts); /* finishes queued hashing */
	search_service_free(app->search_service);
	workpool_free(app->readers);
	workpool_free(app->cold);
	media_free(app->media); /* its workers write through the store */
	if (app->store)
		app->store->ops->close(app->store);
	health_free(app->health);
	graph_free(app->graph);
	notifications_free(app->notifications);
	tweets_free(app->tweets);
	writes_free(app->writes);
	session_cache_free(app->sessions); /* the writer's effects touched it */
	live_service_free(app->streams);
	feed_free(app->feed);
	if (ch->search)
		ch->search->ops->close(ch->search);
	if (ch->bus)
		ch->bus->ops->close(ch->bus);
	ratelimit_free(app->ratelimit);
	if (ch->limits)
		ch->limits->ops->close(ch->limits);
	metrics_free(app->metrics);
	accesslog_close(app->access);
	redis_close(app->redis); /* after every adapter over it */
}

/* Starts err's message for what is opened next: "what: " and the reason
 * the opener appends, if it fails. */
static struct strbuf *failing(struct strbuf *err, const char *what)
{
	strbuf_reset(err);
	strbuf_appendf(err, "%s: ", what);
	return err;
}

/* Opens the adapters and starts the services over them; 0, or -1 with a
 * message in err (what started is left for chirp_stop). */
static int chirp_start(struct chirp *ch, const struct chirp_config *cfg, struct strbuf *err)
{
	struct app *app = &ch->app;
	app->cfg = cfg;
	const struct store_ops *store_ops = store_ops_find(cfg->store);
	if (!store_ops) {
		/* Not echoed: a mistyped connection string may hold a password. */
		strbuf_appendf(err, "--store: neither 'sqlite' nor a PostgreSQL connection string "
				    "(postgresql://USER@HOST:PORT/DB)");
		return -1;
	}
	struct store_options sopt = {
		.data_dir = cfg->data_dir,
		.url = cfg->store,
		.node_id = cfg->node_id,
		.max_queued = cfg->max_queued_writes,
		.sqlite_shared = cfg->sqlite_shared,
	};
	if (!(app->store = store_ops->open(&sopt, failing(err, "store"))))
		return -1;
	/* Cluster mode: every piece of shared state in Redis, through one
	 * client and its circuit breaker (redis/redis.h). */
	bool clustered = cfg->redis && *cfg->redis;
	if (clustered && !(app->redis = redis_open(cfg->redis, REDIS_TIMEOUT_MS, failing(err, "--redis"))))
		return -1;
	/* The live feed's bus. About one channel per open stream has
	 * subscribers. */
	/* Cluster mode's bus: streams end with a retry hint when it breaks,
	 * and those opened meanwhile catch up when it is back. */
	char resync[LIVE_MESSAGE_MAX], lost[LIVE_MESSAGE_MAX];
	struct live_event resync_event = {.kind = LIVE_RESYNC}, lost_event = {.kind = LIVE_BUS_LOST};
	struct pubsub_options popt = {.expected_channels = cfg->max_streams,
				      .redis = app->redis,
				      .gap_msg = resync,
				      .gap_len = live_encode(&resync_event, resync),
				      .lost_msg = lost,
				      .lost_len = live_encode(&lost_event, lost),
				      /* Tweets go out in id order across nodes, as
				       * far as the shared watermark can tell. */
				      .order_key = live_order_key,
				      .order_bound = live_upto_redis_bound,
				      .order_arg = app->redis,
				      .order_hold_ms = LIVE_UPTO_WAIT_MS};
	const struct pubsub_ops *bus_ops = clustered ? &pubsub_redis_ops : &pubsub_memory_ops;
	if (!(ch->bus = bus_ops->open(&popt, failing(err, "pubsub"))))
		return -1;
	int log_failed;
	app->access = accesslog_open(
		cfg->access_log, cfg->access_log_text ? ACCESSLOG_TEXT : ACCESSLOG_JSON, &log_failed);
	if (log_failed) {
		strbuf_reset(err); /* accesslog_open said why */
		return -1;
	}
	/* The index lives where the store does: FTS5 beside SQLite, tables
	 * in the same database beside PostgreSQL. */
	struct search_options qopt = {
		.data_dir = cfg->data_dir, .store = app->store, .pg_conninfo = cfg->store};
	const struct search_ops *search_ops =
		store_ops == &store_postgres_ops ? &search_postgres_ops : &search_fts5_ops;
	if (!(ch->search = search_ops->open(&qopt, failing(err, "search"))))
		return -1;
	struct feed_options fopt = {
		.timelines = clustered ? &timeline_redis_ops : &timeline_memory_ops,
		.tweet_cache = clustered ? &tweet_cache_redis_ops : &tweet_cache_memory_ops,
		.timeline_cap = cfg->timeline_cap,
		.timeline_bytes = cfg->timeline_bytes,
		.timeline_idle_ms = cfg->timeline_idle_ms,
		.celebrity_threshold = cfg->celebrity_threshold,
		.tweet_cache_bytes = cfg->tweet_cache_bytes,
		.fanout_queue = cfg->fanout_queue,
		.pubsub = ch->bus,
		.redis = app->redis,
	};
	if (!(app->feed = feed_new(app->store, &fopt, failing(err, "feed"))))
		return -1;
	struct limits_options limits_opt = {.max_buckets = RATE_LIMIT_BUCKETS, .redis = app->redis};
	const struct limits_ops *limits_ops = clustered ? &limits_redis_ops : &limits_memory_ops;
	if (!(ch->limits = limits_ops->open(&limits_opt, failing(err, "rate limits"))))
		return -1;
	app->ratelimit = ratelimit_new(ch->limits, cfg->limits, cfg->rate_limits);
	/* Idempotency fingerprints are keyed by a secret the database never
	 * holds (gateway/idempotency.h): the operator's file, shared by a
	 * cluster's nodes so that one key sent to two of them is one record,
	 * or one of the data dir. */
	_Static_assert(IDEM_SECRET_LEN == BLOB_SECRET_LEN, "one loader for both keys");
	uint8_t idem_key[IDEM_SECRET_LEN];
	int key_rc = secret_load(cfg, cfg->idem_key_file, "idem.key", idem_key,
				 failing(err, "idempotency key"));
	if (key_rc)
		return -1;
	idempotency_init(idem_key);
	sodium_memzero(idem_key, sizeof(idem_key));
	/* The Mastodon façade's OAuth clients, codes and scoped tokens are
	 * signed with a key (api/mastodon_oauth.c): the operator's file,
	 * shared by a cluster's nodes, or one of the data dir. */
	key_rc = secret_load(cfg, cfg->oauth_key_file, "oauth.key", app->oauth_key,
			     failing(err, "oauth key"));
	if (key_rc)
		return -1;
	app->metrics = metrics_new(api_route_count());
	/* /metrics is not public: the scraper shows a token from a file. */
	struct strbuf token_path = STRBUF_INIT;
	if (cfg->metrics_token_file && *cfg->metrics_token_file)
		strbuf_append_str(&token_path, cfg->metrics_token_file);
	else
		strbuf_appendf(&token_path, "%s/metrics.token", cfg->data_dir);
	key_rc = metrics_token_load(token_path.data, app->metrics_token, sizeof(app->metrics_token),
				    failing(err, "metrics token"));
	strbuf_deinit(&token_path);
	if (key_rc)
		return -1;

	/* The services, and the effects of writes each one registers. */
	app->writes = writes_new(app->store);
	struct accounts_options aopt = {
		.store = app->store,
		.writes = app->writes,
		.hash_threads = cfg->hash_threads,
		.hash_queue = HASH_QUEUE_MAX,
		.login_failed = ratelimit_login_failed,
		.login_failed_arg = app->ratelimit,
		.session_idle_ms = cfg->session_idle_ms,
	};
	/* Who a token is, from memory, when nobody but chirp can end a
	 * session (the store's sole writer): SQLite, --sqlite-lock exclusive. */
	if (app->store->sole_writer)
		aopt.session_cache = app->sessions = session_cache_new(SESSION_CACHE_SLOTS);
	app->accounts = accounts_new(&aopt);
	app->tweets = tweets_new(app->writes, app->feed);
	app->graph = graph_new(app->writes);
	app->notifications = notifications_new(app->writes, app->feed);
	markers_follow_writes(app->writes);
	app->health = health_new(app->store, app->feed);
	feed_follow_writes(app->feed, app->writes);
	search_follow_writes(ch->search, app->writes);
	if (!(app->media = media_start(cfg, app->store, failing(err, "media"))))
		return -1;
	media_follow_writes(app->media, app->writes);
	/* Searches run on threads of their own, each with its own store and
	 * index readers (search/service.h). */
	struct search_service_options qsopt = {
		.threads = cfg->search_threads,
		.max_queued = SEARCH_QUEUE_MAX,
	};
	app->search_service = search_service_new(ch->search, app->store, app->feed, &qsopt);
	/* A store whose reads are network round trips is read on threads of
	 * its own, never on an event loop (api_read); so are feeds and tweets
	 * in cluster mode, whose timelines and cache are in Redis. */
	struct workpool_hooks read_hooks = {
		.init = store_reader_thread_init,
		.deinit = store_reader_thread_deinit,
		.arg = app->store,
	};
	if (!store_ops->reads_inline || cfg->offload_reads || clustered)
		app->readers = workpool_new(cfg->read_threads, READ_QUEUE_MAX, &read_hooks);
	else /* reads on the loops, but not a timeline rebuild (api_read) */
		app->cold = workpool_new(cfg->read_threads, READ_QUEUE_MAX, &read_hooks);
	struct live_options lopt = {
		.readers = app->readers, /* the live feed's reads too (live/service.h) */
		.max_streams = cfg->max_streams,
		.max_per_user = cfg->max_user_streams,
		.buffer_bytes = cfg->stream_buffer_bytes,
		.heartbeat_ms = cfg->stream_heartbeat_ms,
		.notifications = app->notifications,
		.redis = app->redis, /* the per-user cap counts every node's streams */
	};
	app->streams = live_service_new(ch->bus, app->feed, &lopt);
	live_follow_writes(app->streams, app->writes);
	/* Every effect is registered: what a dead process left undone can
	 * run now. */
	writes_start_outbox(app->writes);
	accounts_start_sweep(app->accounts);
	strbuf_reset(err);
	return 0;
}

int main(int argc, char **argv)
{
	/* Everything chirp creates (databases, their WAL, keys, blobs, the
	 * access log) holds secrets or users' data: its owner's alone, even in
	 * a data dir made 0755 by someone else. */
	umask(077);
	struct chirp_config cfg;
	switch (config_parse(&cfg, argc, argv)) {
	case CONFIG_EXIT_OK: return 0;
	case CONFIG_EXIT_ERROR: return 2;
	case CONFIG_RUN: break;
	}
	raise_fd_limit();
	if (credentials_init(cfg.password_hash_test ? PWHASH_TEST : PWHASH_INTERACTIVE) != 0) {
		log_error("libsodium failed to initialise");
		return 1;
	}
	if (cfg.password_hash_test)
		log_info("warning: --password-hash-cost test: new passwords get the cheapest "
			 "hash; never use it for real accounts");
	/* Before chirp_start starts its threads: a SIGTERM that comes while
	 * they start (or at any time) is held for the drain, never the death
	 * of the thread it happened to fall on. */
	http_block_stop_signals();
	struct chirp ch = {0};
	struct strbuf err = STRBUF_INIT;
	int rc = chirp_start(&ch, &cfg, &err);
	if (rc == 0) {
		struct http_app http = {
			.app = &ch.app,
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
		rc = http_server_run(&scfg, &http);
	} else if (err.len) {
		log_error("%s", err.data);
	}
	chirp_stop(&ch);
	strbuf_deinit(&err);
	log_info(rc == 0 ? "stopped cleanly" : "stopped");
	return rc == 0 ? 0 : 1;
}
