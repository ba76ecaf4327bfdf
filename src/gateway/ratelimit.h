/*
 * ratelimit — who pays which budget, and what the client is told.
 *
 * Every request pays the "requests" budget: per user when it carries a
 * valid token, per client IP otherwise. Some routes pay one more: sign-up
 * and log-in per client IP, posting per user. Failed log-ins also pay per
 * handle, so guessing one account's password from many addresses is
 * limited too. Every response carries X-RateLimit-Limit, -Remaining and
 * -Reset (seconds until full) for the budget closest to running out; a
 * refusal is 429 with Retry-After. The counters live behind the limits
 * port (limits.h).
 */
#ifndef CHIRP_GATEWAY_RATELIMIT_H
#define CHIRP_GATEWAY_RATELIMIT_H

#include <h2o.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct ctx;
struct app;

#define CLIENT_IP_MAX 46 /* INET6_ADDRSTRLEN */

/* The client's address: the socket peer, or the last X-Forwarded-For
 * entry when the peer is the trusted proxy. */
void ratelimit_client_ip(h2o_req_t *req, const char *trust_proxy, char *out);

/* Charges the request (budget: the route's own, or BUDGET_COUNT for none
 * beyond "requests"). Returns false after sending 429. */
bool ratelimit_admit(struct ctx *c, enum budget route_budget);

/* For routes that pay nothing (operations endpoints): sets the headers of
 * the caller's "requests" budget without taking from it. */
void ratelimit_show(struct ctx *c);

/* Log-in by `handle`: false after sending 429 if its failed-log-in budget
 * is spent. */
bool ratelimit_login_allowed(struct ctx *c, const char *handle, size_t len);

/* Charges a failed log-in to `handle`. Any thread. */
void ratelimit_login_failed(struct app *app, const char *handle);

#endif
