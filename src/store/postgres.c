/*
 * postgres — the store on PostgreSQL (see store.h for the contract, and
 * docs/architecture.md for where it sits). Selected by a connection string:
 * `--store postgresql://USER@HOST:PORT/DB` or any libpq key=value string,
 * multi-host included. The password comes from PGPASSWORD or ~/.pgpass, as
 * libpq reads them; it is never logged.
 *
 * Connections. Every reader and the writer hold a connection of their own,
 * opened on first use, with a connect timeout, TCP keepalives and a
 * statement timeout, so no call waits on a dead server for long. A lost
 * connection is opened again on the next call, no sooner than a backoff
 * that doubles with each failure (with jitter) up to BACKOFF_MAX_MS;
 * meanwhile calls fail at once. Reads are network round trips, so
 * reads_inline is false: the API runs them on worker threads.
 *
 * Group commit, as on SQLite: one writer thread takes every write queued
 * while the previous batch was committing and runs them in one transaction.
 * PostgreSQL aborts a transaction at its first error, so no logical outcome
 * may raise one: handles taken, follows that exist, likes that exist and
 * idempotency keys seen are all INSERT … ON CONFLICT DO NOTHING RETURNING,
 * and each write checks what it needs before it changes anything. Should a
 * statement fail anyway (a bad byte, a deadlock with another node), the
 * batch is rolled back and its writes are run again one transaction each,
 * so one bad write fails alone. A failure of the connection fails the batch.
 *
 * Idempotency: the record is claimed first (an INSERT of the key), so a
 * request racing on another node waits on the key's row until this one
 * commits, then finds the record and replays it.
 *
 * Ids: snowflakes from util/id.h, stored as bigint, exchanged as decimal
 * text: never a float anywhere. Each node holds an advisory lock on its
 * --node-id for as long as it runs (on the writer's connection), and the
 * store refuses to open if another node holds it: two nodes with one node
 * id would make the same ids. Migrations run one at a time under another
 * advisory lock, so nodes starting together migrate once.
 *
 * One writer per node commits in id order, so within a node ids grow in
 * commit order and tweets_after/users_after may follow by id (search/). With
 * several nodes that promise needs a commit-ordered feed (an outbox); see
 * docs/architecture.md.
 *
 * Schema: the tables of sqlite.c with PostgreSQL types (bigint ids, bytea
 * hashes, a unique index on lower(handle) for case-insensitive handles).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/entities.h"
#include "store/store.h"
#include "util/bqueue.h"
#include "util/container_of.h"
#include "util/id.h"
#include "util/log.h"
#include "util/timeutil.h"

#define MAX_BATCH 512
#define IDEM_TTL_MS (24ull * 3600 * 1000)
#define IDEM_SWEEP_EVERY_MS (60ull * 1000)
#define STATEMENT_TIMEOUT_MS "5000"
/* How long a call waits for an answer at all: a server that stopped
 * answering (hung, frozen, cut off without a reset) enforces no statement
 * timeout, so the client gives up a little after it would have. */
#define CLIENT_TIMEOUT_MS 6000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MAX_PARAMS 8
#define LOCK_CLASS 1667787122 /* "chir": advisory locks are (LOCK_CLASS, n) */
#define LOCK_MIGRATE (-1)     /* n for migrations; node locks use the node id */
#define LOCK_SEQ (-2)         /* n held by a transaction that adds tweets or users */
#define OUTBOX_GRACE_MS 10000 /* another node's rows older than this are orphans */
#define OUTBOX_CLAIM_EVERY_MS 1000
#define OUTBOX_CLAIM_BATCH 64
#define IDLE_MS 200           /* the writer's wait for work before housekeeping */
/* Bump when struct outbox_payload changes shape: rows of another layout
 * are not replayed (a mixed-version cluster finishes its own). */
#define OUTBOX_LAYOUT 4 /* 2: retweets and entities; 3: notified users, avatars;
			  * 4: media descriptions, e-mails, markers */

/* ---- schema ------------------------------------------------------------- */

