/*
 * feed — the home feed: the tweets of the people the user follows, and the
 * user's own, newest first.
 */
#include "api/api.h"

void api_feed(struct ctx *c)
{
	struct store_page page;
	if (!api_page(c, &page))
		return;
	struct tweet *t = h2o_mem_alloc_pool(&c->req->pool, sizeof(*t) * page.limit);
	size_t n;
	int rc = c->db->ops->home_feed(c->db, c->user_id, &page, t, &n);
	if (rc != STORE_OK)
		api_store_error(c, rc);
	else
		api_send_tweet_page(c, &page, t, n);
}
