/*
 * watermark — see watermark.h for the rules; this file keeps them and
 * asserts the invariants they promise.
 */
#include "live/watermark.h"

#include <assert.h>

/* What holds between any two calls. */
static void check(const struct live_watermark *w)
{
	assert(w->passed <= w->cursor);
	assert(!w->again || w->syncing); /* "another round" only follows one */
	(void)w;
}

/* Moves the cursor to tweet `id`, which is passed on. */
static void pass(struct live_watermark *w, uint64_t id)
{
	assert(id > w->cursor);  /* never back, never twice */
	assert(id > w->passed);  /* events go out with increasing ids */
	w->cursor = id;
	w->passed = id;
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
	*w = (struct live_watermark){.cursor = after ? after : upto};
	w->passed = w->cursor; /* the client has seen up to here, or starts now */
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
	if (w->syncing) {
		w->again = true; /* the next round finds it */
	} else if (id > w->cursor) {
		pass(w, id);
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
	assert(id <= w->upto); /* a round replays (cursor, U] only */
	pass(w, id);
	check(w);
}

void live_watermark_round_done(struct live_watermark *w, uint64_t upto)
{
	assert(w->syncing);
	if (w->upto > 0 && w->cursor < w->upto - 1)
		w->cursor = w->upto - 1;
	w->syncing = false;
	if (w->again) {
		w->again = false;
		round_start(w, upto);
	}
	check(w);
}
