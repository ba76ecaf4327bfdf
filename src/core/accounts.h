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
};

struct accounts;

/* Starts the hashing pool and defines the accounts' write kinds. */
struct accounts *accounts_new(const struct accounts_options *opt);
/* Finishes the queued hashing, then frees. NULL is a no-op. */
void accounts_free(struct accounts *a);

/* A sign-up, validated: handle and password required, display_name may be
 * NULL (then it is the handle). The strings are copied. */
struct accounts_signup {
	const char *handle;
	size_t handle_len;
	const char *display_name;
	size_t display_name_len;
	const char *password;
	size_t password_len;
};

/* 201 User, 409 handle_taken, or 503. */
void accounts_signup(struct accounts *a, const struct accounts_signup *in,
		     const struct store_idem *idem, write_done_fn done, void *arg);

/* 201 {token, user}, or 401 invalid_credentials after as long as a real
 * check (an unknown handle or an impossible password cannot be told from a
 * wrong one). The failed-log-in hook is charged with `folded_handle` and
 * `client_ip` (copied). */
void accounts_login(struct accounts *a, const char *handle, size_t handle_len,
		    const char *folded_handle, const char *password, size_t password_len,
		    const char *client_ip, write_done_fn done, void *arg);

/* 204: the session of `token_hash`, a session of `user_id`, is revoked
 * (its effects end that token's live streams: live/service.h). */
void accounts_logout(struct accounts *a, uint64_t user_id, const uint8_t *token_hash,
		     write_done_fn done, void *arg);

/* A profile change, validated (validate_display_name, validate_bio): a
 * NULL field is left as it is. The strings are copied. */
struct accounts_profile {
	const char *display_name;
	size_t display_name_len;
	const char *bio;
	size_t bio_len;
};

/* 200 User as it is after the change. The feed re-renders the user's
 * newest cached tweets with a new display name (feed_on_author_renamed). */
void accounts_profile_update(struct accounts *a, uint64_t user_id,
			     const struct accounts_profile *in, write_done_fn done, void *arg);

/* Profiles. STORE_NOT_FOUND for an unknown id, or a handle that no user
 * could have. */
int accounts_user(struct store_reader *r, uint64_t id, struct user *out);
int accounts_user_by_handle(struct store_reader *r, const char *handle, size_t len,
			    struct user *out);

/* The user of a bearer token and the token's hash: STORE_OK;
 * STORE_NOT_FOUND if the text is no token chirp made or names no live
 * session; STORE_ERROR if the store could not say. */
int accounts_session(struct store_reader *r, const char *token, size_t len, uint64_t *user_id,
		     uint8_t *token_hash);

#endif
