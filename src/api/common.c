/*
 * common — helpers every API handler shares: ids in paths, paging, the
 * request body, the answers to store failures, and reads that may have to
 * leave the event loop (api_read).
 */
#include "api/api.h"

#include <string.h>

#include <stdlib.h>

#include "http/respond.h"
#include "http/server.h"
#include "util/container_of.h"
#include "util/log.h"
#include "util/id.h"
#include "util/strbuf.h"

#define LIMIT_DEFAULT 20
#define LIMIT_MAX 100

void api_send(struct ctx *c, int status, const struct strbuf *body)
{
	if (c->answer && (c->answer_errors || (status >= 200 && status < 300)))
		c->answer(c, status, body);
	else
		http_send_json(c->req, status, body);
}

void api_send_take(struct ctx *c, int status, struct strbuf *body)
{
	if (c->answer && (c->answer_errors || (status >= 200 && status < 300)))
		c->answer(c, status, body);
	else
		http_send_json_take(c->req, status, body);
}

bool api_param_id(struct ctx *c, unsigned i, uint64_t *out)
{
	if (id_parse(c->m.params[i].s, c->m.params[i].len, out))
		return true;
	http_send_error(c->req, 400, "invalid_id", "ids are positive decimal numbers");
	return false;
}

/* A cursor from the query string; absent leaves *out alone. */
/* A cursor: an id, or with `zero_ok` also "0" (a lower bound below every
 * id: min_id=0 is the whole list from its oldest item, which is where a
 * "prev" link from the end of the list, max_id=1, leads). */
static bool query_id(struct ctx *c, const char *name, bool zero_ok, uint64_t *out,
		     bool *present)
{
	h2o_iovec_t v;
	*present = http_query_get(c->req, name, &v);
	if (!*present)
		return true;
	if (id_parse(v.base, v.len, out))
		return true;
	if (zero_ok && v.len == 1 && v.base[0] == '0') {
		*out = 0;
		return true;
	}
	struct strbuf msg = STRBUF_INIT;
	strbuf_appendf(&msg, "%s must be an id (a positive decimal number)", name);
	http_send_error(c->req, 400, "invalid_id", msg.data);
	strbuf_deinit(&msg);
	return false;
}

bool api_page(struct ctx *c, struct store_page *page)
{
	*page = (struct store_page){.before = UINT64_MAX, .after = 0, .limit = LIMIT_DEFAULT};
	h2o_iovec_t v;
	if (http_query_get(c->req, "limit", &v)) {
		uint64_t n;
		if (!id_parse(v.base, v.len, &n) || n > LIMIT_MAX) {
			http_send_error(c->req, 422, "invalid_limit", "limit must be 1..100");
			return false;
		}
		page->limit = (unsigned)n;
	}
	bool has_max, has_since, has_min;
	uint64_t since = 0, min = 0;
	if (!query_id(c, "max_id", false, &page->before, &has_max) ||
	    !query_id(c, "since_id", true, &since, &has_since) ||
	    !query_id(c, "min_id", true, &min, &has_min))
		return false;
	/* Mastodon semantics: min_id pages forward from the cursor; since_id
	 * only cuts off, keeping the newest. min_id wins if both are given. */
	if (has_min) {
		page->after = min;
		page->oldest_first = true;
	} else if (has_since) {
		page->after = since;
	}
	return true;
}

