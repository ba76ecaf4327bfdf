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

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool query_decode(const char *v, size_t len, char *out, size_t *out_len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < len ? hex(v[i + 1]) : -1;
			int lo = hi >= 0 ? hex(v[i + 2]) : -1;
			if (lo < 0)
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		out[n++] = c;
	}
	*out_len = n;
	return true;
}
