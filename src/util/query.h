/*
 * query — finding a parameter in a URL query string.
 *
 * Split out of the HTTP layer so that it has no h2o types and can be
 * fuzzed as it is (fuzz/fuzz_query.c).
 */
#ifndef CHIRP_UTIL_QUERY_H
#define CHIRP_UTIL_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/* Finds the first `name=value` (or bare `name`) among the &-separated
 * pairs of q[0..len), the query without its '?'. On a hit, *value points
 * into q (not decoded) and *value_len is its length. */
bool query_find(const char *q, size_t len, const char *name, const char **value,
		size_t *value_len);

/* Decodes a form-encoded value ('+' is a space, %XX a byte) into out, which
 * has room for len bytes; false on a malformed escape. The result may hold
 * any byte, NUL included: validate it before use. */
bool query_decode(const char *v, size_t len, char *out, size_t *out_len);

#endif
