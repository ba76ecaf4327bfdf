/*
 * health — liveness and readiness for load balancers.
 *
 * /healthz says the process answers. /readyz says whether it should get
 * traffic: see api_readyz.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "api/api.h"
#include "http/respond.h"
#include "util/log.h"

/* At most one probe write in flight (one app per process). */
static atomic_bool probing;

static void probe_render(struct store_write *w)
{
	(void)w; /* nobody reads a probe's response */
}

static void probe_done(struct store_write *w)
{
	store_write_deinit(w);
	free(w);
	atomic_store(&probing, false);
}

/* After a failed commit nothing else may write for a long time, and only a
 * commit that succeeds clears the store's failed state: so readiness
 * itself tries one, in the background, and reports what it knows now. */
static void probe_store(struct store *store)
{
	if (atomic_exchange(&probing, true))
		return;
	struct store_write *w = xmalloc(sizeof(*w));
	store_write_init(w, STORE_W_PROBE);
	w->render = probe_render;
	w->done = probe_done;
	if (store->ops->submit(store, w) != 0)
		probe_done(w);
}

void api_healthz(struct ctx *c)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	http_send(c->req, 200, "application/json", ok, sizeof(ok) - 1);
}

/* Ready means: the store answers reads, its last commit succeeded, and
 * neither the write queue nor the fanout queue is past 90% full (a load
 * balancer should send traffic elsewhere before requests start failing). */
void api_readyz(struct ctx *c)
{
	static const char ready[] = "{\"status\":\"ready\"}";
	struct user u;
	struct store_stats st;
	struct feed_stats fs;
	c->app->store->ops->stats(c->app->store, &st);
	feed_stats(c->app->feed, &fs);
	int rc = c->db->ops->user_get(c->db, 1, &u); /* any read will do */
	const char *code = NULL, *why = NULL;
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		code = "store_unavailable";
		why = "the store does not answer reads";
	} else if (st.last_commit_failed) {
		code = "store_read_only";
		why = "the store's last commit failed: writes are refused";
		probe_store(c->app->store);
	} else if (st.queued * 10 >= st.max_queued * 9) {
		code = "write_queue_full";
		why = "the store's write queue is over 90% full";
	} else if (fs.fanout_depth * 10 >= fs.fanout_capacity * 9) {
		code = "fanout_queue_full";
		why = "the fanout queue is over 90% full";
	}
	if (code) {
		http_send_error(c->req, 503, code, why);
		return;
	}
	http_send(c->req, 200, "application/json", ready, sizeof(ready) - 1);
}
