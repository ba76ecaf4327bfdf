/*
 * validate — the rules for user-supplied fields (docs/api.md).
 *
 * One place decides what a valid handle, password, display name or tweet
 * text is, so the API, the bulk loader and the tests agree. Each function
 * takes raw bytes with a length (input may contain NUL) and returns true if
 * the value is acceptable.
 */
#ifndef CHIRP_CORE_VALIDATE_H
#define CHIRP_CORE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* [A-Za-z0-9_]{1,30} */
bool validate_handle(const char *s, size_t len);

/* 8..1024 bytes, anything allowed (passphrases may hold any character). */
bool validate_password(const char *s, size_t len);

/* 1..50 code points of valid UTF-8 with no control characters, not blank
 * (below), and with every bidirectional embedding, override and isolate
 * closed, properly nested (LRE/RLE/LRO/RLO by PDF, LRI/RLI/FSI by PDI).
 * Refused rather than stripped: the name is stored as the user sent it,
 * and the user learns why (422) instead of seeing it changed. */
bool validate_display_name(const char *s, size_t len);

/* 1..280 code points of valid UTF-8, no NUL, not blank. */
bool validate_tweet_text(const char *s, size_t len);

/* Blank, for both: made only of white space (Unicode White_Space, so
 * no-break spaces too) and characters that show as nothing (General
 * Category Cf, such as zero-width spaces and joiners, soft hyphens, BOMs
 * and bidi controls, and the other Default_Ignorable_Code_Points, such as
 * Hangul fillers and variation selectors). Mixed with visible text they
 * are fine: an emoji sequence joins with U+200D. */

/* 0..160 code points of valid UTF-8 with no control characters (empty
 * clears the bio). */
bool validate_bio(const char *s, size_t len);

/* An e-mail address, checked for sanity rather than against all of RFC
 * 5322: at most EMAIL_MAX bytes of ASCII; one '@'; before it 1..64 of
 * letters, digits and !#$%&'*+/=?^_`{|}~.- with no leading, trailing or
 * doubled dot; after it two or more dot-separated labels of letters,
 * digits and inner hyphens, 1..63 each. No quoted local parts, no
 * IP-literal domains, no non-ASCII (internationalised) addresses. */
bool validate_email(const char *s, size_t len);
/* A valid address as chirp keeps and compares it: lower-cased (addresses
 * are unique case-insensitively, as Mastodon's are), into
 * out[EMAIL_MAX + 1]. */
void validate_email_fold(const char *s, size_t len, char *out);

/* A media's description (alt text): 0..1500 code points of valid UTF-8,
 * no control characters but line breaks and tabs (empty: none). */
bool validate_description(const char *s, size_t len);

#endif
