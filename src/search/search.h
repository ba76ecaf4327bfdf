/*
 * search — the port to chirp's full-text index (docs/architecture.md,
 * "Ports"; the search service on top is search/service.h).
 *
 * The index is derived data: the store stays the truth. An adapter keeps
 * itself up to date by pulling what the store committed after its own
 * watermark, on a thread of its own, whenever search_notify() nudges it
 * (and once at start, which is also crash recovery). So posting never waits
 * for indexing, and an index that lags or is rebuilt loses nothing.
 *
 * Queries are parsed by search_query_parse (search/query.c) into terms that
 * say what the user meant; each adapter turns them into its own syntax, so
 * user input never reaches the engine raw. Results are ids only: callers
 * hydrate them (and skip ids the store no longer has, which is how a
 * delete the index has not caught up with stays invisible).
 *
 * The embedded adapter is SQLite FTS5 (search/fts5.c); the PostgreSQL
 * full-text + trigram adapter (search/postgres.c) plugs in behind the same
 * struct search_ops, for chirp on a PostgreSQL store.
 */
#ifndef CHIRP_SEARCH_SEARCH_H
#define CHIRP_SEARCH_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "store/store.h"
#include "util/strbuf.h"

#define SEARCH_QUERY_MAX 512  /* bytes of q */
#define SEARCH_TERMS_MAX 16   /* terms kept from one query; the rest are ignored */
#define SEARCH_OFFSET_MAX 1000 /* how deep relevance paging goes */

enum search_term_kind {
	SEARCH_WORD,   /* all words must match; typo-tolerant */
	SEARCH_PHRASE, /* "exact phrase": these words, in this order */
	SEARCH_PREFIX, /* prefix*: any word starting so */
};

struct search_term {
	enum search_term_kind kind;
	const char *text; /* into the parsed query's copy; not NUL-terminated */
	size_t len;
};

/* What a query string means. `from` is the handle of from:handle, if any
 * (the last one wins); the caller resolves it to an author id. */
struct search_query {
	struct search_term terms[SEARCH_TERMS_MAX];
	size_t nterms;
	const char *from;
	size_t from_len;
};

/* Parses q (UTF-8, at most SEARCH_QUERY_MAX bytes; the caller checks).
 * Terms point into q. Never fails: anything that is not syntax is text. */
void search_query_parse(const char *q, size_t len, struct search_query *out);

enum search_sort {
	SEARCH_RELEVANCE, /* bm25 blended with recency; exact matches before typo matches */
	SEARCH_RECENT,    /* newest first */
};

/* Which tweets to return. Relevance pages by `offset` (Mastodon's search
 * does too); recent pages by ids, as every other list (struct store_page).
 * Both honour before/after as bounds. */
struct search_request {
	const struct search_query *query;
	bool has_author;
	uint64_t author_id; /* from: */
	enum search_sort sort;
	struct store_page page;
	unsigned offset;
	uint64_t viewer_id; /* whose "liked" the tweets show; 0: anonymous */
};

struct search_stats {
	uint64_t tweets_indexed, users_indexed; /* since start */
	uint64_t tweets_removed;
	uint64_t batches;
	uint64_t last_batch_us;   /* how long the last batch took */
	uint64_t watermark_tweet; /* the newest tweet id in the index */
	uint64_t lag_ms;          /* post to searchable, for the oldest tweet of the last batch */
	bool failing;             /* the last batch failed; it will be retried */
};

struct search_options {
	const char *data_dir;    /* fts5: where search.db lives */
	const char *pg_conninfo; /* postgres: a libpq URI or key=value string */
	struct store *store;     /* what the index follows */
};

struct search;
struct search_reader;

struct search_ops {
	const char *name;
	struct search *(*open)(const struct search_options *opt, struct strbuf *err);
	/* Stops the indexer (after one last catch-up) and frees everything. */
	void (*close)(struct search *s);
	struct search_reader *(*reader_new)(struct search *s);
	void (*reader_free)(struct search_reader *r);

	/* Matching tweet ids in result order into ids[0..page.limit); *n set. */
	int (*tweets)(struct search_reader *r, const struct search_request *req, uint64_t *ids,
		      size_t *n);
	/* Matching user ids: handle and display name, by prefix, typo-tolerant. */
	int (*users)(struct search_reader *r, const struct search_query *q, unsigned limit,
		     unsigned offset, uint64_t *ids, size_t *n);

	/* The store committed new tweets or users: catch up soon. Any thread;
	 * never blocks. */
	void (*notify)(struct search *s);
	/* A tweet was deleted: drop it from the index. Any thread; never
	 * blocks. Until it is dropped, readers must skip it at hydration. */
	void (*forget_tweet)(struct search *s, uint64_t tweet_id);

	void (*stats)(struct search *s, struct search_stats *out);
};

struct search {
	const struct search_ops *ops;
};
struct search_reader {
	const struct search_ops *ops;
};

extern const struct search_ops search_fts5_ops;
extern const struct search_ops search_postgres_ops;

/* Registers the index's effects of committed writes (search/index_writes.c):
 * new tweets and users, deleted tweets. */
struct writes;
void search_follow_writes(struct search *s, struct writes *ws);

#endif
