/*
 * live — what the feed tells live streams, and on which channel
 * (docs/architecture.md). Producer (timeline/feed.c, on the fanout thread) and consumer
 * (live/service.c, on the event loops) share this one definition, so the bytes
 * on the pubsub bus are written and read in one place.
 *
 * Channels:
 *   feed:<reader id>    events for one reader's feed: tweets fanned out to
 *                       the reader, the reader's own tweets, deletes of
 *                       those, and "your follows changed";
 *   author:<author id>  tweets and deletes of an author who is not fanned
 *                       out (a celebrity); a reader's stream subscribes to
 *                       the author channels of the celebrities it follows;
 *   public              every new tweet (not retweets) and every delete, for
 *                       the public streams (Mastodon's `public`);
 *   tag:<folded tag>    every new tweet (not retweets) with that hashtag,
 *                       for the hashtag streams; their deletes come on
 *                       `public` (a delete does not know its tweet's tags).
 *
 * Messages are short ASCII: "t <id>" a tweet entered the feed, "d <id>" a
 * tweet was deleted, "r" the reader's follows changed (resubscribe and catch
 * up), "x <32 hex digits>" the reader's session of that token was revoked
 * (its streams end; published by live/service.c when a log-out commits),
 * "o <32 hex digits>" every session of the reader but that one was (log
 * out everywhere, a password change; all zeros: every session), "n" the
 * reader has a new notification (the stream reads what is new), "l" the
 * bus itself is unreachable (never sent on the bus: the Redis pubsub
 * adapter hands it to its own subscribers when its connection breaks, and
 * streams end with a hint to reconnect).
 * The tweet itself is not in the message: the stream hydrates it from
 * the tweet cache, which also skips a tweet deleted in between. A revoke
 * names the session by the first LIVE_TOKEN_ID_LEN bytes of its token's
 * SHA-256, never the token: enough to tell one user's sessions apart, and
 * nothing a listener on the bus could log in with.
 */
#ifndef CHIRP_TIMELINE_LIVE_H
#define CHIRP_TIMELINE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"

#define LIVE_CHANNEL_MAX 32 /* "author:" + 20 digits + NUL, with room */
#define LIVE_TOKEN_ID_LEN 16 /* bytes of a token's hash that name its session */
#define LIVE_MESSAGE_MAX 40  /* "x " + 32 hex digits, with room */
#define LIVE_TAG_CHANNEL_MAX (4 + HASHTAG_MAX + 1) /* "tag:" + a folded tag + NUL */

enum live_kind {
	LIVE_TWEET,  /* tweet `id` entered the feed */
	LIVE_DELETE, /* tweet `id` was deleted */
	LIVE_RESYNC, /* the reader's follows changed */
	LIVE_REVOKE, /* the session of token `token` was revoked */
	LIVE_REVOKE_OTHERS, /* every session of the reader but `token`'s was */
	LIVE_BUS_LOST, /* this process lost the bus (cluster mode): events may be missed */
	LIVE_NOTIFY, /* the reader has a new notification */
};

struct live_event {
	enum live_kind kind;
	uint64_t id;                            /* 0 for LIVE_RESYNC, LIVE_NOTIFY, revokes */
	uint8_t token[LIVE_TOKEN_ID_LEN];       /* LIVE_REVOKE, LIVE_REVOKE_OTHERS */
};

/* Writes the channel name of a reader's feed, or of an author, into
 * buf[LIVE_CHANNEL_MAX]. */
void live_channel_feed(char *buf, uint64_t reader_id);
void live_channel_author(char *buf, uint64_t author_id);
/* The public channel's name (a constant). */
#define LIVE_CHANNEL_PUBLIC "public"
/* Writes the channel of a folded tag (entities_tag's form, tag_len bytes,
 * at most HASHTAG_MAX) into buf[LIVE_TAG_CHANNEL_MAX]. */
void live_channel_tag(char *buf, const char *tag, size_t tag_len);

/* Writes the message for `e` into buf[LIVE_MESSAGE_MAX]; returns its length. */
size_t live_encode(const struct live_event *e, char *buf);

/* Reads a message; false if it is not one this version writes. */
bool live_decode(const void *msg, size_t len, struct live_event *out);

/* A message's place in the order a cluster's bus delivers tweets in
 * (pubsub_options.order_key): a tweet's id; 0 for every other message,
 * which goes out as it comes. */
uint64_t live_order_key(const void *msg, size_t len);

#endif
