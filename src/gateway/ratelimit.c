/*
 * ratelimit — see ratelimit.h.
 */
#include "gateway/ratelimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/respond.h"
#include "util/log.h"

struct ratelimit {
	struct limits *limits;
	struct limit_rule rules[BUDGET_COUNT];
	/* Whether an address failed at a handle within the back-off's
	 * SECONDS: a bucket of 1 token refilled in SECONDS, emptied by each
	 * failure. */
	struct limit_rule seen;
	bool enabled;
};

struct ratelimit *ratelimit_new(struct limits *limits, const struct limit_rule *rules,
				bool enabled)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	rl->limits = limits;
	memcpy(rl->rules, rules, sizeof(rl->rules));
	rl->seen = (struct limit_rule){"login-seen", 1, rules[BUDGET_LOGIN_BACKOFF].seconds};
	rl->enabled = enabled;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

/* The trusted set of --trust-proxy: addresses or CIDR prefixes separated
 * by commas ("10.0.0.5", "10.0.0.0/8,::1"). Parsed on each use: the list is
 * a few entries and the configuration is a plain string. */
struct netaddr {
	int family;
	unsigned char bytes[16];
};

static bool addr_parse(const char *s, size_t n, struct netaddr *out)
{
	char buf[CLIENT_IP_MAX];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, out->bytes) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->bytes) == 1)
		out->family = AF_INET6;
	else
		return false;
	return true;
}

static bool prefix_match(const struct netaddr *a, const struct netaddr *net, unsigned bits)
{
	if (a->family != net->family)
		return false;
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a->bytes, net->bytes, whole) != 0)
		return false;
	unsigned char mask = (unsigned char)(0xff00u >> rest);
	return !rest || (a->bytes[whole] & mask) == (net->bytes[whole] & mask);
}

