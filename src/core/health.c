/*
 * health — see health.h.
 */
#include "core/health.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "util/log.h"

struct health {
	struct store *store;
	struct feed *feed;
	atomic_bool probing; /* at most one probe write in flight */
	struct store_write probe;
};

struct health *health_new(struct store *store, struct feed *feed)
{
	struct health *h = xcalloc(1, sizeof(*h));
	h->store = store;
	h->feed = feed;
	return h;
}

void health_free(struct health *h)
{
	free(h); /* the store is closed first: no probe is in flight */
}

static void probe_done(struct store_write *w)
{
	struct health *h = w->owner;
	store_write_deinit(w);
	atomic_store(&h->probing, false);
}

/* A write that changes nothing users see: can we commit? */
static void probe(struct health *h)
{
	if (atomic_exchange(&h->probing, true))
		return;
	store_write_init(&h->probe, STORE_W_PROBE);
	h->probe.done = probe_done;
	h->probe.owner = h;
	if (h->store->ops->submit(h->store, &h->probe) != 0)
		probe_done(&h->probe);
}

bool health_ready(struct health *h, struct store_reader *r, const char **code, const char **why)
{
	struct user u;
	struct store_stats st;
	struct feed_stats fs;
	h->store->ops->stats(h->store, &st);
	feed_stats(h->feed, &fs);
	int rc = r->ops->user_get(r, 1, &u); /* any read will do */
	*code = *why = NULL;
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		*code = "store_unavailable";
		*why = "the store does not answer reads";
	} else if (st.last_commit_failed) {
		*code = "store_read_only";
		*why = "the store's last commit failed: writes are refused";
		probe(h);
	} else if (st.queued * 10 >= st.max_queued * 9) {
		*code = "write_queue_full";
		*why = "the store's write queue is over 90% full";
	} else if (fs.fanout_depth * 10 >= fs.fanout_capacity * 9) {
		*code = "fanout_queue_full";
		*why = "the fanout queue is over 90% full";
	}
	return *code == NULL;
}
