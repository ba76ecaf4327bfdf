/*
 * credentials — passwords and bearer tokens, with libsodium.
 *
 * Passwords are stored only as Argon2id strings (crypto_pwhash_str), which
 * embed their own salt and cost. Tokens are 256 random bits sent to the
 * client once, base64url-encoded; the store keeps only their SHA-256, so a
 * stolen database holds no usable token. Hashing a password costs tens of
 * milliseconds and 64 MiB: call these from a workpool thread, never from
 * an event loop (docs/architecture.md, "Threads").
 */
#ifndef CHIRP_CORE_CREDENTIALS_H
#define CHIRP_CORE_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

#define TOKEN_RAW_LEN 32
#define TOKEN_TEXT_LEN 43 /* base64url of 32 bytes, no padding */

/* What a new password hash costs (--password-hash-cost). A stored hash
 * keeps its own cost: verifying one made at another cost still works. */
enum pwhash_cost {
	PWHASH_INTERACTIVE, /* libsodium's interactive limits: 64 MiB, 2 passes */
	PWHASH_TEST,	    /* the least Argon2id allows: for test suites only */
};

/* Initialises libsodium and the cost of new hashes; call once at start,
 * before any thread hashes. Returns 0 or -1. */
int credentials_init(enum pwhash_cost cost);

/* Writes the Argon2id string of `password` into out[PWHASH_MAX].
 * Returns 0, or -1 if hashing failed (out of memory). */
int credentials_password_hash(const char *password, size_t len, char *out);

/* True if `password` matches `hash`. With hash == NULL, spends the same time
 * as a real check and returns false, so an unknown handle cannot be told
 * from a wrong password by timing. */
bool credentials_password_verify(const char *hash, const char *password, size_t len);

/* Makes a new token: its text into text[TOKEN_TEXT_LEN + 1] for the client,
 * its hash into hash[TOKEN_HASH_LEN] for the store. */
void credentials_token_new(char *text, uint8_t *hash);

/* Hashes a token presented by a client. Returns false if it cannot be a
 * token chirp made (wrong length or alphabet); then nothing is looked up. */
bool credentials_token_hash(const char *text, size_t len, uint8_t *hash);

#endif
