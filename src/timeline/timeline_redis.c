/*
 * timeline_redis — timelines in Redis, shared by every node (see
 * timeline.h; docs/architecture.md, "Cluster mode: Redis").
 *
 * One sorted set per list, "tl:<name>:<key>", every score 0, so members
 * sort by their bytes: ids are 20 zero-padded digits (redis_id20), which
 * sort as the numbers do and never pass through a float. Beside them the
 * same set holds the list's state as members that sort after every digit:
 * "~h" the list is held (pushes land), "~c" complete (reads answer), "~t"
 * older ids exist than those held, "~m<bytes>" the meta. One key per list
 * means Redis's eviction takes a list whole, never its state without its
 * ids, and each op is one script: the cap, "push only to a held list" and
 * the merge of a build are atomic however many nodes push at once. A push
 * of an id already held changes nothing, so an effect run twice (the
 * outbox) leaves the list as once.
 *
 * Idle lists expire (PEXPIRE idle_ttl_ms on build and on each read, never
 * on a push), as the memory adapter drops them. A rebuild is claimed
 * ("tlb:<name>:<key>", SET NX with a TTL) so one node reads the store
 * for a list while the others wait for it; finish_build and drop end the
 * claim. The celebrity epoch is "tl:epoch". Unreachable Redis: reads
 * miss and `available` says so, so the feed reads the store instead;
 * pushes are lost, which is why a list rebuilt later reads the store.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis.h"
#include "timeline/timeline.h"
#include "util/log.h"

struct redis_timelines {
	struct timelines base;
	struct redis *redis;
	char name[32];
	unsigned cap;
	uint64_t ttl_ms; /* 0: no expiry */
	atomic_uint_fast64_t hits, misses;
	_Atomic uint32_t epoch; /* "tl:epoch" as last read: kept while Redis is away */
};

/* "tl:epoch" as this thread's last range read it, with the list, in the
 * same script: the epoch the feed compares a list's own with right after
 * (rt_epoch). One round trip, and a crossing made on any node before the
 * read began is seen. */
static _Thread_local struct {
	const struct redis_timelines *t; /* NULL: nothing unread */
	uint32_t epoch;
} range_epoch;

/* ARGV: member, cap. */
static const char PUSH_LUA[] =
	"if not redis.call('ZSCORE', KEYS[1], '~h') then return 0 end\n"
	"local cap = tonumber(ARGV[2])\n"
	"local n = redis.call('ZLEXCOUNT', KEYS[1], '-', '(:')\n"
	"if n >= cap then\n"
	"  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)[1]\n"
	"  if ARGV[1] < oldest then redis.call('ZADD', KEYS[1], 0, '~t') return 0 end\n"
	"end\n"
	"if redis.call('ZADD', KEYS[1], 0, ARGV[1]) == 1 and n + 1 > cap then\n"
	"  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap)\n"
	"  redis.call('ZADD', KEYS[1], 0, '~t')\n"
	"end\n"
	"return 1\n";

/* ARGV: ttl_ms. */
static const char BEGIN_LUA[] =
	"redis.call('ZREM', KEYS[1], '~c')\n"
	"redis.call('ZADD', KEYS[1], 0, '~h')\n"
	"if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
	"return 1\n";

/* ARGV: cap, ttl_ms, truncated (0/1), meta, ids... */
static const char FINISH_LUA[] =
	"if not redis.call('ZSCORE', KEYS[1], '~h') then return 0 end\n"
	"local cap = tonumber(ARGV[1])\n"
	"for i = 5, #ARGV do redis.call('ZADD', KEYS[1], 0, ARGV[i]) end\n"
	"local n = redis.call('ZLEXCOUNT', KEYS[1], '-', '(:')\n"
	"if n > cap then\n"
	"  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - cap - 1)\n"
	"  redis.call('ZADD', KEYS[1], 0, '~t')\n"
	"end\n"
	"if ARGV[3] == '1' then redis.call('ZADD', KEYS[1], 0, '~t') end\n"
	"for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], '[~m', '(~n')) do\n"
	"  redis.call('ZREM', KEYS[1], m)\n"
	"end\n"
	"redis.call('ZADD', KEYS[1], 0, '~m' .. ARGV[4], 0, '~c')\n"
	"if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
	"return 1\n";

