/*
 * sessions — log-in, log-out and the caller's sessions (the accounts
 * service: core/accounts.h).
 *
 * Failed log-ins are counted per handle, folded to lower case (handles are
 * unique case-insensitively), or per e-mail address (hashed: no address
 * goes into a limit's key), and client address (gateway/ratelimit.h): one
 * address cannot guess on, or lock, an account for everyone.
 *
 * A user sees and ends only their own sessions: the user is always the
 * token's, and another user's session id is a 404 like one that does not
 * exist. Nothing here ever shows a token or its hash.
 */
#include <string.h>

#include "api/api.h"
#include "api/write.h"
#include "core/accounts.h"
#include "core/render.h"
#include "core/validate.h"
#include "http/respond.h"

/*
 * A log-in, or a password change, after its failed-log-in budget is
 * checked: with the reads (on a reader thread when they are offloaded,
 * for a shared budget in Redis is a network call), then on the loop the
 * 429 or the step itself. The struct holds its own copies of what the
 * step needs (the body is gone by then); release wipes the passwords.
 */
struct login_gate {
	struct api_read r;
	struct ratelimit *rl;
	char client_ip[CLIENT_IP_MAX];
	char key[ACCOUNTS_LOGIN_KEY_MAX + 1];
	size_t key_len;
	struct ratelimit_verdict verdict;
	void (*then)(struct login_gate *g, struct ctx *c);
	struct accounts_login_name who; /* a log-in's; into email and text */
	char email[EMAIL_MAX + 1];
	size_t a_len, b_len; /* name and password, or current and new password */
	char text[];         /* a then b */
};

_Static_assert(ACCOUNTS_PASSWORD_KEY_MAX <= ACCOUNTS_LOGIN_KEY_MAX + 1,
	       "login_gate.key holds a password change's key too");

static void login_gate_run(struct api_read *r, struct store_reader *db)
{
	(void)db;
	struct login_gate *g = (struct login_gate *)r;
	ratelimit_login_check(g->rl, g->key, g->key_len, g->client_ip, &g->verdict);
}

static void login_gate_finish(struct api_read *r, struct ctx *c)
{
	struct login_gate *g = (struct login_gate *)r;
	if (ratelimit_apply(c->req, &g->verdict))
		g->then(g, c);
}

static void login_gate_release(struct api_read *r)
{
	struct login_gate *g = (struct login_gate *)r;
	explicit_bzero(g->text, g->a_len + g->b_len);
}

static struct login_gate *login_gate_new(struct ctx *c, const char *a, size_t a_len,
					 const char *b, size_t b_len)
{
	struct login_gate *g = api_read_new(c, sizeof(*g) + a_len + b_len);
	g->r.run = login_gate_run;
	g->r.finish = login_gate_finish;
	g->r.release = login_gate_release;
	g->rl = c->app->ratelimit;
	memcpy(g->client_ip, c->client_ip, sizeof(g->client_ip));
	g->a_len = a_len;
	g->b_len = b_len;
	memcpy(g->text, a, a_len);
	memcpy(g->text + a_len, b, b_len);
	return g;
}

static void login_then(struct login_gate *g, struct ctx *c)
{
	struct accounts_origin origin = {.ip = c->client_ip};
	h2o_iovec_t ua;
	if (http_header_get(c->req, "user-agent", &ua)) {
		origin.device = ua.base;
		origin.device_len = ua.len;
	}
	accounts_login(c->app->accounts, &g->who, g->text + g->a_len, g->b_len, &origin,
		       api_write_done, api_write_begin(c));
}

void api_login(struct ctx *c, const char *name, size_t len, const char *password, size_t plen)
{
	struct login_gate *g = login_gate_new(c, name, len, password, plen);
	name = g->text;
	struct accounts_login_name *who = &g->who;
	*who = (struct accounts_login_name){.handle = name, .handle_len = len};
	if (len && name[0] == '@') { /* "@alice", "@alice@host": a handle */
		who->handle = name + 1;
		const char *at = memchr(name + 1, '@', len - 1);
		who->handle_len = at ? (size_t)(at - name - 1) : len - 1;
	} else if (len && memchr(name, '@', len)) {
		if (validate_email(name, len)) {
			validate_email_fold(name, len, g->email);
			who->email = g->email;
		}
		who->handle_len = (size_t)((const char *)memchr(name, '@', len) - name);
	}
	g->key_len = accounts_login_key(who->email, who->handle, who->handle_len, g->key);
	who->budget_key = g->key;
	g->then = login_then;
	api_read(c, &g->r);
}

