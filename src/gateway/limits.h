/*
 * limits — the port to rate-limit counters (docs/architecture.md, "Ports and adapters").
 *
 * Token buckets: a budget of COUNT requests per SECONDS refills
 * continuously at COUNT/SECONDS per second, up to COUNT. Each (budget,
 * subject) pair has its own bucket; the subject is a user id, a client IP
 * or a handle. Counters two servers must agree on live behind this port,
 * so the in-memory adapter (the embedded default) can be swapped for a
 * shared one without touching the gateway.
 */
#ifndef CHIRP_GATEWAY_LIMITS_H
#define CHIRP_GATEWAY_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct limit_rule {
	const char *name; /* "signup", "login", ... */
	uint32_t count;   /* bucket size */
	uint32_t seconds; /* time to refill from empty */
};

struct limit_result {
	bool allowed;
	uint32_t limit;       /* the rule's count */
	uint32_t remaining;   /* whole tokens left after this request */
	uint32_t reset;       /* seconds until the bucket is full again */
	uint32_t retry_after; /* seconds until a request could pass; 0 if one can now */
};

struct redis;

struct limits_options {
	size_t max_buckets;  /* the least recently used beyond this are dropped */
	struct redis *redis; /* the Redis adapter's client (redis/redis.h) */
};

struct strbuf;
struct limits;

struct limits_ops {
	const char *name;
	struct limits *(*open)(const struct limits_options *opt, struct strbuf *err);
	void (*close)(struct limits *l); /* NULL is a no-op */
	/* Takes `cost` tokens (0: only look) from the bucket of (rule,
	 * subject) if it has them. Thread-safe. */
	void (*take)(struct limits *l, const struct limit_rule *rule, const char *subject,
		     size_t subject_len, uint32_t cost, struct limit_result *out);
	/* Exponential back-off of (rule, subject): with `fail`, counts one
	 * more failure first. *wait_s: seconds until the subject's next try
	 * may run, 0 if now. The first rule->count failures cost nothing;
	 * then the wait is 1 s from the last failure, doubling with each
	 * further failure, up to rule->seconds. rule->seconds after its last
	 * failure a subject starts over. Thread-safe. */
	void (*backoff)(struct limits *l, const struct limit_rule *rule, const char *subject,
			size_t subject_len, bool fail, uint32_t *wait_s);
};

struct limits {
	const struct limits_ops *ops;
};

extern const struct limits_ops limits_memory_ops;
extern const struct limits_ops limits_redis_ops;

/* What every adapter answers after a take: out's fields from the rule, the
 * cost asked, whether it was allowed and the tokens left after it. */
void limit_result_fill(const struct limit_rule *rule, uint32_t cost, bool allowed, double tokens,
		       struct limit_result *out);
/* The wait of a subject with `failures` failures, the last one
 * `since_ns` ago (the backoff op's rule). */
uint32_t limit_backoff_wait(const struct limit_rule *rule, double failures, uint64_t since_ns);

#endif
