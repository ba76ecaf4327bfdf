/*
 * fuzz_framing — the HTTP/1.1 framing check in front of h2o's parser
 * (src/http/framing.c).
 *
 * The input is a connection's bytes; its first byte picks a piece size
 * (1..16). Checks, for every input:
 *   - the verdict, and for a refusal where and from which offset, is the
 *     same fed whole as fed in pieces (bytes arrive in any split);
 *   - a refusal's element began at or before the byte refused, inside
 *     the input;
 *   - framing_pending never exceeds FRAMING_LINE_MAX (the caller's hold
 *     buffer), nor the bytes fed.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/framing.h"

struct verdict {
	bool ok;
	enum framing_where where;
	uint64_t start;
};

static struct verdict run(const uint8_t *data, size_t len, size_t piece)
{
	struct framing f;
	framing_init(&f);
	struct verdict v = {.ok = true};
	for (size_t i = 0; i < len && v.ok; i += piece) {
		size_t n = len - i < piece ? len - i : piece;
		v.ok = framing_feed(&f, (const char *)data + i, n, &v.where, &v.start);
		if (v.ok) {
			assert(framing_pending(&f) <= FRAMING_LINE_MAX);
			assert(framing_pending(&f) <= framing_offset(&f));
		}
	}
	framing_deinit(&f);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] % 16) + 1;
	data++;
	size--;
	struct verdict whole = run(data, size, size ? size : 1);
	struct verdict split = run(data, size, piece);
	assert(whole.ok == split.ok);
	if (!whole.ok) {
		assert(whole.where == split.where && whole.start == split.start);
		assert(whole.start < size);
	}
	return 0;
}
