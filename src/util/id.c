/*
 * id — see id.h.
 */
#include "util/id.h"

#include <time.h>

#include "util/timeutil.h"

void idgen_init(struct idgen *g, uint32_t node)
{
	pthread_mutex_init(&g->lock, NULL);
	g->last_ms = 0;
	g->seq = 0;
	g->node = node & ID_MAX_NODE;
}

void idgen_deinit(struct idgen *g)
{
	pthread_mutex_destroy(&g->lock);
}

uint64_t id_make(uint64_t unix_ms, uint32_t node, uint32_t seq)
{
	uint64_t ms = unix_ms > CHIRP_EPOCH_MS ? unix_ms - CHIRP_EPOCH_MS : 0;
	return (ms << (ID_NODE_BITS + ID_SEQ_BITS)) | ((uint64_t)(node & ID_MAX_NODE) << ID_SEQ_BITS) |
	       (seq & ((1u << ID_SEQ_BITS) - 1));
}

uint64_t id_unix_ms(uint64_t id)
{
	return (id >> (ID_NODE_BITS + ID_SEQ_BITS)) + CHIRP_EPOCH_MS;
}

uint64_t idgen_next(struct idgen *g)
{
	pthread_mutex_lock(&g->lock);
	uint64_t now = time_now_ms();
	if (now <= g->last_ms) {
		/* Same millisecond, or the clock stepped back: keep counting on
		 * the last millisecond; borrow the next one when it is full. */
		now = g->last_ms;
		if (++g->seq >> ID_SEQ_BITS) {
			now++;
			g->seq = 0;
		}
	} else {
		g->seq = 0;
	}
	g->last_ms = now;
	uint64_t id = id_make(now, g->node, g->seq);
	pthread_mutex_unlock(&g->lock);
	return id;
}

bool id_parse(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v == 0)
		return false;
	*out = v;
	return true;
}
