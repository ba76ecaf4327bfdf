/*
 * health — liveness and readiness for load balancers.
 *
 * /healthz says the process answers. /readyz also checks that the store
 * answers a read.
 */
#include "api/api.h"
#include "http/respond.h"

void api_healthz(struct ctx *c)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	http_send(c->req, 200, "application/json", ok, sizeof(ok) - 1);
}

void api_readyz(struct ctx *c)
{
	static const char ready[] = "{\"status\":\"ready\"}";
	struct user u;
	int rc = c->db->ops->user_get(c->db, 1, &u); /* any read will do */
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		http_send_error(c->req, 503, "store_unavailable", "the store does not answer reads");
		return;
	}
	http_send(c->req, 200, "application/json", ready, sizeof(ready) - 1);
}
