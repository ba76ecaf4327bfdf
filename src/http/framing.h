/*
 * framing — a strict check of HTTP/1.1 request framing (RFC 9112), run on
 * a connection's bytes before h2o's parser sees them.
 *
 * h2o 2.2.5 is lenient where leniency lets a request be read two ways
 * (request smuggling): it takes Content-Length together with
 * Transfer-Encoding, "0x11" as a last chunk, junk trailers, obs-fold and
 * bare LF, the first of two differing Content-Lengths, and requests with
 * no Host or two. It then hides those headers from chirp, so chirp checks
 * the bytes themselves: every request head, Content-Length body and
 * chunked body on the connection, in order, as they arrive (pipelined
 * requests included), without copying anything but an incomplete head.
 *
 * The check is a state machine fed with the bytes in arrival order. It
 * answers, for each piece, how many bytes are fine; at the first byte
 * that is not, it says where the offending element began (a request head,
 * a chunk-size line, a trailer line) so the caller can cut the stream
 * there. What counts as wrong:
 *   - a head: a line ending that is not CRLF (bare LF, bare CR), a NUL, a
 *     request line that is not METHOD SP TARGET SP HTTP/1.x, a field line
 *     with whitespace before its colon or at its start (obs-fold), a name
 *     that is not a token, control characters in a value;
 *   - a head's meaning: Transfer-Encoding with Content-Length, or on
 *     HTTP/1.0, or other than exactly "chunked"; Content-Length values
 *     that are not digits or that differ; no Host in HTTP/1.1, or two;
 *   - a chunked body: a size line that is not 1-16 hex digits, optional
 *     extensions (";..."), CRLF; chunk data not followed by CRLF; a
 *     trailer line that is not a field line.
 * A head longer than FRAMING_HEAD_MAX is wrong too.
 */
#ifndef CHIRP_HTTP_FRAMING_H
#define CHIRP_HTTP_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAMING_HEAD_MAX 65536

enum framing_where {
	FRAMING_IN_HEAD,    /* the offending request's head began at *start */
	FRAMING_IN_CHUNKS,  /* a chunk-size line (or a chunk's CRLF) began at *start */
	FRAMING_IN_TRAILER, /* a trailer line began at *start */
};

struct framing {
	int state;
	bool bad;
	/* the head being read: copied until complete (it may come in pieces) */
	char *head;
	size_t head_len, head_cap;
	uint64_t offset;     /* bytes fed so far */
	uint64_t elem_start; /* offset where the current head / line began */
	uint64_t left;       /* body bytes to skip (Content-Length or chunk data) */
	unsigned hex_digits; /* of the chunk-size line being read */
	bool ext;            /* in a chunk extension */
	bool cr;             /* the last byte of a line being read was CR */
	bool line_empty;     /* the trailer line being read has no byte yet */
};

/* An empty state, for a new connection. */
void framing_init(struct framing *f);

/* Frees the copy of an incomplete head. */
void framing_deinit(struct framing *f);

/* Feeds the next `len` bytes of the connection. True if they are all
 * fine. False at the first byte that is not: *where says what it was in,
 * *start the stream offset (counting from the connection's first byte)
 * where that element began. Once false, false for ever. */
bool framing_feed(struct framing *f, const char *p, size_t len, enum framing_where *where,
                  uint64_t *start);

/* How many of the last bytes fed belong to a chunk-size line, a chunk's
 * CRLF or a trailer line not yet complete: the caller holds them back
 * from h2o until the line is checked, since h2o's chunked decoder takes
 * such a line byte by byte and could not be stopped half-way. At most
 * FRAMING_LINE_MAX (a longer line is wrong). */
uint64_t framing_pending(const struct framing *f);

#define FRAMING_LINE_MAX 4096

/* Bytes fed so far. */
static inline uint64_t framing_offset(const struct framing *f)
{
	return f->offset;
}

#endif
