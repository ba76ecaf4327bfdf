/*
 * write — the write service: how every change reaches the store, is
 * answered, and has its effects (docs/architecture.md, "A write").
 *
 *   service ──write_new──► [optional blocking step: write_run_blocking]
 *        ──write_submit──► store writer thread: idempotency check, the
 *        kind's SQL, the kind's render() inside the same transaction, COMMIT
 *        ──► effects registered for the kind (fanout, search, media, …)
 *        ──► the caller's done(), which owns the write from then on.
 *
 * A write kind is defined once, by the service it belongs to
 * (writes_define): how its answer is rendered. The answer is rendered on
 * the writer thread so that an Idempotency-Key record stores exactly the
 * bytes the client got, and commits with the change. What a committed
 * write sets off elsewhere is registered by the service that cares
 * (writes_after_commit), not hard-wired in the HTTP layer. Effects read
 * only the write's inputs and results, never the caller's state, so they
 * can later run from a transactional outbox instead of from here.
 *
 * The answer is a status code and a JSON body (the API contract's shape of
 * a result); nothing here knows about h2o or requests.
 */
#ifndef CHIRP_CORE_WRITE_H
#define CHIRP_CORE_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "util/workpool.h"

struct writes;
struct write;

/* Renders the answer of a write whose kind's SQL ran (writer thread, in
 * the transaction): sets w->sw.resp_status and w->sw.resp_body from
 * w->sw.status and the results. `arg` is the one given to writes_define. */
typedef void (*write_render_fn)(struct write *w, void *arg);

/* Runs after a write of its kind committed with STORE_OK and was not a
 * replay (writer thread), before the caller is answered: so a deleted
 * tweet is gone from every feed by then. */
typedef void (*write_effect_fn)(void *arg, const struct store_write *w);

/* Called once the write is durable, has failed, or was refused (any
 * thread). From then the callee owns `w` and frees it with write_free(). */
typedef void (*write_done_fn)(struct write *w, void *arg);

struct write {
	struct store_write sw; /* inputs, results and the rendered answer */
	struct writes *ws;
	write_done_fn done;
	void *done_arg;
	struct work work;      /* a blocking step before submit ... */
	void (*step)(struct write *w); /* ... and what it runs (work.thread: the
					  * pool thread's state) */
	size_t size;           /* of the allocation: services embed struct write */
};

/* The write service over `store`; kinds are defined and effects added
 * before any write is submitted. */
struct writes *writes_new(struct store *store);
void writes_free(struct writes *ws); /* NULL is a no-op */

/* Defines how writes of `kind` are rendered. Every kind a service submits
 * must be defined once. */
void writes_define(struct writes *ws, enum store_write_kind kind, write_render_fn render,
		   void *arg);

/* Adds an effect to run after each committed write of `kind`; effects run
 * in the order they were added. */
void writes_after_commit(struct writes *ws, enum store_write_kind kind, write_effect_fn fn,
			 void *arg);

/* Allocates a zeroed write of `size` bytes (>= sizeof(struct write): a
 * service may embed struct write first in a struct of its own, reached
 * with container_of in its render). `idem` (may be NULL) is the request's
 * Idempotency-Key, carried into the transaction. */
struct write *write_new(struct writes *ws, enum store_write_kind kind, size_t size,
			const struct store_idem *idem, write_done_fn done, void *done_arg);

/* Wipes (the struct may have held a password) and frees. NULL is a no-op. */
void write_free(struct write *w);

/* Hands the write to the store (any thread). If the store's queue is
 * full, done() runs now with sw.status STORE_BUSY. */
void write_submit(struct write *w);

/* Runs fn on `pool` before the write goes further (fn then calls
 * write_submit or write_fail). If the pool's queue is full, done() runs
 * now with STORE_BUSY. */
void write_run_blocking(struct write *w, struct workpool *pool, void (*fn)(struct write *w));

/* Ends the write with an error answer instead of writing (any thread). */
void write_fail(struct write *w, int status, const char *code, const char *message);

/* Ends the write as the store failing would (STORE_ERROR: 503), when a
 * read it needed first failed (any thread). */
void write_fail_unavailable(struct write *w);

/* Hands the store's outbox (if it has one) the kinds that have effects,
 * and the way to run them again for a write a dead process left undone.
 * After every writes_after_commit. */
void writes_start_outbox(struct writes *ws);

/* The write path's counters: commits, batch sizes, the queue. */
void writes_stats(struct writes *ws, struct store_stats *out);

/* For render functions: the answer is an error. */
void write_render_error(struct write *w, int status, const char *code, const char *message);

/* For render functions: 404 for STORE_NOT_FOUND and true; false for
 * anything else. */
bool write_render_not_found(struct write *w);

#endif
