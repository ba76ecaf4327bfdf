/*
 * mastodon_form — a Mastodon request's parameters, wherever the client put
 * them: Mastodon (a Rails app) reads the query string and a JSON or
 * form-encoded body as one set, and clients use all three (toot sends
 * forms, masto.js JSON, OAuth libraries query strings).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/mastodon.h"
#include "http/respond.h"
#include "util/query.h"
#include "util/strbuf.h"

#define PARAMS_MAX 64 /* distinct names; more is a 422, not a slow request */

/* Percent-decoding, '+' as a space (util/query.h); false on a bad escape. */
static bool url_decode(const char *s, size_t len, struct strbuf *out)
{
	size_t n;
	strbuf_reset(out);
	strbuf_reserve(out, len + 1);
	if (!query_decode(s, len, out->data, &n))
		return false;
	out->len = n;
	out->data[n] = '\0';
	return true;
}

/* Sets name=value in `obj`; "name[]" appends to the array "name". */
static bool put_param(json_t *obj, const char *name, size_t nlen, json_t *value)
{
	if (nlen >= 2 && name[nlen - 2] == '[' && name[nlen - 1] == ']') {
		char key[128];
		if (nlen - 2 >= sizeof(key)) {
			json_decref(value);
			return false;
		}
		memcpy(key, name, nlen - 2);
		key[nlen - 2] = '\0';
		json_t *arr = json_object_get(obj, key);
		if (!json_is_array(arr)) {
			arr = json_array();
			json_object_set_new(obj, key, arr);
		}
		if (json_array_size(arr) >= PARAMS_MAX) {
			json_decref(value);
			return false;
		}
		json_array_append_new(arr, value);
		return true;
	}
	json_object_setn_new(obj, name, nlen, value);
	return true;
}

/* a=b&c=d into `obj`; false on a bad escape, invalid UTF-8 or too many. */
static bool parse_urlencoded(const char *s, size_t len, json_t *obj)
{
	struct strbuf name = STRBUF_INIT, value = STRBUF_INIT;
	bool ok = true;
	size_t i = 0;
	while (ok && i < len) {
		size_t end = i;
		while (end < len && s[end] != '&')
			end++;
		const char *eq = memchr(s + i, '=', end - i);
		size_t nlen = eq ? (size_t)(eq - (s + i)) : end - i;
		if (end > i) {
			ok = url_decode(s + i, nlen, &name) &&
			     (eq ? url_decode(eq + 1, (size_t)(s + end - eq - 1), &value)
				 : url_decode("", 0, &value));
			ok = ok && json_object_size(obj) < PARAMS_MAX;
			json_t *v = ok ? json_stringn(value.data, value.len) : NULL;
			ok = v && put_param(obj, name.data, name.len, v);
		}
		i = end + 1;
	}
	strbuf_deinit(&name);
	strbuf_deinit(&value);
	return ok;
}

static bool type_is(h2o_iovec_t v, const char *want)
{
	size_t n = strlen(want);
	return v.len >= n && strncasecmp(v.base, want, n) == 0 &&
	       (v.len == n || v.base[n] == ';' || v.base[n] == ' ');
}

/* memmem over the body. */
static const char *find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0 || hlen < nlen)
		return NULL;
	for (size_t i = 0; i + nlen <= hlen; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0)
			return hay + i;
	return NULL;
}

/* The value of `attr` (name, filename) in a Content-Disposition line, into
 * out; false if absent. Quoted values only, as browsers and clients send. */
static bool disposition_attr(const char *line, size_t len, const char *attr, struct strbuf *out)
{
	char pat[16];
	int n = snprintf(pat, sizeof(pat), "%s=\"", attr);
	for (const char *p = line; (p = find(p, (size_t)(line + len - p), pat, (size_t)n));
	     p += n) {
		if (p > line && p[-1] != ' ' && p[-1] != ';')
			continue;
		const char *v = p + n;
		const char *end = memchr(v, '"', (size_t)(line + len - v));
		if (!end)
			return false;
		strbuf_reset(out);
		strbuf_append(out, v, (size_t)(end - v));
		strbuf_append_char(out, '\0');
		out->len--;
		return true;
	}
	return false;
}

/* multipart/form-data: text parts become strings; a file part becomes
 * {"filename", "content_type", "offset", "length"}, its bytes left in the
 * request body (mastodon_file reads it back). */
