/*
 * auth — who is asking: the bearer token of the request, resolved to a user.
 *
 * The current user only ever comes from `Authorization: Bearer <token>`
 * (DESIGN §3), never from the body or the path. The token is hashed and
 * looked up; the store holds only hashes, and a revoked token's hash is
 * gone, so revocation takes effect on the next request.
 */
#ifndef CHIRP_GATEWAY_AUTH_H
#define CHIRP_GATEWAY_AUTH_H

#include <stdbool.h>

struct ctx;

/* Sets c->user_id and c->token_hash from the request's bearer token.
 * Returns false if there is no valid token (nothing is sent). */
bool auth_resolve(struct ctx *c);

/* The same from an `access_token` query parameter, for the one client that
 * cannot set headers: a browser's EventSource (GET /v1/feed/stream only;
 * a token in a URL can end up in logs and histories). */
bool auth_resolve_query(struct ctx *c);

#endif
