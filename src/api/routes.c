/*
 * routes — the route table of API version 1 and the dispatcher in front of
 * every handler: limits on headers, routing, authentication and
 * Idempotency-Key, in that order, then the handler.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/stream.h"
#include "gateway/auth.h"
#include "gateway/idempotency.h"
#include "http/respond.h"
#include "util/log.h"
#include "util/timeutil.h"

#define ROUTE(m, p, h, f) {m, p, (void (*)(void))(h), f}

static const struct route routes[] = {
	ROUTE("POST", "/v1/users", api_users_create, API_IDEMPOTENT | API_BUDGET(BUDGET_SIGNUP)),
	ROUTE("GET", "/v1/users/by-handle/{handle}", api_users_by_handle, 0),
	ROUTE("GET", "/v1/users/{id}", api_users_get, 0),
	ROUTE("GET", "/v1/users/{id}/tweets", api_user_tweets, 0),
	ROUTE("POST", "/v1/users/{id}/follows", api_follows_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("DELETE", "/v1/users/{id}/follows", api_follows_delete, API_AUTH),
	ROUTE("GET", "/v1/users/{id}/followers", api_followers, 0),
	ROUTE("GET", "/v1/users/{id}/following", api_following, 0),
	/* Log-in does not honour Idempotency-Key: a replay would have to keep
	 * the token in clear, and tokens are stored only as hashes. */
	ROUTE("POST", "/v1/sessions", api_sessions_create, API_BUDGET(BUDGET_LOGIN)),
	ROUTE("DELETE", "/v1/sessions/current", api_sessions_delete, API_AUTH),
	ROUTE("POST", "/v1/tweets", api_tweets_create,
	      API_AUTH | API_IDEMPOTENT | API_BUDGET(BUDGET_POST)),
	ROUTE("GET", "/v1/tweets/{id}", api_tweets_get, 0),
	ROUTE("DELETE", "/v1/tweets/{id}", api_tweets_delete, API_AUTH),
	ROUTE("GET", "/v1/feed", api_feed, API_AUTH),
	ROUTE("GET", "/v1/feed/stream", api_feed_stream, API_AUTH | API_QUERY_TOKEN),
	ROUTE("GET", "/v1/search/tweets", api_search_tweets, 0),
	ROUTE("GET", "/v1/search/users", api_search_users, 0),
	ROUTE("POST", "/v1/media", api_media_create,
	      API_AUTH | API_IDEMPOTENT | API_BUDGET(BUDGET_MEDIA)),
	ROUTE("GET", "/v1/media/{id}", api_media_get, API_AUTH),
	ROUTE("POST", "/v1/media/{id}/complete", api_media_complete,
	      API_AUTH | API_BUDGET(BUDGET_MEDIA)),
	/* Presigned: the URL's signature is the authorisation (api/blobs.c). */
	ROUTE("PUT", "/blobs/{key}", api_blob_put, 0),
	ROUTE("GET", "/blobs/{key}", api_blob_get, 0),
	ROUTE("GET", "/healthz", api_healthz, API_UNLIMITED),
	ROUTE("GET", "/readyz", api_readyz, API_UNLIMITED),
	ROUTE("GET", "/metrics", api_metrics, API_UNLIMITED),
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

size_t api_route_count(void)
{
	return NROUTES;
}

void api_route_name(size_t i, const char **tmpl, const char **method)
{
	*tmpl = routes[i].pattern;
	*method = routes[i].method;
}

void *api_thread_init(void *app, struct http_loop *loop)
{
	struct app_thread *t = xcalloc(1, sizeof(*t));
	t->app = app;
	t->db = t->app->store->ops->reader_new(t->app->store);
	t->streams = live_loop_new(t->app->streams, loop, t->db);
	return t;
}

void api_thread_drain(void *thread_data)
{
	struct app_thread *t = thread_data;
	live_loop_drain(t->streams);
}

void api_thread_deinit(void *thread_data)
{
	struct app_thread *t = thread_data;
	live_loop_free(t->streams);
	t->db->ops->reader_free(t->db);
	free(t);
}

static void allow_header(h2o_req_t *req, const char *path, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	struct route_match m;
	for (size_t i = 0; i < NROUTES; i++) {
		if (router_match(&routes[i], 1, routes[i].method, strlen(routes[i].method), path, len,
				 &m) != ROUTE_FOUND)
			continue;
		if (sb.len)
			strbuf_append(&sb, ", ", 2);
		strbuf_append_str(&sb, routes[i].method);
	}
	http_header_add(req, "allow", sb.data ? sb.data : "", sb.len);
	strbuf_deinit(&sb);
}

/* An incoming X-Request-Id is kept if it is 1..128 visible ASCII
 * characters; otherwise chirp makes one. Either way it is sent back. */
