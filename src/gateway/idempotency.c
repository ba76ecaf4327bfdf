/*
 * idempotency — see idempotency.h.
 */
#include "gateway/idempotency.h"

#include <sodium.h>
#include <string.h>

#include "http/respond.h"
#include "util/log.h"

static bool valid_key(h2o_iovec_t v)
{
	if (v.len < 1 || v.len > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (v.base[i] < 0x20 || v.base[i] > 0x7e)
			return false;
	return true;
}

/* The fingerprint key: set once at start, read by every loop after. */
static uint8_t secret[IDEM_SECRET_LEN];
static bool have_secret;

void idempotency_init(const uint8_t *key)
{
	memcpy(secret, key, sizeof(secret));
	have_secret = true;
}

static void fingerprint(h2o_req_t *req, uint8_t *out)
{
	if (!have_secret)
		die("idempotency: idempotency_init was not called"); /* never unkeyed */
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, secret, sizeof(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)req->method.base,
				      req->method.len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)req->path_normalized.base,
				      req->path_normalized.len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"", 1);
	if (req->entity.base)
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)req->entity.base,
					      req->entity.len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* The record's name in out[IDEM_NAME_MAX + 1]: "METHOD PATH KEY", so a key
 * is scoped by method and path (and by user: the record's scope). A method
 * and path longer than IDEM_KEY_MAX bytes go by their SHA-256 instead
 * ("METHOD #<hex>"), which fits. */
static void name_record(h2o_req_t *req, h2o_iovec_t key, char *out)
{
	h2o_iovec_t m = req->method, p = req->path_normalized;
	size_t n;
	if (m.len + 1 + p.len <= IDEM_KEY_MAX) {
		memcpy(out, m.base, m.len);
		out[m.len] = ' ';
		memcpy(out + m.len + 1, p.base, p.len);
		n = m.len + 1 + p.len;
	} else {
		uint8_t digest[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(digest, (const unsigned char *)p.base, p.len);
		size_t mlen = m.len < IDEM_KEY_MAX - 2 - 2 * sizeof(digest)
				      ? m.len
				      : IDEM_KEY_MAX - 2 - 2 * sizeof(digest);
		memcpy(out, m.base, mlen);
		memcpy(out + mlen, " #", 2);
		sodium_bin2hex(out + mlen + 2, 2 * sizeof(digest) + 1, digest, sizeof(digest));
		n = mlen + 2 + 2 * sizeof(digest);
	}
	out[n++] = ' ';
	memcpy(out + n, key.base, key.len);
	out[n + key.len] = '\0';
}

int idempotency_parse(h2o_req_t *req, struct store_idem *idem)
{
	h2o_iovec_t v;
	if (!http_header_get(req, "idempotency-key", &v))
		return 0;
	if (!valid_key(v))
		return -1;
	idem->on = true;
	name_record(req, v, idem->key);
	fingerprint(req, idem->fingerprint);
	return 1;
}

void idempotency_refuse(h2o_req_t *req)
{
	http_send_error(req, 400, "invalid_idempotency_key",
			"Idempotency-Key must be 1..255 printable ASCII characters");
}

int idempotency_lookup(struct store_reader *db, const struct store_idem *idem,
		       struct store_idem_record *rec)
{
	return db->ops->idem_get(db, idem->scope, idem->key, rec);
}

bool idempotency_check(h2o_req_t *req, const struct store_idem *idem, int rc,
		       const struct store_idem_record *rec)
{
	if (rc == STORE_NOT_FOUND)
		return true;
	if (rc != STORE_OK) {
		http_send_unavailable(req);
	} else if (memcmp(rec->fingerprint, idem->fingerprint, sizeof(rec->fingerprint)) != 0) {
		http_send_error(req, 422, "idempotency_key_reused",
				"this Idempotency-Key was used with a different request");
	} else {
		http_header_add(req, "idempotent-replayed", "true", 4);
		http_send(req, rec->status, rec->body.len ? "application/json" : NULL,
			  rec->body.data, rec->body.len);
	}
	return false;
}
