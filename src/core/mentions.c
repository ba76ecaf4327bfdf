/*
 * mentions — see mentions.h.
 */
#include "core/mentions.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool handle_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool seen(char out[][HANDLE_MAX + 1], unsigned n, const char *h, size_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (strlen(out[i]) == len && strncasecmp(out[i], h, len) == 0)
			return true;
	return false;
}

unsigned mentions_parse(const char *text, size_t len, char out[][HANDLE_MAX + 1])
{
	unsigned n = 0;
	for (size_t i = 0; i < len && n < MENTIONS_MAX; i++) {
		if (text[i] != '@' || (i > 0 && handle_char((unsigned char)text[i - 1])))
			continue;
		size_t start = i + 1, end = start;
		while (end < len && handle_char((unsigned char)text[end]))
			end++;
		size_t hlen = end - start;
		i = end - 1; /* the loop's i++ lands on what follows the handle */
		if (hlen == 0 || hlen > HANDLE_MAX || seen(out, n, text + start, hlen))
			continue;
		memcpy(out[n], text + start, hlen);
		out[n][hlen] = '\0';
		n++;
	}
	return n;
}
