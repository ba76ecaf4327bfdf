/*
 * follows — follow, unfollow, and the followers/following lists (the
 * graph service: core/graph.h).
 *
 * The follower is always the token's user: nothing in the body or path can
 * make one user follow on another's behalf.
 */
#include "api/api.h"
#include "core/render.h"
#include "api/write.h"
#include "core/graph.h"
#include "http/respond.h"

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

static void list(struct ctx *c, int (*fn)(struct store_reader *r, uint64_t user_id,
					  const struct store_page *page,
					  struct follow_entry *out, size_t *n))
{
	uint64_t id;
	struct store_page page;
	if (!api_param_id(c, 0, &id) || !api_page(c, &page))
		return;
	struct follow_entry *e = h2o_mem_alloc_pool(&c->req->pool, sizeof(*e) * page.limit);
	size_t n;
	int rc = fn(c->db, id, &page, e, &n);
	if (rc != STORE_OK) {
		api_store_error(c, rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	render_follow_users(&sb, e, n);
	api_link(c, &page, n, n ? e[0].follow_id : 0, n ? e[n - 1].follow_id : 0);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_followers(struct ctx *c)
{
	list(c, graph_followers);
}

void api_following(struct ctx *c)
{
	list(c, graph_following);
}