static const char *const migrations[] = {
	/* 1: everything SQLite's seven migrations built */
	"CREATE TABLE users ("
	"  id bigint PRIMARY KEY,"
	"  handle text NOT NULL,"
	"  display_name text NOT NULL,"
	"  password_hash text NOT NULL,"
	"  followers_count bigint NOT NULL DEFAULT 0,"
	"  following_count bigint NOT NULL DEFAULT 0,"
	"  tweets_count bigint NOT NULL DEFAULT 0,"
	"  bio text NOT NULL DEFAULT '');"
	"CREATE UNIQUE INDEX users_by_handle ON users (lower(handle));"
	"CREATE TABLE sessions ("
	"  token_hash bytea PRIMARY KEY,"
	"  user_id bigint NOT NULL);"
	"CREATE INDEX sessions_by_user ON sessions (user_id);"
	"CREATE TABLE tweets ("
	"  id bigint PRIMARY KEY,"
	"  author_id bigint NOT NULL,"
	"  text text NOT NULL,"
	"  media text NOT NULL DEFAULT '',"
	"  in_reply_to_id bigint,"
	"  in_reply_to_user_id bigint,"
	"  reply_count bigint NOT NULL DEFAULT 0,"
	"  like_count bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX tweets_by_author ON tweets (author_id, id);"
	"CREATE INDEX tweets_by_parent ON tweets (in_reply_to_id, id)"
	"  WHERE in_reply_to_id IS NOT NULL;"
	"CREATE TABLE follows ("
	"  id bigint PRIMARY KEY,"
	"  follower_id bigint NOT NULL,"
	"  followee_id bigint NOT NULL,"
	"  UNIQUE (follower_id, followee_id));"
	"CREATE INDEX follows_by_followee ON follows (followee_id, id) INCLUDE (follower_id);"
	"CREATE INDEX follows_by_follower ON follows (follower_id, id) INCLUDE (followee_id);"
	"CREATE TABLE likes ("
	"  id bigint PRIMARY KEY,"
	"  tweet_id bigint NOT NULL,"
	"  user_id bigint NOT NULL,"
	"  UNIQUE (user_id, tweet_id));"
	"CREATE INDEX likes_by_tweet ON likes (tweet_id, id) INCLUDE (user_id);"
	"CREATE TABLE idempotency ("
	"  scope bigint NOT NULL,"
	"  key text NOT NULL,"
	"  fingerprint bytea NOT NULL,"
	"  status integer NOT NULL,"
	"  body bytea NOT NULL,"
	"  created_ms bigint NOT NULL,"
	"  PRIMARY KEY (scope, key));"
	"CREATE INDEX idempotency_by_age ON idempotency (created_ms);"
	"CREATE TABLE health (id integer PRIMARY KEY CHECK (id = 1), checked_ms bigint NOT NULL);"
	"CREATE TABLE media ("
	"  id bigint PRIMARY KEY,"
	"  owner_id bigint NOT NULL,"
	"  status integer NOT NULL,"
	"  claimed_type text NOT NULL,"
	"  size bigint NOT NULL,"
	"  parts integer NOT NULL,"
	"  content_type text NOT NULL DEFAULT '',"
	"  width integer NOT NULL DEFAULT 0,"
	"  height integer NOT NULL DEFAULT 0,"
	"  tweet_id bigint,"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  error text NOT NULL DEFAULT '',"
	"  upload_id text NOT NULL DEFAULT '',"
	"  created_ms bigint NOT NULL);"
	"CREATE INDEX media_by_tweet ON media (tweet_id) WHERE tweet_id IS NOT NULL;"
	"CREATE INDEX media_unattached ON media (created_ms) WHERE tweet_id IS NULL;"
	"CREATE TABLE jobs ("
	"  id bigint PRIMARY KEY,"
	"  media_id bigint NOT NULL,"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  run_at_ms bigint NOT NULL,"
	"  state integer NOT NULL DEFAULT 0," /* 0 queued, 1 dead */
	"  last_error text NOT NULL DEFAULT '');"
	"CREATE INDEX jobs_due ON jobs (state, run_at_ms);",

	/* 2: the outbox (outbox_start): a row per committed write whose
	 * effects have not run yet; payload is struct outbox_payload. And
	 * job leases (job_lease): a claimed job is nobody else's until
	 * lease_until. And the commit sequence that indexes follow
	 * (tweets_after): assigned under LOCK_SEQ, held to the commit, so
	 * its order is the order of commits whichever node made them. */
	"ALTER TABLE jobs ADD COLUMN lease_until bigint NOT NULL DEFAULT 0;"
	"CREATE SEQUENCE chirp_commit_seq;"
	"ALTER TABLE tweets ADD COLUMN seq bigint NOT NULL DEFAULT nextval('chirp_commit_seq');"
	"ALTER TABLE users ADD COLUMN seq bigint NOT NULL DEFAULT nextval('chirp_commit_seq');"
	"CREATE INDEX tweets_by_seq ON tweets (seq);"
	"CREATE INDEX users_by_seq ON users (seq);"
	"CREATE TABLE outbox ("
	"  id bigint PRIMARY KEY,"
	"  node integer NOT NULL,"
	"  kind integer NOT NULL,"
	"  layout integer NOT NULL,"
	"  created_ms bigint NOT NULL,"
	"  payload bytea NOT NULL);"
	"CREATE INDEX outbox_by_age ON outbox (created_ms);",

	/* 3: sessions a user can see and end (sqlite.c's 8): an id (its
	 * created_at), when last used, the log-in's device and address.
	 * Sessions from before get ids of the upgrade's time, a second back
	 * so they cannot meet an id made after it, and count as used now. */
	"ALTER TABLE sessions ADD COLUMN id bigint, ADD COLUMN last_used_ms bigint,"
	"  ADD COLUMN device text NOT NULL DEFAULT '', ADD COLUMN ip text NOT NULL DEFAULT '';"
	"UPDATE sessions s SET"
	"  id = ((floor(extract(epoch FROM now()) * 1000)::bigint - 1000"
	"        - 1577836800000) << 22) + n.rn,"
	"  last_used_ms = floor(extract(epoch FROM now()) * 1000)::bigint"
	"  FROM (SELECT token_hash, row_number() OVER (ORDER BY token_hash) AS rn"
	"        FROM sessions) n WHERE s.token_hash = n.token_hash;"
	"ALTER TABLE sessions ALTER COLUMN id SET NOT NULL,"
	"  ALTER COLUMN last_used_ms SET NOT NULL;"
	"CREATE UNIQUE INDEX sessions_by_id ON sessions (id);"
	"DROP INDEX sessions_by_user;"
	"CREATE INDEX sessions_by_user ON sessions (user_id, id);"
	"CREATE INDEX sessions_by_last_use ON sessions (last_used_ms);",

	/* 4: retweets (sqlite.c's 9): a tweets row with no text that names
	 * its original; unique per (retweeter, original), found by original
	 * when the original is deleted. */
	"ALTER TABLE tweets ADD COLUMN retweet_of bigint, ADD COLUMN retweet_of_author_id bigint,"
	"  ADD COLUMN retweet_count bigint NOT NULL DEFAULT 0;"
	"CREATE UNIQUE INDEX retweets_by_author ON tweets (author_id, retweet_of)"
	"  WHERE retweet_of IS NOT NULL;"
	"CREATE INDEX retweets_by_original ON tweets (retweet_of) WHERE retweet_of IS NOT NULL;",

	/* 5: entities, hashtags and per-minute trend counters (sqlite.c's
	 * 10). The counters are shared by every node, so trends are too. */
	"ALTER TABLE tweets ADD COLUMN entities text NOT NULL DEFAULT '';"
	"CREATE TABLE hashtags ("
	"  tag text NOT NULL,"
	"  tweet_id bigint NOT NULL,"
	"  PRIMARY KEY (tag, tweet_id));"
	"CREATE INDEX hashtags_by_tweet ON hashtags (tweet_id);"
	"CREATE TABLE trend_counts ("
	"  tag text NOT NULL,"
	"  minute bigint NOT NULL,"
	"  author_id bigint NOT NULL,"
	"  tweets bigint NOT NULL,"
	"  PRIMARY KEY (tag, minute, author_id));"
	"CREATE INDEX trend_counts_by_minute ON trend_counts (minute);",
	/* 6: blocks, mutes, notifications and avatars (sqlite.c's 11). A like
	 * or retweet notification is one row per (recipient, type, tweet):
	 * group_key is the tweet then, and the row's own id otherwise. */
	"CREATE TABLE blocks ("
	"  id bigint PRIMARY KEY,"
	"  user_id bigint NOT NULL,"
	"  other_id bigint NOT NULL,"
	"  UNIQUE (user_id, other_id));"
	"CREATE INDEX blocks_by_user ON blocks (user_id, id) INCLUDE (other_id);"
	"CREATE INDEX blocks_by_other ON blocks (other_id, user_id);"
	"CREATE TABLE mutes ("
	"  id bigint PRIMARY KEY,"
	"  user_id bigint NOT NULL,"
	"  other_id bigint NOT NULL,"
	"  UNIQUE (user_id, other_id));"
	"CREATE INDEX mutes_by_user ON mutes (user_id, id) INCLUDE (other_id);"
	"CREATE TABLE notifications ("
	"  id bigint PRIMARY KEY,"
	"  recipient_id bigint NOT NULL,"
	"  type integer NOT NULL,"
	"  actor_id bigint NOT NULL,"
	"  tweet_id bigint NOT NULL DEFAULT 0,"
	"  group_key bigint NOT NULL,"
	"  count bigint NOT NULL DEFAULT 1,"
	"  UNIQUE (recipient_id, type, group_key));"
	"CREATE INDEX notifications_by_recipient ON notifications (recipient_id, id);"
	"CREATE INDEX notifications_by_tweet ON notifications (tweet_id) WHERE tweet_id <> 0;"
	"ALTER TABLE users ADD COLUMN notifications_read_id bigint NOT NULL DEFAULT 0,"
	"  ADD COLUMN avatar text NOT NULL DEFAULT '';",
	/* 7: e-mail addresses, media descriptions and read markers (sqlite.c's
	 * 12). Addresses are stored folded, so the unique index on the
	 * column is the case-insensitive rule. */
	"ALTER TABLE users ADD COLUMN email text;"
	"CREATE UNIQUE INDEX users_by_email ON users (email) WHERE email IS NOT NULL;"
	"ALTER TABLE media ADD COLUMN description text NOT NULL DEFAULT '';"
	"ALTER TABLE tweets ADD COLUMN media_alt text NOT NULL DEFAULT '';"
	"CREATE TABLE markers ("
	"  user_id bigint NOT NULL,"
	"  timeline integer NOT NULL,"
	"  last_read_id bigint NOT NULL,"
	"  version bigint NOT NULL,"
	"  updated_ms bigint NOT NULL,"
	"  PRIMARY KEY (user_id, timeline));"
	/* and a tweet's retweets in id order, for reblogged_by pages */
	"CREATE INDEX retweets_in_order ON tweets (retweet_of, id) WHERE retweet_of IS NOT NULL;"
	"DROP INDEX retweets_by_original;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- statements ----------------------------------------------------------- */

#define USER_COLS                                                                                  \
	"u.id, u.handle, u.display_name, u.followers_count, u.following_count, u.tweets_count, "   \
	"u.bio, u.avatar"
#define USER_NCOLS 8
#define TWEET_COLS                                                                                 \
	"t.id, t.author_id, u.handle, u.display_name, t.text, t.media, t.in_reply_to_id, "         \
	"t.in_reply_to_user_id, t.reply_count, t.like_count, t.retweet_count, t.retweet_of, "     \
	"t.retweet_of_author_id, t.entities, t.media_alt, u.avatar"
#define MEDIA_COLS                                                                                 \
	"id, owner_id, status, claimed_type, size, parts, content_type, width, height, tweet_id, " \
	"attempts, error, upload_id, description"
#define TWEET_FROM " FROM tweets t JOIN users u ON u.id = t.author_id "
/* Page bounds are $2 (before) and $3 (after), the limit is $4. */
#define PAGE(col, dir) " AND " col " < $2::bigint AND " col " > $3::bigint ORDER BY " col " " dir " LIMIT $4"
#define FEED_WHERE                                                                                 \
	"WHERE t.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1::bigint"     \
	" UNION ALL SELECT $1::bigint)"
#define SESSION_COLS "id, user_id, last_used_ms, device, ip"
/* As sqlite.c's: three index probes, so most readers skip a relations read. */
#define HAS_RELATIONS                                                   \
	"(EXISTS (SELECT 1 FROM blocks WHERE user_id = s.user_id) OR"   \
	" EXISTS (SELECT 1 FROM blocks WHERE other_id = s.user_id) OR"  \
	" EXISTS (SELECT 1 FROM mutes WHERE user_id = s.user_id))"
#define XSTR(x) STR(x)
#define STR(x) #x
/* A notification is shown unless the recipient ($1) blocks, mutes or is
 * blocked by its actor. */
#define NOTIFS_SHOWN                                                                               \
	" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = $1::bigint"                     \
	" AND b.other_id = f.actor_id)"                                                            \
	" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = f.actor_id"                     \
	" AND b.other_id = $1::bigint)"                                                            \
	" AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.user_id = $1::bigint"                      \
	" AND m.other_id = f.actor_id)"
/* $5 is the bit set of types wanted. */
#define NOTIFS_WHERE                                                                               \
	" FROM notifications f JOIN users u ON u.id = f.actor_id WHERE f.recipient_id = $1::bigint" \
	" AND ($5::int >> f.type) & 1 = 1" NOTIFS_SHOWN
#define RELATIONS_LIMIT " LIMIT " XSTR(RELATIONS_MAX) ")"
/* A tweet changed by a CTE `p`, with its author's names. */
#define TWEET_OF_P " SELECT " TWEET_COLS " FROM p t JOIN users u ON u.id = t.author_id"

enum stmt {
	/* reads */
	R_USER_BY_ID,
	R_USER_BY_HANDLE,
	R_CREDENTIALS,
	R_SESSION,
	R_SESSIONS_OF,
	R_IDEM,
	R_TWEET,
	R_USER_TWEETS,
	R_USER_TWEETS_ASC,
	R_FEED,
	R_FEED_ASC,
	R_FOLLOWERS,
	R_FOLLOWERS_ASC,
	R_FOLLOWING,
	R_FOLLOWING_ASC,
	R_FOLLOWER_IDS,
	R_FOLLOWEES,
	R_AUTHOR_IDS,
	R_TWEETS_AFTER,
	R_USERS_AFTER,
	R_MEDIA,
	R_JOBS_DUE,
	R_JOB_LEASE,
	R_LIKED,
	R_LIKED_BY,
	R_LIKED_BY_ASC,
	R_RETWEETED_BY,
	R_RETWEETED_BY_ASC,
	R_TWEET_EXISTS,
	R_ANCESTORS,
	R_DESCENDANTS,
	R_HASHTAG_IDS,
	R_HASHTAG_IDS_ASC,
	R_PUBLIC_IDS,
	R_PUBLIC_IDS_ASC,
	R_TRENDS,
	R_RELATIONS,
	R_BLOCKS,
	R_BLOCKS_ASC,
	R_MUTES,
	R_MUTES_ASC,
	R_NOTIFS,
	R_NOTIFS_ASC,
	R_NOTIFS_UNREAD,
	R_CREDENTIALS_BY_EMAIL,
	R_USER_EMAIL,
	R_MARKERS,
	/* writes */
	W_USER_INSERT,
	W_SESSION_INSERT,
	W_SESSION_DELETE,
	W_SESSION_END,
	W_SESSIONS_END,
	W_PASSWORD_CHANGE,
	W_SESSION_TOUCH,
	W_SESSIONS_EXPIRE,
	W_MEDIA_LOCK,
	W_REPLY_COUNT,
	W_TWEET_INSERT,
	W_MEDIA_ATTACH,
	W_TWEET_DELETE,
	W_TWEET_DELETE_REST,
	W_FOLLOW_INSERT,
	W_FOLLOW_DELETE,
	W_FOLLOW_COUNTS,
	W_LIKE_INSERT,
	W_LIKE_DELETE,
	W_LIKE_COUNT,
	W_PROFILE_UPDATE,
	W_TWEET_LOCK,
	W_RETWEET_INSERT,
	W_RETWEET_FIND,
	W_RETWEET_DELETE,
	W_RETWEET_COUNT,
	W_RETWEETS_OF_DELETE,
	W_VIEWER_ONE,
	W_HANDLE_ID,
	W_HASHTAG_INSERT,
	W_HASHTAGS_OF_DELETE,
	W_TREND_ADD,
	W_TRENDS_SWEEP,
	W_MEDIA_INSERT,
	W_MEDIA_PROCESSING,
	W_JOB_DELETE,
	W_JOB_RETRY,
	W_JOB_DEAD,
	W_MEDIA_FINISH,
	W_MEDIA_EXPIRED,
	W_MEDIA_DELETE,
	W_PROBE,
	W_IDEM_CLAIM,
	W_IDEM_SET,
	W_IDEM_SWEEP,
	W_OUTBOX_DELETE,
	W_SEQ_LOCK,
	W_JOB_NOTIFY,
	W_OUTBOX_CLAIM,
	W_BLOCK_INSERT,
	W_BLOCK_DELETE,
	W_MUTE_INSERT,
	W_MUTE_DELETE,
	W_BLOCKED_EITHER,
	W_NOTIFY,
		W_UNNOTIFY,
	W_UNNOTIFY_EMPTY,
	W_NOTIFS_READ,
	W_NOTIF_DISMISS,
	W_NOTIFS_CLEAR,
	W_AVATAR_RELEASE,
	W_EMAIL_OWNER,
	W_MEDIA_DESCRIBE,
	W_MARKER_SET,
	S_COUNT
};

static const char *const sql[S_COUNT] = {
	[R_USER_BY_ID] = "SELECT " USER_COLS " FROM users u WHERE u.id = $1::bigint",
	[R_USER_BY_HANDLE] = "SELECT " USER_COLS " FROM users u WHERE lower(u.handle) = lower($1)",
	[R_CREDENTIALS] = "SELECT " USER_COLS ", u.password_hash FROM users u"
			  " WHERE lower(u.handle) = lower($1)",
	[R_SESSION] = "SELECT " SESSION_COLS ", " HAS_RELATIONS " FROM sessions s WHERE token_hash = $1",
	[R_SESSIONS_OF] = "SELECT " SESSION_COLS " FROM sessions WHERE user_id = $1::bigint"
			  " AND last_used_ms >= $2::bigint ORDER BY id DESC LIMIT $3",
	[R_IDEM] = "SELECT fingerprint, status, body FROM idempotency"
		   " WHERE scope = $1::bigint AND key = $2",
	[R_TWEET] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.id = $1::bigint",
	[R_USER_TWEETS] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.author_id = $1::bigint"
			  PAGE("t.id", "DESC"),
	[R_USER_TWEETS_ASC] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.author_id = $1::bigint"
			      PAGE("t.id", "ASC"),
	[R_FEED] = "SELECT " TWEET_COLS TWEET_FROM FEED_WHERE PAGE("t.id", "DESC"),
	[R_FEED_ASC] = "SELECT " TWEET_COLS TWEET_FROM FEED_WHERE PAGE("t.id", "ASC"),
	[R_FOLLOWERS] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id ="
			" f.follower_id WHERE f.followee_id = $1::bigint" PAGE("f.id", "DESC"),
	[R_FOLLOWERS_ASC] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id ="
			    " f.follower_id WHERE f.followee_id = $1::bigint" PAGE("f.id", "ASC"),
	[R_FOLLOWING] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id ="
			" f.followee_id WHERE f.follower_id = $1::bigint" PAGE("f.id", "DESC"),
	[R_FOLLOWING_ASC] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id ="
			    " f.followee_id WHERE f.follower_id = $1::bigint" PAGE("f.id", "ASC"),
	[R_FOLLOWER_IDS] = "SELECT follower_id FROM follows WHERE followee_id = $1::bigint",
	[R_FOLLOWEES] = "SELECT u.id, u.followers_count FROM follows f JOIN users u ON u.id ="
			" f.followee_id WHERE f.follower_id = $1::bigint",
	[R_AUTHOR_IDS] = "SELECT t.id FROM tweets t WHERE t.author_id = $1::bigint"
			 PAGE("t.id", "DESC"),
	[R_TWEETS_AFTER] = "SELECT t.id, t.author_id, '', '', t.text, t.media, t.in_reply_to_id,"
			   " t.in_reply_to_user_id, t.reply_count, t.like_count, t.retweet_count,"
			   " t.retweet_of, t.retweet_of_author_id, t.entities, t.media_alt, '', t.seq"
			   " FROM tweets t WHERE t.seq > $1::bigint AND t.retweet_of IS NULL"
			   " ORDER BY t.seq LIMIT $2",
	[R_USERS_AFTER] = "SELECT " USER_COLS ", u.seq FROM users u WHERE u.seq > $1::bigint"
			  " ORDER BY u.seq LIMIT $2",
	[R_MEDIA] = "SELECT " MEDIA_COLS " FROM media WHERE id = $1::bigint",
	[R_JOBS_DUE] = "SELECT id, media_id, attempts, run_at_ms FROM jobs WHERE state = 0 AND"
		       " run_at_ms <= $1::bigint ORDER BY run_at_ms, id LIMIT $2",
	/* The oldest due job nobody holds, held by the caller until $2. */
	[R_JOB_LEASE] = "UPDATE jobs SET lease_until = $2::bigint WHERE id = ("
			" SELECT id FROM jobs WHERE state = 0 AND run_at_ms <= $1::bigint"
			" AND lease_until <= $1::bigint ORDER BY run_at_ms, id LIMIT 1"
			" FOR UPDATE SKIP LOCKED)"
			" RETURNING id, media_id, attempts, run_at_ms",
	/* A page's ids as one array: one query whatever the page's length. */
	[R_LIKED] = "SELECT tweet_id, 1 FROM likes WHERE user_id = $1::bigint"
		    " AND tweet_id = ANY ($2::bigint[])"
		    " UNION ALL SELECT retweet_of, 2 FROM tweets WHERE author_id = $1::bigint"
		    " AND retweet_of = ANY ($2::bigint[])",
	[R_LIKED_BY] = "SELECT f.id, " USER_COLS " FROM likes f JOIN users u ON u.id = f.user_id"
		       " WHERE f.tweet_id = $1::bigint" PAGE("f.id", "DESC"),
	[R_LIKED_BY_ASC] = "SELECT f.id, " USER_COLS " FROM likes f JOIN users u ON u.id ="
			   " f.user_id WHERE f.tweet_id = $1::bigint" PAGE("f.id", "ASC"),
	/* retweets_in_order (migration 7) walks a tweet's retweets by id */
	[R_RETWEETED_BY] = "SELECT f.id, " USER_COLS " FROM tweets f JOIN users u ON u.id ="
			   " f.author_id WHERE f.retweet_of = $1::bigint" PAGE("f.id", "DESC"),
	[R_RETWEETED_BY_ASC] = "SELECT f.id, " USER_COLS " FROM tweets f JOIN users u ON u.id ="
			       " f.author_id WHERE f.retweet_of = $1::bigint" PAGE("f.id", "ASC"),
	[R_TWEET_EXISTS] = "SELECT 1 FROM tweets WHERE id = $1::bigint",
	/* Up the chain, one row per step, at most $2: the last id may be a
	 * deleted tweet, where the chain ends. */
	[R_ANCESTORS] = "WITH RECURSIVE up(id, n) AS ("
			" SELECT in_reply_to_id, 1 FROM tweets WHERE id = $1::bigint"
			" UNION ALL SELECT t.in_reply_to_id, up.n + 1"
			" FROM up JOIN tweets t ON t.id = up.id WHERE up.n < $2::int)"
			" SELECT id FROM up WHERE id IS NOT NULL ORDER BY n",
	/* Breadth first from the tweet; the outer LIMIT stops the recursion
	 * (PostgreSQL evaluates a recursive CTE only as far as it is read). */
	[R_DESCENDANTS] = "WITH RECURSIVE down(id) AS ("
			  " SELECT id FROM (SELECT id FROM tweets WHERE in_reply_to_id = $1::bigint"
			  " ORDER BY id LIMIT $2) first"
			  " UNION ALL SELECT t.id FROM down JOIN tweets t ON t.in_reply_to_id = down.id)"
			  " SELECT id FROM (SELECT id FROM down LIMIT $2) d ORDER BY id",
	[R_HASHTAG_IDS] = "SELECT tweet_id FROM hashtags WHERE tag = $1" PAGE("tweet_id", "DESC"),
	[R_HASHTAG_IDS_ASC] = "SELECT tweet_id FROM hashtags WHERE tag = $1" PAGE("tweet_id", "ASC"),
	[R_PUBLIC_IDS] = "SELECT id FROM tweets WHERE id < $1::bigint AND id > $2::bigint"
			 " AND retweet_of IS NULL ORDER BY id DESC LIMIT $3",
	[R_PUBLIC_IDS_ASC] = "SELECT id FROM tweets WHERE id < $1::bigint AND id > $2::bigint"
			     " AND retweet_of IS NULL ORDER BY id ASC LIMIT $3",
	[R_TRENDS] = "SELECT tag, count(DISTINCT author_id), sum(tweets) FROM trend_counts"
		     " WHERE minute >= $1::bigint GROUP BY tag ORDER BY 2 DESC, 3 DESC, tag LIMIT $2",
	[R_RELATIONS] = "(SELECT other_id, 1 FROM blocks WHERE user_id = $1::bigint" RELATIONS_LIMIT
			" UNION ALL (SELECT user_id, 2 FROM blocks WHERE other_id = $1::bigint"
			RELATIONS_LIMIT
			" UNION ALL (SELECT other_id, 4 FROM mutes WHERE user_id = $1::bigint"
			RELATIONS_LIMIT,
	[R_BLOCKS] = "SELECT f.id, " USER_COLS " FROM blocks f JOIN users u ON u.id = f.other_id"
		     " WHERE f.user_id = $1::bigint" PAGE("f.id", "DESC"),
	[R_BLOCKS_ASC] = "SELECT f.id, " USER_COLS " FROM blocks f JOIN users u ON u.id ="
			 " f.other_id WHERE f.user_id = $1::bigint" PAGE("f.id", "ASC"),
	[R_MUTES] = "SELECT f.id, " USER_COLS " FROM mutes f JOIN users u ON u.id = f.other_id"
		    " WHERE f.user_id = $1::bigint" PAGE("f.id", "DESC"),
	[R_MUTES_ASC] = "SELECT f.id, " USER_COLS " FROM mutes f JOIN users u ON u.id = f.other_id"
			" WHERE f.user_id = $1::bigint" PAGE("f.id", "ASC"),
	[R_NOTIFS] = "SELECT f.id, f.type, f.tweet_id, f.count, " USER_COLS NOTIFS_WHERE
		     PAGE("f.id", "DESC"),
	[R_NOTIFS_ASC] = "SELECT f.id, f.type, f.tweet_id, f.count, " USER_COLS NOTIFS_WHERE
			 PAGE("f.id", "ASC"),
	[R_NOTIFS_UNREAD] = "SELECT count(*) FROM (SELECT 1 FROM notifications f WHERE"
			    " f.recipient_id = $1::bigint AND f.id > (SELECT notifications_read_id"
			    " FROM users WHERE id = $1::bigint)" NOTIFS_SHOWN " LIMIT $2) x",

	[W_USER_INSERT] = "INSERT INTO users AS u (id, handle, display_name, password_hash, email)"
			  " VALUES ($1::bigint, $2, $3, $4, nullif($5, '')) ON CONFLICT DO NOTHING"
			  " RETURNING " USER_COLS,
	[W_SESSION_INSERT] = "WITH s AS (INSERT INTO sessions (token_hash, user_id, id, last_used_ms,"
			     " device, ip) VALUES ($1, $2::bigint, $3::bigint, $4::bigint, $5, $6))"
			     " SELECT " USER_COLS " FROM users u WHERE u.id = $2::bigint",
	[W_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = $1",
	[W_SESSION_END] = "DELETE FROM sessions WHERE id = $1::bigint AND user_id = $2::bigint"
			  " RETURNING token_hash",
	[W_SESSIONS_END] = "DELETE FROM sessions WHERE user_id = $1::bigint AND token_hash <> $2",
	/* Only if the hash is still the one the old password was checked
	 * against (of two changes at once, the second finds it changed);
	 * then every other session goes. A row: it was changed. */
	[W_PASSWORD_CHANGE] = "WITH p AS (UPDATE users SET password_hash = $3 WHERE id = $1::bigint"
			      " AND password_hash = $2 RETURNING id),"
			      " d AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM p)"
			      " AND token_hash <> $4)"
			      " SELECT 1 FROM p",
	[W_SESSION_TOUCH] = "UPDATE sessions SET last_used_ms = $2::bigint WHERE token_hash = $1"
			    " AND last_used_ms < $3::bigint",
	/* Rows another node is expiring are skipped. */
	[W_SESSIONS_EXPIRE] = "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash"
			      " FROM sessions WHERE last_used_ms < $1::bigint LIMIT $2"
			      " FOR UPDATE SKIP LOCKED) RETURNING token_hash, user_id",
	/* Locked, so another node cannot attach it to a tweet meanwhile. */
	[W_MEDIA_LOCK] = "SELECT " MEDIA_COLS " FROM media WHERE id = $1::bigint FOR UPDATE",
	[W_REPLY_COUNT] = "WITH p AS (UPDATE tweets SET reply_count = reply_count + $2::int"
			  " WHERE id = $1::bigint RETURNING *)" TWEET_OF_P,
	[W_TWEET_INSERT] = "WITH t AS (INSERT INTO tweets (id, author_id, text, media, in_reply_to_id,"
			   " in_reply_to_user_id, entities, media_alt) VALUES ($1::bigint, $2::bigint,"
			   " $3, $4, $5::bigint, $6::bigint, $7, $8) RETURNING *),"
			   " u AS (UPDATE users SET tweets_count = tweets_count + 1"
			   " WHERE id = $2::bigint RETURNING id, handle, display_name, avatar)"
			   " SELECT " TWEET_COLS " FROM t JOIN u ON u.id = t.author_id",
	[W_MEDIA_ATTACH] = "UPDATE media SET tweet_id = $2::bigint WHERE id = ANY ($1::bigint[])",
	[W_TWEET_DELETE] = "DELETE FROM tweets WHERE id = $1::bigint AND author_id = $2::bigint"
			   " RETURNING coalesce(in_reply_to_id, 0), coalesce(retweet_of, 0)",
	/* Its likes go, its media are released (cleanup removes them and
	 * their blobs), its author counts one tweet less. */
	[W_TWEET_DELETE_REST] = "WITH l AS (DELETE FROM likes WHERE tweet_id = $1::bigint),"
				" m AS (UPDATE media SET tweet_id = NULL, status = 4"
				" WHERE tweet_id = $1::bigint),"
				" n AS (DELETE FROM notifications WHERE tweet_id = $1::bigint)"
				" UPDATE users SET tweets_count = tweets_count - 1 WHERE id = $2::bigint",
	[W_FOLLOW_INSERT] = "INSERT INTO follows (id, follower_id, followee_id)"
			    " SELECT $1::bigint, $2::bigint, $3::bigint"
			    " WHERE EXISTS (SELECT 1 FROM users WHERE id = $3::bigint)"
			    " ON CONFLICT DO NOTHING RETURNING id",
	[W_FOLLOW_DELETE] = "DELETE FROM follows WHERE follower_id = $1::bigint"
			    " AND followee_id = $2::bigint RETURNING id",
	/* $1 follows (or stops following) $2; a follower never follows
	 * themselves (core/graph.c), so the two rows differ. */
	[W_FOLLOW_COUNTS] = "WITH a AS (UPDATE users SET following_count = following_count + $3::int"
			    " WHERE id = $1::bigint),"
			    " u AS (UPDATE users SET followers_count = followers_count + $3::int"
			    " WHERE id = $2::bigint RETURNING *)"
			    " SELECT " USER_COLS " FROM u",
	[W_LIKE_INSERT] = "INSERT INTO likes (id, user_id, tweet_id)"
			  " SELECT $1::bigint, $2::bigint, $3::bigint"
			  " WHERE EXISTS (SELECT 1 FROM tweets WHERE id = $3::bigint)"
			  " ON CONFLICT DO NOTHING RETURNING id",
	[W_LIKE_DELETE] = "DELETE FROM likes WHERE user_id = $1::bigint AND tweet_id = $2::bigint"
			  " RETURNING id",
	[W_LIKE_COUNT] = "WITH p AS (UPDATE tweets SET like_count = like_count + $2::int"
			 " WHERE id = $1::bigint RETURNING *)" TWEET_OF_P,
	/* A NULL parameter leaves its field as it is; email '' removes it.
	 * The last column is the e-mail, for the owner's answer. */
	[W_PROFILE_UPDATE] = "UPDATE users u SET display_name = coalesce($2, display_name),"
			     " bio = coalesce($3, bio), avatar = coalesce($4, avatar),"
			     " email = CASE WHEN $5::text IS NULL THEN email ELSE nullif($5, '') END"
			     " WHERE id = $1::bigint RETURNING " USER_COLS ", coalesce(u.email, '')",
	/* A tweet about to be retweeted: shared, so a delete on another node
	 * waits for the retweet's commit and then takes the retweet with it. */
	[W_TWEET_LOCK] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.id = $1::bigint FOR SHARE OF t",
	/* Retweet rows take no part in the commit sequence's promise
	 * (tweets_after leaves them out), so they need no LOCK_SEQ. */
	[W_RETWEET_INSERT] = "INSERT INTO tweets (id, author_id, text, retweet_of, retweet_of_author_id)"
			     " VALUES ($1::bigint, $2::bigint, '', $3::bigint, $4::bigint)"
			     " ON CONFLICT DO NOTHING RETURNING id",
	[W_RETWEET_FIND] = "SELECT id FROM tweets WHERE author_id = $1::bigint"
			   " AND retweet_of = $2::bigint",
	[W_RETWEET_DELETE] = "DELETE FROM tweets WHERE author_id = $1::bigint"
			     " AND retweet_of = $2::bigint RETURNING id",
	[W_RETWEET_COUNT] = "WITH p AS (UPDATE tweets SET retweet_count = retweet_count + $2::int"
			    " WHERE id = $1::bigint RETURNING *)" TWEET_OF_P,
	[W_RETWEETS_OF_DELETE] = "DELETE FROM tweets WHERE retweet_of = $1::bigint",
	[W_VIEWER_ONE] = "SELECT EXISTS (SELECT 1 FROM likes WHERE user_id = $1::bigint"
			 " AND tweet_id = $2::bigint)::int, EXISTS (SELECT 1 FROM tweets"
			 " WHERE author_id = $1::bigint AND retweet_of = $2::bigint)::int",
	[W_HANDLE_ID] = "SELECT id, handle FROM users WHERE lower(handle) = lower($1)",
	[W_HASHTAG_INSERT] = "INSERT INTO hashtags (tag, tweet_id) VALUES ($1, $2::bigint)"
			     " ON CONFLICT DO NOTHING",
	[W_HASHTAGS_OF_DELETE] = "DELETE FROM hashtags WHERE tweet_id = $1::bigint",
	[W_TREND_ADD] = "INSERT INTO trend_counts (tag, minute, author_id, tweets)"
			" VALUES ($1, $2::bigint, $3::bigint, 1) ON CONFLICT (tag, minute, author_id)"
			" DO UPDATE SET tweets = trend_counts.tweets + 1",
	[W_TRENDS_SWEEP] = "DELETE FROM trend_counts WHERE minute < $1::bigint",
	[W_MEDIA_INSERT] = "INSERT INTO media (id, owner_id, status, claimed_type, size, parts,"
			   " created_ms, upload_id, description) VALUES ($1::bigint, $2::bigint, 0, $3,"
			   " $4::bigint, $5::int, $6::bigint, $7, $8) RETURNING " MEDIA_COLS,
	[W_MEDIA_PROCESSING] = "WITH m AS (UPDATE media SET status = 1 WHERE id = $2::bigint)"
			       " INSERT INTO jobs (id, media_id, run_at_ms)"
			       " VALUES ($1::bigint, $2::bigint, $3::bigint)",
	[W_JOB_DELETE] = "DELETE FROM jobs WHERE id = $1::bigint",
	[W_JOB_RETRY] = "UPDATE jobs SET attempts = $2::int, run_at_ms = $3::bigint, last_error = $4,"
			" lease_until = 0 WHERE id = $1::bigint",
	[W_JOB_DEAD] = "UPDATE jobs SET attempts = $2::int, state = 1, last_error = $3"
		       " WHERE id = $1::bigint",
	[W_MEDIA_FINISH] = "UPDATE media SET status = $2::int, content_type = $3, width = $4::int,"
			   " height = $5::int, attempts = $6::int, error = $7 WHERE id = $1::bigint",
	/* Unattached media older than the cutoff (except those still being
	 * processed), and released ones; rows another node is purging are
	 * skipped. */
	[W_MEDIA_EXPIRED] = "SELECT id, parts FROM media WHERE (tweet_id IS NULL AND"
			    " created_ms < $1::bigint AND status <> 1) OR status = 4"
			    " LIMIT $2 FOR UPDATE SKIP LOCKED",
	[W_MEDIA_DELETE] = "WITH j AS (DELETE FROM jobs WHERE media_id = ANY ($1::bigint[]))"
			   " DELETE FROM media WHERE id = ANY ($1::bigint[])",
	[W_PROBE] = "INSERT INTO health (id, checked_ms) VALUES (1, $1::bigint)"
		    " ON CONFLICT (id) DO UPDATE SET checked_ms = excluded.checked_ms",
	/* The record is claimed before the write runs; status 0 never
	 * commits (W_IDEM_SET fills it in the same transaction). */
	[W_IDEM_CLAIM] = "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_ms)"
			 " VALUES ($1::bigint, $2, $3, 0, '', $4::bigint)"
			 " ON CONFLICT DO NOTHING RETURNING 1",
	[W_IDEM_SET] = "UPDATE idempotency SET status = $3::int, body = $4"
		       " WHERE scope = $1::bigint AND key = $2",
	[W_IDEM_SWEEP] = "DELETE FROM idempotency WHERE created_ms < $1::bigint",
	[W_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ANY ($1::bigint[])",
	[W_SEQ_LOCK] = "SELECT pg_advisory_xact_lock($1::int, $2::int)",
	/* Delivered at the commit, to every node listening (on_new_job). */
	[W_JOB_NOTIFY] = "SELECT pg_notify('chirp_jobs', '')",
	/* What this node left before it started ($2), and what any node
	 * left longer ago than the grace period ($3). */
	[W_OUTBOX_CLAIM] = "SELECT id, kind, layout, payload FROM outbox"
			   " WHERE (node = $1::int AND created_ms < $2::bigint) OR created_ms < $3::bigint"
			   " ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED",
	[W_BLOCK_INSERT] = "INSERT INTO blocks (id, user_id, other_id)"
			   " VALUES ($1::bigint, $2::bigint, $3::bigint) ON CONFLICT DO NOTHING RETURNING id",
	[W_BLOCK_DELETE] = "DELETE FROM blocks WHERE user_id = $1::bigint AND other_id = $2::bigint"
			   " RETURNING id",
	[W_MUTE_INSERT] = "INSERT INTO mutes (id, user_id, other_id)"
			  " VALUES ($1::bigint, $2::bigint, $3::bigint) ON CONFLICT DO NOTHING RETURNING id",
	[W_MUTE_DELETE] = "DELETE FROM mutes WHERE user_id = $1::bigint AND other_id = $2::bigint"
			  " RETURNING id",
	[W_BLOCKED_EITHER] = "SELECT 1 FROM blocks WHERE (user_id = $1::bigint AND other_id = $2::bigint)"
			     " OR (user_id = $2::bigint AND other_id = $1::bigint)",
	/* $6 is the group: the tweet for likes and retweets, else $1. */
	[W_NOTIFY] = "INSERT INTO notifications AS n (id, recipient_id, type, actor_id, tweet_id,"
		     " group_key) VALUES ($1::bigint, $2::bigint, $3::int, $4::bigint, $5::bigint,"
		     " $6::bigint) ON CONFLICT (recipient_id, type, group_key)"
		     " DO UPDATE SET id = excluded.id, actor_id = excluded.actor_id,"
		     " count = n.count + 1",
	/* One actor fewer in a group; a like's group shows its latest liker. */
	[W_UNNOTIFY] = "UPDATE notifications SET count = count - 1, actor_id = coalesce(CASE"
		       " WHEN $2::int = 3 THEN (SELECT user_id FROM likes WHERE tweet_id = $3::bigint"
		       " AND user_id <> $1::bigint ORDER BY id DESC LIMIT 1)"
		       " WHEN $2::int = 4 THEN (SELECT author_id FROM tweets WHERE retweet_of = $3::bigint"
		       " AND author_id <> $1::bigint ORDER BY id DESC LIMIT 1) END, actor_id)"
		       " WHERE recipient_id = $1::bigint AND type = $2::int AND group_key = $3::bigint",
	[W_UNNOTIFY_EMPTY] = "DELETE FROM notifications WHERE recipient_id = $1::bigint"
			     " AND type = $2::int AND group_key = $3::bigint AND count <= 0",
	[W_NOTIFS_READ] = "UPDATE users SET notifications_read_id = $2::bigint WHERE id = $1::bigint",
	[W_NOTIF_DISMISS] = "DELETE FROM notifications WHERE recipient_id = $1::bigint"
			    " AND id = $2::bigint RETURNING 1",
	[W_NOTIFS_CLEAR] = "DELETE FROM notifications WHERE recipient_id = $1::bigint",
	[W_AVATAR_RELEASE] = "UPDATE media SET tweet_id = NULL, status = 4 WHERE tweet_id = $1::bigint",
	[R_CREDENTIALS_BY_EMAIL] = "SELECT " USER_COLS ", u.password_hash FROM users u"
				   " WHERE u.email = $1",
	[R_USER_EMAIL] = "SELECT coalesce(email, '') FROM users WHERE id = $1::bigint",
	[R_MARKERS] = "SELECT timeline, last_read_id, version, updated_ms FROM markers"
		      " WHERE user_id = $1::bigint",
	[W_EMAIL_OWNER] = "SELECT id FROM users WHERE email = $1",
	[W_MEDIA_DESCRIBE] = "UPDATE media SET description = $2 WHERE id = $1::bigint",
	[W_MARKER_SET] = "INSERT INTO markers (user_id, timeline, last_read_id, version, updated_ms)"
			 " VALUES ($1::bigint, $2::int, $3::bigint, 1, $4::bigint)"
			 " ON CONFLICT (user_id, timeline) DO UPDATE"
			 " SET last_read_id = excluded.last_read_id, version = markers.version + 1,"
			 " updated_ms = excluded.updated_ms RETURNING version",
};

/* ---- connections ---------------------------------------------------------- */

/* One connection, opened on demand, with its own prepared statements. */
struct pg_conn {
	const char *conninfo; /* the store's */
	PGconn *c;
	bool prepared[S_COUNT];
	unsigned backoff_ms;  /* 0 after a success */
	uint64_t next_try_ms; /* no connection attempt before this */
	uint32_t jitter;      /* xorshift state */
	bool retry_stale;     /* a statement may run again on a new connection */
};

/* Parameters of one statement, as text (bytea as binary). */
struct args {
	int n;
	const char *v[MAX_PARAMS];
	int len[MAX_PARAMS];
	int fmt[MAX_PARAMS];
	char num[MAX_PARAMS][24];
};

static void arg_u64(struct args *a, uint64_t v)
{
	assert(a->n < MAX_PARAMS);
	if (v > (uint64_t)INT64_MAX)
		v = (uint64_t)INT64_MAX; /* bigint's ceiling: UINT64_MAX means "unbounded" */
	snprintf(a->num[a->n], sizeof(a->num[0]), "%" PRIu64, v);
	a->v[a->n] = a->num[a->n];
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

static void arg_int(struct args *a, int v)
{
	assert(a->n < MAX_PARAMS);
	snprintf(a->num[a->n], sizeof(a->num[0]), "%d", v);
	a->v[a->n] = a->num[a->n];
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

static void arg_text(struct args *a, const char *s)
{
	assert(a->n < MAX_PARAMS);
	a->v[a->n] = s; /* NULL is SQL NULL */
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

static void arg_bytes(struct args *a, const void *p, size_t len)
{
	assert(a->n < MAX_PARAMS);
	a->v[a->n] = len ? p : "";
	a->len[a->n] = (int)len;
	a->fmt[a->n++] = 1;
}

/* An array literal "{1,2,3}" of ids into buf. */
static const char *id_array(struct strbuf *buf, const uint64_t *ids, size_t n)
{
	strbuf_reset(buf);
	strbuf_append(buf, "{", 1);
	for (size_t i = 0; i < n; i++)
		strbuf_appendf(buf, "%s%" PRIu64, i ? "," : "",
			       ids[i] > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : ids[i]);
	strbuf_append(buf, "}", 1);
	return buf->data;
}

static void conn_init(struct pg_conn *pc, const char *conninfo)
{
	memset(pc, 0, sizeof(*pc));
	pc->conninfo = conninfo;
	pc->jitter = (uint32_t)time_now_ms() | 1u;
}

static void conn_drop(struct pg_conn *pc)
{
	if (pc->c)
		PQfinish(pc->c);
	pc->c = NULL;
	memset(pc->prepared, 0, sizeof(pc->prepared));
}

static void conn_failed(struct pg_conn *pc)
{
	conn_drop(pc);
	unsigned b = pc->backoff_ms ? pc->backoff_ms * 2 : BACKOFF_MIN_MS;
	pc->backoff_ms = b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
	pc->jitter ^= pc->jitter << 13;
	pc->jitter ^= pc->jitter >> 17;
	pc->jitter ^= pc->jitter << 5;
	/* Half the backoff, plus up to the other half at random: nodes that
	 * lost the database together do not all knock at once. */
	pc->next_try_ms = time_now_ms() + pc->backoff_ms / 2 + pc->jitter % (pc->backoff_ms / 2 + 1);
}

/*
 * The result of the command just sent on c (the last one, as PQexec
 * gives), waiting at most CLIENT_TIMEOUT_MS. On a timeout the connection
 * is shut down, so libpq sees it broken: the caller's check of PQstatus
 * then drops it like any lost connection.
 */
static PGresult *await_result(PGconn *c)
{
	uint64_t deadline = time_mono_ns() / 1000000 + CLIENT_TIMEOUT_MS;
	PGresult *last = NULL, *r;
	for (;;) {
		while (PQisBusy(c)) {
			uint64_t now = time_mono_ns() / 1000000;
			struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
			if (now >= deadline || poll(&p, 1, (int)(deadline - now)) == 0) {
				log_error("postgres: no answer in %d ms: dropping the connection",
					  CLIENT_TIMEOUT_MS);
				shutdown(PQsocket(c), SHUT_RDWR);
				deadline = UINT64_MAX; /* libpq now fails at once */
			}
			if (!PQconsumeInput(c))
				break;
		}
		if (!(r = PQgetResult(c)))
			break;
		PQclear(last);
		last = r;
		if (PQstatus(c) != CONNECTION_OK)
			break;
	}
	return last;
}

/* PQexec, with await_result's bound. */
static PGresult *exec_bounded(PGconn *c, const char *text)
{
	return PQsendQuery(c, text) ? await_result(c) : NULL;
}

static PGconn *connect_now(const char *conninfo, struct strbuf *err)
{
	/* Ours first: what the connection string says wins over them. */
	static const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle",
					   "keepalives_interval", "keepalives_count",
					   "tcp_user_timeout", "application_name", "dbname", NULL};
	const char *vals[] = {"5", "1", "10", "5", "3", "10000", "chirp", conninfo, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		if (err)
			strbuf_appendf(err, "cannot connect to PostgreSQL: %s",
				       c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	PGresult *r = exec_bounded(c, "SET statement_timeout = " STATEMENT_TIMEOUT_MS ";"
				"SET idle_in_transaction_session_timeout = 60000;"
				"SET client_min_messages = warning");
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) {
		if (err)
			strbuf_appendf(err, "configuring the connection: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The connection, opened if needed; NULL while the database is away. */
static PGconn *conn_get(struct pg_conn *pc)
{
	if (pc->c && PQstatus(pc->c) == CONNECTION_OK)
		return pc->c;
	if (pc->c)
		conn_drop(pc);
	if (time_now_ms() < pc->next_try_ms)
		return NULL;
	struct strbuf err = STRBUF_INIT;
	pc->c = connect_now(pc->conninfo, &err);
	if (!pc->c) {
		if (!pc->backoff_ms)
			log_error("postgres: %s", err.data ? err.data : "?");
		conn_failed(pc);
	} else {
		if (pc->backoff_ms)
			log_info("postgres: connected again");
		pc->backoff_ms = 0;
	}
	strbuf_deinit(&err);
	return pc->c;
}

/*
 * Runs statement `which` with `a`; returns the result when its status is
 * `want`, else NULL (logged; the connection is dropped if it broke). The
 * caller PQclear()s the result.
 */
static PGresult *exec_stmt(struct pg_conn *pc, enum stmt which, const struct args *a,
			   ExecStatusType want)
{
	char name[16];
	snprintf(name, sizeof(name), "s%d", (int)which);
	for (int attempt = 0;; attempt++) {
		PGconn *c = conn_get(pc);
		if (!c)
			return NULL;
		PGresult *r = NULL;
		if (!pc->prepared[which]) {
			r = PQsendPrepare(c, name, sql[which], 0, NULL) ? await_result(c) : NULL;
			pc->prepared[which] = PQresultStatus(r) == PGRES_COMMAND_OK;
			if (pc->prepared[which]) {
				PQclear(r);
				r = NULL;
			}
		}
		if (!r)
			r = PQsendQueryPrepared(c, name, a ? a->n : 0, a ? a->v : NULL,
						a ? a->len : NULL, a ? a->fmt : NULL, 0)
				? await_result(c)
				: NULL;
		if (PQresultStatus(r) == want)
			return r;
		PQclear(r);
		if (PQstatus(c) == CONNECTION_OK) {
			log_error("postgres: %.60s…: %s", sql[which], PQerrorMessage(c));
			return NULL;
		}
		/* A connection opened before the server restarted fails at
		 * its first use: a read may run once more on a new one. */
		if (attempt == 0 && pc->retry_stale) {
			conn_drop(pc);
			continue;
		}
		log_error("postgres: connection lost: %s", PQerrorMessage(c));
		conn_failed(pc);
		return NULL;
	}
}

static PGresult *query(struct pg_conn *pc, enum stmt which, const struct args *a)
{
	return exec_stmt(pc, which, a, PGRES_TUPLES_OK);
}

/* A statement without rows; STORE_OK or STORE_ERROR. */
static int command(struct pg_conn *pc, enum stmt which, const struct args *a)
{
	PGresult *r = exec_stmt(pc, which, a, PGRES_COMMAND_OK);
	PQclear(r);
	return r ? STORE_OK : STORE_ERROR;
}

/* Runs plain SQL (no parameters) on a connection; true on success. */
static bool simple(PGconn *c, const char *text, struct strbuf *err)
{
	PGresult *r = exec_bounded(c, text);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok && err)
		strbuf_appendf(err, "%s", PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* ---- reading rows ---------------------------------------------------------- */

static uint64_t col_u64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoull(PQgetvalue(r, row, col), NULL, 10);
}

static bool col_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static size_t col_copy(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	size_t n = (size_t)PQgetlength(r, row, col);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, PQgetvalue(r, row, col), n);
	dst[n] = '\0';
	return n;
}

/* A bytea column (text format: \x and hex) appended to out. */
static void col_bytes(const PGresult *r, int row, int col, struct strbuf *out)
{
	size_t n = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
	if (b)
		strbuf_append(out, (const char *)b, n);
	PQfreemem(b);
}

static void read_user(const PGresult *r, int row, int col, struct user *u)
{
	u->id = col_u64(r, row, col);
	col_copy(r, row, col + 1, u->handle, sizeof(u->handle));
	col_copy(r, row, col + 2, u->display_name, sizeof(u->display_name));
	u->followers_count = col_u64(r, row, col + 3);
	u->following_count = col_u64(r, row, col + 4);
	u->tweets_count = col_u64(r, row, col + 5);
	col_copy(r, row, col + 6, u->bio, sizeof(u->bio));
	memset(&u->avatar, 0, sizeof(u->avatar));
	store_media_ref_parse(PQgetvalue(r, row, col + 7), &u->avatar);
}

/* tweets.media: "id:width:height:type;" for each attached media. */
static void parse_tweet_media(const char *s, struct tweet *t)
{
	t->media_n = 0;
	while (s && *s && t->media_n < MEDIA_PER_TWEET_MAX &&
	       (s = store_media_ref_parse(s, &t->media[t->media_n])))
		t->media_n++;
}

static void read_tweet(const PGresult *r, int row, struct tweet *t)
{
	t->id = col_u64(r, row, 0);
	t->author_id = col_u64(r, row, 1);
	col_copy(r, row, 2, t->author_handle, sizeof(t->author_handle));
	col_copy(r, row, 3, t->author_display_name, sizeof(t->author_display_name));
	t->text_len = col_copy(r, row, 4, t->text, sizeof(t->text));
	parse_tweet_media(PQgetvalue(r, row, 5), t);
	t->in_reply_to_id = col_u64(r, row, 6); /* NULL reads as 0 */
	t->in_reply_to_user_id = col_u64(r, row, 7);
	t->reply_count = col_u64(r, row, 8);
	t->like_count = col_u64(r, row, 9);
	t->retweet_count = col_u64(r, row, 10);
	t->retweet_of = col_u64(r, row, 11);
	t->retweet_of_author_id = col_u64(r, row, 12);
	entities_decode(PQgetvalue(r, row, 13), &t->entities);
	col_copy(r, row, 14, t->media_alt, sizeof(t->media_alt));
	t->author_avatar = (struct media_ref){0};
	store_media_ref_parse(PQgetvalue(r, row, 15), &t->author_avatar);
}

static void read_media(const PGresult *r, int row, struct media *m)
{
	memset(m, 0, sizeof(*m));
	m->id = col_u64(r, row, 0);
	m->owner_id = col_u64(r, row, 1);
	m->status = (enum media_status)col_u64(r, row, 2);
	col_copy(r, row, 3, m->claimed_type, sizeof(m->claimed_type));
	m->size = col_u64(r, row, 4);
	m->parts = (unsigned)col_u64(r, row, 5);
	m->out.id = m->id;
	col_copy(r, row, 6, m->out.content_type, sizeof(m->out.content_type));
	m->out.width = (uint32_t)col_u64(r, row, 7);
	m->out.height = (uint32_t)col_u64(r, row, 8);
	m->tweet_id = col_u64(r, row, 9);
	m->attempts = (unsigned)col_u64(r, row, 10);
	col_copy(r, row, 11, m->error, sizeof(m->error));
	col_copy(r, row, 12, m->upload_id, sizeof(m->upload_id));
	col_copy(r, row, 13, m->description, sizeof(m->description));
}

/* ---- the store and its readers ---------------------------------------------- */

/* An id list that grows. */
struct ids {
	uint64_t *v;
	size_t n, cap;
};

static void ids_add(struct ids *l, uint64_t id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = id;
}

/* Drops the first k ids. */
static void ids_shift(struct ids *l, size_t k)
{
	if (!k)
		return; /* an empty list has no array yet */
	memmove(l->v, l->v + k, (l->n - k) * sizeof(*l->v));
	l->n -= k;
}

/* What an outbox row keeps of a write: everything its effects may read. */
struct outbox_payload {
	__typeof__(((struct store_write *)0)->in) in;
	bool created;
	struct user user;
	struct tweet tweet;
	struct tweet related;
	struct media media;
};

struct pg_store {
	struct store base;
	char *conninfo;
	uint32_t node_id;
	struct idgen ids;

	/* The outbox: set once by outbox_start, read by the writer. */
	atomic_bool outbox_on;
	bool outbox_kinds[STORE_W_COUNT];
	store_replay_fn replay;
	void *replay_arg;
	uint64_t started_ms;
	uint64_t last_claim_ms;
	struct ids outbox_batch; /* rows the open transaction writes */
	struct ids committed;    /* rows committed, whose effects run at done() */
	struct ids finished;     /* rows whose effects ran, to delete */
	bool seq_locked;         /* the open transaction holds LOCK_SEQ */

	/* LISTEN chirp_jobs (on_new_job), on a thread and connection of its own */
	pthread_mutex_t listen_lock; /* guards job_fn, held while it runs */
	void (*job_fn)(void *arg);
	void *job_arg;
	struct pg_conn listen_conn;
	pthread_t listener;
	bool listener_started;
	atomic_bool listen_stop;
	int listen_pipe[2]; /* a byte here wakes the listener to stop */

	struct pg_conn w; /* the writer's; holds the node lock */
	struct strbuf scratch; /* the writer's */
	uint64_t last_sweep_ms;

	pthread_t writer;
	bool writer_started;
	struct bqueue queue;
	pthread_mutex_t lock; /* guards stats */
	struct store_stats stats;
};

struct pg_reader {
	struct store_reader base;
	struct pg_conn conn;
	struct strbuf scratch;
};

static struct pg_conn *rconn(struct store_reader *base)
{
	return &((struct pg_reader *)base)->conn;
}

static struct store_reader *pg_reader_new(struct store *s)
{
	struct pg_store *ps = (struct pg_store *)s;
	struct pg_reader *r = xcalloc(1, sizeof(*r));
	r->base.ops = &store_postgres_ops;
	conn_init(&r->conn, ps->conninfo); /* connects on first use */
	r->conn.retry_stale = true;        /* reads may run twice */
	strbuf_init(&r->scratch);
	return &r->base;
}

static void pg_reader_free(struct store_reader *base)
{
	struct pg_reader *r = (struct pg_reader *)base;
	if (!r)
		return;
	conn_drop(&r->conn);
	strbuf_deinit(&r->scratch);
	free(r);
}

/* A one-row read: STORE_OK with *res set (caller clears), NOT_FOUND or ERROR. */
static int one(struct pg_conn *pc, enum stmt which, const struct args *a, PGresult **res)
{
	PGresult *r = query(pc, which, a);
	if (!r)
		return STORE_ERROR;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return STORE_NOT_FOUND;
	}
	*res = r;
	return STORE_OK;
}

static int get_user(struct pg_conn *pc, enum stmt which, struct args *a, struct user *out,
		    char *hash)
{
	PGresult *r;
	int rc = one(pc, which, a, &r);
	if (rc == STORE_OK) {
		read_user(r, 0, 0, out);
		if (hash)
			col_copy(r, 0, USER_NCOLS, hash, PWHASH_MAX);
		PQclear(r);
	}
	return rc;
}

static int pg_user_get(struct store_reader *base, uint64_t id, struct user *out)
{
	struct args a = {0};
	arg_u64(&a, id);
	return get_user(rconn(base), R_USER_BY_ID, &a, out, NULL);
}

static int pg_user_get_by_handle(struct store_reader *base, const char *handle, struct user *out)
{
	struct args a = {0};
	arg_text(&a, handle);
	return get_user(rconn(base), R_USER_BY_HANDLE, &a, out, NULL);
}

static int pg_user_credentials(struct store_reader *base, const char *handle, struct user *out,
			       char *hash)
{
	struct args a = {0};
	arg_text(&a, handle);
	return get_user(rconn(base), R_CREDENTIALS, &a, out, hash);
}

static int pg_user_credentials_by_email(struct store_reader *base, const char *email,
					struct user *out, char *hash)
{
	struct args a = {0};
	arg_text(&a, email);
	return get_user(rconn(base), R_CREDENTIALS_BY_EMAIL, &a, out, hash);
}

static int pg_user_email(struct store_reader *base, uint64_t user_id, char *email)
{
	struct args a = {0};
	arg_u64(&a, user_id);
	PGresult *r;
	int rc = one(rconn(base), R_USER_EMAIL, &a, &r);
	if (rc == STORE_OK) {
		col_copy(r, 0, 0, email, EMAIL_MAX + 1);
		PQclear(r);
	}
	return rc;
}

static int pg_markers(struct store_reader *base, uint64_t user_id,
		      struct marker out[MARKER_TIMELINE_COUNT])
{
	memset(out, 0, MARKER_TIMELINE_COUNT * sizeof(*out));
	struct args a = {0};
	arg_u64(&a, user_id);
	PGresult *r = query(rconn(base), R_MARKERS, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r); i++) {
		uint64_t t = col_u64(r, i, 0);
		if (t >= MARKER_TIMELINE_COUNT)
			continue; /* a timeline of a newer chirp */
		out[t].last_read_id = col_u64(r, i, 1);
		out[t].version = col_u64(r, i, 2);
		out[t].updated_ms = col_u64(r, i, 3);
	}
	PQclear(r);
	return STORE_OK;
}

static void read_session(const PGresult *r, int row, struct session *out)
{
	out->id = col_u64(r, row, 0);
	out->user_id = col_u64(r, row, 1);
	out->last_used_ms = col_u64(r, row, 2);
	col_copy(r, row, 3, out->device, sizeof(out->device));
	col_copy(r, row, 4, out->ip, sizeof(out->ip));
	out->has_relations = false;
}

static int pg_session_get(struct store_reader *base, const uint8_t *token_hash,
			  struct session *out)
{
	struct args a = {0};
	arg_bytes(&a, token_hash, TOKEN_HASH_LEN);
	PGresult *r;
	int rc = one(rconn(base), R_SESSION, &a, &r);
	if (rc == STORE_OK) {
		read_session(r, 0, out);
		out->has_relations = col_bool(r, 0, 5);
		PQclear(r);
	}
	return rc;
}

static int pg_sessions_of(struct store_reader *base, uint64_t user_id, uint64_t used_since_ms,
			  struct session *out, size_t *n)
{
	struct args a = {0};
	arg_u64(&a, user_id);
	arg_u64(&a, used_since_ms);
	arg_int(&a, SESSION_LIST_MAX);
	*n = 0;
	PGresult *r = query(rconn(base), R_SESSIONS_OF, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < SESSION_LIST_MAX; i++)
		read_session(r, i, &out[(*n)++]);
	PQclear(r);
	return STORE_OK;
}

static int idem_read(struct pg_conn *pc, uint64_t scope, const char *key,
		     struct store_idem_record *out)
{
	struct args a = {0};
	arg_u64(&a, scope);
	arg_text(&a, key);
	PGresult *r;
	int rc = one(pc, R_IDEM, &a, &r);
	if (rc == STORE_OK) {
		struct strbuf fp = STRBUF_INIT;
		col_bytes(r, 0, 0, &fp);
		memset(out->fingerprint, 0, sizeof(out->fingerprint));
		memcpy(out->fingerprint, fp.data ? fp.data : "",
		       fp.len < sizeof(out->fingerprint) ? fp.len : sizeof(out->fingerprint));
		strbuf_deinit(&fp);
		out->status = (int)col_u64(r, 0, 1);
		col_bytes(r, 0, 2, &out->body);
		PQclear(r);
	}
	return rc;
}

static int pg_idem_get(struct store_reader *base, uint64_t scope, const char *key,
		       struct store_idem_record *out)
{
	return idem_read(rconn(base), scope, key, out);
}

static int tweet_read(struct pg_conn *pc, enum stmt which, const struct args *a, struct tweet *out)
{
	PGresult *r;
	int rc = one(pc, which, a, &r);
	if (rc == STORE_OK) {
		read_tweet(r, 0, out);
		PQclear(r);
	}
	return rc;
}

static int pg_tweet_get(struct store_reader *base, uint64_t id, struct tweet *out)
{
	struct args a = {0};
	arg_u64(&a, id);
	return tweet_read(rconn(base), R_TWEET, &a, out);
}

static void page_args(struct args *a, uint64_t owner, const struct store_page *p)
{
	arg_u64(a, owner);
	arg_u64(a, p->before);
	arg_u64(a, p->after);
	arg_int(a, (int)p->limit);
}

/* Oldest-first pages are read ascending; flip them to newest first. */
#define REVERSE(arr, n, T)                                                                         \
	do {                                                                                       \
		for (size_t i_ = 0, j_ = (n); i_ + 1 < j_; i_++, j_--) {                           \
			T tmp_ = (arr)[i_];                                                        \
			(arr)[i_] = (arr)[j_ - 1];                                                 \
			(arr)[j_ - 1] = tmp_;                                                      \
		}                                                                                  \
	} while (0)

static int tweet_list(struct pg_conn *pc, enum stmt desc, enum stmt asc, uint64_t owner,
		      const struct store_page *p, struct tweet *out, size_t *n)
{
	struct args a = {0};
	page_args(&a, owner, p);
	*n = 0;
	PGresult *r = query(pc, p->oldest_first ? asc : desc, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < p->limit; i++)
		read_tweet(r, i, &out[(*n)++]);
	PQclear(r);
	if (p->oldest_first)
		REVERSE(out, *n, struct tweet);
	return STORE_OK;
}

static int pg_user_tweets(struct store_reader *base, uint64_t user_id, const struct store_page *p,
			  struct tweet *out, size_t *n)
{
	struct user u;
	*n = 0;
	int rc = pg_user_get(base, user_id, &u);
	if (rc)
		return rc;
	return tweet_list(rconn(base), R_USER_TWEETS, R_USER_TWEETS_ASC, user_id, p, out, n);
}

static int pg_home_feed(struct store_reader *base, uint64_t user_id, const struct store_page *p,
			struct tweet *out, size_t *n)
{
	return tweet_list(rconn(base), R_FEED, R_FEED_ASC, user_id, p, out, n);
}

/* A page of users, each with the id of the row that lists them (a follow,
 * a like) as the cursor. */
static int entry_list(struct pg_conn *pc, enum stmt desc, enum stmt asc, uint64_t owner,
		      const struct store_page *p, struct follow_entry *out, size_t *n)
{
	struct args a = {0};
	page_args(&a, owner, p);
	*n = 0;
	PGresult *r = query(pc, p->oldest_first ? asc : desc, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < p->limit; i++, (*n)++) {
		out[*n].follow_id = col_u64(r, i, 0);
		read_user(r, i, 1, &out[*n].user);
	}
	PQclear(r);
	if (p->oldest_first)
		REVERSE(out, *n, struct follow_entry);
	return STORE_OK;
}

static int follow_list(struct store_reader *base, enum stmt desc, enum stmt asc, uint64_t user_id,
		       const struct store_page *p, struct follow_entry *out, size_t *n)
{
	struct user u;
	*n = 0;
	int rc = pg_user_get(base, user_id, &u);
	if (rc)
		return rc;
	return entry_list(rconn(base), desc, asc, user_id, p, out, n);
}

static int pg_followers(struct store_reader *r, uint64_t user_id, const struct store_page *p,
			struct follow_entry *out, size_t *n)
{
	return follow_list(r, R_FOLLOWERS, R_FOLLOWERS_ASC, user_id, p, out, n);
}

static int pg_following(struct store_reader *r, uint64_t user_id, const struct store_page *p,
			struct follow_entry *out, size_t *n)
{
	return follow_list(r, R_FOLLOWING, R_FOLLOWING_ASC, user_id, p, out, n);
}

/* Who liked or retweeted a tweet that exists: a page of `desc` or `asc`. */
static int tweet_actors(struct store_reader *base, enum stmt desc, enum stmt asc,
			uint64_t tweet_id, const struct store_page *p, struct follow_entry *out,
			size_t *n)
{
	struct args a = {0};
	arg_u64(&a, tweet_id);
	PGresult *r;
	*n = 0;
	int rc = one(rconn(base), R_TWEET_EXISTS, &a, &r);
	if (rc)
		return rc;
	PQclear(r);
	return entry_list(rconn(base), desc, asc, tweet_id, p, out, n);
}

static int pg_liked_by(struct store_reader *base, uint64_t tweet_id, const struct store_page *p,
		       struct follow_entry *out, size_t *n)
{
	return tweet_actors(base, R_LIKED_BY, R_LIKED_BY_ASC, tweet_id, p, out, n);
}

static int pg_retweeted_by(struct store_reader *base, uint64_t tweet_id,
			   const struct store_page *p, struct follow_entry *out, size_t *n)
{
	return tweet_actors(base, R_RETWEETED_BY, R_RETWEETED_BY_ASC, tweet_id, p, out, n);
}

static int pg_viewer_state(struct store_reader *base, uint64_t user_id, const uint64_t *ids,
			   size_t n, uint8_t *state)
{
	struct pg_reader *rd = (struct pg_reader *)base;
	memset(state, 0, n);
	if (!n)
		return STORE_OK;
	struct args a = {0};
	arg_u64(&a, user_id);
	arg_text(&a, id_array(&rd->scratch, ids, n));
	PGresult *r = query(&rd->conn, R_LIKED, &a);
	if (!r)
		return STORE_ERROR;
	/* A page holds at most a few hundred ids: matching back is a scan. */
	for (int k = 0; k < PQntuples(r); k++) {
		uint64_t id = col_u64(r, k, 0);
		uint8_t bit = (uint8_t)col_u64(r, k, 1);
		for (size_t i = 0; i < n; i++)
			if (ids[i] == id)
				state[i] |= bit;
	}
	PQclear(r);
	return STORE_OK;
}

/* The id column of `which` bound to (id, max) into ids[0..max). */
static int id_walk(struct pg_conn *pc, enum stmt which, uint64_t id, size_t max, uint64_t *ids,
		   size_t *n)
{
	struct args a = {0};
	arg_u64(&a, id);
	arg_int(&a, (int)max);
	*n = 0;
	PGresult *r = query(pc, which, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		ids[(*n)++] = col_u64(r, i, 0);
	PQclear(r);
	return STORE_OK;
}

static int pg_ancestor_ids(struct store_reader *base, uint64_t tweet_id, size_t max, uint64_t *ids,
			   size_t *n)
{
	return id_walk(rconn(base), R_ANCESTORS, tweet_id, max, ids, n);
}

static int pg_descendant_ids(struct store_reader *base, uint64_t tweet_id, size_t max,
			     uint64_t *ids, size_t *n)
{
	return id_walk(rconn(base), R_DESCENDANTS, tweet_id, max, ids, n);
}

/* Every row of a one- or two-column id result into a malloc'd array. */
static int collect_u64(struct pg_conn *pc, enum stmt which, uint64_t key, int width,
		       uint64_t **out, size_t *n)
{
	struct args a = {0};
	arg_u64(&a, key);
	*out = NULL;
	*n = 0;
	PGresult *r = query(pc, which, &a);
	if (!r)
		return STORE_ERROR;
	size_t rows = (size_t)PQntuples(r);
	uint64_t *v = xmalloc((rows ? rows : 1) * (size_t)width * sizeof(*v));
	for (size_t i = 0; i < rows; i++)
		for (int k = 0; k < width; k++)
			v[i * (size_t)width + (size_t)k] = col_u64(r, (int)i, k);
	PQclear(r);
	*out = v;
	*n = rows;
	return STORE_OK;
}

static int pg_relations(struct store_reader *base, uint64_t user_id, struct store_relation **out,
			size_t *n)
{
	uint64_t *pairs;
	size_t k;
	*out = NULL;
	*n = 0;
	int rc = collect_u64(rconn(base), R_RELATIONS, user_id, 2, &pairs, &k);
	if (rc)
		return rc;
	store_relations_merge(pairs, k, out, n);
	free(pairs);
	return STORE_OK;
}

static int pg_blocks(struct store_reader *base, uint64_t user_id, const struct store_page *p,
		     struct follow_entry *out, size_t *n)
{
	return entry_list(rconn(base), R_BLOCKS, R_BLOCKS_ASC, user_id, p, out, n);
}

static int pg_mutes(struct store_reader *base, uint64_t user_id, const struct store_page *p,
		    struct follow_entry *out, size_t *n)
{
	return entry_list(rconn(base), R_MUTES, R_MUTES_ASC, user_id, p, out, n);
}

static int pg_notifications(struct store_reader *base, uint64_t user_id,
			    const struct store_page *p, unsigned types, struct notification *out,
			    size_t *n)
{
	struct args a = {0};
	page_args(&a, user_id, p);
	arg_int(&a, (int)types);
	*n = 0;
	PGresult *r = query(rconn(base), p->oldest_first ? R_NOTIFS_ASC : R_NOTIFS, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < p->limit; i++, (*n)++) {
		struct notification *o = &out[*n];
		o->id = col_u64(r, i, 0);
		o->type = (enum notification_type)col_u64(r, i, 1);
		o->tweet_id = col_u64(r, i, 2);
		o->count = col_u64(r, i, 3);
		read_user(r, i, 4, &o->actor);
	}
	PQclear(r);
	if (p->oldest_first)
		REVERSE(out, *n, struct notification);
	return STORE_OK;
}

static int pg_notifications_unread(struct store_reader *base, uint64_t user_id, uint64_t *count)
{
	struct args a = {0};
	arg_u64(&a, user_id);
	arg_int(&a, NOTIF_UNREAD_MAX);
	PGresult *r;
	int rc = one(rconn(base), R_NOTIFS_UNREAD, &a, &r);
	if (rc)
		return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
	*count = col_u64(r, 0, 0);
	PQclear(r);
	return STORE_OK;
}

static int pg_follower_ids(struct store_reader *base, uint64_t user_id, uint64_t **ids, size_t *n)
{
	return collect_u64(rconn(base), R_FOLLOWER_IDS, user_id, 1, ids, n);
}

static int pg_followees(struct store_reader *base, uint64_t user_id, struct store_followee **out,
			size_t *n)
{
	_Static_assert(sizeof(struct store_followee) == 2 * sizeof(uint64_t), "two u64 per row");
	uint64_t *rows;
	int rc = collect_u64(rconn(base), R_FOLLOWEES, user_id, 2, &rows, n);
	*out = (struct store_followee *)rows;
	return rc;
}

static int pg_author_tweet_ids(struct store_reader *base, uint64_t author_id,
			       const struct store_page *p, uint64_t *ids, size_t *n)
{
	struct args a = {0};
	page_args(&a, author_id, p);
	*n = 0;
	PGresult *r = query(rconn(base), R_AUTHOR_IDS, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < p->limit; i++)
		ids[(*n)++] = col_u64(r, i, 0);
	PQclear(r);
	return STORE_OK;
}

/* The ids (column 0) of page statement `desc` (or `asc` for an
 * oldest-first page) with its page arguments in `a`, newest first. */
static int page_of_ids(struct store_reader *base, enum stmt desc, enum stmt asc,
		       const struct args *a, const struct store_page *p, uint64_t *ids, size_t *n)
{
	*n = 0;
	PGresult *r = query(rconn(base), p->oldest_first ? asc : desc, a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < p->limit; i++)
		ids[(*n)++] = col_u64(r, i, 0);
	PQclear(r);
	if (p->oldest_first)
		REVERSE(ids, *n, uint64_t);
	return STORE_OK;
}

static int pg_hashtag_tweet_ids(struct store_reader *base, const char *tag,
				const struct store_page *p, uint64_t *ids, size_t *n)
{
	struct args a = {0};
	arg_text(&a, tag);
	arg_u64(&a, p->before);
	arg_u64(&a, p->after);
	arg_int(&a, (int)p->limit);
	return page_of_ids(base, R_HASHTAG_IDS, R_HASHTAG_IDS_ASC, &a, p, ids, n);
}

static int pg_public_tweet_ids(struct store_reader *base, const struct store_page *p,
			       uint64_t *ids, size_t *n)
{
	struct args a = {0};
	arg_u64(&a, p->before);
	arg_u64(&a, p->after);
	arg_int(&a, (int)p->limit);
	return page_of_ids(base, R_PUBLIC_IDS, R_PUBLIC_IDS_ASC, &a, p, ids, n);
}

static int pg_trends(struct store_reader *base, uint64_t since_ms, struct store_trend *out,
		     size_t max, size_t *n)
{
	struct args a = {0};
	arg_u64(&a, since_ms / 60000);
	arg_int(&a, (int)max);
	*n = 0;
	PGresult *r = query(rconn(base), R_TRENDS, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < max; i++, (*n)++) {
		col_copy(r, i, 0, out[*n].tag, sizeof(out[*n].tag));
		out[*n].authors = col_u64(r, i, 1);
		out[*n].tweets = col_u64(r, i, 2);
	}
	PQclear(r);
	return STORE_OK;
}

static int pg_tweets_after(struct store_reader *base, uint64_t after, unsigned limit,
			   struct tweet *out, uint64_t *cursors, size_t *n)
{
	struct args a = {0};
	arg_u64(&a, after);
	arg_int(&a, (int)limit);
	*n = 0;
	PGresult *r = query(rconn(base), R_TWEETS_AFTER, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++, (*n)++) {
		read_tweet(r, i, &out[*n]);
		cursors[*n] = col_u64(r, i, 16);
	}
	PQclear(r);
	return STORE_OK;
}

static int pg_users_after(struct store_reader *base, uint64_t after, unsigned limit,
			  struct user *out, uint64_t *cursors, size_t *n)
{
	struct args a = {0};
	arg_u64(&a, after);
	arg_int(&a, (int)limit);
	*n = 0;
	PGresult *r = query(rconn(base), R_USERS_AFTER, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++, (*n)++) {
		read_user(r, i, 0, &out[*n]);
		cursors[*n] = col_u64(r, i, USER_NCOLS);
	}
	PQclear(r);
	return STORE_OK;
}

static int media_read(struct pg_conn *pc, enum stmt which, uint64_t id, struct media *out)
{
	struct args a = {0};
	arg_u64(&a, id);
	PGresult *r;
	int rc = one(pc, which, &a, &r);
	if (rc == STORE_OK) {
		read_media(r, 0, out);
		PQclear(r);
	}
	return rc;
}

static int pg_media_get(struct store_reader *base, uint64_t id, struct media *out)
{
	return media_read(rconn(base), R_MEDIA, id, out);
}

static int pg_job_due(struct store_reader *base, uint64_t now_ms, struct store_job *out,
		      size_t max, size_t *n)
{
	struct args a = {0};
	arg_u64(&a, now_ms);
	arg_int(&a, (int)max);
	*n = 0;
	PGresult *r = query(rconn(base), R_JOBS_DUE, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		struct store_job *j = &out[(*n)++];
		j->id = col_u64(r, i, 0);
		j->media_id = col_u64(r, i, 1);
		j->attempts = (unsigned)col_u64(r, i, 2);
		j->run_at_ms = col_u64(r, i, 3);
	}
	PQclear(r);
	return STORE_OK;
}

static int pg_job_lease(struct store_reader *base, uint64_t now_ms, uint64_t lease_ms,
			struct store_job *out)
{
	struct args a = {0};
	arg_u64(&a, now_ms);
	arg_u64(&a, now_ms + lease_ms);
	PGresult *r;
	int rc = one(rconn(base), R_JOB_LEASE, &a, &r);
	if (rc == STORE_OK) {
		out->id = col_u64(r, 0, 0);
		out->media_id = col_u64(r, 0, 1);
		out->attempts = (unsigned)col_u64(r, 0, 2);
		out->run_at_ms = col_u64(r, 0, 3);
		PQclear(r);
	}
	return rc;
}

/* ---- the writer -------------------------------------------------------------- */

/* A statement that returns at most one row we care about: 1 if it did,
 * 0 if none, STORE_ERROR on failure; *res set when 1. */
static int wrow(struct pg_store *s, enum stmt which, const struct args *a, PGresult **res)
{
	PGresult *r = query(&s->w, which, a);
	if (!r)
		return STORE_ERROR;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	*res = r;
	return 1;
}

static int writer_user_row(struct pg_store *s, enum stmt which, const struct args *a,
			   struct user *out)
{
	PGresult *r;
	int rc = wrow(s, which, a, &r);
	if (rc == 1) {
		read_user(r, 0, 0, out);
		PQclear(r);
		return STORE_OK;
	}
	return rc == 0 ? STORE_NOT_FOUND : rc;
}

static int writer_tweet_row(struct pg_store *s, enum stmt which, const struct args *a,
			    struct tweet *out)
{
	PGresult *r;
	int rc = wrow(s, which, a, &r);
	if (rc == 1) {
		read_tweet(r, 0, out);
		PQclear(r);
		return STORE_OK;
	}
	return rc == 0 ? STORE_NOT_FOUND : rc;
}

static int writer_user(struct pg_store *s, uint64_t id, struct user *out)
{
	struct args a = {0};
	arg_u64(&a, id);
	return writer_user_row(s, R_USER_BY_ID, &a, out);
}

static int writer_tweet(struct pg_store *s, uint64_t id, struct tweet *out)
{
	struct args a = {0};
	arg_u64(&a, id);
	return writer_tweet_row(s, R_TWEET, &a, out);
}

/* Before a transaction adds a tweet or a user: their commit sequence
 * numbers must come in commit order, so such transactions take turns,
 * across nodes, from here to their commit. */
static int seq_lock(struct pg_store *s)
{
	if (s->seq_locked)
		return STORE_OK;
	struct args a = {0};
	arg_int(&a, LOCK_CLASS);
	arg_int(&a, LOCK_SEQ);
	PGresult *r = query(&s->w, W_SEQ_LOCK, &a);
	PQclear(r);
	s->seq_locked = r != NULL;
	return r ? STORE_OK : STORE_ERROR;
}

/* Who has e-mail address `email` (folded): 1 with *id, 0 for nobody, or
 * STORE_ERROR. */
static int email_owner(struct pg_store *s, const char *email, uint64_t *id)
{
	struct args a = {0};
	arg_text(&a, email);
	PGresult *r;
	int rc = wrow(s, W_EMAIL_OWNER, &a, &r);
	if (rc == 1) {
		*id = col_u64(r, 0, 0);
		PQclear(r);
	}
	return rc;
}

static int exec_user_create(struct pg_store *s, struct store_write *w)
{
	if (seq_lock(s))
		return STORE_ERROR;
	struct args a = {0};
	arg_u64(&a, idgen_next(&s->ids));
	arg_text(&a, w->in.user_create.handle);
	arg_text(&a, w->in.user_create.display_name);
	arg_text(&a, w->in.user_create.password_hash);
	arg_text(&a, w->in.user_create.email);
	int rc = writer_user_row(s, W_USER_INSERT, &a, &w->user);
	if (rc == STORE_NOT_FOUND) {
		/* No row: a unique index said no (a row another node was
		 * adding is committed by now). Which one? */
		uint64_t other;
		int e = w->in.user_create.email[0] ? email_owner(s, w->in.user_create.email, &other)
						   : 0;
		if (e < 0)
			return STORE_ERROR;
		w->taken = e == 1 ? STORE_TAKEN_EMAIL : STORE_TAKEN_HANDLE;
		return STORE_CONFLICT;
	}
	if (rc == STORE_OK)
		memcpy(w->email, w->in.user_create.email, sizeof(w->email));
	return rc;
}

static int exec_session_create(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_bytes(&a, w->in.session.token_hash, TOKEN_HASH_LEN);
	arg_u64(&a, w->in.session.user_id);
	arg_u64(&a, idgen_next(&s->ids));
	arg_u64(&a, w->in.session.used_ms);
	arg_text(&a, w->in.session.device);
	arg_text(&a, w->in.session.ip);
	return writer_user_row(s, W_SESSION_INSERT, &a, &w->user);
}

static int exec_session_end(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->in.session_end.session_id);
	arg_u64(&a, w->in.session_end.user_id);
	PGresult *r;
	int rc = wrow(s, W_SESSION_END, &a, &r);
	if (rc != 1)
		return rc == 0 ? STORE_NOT_FOUND : rc;
	struct strbuf b = STRBUF_INIT;
	col_bytes(r, 0, 0, &b);
	PQclear(r);
	memcpy(w->in.session_end.token_hash, b.data,
	       b.len < TOKEN_HASH_LEN ? b.len : TOKEN_HASH_LEN);
	strbuf_deinit(&b);
	return STORE_OK;
}

static int exec_sessions_end(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->in.session.user_id);
	arg_bytes(&a, w->in.session.token_hash, TOKEN_HASH_LEN);
	return command(&s->w, W_SESSIONS_END, &a);
}

static int exec_password_change(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->in.password.user_id);
	arg_text(&a, w->in.password.old_hash);
	arg_text(&a, w->in.password.new_hash);
	arg_bytes(&a, w->in.password.token_hash, TOKEN_HASH_LEN);
	PGresult *r;
	int rc = wrow(s, W_PASSWORD_CHANGE, &a, &r);
	if (rc == 1)
		PQclear(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_CONFLICT : rc;
}

static int exec_sessions_expire(struct pg_store *s, struct store_write *w)
{
	struct store_sessions_expire *x = &w->in.sessions_expire;
	struct args a = {0};
	arg_u64(&a, x->cutoff_ms);
	arg_int(&a, STORE_EXPIRE_BATCH);
	x->n = 0;
	PGresult *r = query(&s->w, W_SESSIONS_EXPIRE, &a);
	if (!r)
		return STORE_ERROR;
	struct strbuf b = STRBUF_INIT;
	for (int i = 0; i < PQntuples(r) && x->n < STORE_EXPIRE_BATCH; i++) {
		strbuf_reset(&b);
		col_bytes(r, i, 0, &b);
		memset(x->token_hashes[x->n], 0, TOKEN_HASH_LEN);
		memcpy(x->token_hashes[x->n], b.data, b.len < TOKEN_HASH_LEN ? b.len : TOKEN_HASH_LEN);
		x->user_ids[x->n++] = col_u64(r, i, 1);
	}
	strbuf_deinit(&b);
	PQclear(r);
	return STORE_OK;
}

static int exec_session_touch(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_bytes(&a, w->in.session.token_hash, TOKEN_HASH_LEN);
	arg_u64(&a, w->in.session.used_ms);
	arg_u64(&a, w->in.session.stale_ms);
	return command(&s->w, W_SESSION_TOUCH, &a);
}

static int exec_session_delete(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_bytes(&a, w->in.session.token_hash, TOKEN_HASH_LEN);
	return command(&s->w, W_SESSION_DELETE, &a);
}

/* Checks that every media id of a new tweet is the author's, ready and not
 * on another tweet (locking their rows), and writes the tweets.media and
 * media_alt texts for them. Changes nothing. */
static int tweet_media_check(struct pg_store *s, struct store_write *w, struct strbuf *text,
			     struct strbuf *alt)
{
	for (unsigned i = 0; i < w->in.tweet_create.media_n; i++) {
		struct media m;
		int rc = media_read(&s->w, W_MEDIA_LOCK, w->in.tweet_create.media_ids[i], &m);
		if (rc == STORE_NOT_FOUND)
			return STORE_INVALID;
		if (rc)
			return rc;
		if (m.owner_id != w->in.tweet_create.author_id || m.status != MEDIA_READY || m.tweet_id)
			return STORE_INVALID;
		store_media_ref_format(text, &m.out);
		store_media_alt_append(alt, m.description, strlen(m.description));
	}
	return store_media_alt_finish(alt) ? STORE_OK : STORE_INVALID;
}

/* Adds `delta` replies to `parent`, reading it back into *out. */
static int add_replies(struct pg_store *s, uint64_t parent, int delta, struct tweet *out)
{
	struct args a = {0};
	arg_u64(&a, parent);
	arg_int(&a, delta);
	return writer_tweet_row(s, W_REPLY_COUNT, &a, out);
}

/* The entities a post's text found, keeping only the mentions of users
 * that exist, with their ids and handles as they spell them. */
static int resolve_mentions(struct pg_store *s, const struct entities *in, struct entities *out)
{
	*out = *in;
	out->mentions_n = 0;
	for (unsigned i = 0; i < in->mentions_n; i++) {
		struct args a = {0};
		arg_text(&a, in->mentions[i].handle);
		PGresult *r;
		int rc = wrow(s, W_HANDLE_ID, &a, &r);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue; /* no such user: plain text */
		struct mention *m = &out->mentions[out->mentions_n++];
		*m = in->mentions[i];
		m->id = col_u64(r, 0, 0);
		col_copy(r, 0, 1, m->handle, sizeof(m->handle));
		PQclear(r);
	}
	return STORE_OK;
}

/* Indexes the tweet under each of its tags and counts it for trends, in
 * the minute it was made. */
static int index_hashtags(struct pg_store *s, const char *text, const struct entities *e,
			  uint64_t id, uint64_t author)
{
	for (unsigned i = 0; i < e->hashtags_n; i++) {
		char tag[HASHTAG_MAX + 1];
		entities_tag(text, &e->hashtags[i], tag);
		if (!entities_tag_first(text, e, i))
			continue; /* a tweet counts once per tag */
		struct args h = {0}, c = {0};
		arg_text(&h, tag);
		arg_u64(&h, id);
		arg_text(&c, tag);
		arg_u64(&c, id_unix_ms(id) / 60000);
		arg_u64(&c, author);
		if (command(&s->w, W_HASHTAG_INSERT, &h) || command(&s->w, W_TREND_ADD, &c))
			return STORE_ERROR;
	}
	return STORE_OK;
}

/* The tweet `id` names, locked against a delete until the commit: itself,
 * or the original when it is a retweet (which goes with its original). */
static int writer_original(struct pg_store *s, uint64_t id, struct tweet *out)
{
	struct args a = {0};
	arg_u64(&a, id);
	int rc = writer_tweet_row(s, W_TWEET_LOCK, &a, out);
	if (rc == STORE_OK && out->retweet_of) {
		struct args o = {0};
		arg_u64(&o, out->retweet_of);
		rc = writer_tweet_row(s, W_TWEET_LOCK, &o, out);
	}
	return rc;
}

/* Records that `w` notified `user` (for the live streams); STORE_OK. */
static int notified(struct store_write *w, uint64_t user)
{
	if (w->notified_n < sizeof(w->notified) / sizeof(w->notified[0]))
		w->notified[w->notified_n++] = user;
	return STORE_OK;
}

/* 1 if a or b blocks the other, 0 if not, or STORE_ERROR. */
static int blocked_either(struct pg_store *s, uint64_t a, uint64_t b)
{
	struct args q = {0};
	arg_u64(&q, a);
	arg_u64(&q, b);
	PGresult *r;
	int rc = wrow(s, W_BLOCKED_EITHER, &q, &r);
	if (rc == 1)
		PQclear(r);
	return rc;
}

/*
 * Tells `recipient` that `actor` did `type` (to `tweet`; 0 for none),
 * unless they are one user: nobody is notified of acting on their own.
 * Likes and retweets group per tweet: the group's row moves up to this
 * event and counts one more. Inside the write's transaction, so a
 * notification commits with its act or not at all (and an outbox replay,
 * which runs effects only, never makes it twice). Every kind that
 * notifies calls this (a retweet too: NOTIF_RETWEET, the original tweet).
 */
static int notify(struct pg_store *s, struct store_write *w, uint64_t recipient,
		  enum notification_type type, uint64_t actor, uint64_t tweet)
{
	if (!recipient || recipient == actor)
		return STORE_OK;
	uint64_t id = idgen_next(&s->ids);
	bool grouped = type == NOTIF_LIKE || type == NOTIF_RETWEET;
	struct args a = {0};
	arg_u64(&a, id);
	arg_u64(&a, recipient);
	arg_int(&a, (int)type);
	arg_u64(&a, actor);
	arg_u64(&a, tweet);
	arg_u64(&a, grouped ? tweet : id);
	return command(&s->w, W_NOTIFY, &a) ? STORE_ERROR : notified(w, recipient);
}

/* An act of a grouped type undone: if the act (`act_id`, whose time it
 * carries) is less than STORE_UNNOTIFY_MS old, its group counts one fewer,
 * and goes when empty. */
static int unnotify(struct pg_store *s, uint64_t recipient, enum notification_type type,
		    uint64_t tweet, uint64_t act_id)
{
	if (time_now_ms() - id_unix_ms(act_id) >= STORE_UNNOTIFY_MS)
		return STORE_OK;
	struct args a = {0};
	arg_u64(&a, recipient);
	arg_int(&a, (int)type);
	arg_u64(&a, tweet);
	if (command(&s->w, W_UNNOTIFY, &a) || command(&s->w, W_UNNOTIFY_EMPTY, &a))
		return STORE_ERROR;
	return STORE_OK;
}

/* A new tweet's notifications: its parent's author (a reply), then each
 * user its text mentions (`ent`: only users that exist), once, but neither
 * the author nor that parent's author. */
static int notify_tweet(struct pg_store *s, struct store_write *w, const struct entities *ent,
			uint64_t id)
{
	uint64_t author = w->in.tweet_create.author_id;
	uint64_t parent_author = w->related.id ? w->related.author_id : 0;
	if (notify(s, w, parent_author, NOTIF_REPLY, author, id))
		return STORE_ERROR;
	for (unsigned i = 0; i < ent->mentions_n; i++) {
		uint64_t user = ent->mentions[i].id;
		if (user != parent_author && entities_mention_first(ent, i) &&
		    notify(s, w, user, NOTIF_MENTION, author, id))
			return STORE_ERROR;
	}
	return STORE_OK;
}

/* NOT_FOUND if `user` may not answer, like or retweet `t` (a blocker's
 * tweets are not there for the blocked), else STORE_OK. */
static int may_answer(struct pg_store *s, const struct tweet *t, uint64_t user)
{
	int rc = blocked_either(s, t->author_id, user);
	return rc == 1 ? STORE_NOT_FOUND : rc;
}

static int exec_tweet_create(struct pg_store *s, struct store_write *w)
{
	uint64_t parent = w->in.tweet_create.in_reply_to_id;
	struct strbuf media = STRBUF_INIT, alt = STRBUF_INIT;
	/* Checks first, so that a refusal has changed nothing. A reply to a
	 * retweet answers its original. */
	int rc = tweet_media_check(s, w, &media, &alt);
	w->related.id = 0;
	if (rc == STORE_OK && parent && (rc = writer_original(s, parent, &w->related)) == STORE_OK) {
		parent = w->related.id;
		rc = may_answer(s, &w->related, w->in.tweet_create.author_id);
	}
	if (rc == STORE_OK && parent)
		rc = add_replies(s, parent, 1, &w->related); /* NOT_FOUND: no such tweet */
	if (rc) {
		strbuf_deinit(&media);
		strbuf_deinit(&alt);
		return rc;
	}
	struct entities ent;
	rc = resolve_mentions(s, &w->in.tweet_create.entities, &ent);
	if (rc || seq_lock(s)) {
		strbuf_deinit(&media);
		strbuf_deinit(&alt);
		return rc ? rc : STORE_ERROR;
	}
	struct strbuf ents = STRBUF_INIT;
	entities_encode(&ent, &ents);
	uint64_t id = idgen_next(&s->ids);
	struct args a = {0};
	arg_u64(&a, id);
	arg_u64(&a, w->in.tweet_create.author_id);
	arg_text(&a, w->in.tweet_create.text);
	arg_text(&a, media.data ? media.data : "");
	if (parent) {
		arg_u64(&a, parent);
		arg_u64(&a, w->related.author_id);
	} else {
		arg_text(&a, NULL);
		arg_text(&a, NULL);
	}
	arg_text(&a, ents.data ? ents.data : "");
	arg_text(&a, alt.data ? alt.data : "");
	rc = writer_tweet_row(s, W_TWEET_INSERT, &a, &w->tweet);
	strbuf_deinit(&media);
	strbuf_deinit(&ents);
	strbuf_deinit(&alt);
	if (rc)
		return STORE_ERROR; /* no row back: the author vanished, an internal error */
	if (index_hashtags(s, w->in.tweet_create.text, &ent, id, w->in.tweet_create.author_id))
		return STORE_ERROR;
	if (w->in.tweet_create.media_n) {
		struct args m = {0};
		arg_text(&m, id_array(&s->scratch, w->in.tweet_create.media_ids,
				      w->in.tweet_create.media_n));
		arg_u64(&m, id);
		if (command(&s->w, W_MEDIA_ATTACH, &m))
			return STORE_ERROR;
	}
	return notify_tweet(s, w, &ent, id);
}

/* Adds `delta` retweets to `original`, reading it back into *out
 * (STORE_NOT_FOUND, *out untouched, if it is gone). */
static int add_retweets(struct pg_store *s, uint64_t original, int delta, struct tweet *out)
{
	struct args a = {0};
	arg_u64(&a, original);
	arg_int(&a, delta);
	return writer_tweet_row(s, W_RETWEET_COUNT, &a, out);
}

/* The VIEWER_* bits of `user` for `tweet`. */
static int writer_viewer(struct pg_store *s, uint64_t user, uint64_t tweet, unsigned *out)
{
	struct args a = {0};
	arg_u64(&a, user);
	arg_u64(&a, tweet);
	PGresult *r;
	if (wrow(s, W_VIEWER_ONE, &a, &r) != 1)
		return STORE_ERROR;
	*out = (col_u64(r, 0, 0) ? VIEWER_LIKED : 0) | (col_u64(r, 0, 1) ? VIEWER_RETWEETED : 0);
	PQclear(r);
	return STORE_OK;
}

/* Runs `which` on (user, original), which answers a retweet's id or no
 * row; *id is 0 for none. */
static int retweet_id(struct pg_store *s, enum stmt which, uint64_t user, uint64_t original,
		      uint64_t *id)
{
	struct args a = {0};
	arg_u64(&a, user);
	arg_u64(&a, original);
	PGresult *r;
	int rc = wrow(s, which, &a, &r);
	*id = 0;
	if (rc == 1) {
		*id = col_u64(r, 0, 0);
		PQclear(r);
	}
	return rc < 0 ? rc : STORE_OK;
}

/* A retweet (of the original, when the id names a retweet); retweeting
 * twice is one retweet, and the one there was is the answer. */
static int exec_retweet(struct pg_store *s, struct store_write *w)
{
	uint64_t user = w->in.like.user_id;
	int rc = writer_original(s, w->in.like.tweet_id, &w->related);
	if (rc)
		return rc;
	if ((rc = may_answer(s, &w->related, user)))
		return rc;
	uint64_t original = w->related.id, id;
	struct args a = {0};
	arg_u64(&a, idgen_next(&s->ids));
	arg_u64(&a, user);
	arg_u64(&a, original);
	arg_u64(&a, w->related.author_id);
	PGresult *r;
	rc = wrow(s, W_RETWEET_INSERT, &a, &r);
	if (rc < 0)
		return rc;
	w->created = rc == 1;
	if (w->created) {
		id = col_u64(r, 0, 0);
		PQclear(r);
		if (add_retweets(s, original, 1, &w->related) ||
		    notify(s, w, w->related.author_id, NOTIF_RETWEET, user, original))
			return STORE_ERROR;
	} else if ((rc = retweet_id(s, W_RETWEET_FIND, user, original, &id))) {
		return rc;
	}
	if (!id || writer_tweet(s, id, &w->tweet) || writer_viewer(s, user, original, &w->viewer))
		return STORE_ERROR;
	return STORE_OK;
}

/* An unretweet; undoing what is not there changes nothing (created
 * false). The answer is about the original. */
static int exec_unretweet(struct pg_store *s, struct store_write *w)
{
	int rc = writer_original(s, w->in.like.tweet_id, &w->tweet);
	if (rc)
		return rc;
	w->related = (struct tweet){0};
	uint64_t original = w->tweet.id, id;
	if ((rc = retweet_id(s, W_RETWEET_FIND, w->in.like.user_id, original, &id)))
		return rc;
	if (id && writer_tweet(s, id, &w->related))
		return STORE_ERROR;
	if ((rc = retweet_id(s, W_RETWEET_DELETE, w->in.like.user_id, original, &id)))
		return rc;
	w->created = id != 0;
	if (!w->created) {
		w->related = (struct tweet){0};
		return STORE_OK;
	}
	if (add_retweets(s, original, -1, &w->tweet))
		return STORE_ERROR;
	return unnotify(s, w->tweet.author_id, NOTIF_RETWEET, original, id);
}

static int exec_tweet_delete(struct pg_store *s, struct store_write *w)
{
	uint64_t id = w->in.tweet_delete.tweet_id, author = w->in.tweet_delete.author_id;
	struct args a = {0};
	arg_u64(&a, id);
	arg_u64(&a, author);
	PGresult *r;
	int rc = wrow(s, W_TWEET_DELETE, &a, &r);
	if (rc <= 0)
		return rc == 0 ? STORE_NOT_FOUND : rc; /* missing or someone else's: one answer */
	uint64_t parent = col_u64(r, 0, 0), original = col_u64(r, 0, 1);
	PQclear(r);
	w->related.id = 0;
	if (original) { /* a retweet: its original counts one less */
		rc = add_retweets(s, original, -1, &w->related);
		if (rc == STORE_NOT_FOUND)
			return STORE_OK;
		return rc ? rc : unnotify(s, w->related.author_id, NOTIF_RETWEET, original, id);
	}
	struct args o = {0};
	arg_u64(&o, id); /* every retweet of it goes with it */
	if (command(&s->w, W_TWEET_DELETE_REST, &a) || command(&s->w, W_RETWEETS_OF_DELETE, &o) ||
	    command(&s->w, W_HASHTAGS_OF_DELETE, &o))
		return STORE_ERROR;
	if (parent) {
		rc = add_replies(s, parent, -1, &w->related);
		if (rc == STORE_NOT_FOUND)
			w->related.id = 0; /* deleted before its reply */
		else if (rc)
			return rc;
	}
	return STORE_OK;
}

/* A follow or an unfollow; following twice is one follow, unfollowing whom
 * one does not follow changes nothing (created false either way). */
/* Adds (or removes) the edge a -> b and counts it: 1 and b into *user (if
 * not NULL) if it changed, 0 if it was already so, or STORE_ERROR. */
static int follow_edge(struct pg_store *s, uint64_t a, uint64_t b, bool follow, struct user *user)
{
	struct args q = {0};
	if (follow)
		arg_u64(&q, idgen_next(&s->ids));
	arg_u64(&q, a);
	arg_u64(&q, b);
	PGresult *r;
	int rc = wrow(s, follow ? W_FOLLOW_INSERT : W_FOLLOW_DELETE, &q, &r);
	if (rc <= 0)
		return rc;
	PQclear(r);
	struct args c = {0};
	arg_u64(&c, a);
	arg_u64(&c, b);
	arg_int(&c, follow ? 1 : -1);
	struct user scratch;
	rc = writer_user_row(s, W_FOLLOW_COUNTS, &c, user ? user : &scratch);
	return rc == STORE_OK ? 1 : STORE_ERROR;
}

static int exec_follow(struct pg_store *s, struct store_write *w, bool follow)
{
	uint64_t a = w->in.follow.follower_id, b = w->in.follow.followee_id;
	int rc;
	if (follow && (rc = blocked_either(s, a, b)) != 0)
		return rc == 1 ? STORE_INVALID : rc; /* checked before anything changes */
	rc = follow_edge(s, a, b, follow, &w->user);
	if (rc < 0)
		return rc;
	w->created = rc == 1;
	if (!w->created)
		return writer_user(s, b, &w->user); /* NOT_FOUND, or already so */
	return follow ? notify(s, w, b, NOTIF_FOLLOW, a, 0) : STORE_OK;
}

/* A block or mute, or its end. A new block ends the follows between the
 * two, both ways; a blocked user's likes and notifications stay, hidden
 * by reads. */
static int exec_relation(struct pg_store *s, struct store_write *w, enum stmt which)
{
	uint64_t a = w->in.relation.user_id, b = w->in.relation.other_id;
	int rc = writer_user(s, b, &w->user);
	if (rc)
		return rc; /* NOT_FOUND before anything changes */
	bool on = which == W_BLOCK_INSERT || which == W_MUTE_INSERT;
	struct args q = {0};
	if (on)
		arg_u64(&q, idgen_next(&s->ids));
	arg_u64(&q, a);
	arg_u64(&q, b);
	PGresult *r;
	rc = wrow(s, which, &q, &r);
	if (rc < 0)
		return rc;
	if (rc == 1)
		PQclear(r);
	w->created = rc == 1;
	if (!w->created || which != W_BLOCK_INSERT)
		return STORE_OK;
	if (follow_edge(s, a, b, false, NULL) < 0 || follow_edge(s, b, a, false, NULL) < 0)
		return STORE_ERROR;
	return writer_user(s, b, &w->user);
}

static int exec_block(struct pg_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_BLOCK_INSERT);
}

static int exec_unblock(struct pg_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_BLOCK_DELETE);
}

static int exec_mute(struct pg_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_MUTE_INSERT);
}

static int exec_unmute(struct pg_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_MUTE_DELETE);
}

static int exec_notifications_read(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->in.notifications_read.user_id);
	arg_u64(&a, w->in.notifications_read.up_to_id);
	return command(&s->w, W_NOTIFS_READ, &a) ? STORE_ERROR : STORE_OK;
}

