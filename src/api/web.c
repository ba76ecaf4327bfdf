/*
 * web — the web client: GET /, /@{handle}, /tweets/{id}, /search,
 * /hashtags/{tag} and /notifications serve the page (index.html; the client routes by itself, so a reload on any of
 * them works), GET /assets/{version}/{name} its scripts, styles and icon.
 * The files are compiled in (web/assets.h); docs/architecture.md says how.
 *
 * Caching: assets are named by the build's version, so their URLs change
 * whenever any of them does and each answer may be kept for a year
 * (immutable). The page has one URL for every build: it is revalidated on
 * each load (no-cache, with an ETag, so a reload costs a 304).
 *
 * Security: every answer carries a Content-Security-Policy that allows
 * only this origin's scripts and styles, nothing inline, no frames; the
 * only other origins it names are the operator's own media locations
 * (--media-base-url, --blob-s3-endpoint), where images load from and
 * uploads go to. No Referer (the live stream's URL carries the
 * token).
 */
#include <string.h>

#include "api/api.h"
#include "http/respond.h"
#include "util/strbuf.h"
#include "web/assets.h"

/* "https://media.example:8443/x" -> "https://media.example:8443", only if
 * it is plainly an origin (no character that could end a CSP directive). */
static size_t origin_of(const char *url, const char **out)
{
	const char *sep = url ? strstr(url, "://") : NULL;
	if (!sep || sep == url)
		return 0;
	const char *end = sep + 3;
	while (*end && *end != '/')
		end++;
	for (const char *p = url; p < end; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		          (*p >= '0' && *p <= '9') || strchr(".-:/[]", *p);
		if (!ok)
			return 0;
	}
	*out = url;
	return (size_t)(end - url);
}

static void security_headers(struct ctx *c)
{
	const struct chirp_config *cfg = c->app->cfg;
	const char *media = NULL, *s3 = NULL;
	size_t media_len = origin_of(cfg->media_base_url, &media);
	size_t s3_len = origin_of(cfg->blob_s3_endpoint, &s3);
	struct strbuf csp = STRBUF_INIT;
	strbuf_append_str(&csp, "default-src 'none'; script-src 'self'; style-src 'self'; "
	                        "img-src 'self' blob:");
	if (media_len) {
		strbuf_append(&csp, " ", 1);
		strbuf_append(&csp, media, media_len);
	}
	if (s3_len) {
		strbuf_append(&csp, " ", 1);
		strbuf_append(&csp, s3, s3_len);
	}
	strbuf_append_str(&csp, "; connect-src 'self'");
	if (s3_len) { /* uploads go straight to the bucket */
		strbuf_append(&csp, " ", 1);
		strbuf_append(&csp, s3, s3_len);
	}
	strbuf_append_str(&csp, "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	http_header_add(c->req, "content-security-policy", csp.data, csp.len);
	strbuf_deinit(&csp);
	http_header_add(c->req, "referrer-policy", "no-referrer", 11);
	http_header_add(c->req, "cross-origin-opener-policy", "same-origin", 11);
}

/* True if If-None-Match names `etag` (or is "*"). */
static bool not_modified(h2o_req_t *req, const char *etag)
{
	h2o_iovec_t v;
	if (!http_header_get(req, "if-none-match", &v))
		return false;
	size_t elen = strlen(etag);
	for (size_t i = 0; i < v.len; i++) {
		if (v.base[i] == '*')
			return true;
		if (v.len - i >= elen && memcmp(v.base + i, etag, elen) == 0)
			return true;
	}
	return false;
}

static void send_asset(struct ctx *c, const struct web_asset *a, const char *cache_control)
{
	security_headers(c);
	http_header_add(c->req, "cache-control", cache_control, strlen(cache_control));
	http_header_add(c->req, "etag", a->etag, strlen(a->etag));
	if (not_modified(c->req, a->etag)) {
		/* No Content-Length: a 304's would have to be the 200's. */
		c->req->res.status = 304;
		c->req->res.reason = "Not Modified";
		h2o_send_inline(c->req, "", 0);
		return;
	}
	http_send(c->req, 200, a->content_type, (const char *)a->data, a->len);
}

void api_web_page(struct ctx *c)
{
	send_asset(c, web_page(), "no-cache");
}

void api_web_asset(struct ctx *c)
{
	const char *version = c->m.params[0].s, *name = c->m.params[1].s;
	size_t version_len = c->m.params[0].len, name_len = c->m.params[1].len;
	const struct web_asset *a = web_asset_find(name, name_len);
	/* Another build's asset is not served under this build's forever-URL
	 * promise: a page that old reloads and gets the current version. */
	if (!a || version_len != strlen(web_version) || memcmp(version, web_version, version_len)) {
		http_send_error(c->req, 404, "not_found", "no such file");
		return;
	}
	send_asset(c, a, "public, max-age=31536000, immutable");
}
