/*
 * auth — see auth.h.
 */
#include "gateway/auth.h"

#include <strings.h>

#include "http/respond.h"

bool auth_token(h2o_req_t *req, bool allow_query, h2o_iovec_t *token)
{
	h2o_iovec_t v;
	if (!http_header_get(req, "authorization", &v)) {
		/* Tokens are base64url: as sent in a query string, they need no
		 * decoding (a percent-encoded one is simply not valid). */
		if (!allow_query)
			return false;
		/* A browser's WebSocket sets no headers but this one: Mastodon
		 * clients send the token as the subprotocol (which the upgrade
		 * echoes). */
		return http_query_get(req, "access_token", token) ||
		       http_header_get(req, "sec-websocket-protocol", token);
	}
	static const char scheme[] = "Bearer ";
	size_t n = sizeof(scheme) - 1;
	if (v.len <= n || strncasecmp(v.base, scheme, n) != 0)
		return false;
	*token = h2o_iovec_init(v.base + n, v.len - n);
	return true;
}
