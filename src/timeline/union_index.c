/*
 * union_index — see union_index.h.
 *
 * Entries (id, key) sit in one array sorted by id, oldest first, that is
 * allocated once and never moves: a new id is appended (or, a little out
 * of order, slid into place near the end). When the array is full its
 * oldest eighth goes at once, and the horizon becomes the newest id that
 * went: below it a key's ids may be missing. A removed id keeps its place
 * with key 0.
 *
 * Keys live in an open-addressed table beside it: each key's cover (ids
 * above it are all here; NOT_COVERED while its first build runs). A table
 * that fills is replaced by one twice its size; the old one is kept, and
 * freed at close, since a reader may still be probing it.
 *
 * Everything a reader touches is read with relaxed atomic loads between
 * two reads of the sequence count (acquire, then a fence): if the count
 * was odd or moved, the reader saw a writer's half-done work and starts
 * again. Every index it computes is bounded by the array's capacity, so a
 * torn read can give a wrong answer (then thrown away) but never a read
 * outside the array.
 */
#include "timeline/union_index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "timeline/timeline.h"
#include "util/idmap.h"
#include "util/log.h"

#define NOT_COVERED UINT64_MAX
#define READ_TRIES 4 /* then the caller reads the lists: a build is merging */

struct entry {
	uint64_t id, key; /* key 0: removed */
};

struct key_slot {
	uint64_t key, cover; /* key 0: free */
};

struct key_table {
	struct key_table *older; /* the table this one replaced */
	size_t mask, used;
	struct key_slot slot[];
};

struct union_index {
	pthread_mutex_t lock; /* writers */
	atomic_uint seq;      /* odd while a writer is changing anything */
	struct entry *e;      /* [0, len): ascending ids */
	size_t cap, len;
	uint64_t horizon;                 /* ids at or below it may be missing */
	struct key_table *_Atomic keys;   /* the current table */
};

/* Every field a reader may see while a writer changes it goes through
 * these: the seqlock makes the values consistent, these make the reads
 * themselves well defined. */
