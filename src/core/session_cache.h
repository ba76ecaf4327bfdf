/*
 * session_cache — who a bearer token is, kept in memory so that the
 * gateway does not read the token's session from the store on every
 * request (docs/architecture.md, "A read").
 *
 * A cached answer may be used only while nothing that could change it
 * has committed since it was read. That is kept with one epoch: every
 * write that ends a session or changes a block or a mute moves it on
 * (after its commit, before its caller is answered), and an entry counts
 * only while its epoch is the current one. The reader takes the epoch
 * before it reads the session: a read that began before such a commit is
 * stored under the old epoch, so it is never used; a read after it saw
 * the commit. Hence the rule for callers: session_cache_epoch() comes
 * before the store read's snapshot is taken, so only a read that opens
 * its snapshot (store_ops.snapshot_open false before it) is kept.
 *
 * This holds only where this process makes every such write, so chirp
 * keeps a cache only when the store says so (struct store.sole_writer:
 * SQLite opened exclusive), and it must outlive the store's writer, whose
 * effects move its epoch. With PostgreSQL, where other nodes log out too,
 * every request reads its session.
 *
 * Direct-mapped (a token's slot is fixed by its hash; a collision
 * replaces), striped locks; any thread.
 */
#ifndef CHIRP_CORE_SESSION_CACHE_H
#define CHIRP_CORE_SESSION_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

struct session_cache;

#define SESSION_CACHE_SLOTS 65536 /* 4.5 MiB; chirp's, per process */

/* A cache of `slots` entries (a power of two), 72 bytes each. */
struct session_cache *session_cache_new(size_t slots);
void session_cache_free(struct session_cache *c); /* NULL is a no-op */

/* The epoch to store a read under: take it before the read. */
uint64_t session_cache_epoch(struct session_cache *c);

/* Every entry stops counting. After the commit of a write that ends a
 * session or changes whether a user has relations. */
void session_cache_invalidate(struct session_cache *c);

/* The session of `token_hash` if cached under the current epoch with a
 * recorded use after `used_after_ms`: its id, user_id, last_used_ms and
 * has_relations (device and ip are ""). */
bool session_cache_get(struct session_cache *c, const uint8_t *token_hash, uint64_t used_after_ms,
                       struct session *out);

/* Keeps `s` as the session of `token_hash`, read under `epoch`. */
void session_cache_put(struct session_cache *c, const uint8_t *token_hash, const struct session *s,
                       uint64_t epoch);

/* Lookups answered from memory, and those that were not. */
void session_cache_stats(struct session_cache *c, uint64_t *hits, uint64_t *misses);

#endif
