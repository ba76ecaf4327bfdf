/*
 * accounts — the accounts service: sign-up, log-in, log-out, profiles and
 * the bearer tokens the gateway checks.
 *
 * Password work (Argon2id, tens of milliseconds and 64 MiB on purpose) runs
 * on the service's own hashing pool, whose threads also do the log-in's
 * credential read, so an event loop never waits for either. The answers of
 * the writes are defined here (core/write.h): 201 User for a sign-up, 201
 * {token, user} for a log-in, 204 for a log-out. Inputs are validated by
 * the caller (core/validate.h); the service re-checks nothing.
 *
 * Sessions (one per log-in, named by the hash of its bearer token) end by
 * a log-out, by their owner from another session (accounts_session_end,
 * accounts_sessions_end), by a password change (every other one), or by
 * idle expiry: accounts_session refuses a session unused for longer than
 * `session_idle_ms` and deletes it. Its last use is recorded through the
 * write path at most once per SESSION_TOUCH_MS, not once per request.
 * Every way a session ends is a write whose effects end the streams of
 * its token (live/service.c: live_follow_writes).
 */
#ifndef CHIRP_CORE_ACCOUNTS_H
#define CHIRP_CORE_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/write.h"
#include "store/store.h"

struct accounts_options {
	struct store *store;
	struct writes *writes;
	unsigned hash_threads;
	size_t hash_queue; /* log-ins and sign-ups waiting beyond this get 503 */
	/* Charges a failed log-in at the (lower-cased) handle from the
	 * client's address; any thread. */
	void (*login_failed)(void *arg, const char *handle, const char *client_ip);
	void *login_failed_arg;
	uint64_t session_idle_ms; /* a session unused this long ends (--session-idle-days) */
	/* NULL, or where accounts_authenticate keeps the sessions it read;
	 * only if the store is its sole writer (core/session_cache.h). The
	 * accounts move its epoch on every write that may change an answer. */
	struct session_cache *session_cache;
};

/* How stale a session's recorded last use may get before a request
 * records it again: sessions are refused only once idle for
 * session_idle_ms plus this, so a session never ends early. */
#define SESSION_TOUCH_MS (3600ull * 1000)

struct accounts;

/* Starts the hashing pool and defines the accounts' write kinds. */
struct accounts *accounts_new(const struct accounts_options *opt);
/* Starts the sweep of idle sessions: a thread that, at once and then
 * every SESSION_SWEEP_MS, ends (as writes, with their effects) the
 * sessions idle for longer than session_idle_ms plus SESSION_TOUCH_MS,
 * those no request will present again included. Call once every effect
 * is registered and the outbox started (core/write.h). */
void accounts_start_sweep(struct accounts *a);
#define SESSION_SWEEP_MS (3600ull * 1000)

/* Stops the sweep, finishes the queued hashing, then frees. NULL is a
 * no-op. */
void accounts_free(struct accounts *a);

/* A sign-up, validated: handle and password required, display_name may be
 * NULL (then it is the handle), email NULL (none) or an address
 * (validate_email; kept folded). The strings are copied. */
struct accounts_signup {
	const char *handle;
	size_t handle_len;
	const char *display_name;
	size_t display_name_len;
	const char *password;
	size_t password_len;
	const char *email;
	size_t email_len;
};

/* 201 User with its "email" (render_user_owner), 409 handle_taken or
 * email_taken, or 503. */
void accounts_signup(struct accounts *a, const struct accounts_signup *in,
		     const struct store_idem *idem, write_done_fn done, void *arg);

/* Where a log-in comes from, kept with its session for GET /v1/sessions:
 * the User-Agent (any bytes; only printable ASCII is kept, cut to
 * SESSION_DEVICE_MAX) and the client's address. Copied. */
struct accounts_origin {
	const char *device;
	size_t device_len;
	const char *ip; /* NUL-terminated */
};

/* Whom a log-in names: an e-mail address, a handle, or both (an address
 * is looked up first, then the handle: "alice@example.org" may be Alice's
 * address, or name the handle alice as apps that ask for an e-mail send
 * it). The strings are copied. */
struct accounts_login_name {
	const char *email;  /* folded (validate_email_fold), or NULL */
	const char *handle; /* any bytes (one no user could have finds nobody) */
	size_t handle_len;
	const char *budget_key; /* accounts_login_key's, for the failed-log-in budget */
};

/* The name under which failed log-ins of what a client typed are counted
 * (gateway/ratelimit.h) into out[ACCOUNTS_LOGIN_KEY_MAX + 1]: the folded
 * handle, or for an e-mail address "@" and a hash of it (no address goes
 * into the limits' keys, which may live in Redis). Returns its length. */
#define ACCOUNTS_LOGIN_KEY_MAX 40
size_t accounts_login_key(const char *email, const char *handle, size_t handle_len, char *out);

/* 201 {token, user}, or 401 invalid_credentials after as long as a real
 * check (an unknown name or an impossible password cannot be told from a
 * wrong one). The failed-log-in hook is charged with name->budget_key and
 * origin->ip (copied), and, when the name was an e-mail address that
 * found a user, with that user's folded handle too: guesses through the
 * address spend the account's budget. */
