/*
 * limits_redis — rate limits in Redis, one budget shared by every node
 * (see limits.h; docs/architecture.md, "Cluster mode: Redis").
 *
 * A bucket is a hash "rl:<rule>:<subject>" (tokens, time of the last
 * take in Redis's own clock, so nodes' clocks never disagree), changed by
 * one script: refill, take, store, expire when it would be full anyway.
 * The back-off of a subject is a hash "rb:<rule>:<subject>" (failures,
 * time of the last). Both scripts are atomic, so three nodes charging one
 * subject at once take exactly one budget.
 *
 * Redis unreachable (breaker open, or a call failed): the node falls back
 * to a bucket of its own (an in-memory adapter inside this one). That is
 * the documented choice: neither open (a flood would pass) nor closed
 * (every client refused for Redis's fault) — each node enforces the full
 * budget alone, so a client gets at most N times its budget across N
 * nodes while Redis is down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/limits.h"
#include "redis/redis.h"
#include "util/log.h"
#include "util/strbuf.h"

struct redis_limits {
	struct limits base;
	struct redis *redis;
	struct limits *local; /* while Redis cannot answer */
};

/* ARGV: count, seconds, cost. {allowed, tokens left (a string: a float)} */
static const char TAKE_LUA[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local count, secs, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local rate = count / (secs * 1000)\n"
	"local v = redis.call('HMGET', KEYS[1], 'k', 'a')\n"
	"local tokens, at = tonumber(v[1]), tonumber(v[2])\n"
	"if not tokens then tokens = count; at = now end\n"
	"tokens = math.min(count, tokens + math.max(0, now - at) * rate)\n"
	"local allowed = 0\n"
	"if tokens >= cost then tokens = tokens - cost; allowed = 1 end\n"
	"redis.call('HSET', KEYS[1], 'k', tostring(tokens), 'a', now)\n"
	"redis.call('PEXPIRE', KEYS[1], secs * 1000 + 1000)\n"
	"return {allowed, tostring(tokens)}\n";

/* ARGV: fail (0/1), span in ms. {failures, ms since the last} */
static const char BACKOFF_LUA[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local span = tonumber(ARGV[2])\n"
	"local v = redis.call('HMGET', KEYS[1], 'f', 'a')\n"
	"local f, at = tonumber(v[1]), tonumber(v[2])\n"
	"if not f then\n"
	"  if ARGV[1] == '0' then return {0, 0} end\n"
	"  f = 0; at = now\n"
	"end\n"
	"if now - at >= span then f = 0 end\n"
	"if ARGV[1] == '1' then\n"
	"  f = f + 1; at = now\n"
	"  redis.call('HSET', KEYS[1], 'f', f, 'a', at)\n"
	"  redis.call('PEXPIRE', KEYS[1], span)\n"
	"end\n"
	"return {f, now - at}\n";

static struct limits *rl_open(const struct limits_options *opt, struct strbuf *err)
{
	if (!opt->redis) {
		strbuf_appendf(err, "the Redis rate limits need --redis");
		return NULL;
	}
	struct limits *local = limits_memory_ops.open(opt, err);
	if (!local)
		return NULL;
	struct redis_limits *l = xcalloc(1, sizeof(*l));
	l->base.ops = &limits_redis_ops;
	l->redis = opt->redis;
	l->local = local;
	return &l->base;
}

static void rl_close(struct limits *lim)
{
	struct redis_limits *l = (struct redis_limits *)lim;
	if (!l)
		return;
	l->local->ops->close(l->local);
	free(l);
}

/* "<prefix>:<rule>:<subject>", binary safe. */
static void key_of(struct strbuf *k, const char *prefix, const struct limit_rule *rule,
		   const char *subject, size_t len)
{
	strbuf_appendf(k, "%s:%s:", prefix, rule->name);
	strbuf_append(k, subject, len);
}

/* Runs a script over one key; its reply when it is an array of `n`, else
 * NULL (and nothing to free). */
static redisReply *run(struct redis_limits *l, const char *script, const struct strbuf *key,
		       const char *a1, const char *a2, const char *a3, size_t n)
{
	const char *argv[] = {"EVAL", script, "1", key->data, a1, a2, a3};
	size_t lens[] = {4, strlen(script), 1, key->len, strlen(a1), strlen(a2),
			 a3 ? strlen(a3) : 0};
	redisReply *rep = redis_command(l->redis, a3 ? 7 : 6, argv, lens);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == n)
		return rep;
	if (rep)
		freeReplyObject(rep);
	return NULL;
}

static void rl_take(struct limits *lim, const struct limit_rule *rule, const char *subject,
		    size_t len, uint32_t cost, struct limit_result *out)
{
	struct redis_limits *l = (struct redis_limits *)lim;
	struct strbuf key = STRBUF_INIT;
	key_of(&key, "rl", rule, subject, len);
	char count[16], secs[16], c[16];
	snprintf(count, sizeof(count), "%u", rule->count);
	snprintf(secs, sizeof(secs), "%u", rule->seconds);
	snprintf(c, sizeof(c), "%u", cost);
	redisReply *rep = redis_available(l->redis) ? run(l, TAKE_LUA, &key, count, secs, c, 2)
						    : NULL;
	strbuf_deinit(&key);
	if (!rep || rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_STRING) {
		if (rep)
			freeReplyObject(rep);
		l->local->ops->take(l->local, rule, subject, len, cost, out);
		return;
	}
	bool allowed = rep->element[0]->integer == 1;
	double tokens = strtod(rep->element[1]->str, NULL);
	freeReplyObject(rep);
	limit_result_fill(rule, cost, allowed, tokens, out);
}

static void rl_backoff(struct limits *lim, const struct limit_rule *rule, const char *subject,
		       size_t len, bool fail, uint32_t *wait_s)
{
	struct redis_limits *l = (struct redis_limits *)lim;
	struct strbuf key = STRBUF_INIT;
	key_of(&key, "rb", rule, subject, len);
	char span[24];
	snprintf(span, sizeof(span), "%llu", (unsigned long long)rule->seconds * 1000);
	redisReply *rep = redis_available(l->redis)
				  ? run(l, BACKOFF_LUA, &key, fail ? "1" : "0", span, NULL, 2)
				  : NULL;
	strbuf_deinit(&key);
	if (!rep || rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		if (rep)
			freeReplyObject(rep);
		l->local->ops->backoff(l->local, rule, subject, len, fail, wait_s);
		return;
	}
	double failures = (double)rep->element[0]->integer;
	uint64_t since_ns = (uint64_t)rep->element[1]->integer * 1000000ull;
	freeReplyObject(rep);
	*wait_s = limit_backoff_wait(rule, failures, since_ns);
}

const struct limits_ops limits_redis_ops = {
	.name = "redis",
	.open = rl_open,
	.close = rl_close,
	.take = rl_take,
	.backoff = rl_backoff,
};
