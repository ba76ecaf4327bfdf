/*
 * strbuf — a growable byte buffer.
 *
 * Everything chirp writes (JSON bodies, SQL-free renderings, log lines) is
 * appended to a strbuf. The buffer is always NUL-terminated so it can be
 * handed to C string functions, but it may also hold NUL bytes; `len` is the
 * truth. Out of memory aborts (no unreachable NULL checks).
 */
#ifndef CHIRP_UTIL_STRBUF_H
#define CHIRP_UTIL_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT {NULL, 0, 0}

/* Caller-owned storage: _init zeroes, _deinit frees the heap bytes. */
void strbuf_init(struct strbuf *sb);
void strbuf_deinit(struct strbuf *sb);

/* Makes room for `extra` more bytes (plus the terminating NUL). */
void strbuf_reserve(struct strbuf *sb, size_t extra);
void strbuf_append(struct strbuf *sb, const void *bytes, size_t len);
void strbuf_append_str(struct strbuf *sb, const char *s);
void strbuf_append_char(struct strbuf *sb, char c);
void strbuf_append_u64(struct strbuf *sb, uint64_t v);
void strbuf_appendf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *sb);

/* Hands the heap bytes to the caller (who frees them) and empties `sb`. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
