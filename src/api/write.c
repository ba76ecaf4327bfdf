/*
 * write — see write.h.
 */
#include "api/write.h"

#include <stdlib.h>

#include "http/respond.h"
#include "http/server.h"
#include "util/log.h"

/* A request waiting for its write. */
struct pending {
	struct http_async *async;
	struct ctx *ctx; /* valid while the request is */
	struct app *app;
	struct write *w;
};

void *api_write_begin(struct ctx *c)
{
	struct pending *p = xmalloc(sizeof(*p));
	p->async = http_async_begin(c->req);
	p->ctx = c;
	p->app = c->app;
	p->w = NULL;
	c->async = true;
	return p;
}

static void reply(h2o_req_t *req, void *arg)
{
	struct pending *p = arg;
	struct store_write *sw = &p->w->sw;
	/* A façade's answer (c->answer) may start another step, which marks
	 * the request asynchronous again: then that step ends it. */
	bool again = false;
	if (req) {
		p->ctx->async = false;
		if (sw->status == STORE_ERROR || sw->status == STORE_BUSY) {
			http_send_unavailable(req);
		} else if (sw->status == STORE_IDEM_MISMATCH) {
			http_send_error(req, 422, "idempotency_key_reused",
					"this Idempotency-Key was used with a different request");
		} else {
			if (sw->replayed)
				http_header_add(req, "idempotent-replayed", "true", 4);
			api_send(p->ctx, sw->resp_status, &sw->resp_body);
		}
		again = p->ctx->async;
	}
	if (!again)
		api_request_done(p->app, req ? p->ctx : NULL);
	write_free(p->w);
	free(p);
}

void api_write_done(struct write *w, void *arg)
{
	struct pending *p = arg;
	p->w = w;
	http_async_finish(p->async, reply, p);
}

struct write *api_write_new(struct ctx *c, enum store_write_kind kind)
{
	return write_new(c->app->writes, kind, sizeof(struct write), &c->idem, api_write_done,
			 api_write_begin(c));
}
