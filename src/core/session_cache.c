/*
 * session_cache — the sessions of recently seen tokens (session_cache.h).
 */
#include "core/session_cache.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/stripes.h"

struct slot {
	uint8_t token_hash[TOKEN_HASH_LEN];
	uint64_t epoch; /* 0: empty (epochs start at 1) */
	uint64_t id, user_id, last_used_ms;
	bool has_relations;
};

struct session_cache {
	_Atomic uint64_t epoch;
	size_t mask;
	struct slot *slots;
	struct stripes locks;
	_Atomic uint64_t hits, misses;
};

struct session_cache *session_cache_new(size_t slots)
{
	assert(slots >= STRIPES && (slots & (slots - 1)) == 0);
	struct session_cache *c = xcalloc(1, sizeof(*c));
	atomic_init(&c->epoch, 1);
	c->mask = slots - 1;
	c->slots = xcalloc(slots, sizeof(*c->slots));
	stripes_init(&c->locks);
	return c;
}

void session_cache_free(struct session_cache *c)
{
	if (!c)
		return;
	stripes_deinit(&c->locks);
	free(c->slots);
	free(c);
}

uint64_t session_cache_epoch(struct session_cache *c)
{
	return atomic_load(&c->epoch);
}

void session_cache_invalidate(struct session_cache *c)
{
	atomic_fetch_add(&c->epoch, 1);
}

/* The token hash is a SHA-256: any 8 of its bytes are uniform. */
static size_t slot_of(const struct session_cache *c, const uint8_t *token_hash)
{
	uint64_t h;
	memcpy(&h, token_hash, sizeof(h));
	return (size_t)h & c->mask;
}

bool session_cache_get(struct session_cache *c, const uint8_t *token_hash, uint64_t used_after_ms,
                       struct session *out)
{
	size_t i = slot_of(c, token_hash);
	struct slot *s = &c->slots[i];
	pthread_mutex_t *lock = stripes_of(&c->locks, i);
	pthread_mutex_lock(lock);
	bool hit = s->epoch == atomic_load(&c->epoch) && s->last_used_ms > used_after_ms &&
	           memcmp(s->token_hash, token_hash, TOKEN_HASH_LEN) == 0;
	if (hit) {
		memset(out, 0, sizeof(*out));
		out->id = s->id;
		out->user_id = s->user_id;
		out->last_used_ms = s->last_used_ms;
		out->has_relations = s->has_relations;
	}
	pthread_mutex_unlock(lock);
	atomic_fetch_add_explicit(hit ? &c->hits : &c->misses, 1, memory_order_relaxed);
	return hit;
}

void session_cache_put(struct session_cache *c, const uint8_t *token_hash,
                       const struct session *sess, uint64_t epoch)
{
	size_t i = slot_of(c, token_hash);
	struct slot *s = &c->slots[i];
	pthread_mutex_t *lock = stripes_of(&c->locks, i);
	pthread_mutex_lock(lock);
	memcpy(s->token_hash, token_hash, TOKEN_HASH_LEN);
	s->epoch = epoch;
	s->id = sess->id;
	s->user_id = sess->user_id;
	s->last_used_ms = sess->last_used_ms;
	s->has_relations = sess->has_relations;
	pthread_mutex_unlock(lock);
}

void session_cache_stats(struct session_cache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = atomic_load_explicit(&c->hits, memory_order_relaxed);
	*misses = atomic_load_explicit(&c->misses, memory_order_relaxed);
}
