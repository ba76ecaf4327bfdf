/*
 * union_index — the newest ids of many lists in one time-ordered index,
 * read without a lock (the memory adapter's `range_union`, timeline.h).
 *
 * The feed keeps one of these beside the celebrities' own-tweet lists, so
 * that a home page merges every celebrity its reader follows in one walk
 * instead of one locked list read each (docs/architecture.md, "A read").
 *
 * A key is indexed from union_index_begin on: its pushes are kept from
 * then, and once union_index_finish has merged the ids read from the
 * store, every id of that key above its cover is in the index. Entries
 * are kept newest first up to a fixed capacity; past it, the oldest go
 * and the horizon moves up. A page is answered only when that makes it
 * exact: every key it asks for is covered, and the page does not reach
 * below the horizon or a key's cover. Otherwise the caller reads the
 * lists one by one, as without the index.
 *
 * Writers (pushes, removes, builds) take a mutex. Readers take none: a
 * sequence count, odd while a writer changes anything, tells a reader
 * that what it read may be torn, and it reads again (a seqlock).
 */
#ifndef CHIRP_TIMELINE_UNION_INDEX_H
#define CHIRP_TIMELINE_UNION_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct union_index;

/* An index of at most `cap` ids (at least 8). */
struct union_index *union_index_new(size_t cap);
void union_index_free(struct union_index *ix);

/* Starts indexing `key` (its pushes are kept from now); a key already
 * indexed stays as it is. */
void union_index_begin(struct union_index *ix, uint64_t key);
/* Merges the ids of `key` read from the store (newest first; `truncated`:
 * the store has older ones) and marks it covered. */
void union_index_finish(struct union_index *ix, uint64_t key, const uint64_t *ids, size_t n,
			bool truncated);
/* Adds a new id of `key`, if `key` is indexed. */
void union_index_push(struct union_index *ix, uint64_t key, uint64_t id);
/* Forgets `id`, whichever key it has. */
void union_index_remove(struct union_index *ix, uint64_t id);

/*
 * The page of the union of the ids of keys[0..nkeys) (no duplicates),
 * newest first, into out[0..page->limit): TIMELINE_OK if that is exactly
 * the page, else TIMELINE_MISS (a key not covered, a page reaching below
 * what the index holds, a walk longer than a few pages' worth of entries,
 * or writers busy the whole time).
 */
int union_index_range(struct union_index *ix, const uint64_t *keys, size_t nkeys,
		      const struct store_page *page, uint64_t *out, size_t *n);

/* Memory allocated. */
size_t union_index_bytes(struct union_index *ix);

#endif
