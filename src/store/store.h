/*
 * store — the port to chirp's durable database (docs/architecture.md).
 *
 * Services talk to the database only through this header; the SQLite
 * adapter (store/sqlite.c) is the embedded default, and a PostgreSQL adapter
 * plugs in behind the same struct store_ops. Two paths:
 *
 *  - Reads are synchronous and go through a `struct store_reader`, one per
 *    thread (a reader is not thread-safe). An adapter whose reads are fast
 *    and local (SQLite: about a microsecond) says so with reads_inline, and
 *    the event loops then read on their own thread; otherwise (a network
 *    round trip) the API runs its reads on worker threads (api_read).
 *  - Writes are asynchronous: the caller fills a `struct store_write` and
 *    submits it. The adapter commits many writes together (group commit) and
 *    calls w->done only once the write is durable, or has failed. A write's
 *    response is rendered by w->render inside the same transaction, so an
 *    Idempotency-Key record and the change it describes commit atomically:
 *    a crash can never leave one without the other.
 *
 * Lists are pages cut by id (struct store_page), always returned newest
 * first. Status codes are the negative STORE_* values; 0 is success.
 */
#ifndef CHIRP_STORE_STORE_H
#define CHIRP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "util/bqueue.h"
#include "util/strbuf.h"

enum {
	STORE_OK = 0,
	STORE_ERROR = -1,         /* I/O or internal failure; nothing changed */
	STORE_NOT_FOUND = -2,     /* no such object (or not the caller's) */
	STORE_CONFLICT = -3,      /* unique constraint: handle taken */
	STORE_IDEM_MISMATCH = -4, /* idempotency key reused with another request */
	STORE_BUSY = -5,          /* write queue full: try later */
	STORE_INVALID = -6,       /* a referenced object is not usable (media not ready) */
};

/* A page of a list: ids strictly between `after` and `before`, at most
 * `limit` of them. With `oldest_first`, the page starts right after `after`
 * (Mastodon's min_id) instead of at the newest item; either way the result
 * is returned newest first. */
struct store_page {
	uint64_t before; /* UINT64_MAX when unbounded */
	uint64_t after;  /* 0 when unbounded */
	unsigned limit;
	bool oldest_first;
};

/* What an Idempotency-Key pins: (scope, key) names the record, and the
 * fingerprint (HMAC-SHA-256 of method, path and body, gateway/idempotency.h)
 * says which request it was. `key` is the client's key (at most
 * IDEM_KEY_MAX bytes) within its method and path, as the gateway names it;
 * the store takes it as an opaque string. */
#define IDEM_KEY_MAX 255
#define IDEM_NAME_MAX (2 * IDEM_KEY_MAX + 2)
struct store_idem {
	bool on;
	uint64_t scope; /* the user id; 0 for anonymous requests (sign-up) */
	char key[IDEM_NAME_MAX + 1];
	uint8_t fingerprint[32];
};