/* KEYS: the list, "tl:epoch". ARGV: max "(<before>", min "(<after>", limit,
 * oldest_first (0/1), ttl_ms. {epoch}: not complete. Else {truncated, ids
 * at or below `after`, meta, ids, epoch}. */
static const char RANGE_LUA[] =
	"local epoch = redis.call('GET', KEYS[2]) or '0'\n"
	"if not redis.call('ZSCORE', KEYS[1], '~c') then return {epoch} end\n"
	"if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end\n"
	"local ids\n"
	"if ARGV[4] == '1' then\n"
	"  ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], ARGV[1], 'LIMIT', 0, ARGV[3])\n"
	"else\n"
	"  ids = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])\n"
	"end\n"
	"local below = redis.call('ZLEXCOUNT', KEYS[1], '-', '[' .. string.sub(ARGV[2], 2))\n"
	"local trunc = redis.call('ZSCORE', KEYS[1], '~t') and 1 or 0\n"
	"local meta = redis.call('ZRANGEBYLEX', KEYS[1], '[~m', '(~n')[1] or '~m'\n"
	"return {trunc, below, meta, ids, epoch}\n";

#define KEY_MAX 64

#define CLAIM_MS 5000 /* a rebuild's claim outlives a node that died mid-build this long */

static void key_of(const struct redis_timelines *t, uint64_t key, char *buf)
{
	char id[21];
	redis_id20(id, key);
	snprintf(buf, KEY_MAX, "tl:%s:%s", t->name, id);
}

/* The claim on rebuilding a list: "tlb:<name>:<key>". */
static void claim_key_of(const struct redis_timelines *t, uint64_t key, char *buf)
{
	char id[21];
	redis_id20(id, key);
	snprintf(buf, KEY_MAX, "tlb:%s:%s", t->name, id);
}

static struct timelines *rt_open(const struct timeline_options *opt, struct strbuf *err)
{
	if (!opt->redis) {
		strbuf_appendf(err, "the Redis timelines need --redis");
		return NULL;
	}
	struct redis_timelines *t = xcalloc(1, sizeof(*t));
	t->base.ops = &timeline_redis_ops;
	t->redis = opt->redis;
	snprintf(t->name, sizeof(t->name), "%s", opt->name ? opt->name : "home");
	t->cap = opt->cap ? opt->cap : 800;
	t->ttl_ms = opt->idle_ttl_ms;
	return &t->base;
}

static void rt_close(struct timelines *tl)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	if (!t)
		return;
	if (range_epoch.t == t) /* its memory may become another adapter's */
		range_epoch.t = NULL;
	free(t);
}

static void done(redisReply *rep)
{
	if (rep)
		freeReplyObject(rep);
}

static void rt_push(struct timelines *tl, uint64_t key, uint64_t tweet_id)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char k[KEY_MAX], id[21];
	key_of(t, key, k);
	redis_id20(id, tweet_id);
	done(redis_commandf(t->redis, "EVAL %s 1 %s %s %u", PUSH_LUA, k, id, t->cap));
}

static void rt_remove(struct timelines *tl, uint64_t key, uint64_t tweet_id)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char k[KEY_MAX], id[21];
	key_of(t, key, k);
	redis_id20(id, tweet_id);
	done(redis_commandf(t->redis, "ZREM %s %s", k, id));
}

static void rt_drop(struct timelines *tl, uint64_t key)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char k[KEY_MAX], claim[KEY_MAX];
	key_of(t, key, k);
	claim_key_of(t, key, claim);
	done(redis_commandf(t->redis, "DEL %s %s", k, claim));
}

/* Unreachable Redis: "claimed" (the build then reads the store, which is
 * the answer anyway) and "not building" (no waiting for nothing). */
