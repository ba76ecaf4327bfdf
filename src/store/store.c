/*
 * store — adapter registry and the helpers shared by every adapter.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

const struct store_ops *store_ops_find(const char *spec)
{
	if (strcmp(spec, "sqlite") == 0)
		return &store_sqlite_ops;
	if (strncmp(spec, "postgres://", 11) == 0 || strncmp(spec, "postgresql://", 13) == 0 ||
	    strchr(spec, '='))
		return &store_postgres_ops;
	return NULL;
}

const char *store_media_ref_parse(const char *s, struct media_ref *m)
{
	char *end;
	if (!s || !*s)
		return NULL;
	m->id = strtoull(s, &end, 10);
	if (*end != ':')
		return NULL;
	m->width = (uint32_t)strtoul(end + 1, &end, 10);
	if (*end != ':')
		return NULL;
	m->height = (uint32_t)strtoul(end + 1, &end, 10);
	if (*end != ':')
		return NULL;
	const char *type = end + 1, *semi = strchr(type, ';');
	if (!semi || (size_t)(semi - type) > MEDIA_TYPE_MAX)
		return NULL;
	memcpy(m->content_type, type, (size_t)(semi - type));
	m->content_type[semi - type] = '\0';
	return semi + 1;
}

void store_media_ref_format(struct strbuf *out, const struct media_ref *m)
{
	strbuf_appendf(out, "%llu:%u:%u:%s;", (unsigned long long)m->id, m->width, m->height,
		       m->content_type);
}

void store_media_alt_append(struct strbuf *out, const char *text, size_t len)
{
	strbuf_appendf(out, "%zu:", len);
	strbuf_append(out, text, len);
}

const char *store_media_alt_next(const char *s, const char **text, size_t *len)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return NULL;
	unsigned long n = strtoul(s, &end, 10);
	if (*end != ':' || n > DESCRIPTION_MAX || strnlen(end + 1, n) < n)
		return NULL;
	*text = end + 1;
	*len = n;
	return end + 1 + n;
}

bool store_media_alt_finish(struct strbuf *alt)
{
	size_t total = 0, len;
	const char *text, *p = alt->len ? alt->data : NULL;
	bool any = false;
	while (p && *p && (p = store_media_alt_next(p, &text, &len))) {
		total += len;
		any = any || len > 0;
	}
	if (!any)
		strbuf_reset(alt);
	return total <= TWEET_ALT_TEXT_MAX;
}

static int cmp_pair(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void store_relations_merge(const uint64_t *pairs, size_t n, struct store_relation **out,
			   size_t *m)
{
	uint64_t *v = xmalloc((n ? n : 1) * 2 * sizeof(*v));
	if (n)
		memcpy(v, pairs, n * 2 * sizeof(*v));
	qsort(v, n, 2 * sizeof(*v), cmp_pair);
	struct store_relation *r = xmalloc((n ? n : 1) * sizeof(*r));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && r[k - 1].id == v[2 * i])
			r[k - 1].bits |= (unsigned)v[2 * i + 1];
		else
			r[k++] = (struct store_relation){.id = v[2 * i], .bits = (unsigned)v[2 * i + 1]};
	}
	free(v);
	*out = r;
	*m = k;
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
