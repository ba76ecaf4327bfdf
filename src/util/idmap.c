/*
 * idmap — see idmap.h. Keys are mixed with a multiplicative hash so that
 * snowflake ids, whose low bits are mostly a sequence number, spread.
 */
#include "util/idmap.h"

#include <stdlib.h>

#include "util/log.h"

static size_t bucket(const struct idmap *m, uint64_t key)
{
	key ^= key >> 31;
	key *= 0x9e3779b97f4a7c15ULL;
	key ^= key >> 29;
	return (size_t)(key & (m->nbuckets - 1));
}

void idmap_init(struct idmap *m, size_t nbuckets)
{
	size_t n = 16;
	while (n < nbuckets)
		n *= 2;
	m->table = xcalloc(n, sizeof(*m->table));
	m->nbuckets = n;
	m->n = 0;
}

void idmap_deinit(struct idmap *m)
{
	free(m->table);
	m->table = NULL;
	m->nbuckets = m->n = 0;
}

static struct idmap_node **slot(struct idmap *m, uint64_t key)
{
	struct idmap_node **p = &m->table[bucket(m, key)];
	while (*p && (*p)->key != key)
		p = &(*p)->next;
	return p;
}

struct idmap_node *idmap_get(struct idmap *m, uint64_t key)
{
	return *slot(m, key);
}

void idmap_prefetch_bucket(const struct idmap *m, uint64_t key)
{
	__builtin_prefetch(&m->table[bucket(m, key)]);
}

void idmap_prefetch_node(const struct idmap *m, uint64_t key)
{
	const struct idmap_node *node = m->table[bucket(m, key)];
	if (node)
		__builtin_prefetch(node);
}

static void grow(struct idmap *m)
{
	struct idmap old = *m;
	m->nbuckets *= 2;
	m->table = xcalloc(m->nbuckets, sizeof(*m->table));
	for (size_t i = 0; i < old.nbuckets; i++) {
		for (struct idmap_node *node = old.table[i], *next; node; node = next) {
			next = node->next;
			struct idmap_node **b = &m->table[bucket(m, node->key)];
			node->next = *b;
			*b = node;
		}
	}
	free(old.table);
}

void idmap_insert(struct idmap *m, struct idmap_node *node)
{
	struct idmap_node **b = &m->table[bucket(m, node->key)];
	node->next = *b;
	*b = node;
	if (++m->n > m->nbuckets)
		grow(m);
}

struct idmap_node *idmap_remove(struct idmap *m, uint64_t key)
{
	struct idmap_node **p = slot(m, key), *node = *p;
	if (node) {
		*p = node->next;
		node->next = NULL;
		m->n--;
	}
	return node;
}

void lru_unlink(struct lru *l, struct lru_node *n)
{
	if (n->newer)
		n->newer->older = n->older;
	else
		l->newest = n->older;
	if (n->older)
		n->older->newer = n->newer;
	else
		l->oldest = n->newer;
	n->newer = n->older = NULL;
}

void lru_push_newest(struct lru *l, struct lru_node *n)
{
	n->older = l->newest;
	n->newer = NULL;
	if (l->newest)
		l->newest->newer = n;
	l->newest = n;
	if (!l->oldest)
		l->oldest = n;
}

void lru_touch(struct lru *l, struct lru_node *n)
{
	lru_unlink(l, n);
	lru_push_newest(l, n);
}
