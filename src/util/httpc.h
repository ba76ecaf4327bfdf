/*
 * httpc — one blocking HTTP request to another service (the S3 blob
 * adapter), from worker threads only, never from an event loop. libcurl
 * does the work: http:// and https:// (certificates checked against the
 * system store), any framing, and a deadline over the whole exchange
 * (timeouts on every network call).
 */
#ifndef CHIRP_UTIL_HTTPC_H
#define CHIRP_UTIL_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

struct httpc_response {
	int status;           /* 0 if no response */
	struct strbuf body;   /* caller deinits */
	char etag[80];        /* the ETag header, without quotes; "" if none */
	uint64_t content_length;
};

/* Sends `method url` with `headers` ("Name: value\r\n" lines, may be NULL)
 * and `body` (len bytes, may be NULL), waits up to timeout_ms in all, and
 * fills *res (init'd here). With head_only, the body is not read (HEAD).
 * Returns 0 if a response arrived, -1 (with `err`) otherwise. */
int httpc_request(const char *method, const char *url, const char *headers, const void *body,
		  size_t len, uint64_t timeout_ms, int head_only, struct httpc_response *res,
		  struct strbuf *err);

void httpc_response_deinit(struct httpc_response *res);

#endif
