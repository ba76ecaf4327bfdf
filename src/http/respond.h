/*
 * respond — building and sending responses, and reading requests.
 *
 * Every response chirp sends goes through http_send, so every response gets
 * the same treatment (content type, length, the headers that the gateway
 * adds). Errors are always the JSON of docs/api.md:
 * {"error":"human readable message","code":"snake_case_code"}.
 */
#ifndef CHIRP_HTTP_RESPOND_H
#define CHIRP_HTTP_RESPOND_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

/* Sends `body` (copied) with `status`; a NULL content type sends no body. */
void http_send(h2o_req_t *req, int status, const char *content_type, const char *body,
	       size_t len);

/* Sends a JSON body (copied; the caller still owns `body`). */
void http_send_json(h2o_req_t *req, int status, const struct strbuf *body);

/* Sends a JSON body without copying it: its bytes pass to the request's
 * memory pool, which frees them once the response is written, and `body`
 * is left empty. For large bodies on hot paths (a feed page is 6-9 KB,
 * which h2o_send_inline would copy into a second heap block). */
void http_send_json_take(h2o_req_t *req, int status, struct strbuf *body);

/* Sends the JSON error {"error": message, "code": code}. */
void http_send_error(h2o_req_t *req, int status, const char *code, const char *message);

/* 503 with Retry-After: overloaded, or the store failed. */
void http_send_unavailable(h2o_req_t *req);

/* Adds a response header. `name` must be a lowercase string literal (h2o
 * keeps the pointer); `value` is copied. */
void http_header_add(h2o_req_t *req, const char *name, const char *value, size_t len);

/* Like http_header_add, but replaces a header of that name if present. */
void http_header_set(h2o_req_t *req, const char *name, const char *value, size_t len);

/* Finds a request header by lowercase name; true and *out on a hit. */
bool http_header_get(h2o_req_t *req, const char *name, h2o_iovec_t *out);

/* Finds query parameter `name` (exact, not decoded); true and *out on a hit. */
bool http_query_get(h2o_req_t *req, const char *name, h2o_iovec_t *out);

/* Total bytes of the request's header names and values. */
size_t http_header_bytes(h2o_req_t *req);

#endif
