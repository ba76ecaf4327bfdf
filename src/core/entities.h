/*
 * entities — the @mentions and #hashtags of a tweet's text, found once when
 * it is posted and stored with the tweet (docs/api.md, "Entities"), so no
 * read parses text again.
 *
 * The rules, in code points of the text:
 *  - a word character is an ASCII letter, digit or '_', or any code point
 *    from U+00C0 up except × and ÷, the punctuation and symbol blocks
 *    U+2000–U+2BFF, U+3000–U+303F, U+FE00–U+FE0F, U+FF00–U+FF0F and
 *    U+FFF0 up to U+FFFF, and U+1F000 up (emoji);
 *  - '@' or '#' starts an entity only at the start of the text or after a
 *    character that is not a word character (so a@b.c is no mention);
 *  - a mention is '@' and 1 to HANDLE_MAX of [A-Za-z0-9_], ended by any
 *    character that is neither a word character nor '@' (or the end), and
 *    names an existing user (the store checks; others are plain text);
 *  - a hashtag is '#' and 1 to HASHTAG_MAX_CP word characters, not all
 *    digits, ended by a character that is not a word character (or the
 *    end); a longer run is no hashtag. Tags compare case-insensitively
 *    (ASCII letters fold to lower case);
 *  - the first ENTITIES_MAX of each kind count; the rest are plain text.
 */
#ifndef CHIRP_CORE_ENTITIES_H
#define CHIRP_CORE_ENTITIES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/model.h"
#include "util/strbuf.h"

/* The entities of text[0..len) (valid UTF-8): mentions as candidates, with
 * id 0 and the handle as written, for the store to resolve. */
void entities_parse(const char *text, size_t len, struct entities *out);

/* A hashtag's tag in folded form (no '#', ASCII lower case) into
 * out[HASHTAG_MAX + 1]; returns its length. */
size_t entities_tag(const char *text, const struct hashtag *h, char *out);

/* Whether hashtag i of `e` is the first with its tag (a tweet that
 * repeats a tag is indexed and counted once). */
bool entities_tag_first(const char *text, const struct entities *e, unsigned i);

/* Whether mention i of `e` is the first with its user (resolved ids: a
 * tweet that names a user twice notifies them once). */
bool entities_mention_first(const struct entities *e, unsigned i);

/* Whether s[0..len) is a tag as a hashtag would have it (without the '#');
 * if so, its folded form into out[HASHTAG_MAX + 1]. */
bool entities_tag_valid(const char *s, size_t len, char *out);

/* The form a store keeps in a text column, and back: "@id:start:end:
 * byte_start:byte_len:handle;" per mention, "#start:end:byte_start:
 * byte_len;" per hashtag. Decoding stops at anything malformed. */
void entities_encode(const struct entities *e, struct strbuf *out);
void entities_decode(const char *s, struct entities *e);

#endif
