/*
 * write — the path of every API write, from handler to durable answer.
 *
 *   handler (loop) ──api_write_new──► [optional blocking step on a workpool]
 *        ──api_write_submit──► store writer thread: idempotency check, the
 *        change, the response rendered in the same transaction, COMMIT
 *        ──done──► back on the loop: the response is sent.
 *
 * The response is rendered on the writer thread (api_write_render) so that
 * an Idempotency-Key record stores exactly the bytes the client got.
 */
#ifndef CHIRP_API_WRITE_H
#define CHIRP_API_WRITE_H

#include "api/api.h"
#include "core/accounts.h"
#include "http/server.h"
#include "util/workpool.h"

#include <stddef.h>

#include "util/container_of.h"

struct api_write {
	struct store_write w;
	struct app *app;
	struct http_async *async;
	struct ctx *ctx;                    /* valid while the request is */
	struct work work;                   /* for a blocking step before submit */
	char token[TOKEN_TEXT_LEN + 1];     /* log-in: the new token, sent once */
	size_t secret_len;                  /* sign-up/log-in: the password ... */
	char secret[PASSWORD_MAX + 1];      /* ... wiped once hashed or checked */
	char stored_hash[PWHASH_MAX];       /* log-in: the hash to check against ... */
	bool known_user;                    /* ... if the handle exists */
	char login_handle[HANDLE_MAX + 1];  /* ... and whose failures are counted */
};

/* Starts a write for this request (loop thread). The request's
 * Idempotency-Key, if any, is carried along. */
struct api_write *api_write_new(struct ctx *c, enum store_write_kind kind);

/* Hands the write to the store (any thread). If the store's queue is full,
 * the client gets 503. */
void api_write_submit(struct api_write *aw);

/* Runs aw->work.fn on the hashing pool before submitting (loop thread);
 * answers 503 if that pool's queue is full. */
void api_write_run_blocking(struct api_write *aw, void (*fn)(struct work *w));

/* Answers the client with an error instead of writing (any thread). */
void api_write_fail(struct api_write *aw, int status, const char *code, const char *message);

#endif
