/*
 * service — the live feed: sessions that follow one reader's home feed as
 * it grows, whatever carries them to the client. The transport (the SSE
 * one is api/stream.c; a WebSocket one for the Mastodon streaming API can
 * sit beside it) checks the request, opens a session here, and frames what
 * the session hands to its `struct live_sink`; this file knows nothing of
 * HTTP requests or responses. docs/architecture.md shows where it sits.
 *
 * What a session does:
 *   open:     takes a slot within the caps, listens to its reader's feed
 *             channel and to the author channel of every celebrity the
 *             reader follows (timeline/live.h has the channels), on the
 *             pubsub bus, through its loop's one subscription to each;
 *   catch-up: with a resume point (Last-Event-ID), or after the reader's
 *             follows changed, replays the feed's tweets since then, oldest
 *             first, a page at a time while the transport has room
 *             (live/watermark.h has the rules: no gap, no duplicate);
 *   live:     hands on each new tweet (hydrated from the feed) and delete;
 *             a heartbeat when the period passes;
 *   end:      the transport closes it (the client left), its transport's
 *             backlog passes the bound (a slow reader: cut off), the feed
 *             cannot be read, the loop drains at shutdown, or the token it
 *             was opened with is revoked (a log-out: live_follow_writes
 *             publishes a revoke on the reader's feed channel, so it
 *             reaches the session on whichever node holds it).
 *
 * Threads. Events are published off the loops (the fanout thread); the bus
 * handler posts each to the event loop of the sessions it is for
 * (http_loop_post), once per loop, and
 * everything else happens there: a session, its sink calls and its
 * transport belong to one loop. Except its store reads: where the store
 * may not be read on a loop (live_options.readers), they run on the reader
 * pool, one at a time per session, and their results come back to the
 * loop; events wait for them in order. The caps and counters are
 * process-wide.
 *
 * Resources are bounded: the transport's unsent bytes per session (beyond
 * `buffer_bytes` the session is cut off), open sessions per user and per
 * process. A session holds no buffer while idle.
 */
#ifndef CHIRP_LIVE_SERVICE_H
#define CHIRP_LIVE_SERVICE_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

struct feed;
struct http_loop;
struct pubsub;
struct redis;
struct store_reader;
struct workpool;
struct writes;

struct notifications;

struct live_options {
	/* The reader pool (util/workpool.h; each thread's state a store
	 * reader) when the store may not be read on an event loop; NULL:
	 * sessions read through their loop's own reader, at once. */
	struct workpool *readers;
	size_t max_streams;      /* sessions open at once in this process */
	unsigned max_per_user;   /* sessions open at once per user */
	size_t buffer_bytes;     /* bytes a transport may hold unsent; beyond: cut off */
	uint64_t heartbeat_ms;   /* sink->heartbeat this often */
	struct notifications *notifications; /* NULL: no notification events */
	/* Cluster mode: max_per_user counts the user's sessions on every node
	 * (live/user_slots_redis.h), through Redis, on the reader pool (which
	 * is then required). NULL: this process's sessions only. */
	struct redis *redis;
};

struct live_stats {
	uint64_t open;            /* sessions open now */
	uint64_t opened;          /* since start */
	uint64_t refused_user;    /* past max_per_user */
	uint64_t refused_server;  /* past max_streams, or draining */
	uint64_t cut_slow;        /* cut off for a full buffer */
	uint64_t events;          /* tweet and delete events handed on */
	uint64_t bus_messages;    /* bus messages received: one per loop per post and channel */
};

