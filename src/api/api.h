/*
 * api — chirp's HTTP API (DESIGN §3): the route table, the per-request
 * context every handler receives, and the helpers all handlers share.
 *
 * A handler validates all of its input first and answers any problem with
 * a JSON error; only then does it act (STYLE.md §6). Reads are answered on
 * the event loop from the thread's store reader. Writes go through
 * api_write (api/write.c), which commits them on the store's writer thread
 * and answers once they are durable.
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
#include "media/media.h" /* the media service; write.c and metrics.c call it */
#include "search/search.h"
#include "store/store.h"
#include "timeline/feed.h"
#include "util/workpool.h"

/* Shared by every thread; read-only after start. */
struct app {
	const struct chirp_config *cfg;
	struct store *store;
	struct workpool *hashers; /* Argon2id off the event loops */
	struct feed *feed;        /* timelines, fanout, tweet cache */
	struct search *search;    /* the full-text index */
	struct workpool *searchers; /* search queries off the event loops */
	struct limits *limits;    /* rate-limit counters */
	struct metrics *metrics;  /* per-route requests and latency */
	struct accesslog *access; /* NULL: no access log */
	struct streams *streams;  /* live feed streams (api/stream.h) */
	struct media_service *media; /* uploads, processing, blobs (media/media.h) */
};

/* One per event-loop thread. */
struct app_thread {
	struct app *app;
	struct store_reader *db;
	struct stream_loop *streams; /* this loop's live streams */
};

/* One per request, in the request's memory pool. */
struct ctx {
	h2o_req_t *req;
	struct app *app;
	struct store_reader *db;
	struct route_match m;
	uint64_t user_id;                 /* the authenticated user; 0 if none */
	uint8_t token_hash[TOKEN_HASH_LEN]; /* of the bearer token, when user_id */
	struct store_idem idem;           /* Idempotency-Key, when idem.on */

	/* For the access log and metrics (gateway/). */
	uint64_t t0_ns;                   /* when the request reached chirp */
	size_t route;                     /* index in the route table; nroutes: none */
	h2o_iovec_t request_id;
	char client_ip[CLIENT_IP_MAX];
	bool async;                       /* answered later, by api_write */
};

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
/* The route's own rate-limit budget, besides "requests" for all. */
#define API_BUDGET(b) (((unsigned)(b) + 1) << 8)
#define API_BUDGET_OF(flags) ((flags) >> 8 ? (enum budget)(((flags) >> 8) - 1) : BUDGET_COUNT)

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

/* Answers a store failure that is not the handler's to explain. */
void api_store_error(struct ctx *c, int rc);

/* 503 with Retry-After: overloaded, or the store failed. */
void api_send_unavailable(h2o_req_t *req);

/* Sends a page of tweets as Tweet[] with its Link header (api/tweets.c). */
void api_send_tweet_page(struct ctx *c, const struct store_page *page, const struct tweet *t,
			 size_t n);

/* Sends a JSON body built by the caller. */
void api_send(struct ctx *c, int status, const struct strbuf *body);

/* ---- handlers, one file per resource ---- */
void api_users_create(struct ctx *c);
void api_users_get(struct ctx *c);
void api_users_by_handle(struct ctx *c);
void api_sessions_create(struct ctx *c);
void api_sessions_delete(struct ctx *c);
void api_tweets_create(struct ctx *c);
void api_tweets_get(struct ctx *c);
void api_tweets_delete(struct ctx *c);
void api_user_tweets(struct ctx *c);
void api_follows_create(struct ctx *c);
void api_follows_delete(struct ctx *c);
void api_followers(struct ctx *c);
void api_following(struct ctx *c);
void api_feed(struct ctx *c);
void api_feed_stream(struct ctx *c);
void api_search_tweets(struct ctx *c);
void api_search_users(struct ctx *c);
/* The search threads' readers (struct workpool_hooks; arg: the app). */
void *api_search_thread_init(void *app);
void api_search_thread_deinit(void *state);
/* media (api/media.c, api/blobs.c; the logic is the media service's) */
void api_media_create(struct ctx *c);
void api_media_complete(struct ctx *c);
void api_media_get(struct ctx *c);
void api_blob_put(struct ctx *c);
void api_blob_get(struct ctx *c);
/* Sends a refusal of the media service (struct media_error). */
void api_media_error(struct ctx *c, const struct media_error *err);
void api_healthz(struct ctx *c);
void api_readyz(struct ctx *c);
void api_metrics(struct ctx *c);

#endif
