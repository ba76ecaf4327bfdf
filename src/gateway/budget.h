/*
 * budget — the names of chirp's rate-limit budgets.
 *
 * A budget is one token bucket per subject (limits.h); which requests pay
 * which budget is decided in ratelimit.c, and each budget's size comes
 * from the configuration (--rate-limit NAME=COUNT/SECONDS). This header
 * holds only the enum and its names, so that the configuration and the
 * gateway can both name a budget without including each other.
 */
#ifndef CHIRP_GATEWAY_BUDGET_H
#define CHIRP_GATEWAY_BUDGET_H

#include <stddef.h> /* NULL */

enum budget {
	BUDGET_SIGNUP,       /* POST /v1/users, per client IP */
	BUDGET_LOGIN,        /* POST /v1/sessions, per client IP */
	BUDGET_LOGIN_HANDLE, /* failed log-ins, per handle and client IP */
	BUDGET_POST,         /* POST /v1/tweets, per user */
	BUDGET_REQUESTS,     /* every request, per user or else per client IP */
	BUDGET_MEDIA,        /* POST /v1/media and its complete, per user */
	/* Not a bucket: COUNT free failed log-ins per handle, then a delay
	 * doubling up to SECONDS (limits.h: backoff; ratelimit.h). */
	BUDGET_LOGIN_BACKOFF,
	BUDGET_COUNT
};

/* The budget's name as --rate-limit, the metrics and the docs spell it
 * ("login-handle"); NULL for BUDGET_COUNT or anything past it. A static
 * string: nothing to free. */
static inline const char *budget_name(enum budget b)
{
	static const char *const names[BUDGET_COUNT] = {
	    [BUDGET_SIGNUP] = "signup",
	    [BUDGET_LOGIN] = "login",
	    [BUDGET_LOGIN_HANDLE] = "login-handle",
	    [BUDGET_POST] = "post",
	    [BUDGET_REQUESTS] = "requests",
	    [BUDGET_MEDIA] = "media",
	    [BUDGET_LOGIN_BACKOFF] = "login-backoff",
	};
	return (unsigned)b < BUDGET_COUNT ? names[b] : NULL;
}

#endif
