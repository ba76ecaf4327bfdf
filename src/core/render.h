/*
 * render — the JSON shapes of DESIGN §3: User and Tweet.
 *
 * The one place that decides what a User or a Tweet looks like on the wire,
 * so a tweet reads the same in a feed, a timeline, a lookup and a replay.
 * No secret (password hash, token) is ever among the fields written here.
 */
#ifndef CHIRP_CORE_RENDER_H
#define CHIRP_CORE_RENDER_H

#include <stddef.h>

#include "core/model.h"
#include "util/strbuf.h"

void render_user(struct strbuf *sb, const struct user *u);
void render_tweet(struct strbuf *sb, const struct tweet *t);

/* JSON arrays of n items. */
void render_tweets(struct strbuf *sb, const struct tweet *t, size_t n);
void render_follow_users(struct strbuf *sb, const struct follow_entry *e, size_t n);

#endif
