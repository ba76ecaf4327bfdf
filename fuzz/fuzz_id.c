/*
 * fuzz_id — id_parse accepts exactly the ids of id.h and nothing else.
 *
 * Checks, for every input:
 *   - accepted iff the input is 1..20 ASCII digits whose value is in
 *     1..INT64_MAX (computed here with an overflow-checked reference);
 *   - the parsed value equals the reference value;
 *   - round trip: snprintf("%llu") of the value, left-padded with the
 *     input's leading zeros, gives back the input bytes, and id_parse of the
 *     canonical text gives the same value;
 *   - a rejected input leaves *out untouched.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/id.h"

/* Reference: value of s[0..len) if it is 1..20 digits and 1..INT64_MAX. */
static bool ref_parse(const uint8_t *s, size_t len, uint64_t *v)
{
	if (len < 1 || len > 20)
		return false;
	unsigned __int128 acc = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		acc = acc * 10 + (s[i] - '0'); /* 20 digits < 2^67: no overflow */
	}
	if (acc == 0 || acc > INT64_MAX)
		return false;
	*v = (uint64_t)acc;
	return true;
}

/* libFuzzer's entry point; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t untouched = 0xDEADBEEFCAFEF00DULL;
	uint64_t got = untouched, want = 0;
	bool ok = id_parse((const char *)data, size, &got);
	bool ref = ref_parse(data, size, &want);
	assert(ok == ref);
	if (!ok) {
		assert(got == untouched);
		return 0;
	}
	assert(got == want);
	assert(got >= 1 && got <= INT64_MAX);

	char text[32];
	int n = snprintf(text, sizeof(text), "%llu", (unsigned long long)got);
	assert(n >= 1 && (size_t)n <= size);
	size_t zeros = size - (size_t)n;
	for (size_t i = 0; i < zeros; i++)
		assert(data[i] == '0');
	assert(memcmp(data + zeros, text, (size_t)n) == 0);

	uint64_t again = 0;
	assert(id_parse(text, (size_t)n, &again) && again == got);
	return 0;
}