static bool rt_claim_build(struct timelines *tl, uint64_t key)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char claim[KEY_MAX];
	claim_key_of(t, key, claim);
	redisReply *rep = redis_commandf(t->redis, "SET %s 1 NX PX %d", claim, CLAIM_MS);
	bool mine = !rep || rep->type != REDIS_REPLY_NIL;
	done(rep);
	return mine;
}

static bool rt_building(struct timelines *tl, uint64_t key)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char claim[KEY_MAX];
	claim_key_of(t, key, claim);
	redisReply *rep = redis_commandf(t->redis, "EXISTS %s", claim);
	bool busy = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	done(rep);
	return busy;
}

static void rt_begin_build(struct timelines *tl, uint64_t key)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char k[KEY_MAX];
	key_of(t, key, k);
	done(redis_commandf(t->redis, "EVAL %s 1 %s %" PRIu64, BEGIN_LUA, k, t->ttl_ms));
}

static void rt_finish_build(struct timelines *tl, uint64_t key, const uint64_t *ids, size_t n,
			    bool truncated, const void *meta, size_t meta_len)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char k[KEY_MAX], cap[16], ttl[24];
	key_of(t, key, k);
	snprintf(cap, sizeof(cap), "%u", t->cap);
	snprintf(ttl, sizeof(ttl), "%" PRIu64, t->ttl_ms);
	size_t argc = 8 + n;
	const char **argv = xmalloc(argc * sizeof(*argv));
	size_t *lens = xmalloc(argc * sizeof(*lens));
	char *members = xmalloc(n * 21 + 1);
	argv[0] = "EVAL", argv[1] = FINISH_LUA, argv[2] = "1", argv[3] = k;
	argv[4] = cap, argv[5] = ttl, argv[6] = truncated ? "1" : "0";
	argv[7] = meta_len ? meta : "";
	for (size_t i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	lens[7] = meta_len;
	for (size_t i = 0; i < n; i++) {
		redis_id20(members + i * 21, ids[i]);
		argv[8 + i] = members + i * 21;
		lens[8 + i] = 20;
	}
	done(redis_command(t->redis, (int)argc, argv, lens));
	char claim[KEY_MAX];
	claim_key_of(t, key, claim);
	done(redis_commandf(t->redis, "DEL %s", claim)); /* the rebuild is over */
	free(members);
	free(lens);
	free(argv);
}

static uint64_t parse_id(const redisReply *e)
{
	return e->type == REDIS_REPLY_STRING ? strtoull(e->str, NULL, 10) : 0;
}

/* Keeps the epoch RANGE_LUA answered with (its last element) for rt_epoch. */
static void keep_range_epoch(const struct redis_timelines *t, const redisReply *rep)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0)
		return;
	const redisReply *e = rep->element[rep->elements - 1];
	if (e->type != REDIS_REPLY_STRING)
		return;
	range_epoch.t = t;
	range_epoch.epoch = (uint32_t)strtoul(e->str, NULL, 10);
}

/* Reads RANGE_LUA's answer into the range op's outputs; false if it is
 * not one of a complete list. */
static bool read_range(const redisReply *rep, const struct store_page *page, uint64_t *out,
		       size_t *n, bool *complete, void **meta, size_t *meta_len)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 5 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER ||
	    rep->element[2]->type != REDIS_REPLY_STRING ||
	    rep->element[3]->type != REDIS_REPLY_ARRAY || rep->element[3]->elements > page->limit)
		return false;
	bool truncated = rep->element[0]->integer != 0;
	bool reaches_oldest = rep->element[1]->integer == 0; /* nothing held at or below `after` */
	const redisReply *ids = rep->element[3];
	size_t count = ids->elements;
	for (size_t i = 0; i < count; i++) /* newest first, whichever end the page is */
		out[page->oldest_first ? count - 1 - i : i] = parse_id(ids->element[i]);
	*n = count;
	*complete = !(truncated && reaches_oldest && count < page->limit);
	if (page->oldest_first && truncated && reaches_oldest)
		*complete = false;
	if (meta) {
		const redisReply *m = rep->element[2];
		*meta_len = m->len > 2 ? m->len - 2 : 0;
		*meta = NULL;
		if (*meta_len) {
			*meta = xmalloc(*meta_len);
			memcpy(*meta, m->str + 2, *meta_len);
		}
	}
	return true;
}

