/*
 * routes — the route table of API version 1 and the dispatcher in front of
 * every handler: limits on headers, routing, authentication and
 * Idempotency-Key, in that order, then the handler.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/mastodon.h"
#include "api/mastodon_streaming.h"
#include "api/stream.h"
#include "core/accounts.h"
#include "gateway/auth.h"
#include "gateway/idempotency.h"
#include "http/respond.h"
#include "util/log.h"
#include "util/timeutil.h"

#define ROUTE(m, p, h, f) {m, p, (void (*)(void))(h), f}

static const struct route routes[] = {
	/* private: the answer shows the new user's e-mail address */
	ROUTE("POST", "/v1/users", api_users_create,
	      API_PRIVATE | API_IDEMPOTENT | API_BUDGET(BUDGET_SIGNUP)),
	ROUTE("GET", "/v1/users/by-handle/{handle}", api_users_by_handle, 0),
	ROUTE("GET", "/v1/users/me", api_users_me, API_AUTH), /* before {id} */
	ROUTE("GET", "/v1/users/{id}", api_users_get, 0),
	ROUTE("GET", "/v1/users/{id}/tweets", api_user_tweets, 0),
	ROUTE("POST", "/v1/users/{id}/follows", api_follows_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("DELETE", "/v1/users/{id}/follows", api_follows_delete, API_AUTH),
	ROUTE("GET", "/v1/users/{id}/followers", api_followers, 0),
	ROUTE("GET", "/v1/users/{id}/following", api_following, 0),
	/* Log-in does not honour Idempotency-Key: a replay would have to keep
	 * the token in clear, and tokens are stored only as hashes. */
	ROUTE("POST", "/v1/sessions", api_sessions_create, API_PRIVATE | API_BUDGET(BUDGET_LOGIN)),
	ROUTE("DELETE", "/v1/sessions/current", api_sessions_delete, API_AUTH),
	/* session management (issue 19); "current" above is matched first */
	ROUTE("GET", "/v1/sessions", api_sessions_list, API_AUTH),
	ROUTE("DELETE", "/v1/sessions", api_sessions_delete_all, API_AUTH),
	ROUTE("DELETE", "/v1/sessions/{id}", api_sessions_delete_one, API_AUTH),
	ROUTE("PUT", "/v1/users/me/password", api_users_password,
	      API_AUTH | API_BUDGET(BUDGET_LOGIN)),
	ROUTE("POST", "/v1/tweets", api_tweets_create,
	      API_AUTH | API_IDEMPOTENT | API_BUDGET(BUDGET_POST)),
	ROUTE("GET", "/v1/tweets/{id}", api_tweets_get, 0),
	ROUTE("DELETE", "/v1/tweets/{id}", api_tweets_delete, API_AUTH),
	/* conversations, likes and profiles (issue 15) */
	ROUTE("GET", "/v1/tweets/{id}/context", api_tweets_context, 0),
	ROUTE("POST", "/v1/tweets/{id}/likes", api_likes_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("DELETE", "/v1/tweets/{id}/likes", api_likes_delete, API_AUTH),
	ROUTE("GET", "/v1/tweets/{id}/liked_by", api_liked_by, 0),
	ROUTE("GET", "/v1/tweets/{id}/retweeted_by", api_retweeted_by, 0),
	ROUTE("POST", "/v1/tweets/{id}/retweets", api_retweets_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("DELETE", "/v1/tweets/{id}/retweets", api_retweets_delete, API_AUTH),
	ROUTE("GET", "/v1/hashtags/{tag}/tweets", api_hashtag_tweets, 0),
	ROUTE("GET", "/v1/trends", api_trends, 0),
	ROUTE("PATCH", "/v1/users/me", api_users_update_me, API_AUTH),
	/* notifications, blocks and mutes (issue 15): always the token's user's */
	ROUTE("GET", "/v1/notifications", api_notifications_list, API_AUTH),
	ROUTE("GET", "/v1/notifications/unread_count", api_notifications_unread, API_AUTH),
	ROUTE("POST", "/v1/notifications/read", api_notifications_read,
	      API_AUTH | API_IDEMPOTENT),
	ROUTE("GET", "/v1/notifications/{id}", api_notifications_get, API_AUTH),
	ROUTE("DELETE", "/v1/notifications/{id}", api_notifications_dismiss, API_AUTH),
	ROUTE("DELETE", "/v1/notifications", api_notifications_clear, API_AUTH),
	ROUTE("POST", "/v1/users/{id}/blocks", api_blocks_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("DELETE", "/v1/users/{id}/blocks", api_blocks_delete, API_AUTH),
	ROUTE("POST", "/v1/users/{id}/mutes", api_mutes_create, API_AUTH | API_IDEMPOTENT),
	ROUTE("DELETE", "/v1/users/{id}/mutes", api_mutes_delete, API_AUTH),
	ROUTE("GET", "/v1/blocks", api_blocks_list, API_AUTH),
	ROUTE("GET", "/v1/mutes", api_mutes_list, API_AUTH),
	ROUTE("GET", "/v1/feed", api_feed, API_AUTH),
	ROUTE("GET", "/v1/feed/stream", api_feed_stream, API_AUTH | API_QUERY_TOKEN),
	ROUTE("GET", "/v1/search/tweets", api_search_tweets, 0),
	ROUTE("GET", "/v1/search/users", api_search_users, 0),
	ROUTE("POST", "/v1/media", api_media_create,
	      API_AUTH | API_IDEMPOTENT | API_BUDGET(BUDGET_MEDIA)),
	ROUTE("GET", "/v1/media/{id}", api_media_get, API_AUTH),
	ROUTE("PATCH", "/v1/media/{id}", api_media_describe, API_AUTH),
	ROUTE("POST", "/v1/media/{id}/complete", api_media_complete,
	      API_AUTH | API_BUDGET(BUDGET_MEDIA)),
	/* Presigned: the URL's signature is the authorisation (api/blobs.c). */
	ROUTE("PUT", "/blobs/{key}", api_blob_put, API_OWN_CACHING),
	ROUTE("GET", "/blobs/{key}", api_blob_get, API_OWN_CACHING),
	/* The Mastodon client API (api/mastodon*.c, docs/mastodon.md). */
	ROUTE("GET", "/api/v1/instance", mastodon_instance_v1, 0),
	ROUTE("GET", "/api/v2/instance", mastodon_instance_v2, 0),
	ROUTE("GET", "/.well-known/nodeinfo", mastodon_nodeinfo_wellknown, 0),
	ROUTE("GET", "/nodeinfo/2.0", mastodon_nodeinfo, 0),
	ROUTE("POST", "/api/v1/apps", mastodon_apps_create, API_PRIVATE | API_BUDGET(BUDGET_SIGNUP)),
	ROUTE("GET", "/api/v1/apps/verify_credentials", mastodon_apps_verify, API_PRIVATE),
	ROUTE("POST", "/oauth/token", mastodon_oauth_token, API_PRIVATE | API_BUDGET(BUDGET_LOGIN)),
	ROUTE("GET", "/oauth/authorize", mastodon_oauth_authorize_page, API_PRIVATE),
	ROUTE("POST", "/oauth/authorize", mastodon_oauth_authorize,
	      API_PRIVATE | API_BUDGET(BUDGET_LOGIN)),
	ROUTE("POST", "/oauth/revoke", mastodon_oauth_revoke, API_PRIVATE),
	ROUTE("POST", "/api/v1/accounts", mastodon_accounts_create,
	      API_PRIVATE | API_BUDGET(BUDGET_SIGNUP)),
	ROUTE("GET", "/api/v1/accounts/verify_credentials", mastodon_verify_credentials,
	      API_AUTH | API_SCOPE_READ),
	ROUTE("PATCH", "/api/v1/accounts/update_credentials", mastodon_update_credentials,
	      API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/accounts/lookup", mastodon_account_lookup, API_SCOPE_READ),
	ROUTE("GET", "/api/v1/accounts/relationships", mastodon_relationships,
	      API_AUTH | API_SCOPE_READ | API_SCOPE_FOLLOW),
	ROUTE("GET", "/api/v1/accounts/{id}", mastodon_account_get, API_SCOPE_READ),
	ROUTE("GET", "/api/v1/accounts/{id}/statuses", mastodon_account_statuses, API_SCOPE_READ),
	ROUTE("GET", "/api/v1/accounts/{id}/followers", mastodon_account_followers, API_SCOPE_READ),
	ROUTE("GET", "/api/v1/accounts/{id}/following", mastodon_account_following, API_SCOPE_READ),
	ROUTE("POST", "/api/v1/accounts/{id}/follow", mastodon_account_follow,
	      API_AUTH | API_IDEMPOTENT | API_FACADE | API_SCOPE_FOLLOW | API_SCOPE_WRITE),
	ROUTE("POST", "/api/v1/accounts/{id}/unfollow", mastodon_account_unfollow,
	      API_AUTH | API_SCOPE_FOLLOW | API_SCOPE_WRITE),
	ROUTE("POST", "/api/v1/accounts/{id}/block", mastodon_account_block,
	      API_AUTH | API_IDEMPOTENT | API_FACADE | API_SCOPE_FOLLOW | API_SCOPE_WRITE),
	ROUTE("POST", "/api/v1/accounts/{id}/unblock", mastodon_account_unblock,
	      API_AUTH | API_SCOPE_FOLLOW | API_SCOPE_WRITE),
	ROUTE("POST", "/api/v1/accounts/{id}/mute", mastodon_account_mute,
	      API_AUTH | API_IDEMPOTENT | API_FACADE | API_SCOPE_FOLLOW | API_SCOPE_WRITE),
	ROUTE("POST", "/api/v1/accounts/{id}/unmute", mastodon_account_unmute,
	      API_AUTH | API_SCOPE_FOLLOW | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/blocks", mastodon_blocks, API_AUTH | API_SCOPE_READ | API_SCOPE_FOLLOW),
	ROUTE("GET", "/api/v1/mutes", mastodon_mutes, API_AUTH | API_SCOPE_READ | API_SCOPE_FOLLOW),
	ROUTE("POST", "/api/v1/statuses", mastodon_statuses_create,
	      API_AUTH | API_IDEMPOTENT | API_FACADE | API_SCOPE_WRITE | API_BUDGET(BUDGET_POST)),
	ROUTE("GET", "/api/v1/statuses/{id}", mastodon_status_get, API_SCOPE_READ),
	ROUTE("DELETE", "/api/v1/statuses/{id}", mastodon_status_delete, API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/statuses/{id}/context", mastodon_status_context, API_SCOPE_READ),
	ROUTE("POST", "/api/v1/statuses/{id}/favourite", mastodon_status_favourite,
	      API_AUTH | API_IDEMPOTENT | API_FACADE | API_SCOPE_WRITE),
	ROUTE("POST", "/api/v1/statuses/{id}/unfavourite", mastodon_status_unfavourite,
	      API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/statuses/{id}/favourited_by", mastodon_status_favourited_by,
	      API_SCOPE_READ),
	ROUTE("GET", "/api/v1/statuses/{id}/reblogged_by", mastodon_status_reblogged_by,
	      API_SCOPE_READ),
	ROUTE("POST", "/api/v1/statuses/{id}/reblog", mastodon_status_reblog,
	      API_AUTH | API_IDEMPOTENT | API_FACADE | API_SCOPE_WRITE),
	ROUTE("POST", "/api/v1/statuses/{id}/unreblog", mastodon_status_unreblog,
	      API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/timelines/home", mastodon_timeline_home, API_AUTH | API_SCOPE_READ),
	ROUTE("GET", "/api/v1/notifications", mastodon_notifications, API_AUTH | API_SCOPE_READ),
	ROUTE("POST", "/api/v1/notifications/clear", mastodon_notifications_clear,
	      API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/notifications/{id}", mastodon_notification_get,
	      API_AUTH | API_SCOPE_READ),
	ROUTE("POST", "/api/v1/notifications/{id}/dismiss", mastodon_notification_dismiss,
	      API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/timelines/tag/{tag}", mastodon_timeline_tag, API_SCOPE_READ),
	ROUTE("GET", "/api/v1/timelines/public", mastodon_timeline_public, API_SCOPE_READ),
	ROUTE("GET", "/api/v2/search", mastodon_search, API_SCOPE_READ),
	ROUTE("POST", "/api/v1/media", mastodon_media_create_v1,
	      API_AUTH | API_SCOPE_WRITE | API_BUDGET(BUDGET_MEDIA)),
	ROUTE("POST", "/api/v2/media", mastodon_media_create_v2,
	      API_AUTH | API_SCOPE_WRITE | API_BUDGET(BUDGET_MEDIA)),
	ROUTE("GET", "/api/v1/media/{id}", mastodon_media_get, API_AUTH | API_SCOPE_READ | API_SCOPE_WRITE),
	ROUTE("PUT", "/api/v1/media/{id}", mastodon_media_update, API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/markers", mastodon_markers_get, API_AUTH | API_SCOPE_READ),
	ROUTE("POST", "/api/v1/markers", mastodon_markers_set, API_AUTH | API_SCOPE_WRITE),
	ROUTE("GET", "/api/v1/streaming/health", mastodon_streaming_health, 0),
	ROUTE("GET", "/api/v1/streaming/user", mastodon_streaming_user,
	      API_AUTH | API_QUERY_TOKEN | API_SCOPE_READ),
	ROUTE("GET", "/api/v1/streaming", mastodon_streaming_ws,
	      API_AUTH | API_QUERY_TOKEN | API_SCOPE_READ),
	ROUTE("GET", "/api/v1/streaming/public", mastodon_streaming_public,
	      API_AUTH | API_QUERY_TOKEN | API_SCOPE_READ),
	ROUTE("GET", "/api/v1/streaming/public/local", mastodon_streaming_public,
	      API_AUTH | API_QUERY_TOKEN | API_SCOPE_READ),
	ROUTE("GET", "/api/v1/streaming/hashtag", mastodon_streaming_hashtag,
	      API_AUTH | API_QUERY_TOKEN | API_SCOPE_READ),
	ROUTE("GET", "/api/v1/streaming/hashtag/local", mastodon_streaming_hashtag,
	      API_AUTH | API_QUERY_TOKEN | API_SCOPE_READ),
	ROUTE("GET", "/avatars/original/missing.png", mastodon_missing_image, API_OWN_CACHING),
	ROUTE("GET", "/headers/original/missing.png", mastodon_missing_image, API_OWN_CACHING),
	ROUTE("GET", "/healthz", api_healthz, API_UNLIMITED),
	ROUTE("GET", "/readyz", api_readyz, API_UNLIMITED),
	ROUTE("GET", "/metrics", api_metrics, API_UNLIMITED | API_PRIVATE),
	/* The web client (api/web.c): its pages, then its files. */
	ROUTE("GET", "/", api_web_page, 0),
	ROUTE("GET", "/@{handle}", api_web_page, 0), /* matched by match_profile */
	ROUTE("GET", "/tweets/{id}", api_web_page, 0),
	ROUTE("GET", "/search", api_web_page, 0),
	ROUTE("GET", "/hashtags/{tag}", api_web_page, 0),
	ROUTE("GET", "/notifications", api_web_page, 0),
	ROUTE("GET", "/assets/{version}/{name}", api_web_asset, API_OWN_CACHING),
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
	/* With a reader pool nothing reads on a loop: a loop has no reader,
	 * so a read that strayed onto one would fail loudly, not block it. */
	t->db = t->app->readers ? NULL : store_reader_thread_init(t->app->store);
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
	api_stream_thread_deinit(t);
	if (t->db)
		store_reader_thread_deinit(t->db);
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
		if (strcmp(routes[i].method, "GET") == 0)
			strbuf_append_str(&sb, ", HEAD");
	}
	http_header_add(req, "allow", sb.data ? sb.data : "", sb.len);
	strbuf_deinit(&sb);
}

/* 64 bits for a request id that chirp makes. randombytes_buf is a
 * getrandom system call each time (about 1% of a feed read's CPU in a
 * profile); an id needs to be unique, not secret, so each thread seeds a
 * splitmix64 sequence once and steps it. */
static uint64_t request_id_bits(void)
{
	static _Thread_local uint64_t state;
	static _Thread_local bool seeded;
	if (!seeded) {
		randombytes_buf(&state, sizeof(state));
		seeded = true;
	}
	uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
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
		uint64_t bits = request_id_bits();
		unsigned char raw[8];
		memcpy(raw, &bits, sizeof(raw));
		char *hex = h2o_mem_alloc_pool(&c->req->pool, 2 * sizeof(raw) + 1);
		sodium_bin2hex(hex, 2 * sizeof(raw) + 1, raw, sizeof(raw));
		v = h2o_iovec_init(hex, 2 * sizeof(raw));
	}
	c->request_id = v;
	http_header_add(c->req, "x-request-id", v.base, v.len);
}

/* What the gateway reads before the handler runs: the user of the bearer
 * token, and the record of an Idempotency-Key. Copied out of the request
 * first, since the reads may run on another thread. */
struct gate {
	struct api_read r;
	int match;
	unsigned flags;
	size_t token_len;                 /* 0: no token, or none that can be valid */
	char token[64];                   /* tokens are 43 characters */
	int idem;                         /* idempotency_parse's answer */
	struct ratelimit *ratelimit;
	char client_ip[CLIENT_IP_MAX];
	/* results */
	struct ratelimit_verdict verdict; /* the budgets, charged beside the reads */
	bool authed;
	bool store_failed; /* the token could not be checked */
	struct accounts *accounts;
	struct session session;
	uint64_t user_id;
	uint8_t token_hash[TOKEN_HASH_LEN];
	struct store_idem key;
	int idem_rc;
	struct store_idem_record record;
};

static void gate_run(struct api_read *r, struct store_reader *db)
{
	struct gate *g = (struct gate *)r;
	int rc = g->token_len ? accounts_authenticate(g->accounts, db, g->token, g->token_len,
						      &g->session, g->token_hash)
			      : STORE_NOT_FOUND;
	g->authed = rc == STORE_OK;
	g->user_id = g->session.user_id;
	g->store_failed = rc != STORE_OK && rc != STORE_NOT_FOUND;
	if (!g->authed)
		g->user_id = 0;
	if (g->idem > 0) {
		g->key.scope = g->user_id;
		g->idem_rc = idempotency_lookup(db, &g->key, &g->record);
	}
	/* Every request pays its budget before any other answer, errors
	 * included: a valid token makes its user pay, else the client IP,
	 * so neither guessing tokens nor probing paths is free. Charged here,
	 * with the reads, since shared budgets (Redis) are a network call. */
	struct ratelimit_payer payer = {.user_id = g->user_id, .client_ip = g->client_ip};
	ratelimit_charge(g->ratelimit, &payer,
			 g->match == ROUTE_FOUND ? API_BUDGET_OF(g->flags) : BUDGET_COUNT,
			 g->flags & API_UNLIMITED, &g->verdict);
}

static void gate_release(struct api_read *r)
{
	strbuf_deinit(&((struct gate *)r)->record.body);
}

/* Whether a token's OAuth scopes reach a route: one of the route's own
 * scopes, or, for an auth route without any, all of read, write and
 * follow (a native token holds every scope). */
static bool scopes_allow(unsigned flags, unsigned scopes)
{
	unsigned need = flags & API_SCOPES_ALL;
	if (need)
		return (scopes & need) != 0;
	unsigned all = API_SCOPE_READ | API_SCOPE_WRITE | API_SCOPE_FOLLOW;
	return !(flags & API_AUTH) || (scopes & all) == all;
}

/* On the loop, with what the gateway read: budgets, then every refusal in
 * order, then the handler. */
static void gate_finish(struct api_read *r, struct ctx *c)
{
	struct gate *g = (struct gate *)r;
	h2o_req_t *req = c->req;
	unsigned flags = g->flags;
	c->user_id = g->user_id;
	c->session_id = g->authed ? g->session.id : 0;
	c->has_relations = g->authed && g->session.has_relations;
	memcpy(c->token_hash, g->token_hash, sizeof(c->token_hash));
	if (!ratelimit_apply(req, &g->verdict)) /* the budgets, charged in gate_run */
		return;
	if (http_header_bytes(req) > c->app->cfg->max_header_bytes) {
		http_send_error(req, 431, "headers_too_large", "request header fields are too large");
		return;
	}
	if (g->match == ROUTE_NOT_FOUND) {
		http_send_error(req, 404, "not_found", "no such endpoint");
		return;
	}
	if (g->match == ROUTE_BAD_METHOD) {
		size_t path_len = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
		allow_header(req, req->path.base, path_len);
		http_send_error(req, 405, "method_not_allowed", "method not allowed here");
		return;
	}
	if (g->store_failed) {
		/* Not a 401: the token may be good, and a client that hears
		 * 401 throws it away. */
		http_send_unavailable(req);
		return;
	}
	if ((flags & API_AUTH) && !g->authed) {
		http_header_add(req, "www-authenticate", "Bearer", 6);
		http_send_error(req, 401, "unauthorized", "a valid bearer token is required");
		return;
	}
	if (g->authed && !scopes_allow(flags, c->scopes)) {
		http_send_error(req, 403, "insufficient_scope",
				"This action is outside the authorized scopes");
		return;
	}
	if (g->idem < 0) {
		idempotency_refuse(req);
		return;
	}
	if (g->idem > 0) {
		bool facade_replay =
			(flags & API_FACADE) && g->idem_rc == STORE_OK &&
			memcmp(g->record.fingerprint, g->key.fingerprint, sizeof(g->key.fingerprint)) == 0;
		if (!facade_replay && !idempotency_check(req, &g->key, g->idem_rc, &g->record))
			return;
		c->idem = g->key;
	}
	((api_handler)c->m.route->handler)(c);
}

/* The web client's profile pages, /@alice: the router matches whole
 * segments only, so a GET (or HEAD, as for every GET route) of "/@" and
 * one segment is given the row "/@{handle}" here, with the handle as its
 * parameter. */
static int match_profile(h2o_req_t *req, const char *path, size_t len, struct route_match *m)
{
	if (len < 3 || path[1] != '@' || memchr(path + 1, '/', len - 1) ||
	    !(h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
	      h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))))
		return ROUTE_NOT_FOUND;
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].pattern, "/@{handle}") == 0) {
			m->route = &routes[i];
			m->params[0].s = path + 2;
			m->params[0].len = len - 2;
			m->nparams = 1;
			return ROUTE_FOUND;
		}
	}
	return ROUTE_NOT_FOUND;
}

/* Whether the request carries a token, valid or not, in either place a
 * token may come (the Authorization header, ?access_token=). */
static bool has_credentials(h2o_req_t *req)
{
	h2o_iovec_t v;
	return http_header_get(req, "authorization", &v) ||
	       http_query_get(req, "access_token", &v);
}

/* Everything between a request's arrival and its handler. Returns with the
 * response sent, or handed on (api_read, then the handler). */
static void dispatch(struct ctx *c)
{
	h2o_req_t *req = c->req;
	/* Routes match the path as sent, not h2o's decoded one: "%2F" is not
	 * "/" (RFC 3986 §6.2.2.2), and "/../" does not climb to another route. */
	const char *path = req->path.base;
	size_t path_len = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
	if (mastodon_cors(req, path, path_len))
		return;
	int match = router_match(routes, NROUTES, req->method.base, req->method.len, path, path_len,
				 &c->m);
	/* HEAD is GET without the body (RFC 9110 §9.3.2): the GET route runs,
	 * and h2o sends its headers only. */
	if (match == ROUTE_BAD_METHOD && h2o_memis(req->method.base, req->method.len,
						   H2O_STRLIT("HEAD")))
		match = router_match(routes, NROUTES, "GET", 3, path, path_len, &c->m);
	if (match == ROUTE_NOT_FOUND)
		match = match_profile(req, path, path_len, &c->m);
	unsigned flags = match == ROUTE_FOUND ? c->m.route->flags : 0;
	if (match == ROUTE_FOUND)
		c->route = (size_t)(c->m.route - routes);
	/* Cache-Control: no-store on every answer that may depend on who
	 * asks (anything sent with a token: the feed, the reader's `liked`,
	 * media status, sessions, errors included) or that carries a secret
	 * (log-in's token, the metrics). Set first, so a refusal on the way
	 * (503, 429, 401) has it too. Signed blobs and static assets are the
	 * same bytes for everyone: their handlers set their own caching. */
	if (!(flags & API_OWN_CACHING) &&
	    ((flags & (API_AUTH | API_PRIVATE)) || has_credentials(req)))
		http_header_add(req, "cache-control", "no-store", 8);
	/* Load shedding: a fast 503 beats a slow queue. Operations endpoints
	 * always answer, so a load balancer can still see the state. */
	if (!(flags & API_UNLIMITED) &&
	    metrics_inflight(c->app->metrics) > c->app->cfg->max_inflight) {
		http_send_unavailable(req);
		return;
	}
	struct gate *g = api_read_new(c, sizeof(*g));
	g->r.run = gate_run;
	g->r.finish = gate_finish;
	g->r.release = gate_release;
	g->match = match;
	g->flags = flags;
	g->ratelimit = c->app->ratelimit;
	memcpy(g->client_ip, c->client_ip, sizeof(g->client_ip));
	g->accounts = c->app->accounts;
	g->record.body = (struct strbuf)STRBUF_INIT;
	h2o_iovec_t token;
	c->scopes = API_SCOPES_ALL;
	if (auth_token(req, flags & API_QUERY_TOKEN, &token))
		mastodon_token_classify(c->app, &token, &c->scopes, &c->app_token);
	else
		token.len = 0;
	if (token.len && token.len <= sizeof(g->token)) {
		memcpy(g->token, token.base, token.len);
		g->token_len = token.len;
	}
	if (flags & API_IDEMPOTENT)
		g->idem = idempotency_parse(req, &g->key);
	/* On a loop, the gateway's reads and the handler's (the token's
	 * session, the page, the reader's likes) are one read transaction. */
	const struct store_ops *ops = c->db ? c->db->ops : NULL;
	if (ops && ops->read_begin)
		ops->read_begin(c->db);
	api_read(c, &g->r);
	if (ops && ops->read_end)
		ops->read_end(c->db);
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
