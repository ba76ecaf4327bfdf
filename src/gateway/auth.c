/*
 * auth — see auth.h.
 */
#include "gateway/auth.h"

#include <strings.h>

#include "core/accounts.h"
#include "http/respond.h"

bool auth_bearer(h2o_req_t *req, struct store_reader *db, uint64_t *user_id,
		 uint8_t *token_hash)
{
	h2o_iovec_t v;
	if (!http_header_get(req, "authorization", &v))
		return false;
	static const char scheme[] = "Bearer ";
	size_t n = sizeof(scheme) - 1;
	if (v.len <= n || strncasecmp(v.base, scheme, n) != 0)
		return false;
	return accounts_session(db, v.base + n, v.len - n, user_id, token_hash);
}

/* Tokens are base64url: as sent in a query string, they need no decoding
 * (a percent-encoded one is simply not valid). */
bool auth_query_token(h2o_req_t *req, struct store_reader *db, uint64_t *user_id,
		      uint8_t *token_hash)
{
	h2o_iovec_t v;
	return http_query_get(req, "access_token", &v) &&
	       accounts_session(db, v.base, v.len, user_id, token_hash);
}
