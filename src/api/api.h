/*
 * api — chirp's HTTP API, version 1 (docs/api.md): the route table, the
 * per-request context every handler receives, and the helpers all handlers
 * share.
 *
 * A handler parses and validates all of its input first and answers any
 * problem with a JSON error; then it calls one service function (core/,
 * timeline/, search/, media/, live/) and renders the result. Handlers never
 * call a port themselves. Reads are answered on the event loop from the
 * thread's store reader; writes go through the write service
 * (core/write.h, api/write.h) and are answered once durable.
 * docs/architecture.md has the whole request path.
 */
#ifndef CHIRP_API_API_H
#define CHIRP_API_API_H

#include <h2o.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "core/model.h"
#include "gateway/accesslog.h"
#include "gateway/limits.h"
#include "gateway/metrics.h"
#include "gateway/ratelimit.h"
#include "http/router.h"
#include "media/media.h" /* struct media_error */
#include "search/search.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "util/workpool.h"

struct writes;
struct accounts;
struct tweets;
struct graph;
struct health;
struct search_service;
struct notifications;

/* Shared by every thread; read-only after start. */
struct app {
	const struct chirp_config *cfg;
	struct store *store;
	struct writes *writes;     /* the write path (core/write.h) */
	struct accounts *accounts; /* sign-up, log-in, profiles (core/accounts.h) */
	struct session_cache *sessions; /* NULL, or the tokens' sessions (core/session_cache.h) */
	struct tweets *tweets;     /* post, read, delete (core/tweets.h) */
	struct graph *graph;       /* follows, blocks, mutes (core/graph.h) */
	struct notifications *notifications; /* core/notifications.h */
	struct health *health;     /* readiness (core/health.h) */
	struct feed *feed;        /* timelines, fanout, tweet cache */
	struct search_service *search_service; /* search queries off the event loops */
	struct workpool *readers;   /* store reads, when they may not run on a loop */
	struct workpool *cold;      /* else the reads that would hold a loop (api_read) */
	struct ratelimit *ratelimit; /* budgets over the limits port */
	struct metrics *metrics;  /* per-route requests and latency */
	struct accesslog *access; /* NULL: no access log */
	struct live_service *streams; /* live feed sessions (live/service.h) */
	struct media_service *media; /* uploads, processing, blobs (media/media.h) */
	struct redis *redis;         /* cluster mode's shared state; NULL: none (redis/redis.h) */
	char metrics_token[128];     /* the bearer token of GET /metrics */
	uint8_t oauth_key[32];       /* signs the Mastodon façade's OAuth (api/mastodon_oauth.c) */
};

/* One per event-loop thread. */
struct app_thread {
	struct app *app;
	struct store_reader *db; /* NULL when reads go to app->readers */
	struct live_loop *streams; /* this loop's live feed sessions */
	struct sse_frame *sse_frame; /* its latest tweet event as SSE (api/stream.c) */
};

/* One per request, in the request's memory pool. */
struct ctx {
	h2o_req_t *req;
	struct app *app;
	struct store_reader *db;
	struct route_match m;
	uint64_t user_id;                 /* the authenticated user; 0 if none */
	uint8_t token_hash[TOKEN_HASH_LEN]; /* of the bearer token, when user_id */
	uint64_t session_id;              /* the token's session, when user_id */
	bool has_relations;               /* the session's struct session.has_relations */
	struct store_idem idem;           /* Idempotency-Key, when idem.on */
	char link_query[64];              /* appended to Link URLs ("&types=…"); "" */

	/* For the access log and metrics (gateway/). */
	uint64_t t0_ns;                   /* when the request reached chirp */
	size_t route;                     /* index in the route table; nroutes: none */
	h2o_iovec_t request_id;
	char client_ip[CLIENT_IP_MAX];
	bool async;                       /* answered later (api_write, api_read) */

	/* The Mastodon façade (api/mastodon*.c). */
	unsigned scopes;                  /* the token's OAuth scopes (API_SCOPE_*) */
	bool app_token;                   /* an OAuth app's own token (no user) */
	json_t *body;                     /* the body, already parsed from a form */
	/* Rewrites a successful (2xx) answer of a shared handler into the
	 * façade's shape and sends it; NULL: the native answer is sent. */
	void (*answer)(struct ctx *c, int status, const struct strbuf *body);
	bool answer_errors;               /* c->answer sends the errors too */
	void *facade;                     /* the façade's own state, in the pool */
	const char *link_base;            /* Link URLs absolute from this ("http://host") */
	/* A façade's framing of a live feed's tweet (api/stream.c): appends
	 * the whole SSE event to `out`, with `event_id` as its `id:` (where a
	 * reconnect resumes: live_sink's `resume`); NULL: chirp's own "tweet"
	 * event. */
	void (*stream_tweet)(struct ctx *c, struct strbuf *out, uint64_t event_id,
			     const char *json, size_t len);
	/* Its framing of a notification; NULL: chirp's own. */
	void (*stream_notification)(struct ctx *c, struct strbuf *out, const char *json,
				    size_t len);
	/* A stream of the public channel (stream_tag NULL) or of a folded tag
	 * instead of the reader's home feed (api/stream.c); needs stream_tweet. */
	bool stream_watch;
	const char *stream_tag;
};

