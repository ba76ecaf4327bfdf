/*
 * httpc — see httpc.h.
 */
#include "util/httpc.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/timeutil.h"

#define HEAD_MAX 16384

struct conn {
	int fd;
	SSL *ssl;
	uint64_t deadline_ns;
};

static int left_ms(const struct conn *c)
{
	uint64_t now = time_mono_ns();
	return now >= c->deadline_ns ? 0 : (int)((c->deadline_ns - now) / 1000000 + 1);
}

static bool wait_fd(const struct conn *c, short ev)
{
	struct pollfd p = {.fd = c->fd, .events = ev};
	int ms = left_ms(c);
	return ms > 0 && poll(&p, 1, ms) == 1;
}

static int conn_write(struct conn *c, const char *p, size_t len)
{
	while (len) {
		ssize_t n;
		if (c->ssl) {
			int r = SSL_write(c->ssl, p, (int)(len > 1 << 20 ? 1 << 20 : len));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);
				if ((e == SSL_ERROR_WANT_WRITE && wait_fd(c, POLLOUT)) ||
				    (e == SSL_ERROR_WANT_READ && wait_fd(c, POLLIN)))
					continue;
				return -1;
			}
			n = r;
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				if (!wait_fd(c, POLLOUT))
					return -1;
				continue;
			}
			if (n <= 0)
				return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads some bytes: >0, 0 at the end, -1 on error or timeout. */
static ssize_t conn_read(struct conn *c, char *buf, size_t cap)
{
	for (;;) {
		if (c->ssl) {
			int r = SSL_read(c->ssl, buf, (int)cap);
			if (r > 0)
				return r;
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			if ((e == SSL_ERROR_WANT_READ && wait_fd(c, POLLIN)) ||
			    (e == SSL_ERROR_WANT_WRITE && wait_fd(c, POLLOUT)))
				continue;
			return -1;
		}
		ssize_t n = recv(c->fd, buf, cap, 0);
		if (n >= 0)
			return n;
		if ((errno == EAGAIN || errno == EINTR) && wait_fd(c, POLLIN))
			continue;
		return -1;
	}
}

static int connect_to(struct conn *c, const char *host, const char *port, struct strbuf *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai, *a;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai) {
		strbuf_appendf(err, "%s: %s", host, gai_strerror(gai));
		return -1;
	}
	c->fd = -1;
	for (a = ai; a && c->fd < 0; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		c->fd = fd;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (errno == EINPROGRESS && wait_fd(c, POLLOUT) &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			break;
		close(fd);
		c->fd = -1;
	}
	freeaddrinfo(ai);
	if (c->fd < 0) {
		strbuf_appendf(err, "cannot connect to %s:%s", host, port);
		return -1;
	}
	return 0;
}

static int tls_start(struct conn *c, const char *host, struct strbuf *err)
{
	static SSL_CTX *ctx; /* made once; OpenSSL 3 makes this thread-safe to share */
	if (!ctx) {
		SSL_CTX *n = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_default_verify_paths(n);
		SSL_CTX_set_verify(n, SSL_VERIFY_PEER, NULL);
		if (!__sync_bool_compare_and_swap(&ctx, NULL, n))
			SSL_CTX_free(n);
	}
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, host);
	SSL_set1_host(c->ssl, host);
	for (;;) {
		int r = SSL_connect(c->ssl);
		if (r == 1)
			return 0;
		int e = SSL_get_error(c->ssl, r);
		if ((e == SSL_ERROR_WANT_READ && wait_fd(c, POLLIN)) ||
		    (e == SSL_ERROR_WANT_WRITE && wait_fd(c, POLLOUT)))
			continue;
		strbuf_appendf(err, "TLS with %s failed", host);
		return -1;
	}
}

static bool header_value(const char *head, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			const char *end = strstr(v, "\r\n");
			size_t len = end ? (size_t)(end - v) : strlen(v);
			if (len >= cap)
				len = cap - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			return true;
		}
	}
	return false;
}

