/* loadgen.c — an open-loop HTTP/1.1 load generator for chirp's overload
 * benchmark (bench/overload.sh).
 *
 *   loadgen --url http://127.0.0.1:PORT/PATH --rate R --duration S
 *           --connections C [--header 'Name: value']... [--tokens FILE]
 *           [--timeout S] [--drain S]
 *
 * wrk is closed-loop: it sends the next request only when a response came
 * back, so it can never offer more than the server takes. This one keeps a
 * schedule instead: request i is due at t0 + i/R, whatever the server does.
 * A due request goes out on a free keep-alive connection from a pool of C
 * (one request in flight per connection); when none is free it is counted
 * as "unsent" (the client is saturated) rather than delayed. Latency runs
 * from the due time, not the send time, so a late send (generator or pool
 * behind) counts against the server instead of hiding (coordinated
 * omission).
 *
 * --tokens FILE: lines "<user_id> <token>"; request i carries the token of
 * line i mod n as "Authorization: Bearer <token>".
 *
 * Output, one line on stdout:
 *   LOADGEN offered= sent= ok= shed503= other= unsent= p50_ok_us= p99_ok_us=
 *           p99_all_us= duration_s= ... (more diagnostic words)
 * ok is 2xx; other is any other status plus requests lost to socket errors
 * or timeouts (broken out as errors= and timeouts=). lag_p99_us / lag_max_us
 * are how late the generator itself sent requests (its own saturation);
 * cpu_pct is its CPU time over wall time.
 *
 * Single thread, epoll and a timerfd, IPv4 only, Linux. Every phase is
 * bounded: connecting (5 s), sending (S), draining (--drain, 10 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HDR_CAP 16384
#define MAX_HEADERS 16

enum state { ST_DEAD, ST_CONNECTING, ST_FREE, ST_BUSY };

struct conn {
	int fd;
	enum state st;
	int64_t due_ns;    /* due time of the request in flight */
	int64_t retry_ns;  /* ST_DEAD: when to reconnect */
	const char *req;   /* request bytes in flight */
	size_t req_len, req_off;
	int in_body;
	int64_t body_left; /* -1: until close */
	int status;
	int close_after;
	size_t hdr_len;
	char hdr[HDR_CAP];
};

struct lats {
	uint32_t *v;
	size_t n, cap;
};

static struct conn *conns;
static int nconns;
static int *free_stack;
static int nfree;
static int ep;
static struct sockaddr_in addr;
static int64_t timeout_ns = 10 * 1000000000LL;

static uint64_t n_sent, n_ok, n_503, n_other_status, n_errors, n_timeouts, n_unsent;
static struct lats lat_ok, lat_all, lag;

static void die(const char *msg)
{
	fprintf(stderr, "loadgen: %s\n", msg);
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void lat_add(struct lats *l, int64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 65536;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			die("out of memory");
	}
	int64_t us = ns < 0 ? 0 : ns / 1000;
	l->v[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile; 0 when empty. Sorts in place. */
static uint32_t pct(struct lats *l, double p)
{
	if (!l->n)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), cmp_u32);
	size_t rank = (size_t)(p / 100.0 * (double)l->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > l->n)
		rank = l->n;
	return l->v[rank - 1];
}

static void ep_set(int i, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)i };
	if (epoll_ctl(ep, op, conns[i].fd, &ev) < 0)
		die("epoll_ctl failed");
}

static void start_connect(int i)
{
	struct conn *c = &conns[i];
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->st = ST_DEAD;
		c->retry_ns = now_ns() + 10000000;
		return;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = connect(c->fd, (struct sockaddr *)&addr, sizeof(addr));
	if (r < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		c->st = ST_DEAD;
		c->retry_ns = now_ns() + 10000000; /* 10 ms back-off */
		return;
	}
	c->st = ST_CONNECTING;
	ep_set(i, EPOLLOUT | EPOLLIN, EPOLL_CTL_ADD);
}

static void make_free(int i)
{
	conns[i].st = ST_FREE;
	free_stack[nfree++] = i;
}

/* Closes a connection (its request, if any, already accounted for) and
 * starts a new one. */
