/*
 * mastodon_oauth — OAuth 2 for Mastodon apps: registering an app, the
 * password, authorization_code and client_credentials grants, the sign-in
 * page, revocation, and the scopes a token carries.
 *
 * Nothing here adds to the store. A Mastodon app is registered by handing
 * it a client_id that holds its own registration (name, redirect URIs,
 * scopes; base64url JSON) and a client_secret that is the server's HMAC of
 * that client_id: chirp can check any client it is shown and keeps no
 * table of them. A user token is a chirp session (made by the ordinary
 * log-in, stored only as a hash, revocable like any other) with its scopes
 * and their HMAC appended: "<session token>.<scopes>.<mac>". An
 * authorization code is that token sealed (XSalsa20-Poly1305) with the
 * client, the redirect URI and an expiry ten minutes ahead. All keys
 * derive from the data dir's oauth.key (main.c).
 *
 * What this costs, said plainly (docs/mastodon.md): an app cannot be
 * listed or deleted, and a code can be exchanged more than once within its
 * ten minutes (each exchange yields the same session's token).
 */
#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/mastodon.h"
#include "api/write.h"
#include "core/accounts.h"
#include "http/respond.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#define SESSION_TOKEN_LEN 43 /* base64url of 32 bytes (core/credentials.c) */
#define MAC_LEN 16
#define MAC_B64 22
#define MASTO_TOKEN_LEN (SESSION_TOKEN_LEN + 1 + 1 + 1 + MAC_B64)
#define APP_NAME_MAX 100
#define REDIRECTS_MAX 2000
#define CLIENT_ID_MAX 4096
#define CODE_TTL_MS (10 * 60 * 1000ull)
#define OOB "urn:ietf:wg:oauth:2.0:oob"

/* ---- keys, MACs, base64url ---- */

static void subkey(const struct app *app, const char *label, uint8_t out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)label, strlen(label), app->oauth_key,
			   sizeof(app->oauth_key));
}

static void mac(const struct app *app, const char *label, const void *m, size_t len,
		uint8_t out[MAC_LEN])
{
	uint8_t key[32], full[crypto_auth_hmacsha256_BYTES];
	subkey(app, label, key);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, sizeof(key));
	crypto_auth_hmacsha256_update(&st, m, len);
	crypto_auth_hmacsha256_final(&st, full);
	memcpy(out, full, MAC_LEN);
	sodium_memzero(key, sizeof(key));
}

static void b64(struct strbuf *sb, const void *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	strbuf_reserve(sb, n);
	sodium_bin2base64(sb->data + sb->len, n, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sb->len += n - 1;
}

/* base64url into a new buffer; NULL if it is not base64url. */
static uint8_t *unb64(const char *s, size_t len, size_t *out_len)
{
	uint8_t *bin = xmalloc(len + 1);
	if (sodium_base642bin(bin, len + 1, s, len, NULL, out_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
		free(bin);
		return NULL;
	}
	return bin;
}

/* ---- scopes ---- */

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{"read", API_SCOPE_READ},
	{"write", API_SCOPE_WRITE},
	{"follow", API_SCOPE_FOLLOW},
	{"push", API_SCOPE_PUSH},
};

/* "read write follow" into bits; false for a scope chirp does not know
 * (granular ones like read:statuses included: chirp grants whole scopes
 * only, and would rather refuse than grant more than was asked). */
static bool scopes_parse(const char *s, size_t len, unsigned *out)
{
	*out = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '+'))
			i++;
		size_t j = i;
		while (j < len && s[j] != ' ' && s[j] != '+')
			j++;
		if (j == i)
			break;
		bool known = false;
		for (size_t k = 0; k < sizeof(scope_names) / sizeof(scope_names[0]); k++) {
			if (strlen(scope_names[k].name) == j - i &&
			    memcmp(scope_names[k].name, s + i, j - i) == 0) {
				*out |= scope_names[k].bit;
				known = true;
			}
		}
		if (!known)
			return false;
		i = j;
	}
	return true;
}

static void scopes_format(unsigned bits, struct strbuf *sb)
{
	for (size_t k = 0; k < sizeof(scope_names) / sizeof(scope_names[0]); k++) {
		if (!(bits & scope_names[k].bit))
			continue;
		if (sb->len)
			strbuf_append_char(sb, ' ');
		strbuf_append_str(sb, scope_names[k].name);
	}
}

