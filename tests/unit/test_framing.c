/*
 * test_framing — the strict HTTP/1.1 framing check (src/http/framing.c)
 * that runs on a connection's bytes before h2o's parser (issue 19,
 * finding 5).
 *
 * Each case is a connection's whole input: good ones (pipelined requests,
 * Content-Length and chunked bodies, extensions, trailers, HTTP/1.0) are
 * fine to their last byte; bad ones (CL with TE, "0x11", obs-fold, bare
 * LF or CR, differing lengths, no Host or two, junk trailers...) are
 * refused, and the element named (head, chunks, trailer) with the offset
 * where it began. Every case is fed whole, a byte at a time and in
 * pieces of 7: the verdict may not depend on how the bytes arrive. And
 * framing_pending holds the unfinished chunk line, never more.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/framing.h"

#define GET "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
#define POST_CHUNKED "POST /v1/tweets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

struct result {
	bool ok;
	enum framing_where where;
	uint64_t start;
};

static struct result feed(const char *data, size_t len, size_t piece)
{
	struct framing f;
	framing_init(&f);
	struct result r = {.ok = true};
	for (size_t i = 0; i < len && r.ok; i += piece) {
		size_t n = len - i < piece ? len - i : piece;
		r.ok = framing_feed(&f, data + i, n, &r.where, &r.start);
		assert_true(framing_pending(&f) <= FRAMING_LINE_MAX);
	}
	framing_deinit(&f);
	return r;
}

/* The same verdict whole, byte by byte and in pieces of 7. */
static struct result check(const char *data)
{
	size_t len = strlen(data);
	struct result whole = feed(data, len, len ? len : 1);
	static const size_t pieces[] = {1, 7};
	for (size_t k = 0; k < 2; k++) {
		struct result r = feed(data, len, pieces[k]);
		assert_int_equal(r.ok, whole.ok);
		if (!r.ok) {
			assert_int_equal(r.where, whole.where);
			assert_int_equal(r.start, whole.start);
		}
	}
	return whole;
}

static void good(const char *data)
{
	struct result r = check(data);
	if (!r.ok)
		fail_msg("refused (where %d, start %llu): %s", (int)r.where,
		         (unsigned long long)r.start, data);
}

static void bad(const char *data, enum framing_where where, size_t start)
{
	struct result r = check(data);
	if (r.ok)
		fail_msg("accepted: %s", data);
	assert_int_equal(r.where, where);
	assert_int_equal(r.start, start);
}

