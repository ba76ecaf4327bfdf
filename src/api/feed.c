/*
 * feed — GET /v1/feed: the tweets of the people the user follows, and the
 * user's own, newest first (timeline/feed.h has how).
 */
#include "api/api.h"

void api_feed(struct ctx *c)
{
	struct store_page page;
	if (!api_page(c, &page))
		return;
	struct strbuf body = STRBUF_INIT;
	size_t n;
	uint64_t newest = 0, oldest = 0;
	int rc = feed_home(c->app->feed, c->db, c->user_id, &page, &body, &n, &newest, &oldest);
	if (rc != STORE_OK) {
		api_store_error(c, rc);
	} else {
		api_link(c, &page, n, newest, oldest);
		api_send(c, 200, &body);
	}
	strbuf_deinit(&body);
}