static int exec_notification_dismiss(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->in.dismiss.user_id);
	arg_u64(&a, w->in.dismiss.id);
	PGresult *r;
	int rc = one(&s->w, W_NOTIF_DISMISS, &a, &r);
	if (rc == STORE_OK)
		PQclear(r);
	return rc;
}

static int exec_notifications_clear(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->in.dismiss.user_id);
	return command(&s->w, W_NOTIFS_CLEAR, &a) ? STORE_ERROR : STORE_OK;
}

static int exec_follow_create(struct pg_store *s, struct store_write *w)
{
	return exec_follow(s, w, true);
}

static int exec_follow_delete(struct pg_store *s, struct store_write *w)
{
	return exec_follow(s, w, false);
}

/* A like or an unlike, as follows go. */
static int exec_like(struct pg_store *s, struct store_write *w, bool like)
{
	uint64_t user = w->in.like.user_id;
	int rc = writer_original(s, w->in.like.tweet_id, &w->tweet); /* a retweet's original */
	if (rc)
		return rc;
	uint64_t tweet = w->tweet.id;
	/* The blocker's tweets are not there for the blocked. Checked before
	 * anything changes. */
	if (like && (rc = may_answer(s, &w->tweet, user)))
		return rc;
	struct args q = {0};
	if (like)
		arg_u64(&q, idgen_next(&s->ids));
	arg_u64(&q, user);
	arg_u64(&q, tweet);
	PGresult *r;
	rc = wrow(s, like ? W_LIKE_INSERT : W_LIKE_DELETE, &q, &r);
	if (rc < 0)
		return rc;
	w->created = rc == 1;
	if (w->created) {
		uint64_t like_id = col_u64(r, 0, 0); /* its time: an unlike soon after unnotifies */
		PQclear(r);
		struct args c = {0};
		arg_u64(&c, tweet);
		arg_int(&c, like ? 1 : -1);
		if (writer_tweet_row(s, W_LIKE_COUNT, &c, &w->tweet))
			return STORE_ERROR;
		rc = like ? notify(s, w, w->tweet.author_id, NOTIF_LIKE, user, tweet)
			  : unnotify(s, w->tweet.author_id, NOTIF_LIKE, tweet, like_id);
		if (rc)
			return rc;
	}
	return writer_viewer(s, user, tweet, &w->viewer);
}

