/*
 * health — whether this process should get traffic (GET /readyz).
 *
 * Ready means: the store answers reads, its last commit succeeded, and
 * neither the write queue nor the fanout queue is past 90% full (a load
 * balancer should send traffic elsewhere before requests start failing).
 * After a failed commit nothing else may write for a long time, and only a
 * commit that succeeds clears the store's failed state: so the check itself
 * tries one, in the background, and reports what it knows now.
 */
#ifndef CHIRP_CORE_HEALTH_H
#define CHIRP_CORE_HEALTH_H

#include <stdbool.h>

#include "store/store.h"
#include "timeline/feed.h"

struct health;

struct health *health_new(struct store *store, struct feed *feed);
/* Waits for a probe write in flight, then frees. NULL is a no-op. */
void health_free(struct health *h);

/* True if ready; else *code (snake_case) and *why say what is wrong. */
bool health_ready(struct health *h, struct store_reader *r, const char **code, const char **why);

#endif