static bool parse_multipart(struct ctx *c, h2o_iovec_t type, json_t *obj)
{
	const char *body = c->req->entity.base;
	size_t blen = c->req->entity.len;
	const char *b = find(type.base, type.len, "boundary=", 9);
	if (!b)
		return false;
	b += 9;
	size_t bl = (size_t)(type.base + type.len - b);
	if (bl && *b == '"') {
		b++;
		const char *q = memchr(b, '"', (size_t)(type.base + type.len - b));
		bl = q ? (size_t)(q - b) : 0;
	} else {
		const char *semi = memchr(b, ';', bl);
		if (semi)
			bl = (size_t)(semi - b);
	}
	if (bl == 0 || bl > 200)
		return false;
	char delim[208];
	int dl = snprintf(delim, sizeof(delim), "--%.*s", (int)bl, b);
	const char *p = find(body, blen, delim, (size_t)dl);
	struct strbuf name = STRBUF_INIT, filename = STRBUF_INIT;
	bool ok = p != NULL;
	while (ok) {
		p += dl;
		size_t left = (size_t)(body + blen - p);
		if (left >= 2 && p[0] == '-' && p[1] == '-')
			break; /* the closing delimiter */
		if (left < 2 || p[0] != '\r' || p[1] != '\n') {
			ok = false;
			break;
		}
		p += 2;
		const char *head_end = find(p, (size_t)(body + blen - p), "\r\n\r\n", 4);
		if (!head_end) {
			ok = false;
			break;
		}
		char ctype[64] = "application/octet-stream";
		bool named = false, is_file = false;
		for (const char *line = p; line < head_end;) {
			const char *eol = find(line, (size_t)(head_end + 2 - line), "\r\n", 2);
			size_t ll = (size_t)(eol - line);
			if (ll > 20 && strncasecmp(line, "content-disposition:", 20) == 0) {
				named = disposition_attr(line, ll, "name", &name);
				is_file = disposition_attr(line, ll, "filename", &filename);
			} else if (ll > 13 && strncasecmp(line, "content-type:", 13) == 0) {
				const char *v = line + 13;
				while (v < eol && *v == ' ')
					v++;
				snprintf(ctype, sizeof(ctype), "%.*s", (int)(eol - v), v);
			}
			line = eol + 2;
		}
		const char *data = head_end + 4;
		char crlf_delim[212];
		int cl = snprintf(crlf_delim, sizeof(crlf_delim), "\r\n%s", delim);
		const char *next = find(data, (size_t)(body + blen - data), crlf_delim, (size_t)cl);
		if (!next || !named || json_object_size(obj) >= PARAMS_MAX) {
			ok = false;
			break;
		}
		json_t *v = is_file ? json_pack("{ss, ss, sI, sI}", "filename", filename.data,
						"content_type", ctype, "offset",
						(json_int_t)(data - body), "length",
						(json_int_t)(next - data))
				    : json_stringn(data, (size_t)(next - data));
		ok = v && put_param(obj, name.data, name.len, v);
		p = next + 2;
	}
	strbuf_deinit(&name);
	strbuf_deinit(&filename);
	return ok;
}

static void json_dispose(void *p)
{
	json_decref(*(json_t **)p);
}

static bool parse_body(struct ctx *c, json_t *params)
{
	h2o_req_t *req = c->req;
	if (!req->entity.base || req->entity.len == 0)
		return true;
	h2o_iovec_t type = {0};
	http_header_get(req, "content-type", &type);
	/* A form may carry a file (media): as large as one upload. */
	uint64_t max = c->app->cfg->max_body_bytes;
	if (type_is(type, "multipart/form-data"))
		max += c->app->cfg->media_part_bytes;
	if (req->entity.len > max) {
		http_send_error(req, 413, "body_too_large", "request body is too large");
		return false;
	}
	if (type_is(type, "application/x-www-form-urlencoded")) {
		if (parse_urlencoded(req->entity.base, req->entity.len, params))
			return true;
		mastodon_error(c, 400, "the form body is malformed");
		return false;
	}
	if (type_is(type, "application/json")) {
		json_error_t err;
		json_t *root = json_loadb(req->entity.base, req->entity.len, JSON_REJECT_DUPLICATES,
					  &err);
		if (!json_is_object(root)) {
			json_decref(root);
			mastodon_error(c, 400, "the body is not a JSON object");
			return false;
		}
		json_object_update(params, root);
		json_decref(root);
		return true;
	}
	if (type_is(type, "multipart/form-data")) {
		if (parse_multipart(c, type, params))
			return true;
		mastodon_error(c, 400, "the multipart body is malformed");
		return false;
	}
	http_send_error(req, 415, "unsupported_media_type",
			"send application/json, application/x-www-form-urlencoded or "
			"multipart/form-data");
	return false;
}

