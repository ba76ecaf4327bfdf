/*
 * workpool — see workpool.h. Jobs wait on a bounded queue (util/bqueue.h);
 * they are intrusive, so queueing allocates nothing.
 */
#include "util/workpool.h"

#include <pthread.h>
#include <stdbool.h>

#include <stdlib.h>

#include "util/container_of.h"
#include "util/log.h"

struct workpool {
	struct bqueue queue;
	unsigned nthreads;
	pthread_t *threads;
	struct workpool_hooks hooks;
};

static void *worker_main(void *arg)
{
	struct workpool *p = arg;
	void *state = p->hooks.init ? p->hooks.init(p->hooks.arg) : NULL;
	size_t n;
	struct bqueue_node *node;
	while ((node = bqueue_pop(&p->queue, 1, &n))) {
		struct work *w = container_of(node, struct work, node);
		w->thread = state;
		w->fn(w);
	}
	/* stopping and drained */
	if (p->hooks.deinit)
		p->hooks.deinit(state);
	return NULL;
}

struct workpool *workpool_new(unsigned threads, size_t max_queued,
			      const struct workpool_hooks *hooks)
{
	struct workpool *p = xcalloc(1, sizeof(*p));
	if (hooks)
		p->hooks = *hooks;
	bqueue_init(&p->queue, max_queued);
	p->nthreads = threads ? threads : 1;
	p->threads = xcalloc(p->nthreads, sizeof(*p->threads));
	for (unsigned i = 0; i < p->nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
			die("workpool: cannot start thread");
		/* Named here, not by the thread: the name is there once the
		 * pool is, for ps, top and the tests that count the pool. */
		pthread_setname_np(p->threads[i], "chirp-work");
	}
	return p;
}

void workpool_free(struct workpool *p)
{
	if (!p)
		return;
	bqueue_stop(&p->queue);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	bqueue_deinit(&p->queue);
	free(p->threads);
	free(p);
}

int workpool_submit(struct workpool *p, struct work *w)
{
	return bqueue_push(&p->queue, &w->node);
}