static void link_one(struct strbuf *sb, struct ctx *c, const struct store_page *page,
		     const char *cursor, uint64_t id, const char *rel)
{
	size_t path_len = c->req->query_at == SIZE_MAX ? c->req->path.len : c->req->query_at;
	if (sb->len)
		strbuf_append(sb, ", ", 2);
	strbuf_append_char(sb, '<');
	if (c->link_base)
		strbuf_append_str(sb, c->link_base);
	strbuf_append(sb, c->req->path.base, path_len);
	/* Appends, not printf: a feed page's two links went through
	 * vfprintf four times, ~2% of a medium feed read. */
	strbuf_append_str(sb, "?limit=");
	strbuf_append_u64(sb, page->limit);
	strbuf_append_str(sb, c->link_query);
	strbuf_append_char(sb, '&');
	strbuf_append_str(sb, cursor);
	strbuf_append_char(sb, '=');
	strbuf_append_u64(sb, id);
	strbuf_append_str(sb, ">; rel=\"");
	strbuf_append_str(sb, rel);
	strbuf_append_char(sb, '"');
}

void api_link(struct ctx *c, const struct store_page *page, size_t n, uint64_t newest,
	      uint64_t oldest)
{
	struct strbuf sb = STRBUF_INIT;
	if (n) {
		link_one(&sb, c, page, "max_id", oldest, "next");
		link_one(&sb, c, page, "min_id", newest, "prev");
	} else if (page->after || page->oldest_first) {
		/* Nothing newer yet: "prev" polls from the same place (min_id=0
		 * included: the list's first items, whenever they come). */
		link_one(&sb, c, page, "min_id", page->after, "prev");
	} else if (page->before != UINT64_MAX) {
		/* The end of the list: "prev" leads back to what came before. */
		link_one(&sb, c, page, "min_id", page->before - 1, "prev");
	} else {
		/* An empty list: "prev" waits for its first item. */
		strbuf_append_char(&sb, '<');
		if (c->link_base)
			strbuf_append_str(&sb, c->link_base);
		size_t path_len = c->req->query_at == SIZE_MAX ? c->req->path.len : c->req->query_at;
		strbuf_append(&sb, c->req->path.base, path_len);
		strbuf_appendf(&sb, "?limit=%u%s>; rel=\"prev\"", page->limit, c->link_query);
	}
	http_header_add(c->req, "link", sb.data, sb.len);
	strbuf_deinit(&sb);
}

/* application/json, optionally followed by parameters (charset). */
static bool is_json_type(h2o_iovec_t v)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;
	if (v.len < n || strncasecmp(v.base, want, n) != 0)
		return false;
	return v.len == n || v.base[n] == ';' || v.base[n] == ' ' || v.base[n] == '\t';
}

json_t *api_body(struct ctx *c, bool required)
{
	h2o_req_t *req = c->req;
	if (c->body)
		return json_incref(c->body);
	bool has_body = req->entity.base != NULL && req->entity.len > 0;
	if (req->entity.len > c->app->cfg->max_body_bytes) {
		http_send_error(req, 413, "body_too_large", "request body is too large");
		return NULL;
	}
	if (!has_body && !required)
		return json_object();
	h2o_iovec_t type;
	if (!http_header_get(req, "content-type", &type) || !is_json_type(type)) {
		http_send_error(req, 415, "unsupported_media_type",
				"request body must be Content-Type: application/json");
		return NULL;
	}
	json_error_t err;
	json_t *root = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len,
				  JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (!root) {
		if (json_error_code(&err) == json_error_invalid_utf8)
			http_send_error(req, 400, "invalid_encoding", "request body is not valid UTF-8");
		else
			http_send_error(req, 400, "malformed_json", "request body is not valid JSON");
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		http_send_error(req, 400, "malformed_json", "request body must be a JSON object");
		return NULL;
	}
	return root;
}

bool api_string(struct ctx *c, json_t *obj, const char *name, bool required,
		const char *missing_code, const char **s, size_t *len)
{
	json_t *v = json_object_get(obj, name);
	*s = NULL;
	*len = 0;
	struct strbuf msg = STRBUF_INIT;
	if (!v && required) {
		strbuf_appendf(&msg, "%s is required", name);
		http_send_error(c->req, 422, missing_code, msg.data);
	} else if (v && !json_is_string(v)) {
		strbuf_appendf(&msg, "%s must be a string", name);
		http_send_error(c->req, 400, "wrong_type", msg.data);
	} else {
		if (v) {
			*s = json_string_value(v);
			*len = json_string_length(v);
		}
		return true;
	}
	strbuf_deinit(&msg);
	return false;
}

