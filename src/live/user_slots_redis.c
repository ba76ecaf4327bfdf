/*
 * user_slots_redis — see user_slots_redis.h. One script writes this
 * instance's number and, asked, counts every live instance's: atomic, so
 * two nodes opening a user's streams at once each see the other's.
 */
#include "live/user_slots_redis.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "redis/redis.h"
#include "util/log.h"

#define LEASE_MS 30000 /* an instance that stopped renewing counts no more after this */
#define NAME_LEN 16    /* hex digits of an instance's name */

struct user_slots {
	struct redis *redis;
	char name[NAME_LEN + 1];
	char lease_key[NAME_LEN + 8];
	pthread_mutex_t lock;
	pthread_cond_t stop_cv;
	bool stopping;
	pthread_t thread;
};

/* KEYS: ls:<user>, lsi:<me>. ARGV: me, seq, n, lease ms, count (0/1).
 * Returns the user's streams on every live instance (with count), else 0.
 * The leases of other instances are read by name, outside KEYS: chirp's
 * Redis is one server, never a Redis Cluster. */
static const char WRITE_LUA[] =
	"redis.call('SET', KEYS[2], 1, 'PX', ARGV[4])\n"
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"local seq = cur and tonumber(string.match(cur, '^(%d+):')) or -1\n"
	"if tonumber(ARGV[2]) > seq then\n"
	"  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])\n"
	"end\n"
	"if ARGV[5] == '0' then return 0 end\n"
	"local total = 0\n"
	"local f = redis.call('HGETALL', KEYS[1])\n"
	"for i = 1, #f, 2 do\n"
	"  if f[i] == ARGV[1] or redis.call('EXISTS', 'lsi:' .. f[i]) == 1 then\n"
	"    total = total + tonumber(string.match(f[i + 1], ':(%d+)$'))\n"
	"  else\n"
	"    redis.call('HDEL', KEYS[1], f[i])\n"
	"  end\n"
	"end\n"
	"return total\n";

static void renew_lease(struct user_slots *us)
{
	redisReply *rep = redis_commandf(us->redis, "SET %s 1 PX %d", us->lease_key, LEASE_MS);
	if (rep)
		freeReplyObject(rep);
}

static void *lease_main(void *arg)
{
	struct user_slots *us = arg;
	pthread_setname_np(pthread_self(), "chirp-slots");
	pthread_mutex_lock(&us->lock);
	while (!us->stopping) {
		pthread_mutex_unlock(&us->lock);
		renew_lease(us);
		pthread_mutex_lock(&us->lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += LEASE_MS / 3 / 1000;
		while (!us->stopping &&
		       pthread_cond_timedwait(&us->stop_cv, &us->lock, &until) == 0)
			; /* woken early, not stopping: wait the rest */
	}
	pthread_mutex_unlock(&us->lock);
	return NULL;
}

struct user_slots *user_slots_new(struct redis *r)
{
	struct user_slots *us = xcalloc(1, sizeof(*us));
	us->redis = r;
	uint64_t bits;
	if (getrandom(&bits, sizeof(bits), 0) != sizeof(bits))
		die("user slots: no random bytes for the instance's name");
	snprintf(us->name, sizeof(us->name), "%016" PRIx64, bits);
	snprintf(us->lease_key, sizeof(us->lease_key), "lsi:%s", us->name);
	pthread_mutex_init(&us->lock, NULL);
	pthread_cond_init(&us->stop_cv, NULL);
	if (pthread_create(&us->thread, NULL, lease_main, us) != 0)
		die("user slots: cannot start thread");
	return us;
}

void user_slots_free(struct user_slots *us)
{
	if (!us)
		return;
	pthread_mutex_lock(&us->lock);
	us->stopping = true;
	pthread_cond_signal(&us->stop_cv);
	pthread_mutex_unlock(&us->lock);
	pthread_join(us->thread, NULL);
	pthread_cond_destroy(&us->stop_cv);
	pthread_mutex_destroy(&us->lock);
	free(us);
}

int user_slots_write(struct user_slots *us, uint64_t user, unsigned n, uint64_t seq,
		     unsigned *total)
{
	char key[24] = "ls:";
	redis_id20(key + 3, user);
	redisReply *rep = redis_commandf(us->redis, "EVAL %s 2 %s %s %s %" PRIu64 " %u %d %d",
					 WRITE_LUA, key, us->lease_key, us->name, seq, n, LEASE_MS,
					 total ? 1 : 0);
	bool ok = rep && rep->type == REDIS_REPLY_INTEGER;
	if (ok && total)
		*total = (unsigned)rep->integer;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}