enum store_write_kind {
	STORE_W_USER_CREATE,
	STORE_W_SESSION_CREATE,
	STORE_W_SESSION_DELETE,
	STORE_W_TWEET_CREATE,
	STORE_W_TWEET_DELETE,
	STORE_W_FOLLOW,
	STORE_W_UNFOLLOW,
	STORE_W_PROBE, /* a write that changes nothing users see: can we commit? */
	/* media (media/upload.c, media/worker.c) */
	STORE_W_MEDIA_CREATE,   /* result: media */
	STORE_W_MEDIA_COMPLETE, /* awaiting_upload -> processing, and queue its job; result: media
	                         */
	STORE_W_JOB_FINISH,     /* a processing attempt's outcome */
	STORE_W_MEDIA_PURGE,    /* drop unattached and released media; result: in.media_purge */
	/* engagement (core/likes.c, core/accounts.c) */
	STORE_W_LIKE,           /* result: tweet (fresh counts), created */
	STORE_W_UNLIKE,         /* result: tweet (fresh counts), created (a like was removed) */
	STORE_W_PROFILE_UPDATE, /* result: user */
	/* session management (core/accounts.c) */
	STORE_W_SESSION_END,     /* one session of a user, by id; in.session_end */
	STORE_W_SESSIONS_END,    /* every session of a user but one; in.session */
	STORE_W_PASSWORD_CHANGE, /* and every other session ends; in.password */
	STORE_W_SESSION_TOUCH,   /* last used, if older than in.session.stale_ms */
	STORE_W_SESSIONS_EXPIRE, /* a batch of sessions idle since a cutoff; in.sessions_expire */
	/* retweets (core/tweets.c); inputs in.like, the tweet_id may be a
	 * retweet (its original is meant) */
	STORE_W_RETWEET,   /* result: tweet (the retweet, new or the one there was),
	                    * related (the original, fresh counts), created, viewer */
	STORE_W_UNRETWEET, /* result: tweet (the original, fresh counts), related (the
	                    * retweet removed; id 0 if there was none), created */
	/* blocks, mutes and notifications (core/graph.c, core/notifications.c) */
	STORE_W_BLOCK,              /* in.relation; result: user (the other), created */
	STORE_W_UNBLOCK,            /* in.relation; result: created (a block was removed) */
	STORE_W_MUTE,               /* in.relation; result: user, created */
	STORE_W_UNMUTE,             /* in.relation */
	STORE_W_NOTIFICATIONS_READ, /* in.notifications_read */
	/* media descriptions and read markers (media/upload.c, core/markers.c) */
	STORE_W_MEDIA_DESCRIBE, /* in.media_describe; result: media */
	STORE_W_MARKERS_SET,    /* in.markers, whose entries get their new versions */
	/* notifications a user puts away (core/notifications.c) */
	STORE_W_NOTIFICATION_DISMISS, /* in.dismiss; STORE_NOT_FOUND unless the
	                               * user has notification in.dismiss.id */
	STORE_W_NOTIFICATIONS_CLEAR,  /* in.dismiss (id unused): all of the user's */
	STORE_W_COUNT
};

/* Which unique field of a user a STORE_CONFLICT found taken. */
enum store_taken { STORE_TAKEN_NONE, STORE_TAKEN_HANDLE, STORE_TAKEN_EMAIL };

/* How a processing attempt ended (STORE_W_JOB_FINISH). */
enum store_job_outcome { JOB_READY, JOB_RETRY, JOB_DEAD };

/* A queued job as the queue reads it (queue/store_queue.c). */
struct store_job {
	uint64_t id;
	uint64_t media_id;
	unsigned attempts;
	uint64_t run_at_ms;
};

#define STORE_PURGE_BATCH 64
#define STORE_EXPIRE_BATCH 16 /* sessions per STORE_W_SESSIONS_EXPIRE */

/*
 * One write. The caller owns the struct (usually embedded in a larger one of
 * its own, reached with container_of from the callbacks) and must keep it
 * alive until done() has been called. If you add a kind here, also add its
 * row to each adapter's table of kinds (sqlite.c: exec_kind) and define its
 * answer in the service that submits it (core/write.h: writes_define).
 */
