/*
 * range — the one form of the Range request header chirp answers: a single
 * byte range (RFC 9110 §14.1.2). Pure: no h2o, so it can be fuzzed alone.
 */
#ifndef CHIRP_HTTP_RANGE_H
#define CHIRP_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

/* "bytes=A-B", "bytes=A-" or "bytes=-N" (s[0..len), not NUL-terminated)
 * against a body of `size` bytes: 1 and the inclusive [*from, *to] inside
 * the body when satisfiable, 0 when not (answer 416), -1 when the header
 * is anything else, several ranges included (answer the whole body, as
 * RFC 9110 allows). */
int http_range_parse(const char *s, size_t len, uint64_t size, uint64_t *from, uint64_t *to);

#endif