/* POST /v1/sessions: {handle, password}, or {email, password}; a handle
 * field holding an address is taken as one (a form with one box). */
void api_sessions_create(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *name = NULL, *password;
	size_t nlen = 0, plen;
	bool by_email = !json_object_get(body, "handle") && json_object_get(body, "email");
	if (api_string(c, body, by_email ? "email" : "handle", true,
		       by_email ? "invalid_email" : "invalid_handle", &name, &nlen) &&
	    api_string(c, body, "password", true, "invalid_password", &password, &plen)) {
		if (by_email && !memchr(name, '@', nlen))
			http_send_error(c->req, 422, "invalid_email", "email must be an e-mail address");
		else
			api_login(c, name, nlen, password, plen);
	}
	json_decref(body);
}

void api_sessions_delete(struct ctx *c)
{
	accounts_logout(c->app->accounts, c->user_id, c->token_hash, api_write_done,
			api_write_begin(c));
}

/* GET /v1/sessions */
struct sessions_read {
	struct api_read r;
	struct accounts *accounts;
	uint64_t user_id;
	int rc;
	size_t n;
	struct session s[SESSION_LIST_MAX];
};

static void sessions_run(struct api_read *r, struct store_reader *db)
{
	struct sessions_read *q = (struct sessions_read *)r;
	q->rc = accounts_sessions(q->accounts, db, q->user_id, q->s, &q->n);
}

static void sessions_finish(struct api_read *r, struct ctx *c)
{
	struct sessions_read *q = (struct sessions_read *)r;
	if (q->rc != STORE_OK) {
		api_store_error(c, q->rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_char(&sb, '[');
	for (size_t i = 0; i < q->n; i++) {
		if (i)
			strbuf_append_char(&sb, ',');
		render_session(&sb, &q->s[i], q->s[i].id == c->session_id);
	}
	strbuf_append_char(&sb, ']');
	http_header_set(c->req, "cache-control", "no-store", 8);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_sessions_list(struct ctx *c)
{
	struct sessions_read *q = api_read_new(c, sizeof(*q));
	q->r.run = sessions_run;
	q->r.finish = sessions_finish;
	q->accounts = c->app->accounts;
	q->user_id = c->user_id;
	api_read(c, &q->r);
}

/* DELETE /v1/sessions/{id}: one of the caller's sessions. */
void api_sessions_delete_one(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	accounts_session_end(c->app->accounts, c->user_id, id, api_write_done, api_write_begin(c));
}

/* DELETE /v1/sessions: log out everywhere, this session included. */
void api_sessions_delete_all(struct ctx *c)
{
	accounts_sessions_end(c->app->accounts, c->user_id, NULL, api_write_done,
			      api_write_begin(c));
}

static void password_then(struct login_gate *g, struct ctx *c)
{
	accounts_password_change(c->app->accounts, c->user_id, c->token_hash, c->client_ip,
				 g->text, g->a_len, g->text + g->a_len, g->b_len, api_write_done,
				 api_write_begin(c));
}

/* PUT /v1/users/me/password {current_password, new_password}: every
 * other session ends; this one stays. */
void api_users_password(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	const char *cur, *next;
	size_t clen, nlen;
	if (!api_string(c, body, "current_password", true, "invalid_password", &cur, &clen) ||
	    !api_string(c, body, "new_password", true, "invalid_password", &next, &nlen))
		goto done;
	if (!validate_password(next, nlen)) {
		http_send_error(c->req, 422, "invalid_password",
				"new_password must be 8..1024 bytes");
		goto done;
	}
	struct login_gate *g = login_gate_new(c, cur, clen, next, nlen);
	g->key_len = accounts_password_key(c->user_id, g->key);
	g->then = password_then;
	api_read(c, &g->r);
done:
	json_decref(body);
}
