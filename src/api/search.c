/*
 * search — GET /v1/search/tweets and GET /v1/search/users: the HTTP side
 * of the search service (search/service.h has how a search runs,
 * search/search.h the query language and the index).
 *
 * The handler checks the request on the event loop (q, sort, offset and
 * the page), hands it to the search service, which runs it on a search
 * thread so the loop never waits for the index (docs/architecture.md),
 * and answers back on the loop with the page and its Link header.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "http/respond.h"
#include "http/server.h"
#include "search/service.h"
#include "util/log.h"
#include "util/query.h"
#include "util/utf8.h"

/* The decoded query. */
struct search_input {
	char text[SEARCH_QUERY_MAX];
	size_t len;
	struct search_query query;
	unsigned offset;
};

static bool read_offset(struct ctx *c, unsigned *out)
{
	h2o_iovec_t v;
	*out = 0;
	if (!http_query_get(c->req, "offset", &v))
		return true;
	unsigned n = 0;
	bool ok = v.len > 0 && v.len <= 4;
	for (size_t i = 0; ok && i < v.len; i++) {
		ok = v.base[i] >= '0' && v.base[i] <= '9';
		n = n * 10 + (unsigned)(v.base[i] - '0');
	}
	if (!ok || n > SEARCH_OFFSET_MAX) {
		http_send_error(c->req, 422, "invalid_offset", "offset must be 0..1000");
		return false;
	}
	*out = n;
	return true;
}

/* q: required, at most SEARCH_QUERY_MAX bytes once decoded, UTF-8. */
static bool read_query(struct ctx *c, struct search_input *in)
{
	h2o_iovec_t v = {NULL, 0};
	http_query_get(c->req, "q", &v);
	if (v.len > 3 * SEARCH_QUERY_MAX) { /* decoding only shrinks it to a third */
		http_send_error(c->req, 422, "query_too_long", "q must be at most 512 bytes");
		return false;
	}
	char buf[3 * SEARCH_QUERY_MAX];
	size_t len;
	if (!query_decode(v.base, v.len, buf, &len)) {
		http_send_error(c->req, 400, "invalid_query", "q is not properly percent-encoded");
		return false;
	}
	if (len > SEARCH_QUERY_MAX) {
		http_send_error(c->req, 422, "query_too_long", "q must be at most 512 bytes");
		return false;
	}
	if (!utf8_validate(buf, len, NULL)) {
		http_send_error(c->req, 400, "invalid_utf8", "q must be UTF-8");
		return false;
	}
	/* Control characters separate words, as spaces do. */
	for (size_t i = 0; i < len; i++)
		in->text[i] = (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f ? ' ' : buf[i];
	in->len = len;
	search_query_parse(in->text, in->len, &in->query);
	if (in->query.nterms == 0 && !in->query.from) {
		http_send_error(c->req, 422, "empty_query", "q must have something to search for");
		return false;
	}
	return read_offset(c, &in->offset);
}

/* q again, for a URL: everything but unreserved characters escaped. */
static void encode_query(struct strbuf *sb, const struct search_input *in)
{
	static const char hexdigits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < in->len; i++) {
		unsigned char ch = (unsigned char)in->text[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			strbuf_append_char(sb, (char)ch);
		} else {
			char esc[3] = {'%', hexdigits[ch >> 4], hexdigits[ch & 15]};
			strbuf_append(sb, esc, 3);
		}
	}
}

/* A Link URL: this endpoint with the same q and sort, then the cursor. */
static void link_url(struct strbuf *sb, struct ctx *c, const struct search_input *in,
		     const char *sort, const char *rel, const char *fmt, uint64_t value,
		     unsigned limit)
{
	size_t path_len = c->req->query_at == SIZE_MAX ? c->req->path.len : c->req->query_at;
	if (sb->len)
		strbuf_append(sb, ", ", 2);
	strbuf_append_char(sb, '<');
	strbuf_append(sb, c->req->path.base, path_len);
	strbuf_append(sb, "?q=", 3);
	encode_query(sb, in);
	if (sort)
		strbuf_appendf(sb, "&sort=%s", sort);
	strbuf_appendf(sb, "&limit=%u&", limit);
	strbuf_appendf(sb, fmt, (unsigned long long)value);
	strbuf_appendf(sb, ">; rel=\"%s\"", rel);
}

