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

/* The bearer token the request presents, pointing into the request:
 * from `Authorization: Bearer <token>`, or, with `allow_query` and only
 * when there is no Authorization header at all, from an `access_token`
 * query parameter (for the one client that cannot set headers: a
 * browser's EventSource; a token in a URL can end up in logs and
 * histories), or else from `Sec-WebSocket-Protocol` (a browser's
 * WebSocket, as Mastodon's streaming API takes it). False if there is none. Whether it names a live session is
 * the accounts service's to say (accounts_session). */
bool auth_token(h2o_req_t *req, bool allow_query, h2o_iovec_t *token);

#endif