struct store_write {
	enum store_write_kind kind;
	union {
		struct {
			char handle[HANDLE_MAX + 1];
			char display_name[DISPLAY_NAME_MAX + 1];
			char password_hash[PWHASH_MAX];
			char email[EMAIL_MAX + 1]; /* "" for none; folded (validate_email) */
		} user_create; /* result: user, email; STORE_CONFLICT with `taken` */
		struct {
			uint64_t user_id;
			uint8_t token_hash[TOKEN_HASH_LEN];
			/* create: when (last used = now), from what and where;
			 * touch: the new last-used time, set only if the stored
			 * one is older than stale_ms */
			uint64_t used_ms, stale_ms;
			char device[SESSION_DEVICE_MAX + 1];
			char ip[SESSION_IP_MAX + 1];
		} session; /* create: result user; delete and touch: nothing;
			    * SESSIONS_END: all of user_id's but token_hash's (all
			    * zeros: every one) */
		struct {
			uint64_t user_id;
			uint64_t session_id;
			uint8_t token_hash[TOKEN_HASH_LEN]; /* result: the ended one's */
		} session_end; /* STORE_NOT_FOUND unless user_id's */
		struct {
			uint64_t user_id;
			uint8_t token_hash[TOKEN_HASH_LEN]; /* the session that stays */
			char old_hash[PWHASH_MAX];          /* changed only if still this */
			char new_hash[PWHASH_MAX];
		} password; /* STORE_CONFLICT if the hash is no longer old_hash */
		struct store_sessions_expire {
			uint64_t cutoff_ms; /* sessions last used before this end */
			size_t n;           /* result: how many did (at most a batch) */
			uint64_t user_ids[STORE_EXPIRE_BATCH];
			uint8_t token_hashes[STORE_EXPIRE_BATCH][TOKEN_HASH_LEN];
		} sessions_expire;
		struct {
			uint64_t author_id;
			size_t text_len;
			char text[TEXT_MAX + 1];
			unsigned media_n; /* each must be the author's, ready and unattached */
			uint64_t media_ids[MEDIA_PER_TWEET_MAX];
			uint64_t in_reply_to_id; /* 0: not a reply */
			/* parsed from the text (core/entities.h); the store keeps
			 * the mentions that name existing users, with their ids
			 * and handles, in the result's tweet.entities (what a
			 * notification of mentions reads), indexes the hashtags
			 * and counts them for trends */
			struct entities entities;
		} tweet_create; /* result: tweet, and the replied-to tweet in `related`;
				 * STORE_INVALID if a media id is not usable,
				 * STORE_NOT_FOUND if in_reply_to_id names no tweet */
		struct {
			uint64_t id; /* made by the media service (the blob key needs it first) */
			uint64_t owner_id;
			uint64_t size;
			unsigned parts;
			char claimed_type[MEDIA_CLAIMED_TYPE_MAX + 1];
			char upload_id[MEDIA_UPLOAD_ID_MAX + 1];
			char description[DESCRIPTION_MAX + 1];
		} media_create;
		struct {
			uint64_t owner_id;
			uint64_t media_id;
			char description[DESCRIPTION_MAX + 1]; /* "" clears it */
		} media_describe; /* NOT_FOUND: missing or not the owner's; CONFLICT:
				   * on a tweet already (or released), so fixed */
		struct {
			uint64_t owner_id;
			uint64_t media_id;
		} media_complete; /* NOT_FOUND: missing or not the owner's; CONFLICT: failed */
		struct store_job_finish {
			uint64_t job_id;
			uint64_t media_id;
			enum store_job_outcome outcome;
			unsigned attempts;      /* counting this one */
			uint64_t run_at_ms;     /* JOB_RETRY: when to try again */
			struct media_ref out;   /* JOB_READY */
			char error[MEDIA_ERROR_MAX + 1]; /* JOB_RETRY, JOB_DEAD */
		} job_finish;
		struct store_media_purge {
			uint64_t cutoff_ms; /* unattached media made before this go */
			size_t n;           /* result: media removed (at most a batch) */
			uint64_t ids[STORE_PURGE_BATCH];
			unsigned parts[STORE_PURGE_BATCH];
		} media_purge;
		struct {
			uint64_t author_id;
			uint64_t tweet_id;
		} tweet_delete;
		struct {
			uint64_t follower_id;
			uint64_t followee_id;
		} follow; /* follow and unfollow; result: followee in `user`;
			   * STORE_INVALID if either blocks the other */
		struct {
			uint64_t user_id;  /* who blocks or mutes */
			uint64_t other_id; /* whom; STORE_NOT_FOUND if no such user */
		} relation; /* a block also ends the follows of the two, both ways */
		struct {
			uint64_t user_id;
			uint64_t up_to_id; /* the marker: newer ones are unread */
		} notifications_read;
		struct {
			uint64_t user_id;
			uint64_t id;
		} dismiss;
		struct store_markers {
			uint64_t user_id;
			bool set[MARKER_TIMELINE_COUNT]; /* which timelines change */
			/* in: last_read_id of each set one; result: each set
			 * one as stored now (version + 1, updated_ms now) */
			struct marker m[MARKER_TIMELINE_COUNT];
		} markers;
		struct {
			uint64_t user_id;
			uint64_t tweet_id;
		} like; /* like and unlike, retweet and unretweet; STORE_NOT_FOUND if
			 * the tweet does not exist */
		struct {
			uint64_t user_id;
			bool set_display_name, set_bio, set_avatar; /* false: unchanged */
			bool set_email;
			uint64_t avatar_media_id; /* 0 clears; else STORE_INVALID unless
						   * the user's own ready image */
			char display_name[DISPLAY_NAME_MAX + 1];
			char bio[BIO_MAX + 1];
			char email[EMAIL_MAX + 1]; /* folded; "" removes it */
		} profile; /* result: user, email; STORE_CONFLICT with `taken` if
			    * another user has the e-mail (nothing changed) */
	} in;