/*
 * The reads of a request. A handler (or the dispatcher, for the token and
 * the Idempotency-Key record) puts what it needs to read in a struct that
 * begins with struct api_read, made by api_read_new, and calls api_read.
 * run() does the reads; it may block, so it touches neither the request
 * nor the ctx, only its own struct. finish() renders and sends on the
 * request's loop. When the store's reads may run on a loop (SQLite), both
 * run at once, in the handler's own call; otherwise run() goes to a reader
 * thread and finish() comes back to the loop later (or not at all if the
 * client left; release() runs either way).
 *
 * On a loop, run() is told it may not block (may_block false). A read
 * that meets slow work there (a timeline to rebuild from the store) sets
 * `blocked` and returns; the read then moves to a worker of app->cold
 * and run() is called again there, from the start, with may_block true,
 * while the loop serves other requests. So run() must leave its struct
 * ready to run again when it sets `blocked`.
 */
struct api_read {
	void (*run)(struct api_read *r, struct store_reader *db);
	void (*finish)(struct api_read *r, struct ctx *c);
	void (*release)(struct api_read *r); /* may be NULL */
	bool may_block; /* for run(): false on a loop */
	bool blocked;   /* by run(): do it again where it may block */
	/* the machinery's own */
	size_t size;
	struct work work;
	struct http_async *async;
	struct ctx *ctx;  /* in the request's pool: only while the request lives */
	struct app *app;
	bool heap;
};

/* A zeroed struct of `size` bytes beginning with struct api_read: from the
 * request's pool when reads run inline, else from the heap. */
void *api_read_new(struct ctx *c, size_t size);

/* Runs r->run then r->finish, as described above. */
void api_read(struct ctx *c, struct api_read *r);


/* Records a request once its response is sent: metrics, access log. With
 * c == NULL (the client left before an asynchronous answer), only the
 * in-flight count drops. */
void api_request_done(struct app *app, struct ctx *c);

/* The route table, for metrics: how many, and route i's template and method. */
size_t api_route_count(void);
void api_route_name(size_t i, const char **tmpl, const char **method);

/* Route flags. */
#define API_AUTH 1u       /* needs a valid bearer token */
#define API_IDEMPOTENT 2u /* honours Idempotency-Key */
#define API_UNLIMITED 4u  /* operations endpoints: no rate limit, not shed */
#define API_QUERY_TOKEN 8u /* the token may come as ?access_token= (EventSource) */
#define API_PRIVATE 16u    /* answers no cache may keep, token or not (log-in, metrics) */
#define API_OWN_CACHING 32u /* signed or static: the handler says how to cache, token or not */
/* A façade's route (c->answer): an Idempotency-Key replay runs the handler,
 * whose write replays the record in the store, so the façade renders the
 * replay as it rendered the original; the gateway does not answer it. */
#define API_FACADE 64u
/* OAuth scopes a route needs of a Mastodon token (any one of them when
 * several are set); a native token holds them all. An auth route without
 * scopes of its own needs read, write and follow. */
#define API_SCOPE_READ 0x100u
#define API_SCOPE_WRITE 0x200u
#define API_SCOPE_FOLLOW 0x400u
#define API_SCOPE_PUSH 0x800u
#define API_SCOPES_ALL 0xf00u
/* The route's own rate-limit budget, besides "requests" for all. */
#define API_BUDGET(b) (((unsigned)(b) + 1) << 16)
#define API_BUDGET_OF(flags) ((flags) >> 16 ? (enum budget)(((flags) >> 16) - 1) : BUDGET_COUNT)

typedef void (*api_handler)(struct ctx *c);

struct http_loop;

/* The http_app hooks: per-thread state and the request entry point. */
void *api_thread_init(void *app, struct http_loop *loop);
void api_thread_drain(void *thread_data);
void api_thread_deinit(void *thread_data);
void api_handle(void *thread_data, h2o_req_t *req);

/* ---- helpers (api/common.c); each sends the error itself and returns
 * false when the input is bad ---- */

/* Path parameter i as an id; 400 invalid_id if it is not one. */
bool api_param_id(struct ctx *c, unsigned i, uint64_t *out);

/* limit, max_id, since_id and min_id from the query string. */
bool api_page(struct ctx *c, struct store_page *page);

/* Sets the Link header for a page whose ids run from `newest` to `oldest`. */
void api_link(struct ctx *c, const struct store_page *page, size_t n, uint64_t newest,
	      uint64_t oldest);