int httpc_request(const char *method, const char *url, const char *headers, const void *body,
		  size_t len, uint64_t timeout_ms, int head_only, struct httpc_response *res,
		  struct strbuf *err)
{
	memset(res, 0, sizeof(*res));
	strbuf_init(&res->body);
	bool tls = strncmp(url, "https://", 8) == 0;
	if (!tls && strncmp(url, "http://", 7) != 0) {
		strbuf_appendf(err, "not an http(s) URL: %s", url);
		return -1;
	}
	const char *hp = url + (tls ? 8 : 7), *path = strchr(hp, '/');
	if (!path)
		path = "/";
	size_t hplen = (size_t)(path - hp);
	char host[256], port[8];
	const char *colon = memchr(hp, ':', hplen);
	size_t hlen = colon ? (size_t)(colon - hp) : hplen;
	if (hlen == 0 || hlen >= sizeof(host) || (colon && (size_t)(hp + hplen - colon - 1) >= sizeof(port))) {
		strbuf_appendf(err, "bad URL: %s", url);
		return -1;
	}
	memcpy(host, hp, hlen);
	host[hlen] = '\0';
	if (colon) {
		memcpy(port, colon + 1, (size_t)(hp + hplen - colon - 1));
		port[hp + hplen - colon - 1] = '\0';
	} else {
		strcpy(port, tls ? "443" : "80");
	}
	struct conn c = {.fd = -1, .deadline_ns = time_mono_ns() + timeout_ms * 1000000};
	int rc = -1;
	struct strbuf req = STRBUF_INIT, head = STRBUF_INIT;
	if (connect_to(&c, host, port, err) || (tls && tls_start(&c, host, err)))
		goto done;
	strbuf_appendf(&req, "%s %s HTTP/1.1\r\nHost: %.*s\r\nConnection: close\r\n", method, path,
		       (int)hplen, hp);
	if (body || strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0)
		strbuf_appendf(&req, "Content-Length: %zu\r\n", len);
	if (headers)
		strbuf_append_str(&req, headers);
	strbuf_append(&req, "\r\n", 2);
	if (conn_write(&c, req.data, req.len) || (len && conn_write(&c, body, len))) {
		strbuf_appendf(err, "sending to %s failed", host);
		goto done;
	}
	/* the head, then as much of the body as it says */
	char buf[16384];
	char *eoh = NULL;
	while (!eoh) {
		ssize_t n = conn_read(&c, buf, sizeof(buf));
		if (n <= 0 || head.len + (size_t)n > HEAD_MAX + sizeof(buf)) {
			strbuf_appendf(err, "no response from %s", host);
			goto done;
		}
		strbuf_append(&head, buf, (size_t)n);
		eoh = strstr(head.data, "\r\n\r\n");
	}
	size_t head_len = (size_t)(eoh - head.data) + 4;
	head.data[head_len - 2] = '\0'; /* headers end with one CRLF, for header_value */
	if (sscanf(head.data, "HTTP/1.%*c %d", &res->status) != 1) {
		strbuf_appendf(err, "bad response from %s", host);
		goto done;
	}
	char v[80];
	if (header_value(head.data, "etag", v, sizeof(v))) {
		size_t vl = strlen(v);
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
			memmove(v, v + 1, vl - 2), v[vl - 2] = '\0';
		snprintf(res->etag, sizeof(res->etag), "%s", v);
	}
	bool have_len = header_value(head.data, "content-length", v, sizeof(v));
	res->content_length = have_len ? strtoull(v, NULL, 10) : 0;
	if (header_value(head.data, "transfer-encoding", v, sizeof(v))) {
		strbuf_appendf(err, "chunked responses are not supported");
		goto done;
	}
	if (head_only || res->status == 204 || res->status == 304) {
		rc = 0;
		goto done;
	}
	strbuf_append(&res->body, head.data + head_len, head.len - head_len);
	while (!have_len || res->body.len < res->content_length) {
		ssize_t n = conn_read(&c, buf, sizeof(buf));
		if (n == 0 && !have_len)
			break;
		if (n <= 0) {
			strbuf_appendf(err, "response from %s cut short", host);
			goto done;
		}
		strbuf_append(&res->body, buf, (size_t)n);
	}
	rc = 0;
done:
	if (c.ssl)
		SSL_free(c.ssl);
	if (c.fd >= 0)
		close(c.fd);
	strbuf_deinit(&req);
	strbuf_deinit(&head);
	if (rc)
		res->status = 0;
	return rc;
}

void httpc_response_deinit(struct httpc_response *res)
{
	strbuf_deinit(&res->body);
}
