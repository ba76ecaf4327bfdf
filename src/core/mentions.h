/*
 * mentions — the @handles of a tweet's text, for its notifications.
 *
 * A mention is '@' at the start of the text or after a character that
 * cannot be in a handle, then 1..HANDLE_MAX handle characters
 * ([A-Za-z0-9_]) not followed by another one (so "a@b.c" and a 31-character
 * run name nobody). Whether a user has the handle is the store's question,
 * asked in the tweet's transaction.
 *
 * The engagement work parses mentions into the tweet's entities at post
 * time too; when both exist, one parser should serve both.
 */
#ifndef CHIRP_CORE_MENTIONS_H
#define CHIRP_CORE_MENTIONS_H

#include <stddef.h>

#include "core/model.h"

/* The distinct (case-insensitively) handles `text` mentions, in order of
 * first appearance, at most MENTIONS_MAX, NUL-terminated into out[];
 * returns how many. */
unsigned mentions_parse(const char *text, size_t len, char out[][HANDLE_MAX + 1]);

#endif
