/*
 * hits — see hits.h.
 */
#include "search/hits.h"

#include <stdlib.h>

#include "util/id.h"
#include "util/log.h"

static int by_rank(const void *a, const void *b)
{
	const struct search_hit *x = a, *y = b;
	if (x->tier != y->tier)
		return x->tier - y->tier;
	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return (x->id < y->id) - (x->id > y->id);
}

void search_hits_sort(struct search_hit *hits, size_t n)
{
	qsort(hits, n, sizeof(*hits), by_rank);
}

double search_hit_recency(double score, uint64_t id, uint64_t now_ms)
{
	uint64_t ms = id_unix_ms(id);
	double age_days = ms < now_ms ? (double)(now_ms - ms) / 86400000.0 : 0;
	return score / (1.0 + age_days / SEARCH_RECENCY_DAYS);
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void search_seen_init(struct search_seen *s, const struct search_hit *hits, size_t n)
{
	s->ids = xmalloc((n ? n : 1) * sizeof(*s->ids));
	for (size_t i = 0; i < n; i++)
		s->ids[i] = hits[i].id;
	s->n = n;
	qsort(s->ids, n, sizeof(*s->ids), by_id);
}

void search_seen_deinit(struct search_seen *s)
{
	free(s->ids);
	s->ids = NULL;
	s->n = 0;
}

bool search_seen_has(const struct search_seen *s, uint64_t id)
{
	return s && bsearch(&id, s->ids, s->n, sizeof(*s->ids), by_id);
}

bool search_hits_page_full(size_t n, unsigned offset, unsigned limit)
{
	return n >= (size_t)offset + limit;
}