	struct store_idem idem;

	/* Results, filled by the adapter before render() runs. */
	int status;          /* STORE_OK or a STORE_* error */
	bool created;        /* follow: a new edge (false: already following) */
	struct user user;    /* the user made, logged in or followed */
	struct tweet tweet;  /* the tweet made, liked or unliked */
	struct tweet related; /* a tweet whose counts the write changed (the one replied
			       * to, by a reply made or deleted); id 0 when none */
	struct media media;  /* the media made or completed */
	unsigned viewer;     /* like, retweet: VIEWER_* bits of the user for the tweet */
	unsigned notified_n; /* users the write notified (their live streams hear of it) */
	uint64_t notified[ENTITIES_MAX + 1];
	bool replayed;       /* the response comes from an earlier request */
	/* User create and profile update: the user's e-mail address ("" for
	 * none), which only the owner's own answers show; and on
	 * STORE_CONFLICT, which unique field was taken. */
	char email[EMAIL_MAX + 1];
	enum store_taken taken;

	/* The response, rendered by render() inside the transaction (or copied
	 * from the idempotency record on a replay). */
	int resp_status;
	struct strbuf resp_body;

	void (*render)(struct store_write *w);  /* writer thread; NULL: no answer */
	void (*done)(struct store_write *w);    /* required; writer thread, after commit */
	void *owner;                            /* the submitter's; the store ignores it */

	struct bqueue_node node; /* the adapter's queue link */
};

/* Result of an idempotency lookup. */
struct store_idem_record {
	uint8_t fingerprint[32];
	int status;
	struct strbuf body; /* caller deinits */
};

/* A hashtag of the last hour (store_ops.trends). */
struct store_trend {
	char tag[HASHTAG_MAX + 1]; /* folded (core/entities.h) */
	uint64_t authors;          /* distinct authors who used it */
	uint64_t tweets;           /* tweets that carried it */
};
#define STORE_TREND_MINUTES 60 /* the window trends look at */
/* One user a reader relates to (store_ops.relations). */
struct store_relation {
	uint64_t id;
	unsigned bits; /* REL_* */
};
#define NOTIF_UNREAD_MAX 1000
#define STORE_UNNOTIFY_MS 60000 /* an unlike this soon after the like unnotifies */

struct store_followee {
	uint64_t id;
	uint64_t followers_count;
};

/* Counters of the write path, for metrics and readiness. */
#define STORE_BATCH_BUCKETS 10 /* batch sizes <= 1, 2, 4, ... 256, then more */
struct store_stats {
	uint64_t commits;                       /* batches committed */
	uint64_t writes;                        /* writes in them */
	uint64_t batches[STORE_BATCH_BUCKETS];  /* batches by size (not cumulative) */
	uint64_t failed_commits;
	bool last_commit_failed;                /* the store is refusing writes */
	size_t queued, max_queued;              /* writes waiting now, and the cap */
};

struct store_options {
	const char *data_dir;  /* created if missing */
	const char *url;       /* the --store value (a PostgreSQL connection string) */
	uint32_t node_id;      /* for ids; see util/id.h */
	size_t max_queued;     /* writes waiting beyond this get STORE_BUSY */
	bool sqlite_shared;    /* SQLite: other processes may open the database (sqlite.c) */
};

struct store;
struct store_reader;

/* Runs the effects of a committed write again (the outbox, below). */
typedef void (*store_replay_fn)(void *arg, const struct store_write *w);

struct store_ops {
	const char *name;
	bool reads_inline; /* reads may run on an event loop */
	struct store *(*open)(const struct store_options *opt, struct strbuf *err);
	void (*close)(struct store *s);
	struct store_reader *(*reader_new)(struct store *s);
	void (*reader_free)(struct store_reader *r);
	/* Optional (NULL: each read stands alone). The reads between
	 * read_begin and read_end see one snapshot: a request's reads on an
	 * event loop, which end before the loop goes on (SQLite takes its
	 * WAL read lock once for them all). */
	void (*read_begin)(struct store_reader *r);
	void (*read_end)(struct store_reader *r);

