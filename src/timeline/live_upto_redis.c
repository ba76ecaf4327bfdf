/*
 * live_upto_redis — see live_upto_redis.h. Each change is one script, so
 * "record the tweet and move the watermark" is atomic whichever nodes post
 * at once, and a read sees the watermark and the pending set as of one
 * moment.
 */
#include "timeline/live_upto_redis.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis/redis.h"

#define PENDING_KEY "live:pending"
#define UPTO_KEY "live:upto"
#define WAIT_TICK_MS 5 /* between two looks at the pending set */

/* KEYS: pending, upto. ARGV: id, how long it may stay pending (ms). Also
 * drops the tweets whose deadline passed, so the set only holds fanouts
 * that may still run. */
static const char QUEUED_LUA[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
	"redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
	"local u = redis.call('GET', KEYS[2])\n"
	"if not u or u < ARGV[1] then redis.call('SET', KEYS[2], ARGV[1]) end\n"
	"return 1\n";

/* KEYS: pending, upto. ARGV: the U to check ('' for the watermark now),
 * the seed for a watermark that is gone. Returns {U, 1 if a tweet at or
 * below U is pending and within its deadline, else 0}. Ids are all 20
 * digits, so comparing them as strings compares the numbers. */
static const char READ_LUA[] =
	"local upto = ARGV[1]\n"
	"if upto == '' then\n"
	"  upto = redis.call('GET', KEYS[2])\n"
	"  if not upto then redis.call('SET', KEYS[2], ARGV[2]) upto = ARGV[2] end\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do\n"
	"  if id <= upto then return {upto, 1} end\n"
	"end\n"
	"return {upto, 0}\n";

/* KEYS: pending, upto. Returns the smallest id pending within its
 * deadline, else the watermark, else ''. */
static const char BOUND_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local low = false\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do\n"
    "  if not low or id < low then low = id end\n"
    "end\n"
    "if low then return low end\n"
    "return redis.call('GET', KEYS[2]) or ''\n";

int live_upto_redis_queued(struct redis *r, uint64_t id)
{
	char id20[21];
	redis_id20(id20, id);
	redisReply *rep = redis_commandf(r, "EVAL %s 2 %s %s %s %d", QUEUED_LUA, PENDING_KEY,
					 UPTO_KEY, id20, LIVE_UPTO_PENDING_MS);
	bool ok = rep && rep->type == REDIS_REPLY_INTEGER;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

void live_upto_redis_done(struct redis *r, uint64_t id)
{
	char id20[21];
	redis_id20(id20, id);
	redisReply *rep = redis_commandf(r, "ZREM %s %s", PENDING_KEY, id20);
	if (rep)
		freeReplyObject(rep);
}

/* One look: U into upto20 (which, non-empty, is the U to check) and
 * whether a tweet at or below it is pending. 0, or -1 if Redis did not
 * answer as the script does. */
static int look(struct redis *r, char upto20[21], const char *seed20, bool *pending)
{
	redisReply *rep = redis_commandf(r, "EVAL %s 2 %s %s %s %s", READ_LUA, PENDING_KEY,
					 UPTO_KEY, upto20, seed20);
	bool ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		  rep->element[0]->type == REDIS_REPLY_STRING && rep->element[0]->len == 20 &&
		  rep->element[1]->type == REDIS_REPLY_INTEGER;
	if (ok) {
		memcpy(upto20, rep->element[0]->str, 20);
		upto20[20] = '\0';
		*pending = rep->element[1]->integer != 0;
	}
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

int live_upto_redis_read(struct redis *r, uint64_t seed, uint64_t *upto)
{
	char seed20[21], upto20[21] = ""; /* "": take the watermark as it is now */
	redis_id20(seed20, seed);
	const struct timespec tick = {0, WAIT_TICK_MS * 1000000L};
	bool pending = true;
	int waited_ms = 0;
	for (;;) {
		/* The same U every time: newer tweets, pending or not, are above
		 * it, and only those at or below it must be done. */
		if (look(r, upto20, seed20, &pending) != 0)
			return -1;
		if (!pending || waited_ms >= LIVE_UPTO_WAIT_MS)
			break;
		nanosleep(&tick, NULL);
		waited_ms += WAIT_TICK_MS;
	}
	*upto = strtoull(upto20, NULL, 10);
	return pending ? 1 : 0;
}

int live_upto_redis_bound(void *redis, uint64_t *bound)
{
	redisReply *rep =
	    redis_commandf(redis, "EVAL %s 2 %s %s", BOUND_LUA, PENDING_KEY, UPTO_KEY);
	bool ok = rep && rep->type == REDIS_REPLY_STRING && (rep->len == 20 || rep->len == 0);
	if (ok)
		*bound = rep->len ? strtoull(rep->str, NULL, 10) : UINT64_MAX;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}
