/*
 * blob_sign — see blob_sign.h.
 */
#include "media/blob_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"

void blob_sign(const uint8_t *secret, const char *method, const char *key, size_t key_len,
	       uint64_t expires, uint64_t max_bytes, char *hex)
{
	/* Fields are joined with '\n', which none of them can contain, so no
	 * two different requests share a signed string. */
	char tail[64];
	int n = snprintf(tail, sizeof(tail), "\n%llu\n%llu", (unsigned long long)expires,
			 (unsigned long long)max_bytes);
	crypto_auth_hmacsha256_state st;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_init(&st, secret, BLOB_SECRET_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)"chirp-blob-v1\n", 14);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)method, strlen(method));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)key, key_len);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)tail, (size_t)n);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, BLOB_SIG_HEX + 1, mac, sizeof(mac));
}

void blob_sign_url(struct strbuf *url, const uint8_t *secret, const char *base_url,
		   const char *method, const char *key, uint64_t expires, uint64_t max_bytes)
{
	bool get = strcmp(method, "GET") == 0;
	char sig[BLOB_SIG_HEX + 1];
	blob_sign(secret, method, key, strlen(key), expires, get ? 0 : max_bytes, sig);
	strbuf_appendf(url, "%s/blobs/%s?expires=%llu", base_url, key, (unsigned long long)expires);
	if (!get)
		strbuf_appendf(url, "&max=%llu", (unsigned long long)max_bytes);
	strbuf_appendf(url, "&sig=%s", sig);
}

/* "NAME=" and a decimal without leading zeros (1..19 digits: no
 * overflow), then `end` ('&', or '\0' for the end of q). Advances *p. */
static bool query_number(const char **p, const char *stop, const char *name, uint64_t *out)
{
	size_t n = strlen(name);
	const char *s = *p;
	if ((size_t)(stop - s) < n + 2 || memcmp(s, name, n) != 0 || s[n] != '=')
		return false;
	s += n + 1;
	size_t digits = 0;
	uint64_t v = 0;
	while (s + digits < stop && s[digits] >= '0' && s[digits] <= '9' && digits < 20) {
		v = v * 10 + (uint64_t)(s[digits] - '0');
		digits++;
	}
	if (digits == 0 || digits > 19 || (s[0] == '0' && digits > 1) || s + digits == stop ||
	    s[digits] != '&')
		return false;
	*out = v;
	*p = s + digits + 1;
	return true;
}

bool blob_query_parse(const char *method, const char *q, size_t len, uint64_t *expires,
		      uint64_t *max, const char **sig)
{
	const char *p = q, *stop = q + len;
	*max = 0;
	if (!query_number(&p, stop, "expires", expires))
		return false;
	if (strcmp(method, "GET") != 0 && !query_number(&p, stop, "max", max))
		return false;
	if ((size_t)(stop - p) != 4 + BLOB_SIG_HEX || memcmp(p, "sig=", 4) != 0)
		return false;
	p += 4;
	for (size_t i = 0; i < BLOB_SIG_HEX; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	*sig = p;
	return true;
}

enum blob_sig_result blob_sig_check(const uint8_t *secret, const char *method, const char *key,
				    size_t key_len, uint64_t expires, uint64_t max_bytes,
				    const char *sig, size_t sig_len, uint64_t now)
{
	char want[BLOB_SIG_HEX + 1];
	uint8_t a[crypto_auth_hmacsha256_BYTES], b[crypto_auth_hmacsha256_BYTES];
	size_t blen;
	if (sig_len != BLOB_SIG_HEX ||
	    sodium_hex2bin(b, sizeof(b), sig, sig_len, NULL, &blen, NULL) != 0 || blen != sizeof(b))
		return BLOB_SIG_BAD;
	blob_sign(secret, method, key, key_len, expires, max_bytes, want);
	sodium_hex2bin(a, sizeof(a), want, BLOB_SIG_HEX, NULL, &blen, NULL);
	if (crypto_verify_32(a, b) != 0)
		return BLOB_SIG_BAD;
	return now > expires ? BLOB_SIG_EXPIRED : BLOB_SIG_OK;
}

int blob_secret_load(const char *path, uint8_t *secret, struct strbuf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, secret, BLOB_SECRET_LEN);
		close(fd);
		if (n == BLOB_SECRET_LEN)
			return 0;
		strbuf_appendf(err, "%s: expected %d bytes", path, BLOB_SECRET_LEN);
		return -1;
	}
	if (errno != ENOENT) {
		strbuf_appendf(err, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(secret, BLOB_SECRET_LEN);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || file_write_all(fd, secret, BLOB_SECRET_LEN) != 0 || fsync(fd) != 0) {
		strbuf_appendf(err, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int blob_secret_parse(const char *text, size_t len, bool raw_ok, uint8_t *secret,
		      const char *what, struct strbuf *err)
{
	if (raw_ok && len == BLOB_SECRET_LEN) {
		memcpy(secret, text, BLOB_SECRET_LEN);
		return 0;
	}
	if (len > 0 && text[len - 1] == '\n')
		len--;
	size_t got = 0;
	const char *end = NULL;
	if (len == 2 * BLOB_SECRET_LEN &&
	    sodium_hex2bin(secret, BLOB_SECRET_LEN, text, len, NULL, &got, &end) == 0 &&
	    got == BLOB_SECRET_LEN && end == text + len)
		return 0;
	sodium_memzero(secret, BLOB_SECRET_LEN);
	strbuf_appendf(err, "%s: expected %d hex digits (openssl rand -hex %d) or %d raw bytes",
		       what, 2 * BLOB_SECRET_LEN, BLOB_SECRET_LEN, BLOB_SECRET_LEN);
	return -1;
}

int blob_secret_read(const char *path, uint8_t *secret, struct strbuf *err)
{
	/* one byte more than the longest form, to tell a longer file apart */
	char buf[2 * BLOB_SECRET_LEN + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		strbuf_appendf(err, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	int saved = errno;
	close(fd);
	if (n < 0) {
		strbuf_appendf(err, "cannot read %s: %s", path, strerror(saved));
		return -1;
	}
	int rc = blob_secret_parse(buf, (size_t)n, true, secret, path, err);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}
