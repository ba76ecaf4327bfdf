/*
 * config — see config.h.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/id.h"

#define FLAGS_HELP                                                                                \
	"Flags of chirp serve. [Brackets]: the default; a CHIRP_ variable there, when set,\n"      \
	"overrides the default and is itself overridden by the flag.\n"                             \
	"\n"                                                                                       \
	"  --listen HOST:PORT      address to listen on       [CHIRP_LISTEN, 127.0.0.1:8080]\n"    \
	"  --data DIR              data directory (created)    [CHIRP_DATA, ./data]\n"             \
	"  --threads N             event-loop threads          [CHIRP_THREADS, number of cores]\n" \
	"  --store NAME            store adapter: sqlite       [CHIRP_STORE, sqlite]\n"            \
	"  --node-id N             0..1023, unique per server sharing a database [CHIRP_NODE_ID, 0]\n" \
	"  --hash-threads N        threads for password hashing               [half the cores]\n" \
	"  --search-threads N      threads that run search queries            [number of cores]\n" \
	"  --read-timeout SECONDS  request read and keep-alive idle timeout   [10]\n"              \
	"  --drain-timeout SECONDS how long shutdown waits for requests       [10]\n"              \
	"  --max-body BYTES        largest JSON request body                  [65536]\n"           \
	"  --max-header BYTES      largest total of request header fields     [16384]\n"           \
	"  --max-queued-writes N   writes waiting for commit before 503       [65536]\n"           \
	"  --offload-reads         store reads on worker threads, as a networked store needs\n"   \
	"                          (tests that path on SQLite)                [off]\n"              \
	"  --celebrity-threshold N authors with more followers are not fanned out;\n"             \
	"                          their tweets are merged in at read time    [10000]\n"           \
	"  --timeline-cap N        tweet ids kept per home timeline           [800]\n"             \
	"  --timeline-memory MIB   memory for all timelines                   [1024]\n"            \
	"  --timeline-idle SECONDS a timeline unread this long is dropped     [86400]\n"           \
	"  --tweet-cache-memory MIB  memory for ready-made tweet JSON         [256]\n"             \
	"  --fanout-queue N        tweets waiting for fanout before posting slows  [65536]\n"      \
	"  --rate-limit NAME=COUNT/SECONDS  a rate-limit budget (repeat the flag); names and\n"    \
	"                          defaults: signup=5/1800 (per IP), login=25/300 (per IP),\n"    \
	"                          login-handle=25/300 (failed log-ins, per handle),\n"           \
	"                          post=300/10800 (per user), requests=300/300 (per user,\n"     \
	"                          or per IP without a token), media=100/3600 (per user)\n"     \
	"  --no-rate-limits        turn every budget off (benchmarks, load tests)\n"              \
	"  --trust-proxy ADDR      take the client IP from X-Forwarded-For when the\n"            \
	"                          connection comes from ADDR (a load balancer)       [none]\n"   \
	"  --access-log PATH       one line per request to PATH, - for stdout, or off   [-]\n"    \
	"  --log-format FORMAT     access log as json or text                       [json]\n"    \
	"  --log-level LEVEL       info: every request; warn: 4xx and 5xx; error: 5xx [info]\n"  \
	"  --max-inflight N        requests being handled (writes waiting for their\n"           \
	"                          commit included) before new ones get 503    [4096]\n"          \
	"  --max-connections N     open connections; past it a new one gets 503 and is\n"        \
	"                          closed (this is what sheds read load)        [4096]\n"         \
	"  --max-streams N         open live feed streams (GET /v1/feed/stream); past\n"         \
	"                          it a new one gets 503. Each holds a connection  [2048]\n"    \
	"  --max-streams-per-user N  open streams per user; past it 429          [5]\n"          \
	"  --stream-buffer BYTES   unsent bytes a stream may hold (and its socket's\n"        \
	"                          kernel send buffer); a reader that lets\n"               \
	"                          more pile up is disconnected                 [65536]\n"       \
	"  --stream-heartbeat SECONDS  a comment line this often on every stream [15]\n"        \
	"  --media-max-bytes N     largest media upload; more is 413          [16777216]\n"       \
	"  --media-part-bytes N    uploads above this go in parts this big    [8388608]\n"        \
	"  --media-max-pixels N    images with more pixels are refused        [40000000]\n"       \
	"  --media-workers N       threads that process uploaded images       [1]\n"              \
	"  --media-attempts N      tries of a processing job before it fails  [5]\n"              \
	"  --media-retry-base MS   first retry delay; doubles, with jitter    [1000]\n"           \
	"  --media-cleanup-every SECONDS  how often unattached media are swept [600]\n"          \
	"  --media-unattached-ttl SECONDS media never attached this long go   [86400]\n"          \
	"  --media-upload-ttl SECONDS  life of a presigned upload URL         [900]\n"            \
	"  --media-base-url URL    prefix of blob URLs (an edge cache)  [none: relative]\n"       \
	"  --media-inject-failures N  testing: first N tries of each job fail [0]\n"              \
	"  --blob-s3-endpoint URL  keep blobs in an S3-compatible store at URL\n"                 \
	"                          (https://s3.REGION.amazonaws.com, http://minio:9000) [none:\n" \
	"                          DATA/blobs]; with --blob-s3-bucket NAME, --blob-s3-region\n"    \
	"                          REGION [us-east-1], --blob-s3-key ID and --blob-s3-secret\n"    \
	"                          KEY [CHIRP_BLOB_S3_KEY, CHIRP_BLOB_S3_SECRET]\n"               \
	"  -h, --help              show this help\n"                                                \
	"\n"                                                                                       \
	"SIGINT or SIGTERM stops accepting, finishes requests in flight, and closes\n"            \
	"the store cleanly.\n"

static const char usage_main[] = "chirp — a Twitter-like microblog server\n"
				 "\n"
				 "Usage:\n"
				 "  chirp serve [FLAGS]   run the HTTP API\n"
				 "  chirp --help          show this help\n"
				 "\n" FLAGS_HELP;

static const char usage_serve[] = "Usage: chirp serve [FLAGS]\n"
				  "\n" FLAGS_HELP;

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

/* Parses an unsigned decimal within [lo, hi]; prints an error if not. */
static int parse_uint(const char *flag, const char *s, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "chirp: %s: '%s' is not a number in %llu..%llu\n", flag, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

enum { OPT_LISTEN = 256, OPT_DATA, OPT_THREADS, OPT_STORE, OPT_NODE, OPT_HASH, OPT_SEARCH_THREADS, OPT_READ_TO,
       OPT_DRAIN_TO, OPT_MAX_BODY, OPT_MAX_HEADER, OPT_MAX_QUEUED, OPT_CELEB, OPT_TL_CAP,
       OPT_TL_MEM, OPT_TL_IDLE, OPT_CACHE_MEM, OPT_FANOUT_Q, OPT_RATE, OPT_NO_RATE, OPT_OFFLOAD,
       OPT_TRUST, OPT_ACCESS_LOG, OPT_LOG_FORMAT, OPT_LOG_LEVEL, OPT_MAX_INFLIGHT,
       OPT_MAX_CONNS, OPT_MAX_STREAMS, OPT_USER_STREAMS, OPT_STREAM_BUF, OPT_STREAM_BEAT,
       OPT_MEDIA_MAX, OPT_MEDIA_PART, OPT_MEDIA_PIXELS, OPT_MEDIA_WORKERS,
       OPT_MEDIA_ATTEMPTS, OPT_MEDIA_RETRY, OPT_MEDIA_CLEANUP, OPT_MEDIA_TTL, OPT_MEDIA_UPLOAD_TTL,
       OPT_MEDIA_BASE_URL, OPT_MEDIA_FAULTS, OPT_S3_ENDPOINT, OPT_S3_BUCKET, OPT_S3_REGION,
       OPT_S3_KEY, OPT_S3_SECRET };

static const char *const budget_names[BUDGET_COUNT] = {
	[BUDGET_SIGNUP] = "signup", [BUDGET_LOGIN] = "login", [BUDGET_LOGIN_HANDLE] = "login-handle",
	[BUDGET_POST] = "post",     [BUDGET_REQUESTS] = "requests",
	[BUDGET_MEDIA] = "media",
};

/* NAME=COUNT/SECONDS into the named budget. */
static int set_rate_limit(struct chirp_config *cfg, const char *v)
{
	const char *eq = strchr(v, '=');
	unsigned long long count, secs;
	char tail;
	if (eq) {
		for (int b = 0; b < BUDGET_COUNT; b++) {
			if (strlen(budget_names[b]) != (size_t)(eq - v) ||
			    strncmp(budget_names[b], v, (size_t)(eq - v)) != 0)
				continue;
			if (sscanf(eq + 1, "%llu/%llu%c", &count, &secs, &tail) != 2 || count < 1 ||
			    count > UINT32_MAX || secs < 1 || secs > 31ull * 86400)
				break;
			cfg->limits[b].count = (uint32_t)count;
			cfg->limits[b].seconds = (uint32_t)secs;
			return 0;
		}
	}
	fprintf(stderr,
		"chirp serve: --rate-limit '%s': expected NAME=COUNT/SECONDS with NAME one of "
		"signup, login, login-handle, post, requests, media\n",
		v);
	return -1;
}

static int set_number(struct chirp_config *cfg, int opt, const char *flag, const char *v)
{
	unsigned long long n;
	switch (opt) {
	case OPT_THREADS:
		if (parse_uint(flag, v, 1, 256, &n))
			return -1;
		cfg->threads = (unsigned)n;
		return 0;
	case OPT_NODE:
		if (parse_uint(flag, v, 0, ID_MAX_NODE, &n))
			return -1;
		cfg->node_id = (uint32_t)n;
		return 0;
	case OPT_HASH:
		if (parse_uint(flag, v, 1, 256, &n))
			return -1;
		cfg->hash_threads = (unsigned)n;
		return 0;
	case OPT_SEARCH_THREADS:
		if (parse_uint(flag, v, 1, 256, &n))
			return -1;
		cfg->search_threads = (unsigned)n;
		return 0;
	case OPT_READ_TO:
		if (parse_uint(flag, v, 1, 3600, &n))
			return -1;
		cfg->read_timeout_ms = n * 1000;
		return 0;
	case OPT_DRAIN_TO:
		if (parse_uint(flag, v, 0, 3600, &n))
			return -1;
		cfg->drain_timeout_ms = n * 1000;
		return 0;
	case OPT_MAX_BODY:
		if (parse_uint(flag, v, 1024, 64u << 20, &n))
			return -1;
		cfg->max_body_bytes = (size_t)n;
		return 0;
	case OPT_MAX_HEADER:
		if (parse_uint(flag, v, 1024, 1u << 20, &n))
			return -1;
		cfg->max_header_bytes = (size_t)n;
		return 0;
	case OPT_MAX_QUEUED:
		if (parse_uint(flag, v, 1, 1u << 24, &n))
			return -1;
		cfg->max_queued_writes = (size_t)n;
		return 0;
	case OPT_CELEB:
		if (parse_uint(flag, v, 0, UINT32_MAX, &n))
			return -1;
		cfg->celebrity_threshold = n;
		return 0;
	case OPT_TL_CAP:
		if (parse_uint(flag, v, 1, 100000, &n))
			return -1;
		cfg->timeline_cap = (unsigned)n;
		return 0;
	case OPT_TL_MEM:
		if (parse_uint(flag, v, 1, 1u << 20, &n))
			return -1;
		cfg->timeline_bytes = (size_t)n << 20;
		return 0;
	case OPT_TL_IDLE:
		if (parse_uint(flag, v, 1, 365ull * 86400, &n))
			return -1;
		cfg->timeline_idle_ms = n * 1000;
		return 0;
	case OPT_CACHE_MEM:
		if (parse_uint(flag, v, 1, 1u << 20, &n))
			return -1;
		cfg->tweet_cache_bytes = (size_t)n << 20;
		return 0;
	case OPT_FANOUT_Q:
		if (parse_uint(flag, v, 1, 1u << 24, &n))
			return -1;
		cfg->fanout_queue = (size_t)n;
		return 0;
	case OPT_MAX_INFLIGHT:
		if (parse_uint(flag, v, 1, 1u << 24, &n))
			return -1;
		cfg->max_inflight = n;
		return 0;
	case OPT_MAX_CONNS:
		if (parse_uint(flag, v, 1, 1u << 24, &n))
			return -1;
		cfg->max_connections = (size_t)n;
		return 0;
	case OPT_MAX_STREAMS:
		if (parse_uint(flag, v, 0, 1u << 24, &n))
			return -1;
		cfg->max_streams = (size_t)n;
		return 0;
	case OPT_USER_STREAMS:
		if (parse_uint(flag, v, 1, 1u << 20, &n))
			return -1;
		cfg->max_user_streams = (unsigned)n;
		return 0;
	case OPT_STREAM_BUF:
		/* Room for the largest tweet event, twice (catch-up uses half). */
		if (parse_uint(flag, v, 8192, 64u << 20, &n))
			return -1;
		cfg->stream_buffer_bytes = (size_t)n;
		return 0;
	case OPT_STREAM_BEAT:
		if (parse_uint(flag, v, 1, 3600, &n))
			return -1;
		cfg->stream_heartbeat_ms = n * 1000;
		return 0;
	case OPT_MEDIA_MAX:
		if (parse_uint(flag, v, 1024, 1ull << 32, &n))
			return -1;
		cfg->media_max_bytes = n;
		return 0;
	case OPT_MEDIA_PART:
		if (parse_uint(flag, v, 1024, 1u << 30, &n))
			return -1;
		cfg->media_part_bytes = n;
		return 0;
	case OPT_MEDIA_PIXELS:
		if (parse_uint(flag, v, 1, 1ull << 34, &n))
			return -1;
		cfg->media_max_pixels = n;
		return 0;
	case OPT_MEDIA_WORKERS:
		if (parse_uint(flag, v, 1, 64, &n))
			return -1;
		cfg->media_workers = (unsigned)n;
		return 0;
	case OPT_MEDIA_ATTEMPTS:
		if (parse_uint(flag, v, 1, 100, &n))
			return -1;
		cfg->media_attempts = (unsigned)n;
		return 0;
	case OPT_MEDIA_RETRY:
		if (parse_uint(flag, v, 1, 3600000, &n))
			return -1;
		cfg->media_retry_ms = n;
		return 0;
	case OPT_MEDIA_CLEANUP:
		if (parse_uint(flag, v, 1, 86400, &n))
			return -1;
		cfg->media_cleanup_ms = n * 1000;
		return 0;
	case OPT_MEDIA_TTL:
		if (parse_uint(flag, v, 1, 365ull * 86400, &n))
			return -1;
		cfg->media_unattached_ms = n * 1000;
		return 0;
	case OPT_MEDIA_UPLOAD_TTL:
		if (parse_uint(flag, v, 1, 7ull * 86400, &n))
			return -1;
		cfg->media_upload_ttl_s = n;
		return 0;
	case OPT_MEDIA_FAULTS:
		if (parse_uint(flag, v, 0, 1000, &n))
			return -1;
		cfg->media_inject_failures = (unsigned)n;
		return 0;
	}
	return -1;
}

enum config_result config_parse(struct chirp_config *cfg, int argc, char **argv)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned ncores = cores > 0 ? (unsigned)cores : 1;
	*cfg = (struct chirp_config){
		.listen = env_or("CHIRP_LISTEN", "127.0.0.1:8080"),
		.data_dir = env_or("CHIRP_DATA", "./data"),
		.threads = ncores,
		.store = env_or("CHIRP_STORE", "sqlite"),
		/* Argon2id on every core would stall the event loops. */
		.hash_threads = ncores > 1 ? ncores / 2 : 1,
		.search_threads = ncores,
		.read_threads = 4 * ncores, /* they wait on the network, not the CPU */
		.read_timeout_ms = 10000,
		.drain_timeout_ms = 10000,
		.max_body_bytes = 64 * 1024,
		.max_header_bytes = 16 * 1024,
		.max_queued_writes = 65536,
		.celebrity_threshold = 10000,
		.timeline_cap = 800,
		.timeline_bytes = (size_t)1024 << 20,
		.timeline_idle_ms = 86400ull * 1000,
		.tweet_cache_bytes = (size_t)256 << 20,
		.fanout_queue = 65536,
		.rate_limits = true,
		.limits = {
			[BUDGET_SIGNUP] = {"signup", 5, 1800},
			[BUDGET_LOGIN] = {"login", 25, 300},
			[BUDGET_LOGIN_HANDLE] = {"login-handle", 25, 300},
			[BUDGET_POST] = {"post", 300, 10800},
			[BUDGET_REQUESTS] = {"requests", 300, 300},
			[BUDGET_MEDIA] = {"media", 100, 3600},
		},
		.access_log = "-",
		.max_inflight = 4096,
		.max_connections = 4096,
		.max_streams = 2048,
		.max_user_streams = 5,
		.stream_buffer_bytes = 64 * 1024,
		.stream_heartbeat_ms = 15000,
		.media_max_bytes = 16ull << 20,
		.media_part_bytes = 8ull << 20,
		.media_max_pixels = 40000000,
		.media_workers = 1,
		.media_attempts = 5,
		.media_retry_ms = 1000,
		.media_cleanup_ms = 600ull * 1000,
		.media_unattached_ms = 86400ull * 1000,
		.media_upload_ttl_s = 900,
		.media_base_url = "",
		.blob_s3_region = "us-east-1",
		.blob_s3_key = getenv("CHIRP_BLOB_S3_KEY"),
		.blob_s3_secret = getenv("CHIRP_BLOB_S3_SECRET"),
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return argc < 2 ? CONFIG_EXIT_ERROR : CONFIG_EXIT_OK;
	}
	if (strcmp(argv[1], "serve") != 0) {
		fprintf(stderr, "chirp: unknown command '%s'\n\n%s", argv[1], usage_main);
		return CONFIG_EXIT_ERROR;
	}
	/* Environment defaults for the numeric settings go through the same
	 * checks as the flags. */
	const char *env_threads = getenv("CHIRP_THREADS"), *env_node = getenv("CHIRP_NODE_ID");
	if (env_threads && *env_threads && set_number(cfg, OPT_THREADS, "CHIRP_THREADS", env_threads))
		return CONFIG_EXIT_ERROR;
	if (env_node && *env_node && set_number(cfg, OPT_NODE, "CHIRP_NODE_ID", env_node))
		return CONFIG_EXIT_ERROR;

	static const struct option opts[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"data", required_argument, NULL, OPT_DATA},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"store", required_argument, NULL, OPT_STORE},
		{"node-id", required_argument, NULL, OPT_NODE},
		{"hash-threads", required_argument, NULL, OPT_HASH},
		{"search-threads", required_argument, NULL, OPT_SEARCH_THREADS},
		{"read-timeout", required_argument, NULL, OPT_READ_TO},
		{"drain-timeout", required_argument, NULL, OPT_DRAIN_TO},
		{"max-body", required_argument, NULL, OPT_MAX_BODY},
		{"max-header", required_argument, NULL, OPT_MAX_HEADER},
		{"max-queued-writes", required_argument, NULL, OPT_MAX_QUEUED},
		{"celebrity-threshold", required_argument, NULL, OPT_CELEB},
		{"timeline-cap", required_argument, NULL, OPT_TL_CAP},
		{"timeline-memory", required_argument, NULL, OPT_TL_MEM},
		{"timeline-idle", required_argument, NULL, OPT_TL_IDLE},
		{"tweet-cache-memory", required_argument, NULL, OPT_CACHE_MEM},
		{"fanout-queue", required_argument, NULL, OPT_FANOUT_Q},
		{"rate-limit", required_argument, NULL, OPT_RATE},
		{"no-rate-limits", no_argument, NULL, OPT_NO_RATE},
		{"offload-reads", no_argument, NULL, OPT_OFFLOAD},
		{"trust-proxy", required_argument, NULL, OPT_TRUST},
		{"access-log", required_argument, NULL, OPT_ACCESS_LOG},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT},
		{"max-connections", required_argument, NULL, OPT_MAX_CONNS},
		{"max-streams", required_argument, NULL, OPT_MAX_STREAMS},
		{"max-streams-per-user", required_argument, NULL, OPT_USER_STREAMS},
		{"stream-buffer", required_argument, NULL, OPT_STREAM_BUF},
		{"stream-heartbeat", required_argument, NULL, OPT_STREAM_BEAT},
		{"media-max-bytes", required_argument, NULL, OPT_MEDIA_MAX},
		{"media-part-bytes", required_argument, NULL, OPT_MEDIA_PART},
		{"media-max-pixels", required_argument, NULL, OPT_MEDIA_PIXELS},
		{"media-workers", required_argument, NULL, OPT_MEDIA_WORKERS},
		{"media-attempts", required_argument, NULL, OPT_MEDIA_ATTEMPTS},
		{"media-retry-base", required_argument, NULL, OPT_MEDIA_RETRY},
		{"media-cleanup-every", required_argument, NULL, OPT_MEDIA_CLEANUP},
		{"media-unattached-ttl", required_argument, NULL, OPT_MEDIA_TTL},
		{"media-upload-ttl", required_argument, NULL, OPT_MEDIA_UPLOAD_TTL},
		{"media-base-url", required_argument, NULL, OPT_MEDIA_BASE_URL},
		{"media-inject-failures", required_argument, NULL, OPT_MEDIA_FAULTS},
		{"blob-s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},
		{"blob-s3-bucket", required_argument, NULL, OPT_S3_BUCKET},
		{"blob-s3-region", required_argument, NULL, OPT_S3_REGION},
		{"blob-s3-key", required_argument, NULL, OPT_S3_KEY},
		{"blob-s3-secret", required_argument, NULL, OPT_S3_SECRET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 2;
	opterr = 0;
	int opt, idx = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
		switch (opt) {
		case 'h': fputs(usage_serve, stdout); return CONFIG_EXIT_OK;
		case OPT_LISTEN: cfg->listen = optarg; break;
		case OPT_DATA: cfg->data_dir = optarg; break;
		case OPT_STORE: cfg->store = optarg; break;
		case OPT_NO_RATE: cfg->rate_limits = false; break;
		case OPT_OFFLOAD: cfg->offload_reads = true; break;
		case OPT_TRUST: cfg->trust_proxy = optarg; break;
		case OPT_MEDIA_BASE_URL: cfg->media_base_url = optarg; break;
		case OPT_S3_ENDPOINT: cfg->blob_s3_endpoint = optarg; break;
		case OPT_S3_BUCKET: cfg->blob_s3_bucket = optarg; break;
		case OPT_S3_REGION: cfg->blob_s3_region = optarg; break;
		case OPT_S3_KEY: cfg->blob_s3_key = optarg; break;
		case OPT_S3_SECRET: cfg->blob_s3_secret = optarg; break;
		case OPT_ACCESS_LOG: cfg->access_log = strcmp(optarg, "off") ? optarg : NULL; break;
		case OPT_RATE:
			if (set_rate_limit(cfg, optarg))
				return CONFIG_EXIT_ERROR;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "chirp serve: --log-format: json or text\n");
				return CONFIG_EXIT_ERROR;
			}
			cfg->access_log_text = strcmp(optarg, "text") == 0;
			break;
		case OPT_LOG_LEVEL:
			if (!strcmp(optarg, "info"))
				cfg->access_log_min_status = 0;
			else if (!strcmp(optarg, "warn"))
				cfg->access_log_min_status = 400;
			else if (!strcmp(optarg, "error"))
				cfg->access_log_min_status = 500;
			else {
				fprintf(stderr, "chirp serve: --log-level: info, warn or error\n");
				return CONFIG_EXIT_ERROR;
			}
			break;
		case ':':
			fprintf(stderr, "chirp serve: %s needs a value\n", argv[optind - 1]);
			return CONFIG_EXIT_ERROR;
		case '?':
			fprintf(stderr, "chirp serve: unknown flag '%s' (see chirp serve --help)\n",
				argv[optind - 1]);
			return CONFIG_EXIT_ERROR;
		default:
			if (set_number(cfg, opt, opts[idx].name, optarg))
				return CONFIG_EXIT_ERROR;
		}
	}
	if (cfg->blob_s3_endpoint &&
	    ((strncmp(cfg->blob_s3_endpoint, "http://", 7) && strncmp(cfg->blob_s3_endpoint, "https://", 8)) ||
	     !cfg->blob_s3_bucket || !*cfg->blob_s3_bucket || !cfg->blob_s3_key || !cfg->blob_s3_secret)) {
		fprintf(stderr, "chirp serve: --blob-s3-endpoint needs an http(s):// URL, "
				"--blob-s3-bucket, --blob-s3-key and --blob-s3-secret\n");
		return CONFIG_EXIT_ERROR;
	}
	if (cfg->media_part_bytes > cfg->media_max_bytes) {
		fprintf(stderr, "chirp serve: --media-part-bytes must not exceed --media-max-bytes\n");
		return CONFIG_EXIT_ERROR;
	}
	if (optind < argc) {
		fprintf(stderr, "chirp serve: unexpected argument '%s'\n", argv[optind]);
		return CONFIG_EXIT_ERROR;
	}
	return CONFIG_RUN;
}