static void test_good_requests(void **state)
{
	(void)state;
	good(GET);
	good(GET GET GET);
	good("\r\n" GET);                      /* an empty line before: allowed */
	good("GET /healthz HTTP/1.0\r\n\r\n"); /* no Host in 1.0 */
	good("POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" GET);
	good("POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"
	     "hello");
	good("POST /v1/users HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n" GET);
	good(POST_CHUNKED "5\r\nhello\r\n0\r\n\r\n" GET);
	good(POST_CHUNKED "5;name=\"v\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\nY: \r\n\r\n");
	good("POST /v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
	good("GET /x HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-8bit: \xc3\xa9\r\n\r\n");
	good("");
}

static void test_bad_heads(void **state)
{
	(void)state;
	const enum framing_where H = FRAMING_IN_HEAD;
	/* Content-Length with Transfer-Encoding, either order, or TE in 1.0 */
	bad("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n",
	    H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
	    "3\r\n\r\n",
	    H, 0);
	bad("POST /t HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n",
	    H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", H, 0);
	/* lengths */
	bad("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n", H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 10, 5\r\n\r\n", H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\n", H, 0);
	bad("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", H, 0);
	/* Host */
	bad("GET /t HTTP/1.1\r\n\r\n", H, 0);
	bad("GET /t HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", H, 0);
	/* line syntax */
	bad("GET /t HTTP/1.1\r\nHost: x\r\nX: 1\r\n folded\r\n\r\n", H, 0);
	bad("GET /t HTTP/1.1\r\nHost: x\r\nX : 1\r\n\r\n", H, 0);
	bad("GET /t HTTP/1.1\nHost: x\n\n", H, 0);
	bad("GET /t HTTP/1.1\r\nHost: x\rX: 1\r\n\r\n", H, 0);
	bad("GET /t HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n", H, 0);
	bad("GET /t HTTP/2.0\r\nHost: x\r\n\r\n", H, 0);
	bad("GET  /t HTTP/1.1\r\nHost: x\r\n\r\n", H, 0);
	bad("G(T /t HTTP/1.1\r\nHost: x\r\n\r\n", H, 0);
	bad("\r\n\r\n\r\n\r\n\r\n" GET, H, 0);
	/* the second of two pipelined requests: it began after the first */
	bad(GET "GET /t HTTP/1.1\r\n\r\n", H, strlen(GET));
	bad("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
	    "GET /t HTTP/1.1\n\n",
	    H, strlen("POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"));
}

static void test_bad_chunks_and_trailers(void **state)
{
	(void)state;
	size_t body = strlen(POST_CHUNKED);
	bad(POST_CHUNKED "0x11\r\n\r\n", FRAMING_IN_CHUNKS, body);
	bad(POST_CHUNKED "1 junk\r\na\r\n0\r\n\r\n", FRAMING_IN_CHUNKS, body);
	bad(POST_CHUNKED "\r\n", FRAMING_IN_CHUNKS, body);
	bad(POST_CHUNKED "zz\r\n", FRAMING_IN_CHUNKS, body);
	bad(POST_CHUNKED "00000000000000001\r\na\r\n0\r\n\r\n", FRAMING_IN_CHUNKS, body);
	bad(POST_CHUNKED "1\na\r\n0\r\n\r\n", FRAMING_IN_CHUNKS, body);
	/* chunk data not followed by CRLF: the element is that CRLF */
	bad(POST_CHUNKED "1\r\naXX0\r\n\r\n", FRAMING_IN_CHUNKS, body + 4);
	/* the second chunk's size line */
	bad(POST_CHUNKED "1\r\na\r\nq\r\n", FRAMING_IN_CHUNKS, body + 6);
	/* trailers */
	bad(POST_CHUNKED "0\r\njunk\r\n\r\n", FRAMING_IN_TRAILER, body + 3);
	bad(POST_CHUNKED "0\r\nX-A: 1\r\n folded\r\n\r\n", FRAMING_IN_TRAILER, body + 11);
	bad(POST_CHUNKED "0\r\nX-A: 1\n\r\n", FRAMING_IN_TRAILER, body + 3);
}

/* While a chunk-size line is unfinished, its bytes are pending (the
 * caller holds them from h2o); once complete, none are. */
static void test_pending(void **state)
{
	(void)state;
	struct framing f;
	framing_init(&f);
	enum framing_where w;
	uint64_t s;
	assert_true(framing_feed(&f, POST_CHUNKED, strlen(POST_CHUNKED), &w, &s));
	assert_int_equal(framing_pending(&f), 0);
	assert_true(framing_feed(&f, "1", 1, &w, &s));
	assert_int_equal(framing_pending(&f), 1);
	assert_true(framing_feed(&f, "0;x\r", 4, &w, &s));
	assert_int_equal(framing_pending(&f), 5);
	assert_true(framing_feed(&f, "\n", 1, &w, &s));
	assert_int_equal(framing_pending(&f), 0); /* 16 bytes of data now */
	assert_true(framing_feed(&f, "0123456789abcdef\r", 17, &w, &s));
	assert_int_equal(framing_pending(&f), 1);
	assert_true(framing_feed(&f, "\n0\r\nX: y", 8, &w, &s));
	assert_int_equal(framing_pending(&f), 4); /* "X: y" */
	assert_true(framing_feed(&f, "\r\n\r\n", 4, &w, &s));
	assert_int_equal(framing_pending(&f), 0);
	framing_deinit(&f);
	/* a line longer than FRAMING_LINE_MAX is refused, never held */
	framing_init(&f);
	assert_true(framing_feed(&f, POST_CHUNKED "1;", strlen(POST_CHUNKED) + 2, &w, &s));
	char ext[FRAMING_LINE_MAX];
	memset(ext, 'e', sizeof(ext));
	assert_false(framing_feed(&f, ext, sizeof(ext), &w, &s));
	assert_int_equal(framing_pending(&f), 0);
	framing_deinit(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_requests),
	    cmocka_unit_test(test_bad_heads),
	    cmocka_unit_test(test_bad_chunks_and_trailers),
	    cmocka_unit_test(test_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
