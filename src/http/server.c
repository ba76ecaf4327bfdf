/*
 * server — see server.h.
 *
 * Life of an asynchronous request: http_async_begin allocates a heap
 * `struct http_async` and a small guard inside the request's memory pool.
 * If h2o disposes of the request first (the client hung up), the guard's
 * dispose callback clears async->req. http_async_finish posts the async as
 * a message to the owning loop's h2o multithread queue; the loop runs the
 * callback, detaches the guard and frees the async. Guard and async are
 * only ever touched on the loop thread, except the queue link, which h2o
 * protects with its own lock.
 */
#include "http/server.h"

#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/framing.h"
#include "util/log.h"
#include "util/timeutil.h"

#define FLUSH_MS 200 /* after the last request, time for responses to leave */

struct http_loop {
	h2o_context_t ctx; /* first: h2o hands us &ctx, we cast back */
	struct server *server;
	h2o_accept_ctx_t accept_ctx;
	h2o_multithread_queue_t *queue;
	h2o_multithread_receiver_t receiver;
	int listen_fd;
	h2o_socket_t *listener;
	void *thread_data;
	pthread_t thread;

	size_t inflight; /* asynchronous requests not yet answered */
	size_t connections, max_connections;
	bool draining;
	uint64_t drain_deadline_ns;
	struct http_loop_msg stop_msg;
};

struct server {
	const struct http_server_config *cfg;
	const struct http_app *app;
	h2o_globalconf_t globalconf;
	struct http_loop *loops;
	pthread_barrier_t ready; /* the loops and the signal waiter */
};

struct async_guard {
	struct http_async *async; /* NULL once the async is finished */
};

struct http_async {
	struct http_loop_msg msg;
	struct http_loop *loop;
	h2o_req_t *req; /* NULL once h2o disposed of the request */
	struct async_guard *guard;
	void (*fn)(h2o_req_t *req, void *arg);
	void *arg;
};

static struct http_loop *loop_of(h2o_req_t *req)
{
	return (struct http_loop *)req->conn->ctx;
}

void *http_thread_data(h2o_req_t *req)
{
	return loop_of(req)->thread_data;
}

/* ---- asynchronous requests ------------------------------------------------ */

static void guard_dispose(void *p)
{
	struct async_guard *g = p;
	if (g->async)
		g->async->req = NULL;
}

struct http_async *http_async_begin(h2o_req_t *req)
{
	struct http_async *a = xcalloc(1, sizeof(*a));
	a->loop = loop_of(req);
	a->req = req;
	a->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*a->guard), guard_dispose);
	a->guard->async = a;
	a->loop->inflight++;
	return a;
}

static void async_run(struct http_loop_msg *msg)
{
	struct http_async *a = (struct http_async *)msg;
	a->loop->inflight--;
	a->fn(a->req, a->arg);
	if (a->req)
		a->guard->async = NULL; /* the pool outlives us: detach */
	free(a);
}

void http_async_finish(struct http_async *a, void (*fn)(h2o_req_t *req, void *arg), void *arg)
{
	a->fn = fn;
	a->arg = arg;
	a->msg.run = async_run;
	http_loop_post(a->loop, &a->msg);
}

void http_loop_post(struct http_loop *loop, struct http_loop_msg *msg)
{
	h2o_multithread_send_message(&loop->receiver, &msg->super);
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	(void)receiver;
	while (!h2o_linklist_is_empty(messages)) {
		h2o_multithread_message_t *m =
			H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
		h2o_linklist_unlink(&m->link);
		struct http_loop_msg *msg = (struct http_loop_msg *)m;
		msg->run(msg);
	}
}

/* ---- listening ---------------------------------------------------------------- */

static atomic_uint_fast64_t connections_open, connections_refused;

void http_connection_stats(uint64_t *open, uint64_t *refused)
{
	*open = atomic_load(&connections_open);
	*refused = atomic_load(&connections_refused);
}

/* ---- the framing check in front of h2o's parser -------------------------------- */

/* What chirp keeps per connection: its loop (for the counts) and the
 * framing check of its bytes (framing.h). */
struct conn {
	struct http_loop *loop;
	struct framing framing;
	h2o_socket_cb inner; /* h2o's read callback of the moment */
	bool cut;            /* the stream was cut: drop what comes after */
	bool raw;            /* upgraded: no longer HTTP, nothing to check */
	char *held; /* an unfinished chunk or trailer line (framing_pending); made when needed */
	size_t held_len;
};

