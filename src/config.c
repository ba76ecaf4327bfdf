/*
 * config — chirp's settings, from one table.
 *
 * Every flag of `chirp serve` is one row of `flags` below: its name, the
 * environment variable that may override its default, the field of
 * struct chirp_config it fills, its type, its range, its default and its
 * help. Everything else is generated from the rows: the defaults, the
 * environment overrides, getopt_long's option list (so --flag VALUE,
 * --flag=VALUE and unique abbreviations all work), the checks and their
 * error messages, and the --help text. A default is written as a user
 * would write it on the command line and goes through the same parser,
 * so --help cannot disagree with what chirp does.
 *
 * To add a setting: a field in struct chirp_config (config.h) and a row
 * here, under its section. A value that needs parsing of its own gets a
 * type (a struct config_type and its parse function), not a case outside
 * the table. Checks that relate two flags are in check_together(); a
 * setting with no flag gets its value in set_defaults(). The
 * flag tables of docs/operations.md explain each flag at more length;
 * keep them in step (docs/architecture.md: adding a flag).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/id.h"
#include "util/strbuf.h"

struct config_flag;

/* How one kind of value is read. parse() reads `value` (a string from
 * the command line, the environment or the row's default; for a switch,
 * the row's `implied` value when the flag is given) into `field`, or
 * prints "chirp serve: LABEL: why" and returns -1, leaving the field as it
 * was. LABEL is "--flag" or the variable's name. */
struct config_type {
	bool takes_value;         /* false: a switch (--no-rate-limits) */
	bool repeated;            /* each use sets a part of the field (--rate-limit) */
	unsigned long long scale; /* numbers: field = value * scale */
	int (*parse)(const struct config_flag *f, const char *label, const char *value,
	             void *field);
};

/* A name a choice flag accepts and the number it stores. */
struct config_choice {
	const char *name;
	int value;
};

struct config_flag {
	const char *name; /* without the dashes; NULL: a section heading, titled by `help` */
	const char *env;  /* a variable that overrides the default, or NULL */
	size_t offset;    /* of the field in struct chirp_config: FIELD(member) */
	size_t size;      /* of the field, checked by the type's parse */
	const struct config_type *type;
	unsigned long long min, max; /* numbers: the range, in the unit the user writes */
	const char *arg; /* the value's name in --help: "N", "SECONDS"; NULL for a switch */
	const char *def; /* the default, written as on the command line; NULL: none */
	/* Computes the default when it depends on the machine (into buf, as
	 * on the command line); `def` then says in words what it is. */
	void (*def_fn)(const struct config_flag *f, char *buf, size_t len);
	const char *implied;                 /* switches: the value the flag stands for */
	const struct config_choice *choices; /* choices: the names, ending with {NULL} */
	const char *help;
};

#define FIELD(member)                                                                              \
	offsetof(struct chirp_config, member), sizeof(((struct chirp_config *)0)->member)

/* ---- types -------------------------------------------------------------- */

/* Stores an unsigned number in a field of 1 (bool), 4 or 8 bytes. */
static void store_uint(void *field, size_t size, unsigned long long v)
{
	if (size == 8) {
		uint64_t x = v;
		memcpy(field, &x, 8);
	} else if (size == 4) {
		assert(v <= UINT32_MAX);
		uint32_t x = (uint32_t)v;
		memcpy(field, &x, 4);
	} else {
		assert(size == sizeof(bool) && v <= 1);
		bool x = v != 0;
		memcpy(field, &x, sizeof x);
	}
}

/* A decimal number in [min, max], stored times the type's scale. */
static int parse_number(const struct config_flag *f, const char *label, const char *s, void *field)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < f->min || v > f->max) {
		fprintf(stderr, "chirp serve: %s: '%s' is not a number in %llu..%llu\n", label, s,
		        f->min, f->max);
		return -1;
	}
	assert(f->max <= UINT64_MAX / f->type->scale);
	store_uint(field, f->size, v * f->type->scale);
	return 0;
}

/* Any string; the field points at the value (argv, the environment or
 * the table), nothing is copied. */
static int parse_string(const struct config_flag *f, const char *label, const char *s, void *field)
{
	(void)label;
	assert(f->size == sizeof s);
	memcpy(field, &s, sizeof s);
	return 0;
}

