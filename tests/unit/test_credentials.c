/*
 * test_credentials — unit tests for core/credentials (password hashing and
 * bearer tokens, over libsodium).
 *
 * What a user would notice: the right password signs in and a wrong one
 * (including a prefix or the same text with a NUL cut off) does not; an
 * unknown account never verifies; a token handed out at sign-in hashes to
 * exactly what the store was given, and anything that cannot be a chirp
 * token is refused before a lookup. credentials_init() runs once as the group
 * setup, as main() does, and must succeed; --password-hash-cost test makes
 * cheap hashes that still verify once the cost is back to interactive.
 * Each Argon2id hash costs tens of milliseconds and 64 MiB, so the
 * password tests hash sparingly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "core/credentials.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int group_setup(void **state)
{
	(void)state;
	return credentials_init(PWHASH_INTERACTIVE) == 0 ? 0 : -1;
}

/* ---- passwords --------------------------------------------------------- */

static void test_password_round_trip(void **state)
{
	(void)state;
	static const char pw[] = "correct horse battery staple";
	char hash[PWHASH_MAX];
	memset(hash, 'x', sizeof(hash));
	assert_int_equal(credentials_password_hash(pw, strlen(pw), hash), 0);
	/* An Argon2id string, NUL-terminated inside the buffer. */
	assert_non_null(memchr(hash, '\0', sizeof(hash)));
	assert_memory_equal(hash, "$argon2id$", 10);
	assert_null(strstr(hash, pw));

	assert_true(credentials_password_verify(hash, pw, strlen(pw)));
	assert_false(credentials_password_verify(hash, "correct horse battery stapl", 27));
	assert_false(credentials_password_verify(hash, "Correct horse battery staple", 28));
	assert_false(credentials_password_verify(hash, "correct horse battery staple!", 29));
	assert_false(credentials_password_verify(hash, "", 0));
}

static void test_password_salted(void **state)
{
	(void)state;
	/* The same password hashed twice gives two different strings (random
	 * salt), and each verifies. */
	static const char pw[] = "hunter2hunter2";
	char a[PWHASH_MAX], b[PWHASH_MAX];
	assert_int_equal(credentials_password_hash(pw, strlen(pw), a), 0);
	assert_int_equal(credentials_password_hash(pw, strlen(pw), b), 0);
	assert_string_not_equal(a, b);
	assert_true(credentials_password_verify(a, pw, strlen(pw)));
	assert_true(credentials_password_verify(b, pw, strlen(pw)));
}

static void test_password_is_bytes(void **state)
{
	(void)state;
	/* Passwords may hold NUL and non-ASCII: every byte up to len counts. */
	static const char pw[] = "pass\0word\xc3\xa9";
	size_t len = sizeof(pw) - 1;
	char hash[PWHASH_MAX];
	assert_int_equal(credentials_password_hash(pw, len, hash), 0);
	assert_true(credentials_password_verify(hash, pw, len));
	assert_false(credentials_password_verify(hash, "pass", 4));
	assert_false(credentials_password_verify(hash, pw, len - 1));
}

static void test_password_cost(void **state)
{
	(void)state;
	static const char pw[] = "tested cheaply";
	char cheap[PWHASH_MAX], real[PWHASH_MAX];
	assert_int_equal(credentials_init(PWHASH_TEST), 0);
	assert_int_equal(credentials_password_hash(pw, strlen(pw), cheap), 0);
	assert_int_equal(credentials_init(PWHASH_INTERACTIVE), 0);
	assert_int_equal(credentials_password_hash(pw, strlen(pw), real), 0);
	/* Each string names its own cost: 8 KiB and one pass, 64 MiB and two. */
	assert_non_null(strstr(cheap, "$m=8,t=1,"));
	assert_non_null(strstr(real, "$m=65536,t=2,"));
	assert_true(credentials_password_verify(cheap, pw, strlen(pw)));
	assert_false(credentials_password_verify(cheap, "tested cheaply!", 15));
	assert_true(credentials_password_verify(real, pw, strlen(pw)));
}

static void test_password_verify_null_hash(void **state)
{
	(void)state;
	/* An unknown handle: no stored hash, never a match. */
	assert_false(credentials_password_verify(NULL, "correct horse battery staple", 28));
	assert_false(credentials_password_verify(NULL, "", 0));
}

/* ---- tokens ------------------------------------------------------------ */

static void test_token_new_shape(void **state)
{
	(void)state;
	char text[TOKEN_TEXT_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN];
	memset(text, 'x', sizeof(text));
	credentials_token_new(text, hash);
	assert_int_equal(strlen(text), 43);
	for (size_t i = 0; i < TOKEN_TEXT_LEN; i++)
		if (!strchr(alphabet, text[i]))
			fail_msg("token %s has non-base64url byte 0x%02x at %zu", text,
			         (unsigned char)text[i], i);
	/* It decodes to 32 random bytes. */
	unsigned char raw[TOKEN_RAW_LEN + 1];
	size_t rawlen = 0;
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), text, TOKEN_TEXT_LEN, NULL, &rawlen,
	                                   NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	                 0);
	assert_int_equal(rawlen, TOKEN_RAW_LEN);
}

static void test_token_hash_matches_new(void **state)
{
	(void)state;
	/* The hash the store saves at sign-in is the hash computed when the
	 * client presents the token later, and it is the token's SHA-256
	 * (the store never holds the token itself). */
	for (int i = 0; i < 20; i++) {
		char text[TOKEN_TEXT_LEN + 1];
		uint8_t stored[TOKEN_HASH_LEN], presented[TOKEN_HASH_LEN];
		uint8_t sha[crypto_hash_sha256_BYTES];
		credentials_token_new(text, stored);
		assert_true(credentials_token_hash(text, strlen(text), presented));
		assert_memory_equal(stored, presented, TOKEN_HASH_LEN);
		crypto_hash_sha256(sha, (const unsigned char *)text, TOKEN_TEXT_LEN);
		assert_memory_equal(stored, sha, TOKEN_HASH_LEN);
	}
}