/* The scopes asked for, within the app's: none asked is "read", as in
 * Mastodon. False if one is unknown or beyond the app's. */
static bool scopes_requested(json_t *params, unsigned app_scopes, unsigned *out)
{
	size_t len;
	const char *s = mastodon_param(params, "scope", &len);
	if (!s || !len) {
		*out = API_SCOPE_READ & app_scopes;
		return *out != 0;
	}
	return scopes_parse(s, len, out) && *out && (*out & ~app_scopes) == 0;
}

/* ---- tokens ---- */

static void token_seal(const struct app *app, const char *session_token, unsigned scopes,
		       struct strbuf *out)
{
	char buf[SESSION_TOKEN_LEN + 3];
	memcpy(buf, session_token, SESSION_TOKEN_LEN);
	snprintf(buf + SESSION_TOKEN_LEN, 3, ".%x", (scopes >> 8) & 0xf);
	uint8_t m[MAC_LEN];
	mac(app, "token", buf, SESSION_TOKEN_LEN + 2, m);
	strbuf_append(out, buf, SESSION_TOKEN_LEN + 2);
	strbuf_append_char(out, '.');
	b64(out, m, MAC_LEN);
}

static bool mac_matches(const struct app *app, const char *label, const void *m, size_t len,
			const char *b64mac, size_t b64len)
{
	uint8_t want[MAC_LEN];
	mac(app, label, m, len, want);
	size_t n;
	uint8_t *got = unb64(b64mac, b64len, &n);
	bool ok = got && n == MAC_LEN && sodium_memcmp(got, want, MAC_LEN) == 0;
	free(got);
	return ok;
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* An app token: "app.<nonce>.<scopes>.<mac>". */
static bool app_token_ok(const struct app *app, const char *t, size_t len)
{
	if (len < 4 + 22 + 3 + MAC_B64 || memcmp(t, "app.", 4) != 0)
		return false;
	size_t body = len - MAC_B64 - 1;
	return t[body] == '.' && mac_matches(app, "app", t, body, t + body + 1, MAC_B64);
}

void mastodon_token_classify(const struct app *app, h2o_iovec_t *token, unsigned *scopes,
			     bool *app_token)
{
	*scopes = API_SCOPES_ALL;
	*app_token = false;
	if (token->len <= SESSION_TOKEN_LEN)
		return; /* a native token, or none chirp made */
	const char *t = token->base;
	if (app_token_ok(app, t, token->len)) {
		*app_token = true;
		*scopes = (unsigned)hexdigit(t[token->len - MAC_B64 - 2]) << 8;
		token->len = 0;
		return;
	}
	int bits;
	if (token->len != MASTO_TOKEN_LEN || t[SESSION_TOKEN_LEN] != '.' ||
	    (bits = hexdigit(t[SESSION_TOKEN_LEN + 1])) < 0 || t[SESSION_TOKEN_LEN + 2] != '.' ||
	    !mac_matches(app, "token", t, SESSION_TOKEN_LEN + 2, t + SESSION_TOKEN_LEN + 3, MAC_B64)) {
		token->len = 0;
		*scopes = 0;
		return;
	}
	*scopes = (unsigned)bits << 8;
	token->len = SESSION_TOKEN_LEN;
}

/* ---- clients ---- */

struct client {
	json_t *reg; /* {"n": name, "r": [redirect URIs], "s": scopes, "w": website} */
	unsigned scopes;
};

static bool redirect_ok(const char *s, size_t len)
{
	if (len == strlen(OOB) && memcmp(s, OOB, len) == 0)
		return true;
	const char *colon = memchr(s, ':', len);
	if (!colon || colon == s)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '<' ||
		    s[i] == '>')
			return false;
	return true;
}

static void client_id_make(const struct app *app, json_t *reg, struct strbuf *id,
			   struct strbuf *secret)
{
	char *s = json_dumps(reg, JSON_COMPACT);
	b64(id, s, strlen(s));
	free(s);
	uint8_t m[MAC_LEN * 2];
	mac(app, "client", id->data, id->len, m);
	mac(app, "client2", id->data, id->len, m + MAC_LEN);
	b64(secret, m, sizeof(m));
}