/* Overwrites, in place, the password a connection string may carry
 * (postgresql://USER:PASSWORD@HOST/DB, or password=… in either form). */
static void hide_password(char *s)
{
	char *auth = strstr(s, "://");
	if (auth) {
		auth += 3;
		char *at = auth + strcspn(auth, "@/?");
		char *colon = *at == '@' ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon)
			memset(colon + 1, '*', (size_t)(at - colon - 1));
	}
	for (char *p = s; (p = strstr(p, "password=")) != NULL;) {
		p += strlen("password=");
		size_t n = strcspn(p, " &");
		memset(p, '*', n);
		p += n;
	}
}

/* The store: "sqlite", or a PostgreSQL connection string. The field gets
 * a copy, and a password in the original (argv, the environment) is
 * overwritten, so ps and /proc never show it. */
static int parse_store(const struct config_flag *f, const char *label, const char *s, void *field)
{
	static char copy[4096];
	if (strlen(s) >= sizeof(copy)) {
		fprintf(stderr, "chirp serve: %s is longer than %zu bytes\n", label, sizeof(copy) - 1);
		return -1;
	}
	strcpy(copy, s);
	if (strstr(s, "://") || strstr(s, "password="))
		hide_password((char *)s);
	return parse_string(f, label, copy, field);
}

/* A secret in hex (--blob-secret): the field gets a copy, the original
 * (argv, the environment) is overwritten with stars, as parse_store does
 * for a password. */
static int parse_secret(const struct config_flag *f, const char *label, const char *s,
                        void *field)
{
	static char copy[130];
	if (strlen(s) >= sizeof(copy)) {
		fprintf(stderr, "chirp serve: %s is longer than %zu bytes\n", label, sizeof(copy) - 1);
		return -1;
	}
	strcpy(copy, s);
	memset((char *)s, '*', strlen(s));
	return parse_string(f, label, copy, field);
}

/* A path, or "off" for none (NULL). */
static int parse_path_or_off(const struct config_flag *f, const char *label, const char *s,
                             void *field)
{
	return parse_string(f, label, strcmp(s, "off") ? s : NULL, field);
}

/* "on" or "off". */
static int parse_on_off(const struct config_flag *f, const char *label, const char *s, void *field)
{
	if (strcmp(s, "on") && strcmp(s, "off")) {
		fprintf(stderr, "chirp serve: %s: on or off\n", label);
		return -1;
	}
	store_uint(field, f->size, strcmp(s, "on") == 0);
	return 0;
}

/* One of the row's choices; the error lists them ("a, b or c"). */
static int parse_choice(const struct config_flag *f, const char *label, const char *s, void *field)
{
	const struct config_choice *c;
	for (c = f->choices; c->name; c++) {
		if (strcmp(s, c->name) == 0) {
			store_uint(field, f->size, (unsigned)c->value);
			return 0;
		}
	}
	fprintf(stderr, "chirp serve: %s: ", label);
	for (c = f->choices; c->name; c++)
		fprintf(stderr, "%s%s", c == f->choices ? "" : c[1].name ? ", " : " or ", c->name);
	fputc('\n', stderr);
	return -1;
}

/* NAME=COUNT/SECONDS into the named budget of a limits[BUDGET_COUNT]
 * array; the other budgets keep their values. */
static int parse_rate_limit(const struct config_flag *f, const char *label, const char *v,
                            void *field)
{
	struct limit_rule *limits = field;
	const char *eq = strchr(v, '=');
	unsigned long long count, secs;
	char tail;
	assert(f->size == sizeof(struct limit_rule) * BUDGET_COUNT);
	for (int b = 0; eq && b < BUDGET_COUNT; b++) {
		const char *name = budget_name((enum budget)b);
		if (strlen(name) != (size_t)(eq - v) || strncmp(name, v, (size_t)(eq - v)) != 0)
			continue;
		if (sscanf(eq + 1, "%llu/%llu%c", &count, &secs, &tail) != 2 || count < 1 ||
		    count > UINT32_MAX || secs < 1 || secs > 31ull * 86400)
			break;
		limits[b] = (struct limit_rule){name, (uint32_t)count, (uint32_t)secs};
		return 0;
	}
	fprintf(stderr, "chirp serve: %s '%s': expected NAME=COUNT/SECONDS with NAME one of ",
	        label, v);
	for (int b = 0; b < BUDGET_COUNT; b++)
		fprintf(stderr, "%s%s", b ? ", " : "", budget_name((enum budget)b));
	fputc('\n', stderr);
	return -1;
}

