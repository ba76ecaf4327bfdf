/*
 * accounts — see accounts.h.
 */
#include "core/accounts.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/credentials.h"
#include "core/session_cache.h"
#include "core/render.h"
#include "core/validate.h"
#include "timeline/feed.h"
#include "util/container_of.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/timeutil.h"

struct accounts {
	struct writes *writes;
	struct workpool *hashers;
	void (*login_failed)(void *arg, const char *handle, const char *client_ip);
	void *login_failed_arg;
	uint64_t idle_ms;
	struct session_cache *cache; /* NULL: none */
	/* the sweep of idle sessions */
	pthread_t sweeper;
	bool sweeping, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* stopping, or a sweep write is done */
	bool swept;
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
	char email[EMAIL_MAX + 1];         /* log-in: the address to look up; "" none */
	char folded[ACCOUNTS_LOGIN_KEY_MAX + 1]; /* log-in: whose failures are counted */
	char client_ip[48];                /* log-in, password change: from where */
	char token[TOKEN_TEXT_LEN + 1];    /* log-in: the new token, sent once */
	size_t secret2_len;                /* password change: the new password */
	char secret2[PASSWORD_MAX + 1];
};

/* ---- answers ---- */

static void render_signup(struct write *w, void *arg)
{
	(void)arg;
	if (w->sw.status == STORE_CONFLICT && w->sw.taken == STORE_TAKEN_EMAIL) {
		write_render_error(w, 409, "email_taken", "that e-mail address is taken");
		return;
	}
	if (w->sw.status == STORE_CONFLICT) {
		write_render_error(w, 409, "handle_taken", "that handle is taken");
		return;
	}
	w->sw.resp_status = 201;
	render_user_owner(&w->sw.resp_body, &w->sw.user, w->sw.email);
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
	if (w->sw.status == STORE_INVALID) {
		write_render_error(w, 422, "invalid_avatar",
				   "avatar_media_id must be your own processed image, on no tweet");
		return;
	}
	if (w->sw.status == STORE_CONFLICT) {
		write_render_error(w, 409, "email_taken", "that e-mail address is taken");
		return;
	}
	w->sw.resp_status = 200;
	render_user_owner(&w->sw.resp_body, &w->sw.user, w->sw.email);
}

static void render_logout(struct write *w, void *arg)
{
	(void)arg;
	w->sw.resp_status = 204;
}

static void render_session_end(struct write *w, void *arg)
{
	(void)arg;
	if (write_render_not_found(w))
		return;
	w->sw.resp_status = 204;
}

static void render_password(struct write *w, void *arg)
{
	(void)arg;
	if (w->sw.status == STORE_CONFLICT) {
		write_render_error(w, 409, "password_changed",
				   "the password was changed meanwhile; try again");
		return;
	}
	w->sw.resp_status = 204;
}

/* An effect: no cached session counts any more. */
static void uncache_sessions(void *arg, const struct store_write *w)
{
	(void)w;
	session_cache_invalidate(arg);
}

struct accounts *accounts_new(const struct accounts_options *opt)
{
	struct accounts *a = xcalloc(1, sizeof(*a));
	a->writes = opt->writes;
	a->login_failed = opt->login_failed;
	a->login_failed_arg = opt->login_failed_arg;
	a->idle_ms = opt->session_idle_ms;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
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
	writes_define(a->writes, STORE_W_SESSION_END, render_session_end, NULL);
	writes_define(a->writes, STORE_W_SESSIONS_END, render_logout, NULL);
	writes_define(a->writes, STORE_W_PASSWORD_CHANGE, render_password, NULL);
	writes_define(a->writes, STORE_W_SESSION_TOUCH, render_logout, NULL); /* nobody hears it */
	writes_define(a->writes, STORE_W_SESSIONS_EXPIRE, render_logout, NULL); /* nor this */
	a->cache = opt->session_cache;
	if (a->cache) {
		/* Every kind that may end a session (those whose effects in
		 * live_follow_writes end its streams) or change whether a user
		 * has relations (struct session.has_relations). If you add a
		 * way for either to change, add its kind here. */
		static const enum store_write_kind changes[] = {
			STORE_W_SESSION_DELETE, STORE_W_SESSION_END,     STORE_W_SESSIONS_END,
			STORE_W_PASSWORD_CHANGE, STORE_W_SESSIONS_EXPIRE, STORE_W_BLOCK,
			STORE_W_UNBLOCK,        STORE_W_MUTE,            STORE_W_UNMUTE,
		};
		for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
			writes_after_commit(a->writes, changes[i], uncache_sessions, a->cache);
	}
	return a;
}