static int rt_range(struct timelines *tl, uint64_t key, const struct store_page *page,
		    uint64_t *out, size_t *n, bool *complete, void **meta, size_t *meta_len)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	char k[KEY_MAX], max[22] = "(", min[22] = "(";
	key_of(t, key, k);
	redis_id20(max + 1, page->before);
	redis_id20(min + 1, page->after);
	*n = 0;
	range_epoch.t = NULL; /* whatever the answer, no earlier range's epoch is used */
	redisReply *rep = page->limit ? redis_commandf(t->redis,
						       "EVAL %s 2 %s tl:epoch %s %s %u %d %" PRIu64,
						       RANGE_LUA, k, max, min, page->limit,
						       page->oldest_first ? 1 : 0, t->ttl_ms)
				      : NULL;
	if (rep)
		keep_range_epoch(t, rep);
	bool ok = rep && read_range(rep, page, out, n, complete, meta, meta_len);
	done(rep);
	atomic_fetch_add(ok ? &t->hits : &t->misses, 1);
	return ok ? TIMELINE_OK : TIMELINE_MISS;
}

/* Remembers "tl:epoch" from a reply to GET or INCR; Redis unreachable
 * (NULL): the last known stays. */
static void set_epoch(struct redis_timelines *t, const redisReply *rep)
{
	if (rep && rep->type == REDIS_REPLY_INTEGER)
		atomic_store(&t->epoch, (uint32_t)rep->integer);
	else if (rep && rep->type == REDIS_REPLY_STRING)
		atomic_store(&t->epoch, (uint32_t)strtoul(rep->str, NULL, 10));
	else if (rep && rep->type == REDIS_REPLY_NIL)
		atomic_store(&t->epoch, 0);
}

/* The shared epoch: as this thread's last range read it, once, else read
 * now. Never older than the read that asks: a crossing answered on
 * another node before is seen. */
static uint32_t rt_epoch(struct timelines *tl)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	if (range_epoch.t == t) {
		range_epoch.t = NULL;
		atomic_store(&t->epoch, range_epoch.epoch);
		return range_epoch.epoch;
	}
	redisReply *rep = redis_commandf(t->redis, "GET tl:epoch");
	set_epoch(t, rep);
	done(rep);
	return atomic_load(&t->epoch);
}

static void rt_bump_epoch(struct timelines *tl)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	redisReply *rep = redis_commandf(t->redis, "INCR tl:epoch");
	if (!rep)
		log_error("timelines: the celebrity epoch could not be bumped in Redis");
	set_epoch(t, rep);
	done(rep);
}

static bool rt_available(struct timelines *tl)
{
	return redis_available(((struct redis_timelines *)tl)->redis);
}

/* What this node saw; what Redis holds is in Redis's own INFO. */
static void rt_stats(struct timelines *tl, struct timeline_stats *out)
{
	struct redis_timelines *t = (struct redis_timelines *)tl;
	memset(out, 0, sizeof(*out));
	out->hits = atomic_load(&t->hits);
	out->misses = atomic_load(&t->misses);
}

const struct timeline_ops timeline_redis_ops = {
	.name = "redis",
	.open = rt_open,
	.close = rt_close,
	.push = rt_push,
	.remove = rt_remove,
	.drop = rt_drop,
	.begin_build = rt_begin_build,
	.finish_build = rt_finish_build,
	.range = rt_range,
	.claim_build = rt_claim_build,
	.building = rt_building,
	.epoch = rt_epoch,
	.bump_epoch = rt_bump_epoch,
	.available = rt_available,
	.stats = rt_stats,
};
