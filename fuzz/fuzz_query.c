/*
 * fuzz_query — query strings and list cursors.
 *
 * Runs chirp's own query_find (src/util/query.c), the split behind
 * http_query_get: split on '&', then the first '='; a key without '=' has
 * an empty value; the first occurrence of a name wins; no percent-decoding.
 * Each of limit, max_id, since_id and min_id found is handed to id_parse,
 * the function api_page (src/api/common.c) uses for all four.
 *
 * Checks, for every input (the query string after '?'):
 *   - every value returned lies inside the input and contains no '&';
 *   - id_parse accepts a value iff it is 1..20 digits with a value in
 *     1..INT64_MAX (so "max_id=1=2", "+5", " 5", "%35" are all rejected);
 *   - for the accepted cursor, the Link header's query that api_link would
 *     build ("limit=%u&max_id=%llu") splits back to the same limit and id.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/id.h"
#include "util/query.h"

#define LIMIT_DEFAULT 20 /* as in src/api/common.c */
#define LIMIT_MAX 100

struct iov {
	const char *base;
	size_t len;
};

/* chirp's own split (src/util/query.c, behind http_query_get). */
static bool query_get(const char *q, size_t qlen, const char *name, struct iov *out)
{
	return query_find(q, qlen, name, &out->base, &out->len);
}

/* True if s[0..len) is 1..20 digits with a value in 1..INT64_MAX. */
static bool is_id(const char *s, size_t len)
{
	if (len < 1 || len > 20)
		return false;
	unsigned __int128 v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v >= 1 && v <= INT64_MAX;
}

/* libFuzzer's entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"limit", "max_id", "since_id", "min_id"};
	const char *q = (const char *)data;
	unsigned limit = LIMIT_DEFAULT;
	uint64_t ids[4] = {0};
	bool have[4] = {false};

	for (size_t i = 0; i < 4; i++) {
		struct iov v;
		if (!query_get(q, size, names[i], &v))
			continue;
		assert(v.base >= q && v.base + v.len <= q + size);
		assert(!memchr(v.base, '&', v.len));
		uint64_t n = 0;
		bool ok = id_parse(v.base, v.len, &n);
		assert(ok == is_id(v.base, v.len));
		if (!ok)
			continue;
		assert(n >= 1 && n <= INT64_MAX);
		if (i == 0) {
			if (n > LIMIT_MAX)
				continue; /* api_page answers 422 */
			limit = (unsigned)n;
		}
		ids[i] = n;
		have[i] = true;
	}

	/* The Link header's query round-trips through the same splitter. */
	for (size_t i = 1; i < 4; i++) {
		if (!have[i])
			continue;
		char link[80];
		int len = snprintf(link, sizeof(link), "limit=%u&%s=%" PRIu64, limit, names[i], ids[i]);
		assert(len > 0 && (size_t)len < sizeof(link));
		struct iov lv, iv;
		uint64_t l2, id2;
		assert(query_get(link, (size_t)len, "limit", &lv) && id_parse(lv.base, lv.len, &l2));
		assert(l2 == limit);
		assert(query_get(link, (size_t)len, names[i], &iv) && id_parse(iv.base, iv.len, &id2));
		assert(id2 == ids[i]);
	}
	return 0;
}
