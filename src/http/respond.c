/*
 * respond — see respond.h.
 */
#include "http/respond.h"

#include <string.h>

#include "util/jsonw.h"
#include "util/query.h"

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void http_header_add(h2o_req_t *req, const char *name, const char *value, size_t len)
{
	h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL,
			      h2o_strdup(&req->pool, value, len).base, len);
}

void http_header_set(h2o_req_t *req, const char *name, const char *value, size_t len)
{
	h2o_set_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0,
			      h2o_strdup(&req->pool, value, len).base, len, 1);
}

void http_send(h2o_req_t *req, int status, const char *content_type, const char *body,
	       size_t len)
{
	req->res.status = status;
	req->res.reason = reason(status);
	if (status == 204 || !content_type) {
		req->res.content_length = 0;
		h2o_send_inline(req, "", 0);
		return;
	}
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
		       strlen(content_type));
	req->res.content_length = len;
	h2o_send_inline(req, body, len);
}

void http_send_json(h2o_req_t *req, int status, const struct strbuf *body)
{
	http_send(req, status, "application/json", body->data ? body->data : "", body->len);
}

/* A body handed to the request's pool: freed when the pool is cleared,
 * after the response has been written. */
struct taken_body {
	char *data;
};

static void taken_body_dispose(void *p)
{
	free(((struct taken_body *)p)->data);
}

void http_send_json_take(h2o_req_t *req, int status, struct strbuf *body)
{
	/* h2o_send_inline, less its h2o_strdup: the generator has no callbacks
	 * because the one buffer is sent as the final one. */
	static h2o_generator_t generator = {NULL, NULL};
	struct taken_body *t = h2o_mem_alloc_shared(&req->pool, sizeof(*t), taken_body_dispose);
	size_t len;
	t->data = strbuf_detach(body, &len);
	req->res.status = status;
	req->res.reason = reason(status);
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
		       H2O_STRLIT("application/json"));
	req->res.content_length = len;
	h2o_iovec_t buf = h2o_iovec_init(t->data, len);
	h2o_start_response(req, &generator);
	if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
}

void http_send_error(h2o_req_t *req, int status, const char *code, const char *message)
{
	struct strbuf sb = STRBUF_INIT;
	jsonw_error(&sb, code, message);
	http_send_json(req, status, &sb);
	strbuf_deinit(&sb);
}

void http_send_unavailable(h2o_req_t *req)
{
	http_header_add(req, "retry-after", "1", 1);
	http_send_error(req, 503, "unavailable",
			"the server is busy or the store is unavailable; try again");
}

bool http_header_get(h2o_req_t *req, const char *name, h2o_iovec_t *out)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
	if (i < 0)
		return false;
	*out = req->headers.entries[i].value;
	return true;
}

bool http_query_get(h2o_req_t *req, const char *name, h2o_iovec_t *out)
{
	if (req->query_at == SIZE_MAX)
		return false;
	const char *q = req->path.base + req->query_at + 1;
	size_t len = req->path.len - req->query_at - 1;
	const char *v;
	size_t vlen;
	if (!query_find(q, len, name, &v, &vlen))
		return false;
	*out = h2o_iovec_init(v, vlen);
	return true;
}

size_t http_header_bytes(h2o_req_t *req)
{
	size_t n = 0;
	for (size_t i = 0; i < req->headers.size; i++)
		n += req->headers.entries[i].name->len + req->headers.entries[i].value.len;
	return n;
}