static const struct config_type type_string = {.takes_value = true, .parse = parse_string};
static const struct config_type type_store = {.takes_value = true, .parse = parse_store};
static const struct config_type type_secret = {.takes_value = true, .parse = parse_secret};
static const struct config_type type_path_or_off = {.takes_value = true,
                                                    .parse = parse_path_or_off};
static const struct config_type type_number = {
    .takes_value = true, .scale = 1, .parse = parse_number};
/* Seconds on the command line, milliseconds in the field. */
static const struct config_type type_seconds_ms = {
    .takes_value = true, .scale = 1000, .parse = parse_number};
/* MiB on the command line, bytes in the field. */
static const struct config_type type_days_ms = {
    .takes_value = true, .scale = 86400ull * 1000, .parse = parse_number};
static const struct config_type type_mib = {
    .takes_value = true, .scale = 1u << 20, .parse = parse_number};
static const struct config_type type_choice = {.takes_value = true, .parse = parse_choice};
static const struct config_type type_switch = {.parse = parse_on_off};
static const struct config_type type_rate_limit = {
    .takes_value = true, .repeated = true, .parse = parse_rate_limit};

/* ---- computed defaults -------------------------------------------------- */

static unsigned cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* A count of threads: at most the row's maximum, so that a machine with
 * more cores than the flag allows still starts. */
static void threads_default(const struct config_flag *f, char *buf, size_t len, unsigned n)
{
	snprintf(buf, len, "%llu", n < f->max ? (unsigned long long)n : f->max);
}

static void all_cores(const struct config_flag *f, char *buf, size_t len)
{
	threads_default(f, buf, len, cores());
}

/* Argon2id on every core would stall the event loops. */
static void half_the_cores(const struct config_flag *f, char *buf, size_t len)
{
	threads_default(f, buf, len, cores() > 1 ? cores() / 2 : 1);
}

/* Store reads off the loops wait on the network, not the CPU. */
static void four_per_core(const struct config_flag *f, char *buf, size_t len)
{
	threads_default(f, buf, len, 4 * cores());
}

/* ---- the table ---------------------------------------------------------- */

static const struct config_choice log_formats[] = {{"json", 0}, {"text", 1}, {NULL, 0}};
static const struct config_choice hash_costs[] = {{"interactive", 0}, {"test", 1}, {NULL, 0}};
static const struct config_choice sqlite_locks[] = {{"exclusive", 0}, {"shared", 1}, {NULL, 0}};
static const struct config_choice log_levels[] = {
    {"info", 0}, {"warn", 400}, {"error", 500}, {NULL, 0}};