static void test_tokens_differ(void **state)
{
	(void)state;
	char a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1];
	uint8_t ha[TOKEN_HASH_LEN], hb[TOKEN_HASH_LEN];
	credentials_token_new(a, ha);
	credentials_token_new(b, hb);
	assert_string_not_equal(a, b);
	assert_memory_not_equal(ha, hb, TOKEN_HASH_LEN);
}

static void test_token_hash_rejects_length(void **state)
{
	(void)state;
	char text[TOKEN_TEXT_LEN + 2];
	uint8_t hash[TOKEN_HASH_LEN];
	credentials_token_new(text, hash);
	text[TOKEN_TEXT_LEN] = 'A';
	text[TOKEN_TEXT_LEN + 1] = '\0';
	uint8_t out[TOKEN_HASH_LEN];
	assert_false(credentials_token_hash(text, 0, out));
	assert_false(credentials_token_hash(text, 1, out));
	assert_false(credentials_token_hash(text, TOKEN_TEXT_LEN - 1, out));
	assert_false(credentials_token_hash(text, TOKEN_TEXT_LEN + 1, out));
	/* A padded form of the same token is not accepted either. */
	text[TOKEN_TEXT_LEN] = '=';
	assert_false(credentials_token_hash(text, TOKEN_TEXT_LEN + 1, out));
	assert_true(credentials_token_hash(text, TOKEN_TEXT_LEN, out));
	assert_memory_equal(out, hash, TOKEN_HASH_LEN);
}

static void test_token_hash_rejects_alphabet(void **state)
{
	(void)state;
	/* Standard base64's '+' and '/', padding, space, NUL, a dot, a
	 * non-ASCII byte: each at the start, middle and end of a valid token. */
	static const char bad[] = {'+', '/',  '=', ' ',        '\0',
	                           '.', '\n', '%', (char)0xc3, (char)0x80};
	static const size_t where[] = {0, 21, TOKEN_TEXT_LEN - 1};
	char text[TOKEN_TEXT_LEN + 1];
	uint8_t hash[TOKEN_HASH_LEN], out[TOKEN_HASH_LEN];
	credentials_token_new(text, hash);
	for (size_t i = 0; i < sizeof(bad); i++) {
		for (size_t j = 0; j < sizeof(where) / sizeof(where[0]); j++) {
			char t[TOKEN_TEXT_LEN + 1];
			memcpy(t, text, sizeof(t));
			t[where[j]] = bad[i];
			if (credentials_token_hash(t, TOKEN_TEXT_LEN, out))
				fail_msg("accepted byte 0x%02x at %zu", (unsigned char)bad[i],
				         where[j]);
		}
	}
	/* Every byte value at one position: accepted exactly when it is
	 * base64url (this also covers the neighbours of each range, '/' ':' '@'
	 * '[' '`' '{', which a range check gets wrong by one). */
	for (int b = 0; b < 256; b++) {
		char u[TOKEN_TEXT_LEN + 1];
		memcpy(u, text, sizeof(u));
		u[21] = (char)b;
		bool want = b != 0 && memchr(alphabet, b, 64) != NULL;
		if (credentials_token_hash(u, TOKEN_TEXT_LEN, out) != want)
			fail_msg("byte 0x%02x: accepted %d, want %d", b, !want, want);
	}
	/* Every base64url character is accepted in any position. */
	char t[TOKEN_TEXT_LEN + 1];
	for (size_t start = 0; start < 64; start += TOKEN_TEXT_LEN) {
		for (size_t i = 0; i < TOKEN_TEXT_LEN; i++)
			t[i] = alphabet[(start + i) % 64];
		t[TOKEN_TEXT_LEN] = '\0';
		assert_true(credentials_token_hash(t, TOKEN_TEXT_LEN, out));
	}
}

static void test_token_hash_deterministic(void **state)
{
	(void)state;
	char t[TOKEN_TEXT_LEN + 1];
	memset(t, 'A', TOKEN_TEXT_LEN);
	t[TOKEN_TEXT_LEN] = '\0';
	uint8_t h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN], h3[TOKEN_HASH_LEN];
	assert_true(credentials_token_hash(t, TOKEN_TEXT_LEN, h1));
	assert_true(credentials_token_hash(t, TOKEN_TEXT_LEN, h2));
	assert_memory_equal(h1, h2, TOKEN_HASH_LEN);
	t[TOKEN_TEXT_LEN - 1] = 'B';
	assert_true(credentials_token_hash(t, TOKEN_TEXT_LEN, h3));
	assert_memory_not_equal(h1, h3, TOKEN_HASH_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_password_round_trip),
	    cmocka_unit_test(test_password_salted),
	    cmocka_unit_test(test_password_is_bytes),
	    cmocka_unit_test(test_password_cost),
	    cmocka_unit_test(test_password_verify_null_hash),
	    cmocka_unit_test(test_token_new_shape),
	    cmocka_unit_test(test_token_hash_matches_new),
	    cmocka_unit_test(test_tokens_differ),
	    cmocka_unit_test(test_token_hash_rejects_length),
	    cmocka_unit_test(test_token_hash_rejects_alphabet),
	    cmocka_unit_test(test_token_hash_deterministic),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
