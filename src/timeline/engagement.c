/*
 * engagement — readers' recent likes and retweets (engagement.h).
 */
#include "timeline/engagement.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "util/log.h"
#include "util/stripes.h"

struct slot {
	uint64_t user; /* 0: empty (user ids are never 0) */
	uint64_t floor;
	unsigned n; /* ENGAGEMENT_MAX + 1: more than ENGAGEMENT_MAX, none kept */
	uint64_t ids[ENGAGEMENT_MAX];
	uint8_t bits[ENGAGEMENT_MAX];
};

struct engagement_cache {
	_Atomic uint64_t epoch;
	unsigned shift; /* 64 - log2(slots) */
	struct slot *slots;
	struct stripes locks;
	_Atomic uint64_t hits, misses;
};

struct engagement_cache *engagement_cache_new(size_t slots)
{
	assert(slots >= STRIPES && (slots & (slots - 1)) == 0);
	struct engagement_cache *c = xcalloc(1, sizeof(*c));
	c->shift = 64;
	for (size_t s = slots; s > 1; s >>= 1)
		c->shift--;
	c->slots = xcalloc(slots, sizeof(*c->slots));
	stripes_init(&c->locks);
	return c;
}

void engagement_cache_free(struct engagement_cache *c)
{
	if (!c)
		return;
	stripes_deinit(&c->locks);
	free(c->slots);
	free(c);
}

uint64_t engagement_cache_epoch(struct engagement_cache *c)
{
	return atomic_load(&c->epoch);
}

/* User ids are snowflakes, whose low bits barely change: a Fibonacci
 * hash spreads them. */
static size_t slot_of(const struct engagement_cache *c, uint64_t user)
{
	return (size_t)((user * 0x9e3779b97f4a7c15ULL) >> c->shift);
}

enum engagement_answer engagement_cache_get(struct engagement_cache *c, uint64_t user,
                                            const uint64_t *ids, size_t n, uint8_t *state)
{
	uint64_t lo = UINT64_MAX;
	for (size_t i = 0; i < n; i++)
		lo = ids[i] < lo ? ids[i] : lo;
	size_t at = slot_of(c, user);
	struct slot *s = &c->slots[at];
	pthread_mutex_t *lock = stripes_of(&c->locks, at);
	pthread_mutex_lock(lock);
	enum engagement_answer a = ENGAGEMENT_MISS;
	if (s->user == user && s->n > ENGAGEMENT_MAX && lo <= s->floor)
		a = ENGAGEMENT_MANY; /* a range that holds one with too many */
	else if (s->user == user && s->n <= ENGAGEMENT_MAX && s->floor <= lo)
		a = ENGAGEMENT_HIT;
	for (size_t i = 0; a == ENGAGEMENT_HIT && i < n; i++) {
		state[i] = 0;
		for (unsigned k = 0; k < s->n; k++)
			if (s->ids[k] == ids[i])
				state[i] = s->bits[k];
	}
	pthread_mutex_unlock(lock);
	atomic_fetch_add_explicit(a == ENGAGEMENT_HIT ? &c->hits : &c->misses, 1,
	                          memory_order_relaxed);
	return a;
}

void engagement_cache_put(struct engagement_cache *c, uint64_t user, uint64_t floor,
                          const uint64_t *ids, const uint8_t *bits, size_t n, uint64_t epoch)
{
	size_t at = slot_of(c, user);
	struct slot *s = &c->slots[at];
	pthread_mutex_t *lock = stripes_of(&c->locks, at);
	pthread_mutex_lock(lock);
	/* Under the lock: a forget that moved the epoch after this check
	 * removes the entry only once this lets go. */
	if (epoch == atomic_load(&c->epoch)) {
		s->user = user;
		s->floor = floor;
		s->n = n > ENGAGEMENT_MAX ? ENGAGEMENT_MAX + 1 : 0;
		for (size_t i = 0; n <= ENGAGEMENT_MAX && i < n; i++) {
			/* a tweet liked and retweeted is one entry */
			unsigned k = 0;
			while (k < s->n && s->ids[k] != ids[i])
				k++;
			if (k == s->n) {
				s->ids[s->n] = ids[i];
				s->bits[s->n++] = 0;
			}
			s->bits[k] |= bits[i];
		}
	}
	pthread_mutex_unlock(lock);
}

void engagement_cache_forget(struct engagement_cache *c, uint64_t user)
{
	atomic_fetch_add(&c->epoch, 1); /* first: reads under way are not kept */
	size_t at = slot_of(c, user);
	pthread_mutex_t *lock = stripes_of(&c->locks, at);
	pthread_mutex_lock(lock);
	if (c->slots[at].user == user)
		c->slots[at].user = 0;
	pthread_mutex_unlock(lock);
}

void engagement_cache_stats(struct engagement_cache *c, uint64_t *hits, uint64_t *misses)
{
	*hits = atomic_load_explicit(&c->hits, memory_order_relaxed);
	*misses = atomic_load_explicit(&c->misses, memory_order_relaxed);
}
