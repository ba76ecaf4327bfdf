/*
 * users — sign-up and profiles.
 *
 * POST /v1/users hashes the password with Argon2id on the hashing pool,
 * then commits the user; the event loop never waits for either.
 */
#include <sodium.h>
#include <string.h>

#include "api/api.h"
#include "core/render.h"
#include "api/write.h"
#include "core/accounts.h"
#include "core/validate.h"
#include "http/respond.h"

static void hash_then_submit(struct work *work)
{
	struct api_write *aw = container_of(work, struct api_write, work);
	int rc = accounts_password_hash(aw->secret, aw->secret_len,
					aw->w.in.user_create.password_hash);
	sodium_memzero(aw->secret, sizeof(aw->secret));
	if (rc != 0)
		api_write_fail(aw, 503, "unavailable", "could not hash the password; try again");
	else
		api_write_submit(aw);
}

void api_users_create(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *handle, *password, *name;
	size_t hlen, plen, nlen;
	if (!api_string(c, body, "handle", true, "invalid_handle", &handle, &hlen) ||
	    !api_string(c, body, "password", true, "invalid_password", &password, &plen) ||
	    !api_string(c, body, "display_name", false, NULL, &name, &nlen))
		goto done;
	if (!validate_handle(handle, hlen)) {
		http_send_error(c->req, 422, "invalid_handle",
				"handle must be 1..30 letters, digits or underscores");
		goto done;
	}
	if (!validate_password(password, plen)) {
		http_send_error(c->req, 422, "invalid_password", "password must be 8..1024 bytes");
		goto done;
	}
	if (name && !validate_display_name(name, nlen)) {
		http_send_error(c->req, 422, "invalid_display_name",
				"display_name must be 1..50 characters, without control characters");
		goto done;
	}
	struct api_write *aw = api_write_new(c, STORE_W_USER_CREATE);
	memcpy(aw->w.in.user_create.handle, handle, hlen + 1);
	if (name)
		memcpy(aw->w.in.user_create.display_name, name, nlen + 1);
	else
		memcpy(aw->w.in.user_create.display_name, handle, hlen + 1);
	memcpy(aw->secret, password, plen);
	aw->secret_len = plen;
	api_write_run_blocking(aw, hash_then_submit);
done:
	json_decref(body);
}

static void send_user(struct ctx *c, int rc, const struct user *u)
{
	if (rc != STORE_OK) {
		api_store_error(c, rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	render_user(&sb, u);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_users_get(struct ctx *c)
{
	uint64_t id;
	struct user u;
	if (api_param_id(c, 0, &id))
		send_user(c, c->db->ops->user_get(c->db, id, &u), &u);
}

void api_users_by_handle(struct ctx *c)
{
	char handle[HANDLE_MAX + 1];
	size_t len = c->m.params[0].len;
	struct user u;
	if (!validate_handle(c->m.params[0].s, len)) {
		/* No such handle can exist. */
		api_store_error(c, STORE_NOT_FOUND);
		return;
	}
	memcpy(handle, c->m.params[0].s, len);
	handle[len] = '\0';
	send_user(c, c->db->ops->user_get_by_handle(c->db, handle, &u), &u);
}
