/*
 * live — see live.h.
 */
#include "timeline/live.h"

#include <stdio.h>
#include <string.h>

#include "util/id.h"

void live_channel_feed(char *buf, uint64_t reader_id)
{
	snprintf(buf, LIVE_CHANNEL_MAX, "feed:%llu", (unsigned long long)reader_id);
}

void live_channel_author(char *buf, uint64_t author_id)
{
	snprintf(buf, LIVE_CHANNEL_MAX, "author:%llu", (unsigned long long)author_id);
}

size_t live_encode(const struct live_event *e, char *buf)
{
	int n;
	switch (e->kind) {
	case LIVE_TWEET: n = snprintf(buf, LIVE_MESSAGE_MAX, "t %llu", (unsigned long long)e->id); break;
	case LIVE_DELETE: n = snprintf(buf, LIVE_MESSAGE_MAX, "d %llu", (unsigned long long)e->id); break;
	default: n = snprintf(buf, LIVE_MESSAGE_MAX, "r"); break;
	}
	return (size_t)n;
}

bool live_decode(const void *msg, size_t len, struct live_event *out)
{
	const char *m = msg;
	if (len == 1 && m[0] == 'r') {
		*out = (struct live_event){.kind = LIVE_RESYNC, .id = 0};
		return true;
	}
	if (len < 3 || m[1] != ' ' || (m[0] != 't' && m[0] != 'd'))
		return false;
	out->kind = m[0] == 't' ? LIVE_TWEET : LIVE_DELETE;
	return id_parse(m + 2, len - 2, &out->id);
}
