/*
 * fuzz_utf8 — utf8_validate against two independent judges.
 *
 * Checks, for every input:
 *   - utf8_validate agrees with the reference decoder in ref_utf8.h (decode,
 *     then reject overlong forms, surrogates and values above U+10FFFF);
 *   - it also agrees with glibc's iconv (UTF-8 -> UTF-32LE succeeds iff the
 *     input is valid), a third implementation nobody here wrote;
 *   - on success the code-point count equals the reference count and the
 *     number of UTF-32 units iconv produced, and *count is left untouched on
 *     failure (the header only promises it on success);
 *   - passing count == NULL gives the same verdict.
 */
#include <assert.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>

#include "ref_utf8.h"
#include "util/utf8.h"

static iconv_t cd = (iconv_t)-1;

/* True if iconv converts all of s[0..len); *units gets the UTF-32 count. */
static bool iconv_valid(const char *s, size_t len, size_t *units)
{
	if (cd == (iconv_t)-1) {
		cd = iconv_open("UTF-32LE", "UTF-8");
		assert(cd != (iconv_t)-1);
	}
	iconv(cd, NULL, NULL, NULL, NULL);
	size_t outcap = 4 * len + 4;
	char *out = malloc(outcap);
	assert(out);
	char *in = (char *)s, *op = out;
	size_t inleft = len, outleft = outcap;
	size_t rc = iconv(cd, &in, &inleft, &op, &outleft);
	free(out);
	*units = (outcap - outleft) / 4;
	return rc != (size_t)-1 && inleft == 0;
}

/* libFuzzer's entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t count = (size_t)-7, ref_count = 0, units = 0;

	bool ok = utf8_validate(s, size, &count);
	bool ref = ref_utf8_count(s, size, &ref_count);
	bool ic = iconv_valid(s, size, &units);

	assert(ok == ref);
	assert(ok == ic);
	assert(ok == utf8_validate(s, size, NULL));
	if (ok) {
		assert(count == ref_count);
		assert(count == units);
		assert(count <= size);
	} else {
		assert(count == (size_t)-7);
	}
	return 0;
}
