/*
 * render — the JSON shapes of docs/api.md: User and Tweet.
 *
 * The one place that decides what a User or a Tweet looks like on the wire,
 * so a tweet reads the same in a feed, a timeline, a lookup and a replay.
 * No secret (password hash, token) is ever among the fields written here.
 */
#ifndef CHIRP_CORE_RENDER_H
#define CHIRP_CORE_RENDER_H

#include <stddef.h>

#include <stdbool.h>

#include "core/model.h"
#include "util/strbuf.h"

void render_user(struct strbuf *sb, const struct user *u);
/* The user as its owner sees it: render_user and its private fields,
 * "email" (the address, or null for none). Only for answers to the user's
 * own requests (sign-up, GET and PATCH /v1/users/me). */
void render_user_owner(struct strbuf *sb, const struct user *u, const char *email);

/* A Session (GET /v1/sessions): what the owner may see of one, never its
 * token or the token's hash; `current` if the request's token is its. */
void render_session(struct strbuf *sb, const struct session *s, bool current);

/*
 * A Tweet comes in two parts. render_tweet writes the part every reader
 * shares (text, author, counts): the ready-made JSON the tweet cache keeps,
 * always ending with its closing '}'. render_tweet_viewer then reopens the
 * object just written at the end of `sb` and adds what depends on the
 * reader ("liked", "retweeted"; false for anonymous readers): a splice of
 * a few bytes, so a feed page stays a copy of cached JSON. Every Tweet
 * sent to a client has both parts; the shared part alone is never sent.
 * `state` is VIEWER_* bits (core/model.h).
 */
void render_tweet(struct strbuf *sb, const struct tweet *t);
void render_tweet_viewer(struct strbuf *sb, unsigned state);
/* The author_id of a tweet's JSON as render_tweet made it (0 if none):
 * how hydration finds the author of a cached tweet without parsing it.
 * For a retweet that is its retweeter's (the head's first key); the
 * original's author is render_is_retweet's. */
uint64_t render_tweet_author_id(const char *json, size_t len);
/* Both at once, for a tweet read from the store. */
void render_tweet_for(struct strbuf *sb, const struct tweet *t, unsigned state);

/*
 * A retweet is {"id", "retweet_of_id", "retweet_of_author_id", "author_id",
 * "author", "created_at", "retweet_of": Tweet}. Its shared part, the
 * "head", is everything up to "retweet_of": (an open object ending in
 * ':'); the original's shared JSON, its reader's fields and a '}' follow at
 * hydration, so the original's counts are always its own cache entry's
 * and a retweet never goes stale. render_shared writes whichever part the
 * tweet cache keeps for a row: the head for a retweet, else render_tweet.
 */
void render_retweet_head(struct strbuf *sb, const struct tweet *rt);
void render_shared(struct strbuf *sb, const struct tweet *t);
/* If json[0..len) is a retweet's head: true, with the original's id and
 * author. A tweet's shared JSON (ending in '}') is not. */
bool render_is_retweet_head(const char *json, size_t len, uint64_t *orig, uint64_t *orig_author);
/* The same for a whole retweet as sent (a head followed by its original). */
bool render_is_retweet(const char *json, size_t len, uint64_t *orig, uint64_t *orig_author);
/* A whole retweet from the store's rows: the retweet and its original. */
void render_retweet_for(struct strbuf *sb, const struct tweet *rt, const struct tweet *orig,
			unsigned state);

void render_follow_users(struct strbuf *sb, const struct follow_entry *e, size_t n);
/* A Notification: {"id","type","created_at","actor","tweet","count"},
 * `tweet_json` the hydrated Tweet (NULL or empty: null). */
void render_notification(struct strbuf *sb, const struct notification *n, const char *tweet_json,
			 size_t tweet_len);
/* "follow", "mention", "reply", "like", "retweet". */
const char *render_notification_type(enum notification_type t);

/* How render_tweet turns a tweet's media into URLs (signed by the blob
 * store). Set once at start, before any thread renders; until then media
 * render with empty URLs. A hook rather than a parameter because tweets
 * are rendered deep inside the store's writer and the feed. */
typedef void (*render_media_url_fn)(void *arg, struct strbuf *sb, const struct media_ref *m,
				    bool thumb);
void render_set_media_url(render_media_url_fn fn, void *arg);

#endif
