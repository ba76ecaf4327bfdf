/*
 * workpool — see workpool.h. One mutex and one condition variable guard a
 * FIFO; jobs are intrusive, so queueing allocates nothing.
 */
#include "util/workpool.h"

#include <pthread.h>
#include <stdbool.h>

#include <stdlib.h>

#include "util/log.h"

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct work *head, *tail;
	size_t queued, max_queued;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
	struct workpool_hooks hooks;
};

static void *worker_main(void *arg)
{
	struct workpool *p = arg;
	pthread_setname_np(pthread_self(), "chirp-work");
	void *state = p->hooks.init ? p->hooks.init(p->hooks.arg) : NULL;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->nonempty, &p->lock);
		struct work *w = p->head;
		if (!w) { /* stopping and drained */
			pthread_mutex_unlock(&p->lock);
			if (p->hooks.deinit)
				p->hooks.deinit(state);
			return NULL;
		}
		p->head = w->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		w->thread = state;
		w->fn(w);
	}
}

struct workpool *workpool_new(unsigned threads, size_t max_queued,
			      const struct workpool_hooks *hooks)
{
	struct workpool *p = xcalloc(1, sizeof(*p));
	if (hooks)
		p->hooks = *hooks;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->nonempty, NULL);
	p->max_queued = max_queued;
	p->nthreads = threads ? threads : 1;
	p->threads = xcalloc(p->nthreads, sizeof(*p->threads));
	for (unsigned i = 0; i < p->nthreads; i++)
		if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
			die("workpool: cannot start thread");
	return p;
}

void workpool_free(struct workpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->nonempty);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->nonempty);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

int workpool_submit(struct workpool *p, struct work *w)
{
	int rc = -1;
	pthread_mutex_lock(&p->lock);
	if (!p->stopping && p->queued < p->max_queued) {
		w->next = NULL;
		if (p->tail)
			p->tail->next = w;
		else
			p->head = w;
		p->tail = w;
		p->queued++;
		pthread_cond_signal(&p->nonempty);
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}
