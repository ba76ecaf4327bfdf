/*
 * markers — see markers.h.
 */
#include "core/markers.h"

#include <string.h>

#include "util/jsonw.h"
#include "util/timeutil.h"

static const char *const names[MARKER_TIMELINE_COUNT] = {
    [MARKER_HOME] = "home",
    [MARKER_NOTIFICATIONS] = "notifications",
};

const char *markers_timeline_name(enum marker_timeline t)
{
	return names[t];
}

bool markers_timeline_parse(const char *name, size_t len, enum marker_timeline *t)
{
	for (int i = 0; i < MARKER_TIMELINE_COUNT; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
			*t = (enum marker_timeline)i;
			return true;
		}
	return false;
}

/* The markers of m[] with version > 0 among `which`, as one object. */
static void render(struct strbuf *sb, const struct marker *m, unsigned which)
{
	bool first = true;
	strbuf_append_char(sb, '{');
	for (int t = 0; t < MARKER_TIMELINE_COUNT; t++) {
		if (!(which & (1u << t)) || !m[t].version)
			continue;
		if (!first)
			strbuf_append_char(sb, ',');
		first = false;
		char ts[RFC3339_LEN + 1];
		time_format_rfc3339(m[t].updated_ms, ts);
		jsonw_key(sb, names[t]);
		strbuf_append_char(sb, '{');
		jsonw_field_id(sb, "last_read_id", m[t].last_read_id, 1);
		jsonw_field_u64(sb, "version", m[t].version, 0);
		jsonw_field_str(sb, "updated_at", ts, 0);
		strbuf_append_char(sb, '}');
	}
	strbuf_append_char(sb, '}');
}

static void render_set(struct write *w, void *arg)
{
	(void)arg;
	unsigned which = 0;
	for (int t = 0; t < MARKER_TIMELINE_COUNT; t++)
		if (w->sw.in.markers.set[t])
			which |= 1u << t;
	w->sw.resp_status = 200;
	render(&w->sw.resp_body, w->sw.in.markers.m, which);
}

void markers_follow_writes(struct writes *ws)
{
	writes_define(ws, STORE_W_MARKERS_SET, render_set, NULL);
}

void markers_set(struct writes *ws, uint64_t user_id, const bool set[MARKER_TIMELINE_COUNT],
		 const uint64_t last_read[MARKER_TIMELINE_COUNT], const struct store_idem *idem,
		 write_done_fn done, void *arg)
{
	struct write *w = write_new(ws, STORE_W_MARKERS_SET, sizeof(*w), idem, done, arg);
	struct store_markers *in = &w->sw.in.markers;
	in->user_id = user_id;
	for (int t = 0; t < MARKER_TIMELINE_COUNT; t++) {
		in->set[t] = set[t];
		in->m[t].last_read_id = set[t] ? last_read[t] : 0;
	}
	write_submit(w);
}

int markers_get(struct store_reader *r, uint64_t user_id, unsigned which, struct strbuf *out)
{
	struct marker m[MARKER_TIMELINE_COUNT];
	int rc = r->ops->markers(r, user_id, m);
	if (rc == STORE_OK)
		render(out, m, which);
	return rc;
}
