/*
 * watermark — see watermark.h for the rules; this file keeps them and
 * asserts the invariants they promise.
 */
#include "live/watermark.h"

#include <assert.h>

/* What holds between any two calls. */
static void check(const struct live_watermark *w)
{
	assert(w->floor <= w->resume && w->resume <= w->cursor);
	assert(w->nrecent <= LIVE_WATERMARK_RECENT);
	assert(!w->again || w->syncing); /* "another round" only follows one */
	(void)w;
}

/* Whether tweet `id` was passed on, or is at or below the floor: either
 * way never to be passed on now. */
static bool seen(const struct live_watermark *w, uint64_t id)
{
	if (id <= w->floor)
		return true;
	for (size_t i = 0; i < w->nrecent; i++)
		if (w->recent[i] == id)
			return true;
	return false;
}

/* Makes room in a full `recent`: its smallest id goes, and the floor rises
 * to it, so what was passed on stays covered. */
static void forget_smallest(struct live_watermark *w)
{
	size_t min = 0;
	for (size_t i = 1; i < w->nrecent; i++)
		if (w->recent[i] < w->recent[min])
			min = i;
	w->floor = w->recent[min];
	w->recent[min] = w->recent[--w->nrecent];
}

/* Tweet `id`, not seen before, is passed on. */
static void pass(struct live_watermark *w, uint64_t id)
{
	assert(!seen(w, id)); /* never twice */
	if (w->nrecent == LIVE_WATERMARK_RECENT)
		forget_smallest(w);
	if (id > w->floor) /* else it was the smallest: the floor now covers it */
		w->recent[w->nrecent++] = id;
	if (id > w->resume)
		w->resume = id;
}

static void round_start(struct live_watermark *w, uint64_t upto)
{
	assert(!w->syncing);
	assert(upto >= w->upto); /* feed_live_upto never moves back */
	w->syncing = true;
	w->upto = upto;
}

void live_watermark_init(struct live_watermark *w, uint64_t after, uint64_t upto)
{
	uint64_t start = after ? after : upto;
	/* the client has seen up to here, or starts now */
	*w = (struct live_watermark){.floor = start, .cursor = start, .resume = start};
	if (after)
		round_start(w, upto);
	else
		w->upto = upto;
	check(w);
}

void live_watermark_resync(struct live_watermark *w, uint64_t upto)
{
	if (w->syncing)
		w->again = true;
	else
		round_start(w, upto);
	check(w);
}

bool live_watermark_live(struct live_watermark *w, uint64_t id)
{
	bool send = false;
	if (seen(w, id)) {
		/* passed on before, or before the start */
	} else if (w->syncing && id > w->cursor) {
		/* In the timelines already (its push preceded its publish): the
		 * round's next page reads it, or, above U, the next round. */
		if (id > w->upto)
			w->again = true;
	} else {
		pass(w, id);
		if (!w->syncing && id > w->cursor)
			w->cursor = id;
		send = true;
	}
	check(w);
	return send;
}

bool live_watermark_pending(const struct live_watermark *w, uint64_t *after, uint64_t *before)
{
	assert(w->syncing);
	if (w->cursor >= w->upto)
		return false;
	*after = w->cursor;
	*before = w->upto + 1;
	return true;
}

void live_watermark_replayed(struct live_watermark *w, uint64_t id)
{
	assert(w->syncing);
	assert(id > w->cursor && id <= w->upto); /* a round replays (cursor, U] only */
	pass(w, id); /* above the cursor, so above all that was passed on */
	w->cursor = id;
	check(w);
}

void live_watermark_round_done(struct live_watermark *w, uint64_t upto)
{
	assert(w->syncing);
	if (w->cursor < w->upto)
		w->cursor = w->upto;
	w->syncing = false;
	if (w->again) {
		w->again = false;
		round_start(w, upto);
	}
	check(w);
}
