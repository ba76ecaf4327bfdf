/*
 * markers — where a user stopped reading: the home timeline and the
 * notifications, one marker each (Mastodon's read markers,
 * /api/v1/markers; docs/mastodon.md).
 *
 * A marker is an id the client chose (the newest status or notification it
 * showed); chirp keeps it as told, even backwards, and counts its updates
 * (`version`) and stamps the last one (`updated_at`), so a client on
 * another device sees where the user stopped and whether that moved since
 * it looked. A marker is a row per user and timeline, written through the
 * write path like any write (STORE_W_MARKERS_SET). It is apart from the
 * native notifications read marker (POST /v1/notifications/read), which
 * the unread count follows.
 *
 * The JSON of a set of markers is one object keyed by timeline name:
 *   {"home": {"last_read_id": "…", "version": 3, "updated_at": "…Z"}, …}
 * with only the timelines asked for that have a marker.
 */
#ifndef CHIRP_CORE_MARKERS_H
#define CHIRP_CORE_MARKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/write.h"
#include "store/store.h"
#include "util/strbuf.h"

/* Defines the answer of STORE_W_MARKERS_SET: 200 with the markers it set,
 * as they are now. */
void markers_follow_writes(struct writes *ws);

/* A timeline's name ("home", "notifications"), and back: the timeline
 * named name[0..len), true and *t. */
const char *markers_timeline_name(enum marker_timeline t);
bool markers_timeline_parse(const char *name, size_t len, enum marker_timeline *t);

/* Sets `user_id`'s markers of the timelines with set[t] to last_read[t]
 * (each validated: an id). Copied. */
void markers_set(struct writes *ws, uint64_t user_id, const bool set[MARKER_TIMELINE_COUNT],
		 const uint64_t last_read[MARKER_TIMELINE_COUNT], const struct store_idem *idem,
		 write_done_fn done, void *arg);

/* The user's markers of the timelines in the bit set `which` (1 << t),
 * as JSON (above), appended to `out`. */
int markers_get(struct store_reader *r, uint64_t user_id, unsigned which, struct strbuf *out);

#endif
