/*
 * validate — see validate.h.
 */
#include "core/validate.h"

#include <stdint.h>

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

bool validate_display_name(const char *s, size_t len)
{
	size_t cp;
	return utf8_validate(s, len, &cp) && cp >= 1 && cp <= DISPLAY_NAME_MAX_CP &&
	       !has_control(s, len);
}

/* Unicode's White_Space property (PropList.txt). */
static bool is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

/* True if every code point of valid UTF-8 `s` is white space: such a text
 * shows as blank. */
static bool only_whitespace(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = s[i] < 0x80 ? 1 : s[i] < 0xE0 ? 2 : s[i] < 0xF0 ? 3 : 4;
		c = n == 1 ? s[i] : (uint32_t)(s[i] & (0x7F >> n));
		for (size_t k = 1; k < n; k++)
			c = (c << 6) | (s[i + k] & 0x3F);
		if (!is_space(c))
			return false;
		i += n;
	}
	return true;
}

bool validate_tweet_text(const char *s, size_t len)
{
	size_t cp;
	if (!utf8_validate(s, len, &cp) || cp < 1 || cp > TEXT_MAX_CP || only_whitespace(s, len))
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
