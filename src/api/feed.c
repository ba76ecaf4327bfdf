/*
 * feed — GET /v1/feed: the tweets of the people the user follows, and the
 * user's own, newest first (timeline/feed.h has how).
 */
#include "api/api.h"

/* A page of the home feed, as JSON. */
struct feed_read {
	struct api_read r;
	struct feed *feed;
	uint64_t user_id;
	bool has_relations;
	struct store_page page;
	int rc;
	size_t n;
	uint64_t newest, oldest;
	struct strbuf body;
};

static void feed_run(struct api_read *r, struct store_reader *db)
{
	struct feed_read *f = (struct feed_read *)r;
	strbuf_reset(&f->body); /* a second run, after a blocked one */
	f->n = 0;
	f->newest = f->oldest = 0;
	f->rc = feed_home(f->feed, db, f->user_id, f->has_relations, &f->page, r->may_block,
			  &f->body, &f->n, &f->newest, &f->oldest);
	r->blocked = f->rc == FEED_WOULD_BLOCK;
}

static void feed_finish(struct api_read *r, struct ctx *c)
{
	struct feed_read *f = (struct feed_read *)r;
	if (f->rc != STORE_OK) {
		api_store_error(c, f->rc);
		return;
	}
	/* A page whose every tweet was hidden (blocks, mutes) is not the end:
	 * its Link still leads below what it looked at. */
	size_t n = f->n ? f->n : (f->oldest ? 1 : 0);
	api_link(c, &f->page, n, f->newest ? f->newest : f->oldest, f->oldest);
	api_send_take(c, 200, &f->body);
}

static void feed_release(struct api_read *r)
{
	strbuf_deinit(&((struct feed_read *)r)->body);
}

void api_feed(struct ctx *c)
{
	struct store_page page;
	if (!api_page(c, &page))
		return;
	struct feed_read *f = api_read_new(c, sizeof(*f));
	f->r.run = feed_run;
	f->r.finish = feed_finish;
	f->r.release = feed_release;
	f->feed = c->app->feed;
	f->user_id = c->user_id;
	f->has_relations = c->has_relations;
	f->page = page;
	strbuf_init(&f->body);
	api_read(c, &f->r);
}
