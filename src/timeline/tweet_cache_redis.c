/*
 * tweet_cache_redis — the tweet cache in Redis, shared by every node
 * (see tweet_cache.h; docs/architecture.md, "Cluster mode: Redis").
 *
 * One string per id, "tc:<id>": "T" and the tweet's JSON, or "D", a
 * tombstone. put is SET NX, so what is known of an id is never replaced by
 * a reader's copy; replace is a script that keeps a tombstone; and
 * mark_deleted sets the tombstone before it returns, so a delete through
 * any node is seen by every node before its 204. Entries live ENTRY_TTL_S:
 * a tombstone that could not be written (Redis unreachable) lets a stale
 * copy show at most that long, and Redis's own eviction (maxmemory with
 * allkeys-lru, deploy/cluster) bounds memory.
 *
 * Unreachable Redis: get answers MISS (the store is the truth), puts are
 * dropped, mark_deleted fails (the caller logs it).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis.h"
#include "timeline/tweet_cache.h"
#include "util/log.h"

#define ENTRY_TTL_S 3600

struct redis_cache {
	struct tweet_cache base;
	struct redis *redis;
	atomic_uint_fast64_t hits, misses;
};

/* Sets the tweet unless the id holds a tombstone. */
static const char REPLACE_LUA[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if v and string.sub(v, 1, 1) == 'D' then return 0 end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
	"return 1\n";

static void key_of(char *buf, uint64_t id)
{
	memcpy(buf, "tc:", 3);
	redis_id20(buf + 3, id);
}

static struct tweet_cache *rc_open(const struct tweet_cache_options *opt, struct strbuf *err)
{
	if (!opt->redis) {
		strbuf_appendf(err, "the Redis tweet cache needs --redis");
		return NULL;
	}
	struct redis_cache *c = xcalloc(1, sizeof(*c));
	c->base.ops = &tweet_cache_redis_ops;
	c->redis = opt->redis;
	return &c->base;
}

static void rc_close(struct tweet_cache *tc)
{
	free(tc);
}

static enum tweet_cache_result rc_get(struct tweet_cache *tc, uint64_t id, struct strbuf *out)
{
	struct redis_cache *c = (struct redis_cache *)tc;
	char key[24];
	key_of(key, id);
	redisReply *rep = redis_commandf(c->redis, "GET %s", key);
	enum tweet_cache_result res = TWEET_CACHE_MISS;
	if (rep && rep->type == REDIS_REPLY_STRING && rep->len >= 1) {
		if (rep->str[0] == 'D') {
			res = TWEET_CACHE_DELETED;
		} else if (rep->str[0] == 'T') {
			strbuf_append(out, rep->str + 1, rep->len - 1);
			res = TWEET_CACHE_HIT;
		}
	}
	if (rep)
		freeReplyObject(rep);
	atomic_fetch_add(res == TWEET_CACHE_MISS ? &c->misses : &c->hits, 1);
	return res;
}

/* "T" + json, in a buffer the caller frees. */
static char *tagged(const char *json, size_t len)
{
	char *v = xmalloc(len + 1);
	v[0] = 'T';
	memcpy(v + 1, json, len);
	return v;
}

static void rc_put(struct tweet_cache *tc, uint64_t id, const char *json, size_t len)
{
	struct redis_cache *c = (struct redis_cache *)tc;
	char key[24];
	key_of(key, id);
	char *v = tagged(json, len);
	redisReply *rep =
		redis_commandf(c->redis, "SET %s %b NX EX %d", key, v, len + 1, ENTRY_TTL_S);
	free(v);
	if (rep)
		freeReplyObject(rep);
}

static void rc_replace(struct tweet_cache *tc, uint64_t id, const char *json, size_t len)
{
	struct redis_cache *c = (struct redis_cache *)tc;
	char key[24];
	key_of(key, id);
	char *v = tagged(json, len);
	redisReply *rep = redis_commandf(c->redis, "EVAL %s 1 %s %b %d", REPLACE_LUA, key, v,
					 len + 1, ENTRY_TTL_S);
	free(v);
	if (rep)
		freeReplyObject(rep);
}

static int rc_mark_deleted(struct tweet_cache *tc, uint64_t id)
{
	struct redis_cache *c = (struct redis_cache *)tc;
	char key[24];
	key_of(key, id);
	redisReply *rep = redis_commandf(c->redis, "SET %s D EX %d", key, ENTRY_TTL_S);
	int rc = rep && rep->type == REDIS_REPLY_STATUS ? 0 : -1;
	if (rep)
		freeReplyObject(rep);
	return rc;
}

/* What this node saw; what Redis holds is in Redis's own INFO. */
static void rc_stats(struct tweet_cache *tc, struct tweet_cache_stats *out)
{
	struct redis_cache *c = (struct redis_cache *)tc;
	memset(out, 0, sizeof(*out));
	out->hits = atomic_load(&c->hits);
	out->misses = atomic_load(&c->misses);
}

const struct tweet_cache_ops tweet_cache_redis_ops = {
	.name = "redis",
	.remote = true,
	.open = rc_open,
	.close = rc_close,
	.get = rc_get,
	.put = rc_put,
	.replace = rc_replace,
	.mark_deleted = rc_mark_deleted,
	.stats = rc_stats,
};
