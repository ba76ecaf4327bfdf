/*
 * media_writes — the media service's write kinds (core/write.h): the
 * answers of creating and completing an upload, and what a completed
 * upload sets off (the processing workers wake up).
 */
#include "media/media.h"

#include "core/write.h"

static struct media_service *service; /* one per process, set before any write */

static void render(struct write *w)
{
	media_write_render(service, &w->sw);
}

static void on_complete(void *arg, const struct store_write *w)
{
	media_write_committed(arg, w);
}

void media_follow_writes(struct media_service *m, struct writes *ws)
{
	service = m;
	writes_define(ws, STORE_W_MEDIA_CREATE, render);
	writes_define(ws, STORE_W_MEDIA_COMPLETE, render);
	writes_after_commit(ws, STORE_W_MEDIA_COMPLETE, on_complete, m);
}
