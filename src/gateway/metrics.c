/*
 * metrics — see metrics.h. A route's method is fixed by the route table,
 * so counters are indexed by (route, status) alone; the unmatched slot
 * counts every method together.
 */
#include "gateway/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/log.h"

#define STATUS_MIN 100
#define STATUS_SLOTS 500 /* 100..599 */

/* Latency buckets, seconds (Prometheus histogram "le" bounds). */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct route_metrics {
	atomic_uint_fast64_t by_status[STATUS_SLOTS];
	atomic_uint_fast64_t buckets[NBOUNDS + 1]; /* the last is +Inf */
	atomic_uint_fast64_t sum_ns, count;
};

struct metrics {
	size_t nroutes;
	atomic_uint_fast64_t inflight;
	struct route_metrics *routes; /* nroutes + 1 */
};

struct metrics *metrics_new(size_t nroutes)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	m->nroutes = nroutes;
	m->routes = xcalloc(nroutes + 1, sizeof(*m->routes));
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->routes);
	free(m);
}

void metrics_request(struct metrics *m, size_t route, int status, uint64_t duration_ns)
{
	struct route_metrics *r = &m->routes[route <= m->nroutes ? route : m->nroutes];
	if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_SLOTS)
		atomic_fetch_add_explicit(&r->by_status[status - STATUS_MIN], 1, memory_order_relaxed);
	double secs = (double)duration_ns / 1e9;
	size_t b = 0;
	while (b < NBOUNDS && secs > bounds[b])
		b++;
	atomic_fetch_add_explicit(&r->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->sum_ns, duration_ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

uint64_t metrics_inflight_enter(struct metrics *m)
{
	return atomic_fetch_add(&m->inflight, 1) + 1;
}

void metrics_inflight_leave(struct metrics *m)
{
	atomic_fetch_sub(&m->inflight, 1);
}

uint64_t metrics_inflight(struct metrics *m)
{
	return atomic_load(&m->inflight);
}

void metrics_render(struct metrics *m, struct strbuf *out,
		    void (*name_of)(size_t route, const char **tmpl, const char **method))
{
	strbuf_append_str(out, "# HELP chirp_http_requests_total HTTP requests answered, by route "
			       "template, method and status.\n"
			       "# TYPE chirp_http_requests_total counter\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		const char *tmpl = "unmatched", *method = "any";
		if (i < m->nroutes)
			name_of(i, &tmpl, &method);
		for (int s = 0; s < STATUS_SLOTS; s++) {
			uint64_t v = atomic_load_explicit(&m->routes[i].by_status[s], memory_order_relaxed);
			if (v)
				strbuf_appendf(out,
					       "chirp_http_requests_total{route=\"%s\",method=\"%s\","
					       "status=\"%d\"} %llu\n",
					       tmpl, method, s + STATUS_MIN, (unsigned long long)v);
		}
	}
	strbuf_append_str(out, "# HELP chirp_http_request_duration_seconds Time from a request's "
			       "start to its answer, by route template.\n"
			       "# TYPE chirp_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= m->nroutes; i++) {
		struct route_metrics *r = &m->routes[i];
		uint64_t count = atomic_load_explicit(&r->count, memory_order_relaxed);
		if (!count)
			continue;
		const char *tmpl = "unmatched", *method = "any";
		if (i < m->nroutes)
			name_of(i, &tmpl, &method);
		uint64_t cum = 0;
		for (size_t b = 0; b <= NBOUNDS; b++) {
			cum += atomic_load_explicit(&r->buckets[b], memory_order_relaxed);
			if (b < NBOUNDS)
				strbuf_appendf(out,
					       "chirp_http_request_duration_seconds_bucket{route=\"%s\","
					       "method=\"%s\",le=\"%g\"} %llu\n",
					       tmpl, method, bounds[b], (unsigned long long)cum);
			else
				strbuf_appendf(out,
					       "chirp_http_request_duration_seconds_bucket{route=\"%s\","
					       "method=\"%s\",le=\"+Inf\"} %llu\n",
					       tmpl, method, (unsigned long long)cum);
		}
		strbuf_appendf(out,
			       "chirp_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} "
			       "%.6f\n"
			       "chirp_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} "
			       "%llu\n",
			       tmpl, method,
			       (double)atomic_load_explicit(&r->sum_ns, memory_order_relaxed) / 1e9,
			       tmpl, method, (unsigned long long)count);
	}
	strbuf_appendf(out,
		       "# HELP chirp_http_requests_in_flight Requests being handled now.\n"
		       "# TYPE chirp_http_requests_in_flight gauge\n"
		       "chirp_http_requests_in_flight %llu\n",
		       (unsigned long long)atomic_load(&m->inflight));
}

/* ---- the scraper's token ---- */

static int token_create(const char *path, char *out, size_t cap, struct strbuf *err)
{
	unsigned char raw[32];
	char tok[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(tok, sizeof(tok), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	size_t len = strlen(tok);
	if (len + 1 > cap) {
		strbuf_appendf(err, "%s: no room for a token", path);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	tok[len] = '\n';
	int rc = fd < 0 || file_write_all(fd, tok, len + 1) != 0 || fsync(fd) != 0 ? -1 : 0;
	if (rc)
		strbuf_appendf(err, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	memcpy(out, tok, len);
	out[len] = '\0';
	sodium_memzero(tok, sizeof(tok));
	return rc;
}

int metrics_token_load(const char *path, char *out, size_t cap, struct strbuf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return token_create(path, out, cap, err);
	if (fd < 0) {
		strbuf_appendf(err, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0) {
		strbuf_appendf(err, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	out[n] = '\0';
	size_t len = strcspn(out, "\r\n");
	bool whole = len < (size_t)n || (size_t)n < cap - 1;
	out[len] = '\0';
	bool visible = true;
	for (size_t i = 0; i < len; i++)
		visible = visible && out[i] > 0x20 && out[i] < 0x7f;
	if (!whole || len < METRICS_TOKEN_MIN || !visible) {
		strbuf_appendf(err, "%s: expected one line of %d to %zu visible ASCII characters", path,
			       METRICS_TOKEN_MIN, cap - 1);
		sodium_memzero(out, cap);
		return -1;
	}
	return 0;
}

bool metrics_token_ok(const char *want, const char *token, size_t len)
{
	return len == strlen(want) && sodium_memcmp(want, token, len) == 0;
}
