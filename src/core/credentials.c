/*
 * credentials — see credentials.h.
 */
#include "core/credentials.h"

#include <sodium.h>
#include <string.h>

/* A hash of a throwaway password with the same cost as real ones, made once
 * at start; verifying against it equalises timing for unknown handles. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static unsigned long long ops_limit;
static size_t mem_limit;

_Static_assert(crypto_pwhash_STRBYTES <= PWHASH_MAX, "PWHASH_MAX too small");
_Static_assert(crypto_hash_sha256_BYTES == TOKEN_HASH_LEN, "token hash is SHA-256");

int credentials_init(enum pwhash_cost cost)
{
	if (sodium_init() < 0)
		return -1;
	bool test = cost == PWHASH_TEST;
	ops_limit = test ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
	mem_limit = test ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
	char pw[16];
	randombytes_buf(pw, sizeof(pw));
	return credentials_password_hash(pw, sizeof(pw), dummy_hash);
}

int credentials_password_hash(const char *password, size_t len, char *out)
{
	return crypto_pwhash_str(out, password, len, ops_limit, mem_limit) == 0 ? 0 : -1;
}

bool credentials_password_verify(const char *hash, const char *password, size_t len)
{
	bool ok = crypto_pwhash_str_verify(hash ? hash : dummy_hash, password, len) == 0;
	return hash != NULL && ok;
}

void credentials_token_new(char *text, uint8_t *hash)
{
	unsigned char raw[TOKEN_RAW_LEN];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(text, TOKEN_TEXT_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_hash_sha256(hash, (const unsigned char *)text, TOKEN_TEXT_LEN);
	sodium_memzero(raw, sizeof(raw));
}

bool credentials_token_hash(const char *text, size_t len, uint8_t *hash)
{
	if (len != TOKEN_TEXT_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	crypto_hash_sha256(hash, (const unsigned char *)text, len);
	return true;
}
