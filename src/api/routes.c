/*
 * routes — the route table of API version 1 and the dispatcher in front of
 * every handler: limits on headers, routing, authentication and
 * Idempotency-Key, in that order, then the handler.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "gateway/auth.h"
#include "gateway/idempotency.h"
#include "http/respond.h"
#include "util/log.h"

#define ROUTE(m, p, h, f) {m, p, (void (*)(void))(h), f}

static const struct route routes[] = {
	ROUTE("POST", "/v1/users", api_users_create, API_IDEMPOTENT),
	ROUTE("GET", "/v1/users/by-handle/{handle}", api_users_by_handle, 0),
	ROUTE("GET", "/v1/users/{id}", api_users_get, 0),
	ROUTE("GET", "/v1/users/{id}/tweets", api_user_tweets, 0),
	ROUTE("POST", "/v1/users/{id}/follows", api_follows_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("DELETE", "/v1/users/{id}/follows", api_follows_delete, API_AUTH),
	ROUTE("GET", "/v1/users/{id}/followers", api_followers, 0),
	ROUTE("GET", "/v1/users/{id}/following", api_following, 0),
	/* Log-in does not honour Idempotency-Key: a replay would have to keep
	 * the token in clear, and tokens are stored only as hashes. */
	ROUTE("POST", "/v1/sessions", api_sessions_create, 0),
	ROUTE("DELETE", "/v1/sessions/current", api_sessions_delete, API_AUTH),
	ROUTE("POST", "/v1/tweets", api_tweets_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("GET", "/v1/tweets/{id}", api_tweets_get, 0),
	ROUTE("DELETE", "/v1/tweets/{id}", api_tweets_delete, API_AUTH),
	ROUTE("GET", "/v1/feed", api_feed, API_AUTH),
	ROUTE("GET", "/healthz", api_healthz, 0),
	ROUTE("GET", "/readyz", api_readyz, 0),
	ROUTE("GET", "/metrics", api_metrics, 0),
};

void *api_thread_init(void *app, struct http_loop *loop)
{
	(void)loop;
	struct app_thread *t = xcalloc(1, sizeof(*t));
	t->app = app;
	t->db = t->app->store->ops->reader_new(t->app->store);
	return t;
}

void api_thread_deinit(void *thread_data)
{
	struct app_thread *t = thread_data;
	t->db->ops->reader_free(t->db);
	free(t);
}

static void allow_header(h2o_req_t *req, const char *path, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	struct route_match m;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
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

void api_handle(void *thread_data, h2o_req_t *req)
{
	struct app_thread *t = thread_data;
	struct ctx *c = h2o_mem_alloc_pool(&req->pool, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->app = t->app;
	c->db = t->db;

	if (http_header_bytes(req) > c->app->cfg->max_header_bytes) {
		http_send_error(req, 431, "headers_too_large", "request header fields are too large");
		return;
	}
	const char *path = req->path_normalized.base;
	size_t path_len = req->path_normalized.len;
	switch (router_match(routes, sizeof(routes) / sizeof(routes[0]), req->method.base,
			     req->method.len, path, path_len, &c->m)) {
	case ROUTE_NOT_FOUND:
		http_send_error(req, 404, "not_found", "no such endpoint");
		return;
	case ROUTE_BAD_METHOD:
		allow_header(req, path, path_len);
		http_send_error(req, 405, "method_not_allowed", "method not allowed here");
		return;
	}
	unsigned flags = c->m.route->flags;
	if ((flags & API_AUTH) && !auth_resolve(c)) {
		http_header_add(req, "www-authenticate", "Bearer", 6);
		http_send_error(req, 401, "unauthorized", "a valid bearer token is required");
		return;
	}
	if ((flags & API_IDEMPOTENT) && !idempotency_begin(c))
		return;
	((api_handler)c->m.route->handler)(c);
}
