/*
 * redis — the shared client and its circuit breaker (see redis.h).
 */
#include "redis/redis.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define POOL_MAX 16 /* idle connections kept; more are made and closed as needed */

struct redis {
	char host[256];
	int port;
	unsigned db;
	struct timeval timeout;

	pthread_mutex_t lock; /* everything below */
	redisContext *idle[POOL_MAX];
	size_t nidle;
	enum breaker_state state;
	unsigned failures;     /* in a row */
	uint64_t opened_at_ms; /* monotonic */
	bool probing;          /* a half-open probe is in flight */
	struct redis_stats st;
};

static uint64_t mono_ms(void)
{
	return time_mono_ns() / 1000000;
}

const char *breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED: return "closed";
	case BREAKER_OPEN: return "open";
	case BREAKER_HALF_OPEN: return "half_open";
	}
	return "?";
}

void redis_id20(char *buf, uint64_t id)
{
	snprintf(buf, 21, "%020" PRIu64, id);
}

/* redis://HOST[:PORT][/DB] */
static int parse_url(struct redis *r, const char *url)
{
	const char *p = url;
	if (strncmp(p, "redis://", 8) != 0)
		return -1;
	p += 8;
	size_t hlen = strcspn(p, ":/");
	if (hlen == 0 || hlen >= sizeof(r->host))
		return -1;
	memcpy(r->host, p, hlen);
	r->host[hlen] = '\0';
	p += hlen;
	r->port = 6379;
	if (*p == ':') {
		char *end;
		errno = 0;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || errno || port < 1 || port > 65535)
			return -1;
		r->port = (int)port;
		p = end;
	}
	r->db = 0;
	if (*p == '/' && p[1]) {
		char *end;
		errno = 0;
		long db = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end || errno || db < 0 || db > 1000000)
			return -1;
		r->db = (unsigned)db;
		p = end;
	} else if (*p == '/') {
		p++;
	}
	return *p ? -1 : 0;
}

struct redis *redis_open(const char *url, unsigned timeout_ms, struct strbuf *err)
{
	struct redis *r = xcalloc(1, sizeof(*r));
	if (!url || parse_url(r, url) != 0) {
		strbuf_appendf(err, "not a Redis URL (redis://HOST:PORT[/DB])");
		free(r);
		return NULL;
	}
	if (timeout_ms == 0)
		timeout_ms = 200;
	r->timeout.tv_sec = timeout_ms / 1000;
	r->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	pthread_mutex_init(&r->lock, NULL);
	r->state = BREAKER_CLOSED;
	return r;
}