	int (*user_get)(struct store_reader *r, uint64_t id, struct user *out);
	int (*user_get_by_handle)(struct store_reader *r, const char *handle, struct user *out);
	/* The password hash of `handle` into hash[PWHASH_MAX], and the user. */
	int (*user_credentials)(struct store_reader *r, const char *handle, struct user *out,
				char *hash);
	/* The same for the user whose e-mail address is `email` (folded:
	 * validate_email). */
	int (*user_credentials_by_email)(struct store_reader *r, const char *email,
					 struct user *out, char *hash);
	/* A user's e-mail address into email[EMAIL_MAX + 1] ("" for none):
	 * private, for the user's own eyes. STORE_NOT_FOUND: no such user. */
	int (*user_email)(struct store_reader *r, uint64_t user_id, char *email);
	/* A user's read markers: out[t] for each timeline, version 0 for one
	 * never set. */
	int (*markers)(struct store_reader *r, uint64_t user_id,
		       struct marker out[MARKER_TIMELINE_COUNT]);
	/* The session of a token hash (whatever its age: idle expiry is the
	 * accounts service's rule). */
	int (*session_get)(struct store_reader *r, const uint8_t *token_hash, struct session *out);
	/* A user's sessions last used at or after `used_since_ms`, newest
	 * first, at most SESSION_LIST_MAX, into out[]. */
	int (*sessions_of)(struct store_reader *r, uint64_t user_id, uint64_t used_since_ms,
			   struct session *out, size_t *n);
	int (*idem_get)(struct store_reader *r, uint64_t scope, const char *key,
			struct store_idem_record *out);

