/*
 * idempotency — the Idempotency-Key header of mutating POSTs (DESIGN §3).
 *
 * A key names one request per user: the same key with the same request
 * replays the first response (same status and body, plus
 * `Idempotent-Replayed: true`); the same key with a different request is
 * 422. A request is identified by the SHA-256 of its method, path and body.
 *
 * Checked twice, on purpose: here, on the loop, to answer a replay without
 * any work; and again on the store's writer thread, atomically with the
 * write (store.h), so two concurrent requests with one key act once.
 */
#ifndef CHIRP_GATEWAY_IDEMPOTENCY_H
#define CHIRP_GATEWAY_IDEMPOTENCY_H

#include <stdbool.h>

struct ctx;

/* Reads the header into c->idem. Returns true if the handler should go on;
 * false if the request was answered (a replay, a mismatch, a bad key). */
bool idempotency_begin(struct ctx *c);

#endif
