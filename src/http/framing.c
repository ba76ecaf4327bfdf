/*
 * framing — see framing.h.
 */
#include "http/framing.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

enum state {
	S_HEAD,       /* a request head, copied into f->head until CRLF CRLF */
	S_BODY,       /* f->left bytes of a Content-Length body */
	S_CHUNK_SIZE, /* a chunk-size line */
	S_CHUNK_DATA, /* f->left bytes of a chunk */
	S_CHUNK_CR,   /* the CR after a chunk's data */
	S_CHUNK_LF,   /* the LF after it */
	S_TRAILER,    /* trailer lines, each copied into f->head until CRLF */
};

enum body { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_BAD };

void framing_init(struct framing *f)
{
	memset(f, 0, sizeof(*f));
	f->state = S_HEAD;
}

void framing_deinit(struct framing *f)
{
	free(f->head);
	f->head = NULL;
}

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A field value's byte: HTAB, SP, VCHAR, obs-text. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool ieq(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && strncasecmp(a, b, n) == 0;
}

/* A field line (no CRLF): name ":" OWS value OWS. The name and trimmed
 * value into *name.., *value... */
static bool field_line(const char *l, size_t n, const char **name, size_t *name_len,
                       const char **value, size_t *value_len)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i == n || l[i] != ':')
		return false; /* no name, or whitespace before the colon, or obs-fold */
	*name = l;
	*name_len = i;
	for (size_t k = i + 1; k < n; k++)
		if (!is_value_char((unsigned char)l[k]))
			return false;
	size_t a = i + 1, b = n;
	while (a < b && (l[a] == ' ' || l[a] == '\t'))
		a++;
	while (b > a && (l[b - 1] == ' ' || l[b - 1] == '\t'))
		b--;
	*value = l + a;
	*value_len = b - a;
	return true;
}

/* Calls fn on each element of a comma-separated list (trimmed, empty ones
 * skipped); false as soon as fn says so. */
static bool each_element(const char *v, size_t n, bool (*fn)(const char *e, size_t len, void *arg),
                         void *arg)
{
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		size_t a = i, b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (b > a && !fn(v + a, b - a, arg))
			return false;
		i = j + 1;
	}
	return true;
}

struct meaning {
	unsigned hosts;
	bool has_length;
	uint64_t length;
	bool has_te;
	unsigned chunked, other_codings;
};

static bool length_element(const char *e, size_t n, void *arg)
{
	struct meaning *m = arg;
	if (n > 18)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i] < '0' || e[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(e[i] - '0');
	}
	if (m->has_length && m->length != v)
		return false; /* two different lengths */
	m->has_length = true;
	m->length = v;
	return true;
}

static bool coding_element(const char *e, size_t n, void *arg)
{
	struct meaning *m = arg;
	if (ieq(e, n, "chunked"))
		m->chunked++;
	else
		m->other_codings++;
	return true;
}

/* A complete head (every line ends in CRLF; the last line is empty):
 * its syntax, then what it says about the body. */
