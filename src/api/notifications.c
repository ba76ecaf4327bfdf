/*
 * notifications — GET /v1/notifications (a page, or one by id), GET
 * /v1/notifications/unread_count, POST /v1/notifications/read, and DELETE
 * /v1/notifications (all, or one by id) (core/notifications.h). Always the
 * token's user's own: no path or body names another user, and another
 * user's notification id is as missing as one that never was.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/write.h"
#include "core/notifications.h"
#include "core/render.h"
#include "http/respond.h"
#include "util/id.h"

/* types=a,b: the bit set of the types named (',' or "%2C" between them);
 * absent: all. 422 invalid_types for an unknown or empty name. The
 * canonical form goes into the Link URLs. */
static bool read_types(struct ctx *c, unsigned *types)
{
	h2o_iovec_t v;
	*types = NOTIF_TYPES_ALL;
	if (!http_query_get(c->req, "types", &v))
		return true;
	*types = 0;
	size_t i = 0;
	while (i <= v.len) {
		size_t end = i, skip = 0;
		while (end < v.len && v.base[end] != ',' &&
		       !(end + 2 < v.len && v.base[end] == '%' && v.base[end + 1] == '2' &&
			 (v.base[end + 2] == 'C' || v.base[end + 2] == 'c')))
			end++;
		if (end < v.len)
			skip = v.base[end] == ',' ? 1 : 3;
		enum notification_type t;
		if (!notifications_type_parse(v.base + i, end - i, &t)) {
			http_send_error(c->req, 422, "invalid_types",
					"types must be a comma-separated list of follow, mention, "
					"reply, like, retweet");
			return false;
		}
		*types |= 1u << t;
		if (!skip)
			break;
		i = end + skip;
	}
	size_t len = 0;
	for (int t = 0; t < NOTIF_TYPE_COUNT; t++) {
		if (!(*types & (1u << t)))
			continue;
		len += (size_t)snprintf(c->link_query + len, sizeof(c->link_query) - len, "%s%s",
					len ? "," : "&types=", render_notification_type(t));
	}
	return true;
}

/* A page of notifications, as JSON. */
struct notif_read {
	struct api_read r;
	struct notifications *ns;
	uint64_t user_id;
	struct store_page page;
	unsigned types;
	int rc;
	size_t n;
	uint64_t newest, oldest;
	struct strbuf body;
};

static void list_run(struct api_read *r, struct store_reader *db)
{
	struct notif_read *q = (struct notif_read *)r;
	q->rc = notifications_page(q->ns, db, q->user_id, &q->page, q->types, &q->body, &q->n,
				   &q->newest, &q->oldest, NULL);
}

static void list_finish(struct api_read *r, struct ctx *c)
{
	struct notif_read *q = (struct notif_read *)r;
	if (q->rc != STORE_OK) {
		api_store_error(c, q->rc);
		return;
	}
	api_link(c, &q->page, q->n, q->newest, q->oldest);
	api_send(c, 200, &q->body);
}

static void list_release(struct api_read *r)
{
	strbuf_deinit(&((struct notif_read *)r)->body);
}

static void read_page(struct ctx *c, const struct store_page *page, unsigned types,
		      void (*finish)(struct api_read *r, struct ctx *c))
{
	struct notif_read *q = api_read_new(c, sizeof(*q));
	q->r.run = list_run;
	q->r.finish = finish;
	q->r.release = list_release;
	q->ns = c->app->notifications;
	q->user_id = c->user_id;
	q->page = *page;
	q->types = types;
	strbuf_init(&q->body);
	api_read(c, &q->r);
}

void api_notifications_list(struct ctx *c)
{
	struct store_page page;
	unsigned types;
	if (!api_page(c, &page) || !read_types(c, &types))
		return;
	read_page(c, &page, types, list_finish);
}

/* The page of one is the Notification, without its brackets. */
static void one_finish(struct api_read *r, struct ctx *c)
{
	struct notif_read *q = (struct notif_read *)r;
	if (q->rc == STORE_OK && q->n == 0)
		q->rc = STORE_NOT_FOUND;
	if (q->rc != STORE_OK) {
		api_store_error(c, q->rc);
		return;
	}
	struct strbuf *b = &q->body;
	memmove(b->data, b->data + 1, b->len - 2);
	b->len -= 2;
	api_send(c, 200, b);
}

/* GET /v1/notifications/{id}: a page of one, between its neighbours' ids,
 * so it reads (and hides an actor the user blocks) as the list does. */
void api_notifications_get(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	struct store_page page = {.before = id + 1, .after = id - 1, .limit = 1};
	read_page(c, &page, NOTIF_TYPES_ALL, one_finish);
}

/* DELETE /v1/notifications/{id} (dismiss one), DELETE /v1/notifications
 * (clear them all): 204. */
void api_notifications_dismiss(struct ctx *c)
{
	uint64_t id;
	if (!api_param_id(c, 0, &id))
		return;
	notifications_dismiss(c->app->notifications, c->user_id, id, &c->idem, api_write_done,
	                      api_write_begin(c));
}

void api_notifications_clear(struct ctx *c)
{
	notifications_dismiss(c->app->notifications, c->user_id, 0, &c->idem, api_write_done,
	                      api_write_begin(c));
}

struct unread_read {
	struct api_read r;
	uint64_t user_id;
	int rc;
	uint64_t count;
};

static void unread_run(struct api_read *r, struct store_reader *db)
{
	struct unread_read *u = (struct unread_read *)r;
	u->rc = notifications_unread(db, u->user_id, &u->count);
}

static void unread_finish(struct api_read *r, struct ctx *c)
{
	struct unread_read *u = (struct unread_read *)r;
	if (u->rc != STORE_OK) {
		api_store_error(c, u->rc);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_appendf(&sb, "{\"count\":%llu}", (unsigned long long)u->count);
	api_send(c, 200, &sb);
	strbuf_deinit(&sb);
}

void api_notifications_unread(struct ctx *c)
{
	struct unread_read *u = api_read_new(c, sizeof(*u));
	u->r.run = unread_run;
	u->r.finish = unread_finish;
	u->user_id = c->user_id;
	api_read(c, &u->r);
}

/* {"up_to_id": "<id>"}: notifications up to it count as read. */
void api_notifications_read(struct ctx *c)
{
	json_t *body = api_body(c, true);
	if (!body)
		return;
	bool present;
	uint64_t up_to;
	if (!api_nullable_id(c, body, "up_to_id", "invalid_up_to_id", &present, &up_to))
		goto done;
	if (!up_to) {
		http_send_error(c->req, 422, "invalid_up_to_id",
				"up_to_id is required: a notification id (a string)");
		goto done;
	}
	notifications_mark_read(c->app->notifications, c->user_id, up_to, &c->idem, api_write_done,
				api_write_begin(c));
done:
	json_decref(body);
}