void redis_close(struct redis *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nidle; i++)
		redisFree(r->idle[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* A new connection with the timeout set and the database selected. */
static redisContext *connect_new(struct redis *r)
{
	redisContext *c = redisConnectWithTimeout(r->host, r->port, r->timeout);
	if (!c || c->err || redisSetTimeout(c, r->timeout) != REDIS_OK) {
		if (c)
			redisFree(c);
		return NULL;
	}
	if (r->db) {
		redisReply *rep = redisCommand(c, "SELECT %u", r->db);
		bool ok = rep && rep->type == REDIS_REPLY_STATUS;
		if (rep)
			freeReplyObject(rep);
		if (!ok) {
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

/* May a call go ahead now? Under r->lock. A half-open breaker lets one
 * probe through; its outcome (note_locked) decides. */
static bool admit_locked(struct redis *r)
{
	if (r->state == BREAKER_OPEN && mono_ms() - r->opened_at_ms >= BREAKER_COOLDOWN_MS)
		r->state = BREAKER_HALF_OPEN;
	if (r->state == BREAKER_CLOSED)
		return true;
	if (r->state == BREAKER_HALF_OPEN && !r->probing) {
		r->probing = true;
		return true;
	}
	r->st.rejected++;
	return false;
}

static void note_locked(struct redis *r, bool ok, uint64_t latency_us)
{
	if (r->state == BREAKER_HALF_OPEN)
		r->probing = false;
	if (ok) {
		r->st.calls++;
		r->st.latency_us += latency_us;
		r->failures = 0;
		if (r->state != BREAKER_CLOSED)
			log_info("redis: reachable again, breaker closed");
		r->state = BREAKER_CLOSED;
		return;
	}
	r->st.errors++;
	r->failures++;
	if (r->state == BREAKER_HALF_OPEN ||
	    (r->state == BREAKER_CLOSED && r->failures >= BREAKER_FAILURES)) {
		if (r->state == BREAKER_CLOSED)
			log_info("redis: %s:%d failing, breaker open", r->host, r->port);
		r->state = BREAKER_OPEN;
		r->opened_at_ms = mono_ms();
		r->st.opened++;
	}
}

void redis_note(struct redis *r, bool ok, uint64_t latency_us)
{
	pthread_mutex_lock(&r->lock);
	note_locked(r, ok, latency_us);
	pthread_mutex_unlock(&r->lock);
}

bool redis_available(struct redis *r)
{
	pthread_mutex_lock(&r->lock);
	bool open = r->state == BREAKER_OPEN && mono_ms() - r->opened_at_ms < BREAKER_COOLDOWN_MS;
	pthread_mutex_unlock(&r->lock);
	return !open;
}

redisContext *redis_connect(struct redis *r)
{
	redisContext *c = connect_new(r);
	if (!c)
		redis_note(r, false, 0);
	return c;
}

/* An idle connection (*reused), or a new one; NULL if refused or
 * unreachable. */
static redisContext *take_conn(struct redis *r, bool *reused)
{
	pthread_mutex_lock(&r->lock);
	if (!admit_locked(r)) {
		pthread_mutex_unlock(&r->lock);
		return NULL;
	}
	redisContext *c = r->nidle ? r->idle[--r->nidle] : NULL;
	pthread_mutex_unlock(&r->lock);
	*reused = c != NULL;
	if (!c && !(c = connect_new(r)))
		redis_note(r, false, 0);
	return c;
}

/* Closes every idle connection: one of them broke, so Redis restarted or
 * the network did, and the others are as stale. */
static void flush_idle(struct redis *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->nidle)
		redisFree(r->idle[--r->nidle]);
	pthread_mutex_unlock(&r->lock);
}

/* Gives a connection back after its call, or closes it if it broke. */
static void give_conn(struct redis *r, redisContext *c, bool ok, uint64_t latency_us)
{
	pthread_mutex_lock(&r->lock);
	note_locked(r, ok, latency_us);
	if (ok && r->nidle < POOL_MAX) {
		r->idle[r->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (c)
		redisFree(c);
}

/* One command, already in the protocol's bytes: its reply, or NULL. */
static redisReply *call(redisContext *c, const char *cmd, size_t len)
{
	void *rep = NULL;
	if (redisAppendFormattedCommand(c, cmd, len) != REDIS_OK ||
	    redisGetReply(c, &rep) != REDIS_OK) {
		if (rep)
			freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/*
 * Runs one formatted command. A reply with no context error is an answer,
 * even an error reply. A pooled connection that broke (Redis restarted
 * since it was last used) is not Redis failing now: the pool is emptied
 * and the command runs once more on a new connection, which decides.
 * Every command chirp sends may run twice (a SET, a script whose effect is
 * the same once more, a PUBLISH a subscriber may see twice at worst).
 */
static redisReply *run(struct redis *r, const char *cmd, size_t len)
{
	bool reused;
	redisContext *c = take_conn(r, &reused); /* admitted by the breaker once */
	if (!c)
		return NULL;
	for (;;) {
		uint64_t t0 = time_mono_ns();
		redisReply *rep = call(c, cmd, len);
		bool ok = rep != NULL && c->err == 0;
		if (!ok && rep) {
			freeReplyObject(rep);
			rep = NULL;
		}
		if (!ok && reused) {
			reused = false;
			redisFree(c);
			flush_idle(r);
			if ((c = connect_new(r)))
				continue;
			redis_note(r, false, 0);
			return NULL;
		}
		give_conn(r, c, ok, (time_mono_ns() - t0) / 1000);
		return rep;
	}
}

redisReply *redis_command(struct redis *r, int argc, const char **argv, const size_t *lens)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0)
		return NULL;
	redisReply *rep = run(r, cmd, (size_t)len);
	free(cmd);
	return rep;
}

redisReply *redis_commandf(struct redis *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	int len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return NULL;
	redisReply *rep = run(r, cmd, (size_t)len);
	free(cmd);
	return rep;
}

void redis_stats(struct redis *r, struct redis_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	if (r->state == BREAKER_OPEN && mono_ms() - r->opened_at_ms >= BREAKER_COOLDOWN_MS)
		r->state = BREAKER_HALF_OPEN;
	out->state = r->state;
	pthread_mutex_unlock(&r->lock);
}