/* The JSON object in the request body. With `required` false, a request
 * without a body yields an empty object. Caller json_decref()s. */
json_t *api_body(struct ctx *c, bool required);

/* Reads string field `name` of `obj`. Missing: *s = NULL, true, unless
 * `required` (then 422 with `missing_code`). Not a string: 400 wrong_type. */
bool api_string(struct ctx *c, json_t *obj, const char *name, bool required,
		const char *missing_code, const char **s, size_t *len);

/* Reads id field `name` of `obj`: an id as a string, or null (*id = 0).
 * *present says whether the field was there at all. Not a string or null:
 * 400 wrong_type; a string that is no id: 422 with `invalid_code`. */
bool api_nullable_id(struct ctx *c, json_t *obj, const char *name, const char *invalid_code,
		     bool *present, uint64_t *id);

/* Answers a store failure that is not the handler's to explain. */
void api_store_error(struct ctx *c, int rc);

/* A log-in (api/sessions.c): the failed-log-in budget of the name from
 * this address, then the accounts service; answers 201 {token, user}
 * (through c->answer, when set) or 401 invalid_credentials. The name is a
 * handle ("alice", "@alice"), or an e-mail address ("alice@example.org":
 * the account with that address, or else the handle before the '@', as
 * apps that ask for an e-mail send a handle). */
void api_login(struct ctx *c, const char *name, size_t len, const char *password, size_t plen);

/* Sends a JSON body built by the caller. */
void api_send(struct ctx *c, int status, const struct strbuf *body);
/* The same, handing the body's bytes to the response (no copy) when it
 * goes to the HTTP client; `body` is then empty. */
void api_send_take(struct ctx *c, int status, struct strbuf *body);

/* ---- handlers, one file per resource ---- */
void api_users_create(struct ctx *c);
void api_users_get(struct ctx *c);
void api_users_by_handle(struct ctx *c);
void api_sessions_create(struct ctx *c);
void api_sessions_delete(struct ctx *c);
void api_sessions_list(struct ctx *c);
void api_sessions_delete_one(struct ctx *c);
void api_sessions_delete_all(struct ctx *c);
void api_users_password(struct ctx *c);
void api_tweets_create(struct ctx *c);
void api_tweets_get(struct ctx *c);
void api_tweets_delete(struct ctx *c);
void api_user_tweets(struct ctx *c);
/* conversations, likes and profiles (issue 15) */
void api_tweets_context(struct ctx *c);
void api_likes_create(struct ctx *c);
void api_likes_delete(struct ctx *c);
void api_liked_by(struct ctx *c);
void api_retweeted_by(struct ctx *c);
void api_retweets_create(struct ctx *c);
void api_retweets_delete(struct ctx *c);
void api_hashtag_tweets(struct ctx *c);
void api_public_tweets(struct ctx *c);
void api_trends(struct ctx *c);
void api_users_update_me(struct ctx *c);
void api_users_me(struct ctx *c);
void api_follows_create(struct ctx *c);
void api_follows_delete(struct ctx *c);
void api_followers(struct ctx *c);
void api_blocks_create(struct ctx *c);
void api_blocks_delete(struct ctx *c);
void api_mutes_create(struct ctx *c);
void api_mutes_delete(struct ctx *c);
void api_blocks_list(struct ctx *c);
void api_mutes_list(struct ctx *c);
void api_notifications_list(struct ctx *c);
void api_notifications_unread(struct ctx *c);
void api_notifications_read(struct ctx *c);
void api_notifications_get(struct ctx *c);
void api_notifications_dismiss(struct ctx *c);
void api_notifications_clear(struct ctx *c);
void api_following(struct ctx *c);
void api_feed(struct ctx *c);
void api_feed_stream(struct ctx *c);
void api_search_tweets(struct ctx *c);
void api_search_users(struct ctx *c);
/* media (api/media.c, api/blobs.c; the logic is the media service's) */
void api_media_create(struct ctx *c);
void api_media_complete(struct ctx *c);
void api_media_get(struct ctx *c);
void api_media_describe(struct ctx *c);
void api_blob_put(struct ctx *c);
/* The server's own PUT, for an upload this request created (the Mastodon
 * façade's one-request upload): the request's body becomes the single
 * part of upload `media_id`, of `size` bytes at most, in whichever blob
 * store, with the checks of api_blob_put past the signature. */
void api_blob_put_own(struct ctx *c, uint64_t media_id, uint64_t size);
void api_blob_get(struct ctx *c);
/* Sends a refusal of the media service (struct media_error). */
void api_media_error(struct ctx *c, const struct media_error *err);
void api_healthz(struct ctx *c);
void api_readyz(struct ctx *c);
void api_metrics(struct ctx *c);
/* The web client (api/web.c): its page, for every client-side route, and
 * its files under /assets/{version}/{name}. */
void api_web_page(struct ctx *c);
void api_web_asset(struct ctx *c);

#endif
