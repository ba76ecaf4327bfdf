/*
 * sigv4 — see sigv4.h. The steps are AWS's: canonical request, string to
 * sign, signing key derived from the secret by date, region and service,
 * and the signature over the string to sign.
 */
#include "media/sigv4.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

#define MAX_PARAMS 16

void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			strbuf_append_char(sb, (char)ch);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			strbuf_append(sb, e, 3);
		}
	}
}

static void hmac(uint8_t *out, const uint8_t *key, size_t key_len, const char *msg, size_t len)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)msg, len);
	crypto_auth_hmacsha256_final(&st, out);
}

struct enc_param {
	struct strbuf name, value;
};

static int by_name(const void *a, const void *b)
{
	const struct enc_param *x = a, *y = b;
	int c = strcmp(x->name.data, y->name.data);
	return c ? c : strcmp(x->value.data ? x->value.data : "", y->value.data ? y->value.data : "");
}

static void add(struct enc_param *p, size_t *n, const char *name, const char *value)
{
	strbuf_init(&p[*n].name);
	strbuf_init(&p[*n].value);
	sigv4_uri_encode(&p[*n].name, name, strlen(name), 0);
	sigv4_uri_encode(&p[*n].value, value, strlen(value), 0);
	(*n)++;
}

void sigv4_presign(const struct sigv4_request *r, struct strbuf *url)
{
	char date[9], stamp[17], scope[128], credential[256], expires[16];
	time_t t = (time_t)r->now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, r->region, r->service);
	snprintf(credential, sizeof(credential), "%s/%s", r->access_key, scope);
	snprintf(expires, sizeof(expires), "%u", r->expires);

	struct enc_param p[MAX_PARAMS + 5];
	size_t n = 0;
	add(p, &n, "X-Amz-Algorithm", "AWS4-HMAC-SHA256");
	add(p, &n, "X-Amz-Credential", credential);
	add(p, &n, "X-Amz-Date", stamp);
	add(p, &n, "X-Amz-Expires", expires);
	add(p, &n, "X-Amz-SignedHeaders", "host");
	for (size_t i = 0; i < r->nparams && i < MAX_PARAMS; i++)
		add(p, &n, r->params[i].name, r->params[i].value);
	qsort(p, n, sizeof(p[0]), by_name);

	struct strbuf query = STRBUF_INIT, canon = STRBUF_INIT, path = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		strbuf_appendf(&query, "%s%s=%s", i ? "&" : "", p[i].name.data,
			       p[i].value.data ? p[i].value.data : "");
	sigv4_uri_encode(&path, r->path, strlen(r->path), 1);
	strbuf_appendf(&canon, "%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", r->method, path.data,
		       query.data, r->host);

	uint8_t h[crypto_hash_sha256_BYTES];
	char hhex[2 * sizeof(h) + 1];
	crypto_hash_sha256(h, (const uint8_t *)canon.data, canon.len);
	sodium_bin2hex(hhex, sizeof(hhex), h, sizeof(h));
	struct strbuf sts = STRBUF_INIT;
	strbuf_appendf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", stamp, scope, hhex);

	struct strbuf k = STRBUF_INIT;
	strbuf_appendf(&k, "AWS4%s", r->secret_key);
	uint8_t kd[32], kr[32], ks[32], kn[32], sig[32];
	hmac(kd, (const uint8_t *)k.data, k.len, date, strlen(date));
	hmac(kr, kd, 32, r->region, strlen(r->region));
	hmac(ks, kr, 32, r->service, strlen(r->service));
	hmac(kn, ks, 32, "aws4_request", 12);
	hmac(sig, kn, 32, sts.data, sts.len);
	char sighex[65];
	sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));

	strbuf_appendf(url, "%s://%s%s?%s&X-Amz-Signature=%s", r->scheme, r->host, path.data,
		       query.data, sighex);

	sodium_memzero(k.data, k.len);
	sodium_memzero(kn, sizeof(kn));
	for (size_t i = 0; i < n; i++) {
		strbuf_deinit(&p[i].name);
		strbuf_deinit(&p[i].value);
	}
	strbuf_deinit(&k);
	strbuf_deinit(&sts);
	strbuf_deinit(&query);
	strbuf_deinit(&canon);
	strbuf_deinit(&path);
}
