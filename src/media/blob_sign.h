/*
 * blob_sign — chirp's own signed blob URLs: /blobs/KEY?expires=&max=&sig=.
 *
 * The local blob adapter (media/blob_dir.c) hands these out as presigned
 * upload URLs, and the media service (media_url) as the published download
 * URLs of every image, whichever adapter holds the bytes. chirp serves
 * them itself (api/blobs.c); the signature is their only authorisation:
 * an HMAC-SHA256 over method, key, expiry and size limit under a secret
 * kept in the data directory (blob.key). S3's own presigned URLs are
 * another scheme (SigV4, media/sigv4.c).
 */
#ifndef CHIRP_MEDIA_BLOB_SIGN_H
#define CHIRP_MEDIA_BLOB_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

#define BLOB_SECRET_LEN 32 /* the HMAC-SHA256 key */
#define BLOB_SIG_HEX 64    /* hex of an HMAC-SHA256 */

/* Result of checking a signed URL's query against a request. */
enum blob_sig_result { BLOB_SIG_OK, BLOB_SIG_BAD, BLOB_SIG_EXPIRED };

/* The HMAC-SHA256 over (method, key, expires, max) under `secret`, as 64
 * hex characters and a NUL into `hex`. Shared by signing and checking. */
void blob_sign(const uint8_t *secret, const char *method, const char *key, size_t key_len,
	       uint64_t expires, uint64_t max_bytes, char *hex);

/* Appends to `url` the signed URL BASE/blobs/KEY?expires=E[&max=M]&sig=S
 * that lets its holder send `method` for the NUL-terminated `key` until
 * `expires` (unix seconds). `max` (the largest body a PUT may carry) is
 * in the URL for every method but GET, whose signature has max 0. */
void blob_sign_url(struct strbuf *url, const uint8_t *secret, const char *base_url,
		   const char *method, const char *key, uint64_t expires, uint64_t max_bytes);

/* Reads the query of a signed URL (the bytes after '?', not decoded) in
 * the one form blob_sign_url writes: "expires=E&sig=S" for GET,
 * "expires=E&max=M&sig=S" for any other method, E and M decimal without
 * leading zeros, S 64 lowercase hex digits, nothing before, between or
 * after. Any other spelling of the same values (upper-case hex, "0"s in
 * front, parameters reordered, repeated or added) is refused, so an edge
 * cache keyed on the URI sees one URI per blob. True with *expires,
 * *max (0 for GET) and *sig (pointing into `q`, BLOB_SIG_HEX bytes). */
bool blob_query_parse(const char *method, const char *q, size_t len, uint64_t *expires,
		      uint64_t *max, const char **sig);

/* Checks a signed request: `sig` must be the signature of the other
 * arguments (compared in constant time), and `now` (unix seconds) not past
 * `expires`. A bad signature is reported before expiry, so an expired
 * forgery learns nothing. */
enum blob_sig_result blob_sig_check(const uint8_t *secret, const char *method, const char *key,
				    size_t key_len, uint64_t expires, uint64_t max_bytes,
				    const char *sig, size_t sig_len, uint64_t now);

/* Reads the secret from `path`, or makes a random one and writes it there
 * (mode 0600, fsynced) on first start. Returns 0 or -1 with `err`. */
int blob_secret_load(const char *path, uint8_t *secret, struct strbuf *err);

/* A secret an operator gives, shared by every node of a cluster: 64 hex
 * digits (`openssl rand -hex 32`), or (if `raw_ok`: a file) the 32 raw
 * bytes of a key chirp made. `len` bytes at `text`; one trailing newline
 * is allowed. Returns 0,
 * or -1 with `err` naming `what`. */
int blob_secret_parse(const char *text, size_t len, bool raw_ok, uint8_t *secret,
		      const char *what, struct strbuf *err);

/* Reads such a secret from `path`, which must exist (never made: a node
 * making its own would silently disagree with the others). */
int blob_secret_read(const char *path, uint8_t *secret, struct strbuf *err);

#endif
