/*
 * auth — see auth.h.
 */
#include "gateway/auth.h"

#include <strings.h>

#include "api/api.h"
#include "core/accounts.h"
#include "http/respond.h"

/* Resolves the token text; false if it names no live session. */
static bool resolve(struct ctx *c, const char *token, size_t len)
{
	uint8_t hash[TOKEN_HASH_LEN];
	if (!accounts_token_hash(token, len, hash))
		return false;
	uint64_t uid;
	if (c->db->ops->session_user(c->db, hash, &uid) != STORE_OK)
		return false;
	c->user_id = uid;
	memcpy(c->token_hash, hash, sizeof(hash));
	return true;
}

bool auth_resolve(struct ctx *c)
{
	h2o_iovec_t v;
	if (!http_header_get(c->req, "authorization", &v))
		return false;
	static const char scheme[] = "Bearer ";
	size_t n = sizeof(scheme) - 1;
	if (v.len <= n || strncasecmp(v.base, scheme, n) != 0)
		return false;
	return resolve(c, v.base + n, v.len - n);
}

/* Tokens are base64url: as sent in a query string, they need no decoding
 * (a percent-encoded one is simply not valid). */
bool auth_resolve_query(struct ctx *c)
{
	h2o_iovec_t v;
	return http_query_get(c->req, "access_token", &v) && resolve(c, v.base, v.len);
}
