/*
 * mastodon_streaming — Mastodon's streaming API (mastodon_streaming.c):
 * the WebSocket at GET /api/v1/streaming, and the user, public and hashtag
 * streams as SSE. Routes
 * in api/routes.c; docs/mastodon.md is the client's side.
 */
#ifndef CHIRP_API_MASTODON_STREAMING_H
#define CHIRP_API_MASTODON_STREAMING_H

struct ctx;

/* GET /api/v1/streaming: the WebSocket (?stream=, ?tag=, then subscribe
 * and unsubscribe messages). */
void mastodon_streaming_ws(struct ctx *c);
/* GET /api/v1/streaming/user: the home feed's live stream, with the
 * reader's notifications. */
void mastodon_streaming_user(struct ctx *c);
/* GET /api/v1/streaming/health: "OK". */
void mastodon_streaming_health(struct ctx *c);
/* GET /api/v1/streaming/public and /public/local: every new tweet. */
void mastodon_streaming_public(struct ctx *c);
/* GET /api/v1/streaming/hashtag and /hashtag/local, ?tag=: one tag's. */
void mastodon_streaming_hashtag(struct ctx *c);

#endif
