/*
 * write — see write.h.
 */
#include "core/write.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/container_of.h"
#include "util/jsonw.h"
#include "util/log.h"

#define EFFECTS_MAX 4 /* per kind; raise it when a fifth service cares */

struct effect {
	write_effect_fn fn;
	void *arg;
};

struct kind {
	write_render_fn render;
	void *render_arg;
	size_t neffects;
	struct effect effects[EFFECTS_MAX];
};

struct writes {
	struct store *store;
	struct kind kinds[STORE_W_COUNT];
};

struct writes *writes_new(struct store *store)
{
	struct writes *ws = xcalloc(1, sizeof(*ws));
	ws->store = store;
	return ws;
}

void writes_free(struct writes *ws)
{
	free(ws);
}

void writes_stats(struct writes *ws, struct store_stats *out)
{
	ws->store->ops->stats(ws->store, out);
}

void writes_define(struct writes *ws, enum store_write_kind kind, write_render_fn render,
		   void *arg)
{
	assert(kind < STORE_W_COUNT && !ws->kinds[kind].render);
	ws->kinds[kind].render = render;
	ws->kinds[kind].render_arg = arg;
}

void writes_after_commit(struct writes *ws, enum store_write_kind kind, write_effect_fn fn,
			 void *arg)
{
	struct kind *k = &ws->kinds[kind];
	if (k->neffects == EFFECTS_MAX)
		die("write kind %d: more than %d effects", (int)kind, EFFECTS_MAX);
	k->effects[k->neffects++] = (struct effect){fn, arg};
}

/* The store's render hook: the kind's own renderer. */
static void render(struct store_write *sw)
{
	struct write *w = container_of(sw, struct write, sw);
	strbuf_reset(&sw->resp_body);
	const struct kind *k = &w->ws->kinds[sw->kind];
	k->render(w, k->render_arg);
}

static void run_effects(const struct writes *ws, const struct store_write *sw)
{
	const struct kind *k = &ws->kinds[sw->kind];
	for (size_t i = 0; i < k->neffects; i++)
		k->effects[i].fn(k->effects[i].arg, sw);
}

/* The store's done hook: effects, then the caller. */
static void committed(struct store_write *sw)
{
	struct write *w = container_of(sw, struct write, sw);
	if (sw->status == STORE_OK && !sw->replayed)
		run_effects(w->ws, sw);
	w->done(w, w->done_arg);
}

static void replay(void *arg, const struct store_write *sw)
{
	run_effects(arg, sw);
}

void writes_start_outbox(struct writes *ws)
{
	if (!ws->store->ops->outbox_start)
		return;
	bool kinds[STORE_W_COUNT];
	for (int k = 0; k < STORE_W_COUNT; k++)
		kinds[k] = ws->kinds[k].neffects > 0;
	ws->store->ops->outbox_start(ws->store, kinds, replay, ws);
}

struct write *write_new(struct writes *ws, enum store_write_kind kind, size_t size,
			const struct store_idem *idem, write_done_fn done, void *done_arg)
{
	assert(size >= sizeof(struct write) && ws->kinds[kind].render);
	struct write *w = xcalloc(1, size);
	store_write_init(&w->sw, kind);
	if (idem)
		w->sw.idem = *idem;
	w->sw.render = render;
	w->sw.done = committed;
	w->ws = ws;
	w->done = done;
	w->done_arg = done_arg;
	w->size = size;
	return w;
}

void write_free(struct write *w)
{
	if (!w)
		return;
	store_write_deinit(&w->sw);
	sodium_memzero(w, w->size); /* a password or token may have passed through */
	free(w);
}

void write_submit(struct write *w)
{
	if (w->ws->store->ops->submit(w->ws->store, &w->sw) != 0) {
		w->sw.status = STORE_BUSY;
		w->done(w, w->done_arg);
	}
}

static void run_step(struct work *work)
{
	struct write *w = container_of(work, struct write, work);
	w->step(w);
}

void write_run_blocking(struct write *w, struct workpool *pool, void (*fn)(struct write *w))
{
	w->work.fn = run_step;
	w->step = fn;
	if (workpool_submit(pool, &w->work) != 0) {
		w->sw.status = STORE_BUSY;
		w->done(w, w->done_arg);
	}
}

void write_render_error(struct write *w, int status, const char *code, const char *message)
{
	w->sw.resp_status = status;
	strbuf_reset(&w->sw.resp_body);
	jsonw_error(&w->sw.resp_body, code, message);
}

bool write_render_not_found(struct write *w)
{
	if (w->sw.status != STORE_NOT_FOUND)
		return false;
	write_render_error(w, 404, "not_found", "not found");
	return true;
}

void write_fail_unavailable(struct write *w)
{
	w->sw.status = STORE_ERROR;
	w->done(w, w->done_arg);
}

void write_fail(struct write *w, int status, const char *code, const char *message)
{
	w->sw.status = STORE_OK;
	write_render_error(w, status, code, message);
	w->done(w, w->done_arg);
}
