/*
 * store — adapter registry and the helpers shared by every adapter.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

const struct store_ops *store_ops_find(const char *spec)
{
	if (strcmp(spec, "sqlite") == 0)
		return &store_sqlite_ops;
	if (strncmp(spec, "postgres://", 11) == 0 || strncmp(spec, "postgresql://", 13) == 0 ||
	    strchr(spec, '='))
		return &store_postgres_ops;
	return NULL;
}

void *store_reader_thread_init(void *store)
{
	struct store *s = store;
	return s->ops->reader_new(s);
}

void store_reader_thread_deinit(void *reader)
{
	struct store_reader *r = reader;
	r->ops->reader_free(r);
}

void store_write_init(struct store_write *w, enum store_write_kind kind)
{
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	strbuf_init(&w->resp_body);
}

void store_write_deinit(struct store_write *w)
{
	strbuf_deinit(&w->resp_body);
}

/* A waiter on the stack of store_write_sync's caller. */
struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void sync_done(struct store_write *w)
{
	struct sync_wait *s = w->owner;
	pthread_mutex_lock(&s->lock);
	s->done = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int store_write_sync(struct store *store, struct store_write *w)
{
	struct sync_wait s = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	w->done = sync_done;
	w->owner = &s;
	if (store->ops->submit(store, w) != 0)
		return w->status = STORE_BUSY;
	pthread_mutex_lock(&s.lock);
	while (!s.done)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	return w->status;
}
