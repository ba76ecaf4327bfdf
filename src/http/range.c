/*
 * range — see range.h.
 */
#include "http/range.h"

#include <stdlib.h>
#include <string.h>

int http_range_parse(const char *s, size_t len, uint64_t size, uint64_t *from, uint64_t *to)
{
	char buf[64];
	if (len < 7 || len >= sizeof(buf) || memcmp(s, "bytes=", 6) != 0)
		return -1;
	memcpy(buf, s + 6, len - 6);
	buf[len - 6] = '\0';
	/* digits and one '-' only: no spaces, signs, commas or NULs that
	 * strtoull would skip or stop at */
	size_t dashes = 0;
	for (size_t i = 0; i < len - 6; i++) {
		if (buf[i] == '-')
			dashes++;
		else if (buf[i] < '0' || buf[i] > '9')
			return -1;
	}
	if (dashes != 1)
		return -1;
	char *dash = strchr(buf, '-'), *end;
	if (!dash)
		return -1;
	*dash = '\0';
	if (buf[0] == '\0') { /* a suffix: the last N bytes */
		uint64_t n = strtoull(dash + 1, &end, 10);
		if (*end || dash[1] == '\0')
			return -1;
		if (n == 0 || size == 0)
			return 0;
		*from = n >= size ? 0 : size - n;
		*to = size - 1;
		return 1;
	}
	*from = strtoull(buf, &end, 10);
	if (*end)
		return -1;
	if (dash[1] == '\0') {
		*to = size ? size - 1 : 0;
	} else {
		*to = strtoull(dash + 1, &end, 10);
		if (*end || *to < *from)
			return -1;
		if (*to >= size)
			*to = size ? size - 1 : 0;
	}
	return *from < size ? 1 : 0;
}