/* The client a client_id names; with `secret`, only if it matches. */
static bool client_open(const struct app *app, const char *id, size_t id_len, const char *secret,
			size_t secret_len, struct client *out)
{
	out->reg = NULL;
	if (!id || id_len == 0 || id_len > CLIENT_ID_MAX)
		return false;
	if (secret) {
		struct strbuf want = STRBUF_INIT;
		uint8_t m[MAC_LEN * 2];
		mac(app, "client", id, id_len, m);
		mac(app, "client2", id, id_len, m + MAC_LEN);
		b64(&want, m, sizeof(m));
		bool ok = want.len == secret_len && sodium_memcmp(want.data, secret, secret_len) == 0;
		strbuf_deinit(&want);
		if (!ok)
			return false;
	}
	size_t n;
	uint8_t *bin = unb64(id, id_len, &n);
	if (!bin)
		return false;
	out->reg = json_loadb((const char *)bin, n, 0, NULL);
	free(bin);
	const char *s = json_string_value(json_object_get(out->reg, "s"));
	if (!json_is_array(json_object_get(out->reg, "r")) || !s ||
	    !scopes_parse(s, strlen(s), &out->scopes)) {
		json_decref(out->reg);
		out->reg = NULL;
		return false;
	}
	/* Without a secret (the sign-in page) any well-formed registration
	 * is taken, as if it had just been registered: registering is open to
	 * anyone, and the code it leads to is only exchanged with the secret. */
	return true;
}

static bool client_has_redirect(const struct client *cl, const char *uri, size_t len)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(cl->reg, "r"), i, v)
	{
		if (json_string_length(v) == len && memcmp(json_string_value(v), uri, len) == 0)
			return true;
	}
	return false;
}

static void oauth_error(struct ctx *c, int status, const char *error, const char *description)
{
	mastodon_send(c, status,
		      json_pack("{ssss}", "error", error, "error_description", description));
}

/* POST /api/v1/apps {client_name, redirect_uris, scopes, website} */
void mastodon_apps_create(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	size_t nlen, rlen, slen, wlen;
	const char *name = mastodon_param(p, "client_name", &nlen);
	const char *redirects = mastodon_param(p, "redirect_uris", &rlen);
	const char *scopes = mastodon_param(p, "scopes", &slen);
	const char *website = mastodon_param(p, "website", &wlen);
	json_t *rarr = json_object_get(p, "redirect_uris");
	unsigned bits = API_SCOPE_READ;
	size_t cps;
	if (!name || !nlen || nlen > APP_NAME_MAX || !utf8_validate(name, nlen, &cps)) {
		mastodon_error(c, 422, "client_name must be 1..100 bytes of UTF-8");
		return;
	}
	if (scopes && slen && !scopes_parse(scopes, slen, &bits)) {
		mastodon_error(c, 422, "scopes must be among read, write, follow and push");
		return;
	}
	json_t *list = json_array();
	if (json_is_array(rarr)) {
		size_t i;
		json_t *v;
		json_array_foreach(rarr, i, v) json_array_append(list, v);
	} else if (redirects) {
		/* One per line, as Mastodon takes them. */
		const char *s = redirects, *end = redirects + rlen;
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			const char *e = nl ? nl : end;
			if (e > s)
				json_array_append_new(list, json_stringn(s, (size_t)(e - s)));
			s = e + 1;
		}
	}
	size_t i, total = 0;
	json_t *v;
	bool ok = json_array_size(list) > 0;
	json_array_foreach(list, i, v)
	{
		total += json_string_length(v) + 1;
		ok = ok && json_is_string(v) && redirect_ok(json_string_value(v), json_string_length(v));
	}
	if (!ok || total > REDIRECTS_MAX ||
	    (website && (wlen > REDIRECTS_MAX || !utf8_validate(website, wlen, &cps)))) {
		json_decref(list);
		mastodon_error(c, 422, "redirect_uris must be absolute URIs or " OOB
				       ", up to 2000 bytes in all");
		return;
	}
	struct strbuf sc = STRBUF_INIT, id = STRBUF_INIT, secret = STRBUF_INIT;
	scopes_format(bits, &sc);
	uint8_t nonce[12];
	randombytes_buf(nonce, sizeof(nonce));
	struct strbuf nb = STRBUF_INIT;
	b64(&nb, nonce, sizeof(nonce));
	json_t *reg = json_pack("{s:s%, s:O, s:s, s:s%, s:s}", "n", name, nlen, "r", list, "s",
				sc.data, "w", website ? website : "", website ? wlen : 0, "x",
				nb.data);
	client_id_make(c->app, reg, &id, &secret);
	struct strbuf joined = STRBUF_INIT;
	json_array_foreach(list, i, v)
	{
		if (i)
			strbuf_append_char(&joined, '\n');
		strbuf_append(&joined, json_string_value(v), json_string_length(v));
	}
	uint8_t idh[8];
	crypto_generichash(idh, sizeof(idh), (const unsigned char *)id.data, id.len, NULL, 0);
	uint64_t num;
	memcpy(&num, idh, 8);
	char idnum[24];
	snprintf(idnum, sizeof(idnum), "%llu", (unsigned long long)(num >> 1));
	json_t *out = json_pack("{ss, ss%, s:o, ss%, ss%, ss%, ss, ss}", "id", idnum, "name", name,
				nlen, "website", website ? json_stringn(website, wlen) : json_null(),
				"redirect_uri", joined.data, joined.len, "client_id", id.data, id.len,
				"client_secret", secret.data, secret.len, "vapid_key", "", "scopes",
				sc.data);
	json_object_set_new(out, "redirect_uris", json_incref(list));
	mastodon_send(c, 200, out);
	json_decref(reg);
	json_decref(list);
	strbuf_deinit(&sc);
	strbuf_deinit(&id);
	strbuf_deinit(&secret);
	strbuf_deinit(&nb);
	strbuf_deinit(&joined);
}