bool api_nullable_id(struct ctx *c, json_t *obj, const char *name, const char *invalid_code,
		     bool *present, uint64_t *id)
{
	json_t *v = json_object_get(obj, name);
	*present = v != NULL;
	*id = 0;
	if (!v || json_is_null(v))
		return true;
	struct strbuf msg = STRBUF_INIT;
	if (!json_is_string(v)) {
		strbuf_appendf(&msg, "%s must be an id (a string) or null", name);
		http_send_error(c->req, 400, "wrong_type", msg.data);
	} else if (!id_parse(json_string_value(v), json_string_length(v), id) || !*id) {
		strbuf_appendf(&msg, "%s is not an id", name);
		http_send_error(c->req, 422, invalid_code, msg.data);
	} else {
		return true;
	}
	strbuf_deinit(&msg);
	return false;
}

void api_store_error(struct ctx *c, int rc)
{
	if (rc == STORE_NOT_FOUND)
		http_send_error(c->req, 404, "not_found", "not found");
	else
		http_send_unavailable(c->req);
}

/* ---- reads off the loop ---- */

static bool reads_offloaded(const struct app *app)
{
	return app->readers != NULL;
}

void *api_read_new(struct ctx *c, size_t size)
{
	struct api_read *r;
	if (reads_offloaded(c->app)) {
		r = xcalloc(1, size);
		r->heap = true;
	} else {
		r = h2o_mem_alloc_pool(&c->req->pool, size);
		memset(r, 0, size);
	}
	r->size = size;
	r->may_block = reads_offloaded(c->app) || !c->app->cold;
	return r;
}

static void read_release(struct api_read *r)
{
	if (r->release)
		r->release(r);
	if (r->heap)
		free(r);
}

/* Back on the loop after run(), or refused: req is NULL if the client
 * left, and the ctx with it. */
static void read_back(h2o_req_t *req, struct api_read *r, bool refused)
{
	struct ctx *c = req ? r->ctx : NULL;
	if (c) {
		c->async = false;
		if (refused)
			http_send_unavailable(req);
		else
			r->finish(r, c);
	}
	if (!c || !c->async) /* finish may have started another asynchronous step */
		api_request_done(r->app, c);
	read_release(r);
}

static void read_finished(h2o_req_t *req, void *arg)
{
	read_back(req, arg, false);
}

static void read_refused(h2o_req_t *req, void *arg)
{
	read_back(req, arg, true);
}

static void read_run(struct work *w)
{
	struct api_read *r = container_of(w, struct api_read, work);
	r->run(r, w->thread);
	http_async_finish(r->async, read_finished, r);
}

/* A read that blocked on a loop, moved to the heap (it outlives the
 * request if the client leaves) for a worker that may block. */
static struct api_read *read_to_worker(struct api_read *r)
{
	struct api_read *h = xmalloc(r->size);
	memcpy(h, r, r->size);
	h->heap = true;
	h->blocked = false;
	h->may_block = true;
	return h;
}

void api_read(struct ctx *c, struct api_read *r)
{
	struct workpool *pool = c->app->readers;
	if (!reads_offloaded(c->app)) {
		r->run(r, c->db);
		if (!r->blocked) {
			r->finish(r, c);
			read_release(r);
			return;
		}
		r = read_to_worker(r); /* the copy owns what run() left */
		pool = c->app->cold;
	}
	r->ctx = c;
	r->app = c->app;
	r->work.fn = read_run;
	r->async = http_async_begin(c->req);
	c->async = true;
	if (workpool_submit(pool, &r->work) != 0) {
		/* The pool is full: answer 503 now, on the loop. */
		http_async_finish(r->async, read_refused, r);
	}
}
