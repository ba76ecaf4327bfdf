/*
 * idempotency — the Idempotency-Key header of mutating POSTs.
 *
 * A key names one request per user, method and path: the same key with
 * the same request replays the first response (same status and body, plus
 * `Idempotent-Replayed: true`); the same key with a different body is 422;
 * the same key on another path is another record. A request is identified
 * by its fingerprint: HMAC-SHA-256 of its method, path and body under a
 * server secret kept outside the database (idem.key in the data dir). Keyed, because a sign-up body holds a
 * password: an unkeyed hash in chirp.db would let whoever reads the
 * database check password guesses at hashing speed; without the key, the
 * fingerprint says nothing about the body.
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

#define IDEM_SECRET_LEN 32 /* crypto_auth_hmacsha256_KEYBYTES */

/* Sets the fingerprint key (IDEM_SECRET_LEN bytes, copied), once, before
 * any request. Fingerprinting without it dies: never unkeyed. */
void idempotency_init(const uint8_t *key);

/* Reads the Idempotency-Key header into *idem (key and fingerprint; the
 * scope is the caller's to set). Returns 1 if there is a valid key, 0 if
 * there is none, -1 if it is malformed (answer with idempotency_refuse). */
int idempotency_parse(h2o_req_t *req, struct store_idem *idem);

/* Answers a malformed key: 400 invalid_idempotency_key. */
void idempotency_refuse(h2o_req_t *req);

/* Looks the key's record up (any thread): STORE_OK with *rec, or
 * STORE_NOT_FOUND, or STORE_ERROR. */
int idempotency_lookup(struct store_reader *db, const struct store_idem *idem,
		       struct store_idem_record *rec);

/* After the lookup (loop): true if the handler should go on; false if the
 * request was answered (a replay, a mismatch, or 503 when the store could
 * not tell). */
bool idempotency_check(h2o_req_t *req, const struct store_idem *idem, int rc,
		       const struct store_idem_record *rec);

#endif
