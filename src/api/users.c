/*
 * users — sign-up and profiles (the accounts service: core/accounts.h).
 */
#include <string.h>

#include "api/api.h"
#include "api/write.h"
#include "core/accounts.h"
#include "core/render.h"
#include "core/validate.h"
#include "http/respond.h"

void api_users_create(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	struct accounts_signup in;
	if (!api_string(c, body, "handle", true, "invalid_handle", &in.handle, &in.handle_len) ||
	    !api_string(c, body, "password", true, "invalid_password", &in.password,
			&in.password_len) ||
	    !api_string(c, body, "display_name", false, NULL, &in.display_name,
			&in.display_name_len))
		goto done;
	if (!validate_handle(in.handle, in.handle_len)) {
		http_send_error(c->req, 422, "invalid_handle",
				"handle must be 1..30 letters, digits or underscores");
		goto done;
	}
	if (!validate_password(in.password, in.password_len)) {
		http_send_error(c->req, 422, "invalid_password", "password must be 8..1024 bytes");
		goto done;
	}
	if (in.display_name && !validate_display_name(in.display_name, in.display_name_len)) {
		http_send_error(c->req, 422, "invalid_display_name",
				"display_name must be 1..50 characters, without control characters");
		goto done;
	}
	accounts_signup(c->app->accounts, &in, &c->idem, api_write_done, api_write_begin(c));
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
		send_user(c, accounts_user(c->db, id, &u), &u);
}

void api_users_by_handle(struct ctx *c)
{
	struct user u;
	send_user(c, accounts_user_by_handle(c->db, c->m.params[0].s, c->m.params[0].len, &u), &u);
}
