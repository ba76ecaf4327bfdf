/*
 * sessions — log-in and log-out (the accounts service: core/accounts.h).
 *
 * Failed log-ins are counted per handle, folded to lower case (handles are
 * unique case-insensitively), and client address (gateway/ratelimit.h):
 * one address cannot guess on, or lock, an account for everyone.
 */
#include <ctype.h>
#include <string.h>

#include "api/api.h"
#include "api/write.h"
#include "core/accounts.h"
#include "http/respond.h"

void api_sessions_create(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *handle, *password;
	size_t hlen, plen;
	if (!api_string(c, body, "handle", true, "invalid_handle", &handle, &hlen) ||
	    !api_string(c, body, "password", true, "invalid_password", &password, &plen))
		goto done;
	char folded[HANDLE_MAX + 1];
	size_t flen = hlen < HANDLE_MAX ? hlen : HANDLE_MAX;
	for (size_t i = 0; i < flen; i++)
		folded[i] = (char)tolower((unsigned char)handle[i]);
	folded[flen] = '\0';
	if (!ratelimit_login_allowed(c->app->ratelimit, c->req, folded, flen, c->client_ip))
		goto done;
	accounts_login(c->app->accounts, handle, hlen, folded, password, plen, c->client_ip,
		       api_write_done, api_write_begin(c));
done:
	json_decref(body);
}

void api_sessions_delete(struct ctx *c)
{
	accounts_logout(c->app->accounts, c->user_id, c->token_hash, api_write_done,
			api_write_begin(c));
}
