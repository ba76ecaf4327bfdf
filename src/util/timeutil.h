/*
 * timeutil — clocks and the one timestamp format chirp speaks.
 */
#ifndef CHIRP_UTIL_TIMEUTIL_H
#define CHIRP_UTIL_TIMEUTIL_H

#include <stdint.h>

#define RFC3339_LEN 24 /* "2026-11-28T19:18:35.123Z" */

/* Wall-clock milliseconds since the Unix epoch. */
uint64_t time_now_ms(void);

/* Monotonic nanoseconds, for measuring durations. */
uint64_t time_mono_ns(void);

/* Writes `unix_ms` as RFC 3339 UTC with milliseconds, NUL-terminated, into
 * out[RFC3339_LEN + 1]. */
void time_format_rfc3339(uint64_t unix_ms, char *out);

#endif
