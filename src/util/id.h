/*
 * id — 64-bit time-ordered ids (snowflake layout).
 *
 *   | 1 bit 0 | 41 bits ms since CHIRP_EPOCH_MS | 10 bits node | 12 bits seq |
 *
 * Sorting by id is sorting by creation time, so list cursors are plain ids
 * and every object's created_at is derived from its id (no separate column
 * that could disagree). 41 bits of milliseconds last until 2089; 12 bits of
 * sequence allow 4096 ids per millisecond per node, after which the
 * generator waits for the next millisecond. Distinct nodes (--node-id) never
 * collide, which is what lets several servers share one database.
 */
#ifndef CHIRP_UTIL_ID_H
#define CHIRP_UTIL_ID_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHIRP_EPOCH_MS 1577836800000ULL /* 2020-01-01T00:00:00Z */
#define ID_NODE_BITS 10
#define ID_SEQ_BITS 12
#define ID_MAX_NODE ((1u << ID_NODE_BITS) - 1)

struct idgen {
	pthread_mutex_t lock;
	uint64_t last_ms; /* never goes backwards, even if the clock does */
	uint32_t seq;
	uint32_t node;
};

/* Caller-owned: node must be <= ID_MAX_NODE. */
void idgen_init(struct idgen *g, uint32_t node);
void idgen_deinit(struct idgen *g);

/* Returns a new id, strictly greater than every id this generator returned
 * before. Thread-safe. */
uint64_t idgen_next(struct idgen *g);

/* Builds an id from its parts (tests, the bulk loader). */
uint64_t id_make(uint64_t unix_ms, uint32_t node, uint32_t seq);

/* Milliseconds since the Unix epoch at which `id` was made. */
uint64_t id_unix_ms(uint64_t id);

/* Parses a decimal id: digits only, no sign, no spaces, 1..20 digits, value
 * that fits in 63 bits (ids never use the top bit) and is not zero.
 * Returns false on anything else. */
bool id_parse(const char *s, size_t len, uint64_t *out);

#endif