static void on_connection_closed(void *data)
{
	struct conn *cn = data;
	cn->loop->connections--;
	atomic_fetch_sub(&connections_open, 1);
	framing_deinit(&cn->framing);
	free(cn->held);
	free(cn);
}

/* Appends bytes h2o will refuse, where the stream was cut: a request line
 * picohttpparser rejects at its first byte (h2o answers its fixed 400 and
 * closes), preceded by what ends the element h2o is reading: nothing in a
 * head; in chunks, a CR then a size line with no digit (h2o's chunked
 * decoder fails: 400 "broken chunked-encoding", closed); in trailers, the
 * empty line that ends them (the request, whole and framed, is answered;
 * the refusal comes after it). */
static void poison(h2o_socket_t *sock, enum framing_where where)
{
	static const char bad_request[] = "\x01\r\n\r\n";
	static const char in_chunks[] = "\r\nz\r\n";
	static const char in_trailer[] = "\r\n\x01\r\n\r\n";
	const char *bytes = where == FRAMING_IN_HEAD     ? bad_request
			    : where == FRAMING_IN_CHUNKS ? in_chunks
							 : in_trailer;
	size_t n = strlen(bytes);
	h2o_iovec_t buf = h2o_buffer_reserve(&sock->input, n);
	memcpy(buf.base, bytes, n);
	sock->input->size += n;
}

/* Every read of a connection's socket comes here first (see
 * h2o_socket_read_start below): the bytes just read are the last
 * sock->bytes_read of sock->input (h2o's evloop sets it per read). Bad
 * ones are cut off, from the start of the element they belong to, and
 * replaced by bytes h2o refuses (poison), so h2o's parser never sees a
 * request it could read two ways. */
static void framing_on_read(h2o_socket_t *sock, const char *err)
{
	struct conn *cn = sock->on_close.data;
	size_t fresh = sock->bytes_read <= sock->input->size ? sock->bytes_read : sock->input->size;
	if (cn->raw) {
		/* a WebSocket's frames: its own protocol checks them */
	} else if (!err && fresh && cn->cut) {
		sock->input->size -= fresh;
	} else if (!err && fresh) {
		h2o_buffer_t *in;
		size_t before = sock->input->size - fresh; /* bytes h2o already had */
		if (cn->held_len) { /* the held line goes back in front of the new bytes */
			h2o_buffer_reserve(&sock->input, cn->held_len);
			in = sock->input;
			memmove(in->bytes + before + cn->held_len, in->bytes + before, fresh);
			memcpy(in->bytes + before, cn->held, cn->held_len);
			in->size += cn->held_len;
		}
		in = sock->input;
		/* the stream offset of in->bytes[before] */
		uint64_t base = framing_offset(&cn->framing) - cn->held_len;
		enum framing_where where;
		uint64_t start;
		if (!framing_feed(&cn->framing, in->bytes + before + cn->held_len, fresh, &where,
				  &start)) {
			cn->cut = true;
			if (start + before < base) {
				/* h2o took part of the element already: end the
				 * connection as if the client had. */
				in->size = before;
				err = "chirp: bad request framing";
			} else {
				in->size = before + (size_t)(start - base);
				poison(sock, where);
			}
			cn->held_len = 0;
		} else {
			size_t pending = (size_t)framing_pending(&cn->framing);
			if (pending) {
				if (!cn->held)
					cn->held = xmalloc(FRAMING_LINE_MAX);
				memcpy(cn->held, in->bytes + in->size - pending, pending);
			}
			in->size -= pending;
			cn->held_len = pending;
		}
	}
	cn->inner(sock, err);
}

void http_socket_upgraded(h2o_socket_t *sock)
{
	if (sock->on_close.cb == on_connection_closed)
		((struct conn *)sock->on_close.data)->raw = true;
}

static void (*real_read_start)(h2o_socket_t *sock, h2o_socket_cb cb);