void accounts_login(struct accounts *a, const struct accounts_login_name *name,
		    const char *password, size_t password_len,
		    const struct accounts_origin *origin, write_done_fn done, void *arg);

/* 204: the session of `token_hash`, a session of `user_id`, is revoked
 * (its effects end that token's live streams: live/service.h). */
void accounts_logout(struct accounts *a, uint64_t user_id, const uint8_t *token_hash,
		     write_done_fn done, void *arg);

/* 204: the session `session_id` of `user_id` ends; 404 not_found if
 * user_id has no such session (another user's is not told apart). */
void accounts_session_end(struct accounts *a, uint64_t user_id, uint64_t session_id,
			  write_done_fn done, void *arg);

/* 204: every session of `user_id` ends but the one of `keep_token_hash`
 * (NULL: every one, "log out everywhere"). */
void accounts_sessions_end(struct accounts *a, uint64_t user_id, const uint8_t *keep_token_hash,
			   write_done_fn done, void *arg);

/* A password change, on the hashing pool: `current` must be the user's
 * password (else 403 wrong_password, and the failed-log-in hook is charged
 * with accounts_password_key and `client_ip`: a budget of the account's own, so guesses
 * through a stolen token are limited from any number of addresses, and
 * they never lock the owner's log-ins); `replacement` (validated) is
 * hashed with Argon2id, and every session of the user but `token_hash`'s
 * ends. 204; 409 password_changed if another change got there first.
 * Copied. */
void accounts_password_change(struct accounts *a, uint64_t user_id, const uint8_t *token_hash,
			      const char *client_ip, const char *current, size_t current_len,
			      const char *replacement, size_t replacement_len, write_done_fn done,
			      void *arg);

/* The name the wrong current passwords of `user_id` are counted under in
 * the failed-log-in budget: "#" and the id (no handle has a "#"), into
 * out[ACCOUNTS_PASSWORD_KEY_MAX]; returns its length. */
#define ACCOUNTS_PASSWORD_KEY_MAX 24
size_t accounts_password_key(uint64_t user_id, char *out);

/* The sessions of `user_id` that are not idle-expired, newest first, at
 * most SESSION_LIST_MAX, into out[]. */
int accounts_sessions(struct accounts *a, struct store_reader *r, uint64_t user_id,
		      struct session *out, size_t *n);

/* A profile change, validated (validate_display_name, validate_bio): a
 * NULL field is left as it is. The strings are copied. */
struct accounts_profile {
	const char *display_name;
	size_t display_name_len;
	const char *bio;
	size_t bio_len;
	bool set_avatar;          /* avatar_media_id given */
	uint64_t avatar_media_id; /* 0 clears; 422 unless the user's own ready image */
	bool set_email;           /* email given: an address (validate_email), or */
	const char *email;        /* email_len 0, which removes it */
	size_t email_len;
};

/* 200 User as it is after the change, as its owner sees it
 * (render_user_owner); 409 email_taken if another user has the address
 * (nothing changed). The feed re-renders the user's newest cached tweets
 * with a new display name (feed_on_author_renamed). */
void accounts_profile_update(struct accounts *a, uint64_t user_id,
			     const struct accounts_profile *in, write_done_fn done, void *arg);

/* Profiles. STORE_NOT_FOUND for an unknown id, or a handle that no user
 * could have. */
int accounts_user(struct store_reader *r, uint64_t id, struct user *out);
/* A profile as `viewer` (0: anonymous) may see it: STORE_NOT_FOUND, as for
 * no such user, if the user blocks the viewer. */
int accounts_user_for(struct store_reader *r, uint64_t viewer, const struct user *u);
int accounts_user_by_handle(struct store_reader *r, const char *handle, size_t len,
			    struct user *out);
/* The user `id` and its e-mail address (email[EMAIL_MAX + 1], "" for
 * none): what only the user may read of itself. */
int accounts_user_private(struct store_reader *r, uint64_t id, struct user *out, char *email);

/* The session of a bearer token, and the token's hash: STORE_OK;
 * STORE_NOT_FOUND if the text is no token chirp made or names no live
 * session (an idle-expired one is deleted on the way, its streams ended);
 * STORE_ERROR if the store could not say. Records the session's use when
 * its recorded last use is SESSION_TOUCH_MS old (a write, not waited
 * for). Any thread. */
int accounts_session(struct accounts *a, struct store_reader *r, const char *token, size_t len,
		     struct session *out, uint8_t *token_hash);

/* The same answer for the gateway, which checks every request's token:
 * from the session cache when there is one and it holds the token under
 * its current epoch and within SESSION_TOUCH_MS of its recorded use, else
 * read as by accounts_session (and then cached, if that read opened r's
 * snapshot: core/session_cache.h says why). device and ip are "". */
int accounts_authenticate(struct accounts *a, struct store_reader *r, const char *token,
			  size_t len, struct session *out, uint8_t *token_hash);

#endif
