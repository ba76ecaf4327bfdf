/*
 * limits_memory — the in-process rate-limit adapter (see limits.h).
 *
 * Buckets are found by a 64-bit keyed hash (SipHash, libsodium's
 * crypto_shorthash) of the rule's name and the subject, in 64 shards with
 * their own locks. A bucket stores its tokens as of its last use; taking
 * first refills by the time passed. Memory is bounded: past max_buckets,
 * the least recently used buckets go (a forgotten bucket is a full one, so
 * eviction only ever errs on the side of letting a request through).
 * A back-off (limits.h) is kept in the same kind of entry: its failures in
 * `tokens`, the time of the last in `at_ns` (forgotten, it has none).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/limits.h"
#include "util/idmap.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SHARDS 64

struct bucket {
	struct idmap_node node; /* key: hash of rule and subject */
	struct lru_node lru;
	double tokens;
	uint64_t at_ns; /* monotonic time of `tokens` */
};

struct shard {
	pthread_mutex_t lock;
	struct idmap map;
	struct lru lru;
};

struct mem_limits {
	struct limits base;
	size_t max_per_shard;
	unsigned char key[crypto_shorthash_KEYBYTES];
	struct shard shards[SHARDS];
};

static uint64_t bucket_key(struct mem_limits *m, const struct limit_rule *rule,
			   const char *subject, size_t len)
{
	/* name NUL subject: unambiguous, since names hold no NUL */
	size_t nlen = strlen(rule->name);
	unsigned char buf[256];
	size_t n = nlen + 1 + len < sizeof(buf) ? nlen + 1 + len : sizeof(buf);
	memcpy(buf, rule->name, nlen + 1);
	memcpy(buf + nlen + 1, subject, n - nlen - 1);
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, buf, n, m->key);
	return h;
}

static struct limits *mem_open(const struct limits_options *opt, struct strbuf *err)
{
	(void)err; /* nothing can fail but memory, which aborts */
	struct mem_limits *m = xcalloc(1, sizeof(*m));
	m->base.ops = &limits_memory_ops;
	m->max_per_shard = opt->max_buckets / SHARDS ? opt->max_buckets / SHARDS : 1;
	crypto_shorthash_keygen(m->key);
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&m->shards[i].lock, NULL);
		idmap_init(&m->shards[i].map, 64);
	}
	return &m->base;
}

static void mem_close(struct limits *l)
{
	struct mem_limits *m = (struct mem_limits *)l;
	if (!m)
		return;
	for (int i = 0; i < SHARDS; i++) {
		struct shard *s = &m->shards[i];
		while (s->lru.oldest) {
			struct bucket *b = container_of(s->lru.oldest, struct bucket, lru);
			lru_unlink(&s->lru, &b->lru);
			free(b);
		}
		idmap_deinit(&s->map);
		pthread_mutex_destroy(&s->lock);
	}
	free(m);
}

/* The entry of `key` in shard s, made (with `tokens`, time now) if there
 * is none; *made says which. Under s->lock. */
static struct bucket *entry(struct mem_limits *m, struct shard *s, uint64_t key, double tokens,
			    uint64_t now, bool *made)
{
	struct idmap_node *n = idmap_get(&s->map, key);
	struct bucket *b;
	*made = n == NULL;
	if (n) {
		b = container_of(n, struct bucket, node);
		lru_touch(&s->lru, &b->lru);
		return b;
	}
	if (s->map.n >= m->max_per_shard) { /* recycle the least recently used */
		b = container_of(s->lru.oldest, struct bucket, lru);
		idmap_remove(&s->map, b->node.key);
		lru_unlink(&s->lru, &b->lru);
	} else {
		b = xmalloc(sizeof(*b));
	}
	b->node.key = key;
	b->tokens = tokens;
	b->at_ns = now;
	idmap_insert(&s->map, &b->node);
	lru_push_newest(&s->lru, &b->lru);
	return b;
}

static void mem_take(struct limits *l, const struct limit_rule *rule, const char *subject,
		     size_t len, uint32_t cost, struct limit_result *out)
{
	struct mem_limits *m = (struct mem_limits *)l;
	uint64_t key = bucket_key(m, rule, subject, len);
	struct shard *s = &m->shards[key % SHARDS];
	double rate = (double)rule->count / (double)rule->seconds; /* tokens per second */
	uint64_t now = time_mono_ns();

	pthread_mutex_lock(&s->lock);
	bool made;
	struct bucket *b = entry(m, s, key, rule->count, now, &made);
	if (!made) {
		b->tokens += (double)(now - b->at_ns) / 1e9 * rate;
		if (b->tokens > rule->count)
			b->tokens = rule->count;
	}
	b->at_ns = now;
	bool allowed = b->tokens >= cost;
	if (allowed)
		b->tokens -= cost;
	double tokens = b->tokens;
	pthread_mutex_unlock(&s->lock);

	limit_result_fill(rule, cost, allowed, tokens, out);
}

static void mem_backoff(struct limits *l, const struct limit_rule *rule, const char *subject,
			size_t len, bool fail, uint32_t *wait_s)
{
	struct mem_limits *m = (struct mem_limits *)l;
	uint64_t key = bucket_key(m, rule, subject, len);
	struct shard *s = &m->shards[key % SHARDS];
	uint64_t now = time_mono_ns(), span = (uint64_t)rule->seconds * 1000000000ull;
	double failures = 0;
	uint64_t last = now;
	pthread_mutex_lock(&s->lock);
	struct idmap_node *n = fail ? NULL : idmap_get(&s->map, key);
	if (fail || n) { /* a look at a subject without failures makes no entry */
		bool made;
		struct bucket *b = fail ? entry(m, s, key, 0, now, &made)
					: container_of(n, struct bucket, node);
		if (now - b->at_ns >= span)
			b->tokens = 0; /* quiet long enough: start over */
		if (fail) {
			b->tokens += 1;
			b->at_ns = now;
		}
		failures = b->tokens;
		last = b->at_ns;
	}
	pthread_mutex_unlock(&s->lock);
	*wait_s = limit_backoff_wait(rule, failures, now - last);
}

const struct limits_ops limits_memory_ops = {
	.name = "memory",
	.open = mem_open,
	.close = mem_close,
	.take = mem_take,
	.backoff = mem_backoff,
};
