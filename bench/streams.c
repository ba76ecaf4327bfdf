/*
 * chirp-streams — the live-feed benchmark's client: holds N event streams
 * open on one thread (epoll), posts tweets from another, and measures how
 * long each tweet takes to reach every stream.
 *
 *   chirp-streams --port P --tokens FILE --streams N [--posts M]
 *                 [--interval-ms I] [--settle-ms S] [--timeout-s T]
 *
 * FILE has lines "<user_id> <token>" (chirp-gen's tokens.txt). The client
 * signs up a poster, makes every token's user follow it, opens N streams
 * round-robin over the tokens (so N / tokens streams per user), prints
 * "READY <n>" once all are open, waits S ms, then posts M tweets I ms apart.
 * For each tweet it notes when the POST was sent and when its 201 came;
 * for each stream, when the tweet's event came. It ends when every stream
 * has every tweet (or after T s) and prints one line:
 *
 *   STREAMS_RESULT streams=N posts=M missing=K p50_ms=.. p99_ms=.. max_ms=..
 *                  p50_from_send_ms=.. p99_from_send_ms=..
 *
 * Delays are from the 201 to the event (negative when the event beat the
 * 201: fanout runs before the author is answered), and from the send.
 *
 *   chirp-streams --floor N [--bytes B]
 *
 * measures what no server can go below on this machine: N loopback TCP
 * connections, one B-byte message (800: a tweet event) written to each in
 * turn on one thread, then read from each (epoll), five rounds. It prints
 *
 *   FLOOR_RESULT streams=N bytes=B write_ms=.. read_ms=..
 *
 * with the fastest round's time to write all N and to read all N (N is
 * lowered to what the open-files limit allows for both ends): one
 * post's delivery to N streams costs at least write_ms of the server's
 * cores and read_ms of the clients'.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_POSTS 1000
#define CONNECT_BATCH 500 /* streams opening at once (the listen backlog) */

struct conn {
	int fd;
	bool open;          /* the 200 came */
	size_t got;         /* tweet events seen */
	size_t len;         /* bytes in buf */
	char buf[2048];     /* an unfinished line */
};

struct post {
	uint64_t id;
	double sent, answered; /* seconds, CLOCK_MONOTONIC */
};

struct arrival {
	uint64_t id;
	double at;
};

static int port;
static struct post posts[MAX_POSTS];
static size_t nposts_done;
static pthread_mutex_t posts_lock = PTHREAD_MUTEX_INITIALIZER;
static char poster_token[64];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void fail(const char *what)
{
	fprintf(stderr, "chirp-streams: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int dial(bool blocking)
{
	int fd = socket(AF_INET, SOCK_STREAM | (blocking ? 0 : SOCK_NONBLOCK), 0);
	if (fd < 0)
		fail("socket");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		fail("connect");
	return fd;
}

/* One request on a blocking keep-alive connection; the body of the answer
 * into body[cap]. Returns the status. chirp's JSON answers have a length. */
static int request(int fd, const char *method, const char *path, const char *token,
		   const char *json, char *body, size_t cap)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: bench\r\n%s%s%sContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, token ? "Authorization: Bearer " : "", token ? token : "",
			 token ? "\r\n" : "", json ? strlen(json) : 0, json ? json : "");
	if (write(fd, req, (size_t)n) != n)
		fail("write");
	char resp[8192];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		ssize_t r = read(fd, resp + len, sizeof(resp) - 1 - len);
		if (r <= 0)
			fail("read");
		len += (size_t)r;
		resp[len] = '\0';
		end = strstr(resp, "\r\n\r\n");
	}
	int status = atoi(resp + 9);
	char *cl = strcasestr(resp, "content-length:");
	size_t want = cl && cl < end ? (size_t)atol(cl + 15) : 0;
	size_t have = len - (size_t)(end + 4 - resp);
	while (have < want) {
		ssize_t r = read(fd, resp + len, sizeof(resp) - 1 - len);
		if (r <= 0)
			fail("read body");
		len += (size_t)r;
		have += (size_t)r;
	}
	resp[len] = '\0';
	snprintf(body, cap, "%s", end + 4);
	return status;
}

