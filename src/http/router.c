/*
 * router — see router.h.
 */
#include "http/router.h"

#include <stdbool.h>
#include <string.h>

/* Matches `path` against one template, filling params. Literal segments
 * compare exactly; "{name}" matches one non-empty segment. */
static bool match_pattern(const char *pat, const char *path, size_t plen, struct route_match *m)
{
	const char *p = path, *end = path + plen;
	m->nparams = 0;
	while (*pat) {
		if (p >= end || *p != '/' || *pat != '/')
			return false;
		pat++, p++;
		const char *seg = p;
		while (p < end && *p != '/')
			p++;
		size_t seglen = (size_t)(p - seg);
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			if (!close || seglen == 0 || m->nparams == ROUTER_MAX_PARAMS)
				return false;
			m->params[m->nparams].s = seg;
			m->params[m->nparams].len = seglen;
			m->nparams++;
			pat = close + 1;
		} else {
			size_t lit = strcspn(pat, "/");
			if (lit != seglen || memcmp(pat, seg, lit) != 0)
				return false;
			pat += lit;
		}
	}
	return p == end;
}

int router_match(const struct route *routes, size_t n, const char *method, size_t method_len,
		 const char *path, size_t path_len, struct route_match *m)
{
	int result = ROUTE_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		if (!match_pattern(routes[i].pattern, path, path_len, m))
			continue;
		if (strlen(routes[i].method) == method_len &&
		    memcmp(routes[i].method, method, method_len) == 0) {
			m->route = &routes[i];
			return ROUTE_FOUND;
		}
		result = ROUTE_BAD_METHOD;
	}
	m->route = NULL;
	return result;
}