/* In --help order; the sections follow docs/operations.md. */
static const struct config_flag flags[] = {
    {.help = "Listening and threads"},
    {"listen", "CHIRP_LISTEN", FIELD(listen), &type_string, .arg = "HOST:PORT",
     .def = "127.0.0.1:8080", .help = "address to listen on"},
    {"threads", "CHIRP_THREADS", FIELD(threads), &type_number, 1, 256, .arg = "N",
     .def = "number of cores", .def_fn = all_cores, .help = "event-loop threads"},
    {"search-threads", NULL, FIELD(search_threads), &type_number, 1, 256, .arg = "N",
     .def = "number of cores", .def_fn = all_cores, .help = "threads that run search queries"},
    {"hash-threads", NULL, FIELD(hash_threads), &type_number, 1, 256, .arg = "N",
     .def = "half the cores", .def_fn = half_the_cores, .help = "threads for password hashing"},
    {"read-threads", NULL, FIELD(read_threads), &type_number, 1, 1024, .arg = "N",
     .def = "4 per core", .def_fn = four_per_core,
     .help = "threads for store reads, when they may not run on a loop; else for "
	     "the reads that would hold one (a timeline rebuild)"},

    {.help = "Store"},
    {"data", "CHIRP_DATA", FIELD(data_dir), &type_string, .arg = "DIR", .def = "./data",
     .help = "data directory (created)"},
    {"store", "CHIRP_STORE", FIELD(store), &type_store, .arg = "STORE", .def = "sqlite",
     .help = "sqlite, or PostgreSQL: postgresql://USER@HOST:PORT/DB or any libpq connection "
             "string (password from PGPASSWORD or ~/.pgpass)"},
    {"node-id", "CHIRP_NODE_ID", FIELD(node_id), &type_number, 0, ID_MAX_NODE, .arg = "N",
     .def = "0", .help = "0..1023, unique per server sharing a database"},
    {"max-queued-writes", NULL, FIELD(max_queued_writes), &type_number, 1, 1u << 24, .arg = "N",
     .def = "65536", .help = "writes waiting for commit before 503"},
    {"sqlite-lock", NULL, FIELD(sqlite_shared), &type_choice, .arg = "MODE",
     .def = "exclusive", .choices = sqlite_locks,
     .help = "exclusive: while chirp runs, no other process can open DATA/chirp.db, not even "
             "to read it, reads take no file locks, and each token's session and each "
             "reader's recent likes are kept in memory; shared: sqlite3 and other processes "
             "may open it meanwhile, at two more system calls and two more reads per "
             "request"},
    {"offload-reads", NULL, FIELD(offload_reads), &type_switch, .def = "off", .implied = "on",
     .help = "store reads on worker threads, as a networked store needs (tests that path on "
             "SQLite)"},
    {"redis", "CHIRP_REDIS", FIELD(redis), &type_string, .arg = "URL",
     .help = "cluster mode: timelines, tweet cache, rate limits and live events in Redis at "
             "redis://HOST:PORT[/DB], shared by every node; none: in this process"},

    {.help = "Feed"},
    {"celebrity-threshold", NULL, FIELD(celebrity_threshold), &type_number, 0, UINT32_MAX,
     .arg = "N", .def = "10000",
     .help = "authors with more followers are not fanned out; their tweets are merged in at "
             "read time"},
    {"timeline-cap", NULL, FIELD(timeline_cap), &type_number, 1, 100000, .arg = "N", .def = "800",
     .help = "tweet ids kept per home timeline"},
    {"timeline-memory", NULL, FIELD(timeline_bytes), &type_mib, 1, 1u << 20, .arg = "MIB",
     .def = "1024", .help = "memory for all timelines"},
    {"timeline-idle", NULL, FIELD(timeline_idle_ms), &type_seconds_ms, 1, 365ull * 86400,
     .arg = "SECONDS", .def = "86400", .help = "a timeline unread this long is dropped"},
    {"tweet-cache-memory", NULL, FIELD(tweet_cache_bytes), &type_mib, 1, 1u << 20, .arg = "MIB",
     .def = "256", .help = "memory for ready-made tweet JSON"},
    {"fanout-queue", NULL, FIELD(fanout_queue), &type_number, 1, 1u << 24, .arg = "N",
     .def = "65536", .help = "tweets waiting for fanout before posting slows"},

    {.help = "Gateway"},
    {"rate-limit", NULL, FIELD(limits), &type_rate_limit, .arg = "NAME=COUNT/SECONDS",
     .def = "signup=5/1800 login=25/300 login-handle=25/300 post=300/10800 requests=300/300 "
            "media=100/3600 login-backoff=10/900",
     .help = "a rate-limit budget (repeat the flag for several): signup per IP, login per "
             "IP, login-handle failed log-ins per handle and IP, post per user, requests per "
             "user (per IP without a token), media per user; login-backoff COUNT free failed "
             "log-ins per handle, then waits doubling up to SECONDS for the addresses that "
             "failed"},
    {"no-rate-limits", NULL, FIELD(rate_limits), &type_switch, .def = "on", .implied = "off",
     .help = "turn every budget off (benchmarks, load tests)"},
    {"trust-proxy", NULL, FIELD(trust_proxy), &type_string, .arg = "LIST",
     .help = "trusted proxies, addresses or CIDR prefixes separated by commas: on their "
             "connections the client IP is the right-most X-Forwarded-For entry not in LIST"},
    {"access-log", NULL, FIELD(access_log), &type_path_or_off, .arg = "PATH", .def = "-",
     .help = "one line per request to PATH, - for stdout, or off"},
    {"log-format", NULL, FIELD(access_log_text), &type_choice, .arg = "FORMAT", .def = "json",
     .choices = log_formats, .help = "access log as json or text"},
    {"log-level", NULL, FIELD(access_log_min_status), &type_choice, .arg = "LEVEL", .def = "info",
     .choices = log_levels, .help = "info: every request; warn: 4xx and 5xx; error: 5xx"},
    {"metrics-token-file", NULL, FIELD(metrics_token_file), &type_string, .arg = "PATH",
     .def = "",
     .help = "GET /metrics wants Authorization: Bearer and the first line of PATH (none: "
             "DATA/metrics.token, made with a random token if missing)"},
    {"idempotency-key-file", NULL, FIELD(idem_key_file), &type_string, .arg = "PATH",
     .help = "the key of Idempotency-Key fingerprints, 64 hex digits, shared by every node "
             "of a cluster (none: DATA/idem.key, made if missing)"},
    {"oauth-key-file", NULL, FIELD(oauth_key_file), &type_string, .arg = "PATH",
     .help = "the key that signs the Mastodon API's OAuth clients, codes and tokens, 64 hex "
             "digits, shared by every node of a cluster (none: DATA/oauth.key, made if missing)"},

    {.help = "Sessions"},
    {"session-idle-days", NULL, FIELD(session_idle_ms), &type_days_ms, 1, 3650, .arg = "DAYS",
     .def = "30", .help = "a session (bearer token) unused this long ends"},
    {"password-hash-cost", NULL, FIELD(password_hash_test), &type_choice, .arg = "COST",
     .def = "interactive", .choices = hash_costs,
     .help = "what hashing a new password costs: interactive, Argon2id with 64 MiB and two "
             "passes (tens of milliseconds); test, the least Argon2id allows, for test "
             "suites only: such hashes are cheap to guess, and keep their cost until the "
             "password is changed"},

    {.help = "Media"},
    {"media-max-bytes", NULL, FIELD(media_max_bytes), &type_number, 1024, 1ull << 32, .arg = "N",
     .def = "16777216", .help = "largest media upload; more is 413"},
    {"media-part-bytes", NULL, FIELD(media_part_bytes), &type_number, 1024, 1u << 30, .arg = "N",
     .def = "8388608", .help = "uploads above this go in parts this big"},
    {"media-max-pixels", NULL, FIELD(media_max_pixels), &type_number, 1, 1ull << 34, .arg = "N",
     .def = "40000000", .help = "images with more pixels are refused"},
    {"media-max-pixels-per-byte", NULL, FIELD(media_max_pixels_per_byte), &type_number, 1,
     1ull << 34, .arg = "N", .def = "100",
     .help = "images of over a million pixels with this many pixels per uploaded byte are "
             "refused (decompression bombs)"},
    {"media-job-timeout", NULL, FIELD(media_job_timeout_ms), &type_seconds_ms, 1, 3600,
     .arg = "SECONDS", .def = "30", .help = "processing an image longer fails it"},
    {"media-workers", NULL, FIELD(media_workers), &type_number, 1, 64, .arg = "N", .def = "1",
     .help = "threads that process uploaded images; one user's jobs run one at a time"},
    {"media-attempts", NULL, FIELD(media_attempts), &type_number, 1, 100, .arg = "N", .def = "5",
     .help = "tries of a processing job before it fails"},
    {"media-retry-base", NULL, FIELD(media_retry_ms), &type_number, 1, 3600000, .arg = "MS",
     .def = "1000", .help = "first retry delay; doubles, with jitter"},
    {"media-cleanup-every", NULL, FIELD(media_cleanup_ms), &type_seconds_ms, 1, 86400,
     .arg = "SECONDS", .def = "600", .help = "how often unattached media are swept"},
    {"media-unattached-ttl", NULL, FIELD(media_unattached_ms), &type_seconds_ms, 1, 365ull * 86400,
     .arg = "SECONDS", .def = "86400", .help = "media never attached this long go"},
    {"media-upload-ttl", NULL, FIELD(media_upload_ttl_s), &type_number, 1, 7ull * 86400,
     .arg = "SECONDS", .def = "900", .help = "life of a presigned upload URL"},
    {"media-base-url", NULL, FIELD(media_base_url), &type_string, .arg = "URL", .def = "",
     .help = "prefix of blob URLs (an edge cache); none: relative URLs"},
    {"media-inject-failures", NULL, FIELD(media_inject_failures), &type_number, 0, 1000, .arg = "N",
     .def = "0", .help = "testing: the first N tries of each job fail"},
    {"blob-s3-endpoint", NULL, FIELD(blob_s3_endpoint), &type_string, .arg = "URL",
     .help = "keep blobs in an S3-compatible store at URL (https://s3.REGION.amazonaws.com, "
             "http://minio:9000); none: in DATA/blobs. Needs the bucket, key and secret"},
    {"blob-s3-bucket", NULL, FIELD(blob_s3_bucket), &type_string, .arg = "NAME",
     .help = "the bucket"},
    {"blob-s3-region", NULL, FIELD(blob_s3_region), &type_string, .arg = "REGION",
     .def = "us-east-1", .help = "the SigV4 signing region"},
    {"blob-s3-key", "CHIRP_BLOB_S3_KEY", FIELD(blob_s3_key), &type_string, .arg = "ID",
     .help = "access key id"},
    {"blob-s3-secret", "CHIRP_BLOB_S3_SECRET", FIELD(blob_s3_secret), &type_string, .arg = "KEY",
     .help = "secret access key (prefer the variable: flags show in ps)"},
    {"blob-secret", "CHIRP_BLOB_SECRET", FIELD(blob_secret), &type_secret, .arg = "HEX",
     .help = "the key that signs blob URLs, shared by every node of a cluster, as 64 hex "
             "digits (prefer the variable: flags show in ps)"},
    {"blob-secret-file", NULL, FIELD(blob_secret_file), &type_string, .arg = "PATH",
     .help = "the same key in a file, 64 hex digits (none: DATA/blob.key, made if missing)"},

    {.help = "Limits and timeouts"},
    {"read-timeout", NULL, FIELD(read_timeout_ms), &type_seconds_ms, 1, 3600, .arg = "SECONDS",
     .def = "10", .help = "request read and keep-alive idle timeout"},
    {"drain-timeout", NULL, FIELD(drain_timeout_ms), &type_seconds_ms, 0, 3600, .arg = "SECONDS",
     .def = "10", .help = "how long shutdown waits for requests"},
    {"max-body", NULL, FIELD(max_body_bytes), &type_number, 1024, 64u << 20, .arg = "BYTES",
     .def = "65536", .help = "largest JSON request body"},
    {"max-header", NULL, FIELD(max_header_bytes), &type_number, 1024, 1u << 20, .arg = "BYTES",
     .def = "16384", .help = "largest total of request header fields"},
    {"max-inflight", NULL, FIELD(max_inflight), &type_number, 1, 1u << 24, .arg = "N",
     .def = "4096",
     .help = "requests being handled (writes waiting for their commit included) before new "
             "ones get 503"},
    {"max-connections", NULL, FIELD(max_connections), &type_number, 1, 1u << 24, .arg = "N",
     .def = "4096",
     .help = "open connections; past it a new one gets 503 and is closed (this is what "
             "sheds read load)"},

    {.help = "Live feed streams"},
    {"max-streams", NULL, FIELD(max_streams), &type_number, 0, 1u << 24, .arg = "N", .def = "2048",
     .help = "open live feed streams (GET /v1/feed/stream); past it a new one gets 503. "
             "Each holds a connection"},
    {"max-streams-per-user", NULL, FIELD(max_user_streams), &type_number, 1, 1u << 20, .arg = "N",
     .def = "5", .help = "open streams per user; past it 429"},
    /* At least room for the largest tweet event, twice (catch-up uses half). */
    {"stream-buffer", NULL, FIELD(stream_buffer_bytes), &type_number, 8192, 64u << 20,
     .arg = "BYTES", .def = "65536",
     .help = "unsent bytes a stream may hold (and its socket's kernel send buffer); a "
             "reader that lets more pile up is disconnected"},
    {"stream-heartbeat", NULL, FIELD(stream_heartbeat_ms), &type_seconds_ms, 1, 3600,
     .arg = "SECONDS", .def = "15", .help = "a comment line this often on every stream"},
};