void accounts_free(struct accounts *a)
{
	if (!a)
		return;
	if (a->sweeping) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_broadcast(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->sweeper, NULL);
	}
	workpool_free(a->hashers);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* ---- the sweep of idle sessions ---- */

static void swept(struct write *w, void *arg)
{
	struct accounts *a = arg;
	pthread_mutex_lock(&a->lock);
	a->swept = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	(void)w; /* freed by the sweeper, which waits for this */
}

/* One batch: how many sessions it ended, or -1 if the write failed. */
static int sweep_batch(struct accounts *a, uint64_t cutoff)
{
	struct write *w = write_new(a->writes, STORE_W_SESSIONS_EXPIRE, sizeof(*w), NULL, swept, a);
	w->sw.in.sessions_expire.cutoff_ms = cutoff;
	pthread_mutex_lock(&a->lock);
	a->swept = false;
	pthread_mutex_unlock(&a->lock);
	write_submit(w);
	pthread_mutex_lock(&a->lock);
	while (!a->swept) /* even when stopping: the write is in the store's hands */
		pthread_cond_wait(&a->wake, &a->lock);
	pthread_mutex_unlock(&a->lock);
	int n = w->sw.status == STORE_OK ? (int)w->sw.in.sessions_expire.n : -1;
	write_free(w);
	return n;
}

static bool sweep_stopping(struct accounts *a)
{
	pthread_mutex_lock(&a->lock);
	bool stop = a->stopping;
	pthread_mutex_unlock(&a->lock);
	return stop;
}

static void *sweep_main(void *arg)
{
	struct accounts *a = arg;
	pthread_setname_np(pthread_self(), "chirp-sessions");
	for (;;) {
		uint64_t now = time_now_ms(), span = a->idle_ms + SESSION_TOUCH_MS;
		uint64_t cutoff = now > span ? now - span : 0;
		size_t total = 0;
		int n;
		while ((n = sweep_batch(a, cutoff)) == STORE_EXPIRE_BATCH && !sweep_stopping(a))
			total += (size_t)n;
		total += n > 0 ? (size_t)n : 0;
		if (total)
			log_info("accounts: %zu idle sessions ended", total);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += SESSION_SWEEP_MS / 1000;
		pthread_mutex_lock(&a->lock);
		int rc = 0;
		while (!a->stopping && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&a->wake, &a->lock, &until);
		bool stop = a->stopping;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			return NULL;
	}
}

void accounts_start_sweep(struct accounts *a)
{
	if (pthread_create(&a->sweeper, NULL, sweep_main, a) != 0)
		die("accounts: cannot start the session sweep");
	a->sweeping = true;
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
	if (in->email)
		validate_email_fold(in->email, in->email_len, sw->in.user_create.email);
	write_run_blocking(&p->w, a->hashers, hash_then_submit);
}

/* ---- log-in ---- */

