/*
 * graph — see graph.h.
 */
#include "core/graph.h"

#include <stdlib.h>

#include "core/render.h"
#include "util/log.h"

struct graph {
	struct writes *writes;
};

static void render_follow(struct write *w, void *arg)
{
	(void)arg;
	if (write_render_not_found(w))
		return;
	if (w->sw.status == STORE_INVALID) {
		write_render_error(w, 403, "blocked", "you cannot follow this user");
		return;
	}
	w->sw.resp_status = w->sw.created ? 201 : 200;
	render_user(&w->sw.resp_body, &w->sw.user);
}

static void render_unfollow(struct write *w, void *arg)
{
	(void)arg;
	if (!write_render_not_found(w))
		w->sw.resp_status = 204;
}

struct graph *graph_new(struct writes *ws)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	g->writes = ws;
	writes_define(ws, STORE_W_FOLLOW, render_follow, NULL);
	writes_define(ws, STORE_W_UNFOLLOW, render_unfollow, NULL);
	/* A block or mute answers like a follow: 201 new, 200 already, the
	 * other's User; their ends like an unfollow: 204. */
	writes_define(ws, STORE_W_BLOCK, render_follow, NULL);
	writes_define(ws, STORE_W_MUTE, render_follow, NULL);
	writes_define(ws, STORE_W_UNBLOCK, render_unfollow, NULL);
	writes_define(ws, STORE_W_UNMUTE, render_unfollow, NULL);
	return g;
}

void graph_free(struct graph *g)
{
	free(g);
}

void graph_follow(struct graph *g, uint64_t follower_id, uint64_t followee_id, bool follow,
		  const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct write *w = write_new(g->writes, follow ? STORE_W_FOLLOW : STORE_W_UNFOLLOW,
				    sizeof(*w), idem, done, arg);
	w->sw.in.follow.follower_id = follower_id;
	w->sw.in.follow.followee_id = followee_id;
	write_submit(w);
}

void graph_relation(struct graph *g, enum store_write_kind kind, uint64_t user_id,
		    uint64_t other_id, const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct write *w = write_new(g->writes, kind, sizeof(*w), idem, done, arg);
	w->sw.in.relation.user_id = user_id;
	w->sw.in.relation.other_id = other_id;
	write_submit(w);
}

int graph_blocks(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		 struct follow_entry *out, size_t *n)
{
	return r->ops->blocks(r, user_id, page, out, n);
}

int graph_mutes(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		struct follow_entry *out, size_t *n)
{
	return r->ops->mutes(r, user_id, page, out, n);
}

int graph_followers(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		    struct follow_entry *out, size_t *n)
{
	return r->ops->followers(r, user_id, page, out, n);
}

int graph_following(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		    struct follow_entry *out, size_t *n)
{
	return r->ops->following(r, user_id, page, out, n);
}

int graph_relations(struct store_reader *r, uint64_t viewer, const uint64_t *targets, size_t n,
		    bool *following, bool *followed_by)
{
	struct store_followee *out = NULL;
	uint64_t *ids = NULL;
	size_t nout = 0, nids = 0;
	int rc = r->ops->followees(r, viewer, &out, &nout);
	if (rc == STORE_OK)
		rc = r->ops->follower_ids(r, viewer, &ids, &nids);
	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		following[i] = followed_by[i] = false;
		for (size_t k = 0; k < nout && !following[i]; k++)
			following[i] = out[k].id == targets[i];
		for (size_t k = 0; k < nids && !followed_by[i]; k++)
			followed_by[i] = ids[k] == targets[i];
	}
	free(out);
	free(ids);
	return rc;
}