#define NFLAGS (sizeof flags / sizeof flags[0])

/* ---- parsing ------------------------------------------------------------ */

/* Reads `value` into the row's field. */
static int set(struct chirp_config *cfg, const struct config_flag *f, const char *label,
               const char *value)
{
	return f->type->parse(f, label, value, (char *)cfg + f->offset);
}

/* Applies the row's default. A repeated type's default is a
 * space-separated list, each item applied as if given once (from a local
 * copy: a repeated type must not keep pointers into its value). */
static int set_default(struct chirp_config *cfg, const struct config_flag *f)
{
	char buf[128];
	if (f->def_fn) {
		f->def_fn(f, buf, sizeof buf);
		return set(cfg, f, f->name, buf);
	}
	if (!f->type->repeated)
		return set(cfg, f, f->name, f->def);
	for (const char *p = f->def; *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " ");
		assert(n < sizeof buf);
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (set(cfg, f, f->name, buf))
			return -1;
		p += n;
	}
	return 0;
}

/* Zeroes cfg (no default: NULL, 0, false), then gives every field its
 * default. A default the table itself gets wrong is a bug: abort. */
static void set_defaults(struct chirp_config *cfg)
{
	*cfg = (struct chirp_config){0};
	/* Settings without a flag. */
	for (size_t i = 0; i < NFLAGS; i++) {
		if (flags[i].name && flags[i].def && set_default(cfg, &flags[i])) {
			fprintf(stderr, "chirp: the default of --%s is wrong\n", flags[i].name);
			abort();
		}
	}
}