static bool trusted(const char *set, const struct netaddr *a)
{
	for (const char *p = set; *p;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *b = p, *e = end;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		const char *slash = memchr(b, '/', (size_t)(e - b));
		struct netaddr net;
		if (addr_parse(b, (size_t)((slash ? slash : e) - b), &net)) {
			unsigned max = net.family == AF_INET ? 32 : 128, bits = max;
			if (slash) {
				char *num_end;
				unsigned long v = strtoul(slash + 1, &num_end, 10);
				bits = num_end == e && num_end > slash + 1 && v <= max ? (unsigned)v : max + 1;
			}
			if (bits <= max && prefix_match(a, &net, bits))
				return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

static void addr_format(const struct netaddr *a, char *out)
{
	inet_ntop(a->family, a->bytes, out, CLIENT_IP_MAX);
}

/* From the right-most X-Forwarded-For entry leftwards, across all of the
 * header's lines in the order they came: the first address that is not a
 * trusted proxy's. Every proxy in the set appends the address it saw, so
 * entries to the right of a trusted hop were written by that hop;
 * anything further left came from an untrusted sender and is only worth
 * what that sender is. Returns false, leaving *client alone, when an entry
 * before that is not an address (written by no proxy we know), and when
 * every entry is trusted. */
static bool forwarded_client(h2o_req_t *req, const char *set, struct netaddr *client)
{
	for (size_t i = req->headers.size; i-- > 0;) {
		const h2o_header_t *h = &req->headers.entries[i];
		if (!h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("x-forwarded-for")))
			continue;
		const char *start = h->value.base, *end = start + h->value.len;
		while (end > start) {
			const char *p = end;
			while (p > start && p[-1] != ',')
				p--;
			const char *b = p, *e = end;
			while (b < e && (*b == ' ' || *b == '\t'))
				b++;
			while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			end = p > start ? p - 1 : start;
			if (b == e)
				continue; /* an empty element ("a,,b"): the list syntax allows it */
			struct netaddr a;
			if (!addr_parse(b, (size_t)(e - b), &a))
				return false;
			if (!trusted(set, &a)) {
				*client = a;
				return true;
			}
		}
	}
	return false;
}

void ratelimit_client_ip(h2o_req_t *req, const char *trust_proxy, char *out)
{
	struct sockaddr_storage ss;
	socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
	struct netaddr peer = {0};
	if (len && ss.ss_family == AF_INET) {
		peer.family = AF_INET;
		memcpy(peer.bytes, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (len && ss.ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) { /* an IPv4 peer of a dual-stack listener */
			peer.family = AF_INET;
			memcpy(peer.bytes, a6->s6_addr + 12, 4);
		} else {
			peer.family = AF_INET6;
			memcpy(peer.bytes, a6, 16);
		}
	} else {
		strcpy(out, "unknown");
		return;
	}
	struct netaddr client = peer;
	if (trust_proxy && trusted(trust_proxy, &peer))
		forwarded_client(req, trust_proxy, &client);
	addr_format(&client, out);
}

static void set_headers(h2o_req_t *req, const struct limit_result *r)
{
	char v[16];
	int n = snprintf(v, sizeof(v), "%u", r->limit);
	http_header_set(req, "x-ratelimit-limit", v, (size_t)n);
	n = snprintf(v, sizeof(v), "%u", r->remaining);
	http_header_set(req, "x-ratelimit-remaining", v, (size_t)n);
	n = snprintf(v, sizeof(v), "%u", r->reset);
	http_header_set(req, "x-ratelimit-reset", v, (size_t)n);
}

static void refuse(h2o_req_t *req, const struct limit_result *r)
{
	char v[16];
	int n = snprintf(v, sizeof(v), "%u", r->retry_after);
	http_header_add(req, "retry-after", v, (size_t)n);
	http_send_error(req, 429, "rate_limited", "too many requests; try again later");
}

/* Of two results, the one closer to running out (refusals first). */
static const struct limit_result *tighter(const struct limit_result *a,
					  const struct limit_result *b)
{
	if (a->allowed != b->allowed)
		return a->allowed ? b : a;
	return (uint64_t)a->remaining * b->limit <= (uint64_t)b->remaining * a->limit ? a : b;
}

static void take(struct ratelimit *rl, enum budget b, const char *subject, size_t len,
		 uint32_t cost, struct limit_result *out)
{
	rl->limits->ops->take(rl->limits, &rl->rules[b], subject, len, cost, out);
}

/* Who pays the "requests" budget: the user, or else the client IP.
 * `buf` holds the user's key; the result points to it or to the IP. */
static const char *payer(const struct ratelimit_payer *who, char *buf, size_t cap, size_t *len)
{
	if (!who->user_id) {
		*len = strlen(who->client_ip);
		return who->client_ip;
	}
	*len = (size_t)snprintf(buf, cap, "u%llu", (unsigned long long)who->user_id);
	return buf;
}

void ratelimit_charge(struct ratelimit *rl, const struct ratelimit_payer *who,
		      enum budget route_budget, bool show_only, struct ratelimit_verdict *out)
{
	out->counted = rl->enabled;
	out->show_only = show_only;
	if (!rl->enabled)
		return;
	char user[24];
	size_t key_len;
	const char *key = payer(who, user, sizeof(user), &key_len);
	struct limit_result all, own;
	take(rl, BUDGET_REQUESTS, key, key_len, show_only ? 0 : 1, &all);
	out->shown = all;
	if (!show_only && route_budget != BUDGET_COUNT && all.allowed) {
		/* sign-up and log-in are per address; posting is per user */
		bool per_ip = route_budget == BUDGET_SIGNUP || route_budget == BUDGET_LOGIN;
		take(rl, route_budget, per_ip ? who->client_ip : key,
		     per_ip ? strlen(who->client_ip) : key_len, 1, &own);
		out->shown = *tighter(&all, &own);
	}
}

bool ratelimit_apply(h2o_req_t *req, const struct ratelimit_verdict *v)
{
	if (!v->counted)
		return true;
	set_headers(req, &v->shown);
	if (v->show_only || v->shown.allowed)
		return true;
	refuse(req, &v->shown);
	return false;
}

void ratelimit_show(struct ratelimit *rl, h2o_req_t *req, const struct ratelimit_payer *who)
{
	struct ratelimit_verdict v;
	ratelimit_charge(rl, who, BUDGET_COUNT, true, &v);
	ratelimit_apply(req, &v);
}

bool ratelimit_admit(struct ratelimit *rl, h2o_req_t *req, const struct ratelimit_payer *who,
		     enum budget route_budget)
{
	struct ratelimit_verdict v;
	ratelimit_charge(rl, who, route_budget, false, &v);
	return ratelimit_apply(req, &v);
}

/* "handle NUL ip" into buf: the subject of a (handle, address) pair. */
static size_t handle_ip(char *buf, size_t cap, const char *handle, size_t len, const char *ip)
{
	size_t iplen = strlen(ip);
	if (len + 1 + iplen > cap)
		len = cap - 1 - iplen; /* handles are short; never in practice */
	memcpy(buf, handle, len);
	buf[len] = '\0';
	memcpy(buf + len + 1, ip, iplen);
	return len + 1 + iplen;
}

void ratelimit_login_check(struct ratelimit *rl, const char *handle, size_t len,
			   const char *client_ip, struct ratelimit_verdict *out)
{
	*out = (struct ratelimit_verdict){0};
	if (!rl->enabled)
		return;
	char pair[128 + CLIENT_IP_MAX];
	size_t plen = handle_ip(pair, sizeof(pair), handle, len, client_ip);
	struct limit_result r;
	take(rl, BUDGET_LOGIN_HANDLE, pair, plen, 0, &r); /* look, do not take */
	if (r.retry_after) {
		out->counted = true;
		out->shown = r;
		out->shown.allowed = false;
		return;
	}
	uint32_t wait;
	rl->limits->ops->backoff(rl->limits, &rl->rules[BUDGET_LOGIN_BACKOFF], handle, len, false,
				 &wait);
	if (!wait)
		return;
	struct limit_result seen;
	rl->limits->ops->take(rl->limits, &rl->seen, pair, plen, 0, &seen);
	if (seen.remaining >= 1) /* no failure from here: the owner's try */
		return;
	out->counted = true;
	out->shown = (struct limit_result){.allowed = false,
					   .limit = rl->rules[BUDGET_LOGIN_BACKOFF].count,
					   .reset = wait, .retry_after = wait};
}

void ratelimit_login_failed(void *arg, const char *handle, const char *client_ip)
{
	struct ratelimit *rl = arg;
	if (!rl->enabled)
		return;
	char pair[128 + CLIENT_IP_MAX];
	size_t len = strlen(handle);
	size_t plen = handle_ip(pair, sizeof(pair), handle, len, client_ip);
	struct limit_result r;
	take(rl, BUDGET_LOGIN_HANDLE, pair, plen, 1, &r);
	rl->limits->ops->take(rl->limits, &rl->seen, pair, plen, 1, &r);
	uint32_t wait;
	rl->limits->ops->backoff(rl->limits, &rl->rules[BUDGET_LOGIN_BACKOFF], handle, len, true,
				 &wait);
}
