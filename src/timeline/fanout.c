/*
 * fanout — see fanout.h. A ring buffer under one mutex, with one condition
 * variable for "not empty" and one for "not full".
 */
#include "timeline/fanout.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/log.h"

struct fanout {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, nonfull;
	struct fanout_job *ring;
	size_t cap, head, len;
	bool stopping;
	pthread_t thread;
	void (*run)(void *arg, const struct fanout_job *job);
	void *arg;
};

static void *fanout_main(void *p)
{
	struct fanout *f = p;
	pthread_setname_np(pthread_self(), "chirp-fanout");
	for (;;) {
		pthread_mutex_lock(&f->lock);
		while (f->len == 0 && !f->stopping)
			pthread_cond_wait(&f->nonempty, &f->lock);
		if (f->len == 0) {
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
		struct fanout_job job = f->ring[f->head];
		f->head = (f->head + 1) % f->cap;
		f->len--;
		pthread_cond_signal(&f->nonfull);
		pthread_mutex_unlock(&f->lock);
		f->run(f->arg, &job);
	}
}

struct fanout *fanout_new(size_t capacity, void (*run)(void *arg, const struct fanout_job *job),
			  void *arg)
{
	struct fanout *f = xcalloc(1, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->nonempty, NULL);
	pthread_cond_init(&f->nonfull, NULL);
	f->cap = capacity ? capacity : 1;
	f->ring = xcalloc(f->cap, sizeof(*f->ring));
	f->run = run;
	f->arg = arg;
	if (pthread_create(&f->thread, NULL, fanout_main, f) != 0)
		die("fanout: cannot start thread");
	return f;
}

void fanout_free(struct fanout *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_broadcast(&f->nonempty);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	pthread_cond_destroy(&f->nonempty);
	pthread_cond_destroy(&f->nonfull);
	pthread_mutex_destroy(&f->lock);
	free(f->ring);
	free(f);
}

void fanout_enqueue(struct fanout *f, const struct fanout_job *job)
{
	pthread_mutex_lock(&f->lock);
	while (f->len == f->cap)
		pthread_cond_wait(&f->nonfull, &f->lock); /* backpressure */
	f->ring[(f->head + f->len) % f->cap] = *job;
	f->len++;
	pthread_cond_signal(&f->nonempty);
	pthread_mutex_unlock(&f->lock);
}

size_t fanout_depth(struct fanout *f)
{
	pthread_mutex_lock(&f->lock);
	size_t n = f->len;
	pthread_mutex_unlock(&f->lock);
	return n;
}