static void check_then_submit(struct write *w)
{
	struct pending *p = container_of(w, struct pending, w);
	struct store_reader *r = w->work.thread;
	char stored[PWHASH_MAX];
	struct user u;
	int rc = p->email[0] ? r->ops->user_credentials_by_email(r, p->email, &u, stored)
			     : STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND && p->check)
		rc = r->ops->user_credentials(r, p->handle, &u, stored);
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
		if (p->a->login_failed) {
			p->a->login_failed(p->a->login_failed_arg, p->folded, p->client_ip);
			/* Named by its address: the account's own budget too. */
			char own[ACCOUNTS_LOGIN_KEY_MAX + 1];
			if (known) {
				accounts_login_key(NULL, u.handle, strlen(u.handle), own);
				if (strcmp(own, p->folded) != 0)
					p->a->login_failed(p->a->login_failed_arg, own, p->client_ip);
			}
		}
		write_fail(w, 401, "invalid_credentials", "wrong handle or password");
		return;
	}
	w->sw.in.session.user_id = u.id;
	w->sw.in.session.used_ms = time_now_ms();
	credentials_token_new(p->token, w->sw.in.session.token_hash);
	write_submit(w);
}

/* Keeps the printable ASCII of a User-Agent, at most SESSION_DEVICE_MAX
 * bytes of it, in dst[SESSION_DEVICE_MAX + 1]. */
static void device_label(char *dst, const char *src, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n < SESSION_DEVICE_MAX; i++)
		if (src[i] >= 0x20 && src[i] < 0x7f)
			dst[n++] = src[i];
	dst[n] = '\0';
}

size_t accounts_login_key(const char *email, const char *handle, size_t handle_len, char *out)
{
	if (email) {
		uint8_t h[16];
		crypto_generichash(h, sizeof(h), (const unsigned char *)email, strlen(email), NULL, 0);
		out[0] = '@'; /* no handle has one */
		sodium_bin2hex(out + 1, 2 * sizeof(h) + 1, h, sizeof(h));
		return 1 + 2 * sizeof(h);
	}
	size_t n = handle_len < HANDLE_MAX ? handle_len : HANDLE_MAX;
	for (size_t i = 0; i < n; i++)
		out[i] = (handle[i] >= 'A' && handle[i] <= 'Z') ? (char)(handle[i] - 'A' + 'a')
								 : handle[i];
	out[n] = '\0';
	return n;
}

void accounts_login(struct accounts *a, const struct accounts_login_name *name,
		    const char *password, size_t password_len,
		    const struct accounts_origin *origin, write_done_fn done, void *arg)
{
	/* Log-in does not honour Idempotency-Key: a replay would have to keep
	 * the token in clear, and tokens are stored only as hashes. */
	struct pending *p = pending_new(a, STORE_W_SESSION_CREATE, NULL, done, arg, password,
					password_len);
	snprintf(p->folded, sizeof(p->folded), "%s", name->budget_key);
	/* A name or password that could never have been accepted gets the
	 * same slow "no" as a wrong one. */
	bool password_ok = validate_password(password, password_len);
	p->check = password_ok && validate_handle(name->handle, name->handle_len);
	if (p->check)
		memcpy(p->handle, name->handle, name->handle_len);
	if (password_ok && name->email)
		snprintf(p->email, sizeof(p->email), "%s", name->email);
	if (origin) {
		device_label(p->w.sw.in.session.device, origin->device, origin->device_len);
		snprintf(p->w.sw.in.session.ip, sizeof(p->w.sw.in.session.ip), "%s",
			 origin->ip ? origin->ip : "");
		snprintf(p->client_ip, sizeof(p->client_ip), "%s", origin->ip ? origin->ip : "");
	}
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
	sw->in.profile.set_avatar = in->set_avatar;
	sw->in.profile.avatar_media_id = in->avatar_media_id;
	sw->in.profile.set_email = in->set_email;
	if (in->set_email)
		validate_email_fold(in->email ? in->email : "", in->email_len, sw->in.profile.email);
	write_submit(w);
}

int accounts_user(struct store_reader *r, uint64_t id, struct user *out)
{
	return r->ops->user_get(r, id, out);
}

