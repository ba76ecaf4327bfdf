/*
 * metrics — request counters and latency histograms per route.
 *
 * Routes are named by their template ("/v1/tweets/{id}"), never by the
 * path, so the number of series is bounded by the route table. All
 * counters are atomics: every event loop records into the same registry
 * without a lock.
 *
 * The metrics say much about the service (routes, load, memory), so they
 * are not public: a scraper shows a bearer token kept in a file.
 */
#ifndef CHIRP_GATEWAY_METRICS_H
#define CHIRP_GATEWAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

struct metrics;

/* One slot per route, plus one for requests that matched none. */
struct metrics *metrics_new(size_t nroutes);
void metrics_free(struct metrics *m);

/* Counts a finished request: route index (nroutes for unmatched; a
 * route's method is fixed by the route table), its status, and how long
 * it took. */
void metrics_request(struct metrics *m, size_t route, int status, uint64_t duration_ns);

/* In-flight requests across all loops; inflight_enter returns the count
 * including this one. */
uint64_t metrics_inflight_enter(struct metrics *m);
void metrics_inflight_leave(struct metrics *m);
uint64_t metrics_inflight(struct metrics *m);

/* Appends the request metrics in Prometheus text format. name_of(i)
 * gives route i's template and method. */
void metrics_render(struct metrics *m, struct strbuf *out,
		    void (*name_of)(size_t route, const char **tmpl, const char **method));

/* The bearer token GET /metrics asks for (a scraper reads it from the
 * same file: Prometheus's `authorization: credentials_file`). Reads the
 * first line of `path`, without its line end, into out (cap bytes,
 * NUL-terminated); a file that does not exist is created (0600) with a
 * fresh random token of 43 base64url characters. Returns 0, or -1 with
 * the reason in err (unreadable, or a token shorter than
 * METRICS_TOKEN_MIN or longer than cap - 1). */
#define METRICS_TOKEN_MIN 16
int metrics_token_load(const char *path, char *out, size_t cap, struct strbuf *err);

/* Whether `token` (len bytes, from the request) is `want`, in time that
 * does not depend on where they differ. */
bool metrics_token_ok(const char *want, const char *token, size_t len);

#endif