/* GET /api/v1/apps/verify_credentials: the app of an app token. */
void mastodon_apps_verify(struct ctx *c)
{
	if (!c->app_token && !c->user_id) {
		mastodon_error(c, 401, "The access token is invalid");
		return;
	}
	mastodon_send(c, 200, json_pack("{ss, s:n, ss}", "name", "chirp app", "website",
					"vapid_key", ""));
}

/* ---- tokens out ---- */

/* The answer of a log-in ({token, user}) as Mastodon's Token, with the
 * scopes the request was granted (kept in c->scopes until then). */
void mastodon_token_answer(struct ctx *c, int status, const struct strbuf *body)
{
	if (status == 401) {
		oauth_error(c, 400, "invalid_grant",
			    "The provided authorization grant is invalid, expired, revoked, does "
			    "not match the redirection URI used in the authorization request, or "
			    "was issued to another client.");
		return;
	}
	if (status >= 300) {
		http_send(c->req, status, "application/json", body->data, body->len);
		return;
	}
	json_t *login = json_loadb(body->data, body->len, 0, NULL);
	const char *tok = json_string_value(json_object_get(login, "token"));
	if (!tok || strlen(tok) != SESSION_TOKEN_LEN) {
		json_decref(login);
		http_send_unavailable(c->req);
		return;
	}
	struct strbuf t = STRBUF_INIT, sc = STRBUF_INIT;
	token_seal(c->app, tok, c->scopes, &t);
	scopes_format(c->scopes, &sc);
	mastodon_send(c, 200,
		      json_pack("{ss%, ss, ss, sI}", "access_token", t.data, t.len, "token_type",
				"Bearer", "scope", sc.data, "created_at",
				(json_int_t)(time_now_ms() / 1000)));
	strbuf_deinit(&t);
	strbuf_deinit(&sc);
	json_decref(login);
}

/* ---- authorization codes ---- */

#define CODE_PLAIN (8 + 16 + 16 + MASTO_TOKEN_LEN)

static void digest16(const char *s, size_t len, uint8_t out[16])
{
	crypto_generichash(out, 16, (const unsigned char *)s, len, NULL, 0);
}

static void code_seal(const struct app *app, const char *token, const char *client_id,
		      size_t cid_len, const char *redirect, size_t rlen, struct strbuf *out)
{
	uint8_t plain[CODE_PLAIN];
	uint64_t exp = time_now_ms() + CODE_TTL_MS;
	memcpy(plain, &exp, 8);
	digest16(client_id, cid_len, plain + 8);
	digest16(redirect, rlen, plain + 24);
	memcpy(plain + 40, token, MASTO_TOKEN_LEN);
	uint8_t box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + CODE_PLAIN];
	uint8_t key[32];
	subkey(app, "code", key);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, CODE_PLAIN, box, key);
	b64(out, box, sizeof(box));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, sizeof(plain));
}

/* The token in a code, if the code is ours, unexpired, and for this
 * client and redirect URI; into token[MASTO_TOKEN_LEN]. */
