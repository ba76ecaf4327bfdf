/*
 * accounts — see accounts.h.
 */
#include "core/accounts.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/credentials.h"
#include "core/render.h"
#include "core/validate.h"
#include "util/container_of.h"
#include "util/jsonw.h"
#include "util/log.h"

struct accounts {
	struct writes *writes;
	struct workpool *hashers;
	void (*login_failed)(void *arg, const char *handle, const char *client_ip);
	void *login_failed_arg;
};

/* A sign-up or log-in on its way: the password lives here only until it
 * is hashed or checked; write_free wipes the rest. */
struct pending {
	struct write w;
	struct accounts *a;
	size_t secret_len;
	char secret[PASSWORD_MAX + 1];
	bool check;                        /* log-in: look the handle up first */
	char handle[HANDLE_MAX + 1];       /* log-in: as sent, if it could be one */
	char folded[HANDLE_MAX + 1];       /* log-in: whose failures are counted */
	char client_ip[48];                /* log-in: from where */
	char token[TOKEN_TEXT_LEN + 1];    /* log-in: the new token, sent once */
};

/* ---- answers ---- */

static void render_signup(struct write *w, void *arg)
{
	(void)arg;
	if (w->sw.status == STORE_CONFLICT) {
		write_render_error(w, 409, "handle_taken", "that handle is taken");
		return;
	}
	w->sw.resp_status = 201;
	render_user(&w->sw.resp_body, &w->sw.user);
}

static void render_login(struct write *w, void *arg)
{
	(void)arg;
	struct pending *p = container_of(w, struct pending, w);
	struct strbuf *b = &w->sw.resp_body;
	w->sw.resp_status = 201;
	strbuf_append_char(b, '{');
	jsonw_field_str(b, "token", p->token, 1);
	strbuf_append_char(b, ',');
	jsonw_key(b, "user");
	render_user(b, &w->sw.user);
	strbuf_append_char(b, '}');
}

static void render_profile(struct write *w, void *arg)
{
	(void)arg;
	if (write_render_not_found(w))
		return;
	w->sw.resp_status = 200;
	render_user(&w->sw.resp_body, &w->sw.user);
}

static void render_logout(struct write *w, void *arg)
{
	(void)arg;
	w->sw.resp_status = 204;
}

struct accounts *accounts_new(const struct accounts_options *opt)
{
	struct accounts *a = xcalloc(1, sizeof(*a));
	a->writes = opt->writes;
	a->login_failed = opt->login_failed;
	a->login_failed_arg = opt->login_failed_arg;
	/* Each hashing thread reads through its own reader, for log-ins. */
	struct workpool_hooks hooks = {
		.init = store_reader_thread_init,
		.deinit = store_reader_thread_deinit,
		.arg = opt->store,
	};
	a->hashers = workpool_new(opt->hash_threads, opt->hash_queue, &hooks);
	writes_define(a->writes, STORE_W_USER_CREATE, render_signup, NULL);
	writes_define(a->writes, STORE_W_SESSION_CREATE, render_login, NULL);
	writes_define(a->writes, STORE_W_SESSION_DELETE, render_logout, NULL);
	writes_define(a->writes, STORE_W_PROFILE_UPDATE, render_profile, NULL);
	return a;
}

void accounts_free(struct accounts *a)
{
	if (!a)
		return;
	workpool_free(a->hashers);
	free(a);
}

static struct pending *pending_new(struct accounts *a, enum store_write_kind kind,
				   const struct store_idem *idem, write_done_fn done, void *arg,
				   const char *password, size_t len)
{
	struct write *w = write_new(a->writes, kind, sizeof(struct pending), idem, done, arg);
	struct pending *p = container_of(w, struct pending, w);
	p->a = a;
	p->secret_len = len < PASSWORD_MAX ? len : PASSWORD_MAX;
	memcpy(p->secret, password, p->secret_len);
	return p;
}

/* ---- sign-up ---- */

static void hash_then_submit(struct write *w)
{
	struct pending *p = container_of(w, struct pending, w);
	int rc = credentials_password_hash(p->secret, p->secret_len,
					   w->sw.in.user_create.password_hash);
	sodium_memzero(p->secret, sizeof(p->secret));
	if (rc != 0)
		write_fail(w, 503, "unavailable", "could not hash the password; try again");
	else
		write_submit(w);
}

