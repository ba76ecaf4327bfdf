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

/* The optional "email" field: absent (*present false) or null (*email
 * NULL), or a valid address; anything else is answered here (false). */
static bool read_email(struct ctx *c, json_t *body, bool *present, const char **email,
		       size_t *len)
{
	json_t *v = json_object_get(body, "email");
	*present = v != NULL;
	*email = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return true;
	if (!api_string(c, body, "email", false, NULL, email, len))
		return false;
	if (!validate_email(*email, *len)) {
		http_send_error(c->req, 422, "invalid_email",
				"email must be an e-mail address such as name@example.org, at most "
				"254 bytes");
		return false;
	}
	return true;
}

void api_users_create(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	struct accounts_signup in;
	bool has_email;
	if (!api_string(c, body, "handle", true, "invalid_handle", &in.handle, &in.handle_len) ||
	    !api_string(c, body, "password", true, "invalid_password", &in.password,
			&in.password_len) ||
	    !api_string(c, body, "display_name", false, NULL, &in.display_name,
			&in.display_name_len) ||
	    !read_email(c, body, &has_email, &in.email, &in.email_len))
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

/* A profile read: by id, or by handle. */
struct user_read {
	struct api_read r;
	uint64_t id;
	uint64_t viewer; /* 0: anonymous */
	bool by_handle;
	size_t handle_len;
	char handle[HANDLE_MAX + 1];
	int rc;
	struct user user;
};

static void user_run(struct api_read *r, struct store_reader *db)
{
	struct user_read *u = (struct user_read *)r;
	u->rc = u->by_handle ? accounts_user_by_handle(db, u->handle, u->handle_len, &u->user)
			      : accounts_user(db, u->id, &u->user);
	if (u->rc == STORE_OK)
		u->rc = accounts_user_for(db, u->viewer, &u->user);
}

static void user_finish(struct api_read *r, struct ctx *c)
{
	struct user_read *u = (struct user_read *)r;
	if (u->rc != STORE_OK) {
		api_store_error(c, u->rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	render_user(&sb, &u->user);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

/* GET /v1/users/me: the caller, with what only they may see (email). */
struct me_read {
	struct api_read r;
	uint64_t id;
	int rc;
	struct user user;
	char email[EMAIL_MAX + 1];
};

static void me_run(struct api_read *r, struct store_reader *db)
{
	struct me_read *m = (struct me_read *)r;
	m->rc = accounts_user_private(db, m->id, &m->user, m->email);
}

static void me_finish(struct api_read *r, struct ctx *c)
{
	struct me_read *m = (struct me_read *)r;
	if (m->rc != STORE_OK) {
		api_store_error(c, m->rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	render_user_owner(&sb, &m->user, m->email);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_users_me(struct ctx *c)
{
	struct me_read *m = api_read_new(c, sizeof(*m));
	m->r.run = me_run;
	m->r.finish = me_finish;
	m->id = c->user_id;
	api_read(c, &m->r);
}

static struct user_read *user_read_new(struct ctx *c)
{
	struct user_read *u = api_read_new(c, sizeof(*u));
	u->r.run = user_run;
	u->r.finish = user_finish;
	u->viewer = c->user_id;
	return u;
}

void api_users_get(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	struct user_read *u = user_read_new(c);
	u->id = id;
	api_read(c, &u->r);
}

void api_users_by_handle(struct ctx *c)
{
	size_t len = c->m.params[0].len;
	if (len > HANDLE_MAX) {
		api_store_error(c, STORE_NOT_FOUND); /* no such handle can exist */
		return;
	}
	struct user_read *u = user_read_new(c);
	memcpy(u->handle, c->m.params[0].s, len);
	u->handle_len = len;
	u->by_handle = true;
	api_read(c, &u->r);
}

/* PATCH /v1/users/me: the caller's own profile, and only theirs (the user
 * is the token's). Each field present is validated and set, an absent one
 * is left as it is; bio "" clears the bio, email null removes the
 * address. */
void api_users_update_me(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	struct accounts_profile in = {0};
	if (!api_string(c, body, "display_name", false, NULL, &in.display_name,
			&in.display_name_len) ||
	    !api_string(c, body, "bio", false, NULL, &in.bio, &in.bio_len) ||
	    !api_nullable_id(c, body, "avatar_media_id", "invalid_avatar", &in.set_avatar,
			     &in.avatar_media_id) ||
	    !read_email(c, body, &in.set_email, &in.email, &in.email_len))
		goto done;
	if (in.display_name && !validate_display_name(in.display_name, in.display_name_len)) {
		http_send_error(c->req, 422, "invalid_display_name",
				"display_name must be 1..50 characters, without control "
				"characters");
		goto done;
	}
	if (in.bio && !validate_bio(in.bio, in.bio_len)) {
		http_send_error(c->req, 422, "invalid_bio",
				"bio must be at most 160 characters, without control characters");
		goto done;
	}
	accounts_profile_update(c->app->accounts, c->user_id, &in, api_write_done,
				api_write_begin(c));
done:
	json_decref(body);
}