static int exec_like_create(struct pg_store *s, struct store_write *w)
{
	return exec_like(s, w, true);
}

static int exec_like_delete(struct pg_store *s, struct store_write *w)
{
	return exec_like(s, w, false);
}

/* A new avatar: media_id (0: none) must be the user's own processed image
 * (its row locked), on no tweet; checked before anything changes. The old
 * one is released (cleanup removes it), the new one held by the user
 * (media.tweet_id holds a media: a tweet, or for an avatar its user, so
 * cleanup leaves it). `text` gets users.avatar. */
static int avatar_set(struct pg_store *s, uint64_t user, uint64_t media_id, struct strbuf *text)
{
	struct user u;
	int rc = writer_user(s, user, &u);
	if (rc)
		return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
	if (media_id) {
		struct media m;
		rc = media_read(&s->w, W_MEDIA_LOCK, media_id, &m);
		if (rc)
			return rc == STORE_NOT_FOUND ? STORE_INVALID : rc;
		if (m.owner_id != user || m.status != MEDIA_READY ||
		    strncmp(m.out.content_type, "image/", 6) != 0 || (m.tweet_id && m.tweet_id != user))
			return STORE_INVALID;
		store_media_ref_format(text, &m.out);
	}
	if (u.avatar.id == media_id)
		return STORE_OK;
	struct args a = {0};
	arg_u64(&a, user);
	if (command(&s->w, W_AVATAR_RELEASE, &a))
		return STORE_ERROR;
	if (!media_id)
		return STORE_OK;
	struct args m = {0};
	arg_text(&m, id_array(&s->scratch, &media_id, 1));
	arg_u64(&m, user);
	return command(&s->w, W_MEDIA_ATTACH, &m) ? STORE_ERROR : STORE_OK;
}

