/*
 * fuzz_entities — the @mentions and #hashtags of a tweet's text
 * (core/entities.c), parsed from every post's text.
 *
 * Invariants, for any valid UTF-8 text: each entity lies inside the text,
 * starts at its '@' or '#', and its code-point offsets agree with its byte
 * offsets; a hashtag's folded tag passes the tag check of GET
 * /v1/hashtags/{tag}/tweets; the stored form decodes to what was encoded.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/entities.h"
#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The code points in text[0..bytes). */
static size_t cps(const char *text, size_t bytes)
{
	size_t n = 0;
	assert(utf8_validate(text, bytes, &n));
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	if (size > TEXT_MAX || !utf8_validate(text, size, NULL))
		return 0; /* posts are checked before they are parsed */
	struct entities e;
	entities_parse(text, size, &e);
	assert(e.mentions_n <= ENTITIES_MAX && e.hashtags_n <= ENTITIES_MAX);
	for (unsigned i = 0; i < e.mentions_n; i++) {
		const struct mention *m = &e.mentions[i];
		assert((size_t)m->byte_start + m->byte_len <= size && m->byte_len >= 2);
		assert(text[m->byte_start] == '@');
		assert(m->start == cps(text, m->byte_start));
		assert(m->end == m->start + cps(text + m->byte_start, m->byte_len));
		assert(strlen(m->handle) == m->byte_len - 1 && strlen(m->handle) <= HANDLE_MAX);
	}
	for (unsigned i = 0; i < e.hashtags_n; i++) {
		const struct hashtag *h = &e.hashtags[i];
		assert((size_t)h->byte_start + h->byte_len <= size && h->byte_len >= 2);
		assert(text[h->byte_start] == '#');
		assert(h->start == cps(text, h->byte_start));
		assert(h->end == h->start + cps(text + h->byte_start, h->byte_len));
		char tag[HASHTAG_MAX + 1], again[HASHTAG_MAX + 1];
		size_t n = entities_tag(text, h, tag);
		assert(entities_tag_valid(tag, n, again) && strcmp(tag, again) == 0);
	}
	struct strbuf sb = STRBUF_INIT;
	entities_encode(&e, &sb);
	struct entities back;
	entities_decode(sb.data ? sb.data : "", &back);
	assert(back.mentions_n == e.mentions_n && back.hashtags_n == e.hashtags_n);
	assert(memcmp(back.hashtags, e.hashtags, e.hashtags_n * sizeof(e.hashtags[0])) == 0);
	strbuf_deinit(&sb);
	return 0;
}
