/*
 * query — see query.h.
 */
#include "util/query.h"

#include <string.h>

bool query_find(const char *q, size_t len, const char *name, const char **value,
		size_t *value_len)
{
	const char *p = q, *end = q + len;
	size_t nlen = strlen(name);
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		const char *kend = eq ? eq : stop;
		if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
			*value = eq ? eq + 1 : stop;
			*value_len = eq ? (size_t)(stop - eq - 1) : 0;
			return true;
		}
		p = stop + 1;
	}
	return false;
}
