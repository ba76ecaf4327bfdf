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