static void reconnect(int i)
{
	struct conn *c = &conns[i];
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (c->st == ST_FREE) { /* take it off the free stack */
		for (int k = 0; k < nfree; k++)
			if (free_stack[k] == i) {
				free_stack[k] = free_stack[--nfree];
				break;
			}
	}
	start_connect(i);
}

/* A request on connection i failed (socket error, early close, timeout). */
static void fail(int i, int64_t now, int timed_out)
{
	struct conn *c = &conns[i];
	if (c->st == ST_BUSY) {
		if (timed_out)
			n_timeouts++;
		else
			n_errors++;
		lat_add(&lat_all, now - c->due_ns);
	}
	reconnect(i);
}

static void done(int i, int64_t now)
{
	struct conn *c = &conns[i];
	int64_t l = now - c->due_ns;
	lat_add(&lat_all, l);
	if (c->status >= 200 && c->status < 300) {
		n_ok++;
		lat_add(&lat_ok, l);
	} else if (c->status == 503) {
		n_503++;
	} else {
		n_other_status++;
	}
	if (c->close_after) {
		c->st = ST_DEAD; /* not on the free stack */
		reconnect(i);
	} else {
		ep_set(i, EPOLLIN, EPOLL_CTL_MOD);
		make_free(i);
	}
}

/* Parses a complete header block in c->hdr[0..end). Returns 0 or -1. */
static int parse_head(struct conn *c, size_t end)
{
	c->hdr[end - 1] = '\0';
	if (strncmp(c->hdr, "HTTP/1.", 7) != 0 || end < 12)
		return -1;
	c->status = atoi(c->hdr + 9);
	c->body_left = -1;
	c->close_after = c->hdr[7] == '0';
	int chunked = 0;
	for (char *line = strstr(c->hdr, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
		char *h = line + 2;
		if (!strncasecmp(h, "content-length:", 15))
			c->body_left = strtoll(h + 15, NULL, 10);
		else if (!strncasecmp(h, "connection:", 11)) {
			char *v = h + 11;
			while (*v == ' ')
				v++;
			if (!strncasecmp(v, "close", 5))
				c->close_after = 1;
			else if (!strncasecmp(v, "keep-alive", 10))
				c->close_after = 0;
		} else if (!strncasecmp(h, "transfer-encoding:", 18) && strcasestr(h, "chunked"))
			chunked = 1;
	}
	if (chunked)
		return -1; /* chirp sends Content-Length; chunked is not supported */
	if (c->status == 204 || c->status == 304 || (c->status >= 100 && c->status < 200))
		c->body_left = 0;
	return 0;
}

static void on_readable(int i, int64_t now)
{
	static char buf[65536];
	struct conn *c = &conns[i];
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			fail(i, now, 0);
			return;
		}
		if (n == 0) { /* closed by the server */
			if (c->st == ST_BUSY && c->in_body && c->body_left < 0) {
				done(i, now); /* body ran until close */
				if (c->st != ST_DEAD && c->st != ST_CONNECTING)
					reconnect(i);
				return;
			}
			fail(i, now, 0);
			return;
		}
		if (c->st != ST_BUSY)
			continue; /* unexpected bytes on an idle connection: ignore */
		size_t off = 0;
		if (!c->in_body) {
			size_t take = (size_t)n;
			if (take > HDR_CAP - c->hdr_len)
				take = HDR_CAP - c->hdr_len;
			size_t from = c->hdr_len >= 3 ? c->hdr_len - 3 : 0;
			memcpy(c->hdr + c->hdr_len, buf, take);
			c->hdr_len += take;
			char *e = memmem(c->hdr + from, c->hdr_len - from, "\r\n\r\n", 4);
			if (!e) {
				if (c->hdr_len == HDR_CAP) {
					fail(i, now, 0);
					return;
				}
				continue;
			}
			size_t end = (size_t)(e - c->hdr) + 4;
			if (parse_head(c, end) < 0) {
				fail(i, now, 0);
				return;
			}
			c->in_body = 1;
			off = end - (c->hdr_len - take); /* bytes of buf used by the head */
		}
		if (c->body_left >= 0) {
			c->body_left -= (int64_t)((size_t)n - off);
			if (c->body_left <= 0) {
				done(i, now);
				if (c->st != ST_FREE)
					return; /* reconnected: fd changed */
			}
		}
	}
}

