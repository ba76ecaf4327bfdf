/*
 * stream — GET /v1/feed/stream: the live feed as Server-Sent Events
 * (DESIGN §5, "Realtime"; docs/streaming.md is the user's side).
 *
 * Each open stream subscribes to its reader's feed channel and to the author
 * channel of every celebrity the reader follows (timeline/live.h), on the
 * pubsub bus. Events are published off the loops (the fanout thread); the
 * bus handler copies each into a message posted to the stream's own loop,
 * where it is turned into SSE bytes. A stream is loop-owned: only that loop
 * touches its buffers and its request.
 *
 * Resources are bounded: a send buffer per stream (a reader that lets it
 * fill is disconnected), open streams per user (429) and per process (503).
 * Streams hold no buffer while idle. On shutdown every stream is ended.
 *
 * `struct streams` is the process-wide part (the caps, the counters, the bus
 * and the feed); `struct stream_loop` the part of one event loop.
 */
#ifndef CHIRP_API_STREAM_H
#define CHIRP_API_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct feed;
struct http_loop;
struct pubsub;
struct store_reader;

struct stream_options {
	size_t max_streams;      /* open at once in this process; beyond: 503 */
	unsigned max_per_user;   /* open at once per user; beyond: 429 */
	size_t buffer_bytes;     /* bytes a stream may hold unsent; beyond: cut off */
	uint64_t heartbeat_ms;   /* a comment line this often */
};

struct stream_stats {
	uint64_t open;            /* streams open now */
	uint64_t opened;          /* since start */
	uint64_t refused_user;    /* 429: the user's cap */
	uint64_t refused_server;  /* 503: the process's cap, or draining */
	uint64_t cut_slow;        /* disconnected for a full send buffer */
	uint64_t events;          /* tweet and delete events sent */
};

struct streams;
struct stream_loop;

/* The bus and the feed must outlive the result. */
struct streams *streams_new(struct pubsub *bus, struct feed *feed,
			    const struct stream_options *opt);
/* Every stream_loop must be freed first. NULL is a no-op. */
void streams_free(struct streams *st);
void streams_stats(struct streams *st, struct stream_stats *out);

/* Per loop, made and used on the loop's thread; `db` is that thread's
 * store reader. */
struct stream_loop *stream_loop_new(struct streams *st, struct http_loop *loop,
				    struct store_reader *db);
/* Shutdown: ends every stream of the loop and refuses new ones. */
void stream_loop_drain(struct stream_loop *sl);
/* After the loop stopped: releases the streams still open. NULL is a no-op. */
void stream_loop_free(struct stream_loop *sl);

#endif
