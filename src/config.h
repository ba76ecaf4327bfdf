/*
 * config — chirp's settings: the flags of `chirp serve`, environment
 * variables that override their defaults, and the --help text.
 *
 * All of it comes from one table in config.c, a row per flag. To add a
 * setting: a field here and a row there (docs/architecture.md).
 */
#ifndef CHIRP_CONFIG_H
#define CHIRP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/budget.h"
#include "gateway/limits.h"

struct chirp_config {
	const char *listen;        /* --listen, CHIRP_LISTEN */
	const char *data_dir;      /* --data, CHIRP_DATA */
	unsigned threads;          /* --threads, CHIRP_THREADS */
	const char *store;         /* --store, CHIRP_STORE */
	uint32_t node_id;          /* --node-id, CHIRP_NODE_ID */
	unsigned hash_threads;     /* --hash-threads */
	unsigned search_threads;   /* --search-threads */
	uint64_t read_timeout_ms;  /* --read-timeout (seconds on the command line) */
	uint64_t drain_timeout_ms; /* --drain-timeout (seconds) */
	size_t max_body_bytes;     /* --max-body */
	size_t max_header_bytes;   /* --max-header */
	size_t max_queued_writes;  /* --max-queued-writes */
	unsigned read_threads;     /* store reads off the loops, when they must be */
	bool sqlite_shared;        /* --sqlite-lock shared */
	bool offload_reads;        /* --offload-reads: even when the store allows inline reads */
	const char *redis;         /* --redis URL: shared state in Redis; NULL/"": in process */

	/* the feed (timeline/feed.h) */
	uint64_t celebrity_threshold; /* --celebrity-threshold */
	unsigned timeline_cap;        /* --timeline-cap */
	size_t timeline_bytes;        /* --timeline-memory (MiB on the command line) */
	uint64_t timeline_idle_ms;    /* --timeline-idle (seconds) */
	uint64_t session_idle_ms;     /* --session-idle-days */
	bool password_hash_test;      /* --password-hash-cost test */
	size_t tweet_cache_bytes;     /* --tweet-cache-memory (MiB) */
	size_t fanout_queue;          /* --fanout-queue */

	/* the gateway (gateway/) */
	bool rate_limits;                       /* off with --no-rate-limits */
	struct limit_rule limits[BUDGET_COUNT]; /* --rate-limit NAME=COUNT/SECONDS */
	const char *trust_proxy;                /* --trust-proxy ADDR */
	const char *access_log;                 /* --access-log PATH|-|off; NULL: off */
	bool access_log_text;                   /* --log-format text */
	int access_log_min_status;              /* --log-level: info 0, warn 400, error 500 */
	const char *metrics_token_file;         /* --metrics-token-file; "": DATA/metrics.token */
	uint64_t max_inflight;                  /* --max-inflight */
	size_t max_connections;                 /* --max-connections */

	/* live feed streams (live/service.h) */
	size_t max_streams;           /* --max-streams */
	unsigned max_user_streams;    /* --max-streams-per-user */
	size_t stream_buffer_bytes;   /* --stream-buffer */
	uint64_t stream_heartbeat_ms; /* --stream-heartbeat (seconds) */
	/* media (media/media.h) */
	uint64_t media_max_bytes;       /* --media-max-bytes */
	uint64_t media_part_bytes;      /* --media-part-bytes */
	uint64_t media_max_pixels;      /* --media-max-pixels */
	uint64_t media_max_pixels_per_byte; /* --media-max-pixels-per-byte */
	uint64_t media_job_timeout_ms;  /* --media-job-timeout (seconds) */
	unsigned media_workers;         /* --media-workers */
	unsigned media_attempts;        /* --media-attempts */
	uint64_t media_retry_ms;        /* --media-retry-base (milliseconds) */
	uint64_t media_cleanup_ms;      /* --media-cleanup-every (seconds) */
	uint64_t media_unattached_ms;   /* --media-unattached-ttl (seconds) */
	uint64_t media_upload_ttl_s;    /* --media-upload-ttl (seconds) */
	const char *media_base_url;     /* --media-base-url */
	unsigned media_inject_failures; /* --media-inject-failures (testing) */
	const char *blob_s3_endpoint;   /* --blob-s3-endpoint; NULL: blobs in the data dir */
	const char *blob_s3_bucket;     /* --blob-s3-bucket */
	const char *blob_s3_region;     /* --blob-s3-region */
	const char *blob_s3_key;        /* --blob-s3-key, CHIRP_BLOB_S3_KEY */
	const char *blob_s3_secret;     /* --blob-s3-secret, CHIRP_BLOB_S3_SECRET */
	const char *blob_secret_file;   /* --blob-secret-file; NULL: DATA/blob.key */
	const char *blob_secret;        /* --blob-secret, CHIRP_BLOB_SECRET (hex) */
	const char *idem_key_file;      /* --idempotency-key-file; NULL: DATA/idem.key */
	const char *oauth_key_file;     /* --oauth-key-file; NULL: DATA/oauth.key */
};

enum config_result { CONFIG_RUN, CONFIG_EXIT_OK, CONFIG_EXIT_ERROR };

/* Fills *cfg: the defaults, then the environment, then argv (argv[1] is
 * the command). Strings point into argv, the environment or static
 * storage; nothing is allocated. Prints help or an error itself; the
 * result says whether to serve. */
enum config_result config_parse(struct chirp_config *cfg, int argc, char **argv);

struct strbuf;

/* Appends the flags part of --help, every flag with its default and its
 * variable, to `out`. */
void config_help(struct strbuf *out);

/* A flag as --help shows it, for tests and tools that check the docs. */
struct config_flag_doc {
	const char *name; /* without the dashes: "listen" */
	const char *env;  /* the variable, or NULL */
	const char *def;  /* the default as --help shows it; NULL for a switch */
};

/* Fills *out with the i-th flag (from 0, in --help order); false past the
 * last. Static strings: nothing to free. */
bool config_flag_doc(size_t i, struct config_flag_doc *out);

#endif