void accounts_signup(struct accounts *a, const struct accounts_signup *in,
		     const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct pending *p = pending_new(a, STORE_W_USER_CREATE, idem, done, arg, in->password,
					in->password_len);
	struct store_write *sw = &p->w.sw;
	memcpy(sw->in.user_create.handle, in->handle, in->handle_len);
	if (in->display_name)
		memcpy(sw->in.user_create.display_name, in->display_name, in->display_name_len);
	else
		memcpy(sw->in.user_create.display_name, in->handle, in->handle_len);
	write_run_blocking(&p->w, a->hashers, hash_then_submit);
}

/* ---- log-in ---- */

static void check_then_submit(struct write *w)
{
	struct pending *p = container_of(w, struct pending, w);
	struct store_reader *r = w->work.thread;
	char stored[PWHASH_MAX];
	struct user u;
	int rc = p->check ? r->ops->user_credentials(r, p->handle, &u, stored) : STORE_NOT_FOUND;
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		/* The store could not say: not a wrong password, and not a
		 * failed attempt to count against the handle. */
		sodium_memzero(p->secret, sizeof(p->secret));
		write_fail_unavailable(w);
		return;
	}
	bool known = rc == STORE_OK;
	bool ok = credentials_password_verify(known ? stored : NULL, p->secret, p->secret_len);
	sodium_memzero(p->secret, sizeof(p->secret));
	sodium_memzero(stored, sizeof(stored));
	if (!ok) {
		if (p->a->login_failed)
			p->a->login_failed(p->a->login_failed_arg, p->folded, p->client_ip);
		write_fail(w, 401, "invalid_credentials", "wrong handle or password");
		return;
	}
	w->sw.in.session.user_id = u.id;
	credentials_token_new(p->token, w->sw.in.session.token_hash);
	write_submit(w);
}

void accounts_login(struct accounts *a, const char *handle, size_t handle_len,
		    const char *folded_handle, const char *password, size_t password_len,
		    const char *client_ip, write_done_fn done, void *arg)
{
	/* Log-in does not honour Idempotency-Key: a replay would have to keep
	 * the token in clear, and tokens are stored only as hashes. */
	struct pending *p = pending_new(a, STORE_W_SESSION_CREATE, NULL, done, arg, password,
					password_len);
	snprintf(p->folded, sizeof(p->folded), "%s", folded_handle);
	snprintf(p->client_ip, sizeof(p->client_ip), "%s", client_ip);
	/* A handle or password that could never have been accepted gets the
	 * same slow "no" as a wrong one. */
	p->check = validate_handle(handle, handle_len) && validate_password(password, password_len);
	if (p->check)
		memcpy(p->handle, handle, handle_len);
	write_run_blocking(&p->w, a->hashers, check_then_submit);
}

/* ---- log-out and reads ---- */

void accounts_logout(struct accounts *a, uint64_t user_id, const uint8_t *token_hash,
		     write_done_fn done, void *arg)
{
	struct write *w = write_new(a->writes, STORE_W_SESSION_DELETE, sizeof(*w), NULL, done, arg);
	w->sw.in.session.user_id = user_id; /* for the effects: whose streams end */
	memcpy(w->sw.in.session.token_hash, token_hash, TOKEN_HASH_LEN);
	write_submit(w);
}

void accounts_profile_update(struct accounts *a, uint64_t user_id,
			     const struct accounts_profile *in, write_done_fn done, void *arg)
{
	struct write *w = write_new(a->writes, STORE_W_PROFILE_UPDATE, sizeof(*w), NULL, done, arg);
	struct store_write *sw = &w->sw;
	sw->in.profile.user_id = user_id;
	if (in->display_name) {
		sw->in.profile.set_display_name = true;
		memcpy(sw->in.profile.display_name, in->display_name, in->display_name_len);
	}
	if (in->bio) {
		sw->in.profile.set_bio = true;
		memcpy(sw->in.profile.bio, in->bio, in->bio_len);
	}
	write_submit(w);
}

int accounts_user(struct store_reader *r, uint64_t id, struct user *out)
{
	return r->ops->user_get(r, id, out);
}

int accounts_user_by_handle(struct store_reader *r, const char *handle, size_t len,
			    struct user *out)
{
	if (!validate_handle(handle, len))
		return STORE_NOT_FOUND; /* no such handle can exist */
	char h[HANDLE_MAX + 1];
	memcpy(h, handle, len);
	h[len] = '\0';
	return r->ops->user_get_by_handle(r, h, out);
}

int accounts_session(struct store_reader *r, const char *token, size_t len, uint64_t *user_id,
		     uint8_t *token_hash)
{
	if (!credentials_token_hash(token, len, token_hash))
		return STORE_NOT_FOUND;
	return r->ops->session_user(r, token_hash, user_id);
}