static enum body check_head(const char *h, size_t n, uint64_t *length)
{
	size_t i = 0;
	while (i + 1 < n && h[i] == '\r' && h[i + 1] == '\n') /* empty lines before: allowed */
		i += 2;
	const char *line = h + i;
	const char *end = memchr(line, '\r', n - i);
	if (!end)
		return BODY_BAD;
	size_t len = (size_t)(end - line), k = 0;
	while (k < len && is_tchar((unsigned char)line[k]))
		k++;
	if (k == 0 || k == len || line[k] != ' ')
		return BODY_BAD;
	size_t t = ++k;
	while (k < len && line[k] > 0x20 && line[k] < 0x7f)
		k++;
	if (k == t || k == len || line[k] != ' ' || len - k - 1 != 8 ||
	    memcmp(line + k + 1, "HTTP/1.", 7) != 0 || line[len - 1] < '0' || line[len - 1] > '9')
		return BODY_BAD;
	bool http10 = line[len - 1] == '0';
	struct meaning m = {0};
	i += len + 2;
	for (;;) {
		line = h + i;
		end = memchr(line, '\r', n - i);
		if (!end)
			return BODY_BAD;
		len = (size_t)(end - line);
		if (len == 0)
			break; /* the empty line: the end of the head */
		const char *name, *value;
		size_t nlen, vlen;
		if (!field_line(line, len, &name, &nlen, &value, &vlen))
			return BODY_BAD;
		if (ieq(name, nlen, "host"))
			m.hosts++;
		else if (ieq(name, nlen, "content-length") &&
		         (vlen == 0 || !each_element(value, vlen, length_element, &m)))
			return BODY_BAD;
		else if (ieq(name, nlen, "transfer-encoding")) {
			m.has_te = true;
			each_element(value, vlen, coding_element, &m);
		}
		i += len + 2;
	}
	if (m.hosts > 1 || (!http10 && m.hosts == 0))
		return BODY_BAD;
	if (m.has_te) /* RFC 9112 6.1, 6.3: chunked alone, never with a length, never in 1.0 */
		return m.has_length || http10 || m.chunked != 1 || m.other_codings ? BODY_BAD
		                                                                   : BODY_CHUNKED;
	*length = m.length;
	return m.has_length && m.length ? BODY_LENGTH : BODY_NONE;
}

/* Appends n bytes to the copied head or trailer line; false past
 * FRAMING_HEAD_MAX. */
static bool keep_run(struct framing *f, const char *p, size_t n)
{
	if (n > FRAMING_HEAD_MAX - f->head_len)
		return false;
	if (f->head_len + n > f->head_cap) {
		size_t cap = f->head_cap ? f->head_cap : 1024;
		while (cap < f->head_len + n)
			cap *= 2;
		f->head_cap = cap < FRAMING_HEAD_MAX ? cap : FRAMING_HEAD_MAX;
		f->head = xrealloc(f->head, f->head_cap);
	}
	memcpy(f->head + f->head_len, p, n);
	f->head_len += n;
	return true;
}

static bool keep(struct framing *f, char c)
{
	return keep_run(f, &c, 1);
}

/* Waits for the next request's head. The copy of the last one is freed:
 * a connection that stays open (keep-alive, a live stream) holds no
 * buffer while it waits. */
static void start_head(struct framing *f, uint64_t at)
{
	f->state = S_HEAD;
	free(f->head);
	f->head = NULL;
	f->head_cap = 0;
	f->head_len = 0;
	f->elem_start = at;
	f->cr = false;
}

static void start_chunk_line(struct framing *f, uint64_t at)
{
	f->state = S_CHUNK_SIZE;
	f->elem_start = at;
	f->hex_digits = 0;
	f->left = 0;
	f->ext = false;
	f->cr = false;
}

static int hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of a head; false if it is wrong. */
static bool head_byte(struct framing *f, unsigned char c, uint64_t at)
{
	if (f->cr != (c == '\n') || c == '\0')
		return false; /* bare CR, bare LF, NUL */
	f->cr = c == '\r';
	if (!keep(f, (char)c))
		return false;
	size_t n = f->head_len;
	if (c != '\n')
		return true;
	if (n == 2 || (n >= 4 && memcmp(f->head + n - 4, "\r\n\r\n", 4) == 0)) {
		/* CRLF alone before a request line is skipped (RFC 9112 2.2) */
		bool only_empty = true;
		for (size_t i = 0; i < n && only_empty; i += 2)
			only_empty = f->head[i] == '\r';
		if (only_empty)
			return n <= 8; /* a few, not an endless stream of them */
		uint64_t length = 0;
		switch (check_head(f->head, n, &length)) {
		case BODY_BAD:
			return false;
		case BODY_NONE:
			start_head(f, at + 1);
			break;
		case BODY_LENGTH:
			f->state = S_BODY;
			f->left = length;
			break;
		case BODY_CHUNKED:
			start_chunk_line(f, at + 1);
			break;
		}
	}
	return true;
}