/* chirp's own definition of h2o's h2o_socket_read_start. The executable's
 * definition interposes the library's (ELF symbol interposition): h2o's
 * HTTP/1 code starts reading through it whenever it wants more bytes, and
 * each time a new read callback may be given. For chirp's client
 * connections (on_close.cb is ours), the callback h2o asks for is kept and
 * framing_on_read is installed in its place, so that no byte reaches
 * h2o's parser unchecked; every other socket (the listeners) is left as
 * is. h2o 2.2.5 has no hook for this, and no other HTTP/1 parser is
 * packaged (docs/reliability.md). */
void h2o_socket_read_start(h2o_socket_t *sock, h2o_socket_cb cb)
{
	if (!real_read_start) {
		real_read_start = (void (*)(h2o_socket_t *, h2o_socket_cb))dlsym(
			RTLD_NEXT, "h2o_socket_read_start");
		if (!real_read_start)
			die("h2o_socket_read_start not found in libh2o");
	}
	if (sock->on_close.cb == on_connection_closed && cb != framing_on_read) {
		((struct conn *)sock->on_close.data)->inner = cb;
		cb = framing_on_read;
	}
	real_read_start(sock, cb);
}

static void on_refusal_sent(h2o_socket_t *sock, const char *err)
{
	(void)err;
	h2o_socket_close(sock);
}

/* Reads and drops what the client sent: closing a socket with unread
 * input makes the kernel reset it, which can destroy the 503 on its way. */
static void discard_input(h2o_socket_t *sock)
{
	char junk[4096];
	int fd = h2o_socket_get_fd(sock);
	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
}

static void refuse(h2o_socket_t *sock)
{
	static const char resp[] =
		"HTTP/1.1 503 Service Unavailable\r\n"
		"Content-Type: application/json\r\n"
		"Retry-After: 1\r\n"
		"X-Content-Type-Options: nosniff\r\n"
		"Connection: close\r\n"
		"Content-Length: 64\r\n"
		"\r\n"
		"{\"error\":\"too many connections; try again\",\"code\":\"unavailable\"}";
	_Static_assert(sizeof("{\"error\":\"too many connections; try again\",\"code\":\"unavailable\"}") - 1 == 64,
		       "Content-Length");
	atomic_fetch_add(&connections_refused, 1);
	discard_input(sock);
	h2o_iovec_t buf = h2o_iovec_init(resp, sizeof(resp) - 1);
	h2o_socket_write(sock, &buf, 1, on_refusal_sent);
}

/* Takes one connection off the listener's queue: hands it to h2o, or
 * refuses it past max_connections. False when the queue is empty. */
static bool accept_one(struct http_loop *l)
{
	h2o_socket_t *sock = h2o_evloop_socket_accept(l->listener);
	if (!sock)
		return false;
	if (l->connections >= l->max_connections) {
		refuse(sock);
		return true;
	}
	l->connections++;
	atomic_fetch_add(&connections_open, 1);
	struct conn *cn = xcalloc(1, sizeof(*cn));
	cn->loop = l;
	framing_init(&cn->framing);
	sock->on_close.cb = on_connection_closed;
	sock->on_close.data = cn;
	h2o_accept(&l->accept_ctx, sock);
	/* h2o starts reading at once, through chirp's h2o_socket_read_start.
	 * If it did not (a libh2o built to bind its own calls directly), the
	 * framing check is not in front of h2o: say so, loudly, once. */
	static atomic_bool warned;
	if (!cn->inner && !atomic_exchange(&warned, true))
		log_error("the HTTP framing check is not installed (libh2o does not call "
			  "h2o_socket_read_start through its PLT): requests reach h2o unchecked");
	return true;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	if (!err)
		accept_one(listener->data);
}