/* Environment overrides: a set, non-empty variable goes through the same
 * parser as the flag. */
static int set_from_env(struct chirp_config *cfg)
{
	for (size_t i = 0; i < NFLAGS; i++) {
		const char *v = flags[i].env ? getenv(flags[i].env) : NULL;
		if (v && *v && set(cfg, &flags[i], flags[i].env, v))
			return -1;
	}
	return 0;
}

/* What one flag cannot check alone. */
static int check_together(const struct chirp_config *cfg)
{
	if (cfg->blob_s3_endpoint && ((strncmp(cfg->blob_s3_endpoint, "http://", 7) &&
	                               strncmp(cfg->blob_s3_endpoint, "https://", 8)) ||
	                              !cfg->blob_s3_bucket || !*cfg->blob_s3_bucket ||
	                              !cfg->blob_s3_key || !cfg->blob_s3_secret)) {
		fprintf(stderr, "chirp serve: --blob-s3-endpoint needs an http(s):// URL, "
		                "--blob-s3-bucket, --blob-s3-key and --blob-s3-secret\n");
		return -1;
	}
	if (cfg->blob_secret_file && cfg->blob_secret) {
		fprintf(stderr, "chirp serve: give --blob-secret-file or --blob-secret "
		                "(CHIRP_BLOB_SECRET), not both\n");
		return -1;
	}
	if (cfg->media_part_bytes > cfg->media_max_bytes) {
		fprintf(stderr,
		        "chirp serve: --media-part-bytes must not exceed --media-max-bytes\n");
		return -1;
	}
	return 0;
}