static bool code_open(const struct app *app, const char *code, size_t len, const char *client_id,
		      size_t cid_len, const char *redirect, size_t rlen, char *token)
{
	size_t n;
	uint8_t *box = code ? unb64(code, len, &n) : NULL;
	uint8_t plain[CODE_PLAIN], key[32];
	bool ok = box && n == crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + CODE_PLAIN;
	subkey(app, "code", key);
	ok = ok && crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
					      n - crypto_secretbox_NONCEBYTES, box, key) == 0;
	free(box);
	sodium_memzero(key, sizeof(key));
	if (!ok)
		return false;
	uint64_t exp;
	uint8_t d[16];
	memcpy(&exp, plain, 8);
	ok = exp > time_now_ms();
	digest16(client_id, cid_len, d);
	ok = ok && sodium_memcmp(d, plain + 8, 16) == 0;
	digest16(redirect, rlen, d);
	ok = ok && sodium_memcmp(d, plain + 24, 16) == 0;
	if (ok)
		memcpy(token, plain + 40, MASTO_TOKEN_LEN);
	sodium_memzero(plain, sizeof(plain));
	return ok;
}

/* POST /oauth/token */
void mastodon_oauth_token(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	size_t glen, idlen, slen;
	const char *grant = mastodon_param(p, "grant_type", &glen);
	const char *cid = mastodon_param(p, "client_id", &idlen);
	const char *secret = mastodon_param(p, "client_secret", &slen);
	struct client cl;
	if (!grant) {
		oauth_error(c, 400, "invalid_request", "grant_type is required");
		return;
	}
	if (!secret || !client_open(c->app, cid, idlen, secret, slen, &cl)) {
		oauth_error(c, 401, "invalid_client", "Client authentication failed");
		return;
	}
	if (strcmp(grant, "password") == 0) {
		size_t ulen, plen;
		/* The username is what the app asked for: an e-mail address or
		 * a handle (api_login takes either). */
		const char *user = mastodon_param(p, "username", &ulen);
		const char *pass = mastodon_param(p, "password", &plen);
		if (!user || !pass) {
			oauth_error(c, 400, "invalid_request", "username and password are required");
		} else if (!scopes_requested(p, cl.scopes, &c->scopes)) {
			oauth_error(c, 400, "invalid_scope", "The requested scope is invalid");
		} else {
			c->answer = mastodon_token_answer;
			c->answer_errors = true;
			api_login(c, user, ulen, pass, plen);
		}
	} else if (strcmp(grant, "client_credentials") == 0) {
		unsigned bits;
		if (!scopes_requested(p, cl.scopes, &bits)) {
			oauth_error(c, 400, "invalid_scope", "The requested scope is invalid");
		} else {
			struct strbuf t = STRBUF_INIT, sc = STRBUF_INIT;
			uint8_t nonce[16];
			randombytes_buf(nonce, sizeof(nonce));
			strbuf_append_str(&t, "app.");
			b64(&t, nonce, sizeof(nonce));
			strbuf_appendf(&t, ".%x", (bits >> 8) & 0xf);
			uint8_t m[MAC_LEN];
			mac(c->app, "app", t.data, t.len, m);
			strbuf_append_char(&t, '.');
			b64(&t, m, MAC_LEN);
			scopes_format(bits, &sc);
			mastodon_send(c, 200,
				      json_pack("{ss%, ss, ss, sI}", "access_token", t.data, t.len,
						"token_type", "Bearer", "scope", sc.data, "created_at",
						(json_int_t)(time_now_ms() / 1000)));
			strbuf_deinit(&t);
			strbuf_deinit(&sc);
		}
	} else if (strcmp(grant, "authorization_code") == 0) {
		size_t clen, rlen;
		const char *code = mastodon_param(p, "code", &clen);
		const char *redirect = mastodon_param(p, "redirect_uri", &rlen);
		char token[MASTO_TOKEN_LEN];
		if (!redirect || !code ||
		    !code_open(c->app, code, clen, cid, idlen, redirect, rlen, token)) {
			oauth_error(c, 400, "invalid_grant",
				    "The authorization code is invalid, expired, or for another "
				    "client or redirect URI");
		} else {
			unsigned bits = (unsigned)hexdigit(token[SESSION_TOKEN_LEN + 1]) << 8;
			struct strbuf sc = STRBUF_INIT;
			scopes_format(bits, &sc);
			mastodon_send(c, 200,
				      json_pack("{ss%, ss, ss, sI}", "access_token", token,
						(size_t)MASTO_TOKEN_LEN, "token_type", "Bearer", "scope",
						sc.data, "created_at",
						(json_int_t)(time_now_ms() / 1000)));
			strbuf_deinit(&sc);
		}
		sodium_memzero(token, sizeof(token));
	} else {
		oauth_error(c, 400, "unsupported_grant_type",
			    "grant_type must be password, authorization_code or client_credentials");
	}
	json_decref(cl.reg);
}

