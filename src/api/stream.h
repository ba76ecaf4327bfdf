/*
 * stream — GET /v1/feed/stream: the live feed as Server-Sent Events
 * (docs/streaming.md is the client's side).
 *
 * A thin transport over the live service (live/service.h), which holds
 * the sessions, their subscriptions, catch-up and caps. This file checks
 * the request (the token, Last-Event-ID), opens a session, answers a
 * refusal (429 past the user's cap, 503 past the process's or while
 * shutting down), and frames what the session hands on as SSE: a tweet as
 * `id:`/`event: tweet`/`data:`, a delete without an `id:` line, a
 * heartbeat as a comment. It also keeps the socket honest: the kernel's
 * send buffer pinned to the session's bound, and a client's hang-up
 * noticed at once on HTTP/1.
 *
 * The handler, api_feed_stream, is declared with the others in api/api.h;
 * routes.c makes, drains and frees each loop's part of the service.
 */
#ifndef CHIRP_API_STREAM_H
#define CHIRP_API_STREAM_H

#include "live/service.h"

struct app_thread;
struct ctx;

/* Sends the answer to a live_session_open that failed with `rc`: 429
 * too_many_streams past the user's cap, 503 past the process's, 401 for a
 * token revoked meanwhile, else the store error's. Shared by every
 * streaming transport (SSE here, the Mastodon WebSocket). */
void api_stream_refuse(struct ctx *c, int rc);

/* Drops what a loop's streams share (its latest framed event), when the
 * loop is gone (api_thread_deinit). */
void api_stream_thread_deinit(struct app_thread *t);

#endif