static int exec_profile_update(struct pg_store *s, struct store_write *w)
{
	struct strbuf avatar = STRBUF_INIT;
	uint64_t user = w->in.profile.user_id, other;
	/* An address someone else has: refused before anything changes. (One
	 * another node gives away meanwhile makes the UPDATE fail the unique
	 * index: that write alone gets a 503, as any failed statement.) */
	int rc = w->in.profile.set_email && w->in.profile.email[0]
			 ? email_owner(s, w->in.profile.email, &other)
			 : 0;
	if (rc == 1 && other != user) {
		w->taken = STORE_TAKEN_EMAIL;
		return STORE_CONFLICT;
	}
	if (rc < 0)
		return rc;
	rc = w->in.profile.set_avatar ? avatar_set(s, user, w->in.profile.avatar_media_id, &avatar)
				      : STORE_OK;
	if (rc == STORE_OK) {
		struct args a = {0};
		arg_u64(&a, user);
		arg_text(&a, w->in.profile.set_display_name ? w->in.profile.display_name : NULL);
		arg_text(&a, w->in.profile.set_bio ? w->in.profile.bio : NULL);
		arg_text(&a, w->in.profile.set_avatar ? (avatar.data ? avatar.data : "") : NULL);
		arg_text(&a, w->in.profile.set_email ? w->in.profile.email : NULL);
		PGresult *r;
		rc = wrow(s, W_PROFILE_UPDATE, &a, &r);
		if (rc == 1) {
			read_user(r, 0, 0, &w->user);
			col_copy(r, 0, USER_NCOLS, w->email, sizeof(w->email));
			PQclear(r);
			rc = STORE_OK;
		} else if (rc == 0) {
			rc = STORE_NOT_FOUND;
		}
	}
	strbuf_deinit(&avatar);
	return rc;
}

