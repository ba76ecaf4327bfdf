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

int idempotency_parse(h2o_req_t *req, struct store_idem *idem)
{
	h2o_iovec_t v;
	if (!http_header_get(req, "idempotency-key", &v))
		return 0;
	if (!valid_key(v))
		return -1;
	idem->on = true;
	memcpy(idem->key, v.base, v.len);
	idem->key[v.len] = '\0';
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