/* getopt_long's `val` for row i; below it, getopt's own 'h', ':', '?'. */
#define OPT_ROW 256

static int set_from_argv(struct chirp_config *cfg, int argc, char **argv, bool *help)
{
	struct option opts[NFLAGS + 2];
	size_t n = 0;
	for (size_t i = 0; i < NFLAGS; i++) {
		if (flags[i].name)
			opts[n++] = (struct option){flags[i].name,
			                            flags[i].type->takes_value ? required_argument
			                                                       : no_argument,
			                            NULL, OPT_ROW + (int)i};
	}
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n] = (struct option){NULL, 0, NULL, 0};

	/* getopt sees "serve" as the program name; optind 0 makes glibc's
	 * getopt start afresh, so config_parse may run more than once. */
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			*help = true;
			return 0;
		}
		if (opt == ':') {
			fprintf(stderr, "chirp serve: %s needs a value\n", argv[optind - 1]);
			return -1;
		}
		if (opt < OPT_ROW) {
			fprintf(stderr, "chirp serve: unknown flag '%s' (see chirp serve --help)\n",
			        argv[optind - 1]);
			return -1;
		}
		const struct config_flag *f = &flags[opt - OPT_ROW];
		char label[64];
		snprintf(label, sizeof label, "--%s", f->name);
		if (set(cfg, f, label, f->type->takes_value ? optarg : f->implied))
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "chirp serve: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* ---- help --------------------------------------------------------------- */

#define HELP_WIDTH 79  /* columns of the help text */
#define HELP_INDENT 28 /* where the descriptions start */

