/*
 * fuzz_search_query — the search box: q as it arrives in a URL.
 *
 * Runs query_decode (src/util/query.c), the decoding api/search.c applies
 * to q, then search_query_parse (src/search/query.c) on what it decoded,
 * and checks, for every input:
 *   - decoding fails exactly when a '%' is not followed by two hex digits,
 *     and otherwise equals a reference decoder written here; encoding the
 *     result with every byte escaped decodes back to it;
 *   - parsing: at most SEARCH_TERMS_MAX terms; each term lies inside the
 *     text, is not empty, and terms come in order without overlapping;
 *     a word or prefix holds no space and no '"'; a prefix does not end in
 *     '*'; a phrase holds no '"'; from: is a valid handle inside the text;
 *   - nothing is lost: while fewer than SEARCH_TERMS_MAX terms were kept,
 *     every byte of the text is a space, a '"', a '*' ending a word, part
 *     of a from:handle token, or inside a term.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/validate.h"
#include "search/search.h"
#include "util/query.h"

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The reference: a second decoder, written the other way round (find each
 * '%' first, copy the stretch before it). */
static bool ref_decode(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
	size_t n = 0, i = 0;
	while (i < len) {
		const uint8_t *pct = memchr(in + i, '%', len - i);
		size_t stop = pct ? (size_t)(pct - in) : len;
		for (; i < stop; i++)
			out[n++] = in[i] == '+' ? ' ' : in[i];
		if (!pct)
			break;
		if (len - i < 3 || hexval(in[i + 1]) < 0 || hexval(in[i + 2]) < 0)
			return false;
		out[n++] = (uint8_t)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
		i += 3;
	}
	*out_len = n;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void check_parse(const char *text, size_t len)
{
	struct search_query q;
	search_query_parse(text, len, &q);
	assert(q.nterms <= SEARCH_TERMS_MAX);
	bool *covered = calloc(len ? len : 1, 1);
	assert(covered);
	const char *end_of_last = text;
	for (size_t i = 0; i < q.nterms; i++) {
		const struct search_term *t = &q.terms[i];
		assert(t->len > 0);
		assert(t->text >= end_of_last && t->text + t->len <= text + len);
		end_of_last = t->text + t->len;
		for (size_t k = 0; k < t->len; k++) {
			assert(t->text[k] != '"');
			if (t->kind != SEARCH_PHRASE)
				assert(!is_space(t->text[k]));
			covered[t->text - text + (ptrdiff_t)k] = true;
		}
		if (t->kind == SEARCH_PREFIX)
			assert(t->text[t->len - 1] != '*');
	}
	if (q.from) {
		assert(q.from >= text && q.from + q.from_len <= text + len);
		assert(validate_handle(q.from, q.from_len));
	}
	if (q.nterms < SEARCH_TERMS_MAX) {
		/* Every byte is accounted for. A from: token (any of them: the
		 * last one wins) is "from:", an optional '@' and a handle. */
		for (size_t i = 0; i < len; i++) {
			if (covered[i] || is_space(text[i]) || text[i] == '"' || text[i] == '*')
				continue;
			/* inside a from:handle token */
			size_t start = i;
			while (start > 0 && !is_space(text[start - 1]) && text[start - 1] != '"')
				start--;
			size_t stop = i;
			while (stop < len && !is_space(text[stop]) && text[stop] != '"')
				stop++;
			bool from = stop - start > 5 && strncasecmp(text + start, "from:", 5) == 0;
			size_t h = start + 5 + (from && text[start + 5] == '@');
			assert(from && validate_handle(text + h, stop - h));
		}
	}
	free(covered);
}

/* libFuzzer's entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4 * SEARCH_QUERY_MAX)
		return 0;
	char *got = malloc(size ? size : 1);
	uint8_t *want = malloc(size ? size : 1);
	assert(got && want);
	size_t got_len = 0, want_len = 0;
	bool ok = query_decode((const char *)data, size, got, &got_len);
	assert(ok == ref_decode(data, size, want, &want_len));
	if (ok) {
		assert(got_len == want_len && memcmp(got, want, got_len) == 0);
		/* Every byte escaped decodes back to the same bytes. */
		char *enc = malloc(3 * got_len + 1);
		char *back = malloc(3 * got_len + 1);
		assert(enc && back);
		static const char hex[] = "0123456789abcdef";
		for (size_t i = 0; i < got_len; i++) {
			enc[3 * i] = '%';
			enc[3 * i + 1] = hex[(uint8_t)got[i] >> 4];
			enc[3 * i + 2] = hex[(uint8_t)got[i] & 15];
		}
		size_t back_len;
		assert(query_decode(enc, 3 * got_len, back, &back_len));
		assert(back_len == got_len && memcmp(back, got, got_len) == 0);
		free(enc);
		free(back);
		check_parse(got, got_len);
	}
	free(got);
	free(want);
	return 0;
}
