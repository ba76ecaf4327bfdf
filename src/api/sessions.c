/*
 * sessions — log-in and log-out.
 *
 * Log-in reads the password hash on the loop (a local read), checks it on
 * the hashing pool (Argon2id is slow on purpose), then commits the new
 * token's hash. An unknown handle costs the same time as a wrong password
 * and gets the same answer.
 */
#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "api/api.h"
#include "api/write.h"
#include "core/accounts.h"
#include "core/validate.h"
#include "http/respond.h"

static void check_then_submit(struct work *work)
{
	struct api_write *aw = container_of(work, struct api_write, work);
	bool ok = accounts_password_verify(aw->known_user ? aw->stored_hash : NULL, aw->secret,
					   aw->secret_len);
	sodium_memzero(aw->secret, sizeof(aw->secret));
	sodium_memzero(aw->stored_hash, sizeof(aw->stored_hash));
	if (!ok) {
		ratelimit_login_failed(aw->app, aw->login_handle);
		api_write_fail(aw, 401, "invalid_credentials", "wrong handle or password");
		return;
	}
	accounts_token_new(aw->token, aw->w.in.session.token_hash);
	api_write_submit(aw);
}

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
	/* Failed log-ins are counted per handle (folded to lower case, as
	 * handles are unique case-insensitively). */
	char folded[HANDLE_MAX + 1];
	size_t flen = hlen < HANDLE_MAX ? hlen : HANDLE_MAX;
	for (size_t i = 0; i < flen; i++)
		folded[i] = (char)tolower((unsigned char)handle[i]);
	folded[flen] = '\0';
	if (!ratelimit_login_allowed(c, folded, flen))
		goto done;
	struct api_write *aw = api_write_new(c, STORE_W_SESSION_CREATE);
	memcpy(aw->login_handle, folded, flen + 1);
	struct user u;
	/* A handle or password that could never have been accepted gets the
	 * same slow "no" as a wrong one. */
	if (validate_handle(handle, hlen) && validate_password(password, plen) &&
	    c->db->ops->user_credentials(c->db, handle, &u, aw->stored_hash) == STORE_OK) {
		aw->known_user = true;
		aw->w.in.session.user_id = u.id;
	}
	aw->secret_len = plen < PASSWORD_MAX ? plen : PASSWORD_MAX;
	memcpy(aw->secret, password, aw->secret_len);
	api_write_run_blocking(aw, check_then_submit);
done:
	json_decref(body);
}

void api_sessions_delete(struct ctx *c)
{
	struct api_write *aw = api_write_new(c, STORE_W_SESSION_DELETE);
	memcpy(aw->w.in.session.token_hash, c->token_hash, TOKEN_HASH_LEN);
	api_write_submit(aw);
}
