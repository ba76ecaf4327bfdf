/*
 * idempotency — the Idempotency-Key header of mutating POSTs .
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

#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* Reads the header into *idem for the user `scope` (0: anonymous). Returns
 * true if the handler should go on; false if the request was answered (a
 * replay, a mismatch, a bad key, or 503 when the store cannot tell). */
bool idempotency_begin(h2o_req_t *req, struct store_reader *db, uint64_t scope,
		       struct store_idem *idem);

#endif