static void request_id(struct ctx *c)
{
	h2o_iovec_t v;
	bool ok = http_header_get(c->req, "x-request-id", &v) && v.len >= 1 && v.len <= 128;
	for (size_t i = 0; ok && i < v.len; i++)
		ok = v.base[i] > 0x20 && v.base[i] < 0x7f;
	if (!ok) {
		unsigned char raw[8];
		randombytes_buf(raw, sizeof(raw));
		char *hex = h2o_mem_alloc_pool(&c->req->pool, 2 * sizeof(raw) + 1);
		sodium_bin2hex(hex, 2 * sizeof(raw) + 1, raw, sizeof(raw));
		v = h2o_iovec_init(hex, 2 * sizeof(raw));
	}
	c->request_id = v;
	http_header_add(c->req, "x-request-id", v.base, v.len);
}

/* Everything between a request's arrival and its handler. Returns with the
 * response sent, or handed to the handler. */
static void dispatch(struct ctx *c)
{
	h2o_req_t *req = c->req;
	/* Routes match the path as sent, not h2o's decoded one: "%2F" is not
	 * "/" (RFC 3986 §6.2.2.2), and "/../" does not climb to another route. */
	const char *path = req->path.base;
	size_t path_len = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
	int match = router_match(routes, NROUTES, req->method.base, req->method.len, path, path_len,
				 &c->m);
	unsigned flags = match == ROUTE_FOUND ? c->m.route->flags : 0;
	if (match == ROUTE_FOUND)
		c->route = (size_t)(c->m.route - routes);
	/* Load shedding: a fast 503 beats a slow queue. Operations endpoints
	 * always answer, so a load balancer can still see the state. */
	if (!(flags & API_UNLIMITED) &&
	    metrics_inflight(c->app->metrics) > c->app->cfg->max_inflight) {
		api_send_unavailable(req);
		return;
	}
	/* Every request pays its budget before any other answer, errors
	 * included: a valid token makes its user pay, else the client IP,
	 * so neither guessing tokens nor probing paths is free. */
	bool authed = auth_resolve(c);
	/* ?access_token= only stands in for a missing header, never for a
	 * header that failed. */
	h2o_iovec_t header;
	if (!authed && (flags & API_QUERY_TOKEN) && !http_header_get(req, "authorization", &header))
		authed = auth_resolve_query(c);
	if (flags & API_UNLIMITED)
		ratelimit_show(c);
	else if (!ratelimit_admit(c, match == ROUTE_FOUND ? API_BUDGET_OF(flags) : BUDGET_COUNT))
		return;
	if (http_header_bytes(req) > c->app->cfg->max_header_bytes) {
		http_send_error(req, 431, "headers_too_large", "request header fields are too large");
		return;
	}
	if (match == ROUTE_NOT_FOUND) {
		http_send_error(req, 404, "not_found", "no such endpoint");
		return;
	}
	if (match == ROUTE_BAD_METHOD) {
		allow_header(req, path, path_len);
		http_send_error(req, 405, "method_not_allowed", "method not allowed here");
		return;
	}
	if ((flags & API_AUTH) && !authed) {
		http_header_add(req, "www-authenticate", "Bearer", 6);
		http_send_error(req, 401, "unauthorized", "a valid bearer token is required");
		return;
	}
	if ((flags & API_IDEMPOTENT) && !idempotency_begin(c))
		return;
	((api_handler)c->m.route->handler)(c);
}

void api_handle(void *thread_data, h2o_req_t *req)
{
	struct app_thread *t = thread_data;
	struct ctx *c = h2o_mem_alloc_pool(&req->pool, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->app = t->app;
	c->db = t->db;
	c->t0_ns = time_mono_ns();
	c->route = NROUTES;
	metrics_inflight_enter(c->app->metrics);
	request_id(c);
	ratelimit_client_ip(req, c->app->cfg->trust_proxy, c->client_ip);
	dispatch(c);
	if (!c->async)
		api_request_done(c->app, c);
}

void api_request_done(struct app *app, struct ctx *c)
{
	metrics_inflight_leave(app->metrics);
	if (!c)
		return;
	h2o_req_t *req = c->req;
	uint64_t ns = time_mono_ns() - c->t0_ns;
	metrics_request(app->metrics, c->route, req->res.status, ns);
	struct access_entry e = {
		.request_id = c->request_id.base,
		.request_id_len = c->request_id.len,
		.method = req->method.base,
		.method_len = req->method.len,
		.route = c->route < NROUTES ? routes[c->route].pattern : "unmatched",
		.status = req->res.status,
		.bytes = req->res.content_length == SIZE_MAX ? 0 : req->res.content_length,
		.duration_us = ns / 1000,
		.user_id = c->user_id,
		.client_ip = c->client_ip,
	};
	if (e.status >= app->cfg->access_log_min_status)
		accesslog_write(app->access, &e);
}
