/*
 * entities — see entities.h for the rules.
 */
#include "core/entities.h"

#include <stdlib.h>
#include <string.h>

/* The code point at s[0..len) (valid UTF-8) and its length in bytes. */
static uint32_t next_cp(const unsigned char *s, size_t len, size_t *n)
{
	unsigned char c = s[0];
	size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
	if (k > len)
		k = len;
	uint32_t cp = k == 1 ? c : c & (0x7F >> k);
	for (size_t i = 1; i < k; i++)
		cp = (cp << 6) | (s[i] & 0x3F);
	*n = k;
	return cp;
}

static bool is_handle_char(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool is_word_char(uint32_t c)
{
	if (c < 0x80)
		return is_handle_char(c);
	if (c < 0xC0 || c == 0xD7 || c == 0xF7)
		return false;
	if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
	    (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFF00 && c <= 0xFF0F) || c >= 0xFFF0)
		return false;
	return true;
}

/* A run of word characters at s[0..len): its code points and bytes, and
 * whether all are handle characters, all digits. */
struct run {
	size_t cps, bytes;
	bool handle, digits;
	uint32_t after; /* the code point that ends it; 0 at the end */
};

static struct run word_run(const unsigned char *s, size_t len)
{
	struct run r = {.handle = true, .digits = true};
	while (r.bytes < len) {
		size_t n;
		uint32_t c = next_cp(s + r.bytes, len - r.bytes, &n);
		if (!is_word_char(c)) {
			r.after = c;
			break;
		}
		r.handle = r.handle && is_handle_char(c);
		r.digits = r.digits && c >= '0' && c <= '9';
		r.cps++;
		r.bytes += n;
	}
	return r;
}

static void add_mention(struct entities *e, const unsigned char *s, size_t at, size_t cp,
			const struct run *r)
{
	if (e->mentions_n == ENTITIES_MAX || !r->handle || !r->cps || r->cps > HANDLE_MAX ||
	    r->after == '@')
		return;
	struct mention *m = &e->mentions[e->mentions_n++];
	*m = (struct mention){.start = (uint32_t)cp, .end = (uint32_t)(cp + 1 + r->cps),
			      .byte_start = (uint32_t)at, .byte_len = (uint32_t)(1 + r->bytes)};
	memcpy(m->handle, s + at + 1, r->bytes);
	m->handle[r->bytes] = '\0';
}

static void add_hashtag(struct entities *e, size_t at, size_t cp, const struct run *r)
{
	if (e->hashtags_n == ENTITIES_MAX || !r->cps || r->cps > HASHTAG_MAX_CP || r->digits)
		return;
	e->hashtags[e->hashtags_n++] = (struct hashtag){
		.start = (uint32_t)cp, .end = (uint32_t)(cp + 1 + r->cps),
		.byte_start = (uint32_t)at, .byte_len = (uint32_t)(1 + r->bytes)};
}

void entities_parse(const char *text, size_t len, struct entities *out)
{
	const unsigned char *s = (const unsigned char *)text;
	*out = (struct entities){0};
	bool after_word = false;
	size_t at = 0, cp = 0;
	while (at < len) {
		size_t n;
		uint32_t c = next_cp(s + at, len - at, &n);
		if ((c == '@' || c == '#') && !after_word) {
			struct run r = word_run(s + at + 1, len - at - 1);
			if (c == '@')
				add_mention(out, s, at, cp, &r);
			else
				add_hashtag(out, at, cp, &r);
			/* The run is consumed: nothing inside it starts another. */
			at += 1 + r.bytes;
			cp += 1 + r.cps;
			after_word = r.cps > 0;
			continue;
		}
		after_word = is_word_char(c);
		at += n;
		cp++;
	}
}

/* Copies s[0..len) folding ASCII letters to lower case. */
static size_t fold(const char *s, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[len] = '\0';
	return len;
}

size_t entities_tag(const char *text, const struct hashtag *h, char *out)
{
	size_t n = h->byte_len - 1;
	return fold(text + h->byte_start + 1, n > HASHTAG_MAX ? HASHTAG_MAX : n, out);
}

bool entities_tag_first(const char *text, const struct entities *e, unsigned i)
{
	char tag[HASHTAG_MAX + 1], other[HASHTAG_MAX + 1];
	entities_tag(text, &e->hashtags[i], tag);
	for (unsigned k = 0; k < i; k++)
		if (entities_tag(text, &e->hashtags[k], other) && strcmp(other, tag) == 0)
			return false;
	return true;
}

bool entities_mention_first(const struct entities *e, unsigned i)
{
	for (unsigned k = 0; k < i; k++)
		if (e->mentions[k].id == e->mentions[i].id)
			return false;
	return true;
}

bool entities_tag_valid(const char *s, size_t len, char *out)
{
	if (!len || len > HASHTAG_MAX)
		return false;
	struct run r = word_run((const unsigned char *)s, len);
	if (r.bytes != len || r.cps > HASHTAG_MAX_CP || r.digits)
		return false;
	fold(s, len, out);
	return true;
}

void entities_encode(const struct entities *e, struct strbuf *out)
{
	for (unsigned i = 0; i < e->mentions_n; i++) {
		const struct mention *m = &e->mentions[i];
		strbuf_appendf(out, "@%llu:%u:%u:%u:%u:%s;", (unsigned long long)m->id, m->start,
			       m->end, m->byte_start, m->byte_len, m->handle);
	}
	for (unsigned i = 0; i < e->hashtags_n; i++) {
		const struct hashtag *h = &e->hashtags[i];
		strbuf_appendf(out, "#%u:%u:%u:%u;", h->start, h->end, h->byte_start, h->byte_len);
	}
}

/* Reads `n` unsigned numbers each followed by ':' or ';' (the last by
 * `last`) at *s. */
static bool numbers(const char **s, uint64_t *v, int n, char last)
{
	for (int i = 0; i < n; i++) {
		char *end;
		v[i] = strtoull(*s, &end, 10);
		if (end == *s || *end != (i == n - 1 ? last : ':'))
			return false;
		*s = end + 1;
	}
	return true;
}

void entities_decode(const char *s, struct entities *e)
{
	*e = (struct entities){0};
	uint64_t v[5];
	while (s && *s) {
		if (*s == '@' && e->mentions_n < ENTITIES_MAX) {
			s++;
			if (!numbers(&s, v, 5, ':'))
				return;
			const char *semi = strchr(s, ';');
			if (!semi || (size_t)(semi - s) > HANDLE_MAX)
				return;
			struct mention *m = &e->mentions[e->mentions_n++];
			*m = (struct mention){.id = v[0], .start = (uint32_t)v[1], .end = (uint32_t)v[2],
					      .byte_start = (uint32_t)v[3], .byte_len = (uint32_t)v[4]};
			memcpy(m->handle, s, (size_t)(semi - s));
			m->handle[semi - s] = '\0';
			s = semi + 1;
		} else if (*s == '#' && e->hashtags_n < ENTITIES_MAX) {
			s++;
			if (!numbers(&s, v, 4, ';'))
				return;
			e->hashtags[e->hashtags_n++] = (struct hashtag){
				.start = (uint32_t)v[0], .end = (uint32_t)v[1],
				.byte_start = (uint32_t)v[2], .byte_len = (uint32_t)v[3]};
		} else {
			return;
		}
	}
}
