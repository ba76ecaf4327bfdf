/*
 * redis — chirp's one way to talk to Redis, shared by every Redis adapter
 * (docs/architecture.md, "Cluster mode: Redis").
 *
 * A client is a small pool of blocking hiredis connections, each used by
 * one thread at a time, with a connect and command timeout, and a circuit
 * breaker around them all:
 *
 *   closed     calls go through; BREAKER_FAILURES failures in a row open it;
 *   open       calls fail at once (no network wait) for BREAKER_COOLDOWN_MS;
 *   half-open  then one call at a time may try; a success closes the
 *              breaker, a failure opens it again.
 *
 * A failure is a connection that cannot be made, a timeout, or a broken
 * connection (closed, never reused); an error reply from Redis (a bad
 * script) is the caller's answer, not the server's health. Calls block
 * for at most the timeout: they belong on worker threads, never on an
 * event loop. Every function may be called from any thread.
 */
#ifndef CHIRP_REDIS_REDIS_H
#define CHIRP_REDIS_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

struct strbuf;

#define BREAKER_FAILURES 3       /* failures in a row that open the breaker */
#define BREAKER_COOLDOWN_MS 1000 /* open this long before a probe may try */

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct redis_stats {
	enum breaker_state state;
	uint64_t calls;       /* commands answered (error replies included) */
	uint64_t errors;      /* failures: no connection, timeout, broken */
	uint64_t rejected;    /* calls refused at once by an open breaker */
	uint64_t latency_us;  /* total time of answered commands */
	uint64_t opened;      /* times the breaker opened */
};

struct redis;

/* Parses redis://HOST:PORT[/DB] (HOST a name or an IPv4 address; PORT
 * 6379 if left out). Connects nothing yet: a Redis that is down at start
 * is a degraded service, not a refusal. NULL, with the reason in `err`,
 * if the URL is not one. timeout_ms bounds each connect and each reply. */
struct redis *redis_open(const char *url, unsigned timeout_ms, struct strbuf *err);
void redis_close(struct redis *r); /* NULL is a no-op */

/* Runs one command (argv, binary safe). The reply (caller frees with
 * freeReplyObject), or NULL if Redis could not answer: the breaker is open,
 * or the call failed (counted). */
redisReply *redis_command(struct redis *r, int argc, const char **argv, const size_t *lens);
/* The same with a printf-like hiredis format ("GET %b", ptr, len). */
redisReply *redis_commandf(struct redis *r, const char *fmt, ...);

/* True unless the breaker is open: an adapter may then skip a call it
 * would only make to fail. */
bool redis_available(struct redis *r);

/* A connection of the caller's own (the pubsub's subscriber), made with
 * the client's address, database and timeout; NULL if it cannot be made
 * (counted as a failure). The caller frees it with redisFree. */
redisContext *redis_connect(struct redis *r);
/* Counts the outcome of a call the caller made on its own connection. */
void redis_note(struct redis *r, bool ok, uint64_t latency_us);

void redis_stats(struct redis *r, struct redis_stats *out);
const char *breaker_state_name(enum breaker_state s);

/* A tweet or user id as 20 zero-padded digits into buf[21]: such members
 * sort as their numbers do, and are never a float. */
void redis_id20(char *buf, uint64_t id);

#endif