	int (*tweet_get)(struct store_reader *r, uint64_t id, struct tweet *out);
	/* Lists fill out[0..page->limit) and set *n. user_tweets and the follow
	 * lists return STORE_NOT_FOUND if the user does not exist. */
	int (*user_tweets)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
			   struct tweet *out, size_t *n);
	int (*home_feed)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
			 struct tweet *out, size_t *n);
	int (*followers)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
			 struct follow_entry *out, size_t *n);
	int (*following)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
			 struct follow_entry *out, size_t *n);

	/* For the feed machinery (timeline/): ids only, no hydration. */
	/* Every follower of `user_id`, into a malloc'd array the caller frees. */
	int (*follower_ids)(struct store_reader *r, uint64_t user_id, uint64_t **ids, size_t *n);
	/* Every account `user_id` follows, with its follower count, into a
	 * malloc'd array the caller frees. */
	int (*followees)(struct store_reader *r, uint64_t user_id, struct store_followee **out,
			 size_t *n);
	/* The ids of the author's tweets in the page, newest first. */
	int (*author_tweet_ids)(struct store_reader *r, uint64_t author_id,
				const struct store_page *page, uint64_t *ids, size_t *n);

	/* Conversations and likes. */
	/* What `user_id` did to each of ids[0..n): state[i] holds the
	 * VIEWER_* bits (liked, retweeted) of ids[i]. A batched read: one
	 * query for a page, whatever its length, unless the reader has many
	 * likes and retweets in the span of the ids (then one more per 100
	 * ids; sqlite.c has how). */
	int (*viewer_state)(struct store_reader *r, uint64_t user_id, const uint64_t *ids,
			    size_t n, uint8_t *state);
	/* Optional, with snapshot_open (timeline/engagement.h keeps what it
	 * reads). What `user_id` did to the tweets with ids of at least
	 * `since_id`: up to max + 1 rows of a tweet id and one VIEWER_* bit
	 * each (a tweet liked and retweeted is two), in no order; *n rows. */
	int (*engagements_since)(struct store_reader *r, uint64_t user_id, uint64_t since_id,
				 uint64_t *ids, uint8_t *bits, size_t max, size_t *n);
	/* Optional. Whether r's next read sees a snapshot taken before now
	 * (a read transaction under way that has read already): a cache
	 * filled from it might then miss a write whose effects ran since. */
	bool (*snapshot_open)(struct store_reader *r);
	/* The users who liked `tweet_id`, newest like first (the like's id is
	 * the cursor); STORE_NOT_FOUND if the tweet does not exist. */
	int (*liked_by)(struct store_reader *r, uint64_t tweet_id, const struct store_page *page,
			struct follow_entry *out, size_t *n);
	/* The users who retweeted it, the same way (the retweet's id is the
	 * cursor). */
	int (*retweeted_by)(struct store_reader *r, uint64_t tweet_id,
	                    const struct store_page *page, struct follow_entry *out, size_t *n);
	/* The chain of tweets `tweet_id` replies to, nearest first, at most
	 * `max` ids; the chain ends at a deleted tweet (whose id is the last,
	 * since the reply keeps it). */
	int (*ancestor_ids)(struct store_reader *r, uint64_t tweet_id, size_t max, uint64_t *ids,
			    size_t *n);
	/* Replies to `tweet_id` and replies to them, breadth first, at most
	 * `max`, returned oldest first (by id). */
	int (*descendant_ids)(struct store_reader *r, uint64_t tweet_id, size_t max, uint64_t *ids,
			      size_t *n);

	/* Hashtags. The ids of the tweets carrying `tag` (folded), in the
	 * page, newest first. */
	int (*hashtag_tweet_ids)(struct store_reader *r, const char *tag,
				 const struct store_page *page, uint64_t *ids, size_t *n);
	/* The public timeline: the ids of every tweet (not retweets), in the
	 * page, newest first; a walk down the primary key. */
	int (*public_tweet_ids)(struct store_reader *r, const struct store_page *page,
				uint64_t *ids, size_t *n);
	/* The top `max` hashtags of the minutes from `since_ms` on, by
	 * distinct authors, then tweets, then tag: read from counters that
	 * each post adds to (one row per tag, minute and author), never from
	 * the tweets. Counters older than STORE_TREND_MINUTES + 1 minutes are
	 * dropped by the writer as it goes. */
	int (*trends)(struct store_reader *r, uint64_t since_ms, struct store_trend *out,
		      size_t max, size_t *n);
	/* Blocks, mutes and notifications. */
	/* Everyone `user_id` blocks, is blocked by or mutes (struct
	 * store_relation, bits REL_*), sorted by id, into a malloc'd array the
	 * caller frees; at most RELATIONS_MAX of each kind. One query. */
	int (*relations)(struct store_reader *r, uint64_t user_id, struct store_relation **out,
			 size_t *n);
	/* The users `user_id` blocks or mutes, newest first (the block's id is
	 * the cursor). */
	int (*blocks)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		      struct follow_entry *out, size_t *n);
	int (*mutes)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		     struct follow_entry *out, size_t *n);
	/* A page of `user_id`'s notifications of the types in the bit set
	 * `types` (1 << NOTIF_*), newest first, leaving out those whose actor
	 * the user blocks, mutes or is blocked by. */
	int (*notifications)(struct store_reader *r, uint64_t user_id, const struct store_page *page,
			     unsigned types, struct notification *out, size_t *n);
	/* How many of them are newer than the user's marker, at most
	 * NOTIF_UNREAD_MAX. */
	int (*notifications_unread)(struct store_reader *r, uint64_t user_id, uint64_t *count);

	/* For indexes that follow the store (search/): what was committed
	 * after cursor `after` (0: from the start), in commit order, at most
	 * `limit`; cursors[i] is where out[i] stands, the `after` of the next
	 * call. A follower that keeps the last cursor it saw misses nothing,
	 * whichever node committed what. On SQLite the cursor is the id (one
	 * writer makes ids in commit order); on PostgreSQL a commit sequence
	 * (postgres.c). tweets_after fills only the tweet's own fields (no
	 * author handle or name). */
	int (*tweets_after)(struct store_reader *r, uint64_t after, unsigned limit,
			    struct tweet *out, uint64_t *cursors, size_t *n);
	int (*users_after)(struct store_reader *r, uint64_t after, unsigned limit,
			   struct user *out, uint64_t *cursors, size_t *n);

	/* Media and their processing jobs. job_due fills out[0..max) with
	 * queued jobs due by `now_ms`, oldest first. */
	int (*media_get)(struct store_reader *r, uint64_t id, struct media *out);
	int (*job_due)(struct store_reader *r, uint64_t now_ms, struct store_job *out, size_t max,
		       size_t *n);
	/* For a store that several processes share (PostgreSQL; NULL for
	 * SQLite, where the queue's claims in memory suffice): takes the
	 * oldest due job no process holds and holds it until now_ms +
	 * lease_ms, so that a job whose process died runs again elsewhere
	 * once its lease ends. A retry (STORE_W_JOB_FINISH) ends the lease.
	 * STORE_NOT_FOUND when nothing is due. */
	int (*job_lease)(struct store_reader *r, uint64_t now_ms, uint64_t lease_ms,
			 struct store_job *out);
	/* For a store that several processes share (PostgreSQL: LISTEN /
	 * NOTIFY; NULL for SQLite): calls fn(arg), on a thread of the
	 * store's, whenever any process commits a new job, so waiting
	 * workers wake at once rather than at their next poll. fn NULL
	 * unregisters; once that call returns, fn is not running. */
	void (*on_new_job)(struct store *s, void (*fn)(void *arg), void *arg);

	/* Queues a write; returns 0 (done() will be called) or STORE_BUSY. */
	int (*submit)(struct store *s, struct store_write *w);

	/*
	 * The transactional outbox, for an adapter whose writes' effects may
	 * reach state outside this process (PostgreSQL). NULL when the
	 * effects' state lives and dies with the process (SQLite: timelines
	 * and caches in memory are rebuilt, the search index follows the
	 * store by itself). From this call on, a committed write of a kind
	 * with kinds[kind] set leaves a row in its own transaction, deleted
	 * once done() (which runs the effects) returned. Rows a process left
	 * behind by dying are claimed (FOR UPDATE SKIP LOCKED) and their
	 * writes handed to fn on the writer thread: this node's own at
	 * start, another node's once they are older than a grace period.
	 * Effects must therefore bear running twice. Call once, before the
	 * first write that has effects.
	 */
	void (*outbox_start)(struct store *s, const bool *kinds, store_replay_fn fn, void *arg);

	void (*stats)(struct store *s, struct store_stats *out);
};