/* Why a session ends, as its sink is told. */
enum live_end {
	/* Shutdown, or the feed cannot be read: end cleanly once what is
	 * queued is sent. The client may resume from its last tweet. */
	LIVE_END_DONE,
	/* The reader let the backlog pass buffer_bytes: drop the connection
	 * now, unsent bytes and all. */
	LIVE_END_SLOW,
	/* The loop is gone (live_loop_free): free what the transport holds
	 * for the session without touching the connection. The session is
	 * closed for the transport: it must not call live_session_close. */
	LIVE_END_RELEASE,
	/* Live events stopped (cluster mode's bus is unreachable): end
	 * cleanly once what is queued is sent, telling the client to
	 * reconnect soon; its catch-up then reads the timelines or the store. */
	LIVE_END_RETRY,
};

/*
 * What a transport implements; each call gets the `arg` given at open, on
 * the session's loop. The event calls only queue: the session calls flush
 * once it has handed on what it can at a time, so a transport may coalesce
 * them into one write.
 */
struct live_sink {
	/* The answer to a live_session_open that returned LIVE_OPENING, once
	 * its reads are done: `rc` as live_session_open would have returned
	 * it. With 0 the session is open: the transport starts its response
	 * and calls live_session_writable. Otherwise the session is gone,
	 * handle and all (the transport must not close it): the transport
	 * answers the refusal. No other call precedes this one, but `end`
	 * with LIVE_END_RELEASE if the loop goes first. */
	void (*opened)(void *arg, int rc);
	/* Tweet `id` and its JSON (valid during the call only). `resume` is
	 * where a client that reconnects resumes (Last-Event-ID) to miss and
	 * repeat nothing: the highest id handed on so far, which is `id`
	 * unless the tweet came late (live/watermark.h). */
	void (*tweet)(void *arg, uint64_t id, uint64_t resume, const char *json, size_t len);
	/* Tweet `id` was deleted. */
	void (*deleted)(void *arg, uint64_t id);
	/* A new (or newly grouped) Notification's JSON (valid during the call
	 * only): those made after the session opened, as they come. */
	void (*notification)(void *arg, const char *json, size_t len);
	/* The watch `key` (live_session_watch) has tweet `id`, its JSON valid
	 * during the call only; a public watch is handed each new tweet, a tag
	 * watch each new tweet with its tag. Both skip retweets and authors
	 * hidden from the reader. NULL if the transport makes no watches. */
	void (*watch_tweet)(void *arg, void *key, uint64_t id, const char *json, size_t len);
	/* Tweet `id` was deleted, for the watch `key`: every watch hears of
	 * every delete (a delete does not know its tweet's tags). */
	void (*watch_deleted)(void *arg, void *key, uint64_t id);
	/* A heartbeat period passed: something to keep the connection alive. */
	void (*heartbeat)(void *arg);
	/* Start sending what is queued, unless a send is in progress (the
	 * transport then calls live_session_writable when it completes). */
	void (*flush)(void *arg);
	/* Bytes queued or in flight that the connection has not taken yet. */
	size_t (*backlog)(void *arg);
	/* No more calls follow, except `end` once more with LIVE_END_RELEASE
	 * if the loop goes before the transport closed the session. */
	void (*end)(void *arg, enum live_end why);
};

/* live_session_open's refusals; beside them it returns 0, LIVE_OPENING
 * or a STORE_* code (store/store.h), which are all above -100. */
enum {
	LIVE_OPENING = 1,        /* not yet: the answer comes through sink->opened */
	LIVE_USER_FULL = -101,   /* the user has max_per_user sessions open */
	LIVE_SERVER_FULL = -102, /* the process has max_streams open, or drains */
	LIVE_REVOKED = -103,     /* the token was revoked before the session began */
};

struct live_service;
struct live_loop;
struct live_session;

/* The process-wide part: the caps, the counters, the bus and the feed,
 * which must outlive the result. `opt` is copied. */
struct live_service *live_service_new(struct pubsub *bus, struct feed *feed,
				      const struct live_options *opt);
/* Registers the service's effects on the write path: a committed log-out
 * (STORE_W_SESSION_DELETE) ends the streams of that token, on every node
 * that shares the bus. Before any write is submitted. */
