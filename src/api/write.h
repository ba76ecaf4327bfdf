/*
 * write — how a handler hands a write to a service and answers once it is
 * durable (the write itself: core/write.h).
 *
 *   handler (loop) ──service call with (api_write_done, api_write_begin(c))──►
 *   … store writer thread: commit, effects ──api_write_done──► back on the
 *   loop: the answer the write's kind rendered is sent.
 */
#ifndef CHIRP_API_WRITE_H
#define CHIRP_API_WRITE_H

#include "api/api.h"
#include "core/write.h"

/* Marks the request as answered later and returns the argument to pass,
 * with api_write_done, to a service's write function (loop thread). */
void *api_write_begin(struct ctx *c);

/* The write_done_fn of every API write: sends the write's answer on the
 * request's loop (any thread). */
void api_write_done(struct write *w, void *arg);

/* A write of `kind` for this request, carrying its Idempotency-Key, for
 * handlers that fill the store write's inputs themselves. */
struct write *api_write_new(struct ctx *c, enum store_write_kind kind);

#endif
