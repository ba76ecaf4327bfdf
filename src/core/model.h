/*
 * model — chirp's entities (DESIGN §2) and their size limits.
 *
 * The structs hold their strings inline, sized by the limits below, so a
 * user or tweet read from the store needs no allocation and a page of them
 * is one array. If you change a limit here, also check the schema comment
 * in store/sqlite.c and docs/api.md.
 */
#ifndef CHIRP_CORE_MODEL_H
#define CHIRP_CORE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define HANDLE_MAX 30              /* bytes; handles are [A-Za-z0-9_] */
#define DISPLAY_NAME_MAX_CP 50     /* code points */
#define TEXT_MAX_CP 280            /* code points */
#define PASSWORD_MIN 8             /* bytes */
#define PASSWORD_MAX 1024          /* bytes */
#define PWHASH_MAX 128             /* crypto_pwhash_STRBYTES */
#define TOKEN_HASH_LEN 32          /* SHA-256 of the bearer token */
#define MEDIA_PER_TWEET_MAX 4

/* UTF-8 takes at most 4 bytes per code point. */
#define DISPLAY_NAME_MAX (DISPLAY_NAME_MAX_CP * 4)
#define TEXT_MAX (TEXT_MAX_CP * 4)

struct user {
	uint64_t id;
	char handle[HANDLE_MAX + 1];
	char display_name[DISPLAY_NAME_MAX + 1];
	uint64_t followers_count;
	uint64_t following_count;
	uint64_t tweets_count;
};

struct tweet {
	uint64_t id;
	uint64_t author_id;
	char author_handle[HANDLE_MAX + 1];
	char author_display_name[DISPLAY_NAME_MAX + 1];
	size_t text_len;
	char text[TEXT_MAX + 1];
};

/* One row of a followers/following list: the follow's own id is the cursor. */
struct follow_entry {
	uint64_t follow_id;
	struct user user;
};

#endif
