/*
 * model — chirp's entities and their size limits.
 *
 * The structs hold their strings inline, sized by the limits below, so a
 * user or tweet read from the store needs no allocation and a page of them
 * is one array. If you change a limit here, also check the schema comment
 * in store/sqlite.c and docs/api.md.
 */
#ifndef CHIRP_CORE_MODEL_H
#define CHIRP_CORE_MODEL_H

#include <stdbool.h>
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
#define BIO_MAX_CP 160             /* code points; empty when unset */

#define EMAIL_MAX 254              /* bytes of an e-mail address (RFC 5321's path limit) */
#define DESCRIPTION_MAX_CP 1500    /* code points of a media's description (alt text) */

#define ENTITIES_MAX 10             /* mentions, and hashtags, linked per tweet */
#define HASHTAG_MAX_CP 50          /* code points after the '#' */

/* UTF-8 takes at most 4 bytes per code point. */
#define DISPLAY_NAME_MAX (DISPLAY_NAME_MAX_CP * 4)
#define TEXT_MAX (TEXT_MAX_CP * 4)
#define BIO_MAX (BIO_MAX_CP * 4)
#define HASHTAG_MAX (HASHTAG_MAX_CP * 4)
#define DESCRIPTION_MAX (DESCRIPTION_MAX_CP * 4)
/* The descriptions of a tweet's media, as the tweet keeps them (struct
 * tweet.media_alt): at most this many bytes of text together, enough for
 * every media's full 1500 characters of ASCII. Kept inline like the text,
 * so bounded below four full-width descriptions, which would make every
 * tweet (and every write, which carries two) 24 KiB bigger; a post whose
 * media's descriptions are longer together is refused (422). */
#define TWEET_ALT_TEXT_MAX (MEDIA_PER_TWEET_MAX * DESCRIPTION_MAX_CP)
/* ... and encoded: each description as "<bytes>:<text>" (store.h). */
#define TWEET_ALT_MAX (TWEET_ALT_TEXT_MAX + MEDIA_PER_TWEET_MAX * 6)

/* What a tweet's text links (core/entities.h): offsets in code points,
 * start at the '@' or '#', end exclusive; byte offsets to cut the text. */
struct mention {
	uint64_t id; /* an existing user's; 0 in a post's candidates until the store resolves it */
	uint32_t start, end;
	uint32_t byte_start, byte_len; /* the "@handle" in the text */
	char handle[HANDLE_MAX + 1];   /* the user's own spelling, once resolved */
};
struct hashtag {
	uint32_t start, end;
	uint32_t byte_start, byte_len; /* the "#tag" in the text */
};
struct entities {
	unsigned mentions_n, hashtags_n;
	struct mention mentions[ENTITIES_MAX];
	struct hashtag hashtags[ENTITIES_MAX];
};

/* A processed image attached to a tweet or
 * a user's avatar: what a tweet renders of it. */
#define MEDIA_TYPE_MAX 15 /* "image/jpeg" */
struct media_ref {
	uint64_t id;
	uint32_t width, height;
	char content_type[MEDIA_TYPE_MAX + 1];
};

struct user {
	uint64_t id;
	char handle[HANDLE_MAX + 1];
	char display_name[DISPLAY_NAME_MAX + 1];
	uint64_t followers_count;
	uint64_t following_count;
	uint64_t tweets_count;
	char bio[BIO_MAX + 1]; /* "" when unset */
	struct media_ref avatar; /* id 0 when unset */
};

/* A signed-in session as its owner sees it (GET /v1/sessions): never the
 * token or its hash. created_at derives from the id; the device label is
 * the log-in's User-Agent (printable ASCII, cut to SESSION_DEVICE_MAX) and
 * the address the client's as the gateway saw it at log-in. */
#define SESSION_DEVICE_MAX 128
#define SESSION_IP_MAX 45 /* INET6_ADDRSTRLEN - 1 */
#define SESSION_LIST_MAX 100 /* the newest this many are listed */
struct session {
	uint64_t id;
	uint64_t user_id;
	uint64_t last_used_ms; /* kept to within an hour (core/accounts.c) */
	char device[SESSION_DEVICE_MAX + 1];
	char ip[SESSION_IP_MAX + 1];
	/* Whether the user blocks or mutes anyone, or is blocked by anyone,
	 * read with the session by store_ops.session_get only (false from
	 * sessions_of): a page for a reader with none skips reading them. */
	bool has_relations;
};