/* ---- the sign-in page ---- */

#define CSRF_COOKIE "chirp_oauth_csrf"

static void html_send(struct ctx *c, int status, const struct strbuf *body)
{
	/* The page may not be framed (clickjacking) and loads nothing. */
	http_header_set(c->req, "content-security-policy",
			H2O_STRLIT("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
				   "frame-ancestors 'none'"));
	http_header_set(c->req, "x-frame-options", H2O_STRLIT("DENY"));
	http_header_set(c->req, "cache-control", H2O_STRLIT("no-store"));
	http_send(c->req, status, "text/html; charset=utf-8", body->data, body->len);
}

static void page_head(struct strbuf *sb, const char *title)
{
	strbuf_appendf(sb,
		       "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width\">"
		       "<title>%s · chirp</title><style>body{font:16px system-ui,sans-serif;"
		       "max-width:26em;margin:3em auto;padding:0 1em}label,input,button{display:"
		       "block;width:100%%;margin:.4em 0}input,button{padding:.5em;font:inherit}"
		       ".err{color:#b00}code{word-break:break-all;font-size:1.2em}</style></head><body>",
		       title);
}

static void error_page(struct ctx *c, int status, const char *message)
{
	struct strbuf sb = STRBUF_INIT;
	page_head(&sb, "Authorisation error");
	strbuf_append_str(&sb, "<h1>Authorisation error</h1><p class=\"err\">");
	mastodon_html_escape(&sb, message, strlen(message));
	strbuf_append_str(&sb, "</p></body></html>");
	html_send(c, status, &sb);
	strbuf_deinit(&sb);
}

static void hidden(struct strbuf *sb, const char *name, const char *value, size_t len)
{
	strbuf_appendf(sb, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	mastodon_html_escape(sb, value, len);
	strbuf_append_str(sb, "\">");
}

/* The form: the app's name, what it asks for, handle and password. */
static void sign_in_page(struct ctx *c, int status, const struct client *cl, json_t *p,
			 const char *message)
{
	uint8_t raw[24];
	randombytes_buf(raw, sizeof(raw));
	struct strbuf csrf = STRBUF_INIT, cookie = STRBUF_INIT, sb = STRBUF_INIT,
		      sc = STRBUF_INIT;
	b64(&csrf, raw, sizeof(raw));
	strbuf_appendf(&cookie, CSRF_COOKIE "=%s; Path=/oauth; HttpOnly; SameSite=Strict",
		       csrf.data);
	http_header_add(c->req, "set-cookie", cookie.data, cookie.len);
	unsigned bits;
	if (!scopes_requested(p, cl->scopes, &bits))
		bits = API_SCOPE_READ;
	scopes_format(bits, &sc);
	const char *name = json_string_value(json_object_get(cl->reg, "n"));
	page_head(&sb, "Sign in");
	strbuf_append_str(&sb, "<h1>Sign in to chirp</h1><p><strong>");
	mastodon_html_escape(&sb, name, strlen(name));
	strbuf_append_str(&sb, "</strong> asks to use your account: <em>");
	mastodon_html_escape(&sb, sc.data, sc.len);
	strbuf_append_str(&sb, "</em>.</p>");
	if (message) {
		strbuf_append_str(&sb, "<p class=\"err\" role=\"alert\">");
		mastodon_html_escape(&sb, message, strlen(message));
		strbuf_append_str(&sb, "</p>");
	}
	strbuf_append_str(&sb, "<form method=\"post\" action=\"/oauth/authorize\">");
	hidden(&sb, "csrf", csrf.data, csrf.len);
	static const char *const keep[] = {"client_id", "redirect_uri", "state", "response_type"};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		size_t len;
		const char *v = mastodon_param(p, keep[i], &len);
		if (v)
			hidden(&sb, keep[i], v, len);
	}
	hidden(&sb, "scope", sc.data, sc.len);
	strbuf_append_str(&sb,
			  "<label>Handle or e-mail <input name=\"username\" autocomplete=\"username\" required "
			  "autofocus></label><label>Password <input name=\"password\" "
			  "type=\"password\" autocomplete=\"current-password\" required></label>"
			  "<button type=\"submit\">Authorise</button></form></body></html>");
	html_send(c, status, &sb);
	strbuf_deinit(&csrf);
	strbuf_deinit(&cookie);
	strbuf_deinit(&sb);
	strbuf_deinit(&sc);
}

