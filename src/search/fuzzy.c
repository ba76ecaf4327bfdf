/*
 * fuzzy — see fuzzy.h.
 */
#include "search/fuzzy.h"

#include <stdbool.h>
#include <string.h>

#include "core/model.h"
#include "core/validate.h"

#define WORD_BYTES (FUZZY_MAX_CHARS * 4)

/* Handles are ASCII: a whole one fits where a word's bytes do. */
_Static_assert(FUZZY_HANDLE_MAX_CHARS <= WORD_BYTES, "handles fit the variant buffers");
_Static_assert(HANDLE_MAX <= FUZZY_HANDLE_MAX_CHARS, "every handle is typo-tolerant");

static unsigned edits_up_to(size_t chars, size_t max_chars)
{
	if (chars < FUZZY_MIN_CHARS || chars > max_chars)
		return 0;
	return chars >= FUZZY_TWO_EDITS ? 2 : 1;
}

unsigned fuzzy_max_edits(size_t chars)
{
	return edits_up_to(chars, FUZZY_MAX_CHARS);
}

unsigned fuzzy_handle_edits(size_t chars)
{
	return edits_up_to(chars, FUZZY_HANDLE_MAX_CHARS);
}

bool fuzzy_handle_fold(const char *h, size_t len, char *out)
{
	if (len > FUZZY_HANDLE_MAX_CHARS || !validate_handle(h, len))
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
	out[len] = '\0';
	return true;
}

static bool is_continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t fuzzy_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += !is_continuation((unsigned char)s[i]);
	return n;
}

/* Byte offsets of each code point, and of the end: off[0..n]. */
static size_t offsets(const char *s, size_t len, size_t *off)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (!is_continuation((unsigned char)s[i]))
			off[n++] = i;
	off[n] = len;
	return n;
}

/* Code points of valid UTF-8, for the distance. */
static size_t decode(const char *s, size_t len, uint32_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		int extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
		uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
		for (int k = 1; k <= extra && i + (size_t)k < len; k++)
			cp = cp << 6 | ((unsigned char)s[i + (size_t)k] & 0x3F);
		out[n++] = cp;
		i += (size_t)extra + 1;
	}
	return n;
}

void fuzzy_variants(const char *s, size_t len, unsigned edits,
		    void (*emit)(void *arg, const char *v, size_t vlen), void *arg)
{
	if (len > WORD_BYTES)
		return;
	size_t off[WORD_BYTES + 1];
	size_t n = offsets(s, len, off);
	char buf[WORD_BYTES];
	emit(arg, s, len);
	if (edits == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		/* s without code point i */
		size_t a = off[i], b = off[i + 1];
		memcpy(buf, s, a);
		memcpy(buf + a, s + b, len - b);
		emit(arg, buf, len - (b - a));
		if (edits < 2)
			continue;
		for (size_t j = i + 1; j < n; j++) {
			/* ... and without code point j too */
			size_t c = off[j], d = off[j + 1];
			char two[WORD_BYTES];
			memcpy(two, s, a);
			memcpy(two + a, s + b, c - b);
			memcpy(two + a + (c - b), s + d, len - d);
			emit(arg, two, len - (b - a) - (d - c));
		}
	}
}

unsigned fuzzy_distance(const char *as, size_t alen, const char *bs, size_t blen, unsigned max)
{
	if (alen > WORD_BYTES || blen > WORD_BYTES)
		return max + 1;
	uint32_t a[WORD_BYTES], b[WORD_BYTES];
	size_t n = decode(as, alen, a), m = decode(bs, blen, b);
	if ((n > m ? n - m : m - n) > max)
		return max + 1;
	/* Three rows of the optimal-string-alignment table. */
	unsigned rows[3][WORD_BYTES + 1];
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= m; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++) {
		cur[0] = (unsigned)i;
		unsigned best = cur[0];
		for (size_t j = 1; j <= m; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = prev[j - 1] + cost;
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1; /* every path already costs more */
		unsigned *t = prev2;
		prev2 = prev, prev = cur, cur = t;
	}
	return prev[m] <= max ? prev[m] : max + 1;
}
