/*
 * notifications — see notifications.h.
 */
#include "core/notifications.h"

#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "timeline/feed.h"
#include "util/log.h"

struct notifications {
	struct writes *writes;
	struct feed *feed;
};

static void render_no_content(struct write *w, void *arg)
{
	(void)arg;
	w->sw.resp_status = 204;
}

static void render_dismiss(struct write *w, void *arg)
{
	(void)arg;
	if (!write_render_not_found(w))
		w->sw.resp_status = 204;
}

struct notifications *notifications_new(struct writes *ws, struct feed *feed)
{
	struct notifications *ns = xcalloc(1, sizeof(*ns));
	ns->writes = ws;
	ns->feed = feed;
	writes_define(ws, STORE_W_NOTIFICATIONS_READ, render_no_content, NULL);
	writes_define(ws, STORE_W_NOTIFICATION_DISMISS, render_dismiss, NULL);
	writes_define(ws, STORE_W_NOTIFICATIONS_CLEAR, render_no_content, NULL);
	return ns;
}

void notifications_free(struct notifications *ns)
{
	free(ns);
}

bool notifications_type_parse(const char *name, size_t len, enum notification_type *type)
{
	for (int t = 0; t < NOTIF_TYPE_COUNT; t++) {
		const char *s = render_notification_type((enum notification_type)t);
		if (strlen(s) == len && memcmp(s, name, len) == 0) {
			*type = (enum notification_type)t;
			return true;
		}
	}
	return false;
}

/* Each notification with its tweet as the user sees it: the viewer state of
 * the page's tweets in one batched read, then each tweet's shared JSON
 * from the tweet cache. A tweet deleted meanwhile renders as null. */
static int render_page(struct notifications *ns, struct store_reader *r, uint64_t user_id,
		       const struct notification *e, size_t n, struct strbuf *out,
		       struct notifications_spans *spans)
{
	uint64_t *ids = xmalloc((n ? n : 1) * (sizeof(uint64_t) + 1));
	uint8_t *state = (uint8_t *)(ids + (n ? n : 1));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].tweet_id)
			ids[k++] = e[i].tweet_id;
	int rc = feed_viewer_state(ns->feed, r, user_id, ids, k, state);
	struct strbuf tweet = STRBUF_INIT;
	strbuf_append_char(out, '[');
	for (size_t i = 0, j = 0; rc == STORE_OK && i < n; i++) {
		strbuf_reset(&tweet);
		if (e[i].tweet_id) {
			int t = feed_tweet_as(ns->feed, r, e[i].tweet_id, state[j++], &tweet);
			if (t != STORE_OK && t != STORE_NOT_FOUND)
				rc = t;
		}
		if (i)
			strbuf_append_char(out, ',');
		size_t start = out->len;
		render_notification(out, &e[i], tweet.data, tweet.len);
		if (spans && i < NOTIFICATIONS_SPANS_MAX) {
			spans->off[i] = start;
			spans->len[i] = out->len - start;
		}
	}
	strbuf_append_char(out, ']');
	strbuf_deinit(&tweet);
	free(ids);
	return rc;
}

int notifications_page(struct notifications *ns, struct store_reader *r, uint64_t user_id,
		       const struct store_page *page, unsigned types, struct strbuf *out,
		       size_t *n, uint64_t *newest, uint64_t *oldest, struct notifications_spans *spans)
{
	struct notification *e = xmalloc(sizeof(*e) * (page->limit ? page->limit : 1));
	int rc = r->ops->notifications(r, user_id, page, types, e, n);
	if (rc == STORE_OK)
		rc = render_page(ns, r, user_id, e, *n, out, spans);
	if (rc == STORE_OK && *n) {
		*newest = e[0].id;
		*oldest = e[*n - 1].id;
	}
	free(e);
	return rc;
}

int notifications_unread(struct store_reader *r, uint64_t user_id, uint64_t *count)
{
	return r->ops->notifications_unread(r, user_id, count);
}

void notifications_mark_read(struct notifications *ns, uint64_t user_id, uint64_t up_to_id,
			     const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct write *w = write_new(ns->writes, STORE_W_NOTIFICATIONS_READ, sizeof(*w), idem, done,
				    arg);
	w->sw.in.notifications_read.user_id = user_id;
	w->sw.in.notifications_read.up_to_id = up_to_id;
	write_submit(w);
}

void notifications_dismiss(struct notifications *ns, uint64_t user_id, uint64_t id,
			   const struct store_idem *idem, write_done_fn done, void *arg)
{
	struct write *w =
	    write_new(ns->writes, id ? STORE_W_NOTIFICATION_DISMISS : STORE_W_NOTIFICATIONS_CLEAR,
	              sizeof(*w), idem, done, arg);
	w->sw.in.dismiss.user_id = user_id;
	w->sw.in.dismiss.id = id;
	write_submit(w);
}
