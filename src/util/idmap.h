/*
 * idmap — an intrusive hash table keyed by 64-bit ids, and the LRU list
 * that usually goes with it.
 *
 * The timelines (timeline/memory.c) and the tweet cache
 * (timeline/tweet_cache_memory.c) both keep objects by id and evict the least
 * recently used; these two small structures are what they share. Both are
 * intrusive: the caller's object embeds a `struct idmap_node` and a
 * `struct lru_node` and is found back with container_of, so nothing here
 * allocates per object. Neither locks: callers hold their own lock.
 */
#ifndef CHIRP_UTIL_IDMAP_H
#define CHIRP_UTIL_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util/container_of.h"

/* Spreads an id's bits (snowflake ids differ mostly in their low bits),
 * for tables that pick a shard or a slot of their own. */
static inline uint64_t idmap_mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

struct idmap_node {
	uint64_t key;
	struct idmap_node *next;
};

struct idmap {
	struct idmap_node **table;
	size_t nbuckets; /* a power of two */
	size_t n;
};

/* Caller-owned storage; _deinit frees the table, not the nodes. */
void idmap_init(struct idmap *m, size_t nbuckets);
void idmap_deinit(struct idmap *m);

/* The node with `key`, or NULL. */
struct idmap_node *idmap_get(struct idmap *m, uint64_t key);

/* Hints that `key` will be looked up soon, in two steps over a batch of
 * keys: first every key's bucket, then (the buckets now loaded) every
 * first node in them, so that the batch's cache misses overlap instead of
 * following one another. Neither changes anything or needs the key to be
 * there; a caller that locks holds its lock for them as for idmap_get. */
void idmap_prefetch_bucket(const struct idmap *m, uint64_t key);
void idmap_prefetch_node(const struct idmap *m, uint64_t key);

/* Adds a node whose key is not in the map yet; grows the table as needed. */
void idmap_insert(struct idmap *m, struct idmap_node *node);

/* Unlinks the node with `key` and returns it, or NULL if absent. */
struct idmap_node *idmap_remove(struct idmap *m, uint64_t key);

/* Least-recently-used order: newest at one end, oldest at the other. */
struct lru_node {
	struct lru_node *newer, *older;
};

struct lru {
	struct lru_node *newest, *oldest;
};

void lru_unlink(struct lru *l, struct lru_node *n);
void lru_push_newest(struct lru *l, struct lru_node *n);

/* Moves a node already in the list to the newest end. */
void lru_touch(struct lru *l, struct lru_node *n);

#endif