int accounts_user_private(struct store_reader *r, uint64_t id, struct user *out, char *email)
{
	int rc = r->ops->user_get(r, id, out);
	return rc ? rc : r->ops->user_email(r, id, email);
}

int accounts_user_for(struct store_reader *r, uint64_t viewer, const struct user *u)
{
	bool blocked;
	int rc = feed_blocked_by(r, viewer, u->id, &blocked);
	return rc ? rc : blocked ? STORE_NOT_FOUND : STORE_OK;
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

/* A write nobody waits for: the touch of a session, the delete of an
 * expired one. */
static void forget(struct write *w, void *arg)
{
	(void)arg;
	write_free(w);
}

static void submit_unheard(struct accounts *a, enum store_write_kind kind, uint64_t user_id,
			   const uint8_t *token_hash, uint64_t now)
{
	struct write *w = write_new(a->writes, kind, sizeof(*w), NULL, forget, NULL);
	w->sw.in.session.user_id = user_id;
	memcpy(w->sw.in.session.token_hash, token_hash, TOKEN_HASH_LEN);
	w->sw.in.session.used_ms = now;
	w->sw.in.session.stale_ms = now - SESSION_TOUCH_MS;
	write_submit(w); /* a full queue drops it: the next request tries again */
}

static uint64_t idle_ms(const struct session *s, uint64_t now)
{
	return now > s->last_used_ms ? now - s->last_used_ms : 0;
}

/* accounts_session once the token is hashed. */
static int session_read(struct accounts *a, struct store_reader *r, const uint8_t *token_hash,
			struct session *out)
{
	int rc = r->ops->session_get(r, token_hash, out);
	if (rc != STORE_OK)
		return rc;
	uint64_t now = time_now_ms(), idle = idle_ms(out, now);
	if (idle > a->idle_ms + SESSION_TOUCH_MS) {
		/* Ended like a log-out, so its streams end too. */
		submit_unheard(a, STORE_W_SESSION_DELETE, out->user_id, token_hash, now);
		return STORE_NOT_FOUND;
	}
	if (idle >= SESSION_TOUCH_MS)
		submit_unheard(a, STORE_W_SESSION_TOUCH, out->user_id, token_hash, now);
	return STORE_OK;
}

int accounts_session(struct accounts *a, struct store_reader *r, const char *token, size_t len,
		     struct session *out, uint8_t *token_hash)
{
	if (!credentials_token_hash(token, len, token_hash))
		return STORE_NOT_FOUND;
	return session_read(a, r, token_hash, out);
}

int accounts_authenticate(struct accounts *a, struct store_reader *r, const char *token,
			  size_t len, struct session *out, uint8_t *token_hash)
{
	if (!credentials_token_hash(token, len, token_hash))
		return STORE_NOT_FOUND;
	if (!a->cache)
		return session_read(a, r, token_hash, out);
	/* A session whose recorded use is SESSION_TOUCH_MS old is read again,
	 * so its touch is written as without a cache, and no cached session
	 * can reach its idle expiry. */
	uint64_t now = time_now_ms();
	if (session_cache_get(a->cache, token_hash, now - SESSION_TOUCH_MS, out))
		return STORE_OK;
	/* Kept only from a read that opens its snapshot, under the epoch
	 * from before it (core/session_cache.h). The gateway's read is the
	 * first of its request's; asked all the same. */
	bool fresh = r->ops->snapshot_open && !r->ops->snapshot_open(r);
	uint64_t epoch = session_cache_epoch(a->cache);
	int rc = session_read(a, r, token_hash, out);
	if (rc != STORE_OK)
		return rc;
	out->device[0] = out->ip[0] = '\0';
	if (fresh && idle_ms(out, now) < SESSION_TOUCH_MS)
		session_cache_put(a->cache, token_hash, out, epoch);
	return STORE_OK;
}

int accounts_sessions(struct accounts *a, struct store_reader *r, uint64_t user_id,
		      struct session *out, size_t *n)
{
	uint64_t now = time_now_ms(), span = a->idle_ms + SESSION_TOUCH_MS;
	return r->ops->sessions_of(r, user_id, now > span ? now - span : 0, out, n);
}

void accounts_session_end(struct accounts *a, uint64_t user_id, uint64_t session_id,
			  write_done_fn done, void *arg)
{
	struct write *w = write_new(a->writes, STORE_W_SESSION_END, sizeof(*w), NULL, done, arg);
	w->sw.in.session_end.user_id = user_id;
	w->sw.in.session_end.session_id = session_id;
	write_submit(w);
}

void accounts_sessions_end(struct accounts *a, uint64_t user_id, const uint8_t *keep_token_hash,
			   write_done_fn done, void *arg)
{
	struct write *w = write_new(a->writes, STORE_W_SESSIONS_END, sizeof(*w), NULL, done, arg);
	w->sw.in.session.user_id = user_id;
	if (keep_token_hash) /* else all zeros, no token's hash */
		memcpy(w->sw.in.session.token_hash, keep_token_hash, TOKEN_HASH_LEN);
	write_submit(w);
}

/* ---- password change ---- */

static void change_then_submit(struct write *w)
{
	struct pending *p = container_of(w, struct pending, w);
	struct store_reader *r = w->work.thread;
	struct store_write *sw = &w->sw;
	struct user u, again;
	int rc = r->ops->user_get(r, sw->in.password.user_id, &u);
	if (rc == STORE_OK)
		rc = r->ops->user_credentials(r, u.handle, &again, sw->in.password.old_hash);
	if (rc == STORE_OK && again.id != u.id)
		rc = STORE_NOT_FOUND;
	bool ok = rc == STORE_OK &&
		  credentials_password_verify(sw->in.password.old_hash, p->secret, p->secret_len);
	sodium_memzero(p->secret, sizeof(p->secret));
	if (rc == STORE_OK && ok)
		rc = credentials_password_hash(p->secret2, p->secret2_len, sw->in.password.new_hash)
			     ? STORE_ERROR
			     : STORE_OK;
	sodium_memzero(p->secret2, sizeof(p->secret2));
	if (rc == STORE_NOT_FOUND) {
		write_fail(w, 404, "not_found", "no such user");
	} else if (rc != STORE_OK) {
		write_fail_unavailable(w);
	} else if (!ok) {
		if (p->a->login_failed) {
			char key[ACCOUNTS_PASSWORD_KEY_MAX];
			accounts_password_key(sw->in.password.user_id, key);
			p->a->login_failed(p->a->login_failed_arg, key, p->client_ip);
		}
		write_fail(w, 403, "wrong_password", "the current password is wrong");
	} else {
		write_submit(w);
	}
}

size_t accounts_password_key(uint64_t user_id, char *out)
{
	return (size_t)snprintf(out, ACCOUNTS_PASSWORD_KEY_MAX, "#%llu", (unsigned long long)user_id);
}

void accounts_password_change(struct accounts *a, uint64_t user_id, const uint8_t *token_hash,
			      const char *client_ip, const char *current, size_t current_len,
			      const char *replacement, size_t replacement_len, write_done_fn done,
			      void *arg)
{
	struct pending *p = pending_new(a, STORE_W_PASSWORD_CHANGE, NULL, done, arg, current,
					current_len);
	p->secret2_len = replacement_len < PASSWORD_MAX ? replacement_len : PASSWORD_MAX;
	memcpy(p->secret2, replacement, p->secret2_len);
	snprintf(p->client_ip, sizeof(p->client_ip), "%s", client_ip);
	p->w.sw.in.password.user_id = user_id;
	memcpy(p->w.sw.in.password.token_hash, token_hash, TOKEN_HASH_LEN);
	write_run_blocking(&p->w, a->hashers, change_then_submit);
}
