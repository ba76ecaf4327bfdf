/*
 * mastodon_markers — Mastodon's read markers (GET and POST
 * /api/v1/markers) over the markers service (core/markers.h), which keeps
 * them and renders their JSON; chirp's native API has no route of its own
 * for them.
 *
 * POST takes home[last_read_id] and notifications[last_read_id] as form
 * fields, or {"home": {"last_read_id": …}, …} as JSON; GET takes
 * timeline[]=home&timeline[]=notifications (or timeline=…). Unknown
 * timeline names are ignored, as Mastodon does.
 */
#include <stdio.h>
#include <string.h>

#include "api/mastodon.h"
#include "api/write.h"
#include "core/markers.h"
#include "util/id.h"

/* GET: the markers asked for that exist. */
struct markers_read {
	struct api_read r;
	uint64_t user_id;
	unsigned which;
	int rc;
	struct strbuf json;
};

static void markers_run(struct api_read *r, struct store_reader *db)
{
	struct markers_read *q = (struct markers_read *)r;
	q->rc = markers_get(db, q->user_id, q->which, &q->json);
}

static void markers_finish(struct api_read *r, struct ctx *c)
{
	struct markers_read *q = (struct markers_read *)r;
	if (q->rc != STORE_OK)
		api_store_error(c, q->rc);
	else
		api_send(c, 200, &q->json);
}

static void markers_release(struct api_read *r)
{
	strbuf_deinit(&((struct markers_read *)r)->json);
}

static unsigned timeline_bit(json_t *v)
{
	enum marker_timeline t;
	const char *s = json_string_value(v);
	return s && markers_timeline_parse(s, json_string_length(v), &t) ? 1u << t : 0;
}

void mastodon_markers_get(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	json_t *tl = json_object_get(p, "timeline"), *v;
	unsigned which = timeline_bit(tl);
	size_t i;
	json_array_foreach(tl, i, v) which |= timeline_bit(v);
	struct markers_read *q = api_read_new(c, sizeof(*q));
	q->r.run = markers_run;
	q->r.finish = markers_finish;
	q->r.release = markers_release;
	q->user_id = c->user_id;
	q->which = which;
	strbuf_init(&q->json);
	api_read(c, &q->r);
}

/* The last_read_id given for timeline `name`: 1 with *id, 0 if the
 * timeline is not in the request, -1 (answered) if it is without a valid
 * id. */
static int last_read_id(struct ctx *c, json_t *p, const char *name, uint64_t *id)
{
	char key[64];
	snprintf(key, sizeof(key), "%s[last_read_id]", name);
	json_t *obj = json_object_get(p, name);
	json_t *v =
	    json_is_object(obj) ? json_object_get(obj, "last_read_id") : json_object_get(p, key);
	if (!obj && !v)
		return 0;
	const char *s = json_string_value(v);
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*id = (uint64_t)json_integer_value(v);
		return 1;
	}
	if (s && id_parse(s, json_string_length(v), id))
		return 1;
	char msg[96];
	snprintf(msg, sizeof(msg), "%s must be an id", key);
	mastodon_error(c, 422, msg);
	return -1;
}

void mastodon_markers_set(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	bool set[MARKER_TIMELINE_COUNT] = {0}, any = false;
	uint64_t last[MARKER_TIMELINE_COUNT] = {0};
	for (int t = 0; t < MARKER_TIMELINE_COUNT; t++) {
		int rc =
		    last_read_id(c, p, markers_timeline_name((enum marker_timeline)t), &last[t]);
		if (rc < 0)
			return;
		set[t] = rc == 1;
		any = any || set[t];
	}
	if (!any) {
		mastodon_error(c, 422,
		               "home[last_read_id] or notifications[last_read_id] is required");
		return;
	}
	markers_set(c->app->writes, c->user_id, set, last, &c->idem, api_write_done,
	            api_write_begin(c));
}
