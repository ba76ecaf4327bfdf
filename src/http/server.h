/*
 * server — chirp's HTTP server: h2o event loops, one per thread.
 *
 * Each thread owns an h2o event loop, an h2o context and its own listening
 * socket on the same address (SO_REUSEPORT), so the kernel spreads
 * connections across threads and no lock is shared on the request path.
 * The program on top supplies one request handler and per-thread state
 * (struct http_app); the server knows nothing of chirp's API.
 *
 * Blocking work never runs on a loop (docs/architecture.md, "Threads"). A handler that needs it
 * calls http_async_begin, hands the work to another thread, and that thread
 * calls http_async_finish; the given function then runs back on the loop
 * that owns the request. If the client went away meanwhile, it runs with
 * req == NULL, so the work's result can still be released.
 *
 * Load: with HTTP/1.1 a connection carries one request at a time, so
 * bounding connections bounds the requests waiting for a loop. A connection
 * past max_connections gets a fixed 503 (JSON, Retry-After) at once and is
 * closed, instead of queueing behind everyone else.
 *
 * Shutdown: SIGINT or SIGTERM stops the listeners, tells each loop's
 * program to end its long-lived responses (thread_drain), lets every
 * request in flight finish (up to drain_timeout_ms), then returns from
 * http_server_run.
 */
#ifndef CHIRP_HTTP_SERVER_H
#define CHIRP_HTTP_SERVER_H

#include <h2o.h>
#include <stddef.h>
#include <stdint.h>

struct http_server_config {
	const char *listen;          /* "HOST:PORT"; IPv6 as "[::1]:8080" */
	unsigned threads;            /* event loops; >= 1 */
	uint64_t read_timeout_ms;    /* request headers and body, and keep-alive idle */
	size_t max_request_bytes;    /* hard cap on a request body h2o will buffer */
	uint64_t drain_timeout_ms;   /* how long shutdown waits for requests in flight */
	size_t max_connections;      /* open connections per server; beyond: 503, close */
};

struct http_loop;

struct http_app {
	void *app;
	/* Per-thread state, made on the loop's thread before it accepts. */
	void *(*thread_init)(void *app, struct http_loop *loop);
	void (*thread_deinit)(void *thread_data);
	/* Handles one request; must send a response now or after
	 * http_async_begin, or stream one (see thread_drain). */
	void (*handle)(void *thread_data, h2o_req_t *req);
	/* Shutdown has begun (on the loop's thread): end the responses that
	 * would otherwise never end, such as event streams. May be NULL. */
	void (*thread_drain)(void *thread_data);
};

/* Listens, serves until SIGINT/SIGTERM, drains, and returns 0; or returns
 * -1 at once, with a message on stderr, if the address cannot be bound. */
int http_server_run(const struct http_server_config *cfg, const struct http_app *app);

/* Blocks SIGINT and SIGTERM in the calling thread, and so in every thread
 * it starts afterwards: call it before starting any thread, so that a stop
 * signal waits for http_server_run's sigwait rather than falling on some
 * other thread, whose default action would end the process undrained. */
void http_block_stop_signals(void);

/* The thread state of the loop serving `req`. */
void *http_thread_data(h2o_req_t *req);

/* Connections open now, and those refused for being past max_connections
 * since start. Any thread. */
void http_connection_stats(uint64_t *open, uint64_t *refused);

/* The connection of `sock` left HTTP (a WebSocket upgrade was answered):
 * its bytes no longer go through the HTTP framing check, which would take
 * frames for a broken request and cut them. */
void http_socket_upgraded(h2o_socket_t *sock);

/* A message to a loop: run(msg) runs on that loop's thread, which then
 * owns msg. Embed it in a struct of your own. */
struct http_loop_msg {
	h2o_multithread_message_t super;
	void (*run)(struct http_loop_msg *msg);
};

/* From any thread: queues msg for its loop (lock-protected, FIFO). */
void http_loop_post(struct http_loop *loop, struct http_loop_msg *msg);

struct http_async;

/* Marks `req` as answered later. Call on the loop thread, from the handler. */
struct http_async *http_async_begin(h2o_req_t *req);

/* From any thread: runs fn(req, arg) on the loop that owns the request, with
 * req == NULL if the client is gone. Frees `a`; call exactly once. */
void http_async_finish(struct http_async *a, void (*fn)(h2o_req_t *req, void *arg), void *arg);

#endif
