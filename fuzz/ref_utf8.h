/*
 * ref_utf8 — an independent UTF-8 decoder for the fuzz targets only.
 *
 * src/util/utf8.c decides validity from per-lead-byte ranges of the second
 * byte (Unicode table 3-7). This one decodes first and judges the value
 * afterwards (shortest form, no surrogates, <= U+10FFFF), so the two share
 * no logic and a disagreement points at a bug in one of them.
 */
#ifndef CHIRP_FUZZ_REF_UTF8_H
#define CHIRP_FUZZ_REF_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at s[0..len); returns its byte length, or 0 if
 * the bytes there are not a well-formed sequence. */
static inline size_t ref_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n;
	uint32_t c;
	if ((s[0] & 0x80) == 0)
		n = 1, c = s[0];
	else if ((s[0] & 0xE0) == 0xC0)
		n = 2, c = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		n = 3, c = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[k] & 0x3F);
	}
	if (c < min_for_len[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

/* Reference validity and code-point count of s[0..len). */
static inline bool ref_utf8_count(const char *str, size_t len, size_t *count)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n = 0;
	while (i < len) {
		uint32_t cp;
		size_t k = ref_utf8_next(s + i, len - i, &cp);
		if (k == 0)
			return false;
		i += k;
		n++;
	}
	*count = n;
	return true;
}

#endif
