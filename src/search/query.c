/*
 * query — the search query language (search.h): plain words, "exact
 * phrase", prefix* and from:handle. Everything else is text, so an
 * unbalanced quote or an engine operator typed by a user is a word to look
 * for, never syntax that reaches the engine.
 */
#include "search/search.h"

#include <string.h>
#include <strings.h>

#include "core/validate.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void add(struct search_query *q, enum search_term_kind kind, const char *s, size_t len)
{
	if (len == 0 || q->nterms == SEARCH_TERMS_MAX)
		return;
	q->terms[q->nterms++] = (struct search_term){kind, s, len};
}

/* One whitespace-separated word: from:handle, prefix*, or a plain word. */
static void word(struct search_query *q, const char *s, size_t len)
{
	static const char from[] = "from:";
	size_t nfrom = sizeof(from) - 1;
	if (len > nfrom && strncasecmp(s, from, nfrom) == 0) {
		const char *h = s + nfrom;
		size_t hlen = len - nfrom;
		if (*h == '@')
			h++, hlen--;
		if (validate_handle(h, hlen)) {
			q->from = h;
			q->from_len = hlen;
			return;
		}
	}
	size_t stars = 0;
	while (stars < len && s[len - 1 - stars] == '*')
		stars++;
	if (stars)
		add(q, SEARCH_PREFIX, s, len - stars);
	else
		add(q, SEARCH_WORD, s, len);
}

void search_query_parse(const char *s, size_t len, struct search_query *q)
{
	memset(q, 0, sizeof(*q));
	size_t i = 0;
	while (i < len) {
		if (is_space(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '"') {
			const char *close = memchr(s + i + 1, '"', len - i - 1);
			if (close) {
				add(q, SEARCH_PHRASE, s + i + 1, (size_t)(close - s - i - 1));
				i = (size_t)(close - s) + 1;
				continue;
			}
			i++; /* an unbalanced quote is just a character */
			continue;
		}
		size_t start = i;
		while (i < len && !is_space(s[i]) && s[i] != '"')
			i++;
		word(q, s + start, i - start);
	}
}