/* Relevance pages by offset: "next" while pages are full, "prev" back. */
static void link_offset(struct ctx *c, const struct search_input *in, const char *sort,
			unsigned limit, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	if (n == limit && in->offset + limit <= SEARCH_OFFSET_MAX)
		link_url(&sb, c, in, sort, "next", "offset=%llu", in->offset + limit, limit);
	if (in->offset > 0)
		link_url(&sb, c, in, sort, "prev", "offset=%llu",
			 in->offset > limit ? in->offset - limit : 0, limit);
	if (sb.len)
		http_header_add(c->req, "link", sb.data, sb.len);
	strbuf_deinit(&sb);
}

static bool read_sort(struct ctx *c, enum search_sort *out)
{
	h2o_iovec_t v;
	*out = SEARCH_RELEVANCE;
	if (!http_query_get(c->req, "sort", &v) || h2o_memis(v.base, v.len, H2O_STRLIT("relevance")))
		return true;
	if (h2o_memis(v.base, v.len, H2O_STRLIT("recent"))) {
		*out = SEARCH_RECENT;
		return true;
	}
	http_send_error(c->req, 422, "invalid_sort", "sort must be relevance or recent");
	return false;
}

/* One search, from the handler to the answer. */
struct search_job {
	struct app *app;
	struct ctx *ctx;
	struct http_async *async;
	bool users;
	struct search_input in; /* the query's terms point into in.text */
	struct search_request req;
	struct search_result res; /* filled by the search service */
};

/* Back on the loop: the answer, with its Link header. */
static void reply(h2o_req_t *req, void *arg)
{
	struct search_job *job = arg;
	const struct search_result *res = &job->res;
	bool again = false; /* a façade's answer started another step (api/write.c) */
	if (req) {
		struct ctx *c = job->ctx;
		c->async = false;
		if (res->status != STORE_OK) {
			api_store_error(c, res->status);
		} else {
			unsigned limit = job->req.page.limit;
			if (!job->users && job->req.sort == SEARCH_RECENT) {
				struct strbuf sb = STRBUF_INIT;
				if (res->n) {
					link_url(&sb, c, &job->in, "recent", "next", "max_id=%llu",
						 res->oldest, limit);
					link_url(&sb, c, &job->in, "recent", "prev", "min_id=%llu",
						 res->newest, limit);
				}
				if (sb.len)
					http_header_add(req, "link", sb.data, sb.len);
				strbuf_deinit(&sb);
			} else {
				link_offset(c, &job->in, NULL, limit, res->n);
			}
			api_send(c, 200, &res->json);
		}
		again = c->async;
	}
	if (!again)
		api_request_done(job->app, req ? job->ctx : NULL);
	strbuf_deinit(&job->res.json);
	free(job);
}

/* On a search thread (or at once, if the search was refused). */
static void done(struct search_result *res, void *arg)
{
	(void)res; /* job->res */
	struct search_job *job = arg;
	http_async_finish(job->async, reply, job);
}

static void start(struct ctx *c, struct search_job *job)
{
	job->app = c->app;
	job->ctx = c;
	job->async = http_async_begin(c->req);
	c->async = true;
	if (job->users)
		search_service_users(c->app->search_service, &job->in.query, job->req.page.limit,
				     job->in.offset, &job->res, done, job);
	else
		search_service_tweets(c->app->search_service, &job->req, &job->res, done, job);
}

void api_search_tweets(struct ctx *c)
{
	struct search_job *job = xcalloc(1, sizeof(*job));
	struct search_request *req = &job->req;
	if (!read_query(c, &job->in) || !read_sort(c, &req->sort) || !api_page(c, &req->page)) {
		free(job);
		return;
	}
	req->query = &job->in.query;
	req->offset = job->in.offset;
	req->viewer_id = c->user_id;
	start(c, job);
}

void api_search_users(struct ctx *c)
{
	struct search_job *job = xcalloc(1, sizeof(*job));
	if (!read_query(c, &job->in) || !api_page(c, &job->req.page)) {
		free(job);
		return;
	}
	job->users = true;
	start(c, job);
}
