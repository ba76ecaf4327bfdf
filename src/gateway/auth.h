/*
 * auth — who is asking: the bearer token of the request, resolved to a user.
 *
 * The current user only ever comes from `Authorization: Bearer <token>`,
 * never from the body or the path. The token is hashed and looked up (the
 * accounts service, core/accounts.h); the store holds only hashes, and a
 * revoked token's hash is gone, so revocation takes effect on the next
 * request.
 */
#ifndef CHIRP_GATEWAY_AUTH_H
#define CHIRP_GATEWAY_AUTH_H

#include <h2o.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* Sets *user_id and token_hash[TOKEN_HASH_LEN] from the request's bearer
 * token. Returns false if there is no valid token (nothing is sent). */
bool auth_bearer(h2o_req_t *req, struct store_reader *db, uint64_t *user_id,
		 uint8_t *token_hash);

/* The same from an `access_token` query parameter, for the one client that
 * cannot set headers: a browser's EventSource (GET /v1/feed/stream only;
 * a token in a URL can end up in logs and histories). */
bool auth_query_token(h2o_req_t *req, struct store_reader *db, uint64_t *user_id,
		      uint8_t *token_hash);

#endif