void live_follow_writes(struct live_service *svc, struct writes *ws);
/* Every live_loop must be freed first. NULL is a no-op. */
void live_service_free(struct live_service *svc);
/* Any thread. */
void live_service_stats(struct live_service *svc, struct live_stats *out);
const struct live_options *live_service_options(const struct live_service *svc);

/* The part of one event loop, made and used on the loop's thread; `db` is
 * that thread's store reader, NULL (and never used) when the service has
 * a reader pool. */
struct live_loop *live_loop_new(struct live_service *svc, struct http_loop *loop,
				struct store_reader *db);
/* Shutdown: ends every session of the loop (LIVE_END_DONE) and refuses
 * new ones. */
void live_loop_drain(struct live_loop *ll);
/* After the loop stopped: releases the sessions still open, telling each
 * sink LIVE_END_RELEASE. NULL is a no-op. */
void live_loop_free(struct live_loop *ll);

/*
 * Opens a session for `user_id` on `ll`, whose h2o event loop is `evloop`
 * (the heartbeat timer runs there). `token_hash` (TOKEN_HASH_LEN bytes,
 * copied; NULL for none) is the hash of the token the session was opened
 * with: its revocation ends the session. With `after` > 0 it first replays the
 * feed's tweets newer than `after`; with 0 it starts with what comes next.
 * The sink is not called before the transport calls live_session_writable
 * (sink->opened aside), so it may start its response in between.
 *
 * Opening reads the store (the token's session, the reader's follows):
 * at once when the loop may read, else on the reader pool. Returns 0 and
 * sets *out; the transport owns one handle on the session until
 * live_session_close (or LIVE_END_RELEASE). Or returns LIVE_OPENING and
 * sets *out: the transport owns the handle likewise (it may close the
 * session, if its client leaves, and then hears nothing more), and the
 * answer comes through sink->opened. Or returns LIVE_USER_FULL,
 * LIVE_SERVER_FULL (counted in the stats), LIVE_REVOKED (the token is
 * gone by the time the session listens for its revocation), or the
 * STORE_* error of those reads (STORE_BUSY: the reader pool is full);
 * nothing is held then. sink->opened gives the same answers, and
 * LIVE_SERVER_FULL when the loop drains meanwhile.
 */
int live_session_open(struct live_loop *ll, h2o_loop_t *evloop, uint64_t user_id,
		      const uint8_t *token_hash, uint64_t after, const struct live_sink *sink,
		      void *arg, struct live_session **out);

/*
 * Watches: beside its home feed, a session can follow the public channel
 * (every new tweet) and hashtag channels (timeline/live.h), for the
 * Mastodon streaming API's public and hashtag streams. They start with
 * what comes next (no catch-up) and end with the session.
 *
 * live_session_watch starts handing the sink the tweets of the public
 * channel (`tag` NULL) or of the folded tag `tag` (entities_tag's form;
 * copied) through sink->watch_tweet, and every delete through
 * sink->watch_deleted, each with `key`, an opaque name the transport
 * chooses (distinct per watch) and keeps valid until it unwatches or
 * closes the session. Only on an open session (after the open answered
 * 0) that is not ending. Returns 0, or -1 with LIVE_WATCH_MAX watches
 * held already or the session ending. Events of a watch that were on
 * their way when it is removed are dropped.
 */
#define LIVE_WATCH_MAX 8
int live_session_watch(struct live_session *s, const char *tag, void *key);
/* Stops the watch named `key`; no-op if there is none. */
void live_session_unwatch(struct live_session *s, void *key);

/* The transport can take more (its response started, or a send
 * completed): the session catches up as far as the bound allows and
 * flushes. May end the session (sink->end). */
void live_session_writable(struct live_session *s);

/* The transport is done with the session (the client left, or the
 * response ended): no sink call follows, the slot is free, and the
 * handle is gone. */
void live_session_close(struct live_session *s);

#endif
