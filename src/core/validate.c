/*
 * validate — see validate.h.
 */
#include "core/validate.h"

#include <stdint.h>
#include <string.h>

#include "core/model.h"
#include "util/utf8.h"

bool validate_handle(const char *s, size_t len)
{
	if (len < 1 || len > HANDLE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

bool validate_password(const char *s, size_t len)
{
	(void)s;
	return len >= PASSWORD_MIN && len <= PASSWORD_MAX;
}

/* ASCII controls and DEL; C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F. */
static bool has_control(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7F)
			return true;
		if (s[i] == 0xC2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9F)
			return true;
	}
	return false;
}

/* Unicode's White_Space property (PropList.txt). */
static bool is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

/* What shows as nothing: General_Category Cf (format: zero-width space and
 * joiners, soft hyphen, word joiner, BOM, bidirectional controls, tags...)
 * and the rest of Default_Ignorable_Code_Point (DerivedCoreProperties.txt:
 * combining grapheme joiner, Hangul fillers, variation selectors...),
 * Unicode 15. Sorted, for the search below. */
static const struct {
	uint32_t lo, hi;
} invisible[] = {
    {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x0600, 0x0605},   {0x061C, 0x061C},
    {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},
    {0x115F, 0x1160},   {0x17B4, 0x17B5},   {0x180B, 0x180F},   {0x200B, 0x200F},
    {0x202A, 0x202E},   {0x2060, 0x206F},   {0x3164, 0x3164},   {0xFE00, 0xFE0F},
    {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0},   {0xFFF0, 0xFFFB},   {0x110BD, 0x110BD},
    {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
    {0xE0000, 0xE0FFF},
};

static bool is_invisible(uint32_t c)
{
	size_t lo = 0, hi = sizeof(invisible) / sizeof(invisible[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c < invisible[mid].lo)
			hi = mid;
		else if (c > invisible[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* The code point at s[*i] of valid UTF-8; advances *i past it. */
static uint32_t next_cp(const unsigned char *s, size_t *i)
{
	size_t n = s[*i] < 0x80 ? 1 : s[*i] < 0xE0 ? 2 : s[*i] < 0xF0 ? 3 : 4;
	uint32_t c = n == 1 ? s[*i] : (uint32_t)(s[*i] & (0x7F >> n));
	for (size_t k = 1; k < n; k++)
		c = (c << 6) | (s[*i + k] & 0x3F);
	*i += n;
	return c;
}

/* True if valid UTF-8 `s` would show as blank: every code point is white
 * space or invisible (a name of zero-width spaces, a tweet of soft hyphens
 * and BOMs). */
static bool shows_blank(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len;) {
		uint32_t c = next_cp(s, &i);
		if (!is_space(c) && !is_invisible(c))
			return false;
	}
	return true;
}

#define BIDI_DEPTH_MAX 16

/* True if every bidirectional embedding or override (LRE, RLE, LRO, RLO)
 * is closed by a PDF and every isolate (LRI, RLI, FSI) by a PDI, properly
 * nested, in valid UTF-8 `s`. One left open would reorder whatever a
 * client shows after the name (a "liked your tweet" read backwards), so a
 * display name must keep its bidi controls to itself. */
static bool bidi_balanced(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	char open[BIDI_DEPTH_MAX]; /* 'e' embedding or override, 'i' isolate */
	size_t depth = 0;
	for (size_t i = 0; i < len;) {
		uint32_t c = next_cp(s, &i);
		char kind = 0;
		if (c >= 0x202A && c <= 0x202E && c != 0x202C)
			kind = 'e';
		else if (c >= 0x2066 && c <= 0x2068)
			kind = 'i';
		if (kind) {
			if (depth == BIDI_DEPTH_MAX)
				return false;
			open[depth++] = kind;
		} else if (c == 0x202C || c == 0x2069) {
			if (depth == 0 || open[depth - 1] != (c == 0x202C ? 'e' : 'i'))
				return false;
			depth--;
		}
	}
	return depth == 0;
}

bool validate_display_name(const char *s, size_t len)
{
	size_t cp;
	return utf8_validate(s, len, &cp) && cp >= 1 && cp <= DISPLAY_NAME_MAX_CP &&
	       !has_control(s, len) && !shows_blank(s, len) && bidi_balanced(s, len);
}

bool validate_tweet_text(const char *s, size_t len)
{
	size_t cp;
	if (!utf8_validate(s, len, &cp) || cp < 1 || cp > TEXT_MAX_CP || shows_blank(s, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0')
			return false;
	return true;
}

bool validate_bio(const char *s, size_t len)
{
	size_t cp;
	return utf8_validate(s, len, &cp) && cp <= BIO_MAX_CP && !has_control(s, len);
}

/* RFC 5322's atext: what an unquoted local part is made of, besides dots. */
static bool email_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool validate_email(const char *s, size_t len)
{
	if (len < 3 || len > EMAIL_MAX)
		return false;
	const char *at = memchr(s, '@', len);
	if (!at)
		return false;
	size_t local = (size_t)(at - s);
	if (local < 1 || local > 64 || s[0] == '.' || s[local - 1] == '.')
		return false;
	for (size_t i = 0; i < local; i++)
		if (!(email_atext(s[i]) || (s[i] == '.' && s[i + 1] != '.')))
			return false;
	const char *d = at + 1, *end = s + len;
	size_t labels = 0;
	while (d < end) {
		const char *dot = memchr(d, '.', (size_t)(end - d));
		const char *stop = dot ? dot : end;
		size_t n = (size_t)(stop - d);
		if (n < 1 || n > 63 || d[0] == '-' || stop[-1] == '-')
			return false;
		for (const char *p = d; p < stop; p++)
			if (!label_char(*p) && *p != '-')
				return false;
		labels++;
		if (!dot)
			break;
		d = dot + 1;
		if (d == end)
			return false; /* a trailing dot */
	}
	return labels >= 2;
}

void validate_email_fold(const char *s, size_t len, char *out)
{
	if (len > EMAIL_MAX)
		len = EMAIL_MAX;
	for (size_t i = 0; i < len; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[len] = '\0';
}

bool validate_description(const char *s, size_t len)
{
	size_t cp;
	if (!utf8_validate(s, len, &cp) || cp > DESCRIPTION_MAX_CP)
		return false;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++) {
		if ((u[i] < 0x20 && u[i] != '\n' && u[i] != '\t') || u[i] == 0x7F)
			return false;
		if (u[i] == 0xC2 && i + 1 < len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
			return false; /* C1 controls */
	}
	return true;
}