/* Every adapter's store and reader begin with this, so the wrappers below
 * can find the ops. */
struct store {
	const struct store_ops *ops;
	/* No other process can change the data while this one has it open,
	 * so this process's own writes (and their effects) are every change
	 * there is: a cache of what the store says may then be kept true by
	 * those effects alone (core/session_cache.h). SQLite opened
	 * exclusive; never PostgreSQL, which other nodes write too. */
	bool sole_writer;
};
struct store_reader {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_postgres_ops;

/* The adapter a --store value names: "sqlite", or a PostgreSQL connection
 * string (postgres://…, postgresql://… or libpq's key=value form); NULL if
 * neither. */
const struct store_ops *store_ops_find(const char *spec);

/* For threads that each read through a reader of their own (struct
 * workpool_hooks: arg is the store, the state the reader). */
void *store_reader_thread_init(void *store);
void store_reader_thread_deinit(void *reader);

/* One "id:width:height:type;" of the text columns that hold media
 * (tweets.media, users.avatar) into *m; returns what follows it, or NULL
 * (and m untouched but for its fields read so far) at an end or a malformed
 * one. */
const char *store_media_ref_parse(const char *s, struct media_ref *m);
/* The same text for m, appended to `out`. */
void store_media_ref_format(struct strbuf *out, const struct media_ref *m);

/* tweets.media_alt (struct tweet.media_alt): each media's description as
 * "<bytes>:<text>". store_media_alt_append adds one (text[0..len));
 * store_media_alt_next reads the one at s into (*text, *len) and returns
 * what follows it, or NULL at the end or at a malformed one. */
void store_media_alt_append(struct strbuf *out, const char *text, size_t len);
const char *store_media_alt_next(const char *s, const char **text, size_t *len);
/* After the last append: empties `alt` when no media has a description
 * (most tweets keep ""), and says whether the descriptions fit a tweet
 * (at most TWEET_ALT_TEXT_MAX bytes together). */
bool store_media_alt_finish(struct strbuf *alt);

/* Sorts pairs[2 * i] (an id) and pairs[2 * i + 1] (REL_* bits) of n rows
 * by id and merges rows of one id: the shared half of
 * store_ops.relations. *out is malloc'd (caller frees). */
void store_relations_merge(const uint64_t *pairs, size_t n, struct store_relation **out,
			   size_t *m);

/* Initialises and releases the heap parts of a write. */
void store_write_init(struct store_write *w, enum store_write_kind kind);
void store_write_deinit(struct store_write *w);

/* Submits `w` (kind and inputs filled; render set or NULL; done and owner
 * are this function's) and waits until it is durable or has failed;
 * returns w->status, or STORE_BUSY if the queue was full. For threads that
 * may block: workers, tools and tests, never an event loop. */
int store_write_sync(struct store *s, struct store_write *w);

#endif