static void try_write(int i, int64_t now)
{
	struct conn *c = &conns[i];
	while (c->req_off < c->req_len) {
		ssize_t n = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ep_set(i, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
				return;
			}
			if (errno == EINTR)
				continue;
			fail(i, now, 0);
			return;
		}
		c->req_off += (size_t)n;
	}
}

static void send_on(int i, const char *req, size_t len, int64_t due, int64_t now)
{
	struct conn *c = &conns[i];
	c->st = ST_BUSY;
	c->due_ns = due;
	c->req = req;
	c->req_len = len;
	c->req_off = 0;
	c->in_body = 0;
	c->hdr_len = 0;
	c->status = 0;
	c->close_after = 0;
	n_sent++;
	lat_add(&lag, now - due);
	try_write(i, now);
}

static void on_event(int i, uint32_t ev, int64_t now)
{
	struct conn *c = &conns[i];
	if (c->st == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (ev & (EPOLLERR | EPOLLHUP))) {
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			c->fd = -1;
			c->st = ST_DEAD;
			c->retry_ns = now + 10000000;
			return;
		}
		ep_set(i, EPOLLIN, EPOLL_CTL_MOD);
		make_free(i);
		return;
	}
	if (ev & EPOLLIN || ev & (EPOLLERR | EPOLLHUP)) {
		on_readable(i, now);
		if (conns[i].st != ST_BUSY)
			return;
	}
	if (ev & EPOLLOUT && c->st == ST_BUSY) {
		try_write(i, now);
		if (c->st == ST_BUSY && c->req_off == c->req_len)
			ep_set(i, EPOLLIN, EPOLL_CTL_MOD);
	}
}

/* Reconnects dead connections whose back-off ended; fails timed-out ones. */
static void housekeeping(int64_t now)
{
	for (int i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		if (c->st == ST_DEAD && now >= c->retry_ns)
			start_connect(i);
		else if (c->st == ST_BUSY && now - c->due_ns > timeout_ns)
			fail(i, now, 1);
	}
}