/* ---- media and their jobs ---- */

static int exec_media_create(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->in.media_create.id ? w->in.media_create.id : idgen_next(&s->ids));
	arg_u64(&a, w->in.media_create.owner_id);
	arg_text(&a, w->in.media_create.claimed_type);
	arg_u64(&a, w->in.media_create.size);
	arg_int(&a, (int)w->in.media_create.parts);
	arg_u64(&a, time_now_ms());
	arg_text(&a, w->in.media_create.upload_id);
	arg_text(&a, w->in.media_create.description);
	PGresult *r;
	int rc = wrow(s, W_MEDIA_INSERT, &a, &r);
	if (rc != 1)
		return STORE_ERROR;
	read_media(r, 0, &w->media);
	PQclear(r);
	return STORE_OK;
}

/* A new description, only while the media is on no tweet (its row locked,
 * so no node attaches it meanwhile): a posted tweet keeps the one it was
 * posted with. */
static int exec_media_describe(struct pg_store *s, struct store_write *w)
{
	int rc = media_read(&s->w, W_MEDIA_LOCK, w->in.media_describe.media_id, &w->media);
	if (rc)
		return rc;
	if (w->media.owner_id != w->in.media_describe.owner_id)
		return STORE_NOT_FOUND;
	if (w->media.tweet_id || w->media.status == MEDIA_RELEASED)
		return STORE_CONFLICT;
	struct args a = {0};
	arg_u64(&a, w->media.id);
	arg_text(&a, w->in.media_describe.description);
	if (command(&s->w, W_MEDIA_DESCRIBE, &a))
		return STORE_ERROR;
	memcpy(w->media.description, w->in.media_describe.description,
	       sizeof(w->media.description));
	return STORE_OK;
}

