/*
 * stripes — a fixed set of locks for a table's slots: slot i is guarded
 * by lock i % STRIPES, so threads touching different slots seldom wait
 * for each other, for the memory of 64 mutexes rather than one per slot.
 * The session cache and the engagement cache use them.
 */
#ifndef CHIRP_UTIL_STRIPES_H
#define CHIRP_UTIL_STRIPES_H

#include <pthread.h>
#include <stddef.h>

#define STRIPES 64

struct stripes {
	pthread_mutex_t lock[STRIPES];
};

static inline void stripes_init(struct stripes *s)
{
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&s->lock[i], NULL);
}

static inline void stripes_deinit(struct stripes *s)
{
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&s->lock[i]);
}

/* The lock of slot `slot`. */
static inline pthread_mutex_t *stripes_of(struct stripes *s, size_t slot)
{
	return &s->lock[slot % STRIPES];
}

#endif
