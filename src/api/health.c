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

/* Ready or not, and why (core/health.h): the check reads the store. */
struct ready_read {
	struct api_read r;
	struct health *health;
	bool ready;
	const char *code, *why;
};

static void ready_run(struct api_read *r, struct store_reader *db)
{
	struct ready_read *q = (struct ready_read *)r;
	q->ready = health_ready(q->health, db, &q->code, &q->why);
}

static void ready_finish(struct api_read *r, struct ctx *c)
{
	static const char ready[] = "{\"status\":\"ready\"}";
	struct ready_read *q = (struct ready_read *)r;
	if (!q->ready)
		http_send_error(c->req, 503, q->code, q->why);
	else
		http_send(c->req, 200, "application/json", ready, sizeof(ready) - 1);
}

void api_readyz(struct ctx *c)
{
	struct ready_read *q = api_read_new(c, sizeof(*q));
	q->r.run = ready_run;
	q->r.finish = ready_finish;
	q->health = c->app->health;
	api_read(c, &q->r);
}