/* Appends `text` word by word from column *col, breaking lines before
 * HELP_WIDTH and indenting continuations to HELP_INDENT. */
static void append_wrapped(struct strbuf *out, size_t *col, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, " ");
		if (*col > HELP_INDENT && *col + 1 + n > HELP_WIDTH) {
			strbuf_appendf(out, "\n%*s", HELP_INDENT, "");
			*col = HELP_INDENT;
		} else if (*col > HELP_INDENT) {
			strbuf_append_char(out, ' ');
			(*col)++;
		}
		strbuf_append(out, text, n);
		*col += n;
		text += n;
		text += strspn(text, " ");
	}
}

/* The default as --help shows it; NULL for a switch. */
static const char *shown_default(const struct config_flag *f)
{
	if (!f->type->takes_value)
		return NULL;
	return f->def && *f->def ? f->def : "none";
}

void config_help(struct strbuf *out)
{
	strbuf_append_str(out, "Flags of chirp serve. [Brackets]: the default, after the "
	                       "environment variable\nthat overrides it; a flag overrides both.\n");
	for (size_t i = 0; i < NFLAGS; i++) {
		const struct config_flag *f = &flags[i];
		if (!f->name) {
			strbuf_appendf(out, "\n%s\n", f->help);
			continue;
		}
		size_t start = out->len;
		strbuf_appendf(out, "  --%s%s%s", f->name, f->arg ? " " : "", f->arg ? f->arg : "");
		size_t col = out->len - start;
		if (col + 2 > HELP_INDENT) {
			strbuf_appendf(out, "\n%*s", HELP_INDENT, "");
			col = HELP_INDENT;
		} else {
			strbuf_appendf(out, "%*s", (int)(HELP_INDENT - col), "");
			col = HELP_INDENT;
		}
		append_wrapped(out, &col, f->help);
		const char *def = shown_default(f);
		if (def || f->env) {
			struct strbuf bracket = STRBUF_INIT;
			strbuf_appendf(&bracket, "[%s%s%s]", f->env ? f->env : "",
			               f->env && def ? ", " : "", def ? def : "");
			append_wrapped(out, &col, bracket.data);
			strbuf_deinit(&bracket);
		}
		strbuf_append_char(out, '\n');
	}
	strbuf_append_str(out, "\n  -h, --help                show this help\n"
	                       "\nSIGINT or SIGTERM stops accepting, finishes requests in flight, "
	                       "and closes\nthe store cleanly.\n");
}

bool config_flag_doc(size_t i, struct config_flag_doc *out)
{
	size_t seen = 0;
	for (size_t k = 0; k < NFLAGS; k++) {
		if (!flags[k].name)
			continue;
		if (seen++ == i) {
			*out = (struct config_flag_doc){flags[k].name, flags[k].env,
			                                shown_default(&flags[k])};
			return true;
		}
	}
	return false;
}

static void print_usage(FILE *to, bool main_usage, const char *before)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_str(&sb, before);
	if (main_usage)
		strbuf_append_str(&sb, "chirp — a Twitter-like microblog server\n"
		                       "\n"
		                       "Usage:\n"
		                       "  chirp serve [FLAGS]   run the HTTP API\n"
		                       "  chirp --help          show this help\n\n");
	else
		strbuf_append_str(&sb, "Usage: chirp serve [FLAGS]\n\n");
	config_help(&sb);
	fputs(sb.data, to);
	strbuf_deinit(&sb);
}

enum config_result config_parse(struct chirp_config *cfg, int argc, char **argv)
{
	set_defaults(cfg);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_usage(argc < 2 ? stderr : stdout, true, "");
		return argc < 2 ? CONFIG_EXIT_ERROR : CONFIG_EXIT_OK;
	}
	if (strcmp(argv[1], "serve") != 0) {
		char before[256];
		snprintf(before, sizeof before, "chirp: unknown command '%s'\n\n", argv[1]);
		print_usage(stderr, true, before);
		return CONFIG_EXIT_ERROR;
	}
	bool help = false;
	if (set_from_env(cfg) || set_from_argv(cfg, argc, argv, &help))
		return CONFIG_EXIT_ERROR;
	if (help) {
		print_usage(stdout, false, "");
		return CONFIG_EXIT_OK;
	}
	return check_together(cfg) ? CONFIG_EXIT_ERROR : CONFIG_RUN;
}