static void arm(int tfd, int64_t at)
{
	struct itimerspec its = { 0 };
	if (at <= 0)
		at = 1;
	its.it_value.tv_sec = at / 1000000000LL;
	its.it_value.tv_nsec = at % 1000000000LL;
	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static char *build_request(const char *host, const char *path, char **hdrs, int nhdrs,
			   const char *token, size_t *len)
{
	size_t cap = 512 + strlen(path) + strlen(host) + (token ? strlen(token) : 0);
	for (int k = 0; k < nhdrs; k++)
		cap += strlen(hdrs[k]) + 2;
	char *r = malloc(cap);
	if (!r)
		die("out of memory");
	size_t n = (size_t)snprintf(r, cap, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, host);
	for (int k = 0; k < nhdrs; k++)
		n += (size_t)snprintf(r + n, cap - n, "%s\r\n", hdrs[k]);
	if (token)
		n += (size_t)snprintf(r + n, cap - n, "Authorization: Bearer %s\r\n", token);
	n += (size_t)snprintf(r + n, cap - n, "\r\n");
	*len = n;
	return r;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --url http://127.0.0.1:PORT/PATH --rate R --duration S "
		"--connections C\n"
		"               [--header 'Name: value']... [--tokens FILE] [--timeout S] "
		"[--drain S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *tokens_file = NULL;
	double rate = 0, duration = 0, drain_s = 10;
	char *hdrs[MAX_HEADERS];
	int nhdrs = 0;
	nconns = 0;
	for (int a = 1; a < argc; a++) {
		const char *o = argv[a];
		if (a + 1 >= argc)
			usage();
		const char *v = argv[++a];
		if (!strcmp(o, "--url"))
			url = v;
		else if (!strcmp(o, "--rate"))
			rate = atof(v);
		else if (!strcmp(o, "--duration"))
			duration = atof(v);
		else if (!strcmp(o, "--connections"))
			nconns = atoi(v);
		else if (!strcmp(o, "--header") && nhdrs < MAX_HEADERS)
			hdrs[nhdrs++] = (char *)v;
		else if (!strcmp(o, "--tokens"))
			tokens_file = v;
		else if (!strcmp(o, "--timeout"))
			timeout_ns = (int64_t)(atof(v) * 1e9);
		else if (!strcmp(o, "--drain"))
			drain_s = atof(v);
		else
			usage();
	}
	if (!url || rate <= 0 || duration <= 0 || nconns <= 0 || nconns > 60000 || timeout_ns <= 0)
		usage();
	if (duration > 3600 || drain_s < 0 || drain_s > 600)
		die("--duration at most 3600 s, --drain 0..600 s");

	/* http://HOST:PORT/PATH, HOST an IPv4 address or localhost. */
	if (strncmp(url, "http://", 7) != 0)
		die("--url must start with http://");
	char host[256];
	const char *hp = url + 7, *slash = strchr(hp, '/');
	const char *path = slash ? slash : "/";
	size_t hl = slash ? (size_t)(slash - hp) : strlen(hp);
	if (hl == 0 || hl >= sizeof(host))
		die("bad host in --url");
	memcpy(host, hp, hl);
	host[hl] = '\0';
	char ip[256];
	int port = 80;
	strcpy(ip, host);
	char *colon = strrchr(ip, ':');
	if (colon) {
		*colon = '\0';
		port = atoi(colon + 1);
	}
	if (!strcmp(ip, "localhost"))
		strcpy(ip, "127.0.0.1");
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
		die("--url needs a numeric IPv4 host (or localhost) and a port");

	/* Requests, formatted up front: one per token, or one. */
	char **reqs = NULL;
	size_t *req_lens = NULL, nreqs = 0, reqs_cap = 0;
	if (tokens_file) {
		FILE *f = fopen(tokens_file, "r");
		if (!f)
			die("cannot open --tokens file");
		char line[1024];
		while (fgets(line, sizeof(line), f)) {
			char id[256], tok[768];
			if (sscanf(line, "%255s %767s", id, tok) != 2)
				continue;
			if (nreqs == reqs_cap) {
				reqs_cap = reqs_cap ? 2 * reqs_cap : 1024;
				reqs = realloc(reqs, reqs_cap * sizeof(*reqs));
				req_lens = realloc(req_lens, reqs_cap * sizeof(*req_lens));
				if (!reqs || !req_lens)
					die("out of memory");
			}
			reqs[nreqs] = build_request(host, path, hdrs, nhdrs, tok, &req_lens[nreqs]);
			nreqs++;
		}
		fclose(f);
		if (!nreqs)
			die("no \"user_id token\" lines in --tokens file");
	} else {
		reqs = malloc(sizeof(*reqs));
		req_lens = malloc(sizeof(*req_lens));
		if (!reqs || !req_lens)
			die("out of memory");
		reqs[0] = build_request(host, path, hdrs, nhdrs, NULL, &req_lens[0]);
		nreqs = 1;
	}

	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconns + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)nconns + 64 ? rl.rlim_max : (rlim_t)nconns + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0)
		die("epoll/timerfd");
	struct epoll_event tev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
	conns = calloc((size_t)nconns, sizeof(*conns));
	free_stack = calloc((size_t)nconns, sizeof(*free_stack));
	if (!conns || !free_stack)
		die("out of memory");
	struct epoll_event evs[256];

	/* Connect the whole pool first (at most 5 s). */
	for (int i = 0; i < nconns; i++) {
		conns[i].fd = -1;
		start_connect(i);
	}
	int64_t deadline = now_ns() + 5000000000LL;
	while (nfree < nconns && now_ns() < deadline) {
		int n = epoll_wait(ep, evs, 256, 50);
		int64_t now = now_ns();
		for (int k = 0; k < n; k++)
			if (evs[k].data.u32 != UINT32_MAX)
				on_event((int)evs[k].data.u32, evs[k].events, now);
		housekeeping(now);
	}
	if (nfree == 0)
		die("could not connect to the server");
	if (nfree < nconns)
		fprintf(stderr, "loadgen: only %d of %d connections open after 5 s\n", nfree,
			nconns);

	/* Send phase: request i due at t0 + i/R, for i < R*S. */
	uint64_t offered = (uint64_t)(rate * duration);
	double period_ns = 1e9 / rate;
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	int64_t t0 = now_ns() + 1000000; /* 1 ms from now */
	uint64_t next = 0;
	int64_t last_hk = t0;
	while (next < offered) {
		int64_t now = now_ns();
		while (next < offered) {
			int64_t due = t0 + (int64_t)((double)next * period_ns);
			if (due > now)
				break;
			if (nfree > 0) {
				int i = free_stack[--nfree];
				size_t r = next % nreqs;
				send_on(i, reqs[r], req_lens[r], due, now);
			} else {
				n_unsent++;
			}
			next++;
		}
		if (next >= offered)
			break;
		arm(tfd, t0 + (int64_t)((double)next * period_ns));
		int n = epoll_wait(ep, evs, 256, 50);
		now = now_ns();
		for (int k = 0; k < n; k++) {
			if (evs[k].data.u32 == UINT32_MAX) {
				uint64_t x;
				ssize_t rr = read(tfd, &x, sizeof(x));
				(void)rr;
				continue;
			}
			on_event((int)evs[k].data.u32, evs[k].events, now);
		}
		if (now - last_hk > 20000000) {
			housekeeping(now);
			last_hk = now;
		}
	}
	int64_t t_end = now_ns();

	/* Drain: wait for responses in flight (at most --drain seconds). */
	struct itimerspec off = { 0 };
	timerfd_settime(tfd, 0, &off, NULL);
	int64_t drain_deadline = t_end + (int64_t)(drain_s * 1e9);
	for (;;) {
		int busy = 0;
		for (int i = 0; i < nconns; i++)
			busy += conns[i].st == ST_BUSY;
		int64_t now = now_ns();
		if (!busy || now >= drain_deadline)
			break;
		int n = epoll_wait(ep, evs, 256, 20);
		now = now_ns();
		for (int k = 0; k < n; k++)
			if (evs[k].data.u32 != UINT32_MAX)
				on_event((int)evs[k].data.u32, evs[k].events, now);
		for (int i = 0; i < nconns; i++) /* time-outs only; no reconnects */
			if (conns[i].st == ST_BUSY && now - conns[i].due_ns > timeout_ns)
				fail(i, now, 1);
	}
	/* Whatever is still in flight is a time-out; its latency (a lower
	 * bound) still counts in p99_all. */
	int64_t now = now_ns();
	uint64_t unfinished = 0;
	for (int i = 0; i < nconns; i++)
		if (conns[i].st == ST_BUSY) {
			unfinished++;
			n_timeouts++;
			lat_add(&lat_all, now - conns[i].due_ns);
		}
	getrusage(RUSAGE_SELF, &ru1);
	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		     (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		     (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		     (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	double wall = (double)(now - t0) / 1e9;
	double dur = (double)(t_end - t0) / 1e9;
	uint32_t p50_ok = pct(&lat_ok, 50), p99_ok = pct(&lat_ok, 99);
	uint32_t max_ok = lat_ok.n ? lat_ok.v[lat_ok.n - 1] : 0;
	uint32_t p99_all = pct(&lat_all, 99);
	uint32_t lag_p99 = pct(&lag, 99), lag_max = lag.n ? lag.v[lag.n - 1] : 0;
	printf("LOADGEN offered=%llu sent=%llu ok=%llu shed503=%llu other=%llu unsent=%llu "
	       "p50_ok_us=%u p99_ok_us=%u p99_all_us=%u duration_s=%.3f "
	       "rate=%.1f connections=%d ok_rps=%.1f max_ok_us=%u other_status=%llu errors=%llu "
	       "timeouts=%llu unfinished=%llu lag_p99_us=%u lag_max_us=%u cpu_pct=%.1f\n",
	       (unsigned long long)offered, (unsigned long long)n_sent, (unsigned long long)n_ok,
	       (unsigned long long)n_503,
	       (unsigned long long)(n_other_status + n_errors + n_timeouts),
	       (unsigned long long)n_unsent, p50_ok, p99_ok, p99_all, dur, rate, nconns,
	       dur > 0 ? (double)n_ok / dur : 0.0, max_ok, (unsigned long long)n_other_status,
	       (unsigned long long)n_errors, (unsigned long long)n_timeouts,
	       (unsigned long long)unfinished, lag_p99, lag_max,
	       wall > 0 ? 100.0 * cpu / wall : 0.0);
	return 0;
}
