/*
 * idempotency — see idempotency.h.
 */
#include "gateway/idempotency.h"

#include <sodium.h>
#include <string.h>

#include "http/respond.h"

static bool valid_key(h2o_iovec_t v)
{
	if (v.len < 1 || v.len > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (v.base[i] < 0x20 || v.base[i] > 0x7e)
			return false;
	return true;
}

static void fingerprint(h2o_req_t *req, uint8_t *out)
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)req->method.base, req->method.len);
	crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)req->path_normalized.base,
				  req->path_normalized.len);
	crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
	if (req->entity.base)
		crypto_hash_sha256_update(&st, (const unsigned char *)req->entity.base,
					  req->entity.len);
	crypto_hash_sha256_final(&st, out);
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