static int exec_markers_set(struct pg_store *s, struct store_write *w)
{
	struct store_markers *in = &w->in.markers;
	uint64_t now = time_now_ms();
	for (int t = 0; t < MARKER_TIMELINE_COUNT; t++) {
		if (!in->set[t])
			continue;
		struct args a = {0};
		arg_u64(&a, in->user_id);
		arg_int(&a, t);
		arg_u64(&a, in->m[t].last_read_id);
		arg_u64(&a, now);
		PGresult *r;
		if (wrow(s, W_MARKER_SET, &a, &r) != 1)
			return STORE_ERROR;
		in->m[t].version = col_u64(r, 0, 0);
		in->m[t].updated_ms = now;
		PQclear(r);
	}
	return STORE_OK;
}

/* awaiting_upload -> processing with a job queued, in one transaction; a
 * second complete of the same media changes nothing (created false). */
static int exec_media_complete(struct pg_store *s, struct store_write *w)
{
	int rc = media_read(&s->w, W_MEDIA_LOCK, w->in.media_complete.media_id, &w->media);
	if (rc)
		return rc;
	if (w->media.owner_id != w->in.media_complete.owner_id)
		return STORE_NOT_FOUND;
	if (w->media.status == MEDIA_PROCESSING || w->media.status == MEDIA_READY)
		return STORE_OK;
	if (w->media.status != MEDIA_AWAITING_UPLOAD)
		return STORE_CONFLICT;
	struct args a = {0};
	arg_u64(&a, idgen_next(&s->ids));
	arg_u64(&a, w->media.id);
	arg_u64(&a, time_now_ms());
	if (command(&s->w, W_MEDIA_PROCESSING, &a))
		return STORE_ERROR;
	PGresult *n = query(&s->w, W_JOB_NOTIFY, NULL);
	PQclear(n);
	if (!n)
		return STORE_ERROR;
	w->created = true;
	w->media.status = MEDIA_PROCESSING;
	return STORE_OK;
}

static int exec_job_finish(struct pg_store *s, struct store_write *w)
{
	const struct store_job_finish *j = &w->in.job_finish;
	struct args a = {0};
	enum stmt which;
	arg_u64(&a, j->job_id);
	if (j->outcome == JOB_READY) {
		which = W_JOB_DELETE;
	} else if (j->outcome == JOB_RETRY) {
		which = W_JOB_RETRY;
		arg_int(&a, (int)j->attempts);
		arg_u64(&a, j->run_at_ms);
		arg_text(&a, j->error);
	} else {
		which = W_JOB_DEAD;
		arg_int(&a, (int)j->attempts);
		arg_text(&a, j->error);
	}
	if (command(&s->w, which, &a))
		return STORE_ERROR;
	bool ready = j->outcome == JOB_READY;
	struct args m = {0};
	arg_u64(&m, j->media_id);
	arg_int(&m, ready ? MEDIA_READY : j->outcome == JOB_DEAD ? MEDIA_FAILED : MEDIA_PROCESSING);
	arg_text(&m, ready ? j->out.content_type : "");
	arg_int(&m, ready ? (int)j->out.width : 0);
	arg_int(&m, ready ? (int)j->out.height : 0);
	arg_int(&m, (int)j->attempts);
	arg_text(&m, ready ? "" : j->error);
	return command(&s->w, W_MEDIA_FINISH, &m);
}

static int exec_media_purge(struct pg_store *s, struct store_write *w)
{
	struct store_media_purge *p = &w->in.media_purge;
	struct args a = {0};
	arg_u64(&a, p->cutoff_ms);
	arg_int(&a, STORE_PURGE_BATCH);
	p->n = 0;
	PGresult *r = query(&s->w, W_MEDIA_EXPIRED, &a);
	if (!r)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(r) && p->n < STORE_PURGE_BATCH; i++) {
		p->ids[p->n] = col_u64(r, i, 0);
		p->parts[p->n++] = (unsigned)col_u64(r, i, 1);
	}
	PQclear(r);
	if (!p->n)
		return STORE_OK;
	struct args d = {0};
	arg_text(&d, id_array(&s->scratch, p->ids, p->n));
	return command(&s->w, W_MEDIA_DELETE, &d);
}

static int exec_probe(struct pg_store *s, struct store_write *w)
{
	(void)w;
	struct args a = {0};
	arg_u64(&a, time_now_ms());
	return command(&s->w, W_PROBE, &a);
}

/* What each kind of write does, in SQL. A new kind adds its row here
 * (pg_open refuses to start with a row missing). */
static int (*const exec_kind[STORE_W_COUNT])(struct pg_store *s, struct store_write *w) = {
	[STORE_W_USER_CREATE] = exec_user_create,
	[STORE_W_SESSION_CREATE] = exec_session_create,
	[STORE_W_SESSION_DELETE] = exec_session_delete,
	[STORE_W_TWEET_CREATE] = exec_tweet_create,
	[STORE_W_TWEET_DELETE] = exec_tweet_delete,
	[STORE_W_RETWEET] = exec_retweet,
	[STORE_W_UNRETWEET] = exec_unretweet,
	[STORE_W_FOLLOW] = exec_follow_create,
	[STORE_W_UNFOLLOW] = exec_follow_delete,
	[STORE_W_PROBE] = exec_probe,
	[STORE_W_MEDIA_CREATE] = exec_media_create,
	[STORE_W_MEDIA_COMPLETE] = exec_media_complete,
	[STORE_W_JOB_FINISH] = exec_job_finish,
	[STORE_W_MEDIA_PURGE] = exec_media_purge,
	[STORE_W_LIKE] = exec_like_create,
	[STORE_W_UNLIKE] = exec_like_delete,
	[STORE_W_PROFILE_UPDATE] = exec_profile_update,
	[STORE_W_SESSION_END] = exec_session_end,
	[STORE_W_SESSIONS_END] = exec_sessions_end,
	[STORE_W_PASSWORD_CHANGE] = exec_password_change,
	[STORE_W_SESSION_TOUCH] = exec_session_touch,
	[STORE_W_SESSIONS_EXPIRE] = exec_sessions_expire,
	[STORE_W_BLOCK] = exec_block,
	[STORE_W_UNBLOCK] = exec_unblock,
	[STORE_W_MUTE] = exec_mute,
	[STORE_W_UNMUTE] = exec_unmute,
	[STORE_W_NOTIFICATIONS_READ] = exec_notifications_read,
	[STORE_W_NOTIFICATION_DISMISS] = exec_notification_dismiss,
	[STORE_W_NOTIFICATIONS_CLEAR] = exec_notifications_clear,
	[STORE_W_MEDIA_DESCRIBE] = exec_media_describe,
	[STORE_W_MARKERS_SET] = exec_markers_set,
};

/* Claims w's idempotency key: STORE_OK if the write is to run now,
 * STORE_NOT_FOUND if its answer is already settled (replay or mismatch,
 * w->status set), STORE_ERROR on failure. */
static int idem_claim(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->idem.scope);
	arg_text(&a, w->idem.key);
	arg_bytes(&a, w->idem.fingerprint, sizeof(w->idem.fingerprint));
	arg_u64(&a, time_now_ms());
	PGresult *r;
	int rc = wrow(s, W_IDEM_CLAIM, &a, &r);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		PQclear(r);
		return STORE_OK;
	}
	struct store_idem_record rec = {.body = STRBUF_INIT};
	rc = idem_read(&s->w, w->idem.scope, w->idem.key, &rec);
	if (rc == STORE_OK) {
		if (memcmp(rec.fingerprint, w->idem.fingerprint, sizeof(rec.fingerprint)) == 0) {
			w->replayed = true;
			w->status = STORE_OK;
			w->resp_status = rec.status;
			strbuf_reset(&w->resp_body);
			strbuf_append(&w->resp_body, rec.body.data, rec.body.len);
		} else {
			w->status = STORE_IDEM_MISMATCH;
		}
		rc = STORE_NOT_FOUND;
	} else if (rc == STORE_NOT_FOUND) {
		rc = STORE_ERROR; /* claimed by someone, yet gone: cannot be */
	}
	strbuf_deinit(&rec.body);
	return rc;
}

static int idem_set(struct pg_store *s, struct store_write *w)
{
	struct args a = {0};
	arg_u64(&a, w->idem.scope);
	arg_text(&a, w->idem.key);
	arg_int(&a, w->resp_status);
	arg_bytes(&a, w->resp_body.data ? w->resp_body.data : "", w->resp_body.len);
	return command(&s->w, W_IDEM_SET, &a);
}

/* Forgets what a failed attempt at w left in its results. */
static void reset_results(struct store_write *w)
{
	w->status = STORE_OK;
	w->created = false;
	w->replayed = false;
	memset(&w->user, 0, sizeof(w->user));
	memset(&w->tweet, 0, sizeof(w->tweet));
	memset(&w->related, 0, sizeof(w->related));
	memset(&w->media, 0, sizeof(w->media));
	w->email[0] = '\0';
	w->taken = STORE_TAKEN_NONE;
	w->notified_n = 0;
	w->resp_status = 0;
	strbuf_reset(&w->resp_body);
}

/* One write inside the batch transaction. False on a failure, which fails
 * the transaction: nothing may be half-written. */
static bool apply_one(struct pg_store *s, struct store_write *w)
{
	reset_results(w);
	if (w->idem.on) {
		int rc = idem_claim(s, w);
		if (rc != STORE_OK)
			return rc == STORE_NOT_FOUND;
	}
	w->status = exec_kind[w->kind](s, w);
	if (w->status == STORE_ERROR)
		return false;
	if (w->render)
		w->render(w);
	return !w->idem.on || idem_set(s, w) == STORE_OK;
}

static void sweep_idempotency(struct pg_store *s)
{
	uint64_t now = time_now_ms();
	if (now - s->last_sweep_ms < IDEM_SWEEP_EVERY_MS)
		return;
	s->last_sweep_ms = now;
	struct args a = {0};
	arg_u64(&a, now - IDEM_TTL_MS);
	command(&s->w, W_IDEM_SWEEP, &a);
	struct args t = {0}; /* trend counters past the window, and a minute's grace */
	arg_u64(&t, now / 60000 - STORE_TREND_MINUTES - 1);
	command(&s->w, W_TRENDS_SWEEP, &t);
}

static struct store_write *next_write(const struct store_write *w)
{
	return w->node.next ? container_of(w->node.next, struct store_write, node) : NULL;
}

static void record_batch(struct pg_store *s, size_t n, bool ok)
{
	size_t b = 0;
	while (b + 1 < STORE_BATCH_BUCKETS && n > (1u << b))
		b++;
	pthread_mutex_lock(&s->lock);
	if (ok) {
		s->stats.commits++;
		s->stats.writes += n;
		s->stats.batches[b]++;
	} else {
		s->stats.failed_commits++;
	}
	s->stats.last_commit_failed = !ok;
	pthread_mutex_unlock(&s->lock);
}

static void pg_stats(struct store *base, struct store_stats *out)
{
	struct pg_store *s = (struct pg_store *)base;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
	out->queued = bqueue_len(&s->queue);
	out->max_queued = s->queue.max;
}

/* Takes the node's advisory lock on a fresh writer connection: two nodes
 * with one node id would make the same ids. */
static bool take_node_lock(struct pg_store *s, PGconn *c, struct strbuf *err)
{
	char q[96];
	snprintf(q, sizeof(q), "SELECT pg_try_advisory_lock(%d, %d)", LOCK_CLASS, (int)s->node_id);
	PGresult *r = exec_bounded(c, q);
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		  PQgetvalue(r, 0, 0)[0] == 't';
	if (!ok && err)
		strbuf_appendf(err, "node id %u is in use by another chirp on this database "
				    "(give each node its own --node-id)", s->node_id);
	PQclear(r);
	return ok;
}

/* The writer's connection; on a new one, the node lock is taken first. */
static PGconn *writer_conn(struct pg_store *s)
{
	bool fresh = !(s->w.c && PQstatus(s->w.c) == CONNECTION_OK);
	PGconn *c = conn_get(&s->w);
	if (c && fresh && !take_node_lock(s, c, NULL)) {
		log_error("postgres: node id %u is held by another chirp: writes are refused",
			  s->node_id);
		conn_failed(&s->w);
		return NULL;
	}
	return c;
}

/* ---- the outbox ---- */

static bool outbox_wanted(const struct pg_store *s, const struct store_write *w)
{
	return w->status == STORE_OK && !w->replayed && s->outbox_kinds[w->kind];
}