/* The client and redirect URI of an authorize request, or an error page. */
static bool authorize_client(struct ctx *c, json_t *p, struct client *cl)
{
	size_t idlen, rlen, tlen;
	const char *cid = mastodon_param(p, "client_id", &idlen);
	const char *redirect = mastodon_param(p, "redirect_uri", &rlen);
	const char *type = mastodon_param(p, "response_type", &tlen);
	unsigned bits;
	if (!client_open(c->app, cid, idlen, NULL, 0, cl)) {
		error_page(c, 400, "This app is not known to this server (client_id).");
	} else if (!redirect || !client_has_redirect(cl, redirect, rlen)) {
		error_page(c, 400, "The redirect URI is not one this app registered.");
	} else if (type && strcmp(type, "code") != 0) {
		error_page(c, 400, "Only response_type=code is supported.");
	} else if (!scopes_requested(p, cl->scopes, &bits)) {
		error_page(c, 400, "The app asks for scopes it did not register.");
	} else {
		return true;
	}
	json_decref(cl->reg);
	cl->reg = NULL;
	return false;
}

/* GET /oauth/authorize */
void mastodon_oauth_authorize_page(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	struct client cl;
	if (!p || !authorize_client(c, p, &cl))
		return;
	sign_in_page(c, 200, &cl, p, NULL);
	json_decref(cl.reg);
}

static bool csrf_ok(struct ctx *c, json_t *p)
{
	size_t flen;
	const char *field = mastodon_param(p, "csrf", &flen);
	h2o_iovec_t cookie;
	if (!field || flen < 16 || !http_header_get(c->req, "cookie", &cookie))
		return false;
	static const char name[] = CSRF_COOKIE "=";
	for (size_t i = 0; i + sizeof(name) - 1 <= cookie.len; i++) {
		if ((i == 0 || cookie.base[i - 1] == ' ' || cookie.base[i - 1] == ';') &&
		    memcmp(cookie.base + i, name, sizeof(name) - 1) == 0) {
			const char *v = cookie.base + i + sizeof(name) - 1;
			size_t vlen = 0;
			while (v + vlen < cookie.base + cookie.len && v[vlen] != ';')
				vlen++;
			return vlen == flen && sodium_memcmp(v, field, flen) == 0;
		}
	}
	return false;
}

/* After the sign-in's log-in: a code, to the app's redirect URI or shown
 * on the page (OOB); a refusal shows the form again. */
static void authorize_answer(struct ctx *c, int status, const struct strbuf *body)
{
	json_t *p = c->body;
	struct client cl;
	if (!authorize_client(c, p, &cl))
		return;
	if (status == 401 || status == 429) {
		sign_in_page(c, status, &cl, p,
			     status == 401 ? "Wrong handle, e-mail or password." : "Too many attempts; wait "
										  "a minute.");
		json_decref(cl.reg);
		return;
	}
	json_t *login = status == 201 ? json_loadb(body->data, body->len, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(login, "token"));
	if (!tok || strlen(tok) != SESSION_TOKEN_LEN) {
		json_decref(login);
		json_decref(cl.reg);
		error_page(c, 503, "chirp could not sign you in just now; try again.");
		return;
	}
	size_t idlen, rlen, slen;
	const char *cid = mastodon_param(p, "client_id", &idlen);
	const char *redirect = mastodon_param(p, "redirect_uri", &rlen);
	const char *state = mastodon_param(p, "state", &slen);
	unsigned bits;
	scopes_requested(p, cl.scopes, &bits);
	struct strbuf t = STRBUF_INIT, code = STRBUF_INIT, sb = STRBUF_INIT;
	token_seal(c->app, tok, bits, &t);
	code_seal(c->app, t.data, cid, idlen, redirect, rlen, &code);
	if (strcmp(redirect, OOB) == 0) {
		page_head(&sb, "Authorisation code");
		strbuf_append_str(&sb, "<h1>Authorisation code</h1><p>Copy this code into the app:</p>"
				       "<p><code id=\"code\">");
		mastodon_html_escape(&sb, code.data, code.len);
		strbuf_append_str(&sb, "</code></p></body></html>");
		html_send(c, 200, &sb);
	} else {
		strbuf_append(&sb, redirect, rlen);
		strbuf_append_char(&sb, memchr(redirect, '?', rlen) ? '&' : '?');
		strbuf_append_str(&sb, "code=");
		strbuf_append(&sb, code.data, code.len);
		if (state) {
			strbuf_append_str(&sb, "&state=");
			for (size_t i = 0; i < slen; i++) {
				unsigned char ch = (unsigned char)state[i];
				if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
					strbuf_append_char(&sb, (char)ch);
				else
					strbuf_appendf(&sb, "%%%02X", ch);
			}
		}
		http_header_set(c->req, "location", sb.data, sb.len);
		http_send(c->req, 302, NULL, NULL, 0);
	}
	sodium_memzero(t.data, t.len);
	strbuf_deinit(&t);
	strbuf_deinit(&code);
	strbuf_deinit(&sb);
	json_decref(login);
	json_decref(cl.reg);
}

