/*
 * fuzz_json_request — request bodies, from bytes to validated fields and back.
 *
 * The input is parsed exactly as api_body (src/api/common.c) does:
 * json_loadb with JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, objects only.
 * The "handle", "password", "display_name" and "text" members that are
 * strings are taken as api_string takes them (value + length, NULs kept)
 * and checked:
 *   - every string jansson hands over is valid UTF-8 per utf8_validate
 *     (the validators and jsonw rely on that);
 *   - validate_handle / _password / _display_name / _tweet_text agree with
 *     reference rules written here from docs/api.md (display names: 1..50
 *     code points, none a C0/C1 control or DEL, bidi controls closed;
 *     texts: 1..280 code points, no NUL; neither all White_Space and
 *     invisible characters);
 *   - an accepted value fits the fixed buffers the handlers memcpy it into
 *     (HANDLE_MAX, DISPLAY_NAME_MAX, TEXT_MAX bytes) and, except passwords,
 *     holds no NUL (it is later used as a C string);
 *   - jsonw_string of the value re-parses (jansson, JSON_DECODE_ANY |
 *     JSON_ALLOW_NUL) to a string with exactly the same bytes.
 */
#include <assert.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/model.h"
#include "core/validate.h"
#include "ref_utf8.h"
#include "util/jsonw.h"
#include "util/strbuf.h"
#include "util/utf8.h"

static bool ref_handle(const char *s, size_t len)
{
	if (len < 1 || len > 30)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", s[i]) ||
		    s[i] == '\0')
			return false;
	return true;
}

/* White_Space from Unicode PropList.txt, listed one by one. */
static bool ref_white(uint32_t c)
{
	static const uint32_t ws[] = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,
				      0xA0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
				      0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028,
				      0x2029, 0x202F, 0x205F, 0x3000};
	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++)
		if (c == ws[i])
			return true;
	return false;
}

/* Invisible: General_Category Cf and Default_Ignorable_Code_Point
 * (Unicode 15), as listed in UnicodeData.txt and DerivedCoreProperties.txt,
 * range by range, unsorted on purpose (validate.c searches a sorted table). */
static bool ref_invisible(uint32_t c)
{
	static const uint32_t r[][2] = {
		{0xE0000, 0xE0FFF}, {0x00AD, 0x00AD}, {0x200B, 0x200F}, {0x202A, 0x202E},
		{0x2060, 0x206F},   {0xFEFF, 0xFEFF}, {0x034F, 0x034F}, {0x061C, 0x061C},
		{0x115F, 0x1160},   {0x17B4, 0x17B5}, {0x180B, 0x180F}, {0x3164, 0x3164},
		{0xFE00, 0xFE0F},   {0xFFA0, 0xFFA0}, {0xFFF0, 0xFFFB}, {0x1BCA0, 0x1BCA3},
		{0x1D173, 0x1D17A}, {0x0600, 0x0605}, {0x06DD, 0x06DD}, {0x070F, 0x070F},
		{0x0890, 0x0891},   {0x08E2, 0x08E2}, {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
		{0x13430, 0x1343F},
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (c >= r[i][0] && c <= r[i][1])
			return true;
	return false;
}

/* Code-point walk shared by the two text rules below. Names also need
 * their bidi controls closed and properly nested, at most 16 deep: a
 * string of openers (each 'e' or 'i') stands for the stack. */
static bool ref_text(const char *str, size_t len, size_t max_cp, bool is_name)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = 0;
	bool blank = true;
	char stack[17] = "";
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t k = ref_utf8_next(s + i, len - i, &c);
		if (k == 0)
			return false;
		if (is_name && (c < 0x20 || (c >= 0x7F && c <= 0x9F)))
			return false;
		if (!is_name && c == 0)
			return false;
		if (!ref_white(c) && !ref_invisible(c))
			blank = false;
		if (is_name) {
			size_t d = strlen(stack);
			if (c == 0x202A || c == 0x202B || c == 0x202D || c == 0x202E ||
			    c == 0x2066 || c == 0x2067 || c == 0x2068) {
				if (d == 16)
					return false;
				stack[d] = c >= 0x2066 ? 'i' : 'e';
			} else if (c == 0x202C || c == 0x2069) {
				if (d == 0 || stack[d - 1] != (c == 0x2069 ? 'i' : 'e'))
					return false;
				stack[d - 1] = '\0';
			}
		}
		n++;
		i += k;
	}
	if (n < 1 || n > max_cp || stack[0])
		return false;
	return !blank;
}

/* jsonw_string, then parse back: must give the same bytes. */
static void check_round_trip(const char *s, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	jsonw_string(&sb, s, len);
	json_error_t err;
	json_t *back = json_loadb(sb.data, sb.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	assert(back && json_is_string(back));
	assert(json_string_length(back) == len);
	assert(memcmp(json_string_value(back), s, len) == 0);
	json_decref(back);
	strbuf_deinit(&sb);
}

static const char *field(json_t *obj, const char *name, size_t *len)
{
	json_t *v = json_object_get(obj, name);
	if (!v || !json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* libFuzzer's entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *root =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (!root)
		return 0;
	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	const char *s;
	size_t len;

	if ((s = field(root, "handle", &len))) {
		assert(utf8_validate(s, len, NULL));
		bool ok = validate_handle(s, len);
		assert(ok == ref_handle(s, len));
		if (ok)
			assert(len <= HANDLE_MAX && !memchr(s, '\0', len));
		check_round_trip(s, len);
	}
	if ((s = field(root, "password", &len))) {
		assert(utf8_validate(s, len, NULL));
		bool ok = validate_password(s, len);
		assert(ok == (len >= 8 && len <= 1024));
		if (ok)
			assert(len <= PASSWORD_MAX);
		check_round_trip(s, len);
	}
	if ((s = field(root, "display_name", &len))) {
		assert(utf8_validate(s, len, NULL));
		bool ok = validate_display_name(s, len);
		assert(ok == ref_text(s, len, 50, true));
		if (ok)
			assert(len <= DISPLAY_NAME_MAX && !memchr(s, '\0', len));
		check_round_trip(s, len);
	}
	if ((s = field(root, "text", &len))) {
		assert(utf8_validate(s, len, NULL));
		bool ok = validate_tweet_text(s, len);
		assert(ok == ref_text(s, len, 280, false));
		if (ok)
			assert(len <= TEXT_MAX && !memchr(s, '\0', len));
		check_round_trip(s, len);
	}
	json_decref(root);
	return 0;
}