bool mastodon_file(struct ctx *c, json_t *params, const char *name, struct mastodon_file *out)
{
	h2o_iovec_t type = {0};
	json_t *f = json_object_get(params, name);
	json_t *ctype = json_object_get(f, "content_type");
	json_t *off = json_object_get(f, "offset"), *len = json_object_get(f, "length");
	h2o_req_t *req = c->req;
	/* Only parse_multipart makes these: a JSON body can spell the same
	 * object, whose offset and length could point anywhere. */
	if (!http_header_get(req, "content-type", &type) || !type_is(type, "multipart/form-data") ||
	    !json_is_string(ctype) || !json_is_integer(off) || !json_is_integer(len))
		return false;
	json_int_t o = json_integer_value(off), n = json_integer_value(len);
	if (o < 0 || n < 0 || !req->entity.base || (uint64_t)o > req->entity.len ||
	    (uint64_t)n > req->entity.len - (uint64_t)o)
		return false;
	out->content_type = json_string_value(ctype);
	out->data = req->entity.base + o;
	out->len = (size_t)n;
	return true;
}

json_t *mastodon_params(struct ctx *c)
{
	if (c->body)
		return c->body;
	json_t *params = json_object();
	h2o_req_t *req = c->req;
	if (req->query_at != SIZE_MAX &&
	    !parse_urlencoded(req->path.base + req->query_at + 1,
			      req->path.len - req->query_at - 1, params)) {
		json_decref(params);
		mastodon_error(c, 400, "the query string is malformed");
		return NULL;
	}
	if (!parse_body(c, params)) {
		json_decref(params);
		return NULL;
	}
	mastodon_set_body(c, params);
	return params;
}

json_t *mastodon_keep(struct ctx *c, json_t *v)
{
	json_t **slot = h2o_mem_alloc_shared(&c->req->pool, sizeof(*slot), json_dispose);
	*slot = v;
	return v;
}

void mastodon_set_body(struct ctx *c, json_t *body)
{
	c->body = mastodon_keep(c, body);
}

json_t *mastodon_parse(const struct strbuf *body)
{
	return json_loadb(body->data ? body->data : "", body->len, 0, NULL);
}

const char *mastodon_param(json_t *params, const char *name, size_t *len)
{
	json_t *v = json_object_get(params, name);
	if (!json_is_string(v)) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

const char *mastodon_base_url(struct ctx *c)
{
	if (c->link_base)
		return c->link_base;
	h2o_req_t *req = c->req;
	h2o_iovec_t proto;
	bool tls = req->scheme == &H2O_URL_SCHEME_HTTPS ||
		   (c->app->cfg->trust_proxy && *c->app->cfg->trust_proxy && http_header_get(req, "x-forwarded-proto", &proto) &&
		    h2o_memis(proto.base, proto.len, H2O_STRLIT("https")));
	const char *scheme = tls ? "https://" : "http://";
	size_t n = strlen(scheme) + req->authority.len + 1;
	char *s = h2o_mem_alloc_pool(&req->pool, n);
	memcpy(s, scheme, strlen(scheme));
	memcpy(s + strlen(scheme), req->authority.base, req->authority.len);
	s[n - 1] = '\0';
	c->link_base = s; /* the façade's Link headers are absolute too */
	return s;
}

void mastodon_error(struct ctx *c, int status, const char *message)
{
	json_t *e = json_pack("{ss}", "error", message);
	mastodon_send(c, status, e);
}

void mastodon_send(struct ctx *c, int status, json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	char *s = json_dumps(v, JSON_COMPACT);
	strbuf_append_str(&sb, s);
	free(s);
	json_decref(v);
	http_send_json(c->req, status, &sb);
	strbuf_deinit(&sb);
}

static bool has_prefix(const char *path, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(path, prefix, n) == 0;
}

bool mastodon_cors(h2o_req_t *req, const char *path, size_t len)
{
	if (!has_prefix(path, len, "/api/") && !has_prefix(path, len, "/oauth/token") &&
	    !has_prefix(path, len, "/oauth/revoke") && !has_prefix(path, len, "/nodeinfo/") &&
	    !has_prefix(path, len, "/.well-known/nodeinfo"))
		return false;
	/* As Mastodon does: any origin, no cookies (the token is a header). */
	http_header_add(req, "access-control-allow-origin", H2O_STRLIT("*"));
	http_header_add(req, "access-control-expose-headers",
			H2O_STRLIT("Link, X-RateLimit-Reset, X-RateLimit-Limit, "
				   "X-RateLimit-Remaining, X-Request-Id, Idempotency-Key"));
	if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")))
		return false;
	h2o_iovec_t want;
	http_header_add(req, "access-control-allow-methods",
			H2O_STRLIT("POST, PUT, DELETE, GET, PATCH, OPTIONS"));
	if (http_header_get(req, "access-control-request-headers", &want) && want.len <= 1024)
		http_header_add(req, "access-control-allow-headers", want.base, want.len);
	http_header_add(req, "access-control-max-age", H2O_STRLIT("7200"));
	http_send(req, 200, NULL, NULL, 0);
	return true;
}