/* The string value of "key":"..." in a JSON text, into out[cap]. */
static void json_str(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(json, pat);
	if (!p) {
		fprintf(stderr, "chirp-streams: no %s in %s\n", key, json);
		exit(1);
	}
	p += strlen(pat);
	size_t n = strcspn(p, "\"");
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

struct post_args {
	size_t n;
	unsigned interval_ms;
	unsigned settle_ms;
};

static void *poster_main(void *arg)
{
	struct post_args *a = arg;
	usleep(a->settle_ms * 1000u);
	int fd = dial(true);
	char body[4096], id[32];
	for (size_t i = 0; i < a->n; i++) {
		double sent = now();
		int st = request(fd, "POST", "/v1/tweets", poster_token,
				 "{\"text\":\"live from the stream benchmark\"}", body, sizeof(body));
		double answered = now();
		if (st != 201) {
			fprintf(stderr, "chirp-streams: post answered %d: %s\n", st, body);
			exit(1);
		}
		json_str(body, "id", id, sizeof(id));
		pthread_mutex_lock(&posts_lock);
		posts[i] = (struct post){strtoull(id, NULL, 10), sent, answered};
		nposts_done = i + 1;
		pthread_mutex_unlock(&posts_lock);
		usleep(a->interval_ms * 1000u);
	}
	close(fd);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	return n ? v[(size_t)(p * (double)(n - 1))] : 0;
}

/* The loopback floor (see the top): a listener, n connected pairs, then
 * rounds of one message to every writer and one read from every reader. */
static int floor_main(size_t n, size_t bytes)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t salen = sizeof(sa);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4096) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0)
		fail("listen");
	port = ntohs(sa.sin_port);
	int *wfd = calloc(n, sizeof(*wfd)), *rfd = calloc(n, sizeof(*rfd));
	char *msg = malloc(bytes), buf[4096];
	if (!wfd || !rfd || !msg)
		fail("malloc");
	memset(msg, 'x', bytes);
	int ep = epoll_create1(0);
	for (size_t i = 0; i < n; i++) {
		rfd[i] = dial(true); /* the client's end */
		wfd[i] = accept4(lfd, NULL, NULL, SOCK_NONBLOCK); /* the server's */
		if (wfd[i] < 0)
			fail("accept");
		int one = 1;
		setsockopt(wfd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(rfd[i], F_SETFL, O_NONBLOCK);
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, rfd[i], &ev) != 0)
			fail("epoll_ctl");
	}
	double best_w = 1e9, best_r = 1e9;
	struct epoll_event evs[256];
	for (int round = 0; round < 5; round++) {
		double t0 = now();
		for (size_t i = 0; i < n; i++)
			if (write(wfd[i], msg, bytes) != (ssize_t)bytes)
				fail("write");
		double t1 = now();
		size_t got = 0;
		while (got < n * bytes) {
			int k = epoll_wait(ep, evs, 256, 1000);
			if (k <= 0)
				fail("epoll_wait");
			for (int e = 0; e < k; e++) {
				ssize_t r = read(rfd[evs[e].data.u64], buf, sizeof(buf));
				if (r > 0)
					got += (size_t)r;
			}
		}
		double t2 = now();
		if (t1 - t0 < best_w)
			best_w = t1 - t0;
		if (t2 - t1 < best_r)
			best_r = t2 - t1;
	}
	printf("FLOOR_RESULT streams=%zu bytes=%zu write_ms=%.2f read_ms=%.2f\n", n, bytes,
	       best_w * 1e3, best_r * 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	const char *tokens_file = NULL;
	size_t floor_n = 0, floor_bytes = 800;
	size_t nstreams = 0, nposts = 20;
	unsigned interval_ms = 250, settle_ms = 1000, timeout_s = 120;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--tokens")) tokens_file = argv[i + 1];
		else if (!strcmp(argv[i], "--streams")) nstreams = (size_t)atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--posts")) nposts = (size_t)atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--interval-ms")) interval_ms = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--settle-ms")) settle_ms = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--timeout-s")) timeout_s = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--floor")) floor_n = (size_t)atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--bytes")) floor_bytes = (size_t)atol(argv[i + 1]);
	}
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (floor_n && floor_bytes && floor_bytes <= 4096) {
		/* Both ends are ours here: as many pairs as the limit allows
		 * (the result line says how many). */
		size_t room = rl.rlim_cur > 128 ? (size_t)(rl.rlim_cur - 64) / 2 : 32;
		return floor_main(floor_n < room ? floor_n : room, floor_bytes);
	}
	if (!port || !tokens_file || !nstreams || nposts > MAX_POSTS) {
		fprintf(stderr, "usage: chirp-streams --port P --tokens FILE --streams N [--posts M<=%d]"
				" [--interval-ms I] [--settle-ms S] [--timeout-s T]\n"
				"       chirp-streams --floor N [--bytes B<=4096]\n", MAX_POSTS);
		return 2;
	}

	/* The readers' tokens. */
	FILE *f = fopen(tokens_file, "r");
	if (!f)
		fail(tokens_file);
	size_t ntok = 0, tcap = 1024;
	char (*tokens)[64] = malloc(tcap * sizeof(*tokens));
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		if (ntok == tcap)
			tokens = realloc(tokens, (tcap *= 2) * sizeof(*tokens));
		if (sscanf(line, "%*s %63s", tokens[ntok]) == 1)
			ntok++;
	}
	fclose(f);

	/* The poster, followed by every reader. */
	int fd = dial(true);
	char body[4096], json[256], poster_id[32], path[128];
	snprintf(json, sizeof(json), "{\"handle\":\"streams%d\",\"password\":\"benchpassword\"}",
		 (int)getpid());
	if (request(fd, "POST", "/v1/users", NULL, json, body, sizeof(body)) != 201)
		fprintf(stderr, "chirp-streams: sign-up: %s\n", body), exit(1);
	json_str(body, "id", poster_id, sizeof(poster_id));
	if (request(fd, "POST", "/v1/sessions", NULL, json, body, sizeof(body)) != 201)
		fprintf(stderr, "chirp-streams: log-in: %s\n", body), exit(1);
	json_str(body, "token", poster_token, sizeof(poster_token));
	snprintf(path, sizeof(path), "/v1/users/%s/follows", poster_id);
	for (size_t i = 0; i < ntok; i++) {
		int st = request(fd, "POST", path, tokens[i], NULL, body, sizeof(body));
		if (st != 200 && st != 201)
			fprintf(stderr, "chirp-streams: follow answered %d: %s\n", st, body), exit(1);
	}
	close(fd);

	/* The streams, a batch at a time. */
	int ep = epoll_create1(0);
	struct conn *conns = calloc(nstreams, sizeof(*conns));
	size_t cap_arr = nstreams * nposts + 1, narr = 0;
	struct arrival *arr = malloc(cap_arr * sizeof(*arr));
	size_t opened = 0, started = 0, complete = 0;
	struct epoll_event evs[256];
	double t_open = now(), deadline = 0;
	bool posting = false;
	pthread_t poster;
	struct post_args pa = {nposts, interval_ms, settle_ms};
	for (;;) {
		while (started < nstreams && started - opened < CONNECT_BATCH) {
			struct conn *c = &conns[started];
			c->fd = dial(false);
			char req[256];
			int n = snprintf(req, sizeof(req),
					 "GET /v1/feed/stream HTTP/1.1\r\nHost: bench\r\n"
					 "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
					 tokens[started % ntok]);
			struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
			c->len = (size_t)n;
			memcpy(c->buf, req, (size_t)n); /* sent once connected */
			started++;
		}
		if (!posting && opened == nstreams) {
			printf("READY %zu streams open in %.1f s\n", opened, now() - t_open);
			fflush(stdout);
			pthread_create(&poster, NULL, poster_main, &pa);
			posting = true;
			deadline = now() + timeout_s;
		}
		if (posting && (complete == nstreams || now() > deadline))
			break;
		int k = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < k; i++) {
			struct conn *c = evs[i].data.ptr;
			if (evs[i].events & EPOLLOUT) { /* connected: send the request */
				if (write(c->fd, c->buf, c->len) != (ssize_t)c->len)
					fail("stream request");
				c->len = 0;
				struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			for (;;) {
				ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
				if (r == 0) {
					fprintf(stderr, "chirp-streams: a stream closed\n");
					exit(1);
				}
				if (r < 0)
					break; /* EAGAIN */
				double at = now();
				c->len += (size_t)r;
				c->buf[c->len] = '\0';
				char *p = c->buf, *nl;
				while ((nl = memchr(p, '\n', c->len - (size_t)(p - c->buf)))) {
					*nl = '\0';
					if (!c->open && !strncmp(p, "HTTP/1.1 ", 9)) {
						if (atoi(p + 9) != 200) {
							fprintf(stderr, "chirp-streams: stream answered %s\n", p);
							exit(1);
						}
						c->open = true;
						opened++;
					} else if (!strncmp(p, "id: ", 4) && narr < cap_arr) {
						arr[narr++] = (struct arrival){strtoull(p + 4, NULL, 10), at};
						if (++c->got == nposts)
							complete++;
					}
					p = nl + 1;
				}
				c->len -= (size_t)(p - c->buf);
				memmove(c->buf, p, c->len);
				if (c->len > sizeof(c->buf) / 2)
					c->len = 0; /* a long data line: only id lines matter */
			}
		}
	}
	pthread_join(poster, NULL);

	double *from201 = malloc((narr + 1) * sizeof(double));
	double *fromsend = malloc((narr + 1) * sizeof(double));
	size_t n = 0;
	for (size_t i = 0; i < narr; i++) {
		for (size_t j = 0; j < nposts_done; j++) {
			if (posts[j].id == arr[i].id) {
				from201[n] = (arr[i].at - posts[j].answered) * 1000;
				fromsend[n++] = (arr[i].at - posts[j].sent) * 1000;
				break;
			}
		}
	}
	qsort(from201, n, sizeof(double), cmp_double);
	qsort(fromsend, n, sizeof(double), cmp_double);
	printf("STREAMS_RESULT streams=%zu posts=%zu missing=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	       "p50_from_send_ms=%.2f p99_from_send_ms=%.2f\n",
	       nstreams, nposts_done, nstreams * nposts - n, pct(from201, n, 0.5),
	       pct(from201, n, 0.99), n ? from201[n - 1] : 0, pct(fromsend, n, 0.5),
	       pct(fromsend, n, 0.99));
	return 0;
}
