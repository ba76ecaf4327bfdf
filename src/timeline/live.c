/*
 * live — see live.h.
 */
#include "timeline/live.h"

#include <stdio.h>
#include <string.h>

#include "util/id.h"

static const char HEX[] = "0123456789abcdef";

void live_channel_feed(char *buf, uint64_t reader_id)
{
	snprintf(buf, LIVE_CHANNEL_MAX, "feed:%llu", (unsigned long long)reader_id);
}

void live_channel_author(char *buf, uint64_t author_id)
{
	snprintf(buf, LIVE_CHANNEL_MAX, "author:%llu", (unsigned long long)author_id);
}

void live_channel_tag(char *buf, const char *tag, size_t tag_len)
{
	if (tag_len > LIVE_TAG_CHANNEL_MAX - 5)
		tag_len = LIVE_TAG_CHANNEL_MAX - 5; /* never: a folded tag fits */
	memcpy(buf, "tag:", 4);
	memcpy(buf + 4, tag, tag_len);
	buf[4 + tag_len] = '\0';
}

size_t live_encode(const struct live_event *e, char *buf)
{
	int n;
	switch (e->kind) {
	case LIVE_TWEET: n = snprintf(buf, LIVE_MESSAGE_MAX, "t %llu", (unsigned long long)e->id); break;
	case LIVE_DELETE: n = snprintf(buf, LIVE_MESSAGE_MAX, "d %llu", (unsigned long long)e->id); break;
	case LIVE_REVOKE:
	case LIVE_REVOKE_OTHERS:
		buf[0] = e->kind == LIVE_REVOKE ? 'x' : 'o';
		buf[1] = ' ';
		for (size_t i = 0; i < LIVE_TOKEN_ID_LEN; i++) {
			buf[2 + 2 * i] = HEX[e->token[i] >> 4];
			buf[3 + 2 * i] = HEX[e->token[i] & 15];
		}
		n = 2 + 2 * LIVE_TOKEN_ID_LEN;
		buf[n] = '\0';
		break;
	case LIVE_BUS_LOST: n = snprintf(buf, LIVE_MESSAGE_MAX, "l"); break;
	case LIVE_NOTIFY: n = snprintf(buf, LIVE_MESSAGE_MAX, "n"); break;
	default: n = snprintf(buf, LIVE_MESSAGE_MAX, "r"); break;
	}
	return (size_t)n;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is not what live_encode writes */
}

static bool decode_revoke(const char *m, size_t len, enum live_kind kind, struct live_event *out)
{
	if (len != 2 + 2 * LIVE_TOKEN_ID_LEN)
		return false;
	for (size_t i = 0; i < LIVE_TOKEN_ID_LEN; i++) {
		int hi = hex_value(m[2 + 2 * i]), lo = hex_value(m[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		out->token[i] = (uint8_t)(hi << 4 | lo);
	}
	out->kind = kind;
	out->id = 0;
	return true;
}

bool live_decode(const void *msg, size_t len, struct live_event *out)
{
	const char *m = msg;
	if (len == 1 && (m[0] == 'r' || m[0] == 'l' || m[0] == 'n')) {
		enum live_kind k = m[0] == 'r' ? LIVE_RESYNC : m[0] == 'l' ? LIVE_BUS_LOST : LIVE_NOTIFY;
		*out = (struct live_event){.kind = k, .id = 0};
		return true;
	}
	if (len >= 2 && (m[0] == 'x' || m[0] == 'o') && m[1] == ' ')
		return decode_revoke(m, len, m[0] == 'x' ? LIVE_REVOKE : LIVE_REVOKE_OTHERS, out);
	if (len < 3 || m[1] != ' ' || (m[0] != 't' && m[0] != 'd'))
		return false;
	out->kind = m[0] == 't' ? LIVE_TWEET : LIVE_DELETE;
	return id_parse(m + 2, len - 2, &out->id);
}

uint64_t live_order_key(const void *msg, size_t len)
{
	struct live_event e;
	return live_decode(msg, len, &e) && e.kind == LIVE_TWEET ? e.id : 0;
}
