/*
 * utf8 — validation and code-point counting.
 *
 * Tweet limits are in Unicode code points (280), not bytes, and chirp must
 * never store or echo malformed UTF-8. The decoder is strict (RFC 3629):
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
#ifndef CHIRP_UTIL_UTF8_H
#define CHIRP_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is well-formed UTF-8; then *count (if not NULL) is the
 * number of code points. NUL bytes are valid UTF-8 and are counted. */
bool utf8_validate(const char *s, size_t len, size_t *count);

#endif
