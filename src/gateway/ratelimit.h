/*
 * ratelimit — who pays which budget, and what the client is told.
 *
 * Every request pays the "requests" budget: per user when it carries a
 * valid token, per client IP otherwise. Some routes pay one more: sign-up
 * and log-in per client IP, posting and media per user.
 *
 * Failed log-ins: each pays the "login-handle" budget of its (handle,
 * client IP), so one address can make only so many guesses at one
 * account, and spending it locks out only that address. Across addresses,
 * each handle has an exponential back-off ("login-backoff" COUNT/SECONDS:
 * COUNT free failures, then a wait from the last failure of 1 s, doubling
 * with each further failure, up to SECONDS): while it runs, an address
 * that has failed at that handle within SECONDS is refused, but an
 * address that has not (the owner, from home) still gets its try. So a
 * stranger cannot lock an account for everyone, and many addresses
 * guessing together still slow down. Every response carries X-RateLimit-Limit,
 * -Remaining and -Reset (seconds until full) for the budget closest to
 * running out; a refusal is 429 with Retry-After. The counters live behind
 * the limits port (limits.h).
 */
#ifndef CHIRP_GATEWAY_RATELIMIT_H
#define CHIRP_GATEWAY_RATELIMIT_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/budget.h"
#include "gateway/limits.h"

#define CLIENT_IP_MAX 46 /* INET6_ADDRSTRLEN */

/* The client's address into out[CLIENT_IP_MAX]: the socket peer; or, when
 * the peer is in `trust_proxy` (addresses or CIDR prefixes separated by
 * commas; NULL trusts nobody), the right-most X-Forwarded-For entry that is
 * not in it, across all of the header's lines joined in order. The peer
 * stays when that entry is not an address or every entry is trusted.
 * RFC 7239 `Forwarded` is never read: a client may send either header,
 * and only the one the proxy is configured to append can be believed
 * (docs/operations.md). */
void ratelimit_client_ip(h2o_req_t *req, const char *trust_proxy, char *out);

/* Who is asking, as the budgets see it. */
struct ratelimit_payer {
	uint64_t user_id;      /* 0: anonymous, the address pays */
	const char *client_ip;
};

struct ratelimit;

/* Budgets by `rules[BUDGET_COUNT]` (copied), counted in `limits`; with
 * `enabled` false nothing is counted and no header is sent. */
struct ratelimit *ratelimit_new(struct limits *limits, const struct limit_rule *rules,
				bool enabled);
void ratelimit_free(struct ratelimit *rl); /* NULL is a no-op */

/* Charges the request (budget: the route's own, or BUDGET_COUNT for none
 * beyond "requests"). Returns false after sending 429. */
bool ratelimit_admit(struct ratelimit *rl, h2o_req_t *req, const struct ratelimit_payer *who,
		     enum budget route_budget);

/* ratelimit_admit (or, with show_only, ratelimit_show) in two halves, for
 * a limits adapter across the network (Redis): charge runs anywhere,
 * without the request (on a reader thread: it may wait on the network),
 * and apply, on the request's loop, sets the headers and sends the 429:
 * false if it did. */
struct ratelimit_verdict {
	bool counted;   /* false: limits off, nothing to say */
	bool show_only; /* an operations endpoint: headers only */
	struct limit_result shown;
};
void ratelimit_charge(struct ratelimit *rl, const struct ratelimit_payer *who,
		      enum budget route_budget, bool show_only, struct ratelimit_verdict *out);
bool ratelimit_apply(h2o_req_t *req, const struct ratelimit_verdict *v);

/* For routes that pay nothing (operations endpoints): sets the headers of
 * the payer's "requests" budget without taking from it. */
void ratelimit_show(struct ratelimit *rl, h2o_req_t *req, const struct ratelimit_payer *who);

/* Log-in by `handle` (folded to lower case) from `client_ip`: a verdict
 * for ratelimit_apply that sends 429 if that address spent its failures
 * at that handle, or if the handle's back-off runs and that address has
 * failed there; else one with nothing to say. Like ratelimit_charge, it
 * may wait on the network: never on a loop with a shared adapter. */
void ratelimit_login_check(struct ratelimit *rl, const char *handle, size_t len,
			   const char *client_ip, struct ratelimit_verdict *out);

/* Charges a failed log-in at `handle` from `client_ip`. Any thread; `arg`
 * is the struct ratelimit (the shape of the accounts service's hook). */
void ratelimit_login_failed(void *arg, const char *handle, const char *client_ip);

#endif
