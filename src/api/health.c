/*
 * health — liveness and readiness for load balancers.
 *
 * /healthz says the process answers. /readyz says whether it should get
 * traffic (core/health.h says what ready means).
 */
#include "api/api.h"
#include "core/health.h"
#include "http/respond.h"
#include "util/log.h"

void api_healthz(struct ctx *c)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	http_send(c->req, 200, "application/json", ok, sizeof(ok) - 1);
}

/* Ready or not, and why (core/health.h). */
void api_readyz(struct ctx *c)
{
	static const char ready[] = "{\"status\":\"ready\"}";
	const char *code, *why;
	if (!health_ready(c->app->health, c->db, &code, &why)) {
		http_send_error(c->req, 503, code, why);
		return;
	}
	http_send(c->req, 200, "application/json", ready, sizeof(ready) - 1);
}
