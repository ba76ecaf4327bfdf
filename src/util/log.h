/*
 * log — diagnostics on stderr, and the allocation wrappers that abort.
 *
 * Running out of memory is not a condition chirp tries to survive
 * piecemeal: xmalloc and friends print a message and abort, so callers
 * never test for NULL.
 */
#ifndef CHIRP_UTIL_LOG_H
#define CHIRP_UTIL_LOG_H

#include <stddef.h>

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
