/*
 * auth — see auth.h.
 */
#include "gateway/auth.h"

#include <strings.h>

#include "api/api.h"
#include "core/accounts.h"
#include "http/respond.h"

bool auth_resolve(struct ctx *c)
{
	h2o_iovec_t v;
	if (!http_header_get(c->req, "authorization", &v))
		return false;
	static const char scheme[] = "Bearer ";
	size_t n = sizeof(scheme) - 1;
	if (v.len <= n || strncasecmp(v.base, scheme, n) != 0)
		return false;
	uint8_t hash[TOKEN_HASH_LEN];
	if (!accounts_token_hash(v.base + n, v.len - n, hash))
		return false;
	uint64_t uid;
	if (c->db->ops->session_user(c->db, hash, &uid) != STORE_OK)
		return false;
	c->user_id = uid;
	memcpy(c->token_hash, hash, sizeof(hash));
	return true;
}
