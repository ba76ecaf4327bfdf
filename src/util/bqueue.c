/*
 * bqueue — see bqueue.h. One mutex and one condition variable guard a
 * singly linked list with a tail pointer.
 */
#include "util/bqueue.h"

#include <errno.h>
#include <time.h>

void bqueue_init(struct bqueue *q, size_t max)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t attr; /* timed waits count on the monotonic clock */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->nonempty, &attr);
	pthread_condattr_destroy(&attr);
	q->head = q->tail = NULL;
	q->len = 0;
	q->max = max ? max : 1;
	q->stopping = false;
}

void bqueue_deinit(struct bqueue *q)
{
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
}

int bqueue_push(struct bqueue *q, struct bqueue_node *n)
{
	int rc = -1;
	pthread_mutex_lock(&q->lock);
	if (!q->stopping && q->len < q->max) {
		n->next = NULL;
		if (q->tail)
			q->tail->next = n;
		else
			q->head = n;
		q->tail = n;
		q->len++;
		pthread_cond_signal(&q->nonempty);
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

struct bqueue_node *bqueue_pop(struct bqueue *q, size_t max, size_t *n)
{
	return bqueue_pop_wait(q, max, n, 0, NULL);
}

struct bqueue_node *bqueue_pop_wait(struct bqueue *q, size_t max, size_t *n, unsigned timeout_ms,
				    bool *stopped)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->stopping) {
		if (!timeout_ms)
			pthread_cond_wait(&q->nonempty, &q->lock);
		else if (pthread_cond_timedwait(&q->nonempty, &q->lock, &until) == ETIMEDOUT)
			break;
	}
	if (stopped)
		*stopped = q->stopping && !q->head;
	struct bqueue_node *first = q->head, *last = q->head;
	size_t k = 0;
	if (first) {
		k = 1;
		while (last->next && k < max)
			last = last->next, k++;
		q->head = last->next;
		if (!q->head)
			q->tail = NULL;
		last->next = NULL;
		q->len -= k;
	}
	pthread_mutex_unlock(&q->lock);
	*n = k;
	return first;
}

void bqueue_stop(struct bqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

size_t bqueue_len(struct bqueue *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}
