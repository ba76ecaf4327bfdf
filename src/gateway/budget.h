/*
 * budget — the rate-limit budgets (gateway/ratelimit.h says who pays
 * which); their rules are settings (config.h).
 */
#ifndef CHIRP_GATEWAY_BUDGET_H
#define CHIRP_GATEWAY_BUDGET_H

enum budget {
	BUDGET_SIGNUP,       /* POST /v1/users, per client IP */
	BUDGET_LOGIN,        /* POST /v1/sessions, per client IP */
	BUDGET_LOGIN_HANDLE, /* failed log-ins, per handle */
	BUDGET_POST,         /* POST /v1/tweets, per user */
	BUDGET_REQUESTS,     /* every request, per user or else per client IP */
	BUDGET_MEDIA,        /* POST /v1/media and its complete, per user */
	BUDGET_COUNT
};

#endif