/* One row per write of [batch, end) that has effects, in one statement. */
static bool outbox_write(struct pg_store *s, struct store_write *batch, struct store_write *end)
{
	s->outbox_batch.n = 0;
	if (!atomic_load_explicit(&s->outbox_on, memory_order_acquire))
		return true;
	size_t m = 0;
	for (struct store_write *w = batch; w != end; w = next_write(w))
		m += outbox_wanted(s, w);
	if (!m)
		return true;
	struct outbox_payload *p = xcalloc(m, sizeof(*p));
	const char **vals = xcalloc(m, sizeof(*vals));
	int *lens = xcalloc(m, sizeof(*lens)), *fmts = xcalloc(m, sizeof(*fmts));
	struct strbuf q = STRBUF_INIT;
	strbuf_append_str(&q, "INSERT INTO outbox (id, node, kind, layout, created_ms, payload) VALUES ");
	uint64_t now = time_now_ms();
	size_t i = 0;
	for (struct store_write *w = batch; w != end; w = next_write(w)) {
		if (!outbox_wanted(s, w))
			continue;
		uint64_t id = idgen_next(&s->ids);
		ids_add(&s->outbox_batch, id);
		memcpy(&p[i].in, &w->in, sizeof(p[i].in));
		/* No effect reads a password hash: none goes into the outbox. */
		if (w->kind == STORE_W_USER_CREATE)
			memset(p[i].in.user_create.password_hash, 0,
			       sizeof(p[i].in.user_create.password_hash));
		if (w->kind == STORE_W_PASSWORD_CHANGE) {
			memset(p[i].in.password.old_hash, 0, sizeof(p[i].in.password.old_hash));
			memset(p[i].in.password.new_hash, 0, sizeof(p[i].in.password.new_hash));
		}
		p[i].created = w->created;
		p[i].user = w->user;
		p[i].tweet = w->tweet;
		p[i].related = w->related;
		p[i].media = w->media;
		/* Only the payload is a parameter; the rest are our numbers. */
		strbuf_appendf(&q, "%s(%" PRIu64 ",%u,%d,%d,%" PRIu64 ",$%zu)", i ? "," : "", id,
			       s->node_id, (int)w->kind, OUTBOX_LAYOUT, now, i + 1);
		vals[i] = (const char *)&p[i];
		lens[i] = (int)sizeof(p[i]);
		fmts[i] = 1;
		i++;
	}
	PGresult *r = PQsendQueryParams(s->w.c, q.data, (int)m, NULL, vals, lens, fmts, 0)
			  ? await_result(s->w.c)
			  : NULL;
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		log_error("postgres: writing the outbox: %s", PQerrorMessage(s->w.c));
	PQclear(r);
	strbuf_deinit(&q);
	free(p);
	free(vals);
	free(lens);
	free(fmts);
	return ok;
}

/* Deletes the first k finished rows (in the open transaction, or alone). */
static bool outbox_delete(struct pg_store *s, size_t k)
{
	struct args a = {0};
	arg_text(&a, id_array(&s->scratch, s->finished.v, k));
	return command(&s->w, W_OUTBOX_DELETE, &a) == STORE_OK;
}

/* Runs again the effects of the writes a stopped process left in the
 * outbox: this node's previous life's at once, anyone's past the grace
 * period. Each round claims rows, replays them, deletes them and commits;
 * a crash midway replays them once more. */
static void outbox_recover(struct pg_store *s)
{
	if (!atomic_load_explicit(&s->outbox_on, memory_order_acquire))
		return;
	uint64_t now = time_now_ms();
	if (now - s->last_claim_ms < OUTBOX_CLAIM_EVERY_MS)
		return;
	s->last_claim_ms = now;
	for (int round = 0; round < 16; round++) {
		PGconn *c = writer_conn(s);
		if (!c || !simple(c, "BEGIN", NULL))
			return;
		struct args a = {0};
		arg_int(&a, (int)s->node_id);
		arg_u64(&a, s->started_ms);
		arg_u64(&a, now - OUTBOX_GRACE_MS);
		arg_int(&a, OUTBOX_CLAIM_BATCH);
		PGresult *r = query(&s->w, W_OUTBOX_CLAIM, &a);
		int rows = r ? PQntuples(r) : 0;
		uint64_t ids[OUTBOX_CLAIM_BATCH];
		for (int i = 0; i < rows; i++) {
			ids[i] = col_u64(r, i, 0);
			int kind = (int)col_u64(r, i, 1);
			size_t len = 0;
			unsigned char *b =
			    PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 3), &len);
			if (col_u64(r, i, 2) != OUTBOX_LAYOUT || kind < 0 || kind >= STORE_W_COUNT ||
			    !b || len != sizeof(struct outbox_payload)) {
				log_error("postgres: outbox row %" PRIu64 " is of another layout: "
					  "dropped, its effects not run", ids[i]);
				PQfreemem(b);
				continue;
			}
			const struct outbox_payload *p = (const struct outbox_payload *)b;
			struct store_write w;
			store_write_init(&w, (enum store_write_kind)kind);
			memcpy(&w.in, &p->in, sizeof(w.in));
			w.created = p->created;
			w.user = p->user;
			w.tweet = p->tweet;
			w.related = p->related;
			w.media = p->media;
			s->replay(s->replay_arg, &w);
			store_write_deinit(&w);
			PQfreemem(b);
		}
		PQclear(r);
		struct args d = {0};
		arg_text(&d, id_array(&s->scratch, ids, (size_t)rows));
		bool ok = r && (!rows || command(&s->w, W_OUTBOX_DELETE, &d) == STORE_OK) &&
			  simple(c, "COMMIT", NULL);
		if (!ok) {
			if (PQstatus(c) == CONNECTION_OK)
				simple(c, "ROLLBACK", NULL);
			return;
		}
		if (rows)
			log_info("postgres: outbox: ran the effects of %d writes a stopped chirp "
				 "left undone", rows);
		if (rows < OUTBOX_CLAIM_BATCH)
			return;
	}
}

/* With nothing to write: delete the rows whose effects ran. */
static void outbox_idle(struct pg_store *s)
{
	if (s->finished.n && writer_conn(s) && outbox_delete(s, s->finished.n))
		s->finished.n = 0;
}

static void pg_outbox_start(struct store *base, const bool *kinds, store_replay_fn fn, void *arg)
{
	struct pg_store *s = (struct pg_store *)base;
	memcpy(s->outbox_kinds, kinds, sizeof(s->outbox_kinds));
	s->replay = fn;
	s->replay_arg = arg;
	atomic_store_explicit(&s->outbox_on, true, memory_order_release);
}

/* ---- notifications ---- */

/* Waits up to ms for the stop pipe; true if it says stop. */
static bool listen_wait(struct pg_store *s, int fd, int ms)
{
	struct pollfd p[2] = {{.fd = s->listen_pipe[0], .events = POLLIN},
			      {.fd = fd, .events = POLLIN}};
	poll(p, fd >= 0 ? 2 : 1, ms);
	return atomic_load(&s->listen_stop);
}

static void *listener_main(void *arg)
{
	struct pg_store *s = arg;
	pthread_setname_np(pthread_self(), "chirp-listen");
	PGconn *listening = NULL;
	while (!atomic_load(&s->listen_stop)) {
		PGconn *c = conn_get(&s->listen_conn);
		if (c && c != listening) {
			/* A new connection listens anew; jobs committed while
			 * there was none are found by the queue's slow poll. */
			listening = simple(c, "LISTEN chirp_jobs", NULL) ? c : NULL;
			if (!listening)
				conn_failed(&s->listen_conn);
			continue;
		}
		if (listen_wait(s, c ? PQsocket(c) : -1, 1000) || !c)
			continue;
		if (!PQconsumeInput(c)) {
			conn_failed(&s->listen_conn);
			listening = NULL;
			continue;
		}
		bool any = false;
		for (PGnotify *n; (n = PQnotifies(c)) != NULL; PQfreemem(n))
			any = true;
		if (any) {
			pthread_mutex_lock(&s->listen_lock);
			if (s->job_fn)
				s->job_fn(s->job_arg);
			pthread_mutex_unlock(&s->listen_lock);
		}
	}
	return NULL;
}

static void pg_on_new_job(struct store *base, void (*fn)(void *arg), void *arg)
{
	struct pg_store *s = (struct pg_store *)base;
	pthread_mutex_lock(&s->listen_lock);
	s->job_fn = fn;
	s->job_arg = arg;
	pthread_mutex_unlock(&s->listen_lock);
	if (fn && !s->listener_started) {
		if (pthread_create(&s->listener, NULL, listener_main, s) != 0)
			die("postgres: cannot start the listener thread");
		s->listener_started = true;
	}
}

/* Runs writes [batch, end) in one transaction; true if it committed. */
static bool run_batch(struct pg_store *s, struct store_write *batch, struct store_write *end)
{
	PGconn *c = writer_conn(s);
	if (!c)
		return false;
	bool ok = simple(c, "BEGIN", NULL);
	if (!ok && PQstatus(c) != CONNECTION_OK) {
		/* Gone since the last batch (a server restart): nothing of
		 * this batch ran, so it may begin again on a new connection. */
		conn_drop(&s->w);
		if (!(c = writer_conn(s)))
			return false;
		ok = simple(c, "BEGIN", NULL);
	}
	s->seq_locked = false;
	/* The rows whose effects ran go with this transaction. */
	size_t deleting = s->finished.n;
	if (ok && deleting)
		ok = outbox_delete(s, deleting);
	for (struct store_write *w = batch; ok && w != end; w = next_write(w))
		ok = apply_one(s, w);
	if (ok)
		ok = outbox_write(s, batch, end);
	if (ok) {
		sweep_idempotency(s);
		ok = simple(c, "COMMIT", NULL);
	} else if (PQstatus(c) == CONNECTION_OK) {
		simple(c, "ROLLBACK", NULL);
	}
	if (PQstatus(c) != CONNECTION_OK)
		conn_failed(&s->w);
	if (ok) {
		ids_shift(&s->finished, deleting);
		for (size_t i = 0; i < s->outbox_batch.n; i++)
			ids_add(&s->committed, s->outbox_batch.v[i]);
	}
	return ok;
}

static void commit_batch(struct pg_store *s, struct store_write *batch, size_t n)
{
	bool ok = run_batch(s, batch, NULL);
	if (!ok && n > 1 && s->w.c) {
		/* A statement failed with the database still there (a bad byte, a
		 * deadlock): run the writes one transaction each, so only the
		 * guilty one fails. */
		ok = true;
		for (struct store_write *w = batch; w; w = next_write(w)) {
			struct store_write *next = next_write(w);
			if (!run_batch(s, w, next)) {
				w->status = STORE_ERROR;
				ok = s->w.c != NULL; /* the database went away: fail the rest */
				if (!ok) {
					for (struct store_write *x = next; x; x = next_write(x))
						x->status = STORE_ERROR;
					break;
				}
			}
		}
	} else if (!ok) {
		for (struct store_write *w = batch; w; w = next_write(w))
			w->status = STORE_ERROR;
	}
	record_batch(s, n, ok);
	for (struct store_write *w = batch, *next; w; w = next) {
		next = next_write(w); /* done() may free w */
		w->done(w);
	}
	/* done() ran the effects: their rows may go. */
	for (size_t i = 0; i < s->committed.n; i++)
		ids_add(&s->finished, s->committed.v[i]);
	s->committed.n = 0;
}

static void *writer_main(void *arg)
{
	struct pg_store *s = arg;
	pthread_setname_np(pthread_self(), "chirp-writer");
	for (;;) {
		size_t n;
		bool stopped;
		struct bqueue_node *batch = bqueue_pop_wait(&s->queue, MAX_BATCH, &n, IDLE_MS, &stopped);
		if (batch)
			commit_batch(s, container_of(batch, struct store_write, node), n);
		else if (stopped)
			break; /* the queue is drained */
		else
			outbox_idle(s);
		outbox_recover(s);
	}
	outbox_idle(s);
	return NULL;
}

static int pg_submit(struct store *base, struct store_write *w)
{
	struct pg_store *s = (struct pg_store *)base;
	assert(w->kind < STORE_W_COUNT && w->done);
	return bqueue_push(&s->queue, &w->node) == 0 ? 0 : STORE_BUSY;
}

/* ---- open and close ------------------------------------------------------------- */

static int schema_version(PGconn *c)
{
	PGresult *r = exec_bounded(c, "SELECT max(version) FROM chirp_schema");
	int v = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* Plain SQL with no time bound: a migration may build an index on a big
 * table, or wait for another node's migration to finish. */
static bool unbounded(PGconn *c, const char *text, struct strbuf *err)
{
	PGresult *r = PQexec(c, text);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok && err)
		strbuf_appendf(err, "%s", PQerrorMessage(c));
	PQclear(r);
	return ok;
}

/* Brings the schema up to date, one migration per transaction, under an
 * advisory lock: nodes that start together migrate once. */
static bool migrate(PGconn *c, struct strbuf *err)
{
	char lock[96], unlock[96];
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%d, %d)", LOCK_CLASS, LOCK_MIGRATE);
	snprintf(unlock, sizeof(unlock), "SELECT pg_advisory_unlock(%d, %d)", LOCK_CLASS,
		 LOCK_MIGRATE);
	if (!unbounded(c, "SET statement_timeout = 0", err) || !unbounded(c, lock, err))
		return false;
	bool ok = unbounded(c, "CREATE TABLE IF NOT EXISTS chirp_schema (version integer NOT NULL)",
			 err);
	int v = ok ? schema_version(c) : -1;
	if (ok && v < 0) {
		strbuf_appendf(err, "cannot read the schema version: %s", PQerrorMessage(c));
		ok = false;
	} else if (ok && v > SCHEMA_VERSION) {
		strbuf_appendf(err, "database schema %d is newer than this chirp (%d)", v,
			       SCHEMA_VERSION);
		ok = false;
	}
	for (; ok && v < SCHEMA_VERSION; v++) {
		char bump[80];
		snprintf(bump, sizeof(bump), "INSERT INTO chirp_schema (version) VALUES (%d)", v + 1);
		ok = unbounded(c, "BEGIN", err) && unbounded(c, migrations[v], err) &&
		     unbounded(c, bump, err) && unbounded(c, "COMMIT", err);
		if (!ok) {
			strbuf_appendf(err, " (migration %d)", v + 1);
			unbounded(c, "ROLLBACK", NULL);
		} else {
			log_info("postgres: schema migrated to version %d", v + 1);
		}
	}
	unbounded(c, unlock, NULL);
	return unbounded(c, "SET statement_timeout = " STATEMENT_TIMEOUT_MS, err) && ok;
}

static void pg_close(struct store *base)
{
	struct pg_store *s = (struct pg_store *)base;
	if (!s)
		return;
	if (s->writer_started) {
		bqueue_stop(&s->queue);
		pthread_join(s->writer, NULL); /* it drains the queue first */
	}
	if (s->listener_started) {
		atomic_store(&s->listen_stop, true);
		ssize_t w = write(s->listen_pipe[1], "x", 1);
		(void)w;
		pthread_join(s->listener, NULL);
	}
	conn_drop(&s->listen_conn);
	close(s->listen_pipe[0]);
	close(s->listen_pipe[1]);
	pthread_mutex_destroy(&s->listen_lock);
	conn_drop(&s->w); /* and with it, the node lock */
	free(s->outbox_batch.v);
	free(s->committed.v);
	free(s->finished.v);
	strbuf_deinit(&s->scratch);
	bqueue_deinit(&s->queue);
	pthread_mutex_destroy(&s->lock);
	idgen_deinit(&s->ids);
	free(s->conninfo);
	free(s);
}

static struct store *pg_open(const struct store_options *opt, struct strbuf *err)
{
	for (int k = 0; k < STORE_W_COUNT; k++)
		if (!exec_kind[k])
			die("postgres: write kind %d has no row in exec_kind", k);
	struct pg_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &store_postgres_ops;
	s->conninfo = xstrdup(opt->url ? opt->url : "");
	s->node_id = opt->node_id;
	s->started_ms = time_now_ms();
	bqueue_init(&s->queue, opt->max_queued ? opt->max_queued : 65536);
	pthread_mutex_init(&s->lock, NULL);
	idgen_init(&s->ids, opt->node_id);
	strbuf_init(&s->scratch);
	conn_init(&s->w, s->conninfo);
	conn_init(&s->listen_conn, s->conninfo);
	pthread_mutex_init(&s->listen_lock, NULL);
	if (pipe2(s->listen_pipe, O_CLOEXEC) != 0)
		die("postgres: pipe: %s", strerror(errno));

	/* The data directory still holds the node's keys, blobs and search
	 * files (main.c). */
	if (mkdir(opt->data_dir, 0700) != 0 && errno != EEXIST) {
		strbuf_appendf(err, "cannot create %s: %s", opt->data_dir, strerror(errno));
		goto fail;
	}
	/* At start, the database must answer: a typo in the URL should not
	 * look like an outage. */
	s->w.c = connect_now(s->conninfo, err);
	if (!s->w.c || !take_node_lock(s, s->w.c, err) || !migrate(s->w.c, err))
		goto fail;
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
		die("postgres: cannot start the writer thread");
	s->writer_started = true;
	return &s->base;
fail:
	pg_close(&s->base);
	return NULL;
}

const struct store_ops store_postgres_ops = {
	.name = "postgres",
	.reads_inline = false,
	.open = pg_open,
	.close = pg_close,
	.reader_new = pg_reader_new,
	.reader_free = pg_reader_free,
	.user_get = pg_user_get,
	.user_get_by_handle = pg_user_get_by_handle,
	.user_credentials = pg_user_credentials,
	.user_credentials_by_email = pg_user_credentials_by_email,
	.user_email = pg_user_email,
	.markers = pg_markers,
	.session_get = pg_session_get,
	.sessions_of = pg_sessions_of,
	.idem_get = pg_idem_get,
	.tweet_get = pg_tweet_get,
	.user_tweets = pg_user_tweets,
	.home_feed = pg_home_feed,
	.followers = pg_followers,
	.following = pg_following,
	.follower_ids = pg_follower_ids,
	.followees = pg_followees,
	.author_tweet_ids = pg_author_tweet_ids,
	.viewer_state = pg_viewer_state,
	.hashtag_tweet_ids = pg_hashtag_tweet_ids,
	.public_tweet_ids = pg_public_tweet_ids,
	.trends = pg_trends,
	.liked_by = pg_liked_by,
	.retweeted_by = pg_retweeted_by,
	.ancestor_ids = pg_ancestor_ids,
	.descendant_ids = pg_descendant_ids,
	.relations = pg_relations,
	.blocks = pg_blocks,
	.mutes = pg_mutes,
	.notifications = pg_notifications,
	.notifications_unread = pg_notifications_unread,
	.tweets_after = pg_tweets_after,
	.users_after = pg_users_after,
	.media_get = pg_media_get,
	.job_due = pg_job_due,
	.job_lease = pg_job_lease,
	.on_new_job = pg_on_new_job,
	.submit = pg_submit,
	.outbox_start = pg_outbox_start,
	.stats = pg_stats,
};