/* One byte of a chunk-size line. */
static bool chunk_size_byte(struct framing *f, unsigned char c, uint64_t at)
{
	if (at - f->elem_start >= FRAMING_LINE_MAX)
		return false;
	if (f->cr) {
		if (c != '\n' || f->hex_digits == 0)
			return false;
		if (f->left) {
			f->state = S_CHUNK_DATA;
		} else { /* the last chunk: trailers follow */
			f->state = S_TRAILER;
			f->head_len = 0;
			f->elem_start = at + 1;
			f->cr = false;
		}
		return true;
	}
	if (c == '\r') {
		f->cr = true;
		return true;
	}
	if (f->ext) /* ";name=value": anything a field value may hold */
		return is_value_char(c);
	int v = hex(c);
	if (v >= 0 && f->hex_digits < 16 && (f->hex_digits == 0 || !f->ext)) {
		f->left = f->left * 16 + (uint64_t)v;
		f->hex_digits++;
		return true;
	}
	if (f->hex_digits && c == ';') {
		f->ext = true;
		return true;
	}
	return false; /* "0x11", "1 junk", 17 digits, an empty size, bare LF */
}

/* One byte of a trailer line (or the empty line ending the request). */
static bool trailer_byte(struct framing *f, unsigned char c, uint64_t at)
{
	if (f->cr != (c == '\n') || c == '\0')
		return false;
	f->cr = c == '\r';
	if (c == '\r')
		return true;
	if (c != '\n')
		return f->head_len < FRAMING_LINE_MAX && keep(f, (char)c);
	if (f->head_len == 0) { /* the empty line: the request is complete */
		start_head(f, at + 1);
		return true;
	}
	const char *name, *value;
	size_t nlen, vlen;
	if (!field_line(f->head, f->head_len, &name, &nlen, &value, &vlen))
		return false;
	f->head_len = 0;
	f->elem_start = at + 1;
	return true;
}

uint64_t framing_pending(const struct framing *f)
{
	bool in_line = f->state == S_CHUNK_SIZE || f->state == S_CHUNK_LF || f->state == S_TRAILER;
	return in_line && !f->bad ? f->offset - f->elem_start : 0;
}

bool framing_feed(struct framing *f, const char *p, size_t len, enum framing_where *where,
                  uint64_t *start)
{
	if (f->bad)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		uint64_t at = f->offset + i;
		unsigned char c = (unsigned char)p[i];
		bool ok = true;
		switch (f->state) {
		case S_HEAD:
			if (!f->cr) { /* a run of ordinary bytes: copied at once */
				size_t j = i;
				while (j < len && p[j] != '\r' && p[j] != '\n' && p[j] != '\0')
					j++;
				if (j > i) {
					ok = keep_run(f, p + i, j - i);
					i = j - 1;
					break;
				}
			}
			ok = head_byte(f, c, at);
			break;
		case S_BODY:
		case S_CHUNK_DATA: {
			/* skip what the body has left, in one step */
			uint64_t n = len - i < f->left ? len - i : f->left;
			f->left -= n;
			i += (size_t)n - 1;
			if (f->left == 0) {
				if (f->state == S_BODY)
					start_head(f, f->offset + i + 1);
				else
					f->state = S_CHUNK_CR;
			}
			break;
		}
		case S_CHUNK_CR:
			f->elem_start = at;
			ok = c == '\r';
			f->state = S_CHUNK_LF;
			break;
		case S_CHUNK_LF:
			ok = c == '\n';
			if (ok)
				start_chunk_line(f, at + 1);
			break;
		case S_CHUNK_SIZE:
			ok = chunk_size_byte(f, c, at);
			break;
		case S_TRAILER:
			ok = trailer_byte(f, c, at);
			break;
		}
		if (!ok) {
			f->bad = true;
			f->offset += i;
			goto bad;
		}
	}
	f->offset += len;
	return true;
bad:
	*where = f->state == S_HEAD      ? FRAMING_IN_HEAD
	         : f->state == S_TRAILER ? FRAMING_IN_TRAILER
	                                 : FRAMING_IN_CHUNKS;
	*start = f->elem_start;
	return false;
}
