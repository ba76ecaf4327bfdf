/*
 * follows — follow, unfollow, and the followers/following lists (the
 * graph service: core/graph.h).
 *
 * The follower is always the token's user: nothing in the body or path can
 * make one user follow on another's behalf.
 */
#include <stdlib.h>

#include "api/api.h"
#include "core/render.h"
#include "api/write.h"
#include "core/graph.h"
#include "http/respond.h"
#include "util/log.h"

static void follow(struct ctx *c, bool on)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	if (id == c->user_id) {
		http_send_error(c->req, 422, "cannot_follow_self", "you cannot follow yourself");
		return;
	}
	graph_follow(c->app->graph, c->user_id, id, on, &c->idem, api_write_done,
		     api_write_begin(c));
}

void api_follows_create(struct ctx *c)
{
	/* A body is not needed; one that is sent must still be valid JSON. */
	json_t *body = api_body(c, false);
	if (!body)
		return;
	json_decref(body);
	follow(c, true);
}

void api_follows_delete(struct ctx *c)
{
	follow(c, false);
}

/* A page of followers or following. */
struct follow_read {
	struct api_read r;
	int (*list)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		    struct follow_entry *out, size_t *n);
	uint64_t user_id;
	struct store_page page;
	int rc;
	size_t n;
	struct follow_entry *e; /* page.limit of them */
};

static void list_run(struct api_read *r, struct store_reader *db)
{
	struct follow_read *f = (struct follow_read *)r;
	f->e = xmalloc(sizeof(*f->e) * f->page.limit);
	f->rc = f->list(db, f->user_id, &f->page, f->e, &f->n);
}

static void list_finish(struct api_read *r, struct ctx *c)
{
	struct follow_read *f = (struct follow_read *)r;
	if (f->rc != STORE_OK) {
		api_store_error(c, f->rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	render_follow_users(&sb, f->e, f->n);
	api_link(c, &f->page, f->n, f->n ? f->e[0].follow_id : 0,
		 f->n ? f->e[f->n - 1].follow_id : 0);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

static void list_release(struct api_read *r)
{
	free(((struct follow_read *)r)->e);
}

typedef int (*list_fn)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		       struct follow_entry *out, size_t *n);

/* A page of users related to `id` by `fn`. */
static void list_of(struct ctx *c, uint64_t id, list_fn fn)
{
	struct store_page page;
	if (!api_page(c, &page))
		return;
	struct follow_read *f = api_read_new(c, sizeof(*f));
	f->r.run = list_run;
	f->r.finish = list_finish;
	f->r.release = list_release;
	f->list = fn;
	f->user_id = id;
	f->page = page;
	api_read(c, &f->r);
}

/* A page of users related to the user in the path. */
static void list(struct ctx *c, list_fn fn)
{
	uint64_t id;
	if (api_param_id(c, 0, &id))
		list_of(c, id, fn);
}

void api_followers(struct ctx *c)
{
	list(c, graph_followers);
}

void api_following(struct ctx *c)
{
	list(c, graph_following);
}

/* ---- blocks and mutes: always the token's user's own ---- */

static void relation(struct ctx *c, enum store_write_kind kind)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	if (id == c->user_id) {
		http_send_error(c->req, 422, "cannot_target_self",
				"you cannot block or mute yourself");
		return;
	}
	graph_relation(c->app->graph, kind, c->user_id, id, &c->idem, api_write_done,
		       api_write_begin(c));
}

/* A body is not needed; one that is sent must still be valid JSON. */
static void relation_create(struct ctx *c, enum store_write_kind kind)
{
	json_t *body = api_body(c, false);
	if (!body)
		return;
	json_decref(body);
	relation(c, kind);
}

void api_blocks_create(struct ctx *c)
{
	relation_create(c, STORE_W_BLOCK);
}

void api_blocks_delete(struct ctx *c)
{
	relation(c, STORE_W_UNBLOCK);
}

void api_mutes_create(struct ctx *c)
{
	relation_create(c, STORE_W_MUTE);
}

void api_mutes_delete(struct ctx *c)
{
	relation(c, STORE_W_UNMUTE);
}

void api_blocks_list(struct ctx *c)
{
	list_of(c, c->user_id, graph_blocks);
}

void api_mutes_list(struct ctx *c)
{
	list_of(c, c->user_id, graph_mutes);
}