static int split_listen(const char *listen, char *host, size_t hostcap, char *port, size_t portcap)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || !colon[1])
		return -1;
	const char *h = listen;
	size_t hlen = (size_t)(colon - listen);
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']')
		h++, hlen -= 2;
	if (hlen >= hostcap || strlen(colon + 1) >= portcap)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int bind_one(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
	    bind(fd, sa, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* SO_REUSEPORT would let a second chirp on the same port share its
 * connections with the first, silently. A probe bound without it fails
 * if anyone listens there already. (Port 0 is never taken.) */
static bool port_taken(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)); /* TIME_WAIT is fine */
	bool taken = bind(fd, sa, len) != 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* Binds one listening socket per loop on the same address. Port 0 picks a
 * free port once and shares it. Returns 0, or -1 after printing why. */
static int bind_listeners(struct server *srv)
{
	char host[256], port[16];
	if (split_listen(srv->cfg->listen, host, sizeof(host), port, sizeof(port))) {
		log_error("--listen '%s': expected HOST:PORT", srv->cfg->listen);
		return -1;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai) {
		log_error("--listen '%s': %s", srv->cfg->listen, gai_strerror(gai));
		return -1;
	}
	struct sockaddr_storage addr;
	socklen_t len = ai->ai_addrlen;
	memcpy(&addr, ai->ai_addr, len);
	freeaddrinfo(ai);
	if (port_taken((struct sockaddr *)&addr, len)) {
		log_error("cannot listen on %s: the address is in use", srv->cfg->listen);
		return -1;
	}
	for (unsigned i = 0; i < srv->cfg->threads; i++) {
		int fd = bind_one((struct sockaddr *)&addr, len);
		if (fd < 0) {
			log_error("cannot listen on %s: %s", srv->cfg->listen, strerror(errno));
			for (unsigned k = 0; k < i; k++)
				close(srv->loops[k].listen_fd);
			return -1;
		}
		if (i == 0) /* learn the port the kernel chose, if it chose */
			getsockname(fd, (struct sockaddr *)&addr, &len);
		srv->loops[i].listen_fd = fd;
	}
	char shown[NI_MAXHOST], sport[NI_MAXSERV];
	getnameinfo((struct sockaddr *)&addr, len, shown, sizeof(shown), sport, sizeof(sport),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	log_info("listening on http://%s%s%s:%s/ with %u thread%s",
		 addr.ss_family == AF_INET6 ? "[" : "", shown, addr.ss_family == AF_INET6 ? "]" : "",
		 sport, srv->cfg->threads, srv->cfg->threads == 1 ? "" : "s");
	return 0;
}

/* ---- the loops -------------------------------------------------------------------- */

static void on_stop(struct http_loop_msg *msg)
{
	struct http_loop *l = H2O_STRUCT_FROM_MEMBER(struct http_loop, stop_msg, msg);
	if (l->draining)
		return;
	l->draining = true;
	l->drain_deadline_ns = time_mono_ns() + l->server->cfg->drain_timeout_ms * 1000000;
	/* Connections the kernel already queued on this listener would be
	 * reset by closing it: take them in first; they are answered and
	 * closed like the rest. */
	while (accept_one(l))
		;
	h2o_socket_read_stop(l->listener);
	h2o_socket_close(l->listener);
	l->listener = NULL;
	h2o_context_request_shutdown(&l->ctx); /* keep-alive connections close after their response */
	if (l->server->app->thread_drain)
		l->server->app->thread_drain(l->thread_data);
}

static void *loop_main(void *arg)
{
	struct http_loop *l = arg;
	struct server *srv = l->server;
	pthread_setname_np(pthread_self(), "chirp-loop");
	/* Everything h2o makes for this loop is made on this thread: h2o's
	 * socket buffers recycle through a thread-local allocator, so a
	 * socket created on another thread would share that thread's
	 * allocator with every loop that did the same. */
	h2o_evloop_t *loop = h2o_evloop_create();
	h2o_context_init(&l->ctx, loop, &srv->globalconf);
	l->accept_ctx.ctx = &l->ctx;
	l->accept_ctx.hosts = srv->globalconf.hosts;
	l->queue = h2o_multithread_create_queue(loop);
	h2o_multithread_register_receiver(l->queue, &l->receiver, on_messages);
	l->thread_data = srv->app->thread_init(srv->app->app, l);

	l->listener = h2o_evloop_socket_create(loop, l->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
	l->listener->data = l;
	h2o_socket_read_start(l->listener, on_accept);
	pthread_barrier_wait(&srv->ready); /* the receiver exists: stop may come */

	uint64_t flush_until = 0;
	for (;;) {
		h2o_evloop_run(loop, l->draining ? 20 : INT32_MAX);
		if (!l->draining)
			continue;
		uint64_t now = time_mono_ns();
		if (!flush_until && (l->inflight == 0 || now > l->drain_deadline_ns))
			flush_until = now + FLUSH_MS * 1000000ull;
		if (flush_until && now > flush_until)
			break;
	}
	if (l->inflight)
		log_error("shutdown: %zu request(s) still in flight on a loop", l->inflight);
	srv->app->thread_deinit(l->thread_data);
	return NULL;
}

struct root_handler {
	h2o_handler_t super;
	struct server *server;
};

/* X-Content-Type-Options: nosniff on every response, as a filter on both
 * the "/" path and the host's fallback path: the fallback is where h2o's
 * own answers go (its 400 for a request it cannot parse, its 413), which
 * never reach chirp's handler. A browser then never guesses an HTML or
 * script type for a JSON error or an uploaded image. */
static void nosniff_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	(void)self;
	h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"),
			      0, H2O_STRLIT("nosniff"), 1);
	h2o_setup_next_ostream(req, slot);
}

static void add_nosniff(h2o_pathconf_t *path)
{
	h2o_filter_t *f = h2o_create_filter(path, sizeof(*f));
	f->on_setup_ostream = nosniff_setup;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct root_handler *h = (struct root_handler *)self;
	h->server->app->handle(http_thread_data(req), req);
	return 0;
}

static void stop_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

void http_block_stop_signals(void)
{
	sigset_t set;
	stop_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int http_server_run(const struct http_server_config *cfg, const struct http_app *app)
{
	/* Static: the loops (see the end) and h2o's configuration stay reachable
	 * until exit. One server per process. */
	static struct server srv;
	srv.cfg = cfg;
	srv.app = app;
	srv.loops = xcalloc(cfg->threads, sizeof(*srv.loops));

	h2o_config_init(&srv.globalconf);
	srv.globalconf.server_name = h2o_iovec_init(H2O_STRLIT("")); /* no Server header */
	srv.globalconf.max_request_entity_size = cfg->max_request_bytes;
	srv.globalconf.http1.req_timeout = cfg->read_timeout_ms;
	srv.globalconf.http2.idle_timeout = cfg->read_timeout_ms;
	/* HTTP/1.1 only. h2o would otherwise speak cleartext HTTP/2 to a
	 * client that sends its preface or `Upgrade: h2c`, and its HTTP/2
	 * path escapes the protections built for HTTP/1 (the read timeout of
	 * a trickling stream, the bound on buffered bodies per connection).
	 * Off, the preface is a malformed request (400, closed) and the
	 * Upgrade header is ignored. */
	srv.globalconf.http1.upgrade_to_http2 = 0;
	h2o_hostconf_t *host =
		h2o_config_register_host(&srv.globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
	struct root_handler *root = (struct root_handler *)h2o_create_handler(path, sizeof(*root));
	root->super.on_req = on_req;
	root->server = &srv;
	add_nosniff(path);
	add_nosniff(&host->fallback_path);

	if (bind_listeners(&srv)) {
		h2o_config_dispose(&srv.globalconf);
		free(srv.loops);
		return -1;
	}

	/* Signals go to this thread alone, through sigwait below (blocked
	 * already in every thread started after http_block_stop_signals). */
	http_block_stop_signals();
	sigset_t stop_signals;
	stop_signal_set(&stop_signals);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN); /* nothing to reload; a closed terminal must not kill us undrained */

	pthread_barrier_init(&srv.ready, NULL, cfg->threads + 1);
	for (unsigned i = 0; i < cfg->threads; i++) {
		srv.loops[i].server = &srv;
		srv.loops[i].stop_msg.run = on_stop;
		srv.loops[i].max_connections = cfg->max_connections / cfg->threads
						       ? cfg->max_connections / cfg->threads
						       : 1;
		if (pthread_create(&srv.loops[i].thread, NULL, loop_main, &srv.loops[i]) != 0)
			die("cannot start loop thread");
	}
	/* A signal that comes before every loop can take a message waits,
	 * blocked, until sigwait below. */
	pthread_barrier_wait(&srv.ready);

	int sig;
	sigwait(&stop_signals, &sig);
	log_info("%s: draining requests in flight", sig == SIGINT ? "SIGINT" : "SIGTERM");
	for (unsigned i = 0; i < cfg->threads; i++)
		h2o_multithread_send_message(&srv.loops[i].receiver, &srv.loops[i].stop_msg.super);
	for (unsigned i = 0; i < cfg->threads; i++)
		pthread_join(srv.loops[i].thread, NULL);
	/* Connections still open (idle keep-alive) belong to their loop; the
	 * process is about to exit, so the loops are left for exit to reclaim
	 * rather than torn down under connections h2o still tracks. */
	return 0;
}