/* POST /oauth/authorize: the form's answer. */
void mastodon_oauth_authorize(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	struct client cl;
	if (!p || !authorize_client(c, p, &cl))
		return;
	size_t ulen, plen;
	const char *user = mastodon_param(p, "username", &ulen);
	const char *pass = mastodon_param(p, "password", &plen);
	if (!csrf_ok(c, p)) {
		sign_in_page(c, 403, &cl, p, "The form expired; sign in again.");
	} else if (!user || !pass || !ulen || !plen) {
		sign_in_page(c, 422, &cl, p, "Enter your handle or e-mail, and your password.");
	} else {
		c->answer = authorize_answer;
		c->answer_errors = true;
		api_login(c, user, ulen, pass, plen);
	}
	json_decref(cl.reg);
}

/* ---- revocation ---- */

struct revoke_read {
	struct api_read r;
	struct accounts *accounts;
	char token[SESSION_TOKEN_LEN];
	int rc;
	struct session s;
	uint8_t hash[TOKEN_HASH_LEN];
};

static void revoke_run(struct api_read *r, struct store_reader *db)
{
	struct revoke_read *q = (struct revoke_read *)r;
	q->rc = accounts_session(q->accounts, db, q->token, SESSION_TOKEN_LEN, &q->s, q->hash);
}

static void revoked_answer(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	mastodon_send(c, 200, json_object());
}

static void revoke_finish(struct api_read *r, struct ctx *c)
{
	struct revoke_read *q = (struct revoke_read *)r;
	if (q->rc == STORE_NOT_FOUND) {
		mastodon_send(c, 200, json_object()); /* RFC 7009: unknown tokens too */
	} else if (q->rc != STORE_OK) {
		http_send_unavailable(c->req);
	} else {
		c->answer = revoked_answer;
		accounts_logout(c->app->accounts, q->s.user_id, q->hash, api_write_done,
				api_write_begin(c));
	}
}

/* POST /oauth/revoke {client_id, client_secret, token} */
void mastodon_oauth_revoke(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	size_t idlen, slen, tlen;
	const char *cid = mastodon_param(p, "client_id", &idlen);
	const char *secret = mastodon_param(p, "client_secret", &slen);
	const char *tok = mastodon_param(p, "token", &tlen);
	struct client cl;
	if (!secret || !client_open(c->app, cid, idlen, secret, slen, &cl)) {
		oauth_error(c, 403, "unauthorized_client",
			    "You are not authorized to revoke this token");
		return;
	}
	json_decref(cl.reg);
	h2o_iovec_t t = h2o_iovec_init(tok ? tok : "", tlen);
	unsigned scopes;
	bool app_token;
	mastodon_token_classify(c->app, &t, &scopes, &app_token);
	if (t.len != SESSION_TOKEN_LEN) {
		mastodon_send(c, 200, json_object());
		return;
	}
	struct revoke_read *q = api_read_new(c, sizeof(*q));
	q->r.run = revoke_run;
	q->r.finish = revoke_finish;
	q->accounts = c->app->accounts;
	memcpy(q->token, t.base, SESSION_TOKEN_LEN);
	api_read(c, &q->r);
}
