/*
 * hits — results in tiers, as both search adapters rank them (fts5.c,
 * postgres.c), so that they order results alike.
 *
 * An adapter collects hits tier by tier (-1: found directly, such as the
 * user whose handle is the query; 0: the query as typed; 1: only through a
 * typo candidate; 2...: looser still), skipping in each tier what an
 * earlier one found (struct search_seen), then sorts them: tier first,
 * then score (lower is better), then newest first.
 */
#ifndef CHIRP_SEARCH_HITS_H
#define CHIRP_SEARCH_HITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEARCH_RECENCY_DAYS 7.0

struct search_hit {
	uint64_t id;
	double score; /* lower is better */
	int tier;
};

void search_hits_sort(struct search_hit *hits, size_t n);

/* Whether `n` hits of the tiers so far fill the page [offset, offset +
 * limit): then no later tier can reach it, for tiers sort first, and an
 * adapter skips them. That spares most queries the typo tier, the
 * costliest one (an OR of every word's candidates, walked to the WINDOW
 * newest matches), whenever the query as typed has a page of matches. */
bool search_hits_page_full(size_t n, unsigned offset, unsigned limit);

/* A match's score (lower is better, so usually negative) weighed by the
 * age of the tweet `id` at now_ms: divided by (1 + age in days / 7). */
double search_hit_recency(double score, uint64_t id, uint64_t now_ms);

/* The ids of hits[0..n), sorted, so that a later tier can skip them.
 * _init allocates, _deinit frees. */
struct search_seen {
	uint64_t *ids;
	size_t n;
};
void search_seen_init(struct search_seen *s, const struct search_hit *hits, size_t n);
void search_seen_deinit(struct search_seen *s);
/* false for a NULL s (nothing seen). */
bool search_seen_has(const struct search_seen *s, uint64_t id);

#endif
