/*
 * search service — what chirp does with a search, apart from HTTP
 * (docs/architecture.md, "Services"). api/search.c parses the request,
 * calls search_service_tweets or search_service_users, and renders what
 * comes back; this module knows nothing of h2o.
 *
 * A query over long posting lists can take milliseconds, and an event loop
 * must not wait for it, so every search runs on the service's own pool of
 * search threads, each with its own index and store readers (no lock is
 * shared between queries). The caller hears back through a callback.
 *
 * Tweets: `from:handle` is resolved to its author, the index (the search
 * port, search/search.h) gives ids, and feed_hydrate turns them into JSON
 * from the tweet cache or the store. A tweet the index still has but the
 * store does not (deleted, and the index has not caught up) is left out,
 * the index is told to forget it, and the page is filled from further
 * down. Users: the index gives ids, each is read from the store and
 * rendered; one that is gone meanwhile is left out.
 */
#ifndef CHIRP_SEARCH_SERVICE_H
#define CHIRP_SEARCH_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "search/search.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "util/strbuf.h"

struct search_service_options {
	unsigned threads;  /* search threads (--search-threads) */
	size_t max_queued; /* searches waiting for a thread; more are refused */
};

/* The outcome of one search. */
struct search_result {
	int status;              /* STORE_OK, or why not (STORE_BUSY: too many waiting) */
	struct strbuf json;      /* STORE_OK: a JSON array of Tweet or Account */
	size_t n;                /* items in it */
	uint64_t newest, oldest; /* tweets: the highest and lowest id in it; 0 if none */
};

/* Runs once per search, on a search thread, or at once on the calling
 * thread if the search was refused. `res` is the caller's (see below). */
typedef void (*search_done_fn)(struct search_result *res, void *arg);

struct search_service;

/* Starts the search threads. `index`, `store` and `feed` must outlive the
 * service. */
struct search_service *search_service_new(struct search *index, struct store *store,
					  struct feed *feed,
					  const struct search_service_options *opt);
/* Runs the searches still queued (their callbacks too), stops the threads
 * and frees the service. NULL is a no-op. */
void search_service_free(struct search_service *s);

/*
 * A page of tweets matching req->query, in req->sort order, within
 * req->page, from req->offset (relevance). The service sets has_author
 * and author_id itself from the query's from:. A relevance query with a
 * phrase is listed newest first, paged by req->offset (service.c,
 * has_phrase).
 *
 * `req`, the query it points to, and the text the query's terms point into
 * must stay valid until `done` runs. `res` is the caller's storage: the
 * service initialises it, fills it and hands it to done(res, arg); the
 * caller strbuf_deinit()s res->json afterwards, whatever the status.
 */
void search_service_tweets(struct search_service *s, const struct search_request *req,
			   struct search_result *res, search_done_fn done, void *arg);

/* A page of at most `limit` accounts matching `q`, from `offset`; `q`
 * and `res` as for search_service_tweets. */
void search_service_users(struct search_service *s, const struct search_query *q,
			  unsigned limit, unsigned offset, struct search_result *res,
			  search_done_fn done, void *arg);

/* The index's counters, for /metrics. Any thread. */
void search_service_stats(struct search_service *s, struct search_stats *out);

#endif
