/*
 * fuzz_router — router_match over chirp's real route templates.
 *
 * Input: "METHOD PATH" (split at the first space; no space means the whole
 * input is the path and the method is GET). The templates below are a copy
 * of the table in src/api/routes.c (handlers are not needed and would pull
 * in h2o): if you add a route there, add its template here too.
 *
 * Checks, for every input:
 *   - the result is one of ROUTE_FOUND / ROUTE_NOT_FOUND / ROUTE_BAD_METHOD
 *     and agrees with a reference matcher that splits both path and template
 *     on '/' and compares segment lists (FOUND: the first route whose
 *     template and method match; BAD_METHOD: some template matches, none with
 *     this method; NOT_FOUND: no template matches);
 *   - ROUTE_FOUND implies m.route is in the table and its method equals the
 *     request method byte for byte; otherwise m.route is NULL;
 *   - every param is non-empty, lies inside the input path and contains no
 *     '/'; there is one param per "{...}" segment of the template;
 *   - substituting the params back into the template rebuilds the path.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "http/router.h"

#define R(m, p) {m, p, 0, 0}
static const struct route routes[] = {
	R("POST", "/v1/users"),
	R("GET", "/v1/users/by-handle/{handle}"),
	R("GET", "/v1/users/{id}"),
	R("GET", "/v1/users/{id}/tweets"),
	R("POST", "/v1/users/{id}/follows"),
	R("DELETE", "/v1/users/{id}/follows"),
	R("GET", "/v1/users/{id}/followers"),
	R("GET", "/v1/users/{id}/following"),
	R("POST", "/v1/sessions"),
	R("DELETE", "/v1/sessions/current"),
	R("POST", "/v1/tweets"),
	R("GET", "/v1/tweets/{id}"),
	R("DELETE", "/v1/tweets/{id}"),
	R("POST", "/v1/tweets/{id}/retweets"),
	R("DELETE", "/v1/tweets/{id}/retweets"),
	R("GET", "/v1/hashtags/{tag}/tweets"),
	R("GET", "/v1/trends"),
	R("GET", "/v1/feed"),
	R("GET", "/v1/feed/stream"),
	R("GET", "/v1/search/tweets"),
	R("GET", "/v1/search/users"),
	R("POST", "/v1/media"),
	R("GET", "/v1/media/{id}"),
	R("POST", "/v1/media/{id}/complete"),
	R("PUT", "/blobs/{key}"),
	R("GET", "/blobs/{key}"),
	R("GET", "/healthz"),
	R("GET", "/readyz"),
	R("GET", "/metrics"),
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

#define MAX_SEGS 16

struct seg {
	const char *s;
	size_t len;
};

/* Splits "/a/b/c" into segments; false if it does not start with '/' or
 * has more than MAX_SEGS segments. */
static bool split(const char *s, size_t len, struct seg *out, size_t *n)
{
	if (len == 0 || s[0] != '/')
		return false;
	*n = 0;
	size_t i = 1, start = 1;
	for (;; i++) {
		if (i == len || s[i] == '/') {
			if (*n == MAX_SEGS)
				return false;
			out[(*n)++] = (struct seg){s + start, i - start};
			start = i + 1;
			if (i == len)
				return true;
		}
	}
}

static bool ref_template_matches(const char *pat, const char *path, size_t len)
{
	struct seg ps[MAX_SEGS], ts[MAX_SEGS];
	size_t np, nt;
	if (!split(pat, strlen(pat), ts, &nt) || !split(path, len, ps, &np) || np != nt)
		return false;
	for (size_t i = 0; i < nt; i++) {
		if (ts[i].len && ts[i].s[0] == '{') {
			if (ps[i].len == 0)
				return false;
		} else if (ts[i].len != ps[i].len || memcmp(ts[i].s, ps[i].s, ps[i].len) != 0) {
			return false;
		}
	}
	return true;
}

static bool same_method(const struct route *r, const char *method, size_t mlen)
{
	return strlen(r->method) == mlen && memcmp(r->method, method, mlen) == 0;
}

/* libFuzzer's entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *sp = memchr(in, ' ', size);
	const char *method = sp ? in : "GET";
	size_t mlen = sp ? (size_t)(sp - in) : 3;
	const char *path = sp ? sp + 1 : in;
	size_t plen = sp ? size - mlen - 1 : size;

	/* The reference verdict. */
	int want = ROUTE_NOT_FOUND;
	const struct route *want_route = NULL;
	for (size_t i = 0; i < NROUTES; i++) {
		if (!ref_template_matches(routes[i].pattern, path, plen))
			continue;
		if (same_method(&routes[i], method, mlen)) {
			want = ROUTE_FOUND;
			want_route = &routes[i];
			break;
		}
		want = ROUTE_BAD_METHOD;
	}

	struct route_match m;
	memset(&m, 0xA5, sizeof(m));
	int rc = router_match(routes, NROUTES, method, mlen, path, plen, &m);
	assert(rc == ROUTE_FOUND || rc == ROUTE_NOT_FOUND || rc == ROUTE_BAD_METHOD);
	assert(rc == want);
	if (rc != ROUTE_FOUND) {
		assert(m.route == NULL);
		return 0;
	}
	assert(m.route == want_route);
	assert(m.route >= routes && m.route < routes + NROUTES);
	assert(same_method(m.route, method, mlen));

	/* Rebuild the path from the template and the params. */
	char rebuilt[4096];
	size_t rlen = 0;
	unsigned k = 0;
	for (const char *p = m.route->pattern; *p;) {
		if (*p == '{') {
			assert(k < m.nparams);
			const char *s = m.params[k].s;
			size_t len = m.params[k].len;
			assert(len > 0);
			assert(s >= path && s + len <= path + plen);
			assert(memchr(s, '/', len) == NULL);
			assert(rlen + len < sizeof(rebuilt) || plen >= sizeof(rebuilt));
			if (rlen + len >= sizeof(rebuilt))
				return 0; /* too long to rebuild here; checked the rest */
			memcpy(rebuilt + rlen, s, len);
			rlen += len;
			k++;
			p = strchr(p, '}') + 1;
		} else {
			if (rlen + 1 >= sizeof(rebuilt))
				return 0;
			rebuilt[rlen++] = *p++;
		}
	}
	assert(k == m.nparams);
	assert(rlen == plen && memcmp(rebuilt, path, plen) == 0);
	return 0;
}
