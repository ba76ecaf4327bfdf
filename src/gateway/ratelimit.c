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
	bool enabled;
};

struct ratelimit *ratelimit_new(struct limits *limits, const struct limit_rule *rules,
				bool enabled)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	rl->limits = limits;
	memcpy(rl->rules, rules, sizeof(rl->rules));
	rl->enabled = enabled;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

void ratelimit_client_ip(h2o_req_t *req, const char *trust_proxy, char *out)
{
	struct sockaddr_storage ss;
	socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
	strcpy(out, "unknown");
	if (len && ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, CLIENT_IP_MAX);
	else if (len && ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, CLIENT_IP_MAX);
	h2o_iovec_t xff;
	if (!trust_proxy || strcmp(out, trust_proxy) != 0 ||
	    !http_header_get(req, "x-forwarded-for", &xff))
		return;
	/* The proxy appends the address it saw: the last entry is the one
	 * to trust; anything before it came from the client. */
	const char *end = xff.base + xff.len, *p = end;
	while (p > xff.base && p[-1] != ',')
		p--;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	char cand[CLIENT_IP_MAX];
	size_t n = (size_t)(end - p);
	unsigned char bin[sizeof(struct in6_addr)];
	if (n == 0 || n >= sizeof(cand))
		return;
	memcpy(cand, p, n);
	cand[n] = '\0';
	if (inet_pton(AF_INET, cand, bin) == 1 || inet_pton(AF_INET6, cand, bin) == 1)
		strcpy(out, cand);
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

void ratelimit_show(struct ratelimit *rl, h2o_req_t *req, const struct ratelimit_payer *who)
{
	if (!rl->enabled)
		return;
	char buf[24];
	size_t len;
	const char *key = payer(who, buf, sizeof(buf), &len);
	struct limit_result r;
	take(rl, BUDGET_REQUESTS, key, len, 0, &r);
	set_headers(req, &r);
}

bool ratelimit_admit(struct ratelimit *rl, h2o_req_t *req, const struct ratelimit_payer *who,
		     enum budget route_budget)
{
	if (!rl->enabled)
		return true;
	char user[24];
	size_t key_len;
	const char *key = payer(who, user, sizeof(user), &key_len);
	struct limit_result all, own;
	take(rl, BUDGET_REQUESTS, key, key_len, 1, &all);
	const struct limit_result *shown = &all;
	if (route_budget != BUDGET_COUNT && all.allowed) {
		/* sign-up and log-in are per address; posting is per user */
		bool per_ip = route_budget == BUDGET_SIGNUP || route_budget == BUDGET_LOGIN;
		take(rl, route_budget, per_ip ? who->client_ip : key,
		     per_ip ? strlen(who->client_ip) : key_len, 1, &own);
		shown = tighter(&all, &own);
	}
	set_headers(req, shown);
	if (!shown->allowed) {
		refuse(req, shown);
		return false;
	}
	return true;
}

bool ratelimit_login_allowed(struct ratelimit *rl, h2o_req_t *req, const char *handle, size_t len)
{
	if (!rl->enabled)
		return true;
	struct limit_result r;
	take(rl, BUDGET_LOGIN_HANDLE, handle, len, 0, &r); /* look, do not take */
	if (r.retry_after == 0)
		return true;
	set_headers(req, &r);
	refuse(req, &r);
	return false;
}

void ratelimit_login_failed(void *arg, const char *handle)
{
	struct ratelimit *rl = arg;
	if (!rl->enabled)
		return;
	struct limit_result r;
	take(rl, BUDGET_LOGIN_HANDLE, handle, strlen(handle), 1, &r);
}
