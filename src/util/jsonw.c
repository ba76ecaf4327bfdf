/*
 * jsonw — see json.h. Escaping follows RFC 8259 §7: '"', '\\' and every byte
 * below 0x20 are escaped; everything else, multi-byte UTF-8 included, is
 * copied as is.
 */
#include "util/jsonw.h"

#include <string.h>

void jsonw_string(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	strbuf_reserve(sb, len + 2);
	strbuf_append_char(sb, '"');
	size_t run = 0; /* start of the pending run of bytes that need no escape */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		strbuf_append(sb, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': strbuf_append(sb, "\\\"", 2); break;
		case '\\': strbuf_append(sb, "\\\\", 2); break;
		case '\n': strbuf_append(sb, "\\n", 2); break;
		case '\r': strbuf_append(sb, "\\r", 2); break;
		case '\t': strbuf_append(sb, "\\t", 2); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			strbuf_append(sb, esc, sizeof(esc));
		}
		}
	}
	strbuf_append(sb, s + run, len - run);
	strbuf_append_char(sb, '"');
}

void jsonw_cstring(struct strbuf *sb, const char *s)
{
	jsonw_string(sb, s, strlen(s));
}

void jsonw_key(struct strbuf *sb, const char *key)
{
	strbuf_append_char(sb, '"');
	strbuf_append_str(sb, key);
	strbuf_append(sb, "\":", 2);
}

void jsonw_id(struct strbuf *sb, uint64_t id)
{
	strbuf_append_char(sb, '"');
	strbuf_append_u64(sb, id);
	strbuf_append_char(sb, '"');
}

static void field(struct strbuf *sb, const char *key, int first)
{
	if (!first)
		strbuf_append_char(sb, ',');
	jsonw_key(sb, key);
}

void jsonw_field_str(struct strbuf *sb, const char *key, const char *s, int first)
{
	field(sb, key, first);
	jsonw_cstring(sb, s);
}

void jsonw_field_id(struct strbuf *sb, const char *key, uint64_t id, int first)
{
	field(sb, key, first);
	jsonw_id(sb, id);
}

void jsonw_field_u64(struct strbuf *sb, const char *key, uint64_t v, int first)
{
	field(sb, key, first);
	strbuf_append_u64(sb, v);
}

void jsonw_error(struct strbuf *sb, const char *code, const char *message)
{
	strbuf_append_char(sb, '{');
	jsonw_field_str(sb, "error", message, 1);
	jsonw_field_str(sb, "code", code, 0);
	strbuf_append_char(sb, '}');
}