struct tweet {
	uint64_t id;
	uint64_t author_id;
	char author_handle[HANDLE_MAX + 1];
	char author_display_name[DISPLAY_NAME_MAX + 1];
	struct media_ref author_avatar; /* id 0 when unset */
	size_t text_len;
	char text[TEXT_MAX + 1];
	unsigned media_n;
	struct media_ref media[MEDIA_PER_TWEET_MAX];
	/* The media's descriptions (alt text), fixed when the tweet was
	 * posted: one "<bytes>:<text>" per media, in order ("0:" for none);
	 * "" when no media has one. store_media_alt_next reads it. */
	char media_alt[TWEET_ALT_MAX + 1];
	uint64_t in_reply_to_id;      /* 0: not a reply (the target may since be deleted) */
	uint64_t in_reply_to_user_id; /* the target's author; 0 when not a reply */
	uint64_t reply_count;         /* replies that exist now */
	uint64_t like_count;
	uint64_t retweet_count;
	/* A retweet is a row of its own with no text: the retweeter is its
	 * author, and these name the original (0 for a tweet). */
	uint64_t retweet_of;
	uint64_t retweet_of_author_id;
	struct entities entities; /* parsed when posted, stored with the tweet */
};

/* What a reader has done to a tweet (store_ops.viewer_state), as bits. */
enum { VIEWER_LIKED = 1, VIEWER_RETWEETED = 2 };

/* One row of a followers/following list: the follow's own id is the cursor. */
/* Notifications (GET /v1/notifications). A like or retweet notification
 * is one row per (recipient, type, tweet): `count` actors grouped, `actor`
 * the latest of them; the others are one row per event (count 1). */
enum notification_type {
	NOTIF_FOLLOW,
	NOTIF_MENTION,
	NOTIF_REPLY,
	NOTIF_LIKE,
	NOTIF_RETWEET,
	NOTIF_TYPE_COUNT
};
#define NOTIF_TYPES_ALL ((1u << NOTIF_TYPE_COUNT) - 1)
#define MENTIONS_MAX 10 /* @handles of a tweet that notify */

struct notification {
	uint64_t id; /* moves up to the newest event of its group */
	enum notification_type type;
	struct user actor;
	uint64_t tweet_id; /* 0: none (a follow) */
	uint64_t count;    /* actors grouped in it */
};

/* What a reader hides (store_ops.relations): each bit for one other user. */
enum {
	REL_BLOCKING = 1,   /* the reader blocks them */
	REL_BLOCKED_BY = 2, /* they block the reader */
	REL_MUTING = 4,     /* the reader mutes them */
};
#define RELATIONS_MAX 20000 /* of each kind read per reader (docs/api.md) */

struct follow_entry {
	uint64_t follow_id;
	struct user user;
};

/* An upload and what processing made of it (media/media.h). */
enum media_status {
	MEDIA_AWAITING_UPLOAD, /* made; the client is sending the bytes */
	MEDIA_PROCESSING,      /* complete; a job decodes it */
	MEDIA_READY,           /* processed; may be attached to a tweet */
	MEDIA_FAILED,          /* rejected or dead-lettered; `error` says why */
	MEDIA_RELEASED,        /* its tweet was deleted; cleanup removes it */
};
#define MEDIA_CLAIMED_TYPE_MAX 31
#define MEDIA_ERROR_MAX 199
#define MEDIA_UPLOAD_ID_MAX 255 /* a blob store's multipart upload id */

struct media {
	uint64_t id;
	uint64_t owner_id;
	uint64_t size;      /* bytes the client announced */
	unsigned parts;     /* 0: one PUT; else parts of a multipart upload */
	enum media_status status;
	char claimed_type[MEDIA_CLAIMED_TYPE_MAX + 1];
	struct media_ref out; /* when ready: type from the bytes, width, height */
	uint64_t tweet_id;  /* 0 until attached */
	unsigned attempts;  /* processing attempts so far */
	char error[MEDIA_ERROR_MAX + 1];
	char upload_id[MEDIA_UPLOAD_ID_MAX + 1]; /* multipart, if the blob store made one */
	char description[DESCRIPTION_MAX + 1];   /* alt text; "" when none */
};

/* Read markers (Mastodon's /api/v1/markers): where a user stopped reading
 * a timeline. `version` counts the updates; updated_ms is the last one's
 * time. */
enum marker_timeline { MARKER_HOME, MARKER_NOTIFICATIONS, MARKER_TIMELINE_COUNT };
struct marker {
	uint64_t last_read_id;
	uint64_t version;    /* 0: never set */
	uint64_t updated_ms;
};

#endif