static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static size_t ld_size(const size_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void st_entry(struct entry *e, uint64_t id, uint64_t key)
{
	st(&e->id, id);
	st(&e->key, key);
}

static void write_begin(struct union_index *ix)
{
	unsigned s = atomic_load_explicit(&ix->seq, memory_order_relaxed);
	atomic_store_explicit(&ix->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void write_end(struct union_index *ix)
{
	atomic_fetch_add_explicit(&ix->seq, 1, memory_order_release);
}

static struct key_table *table_new(size_t size)
{
	struct key_table *t = xcalloc(1, sizeof(*t) + size * sizeof(t->slot[0]));
	t->mask = size - 1;
	return t;
}

/* The slot of `key` in t, or the free slot where it would go; NULL if
 * neither (only a torn read can see a table with no free slot). */
static struct key_slot *probe(struct key_table *t, uint64_t key)
{
	size_t mask = ld_size(&t->mask);
	for (size_t i = idmap_mix(key) & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
		uint64_t k = ld(&t->slot[i].key);
		if (k == key || k == 0)
			return &t->slot[i];
	}
	return NULL;
}

struct union_index *union_index_new(size_t cap)
{
	struct union_index *ix = xcalloc(1, sizeof(*ix));
	pthread_mutex_init(&ix->lock, NULL);
	ix->cap = cap < 8 ? 8 : cap;
	ix->e = xcalloc(ix->cap, sizeof(*ix->e));
	atomic_init(&ix->keys, table_new(64));
	return ix;
}

void union_index_free(struct union_index *ix)
{
	if (!ix)
		return;
	for (struct key_table *t = atomic_load(&ix->keys), *older; t; t = older) {
		older = t->older;
		free(t);
	}
	free(ix->e);
	pthread_mutex_destroy(&ix->lock);
	free(ix);
}

/* ---- writing (under ix->lock) ------------------------------------------------ */

/* The slot of an indexed key, or NULL (0, which marks free slots and
 * removed ids, is never a key). */
static struct key_slot *find_key(struct union_index *ix, uint64_t key)
{
	struct key_slot *s = probe(atomic_load_explicit(&ix->keys, memory_order_relaxed), key);
	return key && s && s->key == key ? s : NULL;
}

/* Keeps at most half of the table used: a full one is copied into one
 * twice its size, published whole, the old one kept for its readers. */
static void keys_make_room(struct union_index *ix)
{
	struct key_table *t = atomic_load_explicit(&ix->keys, memory_order_relaxed);
	if (2 * (t->used + 1) <= t->mask + 1)
		return;
	struct key_table *bigger = table_new(2 * (t->mask + 1));
	for (size_t i = 0; i <= t->mask; i++)
		if (t->slot[i].key)
			*probe(bigger, t->slot[i].key) = t->slot[i];
	bigger->used = t->used;
	bigger->older = t;
	atomic_store_explicit(&ix->keys, bigger, memory_order_release);
}

void union_index_begin(struct union_index *ix, uint64_t key)
{
	if (!key)
		return;
	pthread_mutex_lock(&ix->lock);
	if (!find_key(ix, key)) {
		keys_make_room(ix);
		struct key_table *t = atomic_load_explicit(&ix->keys, memory_order_relaxed);
		struct key_slot *s = probe(t, key);
		write_begin(ix);
		st(&s->cover, NOT_COVERED);
		st(&s->key, key);
		write_end(ix);
		t->used++;
	}
	pthread_mutex_unlock(&ix->lock);
}

/* The first index whose id is above `id` (a writer's view). */
static size_t first_above(const struct union_index *ix, uint64_t id)
{
	size_t lo = 0, hi = ix->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->e[mid].id <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Drops the oldest `d` entries; the horizon moves up to the newest of them. */
static void drop_oldest(struct union_index *ix, size_t d)
{
	if (ix->e[d - 1].id > ix->horizon)
		st(&ix->horizon, ix->e[d - 1].id);
	for (size_t i = d; i < ix->len; i++)
		st_entry(&ix->e[i - d], ix->e[i].id, ix->e[i].key);
	__atomic_store_n(&ix->len, ix->len - d, __ATOMIC_RELAXED);
}

void union_index_push(struct union_index *ix, uint64_t key, uint64_t id)
{
	pthread_mutex_lock(&ix->lock);
	if (!find_key(ix, key) || id <= ix->horizon)
		goto out;
	size_t p = first_above(ix, id);
	if (p > 0 && ix->e[p - 1].id == id)
		goto out; /* already here (a build read it too) */
	write_begin(ix);
	if (ix->len == ix->cap) {
		size_t d = ix->cap / 8;
		drop_oldest(ix, d);
		if (id <= ix->horizon) {
			write_end(ix);
			goto out;
		}
		p -= d;
	}
	for (size_t i = ix->len; i > p; i--)
		st_entry(&ix->e[i], ix->e[i - 1].id, ix->e[i - 1].key);
	st_entry(&ix->e[p], id, key);
	__atomic_store_n(&ix->len, ix->len + 1, __ATOMIC_RELAXED);
	write_end(ix);
out:
	pthread_mutex_unlock(&ix->lock);
}

void union_index_remove(struct union_index *ix, uint64_t id)
{
	pthread_mutex_lock(&ix->lock);
	size_t p = first_above(ix, id);
	if (p > 0 && ix->e[p - 1].id == id && ix->e[p - 1].key) {
		write_begin(ix);
		st(&ix->e[p - 1].key, 0);
		write_end(ix);
	}
	pthread_mutex_unlock(&ix->lock);
}

void union_index_finish(struct union_index *ix, uint64_t key, const uint64_t *ids, size_t n,
			bool truncated)
{
	pthread_mutex_lock(&ix->lock);
	struct key_slot *s = find_key(ix, key);
	if (!s)
		goto out; /* never begun */
	/* Merge outside the write: only writers change the array, and they
	 * wait for this lock. ids is newest first, the array oldest first. */
	struct entry *m = xmalloc((ix->len + n) * sizeof(*m));
	size_t k = 0, i = 0, j = n;
	while (i < ix->len || j > 0) {
		bool from_ids = i == ix->len || (j > 0 && ids[j - 1] < ix->e[i].id);
		struct entry next = from_ids ? (struct entry){ids[--j], key} : ix->e[i++];
		if (from_ids && next.id <= ix->horizon)
			continue; /* below what the index holds */
		if (k > 0 && m[k - 1].id == next.id)
			continue; /* pushed while the store was read */
		m[k++] = next;
	}
	uint64_t cover = truncated && n ? ids[n - 1] - 1 : 0;
	uint64_t old = s->cover;
	write_begin(ix);
	size_t skip = k > ix->cap ? k - ix->cap : 0;
	if (skip && m[skip - 1].id > ix->horizon)
		st(&ix->horizon, m[skip - 1].id);
	for (size_t x = skip; x < k; x++)
		st_entry(&ix->e[x - skip], m[x].id, m[x].key);
	__atomic_store_n(&ix->len, k - skip, __ATOMIC_RELAXED);
	/* An earlier cover stays true: its key's pushes were kept since. */
	st(&s->cover, old != NOT_COVERED && old < cover ? old : cover);
	write_end(ix);
	free(m);
out:
	pthread_mutex_unlock(&ix->lock);
}

size_t union_index_bytes(struct union_index *ix)
{
	pthread_mutex_lock(&ix->lock);
	size_t bytes = sizeof(*ix) + ix->cap * sizeof(*ix->e);
	for (struct key_table *t = atomic_load(&ix->keys); t; t = t->older)
		bytes += sizeof(*t) + (t->mask + 1) * sizeof(t->slot[0]);
	pthread_mutex_unlock(&ix->lock);
	return bytes;
}

/* ---- reading (no lock) -------------------------------------------------------- */

/* The keys a page asks for, as a small open-addressed set of its own. */
struct key_set {
	uint64_t *slot; /* 0: free */
	size_t mask;
	uint64_t inline_slots[128];
};

static void key_set_init(struct key_set *ks, const uint64_t *keys, size_t nkeys)
{
	size_t size = 16;
	while (size < 2 * nkeys)
		size *= 2;
	ks->slot = size <= 128 ? ks->inline_slots : xmalloc(size * sizeof(uint64_t));
	memset(ks->slot, 0, size * sizeof(uint64_t));
	ks->mask = size - 1;
	for (size_t i = 0; i < nkeys; i++) {
		size_t h = idmap_mix(keys[i]) & ks->mask;
		while (ks->slot[h] && ks->slot[h] != keys[i])
			h = (h + 1) & ks->mask;
		ks->slot[h] = keys[i];
	}
}

static bool key_set_has(const struct key_set *ks, uint64_t key)
{
	if (!key)
		return false; /* a removed id */
	for (size_t h = idmap_mix(key) & ks->mask;; h = (h + 1) & ks->mask) {
		if (ks->slot[h] == key)
			return true;
		if (!ks->slot[h])
			return false;
	}
}

static void key_set_deinit(struct key_set *ks)
{
	if (ks->slot != ks->inline_slots)
		free(ks->slot);
}

/* The first index in [0, len) whose id is at or above `bound`. */
static size_t first_at_or_above(const struct entry *e, size_t len, uint64_t bound)
{
	size_t lo = 0, hi = len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ld(&e[mid].id) < bound)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One attempt at the page, between two reads of the count. Answers
 * TIMELINE_OK or TIMELINE_MISS as union_index_range does, from what it
 * read; the caller throws the answer away if the count moved. */
static int read_page(struct union_index *ix, const struct key_set *ks, const uint64_t *keys,
		     size_t nkeys, const struct store_page *page, uint64_t *out, size_t *n)
{
	*n = 0;
	/* Exact above the horizon and above each key's cover. */
	uint64_t exact = ld(&ix->horizon);
	struct key_table *t = atomic_load_explicit(&ix->keys, memory_order_acquire);
	for (size_t i = 0; i < nkeys; i++) {
		struct key_slot *s = probe(t, keys[i]);
		uint64_t cover = keys[i] && s && ld(&s->key) == keys[i] ? ld(&s->cover) : NOT_COVERED;
		if (cover == NOT_COVERED)
			return TIMELINE_MISS;
		exact = cover > exact ? cover : exact;
	}
	size_t len = ld_size(&ix->len);
	len = len > ix->cap ? ix->cap : len;
	const struct entry *e = ix->e;
	/* A page's worth of hits is usually a few dozen entries away; a walk
	 * past this many is cheaper as list reads. */
	size_t budget = 16 * (size_t)page->limit + 256;

	if (page->oldest_first) {
		if (page->after < exact)
			return TIMELINE_MISS; /* the oldest ids of the window may be gone */
		size_t i = first_at_or_above(e, len, page->after + 1);
		for (; i < len && *n < page->limit; i++) {
			uint64_t id = ld(&e[i].id);
			if (id >= page->before)
				break;
			if (!budget--)
				return TIMELINE_MISS;
			if (key_set_has(ks, ld(&e[i].key)))
				out[(*n)++] = id;
		}
		for (size_t a = 0, b = *n; a + 1 < b; a++, b--) { /* newest first */
			uint64_t x = out[a];
			out[a] = out[b - 1];
			out[b - 1] = x;
		}
		return TIMELINE_OK;
	}

	size_t i = first_at_or_above(e, len, page->before);
	while (i > 0 && *n < page->limit) {
		uint64_t id = ld(&e[--i].id);
		if (id <= page->after)
			break;
		if (id <= exact || !budget--)
			return TIMELINE_MISS; /* the page goes on below what is held */
		if (key_set_has(ks, ld(&e[i].key)))
			out[(*n)++] = id;
	}
	/* Short of the limit: exact only if nothing of the window is missing. */
	return *n == page->limit || page->after >= exact ? TIMELINE_OK : TIMELINE_MISS;
}

int union_index_range(struct union_index *ix, const uint64_t *keys, size_t nkeys,
		      const struct store_page *page, uint64_t *out, size_t *n)
{
	struct key_set ks;
	key_set_init(&ks, keys, nkeys);
	int rc = TIMELINE_MISS;
	*n = 0;
	for (int tries = 0; tries < READ_TRIES; tries++) {
		unsigned s = atomic_load_explicit(&ix->seq, memory_order_acquire);
		if (s & 1)
			continue; /* a writer is at work */
		rc = read_page(ix, &ks, keys, nkeys, page, out, n);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&ix->seq, memory_order_relaxed) == s)
			goto done;
	}
	rc = TIMELINE_MISS;
	*n = 0;
done:
	key_set_deinit(&ks);
	return rc;
}
