/*
 * utf8 — see utf8.h. A table-free decoder following the well-formed byte
 * sequences of Unicode 15, table 3-7.
 */
#include "util/utf8.h"

bool utf8_validate(const char *str, size_t len, size_t *count)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
		if (c < 0x80) {
			need = 0;
		} else if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return false;
		}
		if (need > len - i - 1)
			return false;
		for (size_t k = 1; k <= need; k++) {
			unsigned char b = s[i + k];
			if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
				return false;
		}
		i += need + 1;
		n++;
	}
	if (count)
		*count = n;
	return true;
}
