/*
 * sqlite — the embedded store adapter (see store.h for the contract).
 *
 * Durability: WAL journal with synchronous=FULL, so COMMIT returns only once
 * the WAL is fsynced: a write is acknowledged only after its commit.
 *
 * Group commit: every write goes through one writer thread. It takes all the
 * writes queued while the previous commit was on disk, runs them in one
 * transaction and commits them with one fsync. Under load the batch grows
 * by itself, so durability does not cost throughput. A write's logical
 * outcome (conflict, not found) never affects the others; an I/O failure
 * fails the whole batch, and none of it is acknowledged.
 *
 * Reads: each thread gets its own read-only connection (store_reader) with
 * its prepared statements; in WAL mode readers never wait for the writer.
 *
 * Schema (if you change it, add a migration; never edit a shipped one):
 *   users(id, handle UNIQUE NOCASE, display_name, password_hash, counts)
 *   sessions(token_hash → user_id)        only SHA-256 of tokens
 *   tweets(id, author_id, text)           index (author_id, id)
 *   follows(id, follower_id, followee_id) unique pair; a covering index per direction
 *   idempotency(scope, key → fingerprint, status, body, created_ms)
 *                                         fingerprints are HMACs (gateway/idempotency.h)
 *   health(id = 1, checked_ms)            rewritten by readiness probes
 *   media(id, owner_id, status, ..., tweet_id)  uploads; status is enum media_status
 *   jobs(id, media_id, attempts, run_at_ms, state)  the processing queue
 *   tweets.media                          "id:w:h:type;" per attached media, so a
 *                                         tweet reads without a join
 *   tweets.in_reply_to_id, _user_id       NULL unless a reply; index by parent
 *   tweets.reply_count, like_count        kept by the writes that change them
 *   likes(id, tweet_id, user_id)          unique (user, tweet); index by tweet
 *   users.bio                             '' when unset
 *   sessions.id, last_used_ms, device, ip  what GET /v1/sessions lists; index
 *                                         (user_id, id)
 *   tweets.retweet_of, retweet_of_author_id  a retweet: a row with no text;
 *                                         unique (author_id, retweet_of), index
 *                                         by original
 *   tweets.retweet_count                  kept by the writes that change it
 *   tweets.entities                       mentions and hashtags (core/entities.h)
 *   hashtags(tag, tweet_id)               folded tags; index by tweet
 *   trend_counts(tag, minute, author_id, tweets)  per-minute counters for
 *                                         trends; index by minute
 *   blocks, mutes(id, user_id, other_id)  unique pair; blocks indexed both ways
 *   notifications(id, recipient_id, type, actor_id, tweet_id, group_key, count)
 *                                         likes and retweets grouped per tweet
 *   users.notifications_read_id, avatar   the read marker; "id:w:h:type;" or ''
 *   users.email                           folded, unique where not NULL; private
 *   media.description, tweets.media_alt   alt text; the tweet's copy is fixed
 *                                         at posting, "<bytes>:<text>" per media
 *   markers(user_id, timeline, last_read_id, version, updated_ms)  Mastodon's

 * created_at of every object is derived from its snowflake id.
 */
#include "store/sqlite.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
#define MMAP_BYTES "4294967296" /* SQLite caps it at its compiled-in maximum */
#define IDEM_TTL_MS (24ull * 3600 * 1000)
#define IDEM_SWEEP_EVERY_MS (60ull * 1000)

/* ---- schema ----------------------------------------------------------- */

static const char *const migrations[STORE_SQLITE_SCHEMA_VERSION] = {
	/* 1: the core entities */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  handle TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  display_name TEXT NOT NULL,"
	"  password_hash TEXT NOT NULL,"
	"  followers_count INTEGER NOT NULL DEFAULT 0,"
	"  following_count INTEGER NOT NULL DEFAULT 0,"
	"  tweets_count INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sessions ("
	"  token_hash BLOB PRIMARY KEY,"
	"  user_id INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE tweets ("
	"  id INTEGER PRIMARY KEY,"
	"  author_id INTEGER NOT NULL,"
	"  text TEXT NOT NULL);"
	"CREATE INDEX tweets_by_author ON tweets(author_id, id);"
	"CREATE TABLE follows ("
	"  id INTEGER PRIMARY KEY,"
	"  follower_id INTEGER NOT NULL,"
	"  followee_id INTEGER NOT NULL,"
	"  UNIQUE (follower_id, followee_id));"
	"CREATE INDEX follows_by_followee ON follows(followee_id, id);"
	"CREATE INDEX follows_by_follower ON follows(follower_id, id);",

	/* 2: Idempotency-Key records */
	"CREATE TABLE idempotency ("
	"  scope INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  fingerprint BLOB NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  body BLOB NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (scope, key)) WITHOUT ROWID;"
	"CREATE INDEX idempotency_by_age ON idempotency(created_ms);",

	/* 3: the follow indexes cover the other end of the edge, so listing
	 * a user's followers (fanout, every post) or followees (timeline
	 * rebuilds) never visits the table row by row. */
	"DROP INDEX follows_by_followee;"
	"DROP INDEX follows_by_follower;"
	"CREATE INDEX follows_by_followee ON follows(followee_id, id, follower_id);"
	"CREATE INDEX follows_by_follower ON follows(follower_id, id, followee_id);",

	/* 4: one row that readiness probes rewrite, to see a commit through */
	"CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), checked_ms INTEGER NOT NULL);",

	/* 5: media uploads and their processing jobs (media/media.h) */
	"CREATE TABLE media ("
	"  id INTEGER PRIMARY KEY,"
	"  owner_id INTEGER NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  claimed_type TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  parts INTEGER NOT NULL,"
	"  content_type TEXT NOT NULL DEFAULT '',"
	"  width INTEGER NOT NULL DEFAULT 0,"
	"  height INTEGER NOT NULL DEFAULT 0,"
	"  tweet_id INTEGER,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT NOT NULL DEFAULT '',"
	"  upload_id TEXT NOT NULL DEFAULT '',"
	"  created_ms INTEGER NOT NULL);"
	"CREATE INDEX media_by_tweet ON media(tweet_id) WHERE tweet_id IS NOT NULL;"
	"CREATE INDEX media_unattached ON media(created_ms) WHERE tweet_id IS NULL;"
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY,"
	"  media_id INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  run_at_ms INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0," /* 0 queued, 1 dead */
	"  last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX jobs_due ON jobs(state, run_at_ms);"
	"ALTER TABLE tweets ADD COLUMN media TEXT NOT NULL DEFAULT '';",

	/* 6: idempotency fingerprints are keyed now (gateway/idempotency.h).
	 * The records made before were plain SHA-256 of bodies that hold
	 * sign-up passwords: drop them, and overwrite their bytes rather than
	 * leave them in free pages. A retry across this upgrade acts again,
	 * as it would after the records' 24 hours. */
	"PRAGMA secure_delete = ON;"
	"DELETE FROM idempotency;"
	"PRAGMA secure_delete = OFF;",

	/* 7: conversations, likes and profiles. Counts live on the
	 * tweet so a tweet still reads as one row; the unique (user, tweet)
	 * index answers "which of this page did the reader like" in one
	 * query of index probes, and likes_by_tweet covers liked_by pages. */
	"ALTER TABLE tweets ADD COLUMN in_reply_to_id INTEGER;"
	"ALTER TABLE tweets ADD COLUMN in_reply_to_user_id INTEGER;"
	"ALTER TABLE tweets ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE tweets ADD COLUMN like_count INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX tweets_by_parent ON tweets(in_reply_to_id, id)"
	"  WHERE in_reply_to_id IS NOT NULL;"
	"CREATE TABLE likes ("
	"  id INTEGER PRIMARY KEY,"
	"  tweet_id INTEGER NOT NULL,"
	"  user_id INTEGER NOT NULL,"
	"  UNIQUE (user_id, tweet_id));"
	"CREATE INDEX likes_by_tweet ON likes(tweet_id, id, user_id);"
	"ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';",

	/* 8: sessions a user can see and end (GET /v1/sessions): an id (its
	 * created_at), when last used (idle expiry), the device and address
	 * of the log-in. Sessions from before get ids of the upgrade's time,
	 * a second back so they cannot meet an id made after it, and count
	 * as used now. */
	"CREATE TABLE sessions8 ("
	"  token_hash BLOB PRIMARY KEY,"
	"  user_id INTEGER NOT NULL,"
	"  id INTEGER NOT NULL UNIQUE,"
	"  last_used_ms INTEGER NOT NULL,"
	"  device TEXT NOT NULL DEFAULT '',"
	"  ip TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
	"INSERT INTO sessions8 (token_hash, user_id, id, last_used_ms)"
	"  SELECT token_hash, user_id,"
	"  ((CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) - 1000 - 1577836800000)"
	"   << 22) + row_number() OVER (ORDER BY token_hash),"
	"  CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM sessions;"
	"DROP TABLE sessions;"
	"ALTER TABLE sessions8 RENAME TO sessions;"
	"CREATE INDEX sessions_by_user ON sessions(user_id, id);"
	"CREATE INDEX sessions_by_last_use ON sessions(last_used_ms);",

	/* 9: retweets. A retweet is a tweets row with no text that names its
	 * original, so it is fanned out, paged and merged like any tweet; the
	 * unique (author, original) index makes retweeting twice one retweet
	 * and answers "which of this page did the reader retweet", the index
	 * by original finds the retweets a deleted tweet takes with it. */
	"ALTER TABLE tweets ADD COLUMN retweet_of INTEGER;"
	"ALTER TABLE tweets ADD COLUMN retweet_of_author_id INTEGER;"
	"ALTER TABLE tweets ADD COLUMN retweet_count INTEGER NOT NULL DEFAULT 0;"
	"CREATE UNIQUE INDEX retweets_by_author ON tweets(author_id, retweet_of)"
	"  WHERE retweet_of IS NOT NULL;"
	"CREATE INDEX retweets_by_original ON tweets(retweet_of) WHERE retweet_of IS NOT NULL;",

	/* 10: entities, hashtags and trends. A tweet keeps what its text
	 * links (parsed once, when posted); hashtags index tweets by folded
	 * tag for GET /v1/hashtags/{tag}/tweets; trend_counts are counters
	 * per tag, minute and author, added to by each post, so the top tags
	 * of the last hour are read from an hour of counters, never from
	 * tweets. */
	"ALTER TABLE tweets ADD COLUMN entities TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE hashtags ("
	"  tag TEXT NOT NULL,"
	"  tweet_id INTEGER NOT NULL,"
	"  PRIMARY KEY (tag, tweet_id)) WITHOUT ROWID;"
	"CREATE INDEX hashtags_by_tweet ON hashtags(tweet_id);"
	"CREATE TABLE trend_counts ("
	"  tag TEXT NOT NULL,"
	"  minute INTEGER NOT NULL,"
	"  author_id INTEGER NOT NULL,"
	"  tweets INTEGER NOT NULL,"
	"  PRIMARY KEY (tag, minute, author_id)) WITHOUT ROWID;"
	"CREATE INDEX trend_counts_by_minute ON trend_counts(minute);",
	/* 11: blocks, mutes, notifications and avatars. A like or retweet
	 * notification is one row per (recipient, type, tweet): group_key is
	 * the tweet then, and the row's own id otherwise, so the unique index
	 * groups exactly those; a new like moves the row up (its id becomes
	 * the new event's). users.avatar is "id:w:h:type;" like tweets.media. */
	"CREATE TABLE blocks ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL,"
	"  other_id INTEGER NOT NULL,"
	"  UNIQUE (user_id, other_id));"
	"CREATE INDEX blocks_by_user ON blocks(user_id, id, other_id);"
	"CREATE INDEX blocks_by_other ON blocks(other_id, user_id);"
	"CREATE TABLE mutes ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL,"
	"  other_id INTEGER NOT NULL,"
	"  UNIQUE (user_id, other_id));"
	"CREATE INDEX mutes_by_user ON mutes(user_id, id, other_id);"
	"CREATE TABLE notifications ("
	"  id INTEGER PRIMARY KEY,"
	"  recipient_id INTEGER NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  actor_id INTEGER NOT NULL,"
	"  tweet_id INTEGER NOT NULL DEFAULT 0,"
	"  group_key INTEGER NOT NULL,"
	"  count INTEGER NOT NULL DEFAULT 1,"
	"  UNIQUE (recipient_id, type, group_key));"
	"CREATE INDEX notifications_by_recipient ON notifications(recipient_id, id);"
	"CREATE INDEX notifications_by_tweet ON notifications(tweet_id) WHERE tweet_id <> 0;"
	"ALTER TABLE users ADD COLUMN notifications_read_id INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN avatar TEXT NOT NULL DEFAULT '';",
	/* 12: e-mail addresses, media descriptions and read markers. An
	 * address is stored folded (validate_email), so equality is the
	 * case-insensitive match, on PostgreSQL alike; unique where there is
	 * one. A tweet keeps its media's descriptions as they were when it
	 * was posted (tweets.media_alt), so it still reads as one row; a
	 * media's own can change only until it is attached. A marker is one
	 * row per user and timeline (enum marker_timeline). */
	"ALTER TABLE users ADD COLUMN email TEXT;"
	"CREATE UNIQUE INDEX users_by_email ON users(email) WHERE email IS NOT NULL;"
	"ALTER TABLE media ADD COLUMN description TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE tweets ADD COLUMN media_alt TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE markers ("
	"  user_id INTEGER NOT NULL,"
	"  timeline INTEGER NOT NULL,"
	"  last_read_id INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, timeline)) WITHOUT ROWID;",
};

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int store_sqlite_migrate(sqlite3 *db, int target, struct strbuf *err)
{
	int v = user_version(db);
	if (v < 0) {
		strbuf_appendf(err, "cannot read schema version: %s", sqlite3_errmsg(db));
		return -1;
	}
	if (v > STORE_SQLITE_SCHEMA_VERSION) {
		strbuf_appendf(err, "database schema %d is newer than this chirp (%d)", v,
			       STORE_SQLITE_SCHEMA_VERSION);
		return -1;
	}
	for (; v < target; v++) {
		char *msg = NULL;
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d;", v + 1);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, bump, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			strbuf_appendf(err, "migration %d failed: %s", v + 1, msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

int store_sqlite_configure(sqlite3 *db, struct strbuf *err)
{
	char *msg = NULL;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-16000;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		strbuf_appendf(err, "configuring sqlite: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* ---- statements --------------------------------------------------------- */

#define USER_COLS                                                                                  \
	"u.id, u.handle, u.display_name, u.followers_count, u.following_count, u.tweets_count, "   \
	"u.bio, u.avatar"
#define USER_NCOLS 8
#define TWEET_COLS                                                                                 \
	"t.id, t.author_id, u.handle, u.display_name, t.text, t.media, " TWEET_OWN_COLS ", u.avatar"
/* The tweet's own columns after the text and media (read_tweet). */
#define TWEET_OWN_COLS                                                                             \
	"t.in_reply_to_id, t.in_reply_to_user_id, t.reply_count, t.like_count, t.retweet_count, "  \
	"t.retweet_of, t.retweet_of_author_id, t.entities, t.media_alt"
#define MEDIA_COLS "id, owner_id, status, claimed_type, size, parts, content_type, width, height, tweet_id, attempts, error, upload_id, description"
#define TWEET_FROM " FROM tweets t JOIN users u ON u.id = t.author_id "
#define SESSION_COLS "id, user_id, last_used_ms, device, ip"
/* Three index seeks beside the session's own, so that most readers (who
 * block and mute nobody) skip a read of their relations per page. */
#define HAS_RELATIONS                                                   \
	"(EXISTS (SELECT 1 FROM blocks WHERE user_id = s.user_id) OR"   \
	" EXISTS (SELECT 1 FROM blocks WHERE other_id = s.user_id) OR"  \
	" EXISTS (SELECT 1 FROM mutes WHERE user_id = s.user_id))"
/* Page bounds are ?2 (before) and ?3 (after), the limit is ?4. */
#define PAGE_DESC " AND t.id < ?2 AND t.id > ?3 ORDER BY t.id DESC LIMIT ?4"
#define PAGE_ASC " AND t.id < ?2 AND t.id > ?3 ORDER BY t.id ASC LIMIT ?4"
#define FPAGE_DESC " AND f.id < ?2 AND f.id > ?3 ORDER BY f.id DESC LIMIT ?4"
#define FPAGE_ASC " AND f.id < ?2 AND f.id > ?3 ORDER BY f.id ASC LIMIT ?4"
/* Ten placeholders ?d0..?d9: the id list of R_LIKED is ?100..?199. */
#define Q10(d)                                                                                     \
	"?" #d "0,?" #d "1,?" #d "2,?" #d "3,?" #d "4,?" #d "5,?" #d "6,?" #d "7,?" #d "8,?" #d "9"
#define LIKED_BATCH 100
#define LIKED_FIRST 100 /* the parameter number of the first id */
#define LIKED_RANGE_MAX 64 /* likes and retweets read from a page's id range before asking by id */
#define LIKED_IDS                                                                                  \
	"(" Q10(10) "," Q10(11) "," Q10(12) "," Q10(13) "," Q10(14) "," Q10(15) "," Q10(16) ","    \
	    Q10(17) "," Q10(18) "," Q10(19) ")"
#define FEED_WHERE                                                                                 \
	"WHERE t.author_id IN (SELECT followee_id FROM follows WHERE follower_id = ?1"             \
	" UNION ALL SELECT ?1)"

/* A notification is shown unless the recipient (?1) blocks, mutes or is
 * blocked by its actor. */
#define NOTIFS_SHOWN                                                                               \
	" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = ?1 AND b.other_id = f.actor_id)" \
	" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = f.actor_id AND b.other_id = ?1)" \
	" AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.user_id = ?1 AND m.other_id = f.actor_id)"
/* ?5 is the bit set of types wanted. */
#define NOTIFS_WHERE                                                                               \
	" FROM notifications f JOIN users u ON u.id = f.actor_id WHERE f.recipient_id = ?1"        \
	" AND (?5 >> f.type) & 1" NOTIFS_SHOWN

enum read_stmt {
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
	R_LIKED,
	R_LIKED_RANGE,
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
	R_BEGIN,
	R_COMMIT,
	R_COUNT
};

static const char *const read_sql[R_COUNT] = {
	[R_USER_BY_ID] = "SELECT " USER_COLS " FROM users u WHERE u.id = ?1",
	[R_USER_BY_HANDLE] = "SELECT " USER_COLS " FROM users u WHERE u.handle = ?1",
	[R_CREDENTIALS] = "SELECT " USER_COLS ", u.password_hash FROM users u WHERE u.handle = ?1",
	[R_SESSION] = "SELECT " SESSION_COLS ", " HAS_RELATIONS " FROM sessions s WHERE token_hash = ?1",
	[R_SESSIONS_OF] = "SELECT " SESSION_COLS " FROM sessions WHERE user_id = ?1"
			  " AND last_used_ms >= ?2 ORDER BY id DESC LIMIT ?3",
	[R_IDEM] = "SELECT fingerprint, status, body FROM idempotency WHERE scope = ?1 AND key = ?2",
	[R_TWEET] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.id = ?1",
	[R_USER_TWEETS] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.author_id = ?1" PAGE_DESC,
	[R_USER_TWEETS_ASC] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.author_id = ?1" PAGE_ASC,
	[R_FEED] = "SELECT " TWEET_COLS TWEET_FROM FEED_WHERE PAGE_DESC,
	[R_FEED_ASC] = "SELECT " TWEET_COLS TWEET_FROM FEED_WHERE PAGE_ASC,
	[R_FOLLOWERS] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id = "
			"f.follower_id WHERE f.followee_id = ?1" FPAGE_DESC,
	[R_FOLLOWERS_ASC] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id = "
			    "f.follower_id WHERE f.followee_id = ?1" FPAGE_ASC,
	[R_FOLLOWING] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id = "
			"f.followee_id WHERE f.follower_id = ?1" FPAGE_DESC,
	[R_FOLLOWING_ASC] = "SELECT f.id, " USER_COLS " FROM follows f JOIN users u ON u.id = "
			    "f.followee_id WHERE f.follower_id = ?1" FPAGE_ASC,
	[R_FOLLOWER_IDS] = "SELECT follower_id FROM follows WHERE followee_id = ?1",
	[R_FOLLOWEES] = "SELECT u.id, u.followers_count FROM follows f JOIN users u ON u.id = "
			"f.followee_id WHERE f.follower_id = ?1",
	[R_AUTHOR_IDS] = "SELECT t.id FROM tweets t WHERE t.author_id = ?1" PAGE_DESC,
	[R_TWEETS_AFTER] = "SELECT t.id, t.author_id, '', '', t.text, t.media, " TWEET_OWN_COLS ", ''"
			   " FROM tweets t WHERE t.id > ?1 AND t.retweet_of IS NULL"
			   " ORDER BY t.id LIMIT ?2",
	[R_USERS_AFTER] = "SELECT " USER_COLS " FROM users u WHERE u.id > ?1 ORDER BY u.id LIMIT ?2",
	[R_MEDIA] = "SELECT " MEDIA_COLS " FROM media WHERE id = ?1",
	[R_JOBS_DUE] = "SELECT id, media_id, attempts, run_at_ms FROM jobs WHERE state = 0 AND "
		       "run_at_ms <= ?1 ORDER BY run_at_ms, id LIMIT ?2",
	/* The reader's likes (1) and retweets (2) among the ids. */
	[R_LIKED] = "SELECT tweet_id, 1 FROM likes WHERE user_id = ?1 AND tweet_id IN " LIKED_IDS
		    " UNION ALL SELECT retweet_of, 2 FROM tweets WHERE author_id = ?1"
		    " AND retweet_of IN " LIKED_IDS,
	[R_LIKED_RANGE] = "SELECT tweet_id, 1 FROM likes WHERE user_id = ?1"
			  " AND tweet_id BETWEEN ?2 AND ?3"
			  " UNION ALL SELECT retweet_of, 2 FROM tweets WHERE author_id = ?1"
			  " AND retweet_of BETWEEN ?2 AND ?3 LIMIT ?4",
	[R_LIKED_BY] = "SELECT f.id, " USER_COLS " FROM likes f JOIN users u ON u.id = f.user_id"
		       " WHERE f.tweet_id = ?1" FPAGE_DESC,
	[R_LIKED_BY_ASC] = "SELECT f.id, " USER_COLS " FROM likes f JOIN users u ON u.id = "
			   "f.user_id WHERE f.tweet_id = ?1" FPAGE_ASC,
	/* retweets_by_original holds each retweet's id (the rowid) in order */
	[R_RETWEETED_BY] = "SELECT f.id, " USER_COLS " FROM tweets f JOIN users u ON u.id = "
			   "f.author_id WHERE f.retweet_of = ?1" FPAGE_DESC,
	[R_RETWEETED_BY_ASC] = "SELECT f.id, " USER_COLS " FROM tweets f JOIN users u ON u.id = "
			       "f.author_id WHERE f.retweet_of = ?1" FPAGE_ASC,
	[R_TWEET_EXISTS] = "SELECT 1 FROM tweets WHERE id = ?1",
	/* Up the chain, one row per step, at most ?2 of them: the last id may
	 * be a deleted tweet, where the chain ends. */
	[R_ANCESTORS] = "WITH RECURSIVE up(id, n) AS ("
			" SELECT in_reply_to_id, 1 FROM tweets WHERE id = ?1"
			" UNION ALL SELECT t.in_reply_to_id, up.n + 1"
			" FROM up JOIN tweets t ON t.id = up.id"
			" WHERE up.n < ?2)"
			" SELECT id FROM up WHERE id IS NOT NULL",
	/* Breadth first from the tweet; the recursion stops at ?2 rows, so a
	 * thread of any size costs at most ?2 index probes and steps. */
	[R_DESCENDANTS] = "WITH RECURSIVE down(id) AS ("
			  " SELECT id FROM (SELECT id FROM tweets WHERE in_reply_to_id = ?1"
			  " ORDER BY id LIMIT ?2)"
			  " UNION ALL SELECT t.id"
			  " FROM down JOIN tweets t ON t.in_reply_to_id = down.id"
			  " LIMIT ?2)"
			  " SELECT id FROM down ORDER BY id",
	[R_HASHTAG_IDS] = "SELECT tweet_id FROM hashtags WHERE tag = ?1 AND tweet_id < ?2"
			  " AND tweet_id > ?3 ORDER BY tweet_id DESC LIMIT ?4",
	[R_HASHTAG_IDS_ASC] = "SELECT tweet_id FROM hashtags WHERE tag = ?1 AND tweet_id < ?2"
			      " AND tweet_id > ?3 ORDER BY tweet_id ASC LIMIT ?4",
	/* bind_page's ?1 (an owner) is not used: every tweet is public */
	[R_PUBLIC_IDS] = "SELECT id FROM tweets WHERE id < ?2 AND id > ?3"
			 " AND retweet_of IS NULL ORDER BY id DESC LIMIT ?4",
	[R_PUBLIC_IDS_ASC] = "SELECT id FROM tweets WHERE id < ?2 AND id > ?3"
			     " AND retweet_of IS NULL ORDER BY id ASC LIMIT ?4",
	[R_TRENDS] = "SELECT tag, count(DISTINCT author_id), sum(tweets) FROM trend_counts"
		     " WHERE minute >= ?1 GROUP BY tag ORDER BY 2 DESC, 3 DESC, tag LIMIT ?2",
	[R_RELATIONS] = "SELECT * FROM (SELECT other_id, 1 FROM blocks WHERE user_id = ?1 LIMIT ?2)"
			" UNION ALL SELECT * FROM (SELECT user_id, 2 FROM blocks WHERE other_id = ?1"
			" LIMIT ?2)"
			" UNION ALL SELECT * FROM (SELECT other_id, 4 FROM mutes WHERE user_id = ?1"
			" LIMIT ?2)",
	[R_BLOCKS] = "SELECT f.id, " USER_COLS " FROM blocks f JOIN users u ON u.id = f.other_id"
		     " WHERE f.user_id = ?1" FPAGE_DESC,
	[R_BLOCKS_ASC] = "SELECT f.id, " USER_COLS " FROM blocks f JOIN users u ON u.id = f.other_id"
			 " WHERE f.user_id = ?1" FPAGE_ASC,
	[R_MUTES] = "SELECT f.id, " USER_COLS " FROM mutes f JOIN users u ON u.id = f.other_id"
		    " WHERE f.user_id = ?1" FPAGE_DESC,
	[R_MUTES_ASC] = "SELECT f.id, " USER_COLS " FROM mutes f JOIN users u ON u.id = f.other_id"
			" WHERE f.user_id = ?1" FPAGE_ASC,
	[R_NOTIFS] = "SELECT f.id, f.type, f.tweet_id, f.count, " USER_COLS NOTIFS_WHERE FPAGE_DESC,
	[R_NOTIFS_ASC] = "SELECT f.id, f.type, f.tweet_id, f.count, " USER_COLS NOTIFS_WHERE
			 FPAGE_ASC,
	[R_NOTIFS_UNREAD] = "SELECT count(*) FROM (SELECT 1 FROM notifications f WHERE"
			    " f.recipient_id = ?1 AND f.id > (SELECT notifications_read_id FROM users"
			    " WHERE id = ?1)" NOTIFS_SHOWN " LIMIT ?2)",
	[R_CREDENTIALS_BY_EMAIL] = "SELECT " USER_COLS ", u.password_hash FROM users u"
				   " WHERE u.email = ?1",
	[R_USER_EMAIL] = "SELECT coalesce(email, '') FROM users WHERE id = ?1",
	[R_MARKERS] = "SELECT timeline, last_read_id, version, updated_ms FROM markers"
		      " WHERE user_id = ?1",
	[R_BEGIN] = "BEGIN",
	[R_COMMIT] = "COMMIT",
};

enum write_stmt {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_USER_INSERT,
	W_USER_GET,
	W_SESSION_INSERT,
	W_SESSION_DELETE,
	W_SESSION_BY_ID,
	W_SESSIONS_DELETE,
	W_SESSION_TOUCH,
	W_SESSIONS_IDLE,
	W_PASSWORD_SET,
	W_TWEET_INSERT,
	W_TWEET_GET,
	W_TWEET_DELETE,
	W_TWEETS_COUNT,
	W_FOLLOW_INSERT,
	W_FOLLOW_DELETE,
	W_FOLLOWERS_COUNT,
	W_FOLLOWING_COUNT,
	W_IDEM_GET,
	W_IDEM_PUT,
	W_IDEM_SWEEP,
	W_PROBE,
	W_MEDIA_INSERT,
	W_MEDIA_GET,
	W_MEDIA_ATTACH,
	W_MEDIA_RELEASE,
	W_MEDIA_PROCESSING,
	W_MEDIA_FINISH,
	W_JOB_INSERT,
	W_JOB_DELETE,
	W_JOB_RETRY,
	W_JOB_DEAD,
	W_MEDIA_EXPIRED,
	W_MEDIA_DELETE,
	W_JOBS_OF_MEDIA_DELETE,
	W_TWEET_PARENT,
	W_REPLY_COUNT,
	W_LIKES_OF_TWEET_DELETE,
	W_LIKE_INSERT,
	W_LIKE_DELETE,
	W_LIKE_COUNT,
	W_PROFILE_UPDATE,
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
	W_BLOCK_INSERT,
	W_BLOCK_DELETE,
	W_MUTE_INSERT,
	W_MUTE_DELETE,
	W_BLOCKED_EITHER,
	W_NOTIFY,
	W_UNNOTIFY,
	W_UNNOTIFY_EMPTY,
	W_NOTIFS_OF_TWEET_DELETE,
	W_NOTIFS_READ,
	W_NOTIF_DISMISS,
	W_NOTIFS_CLEAR,
	W_LIKE_ID,
	W_EMAIL_OWNER,
	W_USER_EMAIL,
	W_MEDIA_DESCRIBE,
	W_MARKER_SET,
	W_MARKER_GET,
	W_COUNT
};

static const char *const write_sql[W_COUNT] = {
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_USER_INSERT] = "INSERT INTO users (id, handle, display_name, password_hash, email) "
			  "VALUES (?1, ?2, ?3, ?4, nullif(?5, ''))",
	[W_USER_GET] = "SELECT " USER_COLS " FROM users u WHERE u.id = ?1",
	[W_SESSION_INSERT] = "INSERT INTO sessions (token_hash, user_id, id, last_used_ms, device, ip)"
			     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[W_SESSION_DELETE] = "DELETE FROM sessions WHERE token_hash = ?1",
	[W_SESSION_BY_ID] = "SELECT token_hash FROM sessions WHERE id = ?1 AND user_id = ?2",
	[W_SESSIONS_DELETE] = "DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2",
	[W_SESSION_TOUCH] = "UPDATE sessions SET last_used_ms = ?2 WHERE token_hash = ?1"
			    " AND last_used_ms < ?3",
	[W_SESSIONS_IDLE] = "SELECT token_hash, user_id FROM sessions WHERE last_used_ms < ?1"
			    " LIMIT ?2",
	/* Only if the hash is still the one the old password was checked
	 * against: of two changes at once, the second finds it changed. */
	[W_PASSWORD_SET] = "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
	[W_TWEET_INSERT] = "INSERT INTO tweets (id, author_id, text, media, in_reply_to_id, "
			   "in_reply_to_user_id, entities, media_alt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
			   "?7, ?8)",
	[W_TWEET_GET] = "SELECT " TWEET_COLS TWEET_FROM "WHERE t.id = ?1",
	[W_TWEET_DELETE] = "DELETE FROM tweets WHERE id = ?1 AND author_id = ?2",
	[W_TWEETS_COUNT] = "UPDATE users SET tweets_count = tweets_count + ?2 WHERE id = ?1",
	[W_FOLLOW_INSERT] = "INSERT OR IGNORE INTO follows (id, follower_id, followee_id) "
			    "VALUES (?1, ?2, ?3)",
	[W_FOLLOW_DELETE] = "DELETE FROM follows WHERE follower_id = ?1 AND followee_id = ?2",
	[W_FOLLOWERS_COUNT] = "UPDATE users SET followers_count = followers_count + ?2 WHERE id = ?1",
	[W_FOLLOWING_COUNT] = "UPDATE users SET following_count = following_count + ?2 WHERE id = ?1",
	[W_IDEM_GET] = "SELECT fingerprint, status, body FROM idempotency WHERE scope = ?1 AND key = ?2",
	[W_IDEM_PUT] = "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_ms) "
		       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[W_IDEM_SWEEP] = "DELETE FROM idempotency WHERE created_ms < ?1",
	[W_PROBE] = "INSERT OR REPLACE INTO health (id, checked_ms) VALUES (1, ?1)",
	[W_MEDIA_INSERT] = "INSERT INTO media (id, owner_id, status, claimed_type, size, parts, "
			   "created_ms, upload_id, description) VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, "
			   "?8)",
	[W_MEDIA_GET] = "SELECT " MEDIA_COLS " FROM media WHERE id = ?1",
	[W_MEDIA_ATTACH] = "UPDATE media SET tweet_id = ?2 WHERE id = ?1",
	[W_MEDIA_RELEASE] = "UPDATE media SET tweet_id = NULL, status = 4 WHERE tweet_id = ?1",
	[W_MEDIA_PROCESSING] = "UPDATE media SET status = 1 WHERE id = ?1",
	[W_MEDIA_FINISH] = "UPDATE media SET status = ?2, content_type = ?3, width = ?4, height = ?5,"
			   " attempts = ?6, error = ?7 WHERE id = ?1",
	[W_JOB_INSERT] = "INSERT INTO jobs (id, media_id, run_at_ms) VALUES (?1, ?2, ?3)",
	[W_JOB_DELETE] = "DELETE FROM jobs WHERE id = ?1",
	[W_JOB_RETRY] = "UPDATE jobs SET attempts = ?2, run_at_ms = ?3, last_error = ?4 WHERE id = ?1",
	[W_JOB_DEAD] = "UPDATE jobs SET attempts = ?2, state = 1, last_error = ?3 WHERE id = ?1",
	/* Unattached media older than the cutoff (except those still being
	 * processed), and released ones. */
	[W_MEDIA_EXPIRED] = "SELECT id, parts FROM media WHERE (tweet_id IS NULL AND created_ms < ?1"
			    " AND status <> 1) OR status = 4 LIMIT ?2",
	[W_MEDIA_DELETE] = "DELETE FROM media WHERE id = ?1",
	[W_JOBS_OF_MEDIA_DELETE] = "DELETE FROM jobs WHERE media_id = ?1",
	[W_TWEET_PARENT] = "SELECT in_reply_to_id, retweet_of FROM tweets WHERE id = ?1"
			   " AND author_id = ?2",
	[W_REPLY_COUNT] = "UPDATE tweets SET reply_count = reply_count + ?2 WHERE id = ?1",
	[W_LIKES_OF_TWEET_DELETE] = "DELETE FROM likes WHERE tweet_id = ?1",
	[W_LIKE_INSERT] = "INSERT OR IGNORE INTO likes (id, user_id, tweet_id) VALUES (?1, ?2, ?3)",
	[W_LIKE_DELETE] = "DELETE FROM likes WHERE user_id = ?1 AND tweet_id = ?2",
	[W_LIKE_COUNT] = "UPDATE tweets SET like_count = like_count + ?2 WHERE id = ?1",
	/* A NULL parameter leaves its field as it is. */
	/* A NULL parameter leaves its field as it is; email '' removes it. */
	[W_PROFILE_UPDATE] = "UPDATE users SET display_name = coalesce(?2, display_name),"
			     " bio = coalesce(?3, bio), avatar = coalesce(?4, avatar),"
			     " email = CASE WHEN ?5 IS NULL THEN email ELSE nullif(?5, '') END"
			     " WHERE id = ?1",
	[W_RETWEET_INSERT] = "INSERT OR IGNORE INTO tweets (id, author_id, text, retweet_of,"
			     " retweet_of_author_id) VALUES (?1, ?2, '', ?3, ?4)",
	[W_RETWEET_FIND] = "SELECT id FROM tweets WHERE author_id = ?1 AND retweet_of = ?2",
	[W_RETWEET_DELETE] = "DELETE FROM tweets WHERE author_id = ?1 AND retweet_of = ?2",
	[W_RETWEET_COUNT] = "UPDATE tweets SET retweet_count = retweet_count + ?2 WHERE id = ?1",
	[W_RETWEETS_OF_DELETE] = "DELETE FROM tweets WHERE retweet_of = ?1",
	[W_VIEWER_ONE] = "SELECT EXISTS (SELECT 1 FROM likes WHERE user_id = ?1 AND tweet_id = ?2),"
			 " EXISTS (SELECT 1 FROM tweets WHERE author_id = ?1 AND retweet_of = ?2)",
	[W_HANDLE_ID] = "SELECT id, handle FROM users WHERE handle = ?1",
	[W_HASHTAG_INSERT] = "INSERT OR IGNORE INTO hashtags (tag, tweet_id) VALUES (?1, ?2)",
	[W_HASHTAGS_OF_DELETE] = "DELETE FROM hashtags WHERE tweet_id = ?1",
	[W_TREND_ADD] = "INSERT INTO trend_counts (tag, minute, author_id, tweets) VALUES (?1, ?2, ?3, 1)"
			" ON CONFLICT (tag, minute, author_id) DO UPDATE SET tweets = tweets + 1",
	[W_TRENDS_SWEEP] = "DELETE FROM trend_counts WHERE minute < ?1",
	[W_BLOCK_INSERT] = "INSERT OR IGNORE INTO blocks (id, user_id, other_id) VALUES (?1, ?2, ?3)",
	[W_BLOCK_DELETE] = "DELETE FROM blocks WHERE user_id = ?1 AND other_id = ?2",
	[W_MUTE_INSERT] = "INSERT OR IGNORE INTO mutes (id, user_id, other_id) VALUES (?1, ?2, ?3)",
	[W_MUTE_DELETE] = "DELETE FROM mutes WHERE user_id = ?1 AND other_id = ?2",
	[W_BLOCKED_EITHER] = "SELECT 1 FROM blocks WHERE (user_id = ?1 AND other_id = ?2)"
			     " OR (user_id = ?2 AND other_id = ?1)",
	/* ?6 is the group: the tweet for likes and retweets, else ?1. */
	[W_NOTIFY] = "INSERT INTO notifications (id, recipient_id, type, actor_id, tweet_id, group_key)"
		     " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (recipient_id, type, group_key)"
		     " DO UPDATE SET id = excluded.id, actor_id = excluded.actor_id,"
		     " count = count + 1",
	/* One actor fewer in a group; a like's group shows its latest liker. */
	[W_UNNOTIFY] = "UPDATE notifications SET count = count - 1, actor_id = coalesce(CASE ?2"
		       " WHEN 3 THEN (SELECT user_id FROM likes WHERE tweet_id = ?3 AND user_id <> ?1"
		       " ORDER BY id DESC LIMIT 1)"
		       " WHEN 4 THEN (SELECT author_id FROM tweets WHERE retweet_of = ?3"
		       " AND author_id <> ?1 ORDER BY id DESC LIMIT 1) END, actor_id)"
		       " WHERE recipient_id = ?1 AND type = ?2 AND group_key = ?3",
	[W_UNNOTIFY_EMPTY] = "DELETE FROM notifications WHERE recipient_id = ?1 AND type = ?2"
			     " AND group_key = ?3 AND count <= 0",
	[W_NOTIFS_OF_TWEET_DELETE] = "DELETE FROM notifications WHERE tweet_id = ?1",
	[W_NOTIFS_READ] = "UPDATE users SET notifications_read_id = ?2 WHERE id = ?1",
	[W_NOTIF_DISMISS] = "DELETE FROM notifications WHERE recipient_id = ?1 AND id = ?2",
	[W_NOTIFS_CLEAR] = "DELETE FROM notifications WHERE recipient_id = ?1",
	[W_LIKE_ID] = "SELECT id FROM likes WHERE user_id = ?1 AND tweet_id = ?2",
	[W_EMAIL_OWNER] = "SELECT id FROM users WHERE email = ?1",
	[W_USER_EMAIL] = "SELECT coalesce(email, '') FROM users WHERE id = ?1",
	[W_MEDIA_DESCRIBE] = "UPDATE media SET description = ?2 WHERE id = ?1",
	[W_MARKER_SET] = "INSERT INTO markers (user_id, timeline, last_read_id, version, updated_ms)"
			 " VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (user_id, timeline) DO UPDATE"
			 " SET last_read_id = excluded.last_read_id, version = version + 1,"
			 " updated_ms = excluded.updated_ms",
	[W_MARKER_GET] = "SELECT version FROM markers WHERE user_id = ?1 AND timeline = ?2",
};

/* ---- the store and its readers ----------------------------------------- */

struct sqlite_store {
	struct store base;
	char *path;
	const char *vfs; /* the connections' VFS: NULL, or "unix-excl" (sqlite_store_open) */
	struct idgen ids;

	sqlite3 *wdb; /* the writer's connection; used only by the writer thread */
	sqlite3_stmt *w[W_COUNT];
	uint64_t last_sweep_ms;

	pthread_t writer;
	struct bqueue queue;      /* writes waiting for the writer */
	pthread_mutex_t lock;     /* guards stats */
	struct store_stats stats;
	int lock_fd;              /* flock on the data dir's chirp.lock */
};

struct sqlite_reader {
	struct store_reader base;
	sqlite3 *db;
	sqlite3_stmt *st[R_COUNT]; /* prepared on first use */
};

static int64_t clamp63(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Copies a text column into dst[cap], truncating (never overflowing). */
static size_t column_copy(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if (n >= cap)
		n = cap - 1;
	if (s && n)
		memcpy(dst, s, n);
	dst[n] = '\0';
	return n;
}

static void read_user(sqlite3_stmt *st, int col, struct user *u)
{
	u->id = (uint64_t)sqlite3_column_int64(st, col);
	column_copy(st, col + 1, u->handle, sizeof(u->handle));
	column_copy(st, col + 2, u->display_name, sizeof(u->display_name));
	u->followers_count = (uint64_t)sqlite3_column_int64(st, col + 3);
	u->following_count = (uint64_t)sqlite3_column_int64(st, col + 4);
	u->tweets_count = (uint64_t)sqlite3_column_int64(st, col + 5);
	column_copy(st, col + 6, u->bio, sizeof(u->bio));
	memset(&u->avatar, 0, sizeof(u->avatar));
	store_media_ref_parse((const char *)sqlite3_column_text(st, col + 7), &u->avatar);
}

/* tweets.media: "id:width:height:type;" for each attached media. */
static void parse_tweet_media(const char *s, struct tweet *t)
{
	t->media_n = 0;
	while (s && *s && t->media_n < MEDIA_PER_TWEET_MAX &&
	       (s = store_media_ref_parse(s, &t->media[t->media_n])))
		t->media_n++;
}

static void read_tweet(sqlite3_stmt *st, struct tweet *t)
{
	t->id = (uint64_t)sqlite3_column_int64(st, 0);
	t->author_id = (uint64_t)sqlite3_column_int64(st, 1);
	column_copy(st, 2, t->author_handle, sizeof(t->author_handle));
	column_copy(st, 3, t->author_display_name, sizeof(t->author_display_name));
	t->text_len = column_copy(st, 4, t->text, sizeof(t->text));
	parse_tweet_media((const char *)sqlite3_column_text(st, 5), t);
	t->in_reply_to_id = (uint64_t)sqlite3_column_int64(st, 6); /* NULL reads as 0 */
	t->in_reply_to_user_id = (uint64_t)sqlite3_column_int64(st, 7);
	t->reply_count = (uint64_t)sqlite3_column_int64(st, 8);
	t->like_count = (uint64_t)sqlite3_column_int64(st, 9);
	t->retweet_count = (uint64_t)sqlite3_column_int64(st, 10);
	t->retweet_of = (uint64_t)sqlite3_column_int64(st, 11);
	t->retweet_of_author_id = (uint64_t)sqlite3_column_int64(st, 12);
	entities_decode((const char *)sqlite3_column_text(st, 13), &t->entities);
	column_copy(st, 14, t->media_alt, sizeof(t->media_alt));
	t->author_avatar = (struct media_ref){0};
	store_media_ref_parse((const char *)sqlite3_column_text(st, 15), &t->author_avatar);
}

static void read_media(sqlite3_stmt *st, struct media *m)
{
	memset(m, 0, sizeof(*m));
	m->id = (uint64_t)sqlite3_column_int64(st, 0);
	m->owner_id = (uint64_t)sqlite3_column_int64(st, 1);
	m->status = (enum media_status)sqlite3_column_int(st, 2);
	column_copy(st, 3, m->claimed_type, sizeof(m->claimed_type));
	m->size = (uint64_t)sqlite3_column_int64(st, 4);
	m->parts = (unsigned)sqlite3_column_int(st, 5);
	m->out.id = m->id;
	column_copy(st, 6, m->out.content_type, sizeof(m->out.content_type));
	m->out.width = (uint32_t)sqlite3_column_int(st, 7);
	m->out.height = (uint32_t)sqlite3_column_int(st, 8);
	m->tweet_id = (uint64_t)sqlite3_column_int64(st, 9);
	m->attempts = (unsigned)sqlite3_column_int(st, 10);
	column_copy(st, 11, m->error, sizeof(m->error));
	column_copy(st, 12, m->upload_id, sizeof(m->upload_id));
	column_copy(st, 13, m->description, sizeof(m->description));
}

static sqlite3_stmt *reader_stmt(struct sqlite_reader *r, enum read_stmt which)
{
	if (!r->st[which] && sqlite3_prepare_v3(r->db, read_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
						&r->st[which], NULL) != SQLITE_OK)
		die("sqlite: preparing '%s': %s", read_sql[which], sqlite3_errmsg(r->db));
	return r->st[which];
}

/* Steps a one-row query; returns 0 with the row ready, or a STORE_ code
 * (the statement is then already reset). */
static int step_one(sqlite3 *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		log_error("sqlite: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

static int finish_list(sqlite3 *db, sqlite3_stmt *st, int rc)
{
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("sqlite: %s", sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	return STORE_OK;
}

static struct store_reader *sqlite_reader_new(struct store *s)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	struct sqlite_reader *r = xcalloc(1, sizeof(*r));
	r->base.ops = &store_sqlite_ops;
	if (sqlite3_open_v2(ss->path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, ss->vfs) !=
	    SQLITE_OK)
		die("sqlite: opening reader: %s", sqlite3_errmsg(r->db));
	sqlite3_busy_timeout(r->db, 5000);
	/* Reads map the file instead of copying pages through read(): the
	 * feed's cold paths (timeline rebuilds, follower lists for fanout)
	 * touch many pages of a large database. */
	sqlite3_exec(r->db, "PRAGMA query_only=1; PRAGMA cache_size=-16000; PRAGMA mmap_size=" MMAP_BYTES,
		     NULL, NULL, NULL);
	return &r->base;
}

static void sqlite_reader_free(struct store_reader *base)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	if (!r)
		return;
	for (int i = 0; i < R_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close(r->db);
	free(r);
}

/* A request's reads on a loop as one read transaction: SQLite takes the
 * WAL read lock (an fcntl on the -shm file, and an fstat) once for all of
 * them, not once per statement, and they see one snapshot. BEGIN is
 * deferred: nothing is locked until the first read. */
static void run_control(struct sqlite_reader *r, enum read_stmt which)
{
	sqlite3_stmt *st = reader_stmt(r, which);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("sqlite: %s: %s", read_sql[which], sqlite3_errmsg(r->db));
	sqlite3_reset(st);
}

static void sqlite_read_begin(struct store_reader *base)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	if (sqlite3_get_autocommit(r->db))
		run_control(r, R_BEGIN);
}

static void sqlite_read_end(struct store_reader *base)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	if (!sqlite3_get_autocommit(r->db))
		run_control(r, R_COMMIT);
}

static int get_user(struct sqlite_reader *r, enum read_stmt which, struct user *out,
		    int (*bind)(sqlite3_stmt *, const void *), const void *key, char *hash)
{
	sqlite3_stmt *st = reader_stmt(r, which);
	bind(st, key);
	int rc = step_one(r->db, st);
	if (rc == 0) {
		read_user(st, 0, out);
		if (hash)
			column_copy(st, USER_NCOLS, hash, PWHASH_MAX);
		sqlite3_reset(st);
	}
	return rc;
}

static int bind_id(sqlite3_stmt *st, const void *key)
{
	return sqlite3_bind_int64(st, 1, clamp63(*(const uint64_t *)key));
}

static int bind_text(sqlite3_stmt *st, const void *key)
{
	return sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
}

static int sqlite_user_get(struct store_reader *r, uint64_t id, struct user *out)
{
	return get_user((struct sqlite_reader *)r, R_USER_BY_ID, out, bind_id, &id, NULL);
}

static int sqlite_user_get_by_handle(struct store_reader *r, const char *handle, struct user *out)
{
	return get_user((struct sqlite_reader *)r, R_USER_BY_HANDLE, out, bind_text, handle, NULL);
}

static int sqlite_user_credentials(struct store_reader *r, const char *handle, struct user *out,
				   char *hash)
{
	return get_user((struct sqlite_reader *)r, R_CREDENTIALS, out, bind_text, handle, hash);
}

static int sqlite_user_credentials_by_email(struct store_reader *r, const char *email,
					    struct user *out, char *hash)
{
	return get_user((struct sqlite_reader *)r, R_CREDENTIALS_BY_EMAIL, out, bind_text, email,
			hash);
}

static int sqlite_user_email(struct store_reader *base, uint64_t user_id, char *email)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_USER_EMAIL);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	int rc = step_one(r->db, st);
	if (rc == 0) {
		column_copy(st, 0, email, EMAIL_MAX + 1);
		sqlite3_reset(st);
	}
	return rc;
}

static int sqlite_markers(struct store_reader *base, uint64_t user_id,
			  struct marker out[MARKER_TIMELINE_COUNT])
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	memset(out, 0, MARKER_TIMELINE_COUNT * sizeof(*out));
	sqlite3_stmt *st = reader_stmt(r, R_MARKERS);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int t = sqlite3_column_int(st, 0);
		if (t < 0 || t >= MARKER_TIMELINE_COUNT)
			continue; /* a timeline of a newer chirp */
		out[t].last_read_id = (uint64_t)sqlite3_column_int64(st, 1);
		out[t].version = (uint64_t)sqlite3_column_int64(st, 2);
		out[t].updated_ms = (uint64_t)sqlite3_column_int64(st, 3);
	}
	return finish_list(r->db, st, rc);
}

static void read_session(sqlite3_stmt *st, struct session *out)
{
	out->id = (uint64_t)sqlite3_column_int64(st, 0);
	out->user_id = (uint64_t)sqlite3_column_int64(st, 1);
	out->last_used_ms = (uint64_t)sqlite3_column_int64(st, 2);
	column_copy(st, 3, out->device, sizeof(out->device));
	column_copy(st, 4, out->ip, sizeof(out->ip));
	out->has_relations = false;
}

static int sqlite_session_get(struct store_reader *base, const uint8_t *token_hash,
			      struct session *out)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_SESSION);
	sqlite3_bind_blob(st, 1, token_hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	int rc = step_one(r->db, st);
	if (rc == 0) {
		read_session(st, out);
		out->has_relations = sqlite3_column_int(st, 5) != 0;
		sqlite3_reset(st);
	}
	return rc;
}

static int sqlite_sessions_of(struct store_reader *base, uint64_t user_id, uint64_t used_since_ms,
			      struct session *out, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_SESSIONS_OF);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	sqlite3_bind_int64(st, 2, clamp63(used_since_ms));
	sqlite3_bind_int(st, 3, SESSION_LIST_MAX);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < SESSION_LIST_MAX)
		read_session(st, &out[(*n)++]);
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return finish_list(r->db, st, rc);
}

/* Reads an idempotency row from a statement bound and stepped to a row. */
static void read_idem(sqlite3_stmt *st, struct store_idem_record *out)
{
	memset(out->fingerprint, 0, sizeof(out->fingerprint));
	size_t n = (size_t)sqlite3_column_bytes(st, 0);
	memcpy(out->fingerprint, sqlite3_column_blob(st, 0),
	       n < sizeof(out->fingerprint) ? n : sizeof(out->fingerprint));
	out->status = sqlite3_column_int(st, 1);
	strbuf_append(&out->body, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
}

static int idem_lookup(sqlite3 *db, sqlite3_stmt *st, uint64_t scope, const char *key,
		       struct store_idem_record *out)
{
	sqlite3_bind_int64(st, 1, clamp63(scope));
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	int rc = step_one(db, st);
	if (rc == 0) {
		read_idem(st, out);
		sqlite3_reset(st);
	}
	return rc;
}

static int sqlite_idem_get(struct store_reader *base, uint64_t scope, const char *key,
			   struct store_idem_record *out)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	return idem_lookup(r->db, reader_stmt(r, R_IDEM), scope, key, out);
}

static int sqlite_tweet_get(struct store_reader *base, uint64_t id, struct tweet *out)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_TWEET);
	sqlite3_bind_int64(st, 1, clamp63(id));
	int rc = step_one(r->db, st);
	if (rc == 0) {
		read_tweet(st, out);
		sqlite3_reset(st);
	}
	return rc;
}

static void bind_page(sqlite3_stmt *st, uint64_t owner, const struct store_page *p)
{
	sqlite3_bind_int64(st, 1, clamp63(owner));
	sqlite3_bind_int64(st, 2, clamp63(p->before));
	sqlite3_bind_int64(st, 3, clamp63(p->after));
	sqlite3_bind_int(st, 4, (int)p->limit);
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

static int tweet_list(struct sqlite_reader *r, enum read_stmt desc, enum read_stmt asc,
		      uint64_t owner, const struct store_page *p, struct tweet *out, size_t *n)
{
	sqlite3_stmt *st = reader_stmt(r, p->oldest_first ? asc : desc);
	bind_page(st, owner, p);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < p->limit)
		read_tweet(st, &out[(*n)++]);
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	if (p->oldest_first)
		REVERSE(out, *n, struct tweet);
	return finish_list(r->db, st, rc);
}

static int sqlite_user_tweets(struct store_reader *base, uint64_t user_id,
			      const struct store_page *p, struct tweet *out, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	struct user u;
	int rc = sqlite_user_get(base, user_id, &u);
	if (rc)
		return rc;
	return tweet_list(r, R_USER_TWEETS, R_USER_TWEETS_ASC, user_id, p, out, n);
}

static int sqlite_home_feed(struct store_reader *base, uint64_t user_id, const struct store_page *p,
			    struct tweet *out, size_t *n)
{
	return tweet_list((struct sqlite_reader *)base, R_FEED, R_FEED_ASC, user_id, p, out, n);
}

/* A page of users, each with the id of the row that lists them (a follow,
 * a like) as the cursor. */
static int entry_list(struct sqlite_reader *r, enum read_stmt desc, enum read_stmt asc,
		      uint64_t user_id, const struct store_page *p, struct follow_entry *out,
		      size_t *n)
{
	int rc;
	sqlite3_stmt *st = reader_stmt(r, p->oldest_first ? asc : desc);
	bind_page(st, user_id, p);
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < p->limit) {
		out[*n].follow_id = (uint64_t)sqlite3_column_int64(st, 0);
		read_user(st, 1, &out[*n].user);
		(*n)++;
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	if (p->oldest_first)
		REVERSE(out, *n, struct follow_entry);
	return finish_list(r->db, st, rc);
}

static int follow_list(struct sqlite_reader *r, enum read_stmt desc, enum read_stmt asc,
		       uint64_t user_id, const struct store_page *p, struct follow_entry *out,
		       size_t *n)
{
	struct user u;
	int rc = sqlite_user_get(&r->base, user_id, &u);
	if (rc)
		return rc;
	return entry_list(r, desc, asc, user_id, p, out, n);
}

static int tweet_exists(struct sqlite_reader *r, uint64_t id)
{
	sqlite3_stmt *st = reader_stmt(r, R_TWEET_EXISTS);
	sqlite3_bind_int64(st, 1, clamp63(id));
	int rc = step_one(r->db, st);
	if (rc == 0)
		sqlite3_reset(st);
	return rc;
}

/* Who liked or retweeted a tweet that exists: a page of `desc` or `asc`. */
static int tweet_actors(struct store_reader *base, enum read_stmt desc, enum read_stmt asc,
			uint64_t tweet_id, const struct store_page *p, struct follow_entry *out,
			size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	*n = 0;
	int rc = tweet_exists(r, tweet_id);
	if (rc)
		return rc;
	return entry_list(r, desc, asc, tweet_id, p, out, n);
}

static int sqlite_liked_by(struct store_reader *base, uint64_t tweet_id,
			   const struct store_page *p, struct follow_entry *out, size_t *n)
{
	return tweet_actors(base, R_LIKED_BY, R_LIKED_BY_ASC, tweet_id, p, out, n);
}

static int sqlite_retweeted_by(struct store_reader *base, uint64_t tweet_id,
			       const struct store_page *p, struct follow_entry *out, size_t *n)
{
	return tweet_actors(base, R_RETWEETED_BY, R_RETWEETED_BY_ASC, tweet_id, p, out, n);
}

/* Adds `bit` to state[i] for each ids[i] equal to `id`. The ids of a page
 * are few (100 at most), so matching a row back to its place is a scan. */
static void mark_state(const uint64_t *ids, size_t n, uint64_t id, uint8_t bit, uint8_t *state)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			state[i] |= bit;
}

/* Steps through rows of (tweet id, VIEWER_* bit) into state; counts them. */
static int read_state(struct sqlite_reader *r, sqlite3_stmt *st, const uint64_t *ids, size_t n,
		      uint8_t *state, size_t *rows)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		mark_state(ids, n, (uint64_t)sqlite3_column_int64(st, 0),
			   (uint8_t)sqlite3_column_int(st, 1), state);
		(*rows)++;
	}
	return finish_list(r->db, st, rc);
}

/*
 * Two ways to ask, cheapest first. Most readers have few likes and
 * retweets among the tweets of a page's time span (a feed page covers
 * minutes or hours), so two seeks and a short scan of the reader's likes
 * and retweets between the page's lowest and highest id answer the whole
 * page; a reader without any costs two seeks. Only when that range holds
 * more than LIKED_RANGE_MAX of them (a heavy liker, or a search page
 * spread over years) are the ids asked one by one, LIKED_BATCH per query:
 * a statement of placeholders (a page is one query), the unused ones left
 * NULL, which match nothing.
 */
static int sqlite_viewer_state(struct store_reader *base, uint64_t user_id, const uint64_t *ids,
			       size_t n, uint8_t *state)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		state[i] = 0;
		lo = ids[i] < lo ? ids[i] : lo;
		hi = ids[i] > hi ? ids[i] : hi;
	}
	if (!n)
		return STORE_OK;
	sqlite3_stmt *st = reader_stmt(r, R_LIKED_RANGE);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	sqlite3_bind_int64(st, 2, clamp63(lo));
	sqlite3_bind_int64(st, 3, clamp63(hi));
	sqlite3_bind_int(st, 4, LIKED_RANGE_MAX);
	size_t rows = 0;
	int rc = read_state(r, st, ids, n, state, &rows);
	if (rc || rows < LIKED_RANGE_MAX)
		return rc;
	for (size_t i = 0; i < n; i++)
		state[i] = 0;
	st = reader_stmt(r, R_LIKED);
	for (size_t at = 0; at < n; at += LIKED_BATCH) {
		size_t k = n - at < LIKED_BATCH ? n - at : LIKED_BATCH;
		sqlite3_bind_int64(st, 1, clamp63(user_id));
		for (size_t i = 0; i < k; i++)
			sqlite3_bind_int64(st, LIKED_FIRST + (int)i, clamp63(ids[at + i]));
		rc = read_state(r, st, ids + at, k, state + at, &rows);
		sqlite3_clear_bindings(st);
		if (rc)
			return rc;
	}
	return STORE_OK;
}

static int sqlite_engagements_since(struct store_reader *base, uint64_t user_id,
				    uint64_t since_id, uint64_t *ids, uint8_t *bits, size_t max,
				    size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_LIKED_RANGE);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	sqlite3_bind_int64(st, 2, clamp63(since_id));
	sqlite3_bind_int64(st, 3, INT64_MAX);
	sqlite3_bind_int64(st, 4, (int64_t)max + 1);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) { /* LIMIT max + 1 */
		ids[*n] = (uint64_t)sqlite3_column_int64(st, 0);
		bits[(*n)++] = (uint8_t)sqlite3_column_int(st, 1);
	}
	return finish_list(r->db, st, rc);
}

static bool sqlite_snapshot_open(struct store_reader *base)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	return sqlite3_txn_state(r->db, "main") != SQLITE_TXN_NONE;
}

/* Reads the one-column id result of `which` bound to (id, max). */
static int id_walk(struct sqlite_reader *r, enum read_stmt which, uint64_t id, size_t max,
		   uint64_t *ids, size_t *n)
{
	sqlite3_stmt *st = reader_stmt(r, which);
	sqlite3_bind_int64(st, 1, clamp63(id));
	sqlite3_bind_int64(st, 2, (int64_t)max);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return finish_list(r->db, st, rc);
}

static int sqlite_ancestor_ids(struct store_reader *base, uint64_t tweet_id, size_t max,
			       uint64_t *ids, size_t *n)
{
	return id_walk((struct sqlite_reader *)base, R_ANCESTORS, tweet_id, max, ids, n);
}

static int sqlite_descendant_ids(struct store_reader *base, uint64_t tweet_id, size_t max,
				 uint64_t *ids, size_t *n)
{
	return id_walk((struct sqlite_reader *)base, R_DESCENDANTS, tweet_id, max, ids, n);
}

/* The ids of a bound page statement (column 0), newest first. */
static int page_of_ids(struct sqlite_reader *r, sqlite3_stmt *st, const struct store_page *p,
		       uint64_t *ids, size_t *n)
{
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < p->limit)
		ids[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	if (p->oldest_first)
		REVERSE(ids, *n, uint64_t);
	return finish_list(r->db, st, rc);
}

static int sqlite_hashtag_tweet_ids(struct store_reader *base, const char *tag,
				    const struct store_page *p, uint64_t *ids, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, p->oldest_first ? R_HASHTAG_IDS_ASC : R_HASHTAG_IDS);
	bind_page(st, 0, p);
	sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
	return page_of_ids(r, st, p, ids, n);
}

static int sqlite_public_tweet_ids(struct store_reader *base, const struct store_page *p,
				   uint64_t *ids, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, p->oldest_first ? R_PUBLIC_IDS_ASC : R_PUBLIC_IDS);
	bind_page(st, 0, p);
	return page_of_ids(r, st, p, ids, n);
}

static int sqlite_trends(struct store_reader *base, uint64_t since_ms, struct store_trend *out,
			 size_t max, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_TRENDS);
	sqlite3_bind_int64(st, 1, (int64_t)(since_ms / 60000));
	sqlite3_bind_int64(st, 2, (int64_t)max);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		column_copy(st, 0, out[*n].tag, sizeof(out[*n].tag));
		out[*n].authors = (uint64_t)sqlite3_column_int64(st, 1);
		out[*n].tweets = (uint64_t)sqlite3_column_int64(st, 2);
		(*n)++;
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return finish_list(r->db, st, rc);
}

static int sqlite_followers(struct store_reader *r, uint64_t user_id, const struct store_page *p,
			    struct follow_entry *out, size_t *n)
{
	return follow_list((struct sqlite_reader *)r, R_FOLLOWERS, R_FOLLOWERS_ASC, user_id, p, out,
			   n);
}

static int sqlite_following(struct store_reader *r, uint64_t user_id, const struct store_page *p,
			    struct follow_entry *out, size_t *n)
{
	return follow_list((struct sqlite_reader *)r, R_FOLLOWING, R_FOLLOWING_ASC, user_id, p, out,
			   n);
}

static int sqlite_blocks(struct store_reader *r, uint64_t user_id, const struct store_page *p,
			 struct follow_entry *out, size_t *n)
{
	return entry_list((struct sqlite_reader *)r, R_BLOCKS, R_BLOCKS_ASC, user_id, p, out, n);
}

static int sqlite_mutes(struct store_reader *r, uint64_t user_id, const struct store_page *p,
			struct follow_entry *out, size_t *n)
{
	return entry_list((struct sqlite_reader *)r, R_MUTES, R_MUTES_ASC, user_id, p, out, n);
}

static int sqlite_notifications(struct store_reader *base, uint64_t user_id,
				const struct store_page *p, unsigned types,
				struct notification *out, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	int rc;
	sqlite3_stmt *st = reader_stmt(r, p->oldest_first ? R_NOTIFS_ASC : R_NOTIFS);
	bind_page(st, user_id, p);
	sqlite3_bind_int(st, 5, (int)types);
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < p->limit) {
		struct notification *o = &out[*n];
		o->id = (uint64_t)sqlite3_column_int64(st, 0);
		o->type = (enum notification_type)sqlite3_column_int(st, 1);
		o->tweet_id = (uint64_t)sqlite3_column_int64(st, 2);
		o->count = (uint64_t)sqlite3_column_int64(st, 3);
		read_user(st, 4, &o->actor);
		(*n)++;
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	if (p->oldest_first)
		REVERSE(out, *n, struct notification);
	return finish_list(r->db, st, rc);
}

static int sqlite_notifications_unread(struct store_reader *base, uint64_t user_id,
				       uint64_t *count)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_NOTIFS_UNREAD);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	sqlite3_bind_int(st, 2, NOTIF_UNREAD_MAX);
	int rc = step_one(r->db, st);
	if (rc)
		return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
	*count = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return STORE_OK;
}

/* Collects a one-column (or two-column) result of unknown length into a
 * growing malloc'd array of `width` uint64 per row. */
static int collect_u64(struct sqlite_reader *r, sqlite3_stmt *st, int width, uint64_t **out,
		       size_t *n)
{
	size_t cap = 64;
	uint64_t *v = xmalloc(cap * width * sizeof(*v));
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap *= 2;
			v = xrealloc(v, cap * width * sizeof(*v));
		}
		for (int k = 0; k < width; k++)
			v[*n * width + k] = (uint64_t)sqlite3_column_int64(st, k);
		(*n)++;
	}
	rc = finish_list(r->db, st, rc);
	if (rc) {
		free(v);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return rc;
}

static int sqlite_relations(struct store_reader *base, uint64_t user_id,
			    struct store_relation **out, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_RELATIONS);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	sqlite3_bind_int(st, 2, RELATIONS_MAX);
	uint64_t *pairs;
	size_t k;
	int rc = collect_u64(r, st, 2, &pairs, &k);
	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	store_relations_merge(pairs, k, out, n);
	free(pairs);
	return STORE_OK;
}

static int sqlite_follower_ids(struct store_reader *base, uint64_t user_id, uint64_t **ids,
			       size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_FOLLOWER_IDS);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	return collect_u64(r, st, 1, ids, n);
}

static int sqlite_followees(struct store_reader *base, uint64_t user_id,
			    struct store_followee **out, size_t *n)
{
	_Static_assert(sizeof(struct store_followee) == 2 * sizeof(uint64_t), "two u64 per row");
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_FOLLOWEES);
	sqlite3_bind_int64(st, 1, clamp63(user_id));
	uint64_t *rows;
	int rc = collect_u64(r, st, 2, &rows, n);
	*out = (struct store_followee *)rows;
	return rc;
}

static int sqlite_author_tweet_ids(struct store_reader *base, uint64_t author_id,
				   const struct store_page *p, uint64_t *ids, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_AUTHOR_IDS);
	bind_page(st, author_id, p);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < p->limit)
		ids[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return finish_list(r->db, st, rc);
}

static int sqlite_tweets_after(struct store_reader *base, uint64_t after, unsigned limit,
			       struct tweet *out, uint64_t *cursors, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_TWEETS_AFTER);
	sqlite3_bind_int64(st, 1, clamp63(after));
	sqlite3_bind_int(st, 2, (int)limit);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < limit) {
		read_tweet(st, &out[*n]);
		cursors[*n] = out[*n].id; /* one writer: ids grow in commit order */
		(*n)++;
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return finish_list(r->db, st, rc);
}

static int sqlite_users_after(struct store_reader *base, uint64_t after, unsigned limit,
			      struct user *out, uint64_t *cursors, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_USERS_AFTER);
	sqlite3_bind_int64(st, 1, clamp63(after));
	sqlite3_bind_int(st, 2, (int)limit);
	int rc;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < limit) {
		read_user(st, 0, &out[*n]);
		cursors[*n] = out[*n].id;
		(*n)++;
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return finish_list(r->db, st, rc);
}

static int sqlite_media_get(struct store_reader *base, uint64_t id, struct media *out)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_MEDIA);
	if (!st)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, clamp63(id));
	int rc = step_one(r->db, st);
	if (rc == 0) {
		read_media(st, out);
		sqlite3_reset(st);
	}
	return rc;
}

static int sqlite_job_due(struct store_reader *base, uint64_t now_ms, struct store_job *out,
			  size_t max, size_t *n)
{
	struct sqlite_reader *r = (struct sqlite_reader *)base;
	sqlite3_stmt *st = reader_stmt(r, R_JOBS_DUE);
	*n = 0;
	if (!st)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, clamp63(now_ms));
	sqlite3_bind_int64(st, 2, (int64_t)max);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct store_job *j = &out[(*n)++];
		j->id = (uint64_t)sqlite3_column_int64(st, 0);
		j->media_id = (uint64_t)sqlite3_column_int64(st, 1);
		j->attempts = (unsigned)sqlite3_column_int(st, 2);
		j->run_at_ms = (uint64_t)sqlite3_column_int64(st, 3);
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	return finish_list(r->db, st, rc);
}

/* ---- the writer ---------------------------------------------------------- */

/* Runs a statement that returns no rows; returns the sqlite code. */
static int run(struct sqlite_store *s, enum write_stmt which)
{
	sqlite3_stmt *st = s->w[which];
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_CONSTRAINT)
		log_error("sqlite: %s: %s", write_sql[which], sqlite3_errmsg(s->wdb));
	return rc;
}

static int add_count(struct sqlite_store *s, enum write_stmt which, uint64_t user, int delta)
{
	sqlite3_bind_int64(s->w[which], 1, clamp63(user));
	sqlite3_bind_int(s->w[which], 2, delta);
	return run(s, which) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int writer_user(struct sqlite_store *s, uint64_t id, struct user *out)
{
	sqlite3_stmt *st = s->w[W_USER_GET];
	sqlite3_bind_int64(st, 1, clamp63(id));
	int rc = step_one(s->wdb, st);
	if (rc == 0) {
		read_user(st, 0, out);
		sqlite3_reset(st);
	}
	return rc;
}

/* Who has e-mail address `email` (folded): 1 with *id, 0 for nobody, or
 * STORE_ERROR. */
static int email_owner(struct sqlite_store *s, const char *email, uint64_t *id)
{
	sqlite3_stmt *st = s->w[W_EMAIL_OWNER];
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	int rc = step_one(s->wdb, st);
	if (rc == 0) {
		*id = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 1;
	}
	return rc == STORE_NOT_FOUND ? 0 : STORE_ERROR;
}

/* The user's e-mail address into w->email, for the owner's answer. */
static int writer_email(struct sqlite_store *s, uint64_t user, struct store_write *w)
{
	sqlite3_stmt *st = s->w[W_USER_EMAIL];
	sqlite3_bind_int64(st, 1, clamp63(user));
	int rc = step_one(s->wdb, st);
	if (rc == 0) {
		column_copy(st, 0, w->email, sizeof(w->email));
		sqlite3_reset(st);
	}
	return rc;
}

static int exec_user_create(struct sqlite_store *s, struct store_write *w)
{
	uint64_t other;
	int rc = w->in.user_create.email[0] ? email_owner(s, w->in.user_create.email, &other) : 0;
	if (rc) {
		w->taken = STORE_TAKEN_EMAIL;
		return rc == 1 ? STORE_CONFLICT : rc;
	}
	sqlite3_stmt *st = s->w[W_USER_INSERT];
	uint64_t id = idgen_next(&s->ids);
	sqlite3_bind_int64(st, 1, clamp63(id));
	sqlite3_bind_text(st, 2, w->in.user_create.handle, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, w->in.user_create.display_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, w->in.user_create.password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, w->in.user_create.email, -1, SQLITE_STATIC);
	rc = run(s, W_USER_INSERT);
	if (rc == SQLITE_CONSTRAINT) { /* the e-mail was free: the handle is taken */
		w->taken = STORE_TAKEN_HANDLE;
		return STORE_CONFLICT;
	}
	if (rc != SQLITE_DONE)
		return STORE_ERROR;
	memcpy(w->email, w->in.user_create.email, sizeof(w->email));
	return writer_user(s, id, &w->user);
}

static int exec_session(struct sqlite_store *s, struct store_write *w, bool create)
{
	sqlite3_stmt *st = s->w[create ? W_SESSION_INSERT : W_SESSION_DELETE];
	sqlite3_bind_blob(st, 1, w->in.session.token_hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	if (create) {
		sqlite3_bind_int64(st, 2, clamp63(w->in.session.user_id));
		sqlite3_bind_int64(st, 3, clamp63(idgen_next(&s->ids)));
		sqlite3_bind_int64(st, 4, clamp63(w->in.session.used_ms));
		sqlite3_bind_text(st, 5, w->in.session.device, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, w->in.session.ip, -1, SQLITE_STATIC);
	}
	if (run(s, create ? W_SESSION_INSERT : W_SESSION_DELETE) != SQLITE_DONE)
		return STORE_ERROR;
	return create ? writer_user(s, w->in.session.user_id, &w->user) : STORE_OK;
}

/* Every session of `user` but the one of `keep` (all zeros: every one). */
static int sessions_delete(struct sqlite_store *s, uint64_t user, const uint8_t *keep)
{
	sqlite3_stmt *st = s->w[W_SESSIONS_DELETE];
	sqlite3_bind_int64(st, 1, clamp63(user));
	sqlite3_bind_blob(st, 2, keep, TOKEN_HASH_LEN, SQLITE_STATIC);
	return run(s, W_SESSIONS_DELETE) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int exec_session_end(struct sqlite_store *s, struct store_write *w)
{
	sqlite3_stmt *st = s->w[W_SESSION_BY_ID];
	sqlite3_bind_int64(st, 1, clamp63(w->in.session_end.session_id));
	sqlite3_bind_int64(st, 2, clamp63(w->in.session_end.user_id));
	int rc = step_one(s->wdb, st);
	if (rc)
		return rc;
	size_t n = (size_t)sqlite3_column_bytes(st, 0);
	memcpy(w->in.session_end.token_hash, sqlite3_column_blob(st, 0),
	       n < TOKEN_HASH_LEN ? n : TOKEN_HASH_LEN);
	sqlite3_reset(st);
	st = s->w[W_SESSION_DELETE];
	sqlite3_bind_blob(st, 1, w->in.session_end.token_hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	return run(s, W_SESSION_DELETE) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int exec_sessions_end(struct sqlite_store *s, struct store_write *w)
{
	return sessions_delete(s, w->in.session.user_id, w->in.session.token_hash);
}

static int exec_password_change(struct sqlite_store *s, struct store_write *w)
{
	sqlite3_stmt *st = s->w[W_PASSWORD_SET];
	sqlite3_bind_int64(st, 1, clamp63(w->in.password.user_id));
	sqlite3_bind_text(st, 2, w->in.password.old_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, w->in.password.new_hash, -1, SQLITE_STATIC);
	if (run(s, W_PASSWORD_SET) != SQLITE_DONE)
		return STORE_ERROR;
	if (sqlite3_changes(s->wdb) == 0)
		return STORE_CONFLICT;
	return sessions_delete(s, w->in.password.user_id, w->in.password.token_hash);
}

static int exec_sessions_expire(struct sqlite_store *s, struct store_write *w)
{
	struct store_sessions_expire *x = &w->in.sessions_expire;
	sqlite3_stmt *st = s->w[W_SESSIONS_IDLE];
	sqlite3_bind_int64(st, 1, clamp63(x->cutoff_ms));
	sqlite3_bind_int(st, 2, STORE_EXPIRE_BATCH);
	int rc;
	x->n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && x->n < STORE_EXPIRE_BATCH) {
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		memset(x->token_hashes[x->n], 0, TOKEN_HASH_LEN);
		memcpy(x->token_hashes[x->n], sqlite3_column_blob(st, 0),
		       len < TOKEN_HASH_LEN ? len : TOKEN_HASH_LEN);
		x->user_ids[x->n++] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return STORE_ERROR;
	for (size_t i = 0; i < x->n; i++) {
		sqlite3_bind_blob(s->w[W_SESSION_DELETE], 1, x->token_hashes[i], TOKEN_HASH_LEN,
				  SQLITE_STATIC);
		if (run(s, W_SESSION_DELETE) != SQLITE_DONE)
			return STORE_ERROR;
	}
	return STORE_OK;
}

static int exec_session_touch(struct sqlite_store *s, struct store_write *w)
{
	sqlite3_stmt *st = s->w[W_SESSION_TOUCH];
	sqlite3_bind_blob(st, 1, w->in.session.token_hash, TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, clamp63(w->in.session.used_ms));
	sqlite3_bind_int64(st, 3, clamp63(w->in.session.stale_ms));
	return run(s, W_SESSION_TOUCH) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int writer_media(struct sqlite_store *s, uint64_t id, struct media *out)
{
	sqlite3_stmt *st = s->w[W_MEDIA_GET];
	sqlite3_bind_int64(st, 1, clamp63(id));
	int rc = step_one(s->wdb, st);
	if (rc == 0) {
		read_media(st, out);
		sqlite3_reset(st);
	}
	return rc;
}

/* Checks that every media id of a new tweet is the author's, ready and
 * not on another tweet, and writes the tweets.media and media_alt texts
 * for them. Changes nothing. */
static int tweet_media_check(struct sqlite_store *s, struct store_write *w, struct strbuf *text,
			     struct strbuf *alt)
{
	for (unsigned i = 0; i < w->in.tweet_create.media_n; i++) {
		struct media m;
		int rc = writer_media(s, w->in.tweet_create.media_ids[i], &m);
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

static int writer_tweet(struct sqlite_store *s, uint64_t id, struct tweet *out)
{
	sqlite3_stmt *st = s->w[W_TWEET_GET];
	sqlite3_bind_int64(st, 1, clamp63(id));
	int rc = step_one(s->wdb, st);
	if (rc == 0) {
		read_tweet(st, out);
		sqlite3_reset(st);
	}
	return rc;
}

static int add_replies(struct sqlite_store *s, uint64_t parent, int delta)
{
	sqlite3_bind_int64(s->w[W_REPLY_COUNT], 1, clamp63(parent));
	sqlite3_bind_int(s->w[W_REPLY_COUNT], 2, delta);
	return run(s, W_REPLY_COUNT) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* The entities a post's text found, keeping only the mentions of users
 * that exist, with their ids and handles as they spell them. */
static int resolve_mentions(struct sqlite_store *s, const struct entities *in,
			    struct entities *out)
{
	*out = *in;
	out->mentions_n = 0;
	sqlite3_stmt *st = s->w[W_HANDLE_ID];
	for (unsigned i = 0; i < in->mentions_n; i++) {
		sqlite3_bind_text(st, 1, in->mentions[i].handle, -1, SQLITE_STATIC);
		int rc = step_one(s->wdb, st);
		if (rc == STORE_NOT_FOUND)
			continue; /* no such user: plain text */
		if (rc)
			return rc;
		struct mention *m = &out->mentions[out->mentions_n++];
		*m = in->mentions[i];
		m->id = (uint64_t)sqlite3_column_int64(st, 0);
		column_copy(st, 1, m->handle, sizeof(m->handle));
		sqlite3_reset(st);
	}
	return STORE_OK;
}

/* Indexes the tweet under each of its tags and counts it for trends, in
 * the minute it was made. */
static int index_hashtags(struct sqlite_store *s, const char *text, const struct entities *e,
			  uint64_t id, uint64_t author)
{
	for (unsigned i = 0; i < e->hashtags_n; i++) {
		char tag[HASHTAG_MAX + 1];
		size_t n = entities_tag(text, &e->hashtags[i], tag);
		if (!entities_tag_first(text, e, i))
			continue; /* a tweet counts once per tag */
		sqlite3_bind_text(s->w[W_HASHTAG_INSERT], 1, tag, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(s->w[W_HASHTAG_INSERT], 2, clamp63(id));
		sqlite3_bind_text(s->w[W_TREND_ADD], 1, tag, (int)n, SQLITE_STATIC);
		sqlite3_bind_int64(s->w[W_TREND_ADD], 2, (int64_t)(id_unix_ms(id) / 60000));
		sqlite3_bind_int64(s->w[W_TREND_ADD], 3, clamp63(author));
		if (run(s, W_HASHTAG_INSERT) != SQLITE_DONE || run(s, W_TREND_ADD) != SQLITE_DONE)
			return STORE_ERROR;
	}
	return STORE_OK;
}

/* Records that `w` notified `user` (for the live streams); STORE_OK. */
static int notified(struct store_write *w, uint64_t user)
{
	if (w->notified_n < sizeof(w->notified) / sizeof(w->notified[0]))
		w->notified[w->notified_n++] = user;
	return STORE_OK;
}

/* 1 if a or b blocks the other, 0 if not, or STORE_ERROR. */
static int blocked_either(struct sqlite_store *s, uint64_t a, uint64_t b)
{
	sqlite3_stmt *st = s->w[W_BLOCKED_EITHER];
	sqlite3_bind_int64(st, 1, clamp63(a));
	sqlite3_bind_int64(st, 2, clamp63(b));
	int rc = step_one(s->wdb, st);
	if (rc == 0) {
		sqlite3_reset(st);
		return 1;
	}
	return rc == STORE_NOT_FOUND ? 0 : rc;
}

/*
 * Tells `recipient` that `actor` did `type` (to `tweet`; 0 for none),
 * unless they are one user: nobody is notified of acting on their own.
 * Likes and retweets group per tweet: the group's row moves up to this
 * event and counts one more. Inside the write's transaction, so a
 * notification commits with its act or not at all. Every kind that
 * notifies calls this (a retweet too: NOTIF_RETWEET, the original tweet).
 */
static int notify(struct sqlite_store *s, struct store_write *w, uint64_t recipient,
		  enum notification_type type, uint64_t actor, uint64_t tweet)
{
	if (!recipient || recipient == actor)
		return STORE_OK;
	sqlite3_stmt *st = s->w[W_NOTIFY];
	uint64_t id = idgen_next(&s->ids);
	bool grouped = type == NOTIF_LIKE || type == NOTIF_RETWEET;
	sqlite3_bind_int64(st, 1, clamp63(id));
	sqlite3_bind_int64(st, 2, clamp63(recipient));
	sqlite3_bind_int(st, 3, (int)type);
	sqlite3_bind_int64(st, 4, clamp63(actor));
	sqlite3_bind_int64(st, 5, clamp63(tweet));
	sqlite3_bind_int64(st, 6, clamp63(grouped ? tweet : id));
	return run(s, W_NOTIFY) == SQLITE_DONE ? notified(w, recipient) : STORE_ERROR;
}

/* An act of a grouped type (like, retweet) undone: if the act (`act_id`,
 * whose time it carries) is less than STORE_UNNOTIFY_MS old, its group
 * counts one fewer, and goes when empty. */
static int unnotify(struct sqlite_store *s, uint64_t recipient, enum notification_type type,
		    uint64_t tweet, uint64_t act_id)
{
	if (time_now_ms() - id_unix_ms(act_id) >= STORE_UNNOTIFY_MS)
		return STORE_OK;
	enum write_stmt steps[2] = {W_UNNOTIFY, W_UNNOTIFY_EMPTY};
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st = s->w[steps[i]];
		sqlite3_bind_int64(st, 1, clamp63(recipient));
		sqlite3_bind_int(st, 2, (int)type);
		sqlite3_bind_int64(st, 3, clamp63(tweet));
		if (run(s, steps[i]) != SQLITE_DONE)
			return STORE_ERROR;
	}
	return STORE_OK;
}

/* The tweet `id` names: itself, or the original when it is a retweet (a
 * retweet goes with its original, so the original exists). */
static int writer_original(struct sqlite_store *s, uint64_t id, struct tweet *out)
{
	int rc = writer_tweet(s, id, out);
	if (rc == STORE_OK && out->retweet_of)
		rc = writer_tweet(s, out->retweet_of, out);
	return rc;
}

/* A new tweet's notifications: its parent's author (a reply), then each
 * user its text mentions (`ent`: only users that exist), once, but neither
 * the author nor that parent's author. */
static int notify_tweet(struct sqlite_store *s, struct store_write *w, const struct entities *ent,
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

static int exec_tweet_create(struct sqlite_store *s, struct store_write *w)
{
	uint64_t parent = w->in.tweet_create.in_reply_to_id;
	w->related.id = 0;
	if (parent) {
		/* A missing or deleted target: nothing is written. A reply
		 * to a retweet answers its original. */
		int prc = writer_original(s, parent, &w->related);
		if (prc)
			return prc;
		parent = w->related.id;
		/* A blocked user cannot see the blocker's tweets: nor answer them. */
		prc = blocked_either(s, w->related.author_id, w->in.tweet_create.author_id);
		if (prc)
			return prc == 1 ? STORE_NOT_FOUND : prc;
	}
	struct entities ent;
	int erc = resolve_mentions(s, &w->in.tweet_create.entities, &ent);
	if (erc)
		return erc;
	struct strbuf media = STRBUF_INIT, ents = STRBUF_INIT, alt = STRBUF_INIT;
	int mrc = tweet_media_check(s, w, &media, &alt);
	if (mrc) {
		strbuf_deinit(&media);
		strbuf_deinit(&alt);
		return mrc;
	}
	entities_encode(&ent, &ents);
	sqlite3_stmt *st = s->w[W_TWEET_INSERT];
	uint64_t id = idgen_next(&s->ids);
	sqlite3_bind_int64(st, 1, clamp63(id));
	sqlite3_bind_int64(st, 2, clamp63(w->in.tweet_create.author_id));
	sqlite3_bind_text(st, 3, w->in.tweet_create.text, (int)w->in.tweet_create.text_len,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 4, media.data ? media.data : "", (int)media.len, SQLITE_STATIC);
	if (parent) {
		sqlite3_bind_int64(st, 5, clamp63(parent));
		sqlite3_bind_int64(st, 6, clamp63(w->related.author_id));
	} /* else NULL, as cleared */
	sqlite3_bind_text(st, 7, ents.data ? ents.data : "", (int)ents.len, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, alt.data ? alt.data : "", (int)alt.len, SQLITE_STATIC);
	int irc = run(s, W_TWEET_INSERT);
	strbuf_deinit(&media);
	strbuf_deinit(&ents);
	strbuf_deinit(&alt);
	if (irc != SQLITE_DONE || add_count(s, W_TWEETS_COUNT, w->in.tweet_create.author_id, 1) ||
	    index_hashtags(s, w->in.tweet_create.text, &ent, id, w->in.tweet_create.author_id))
		return STORE_ERROR;
	for (unsigned i = 0; i < w->in.tweet_create.media_n; i++) {
		sqlite3_bind_int64(s->w[W_MEDIA_ATTACH], 1, clamp63(w->in.tweet_create.media_ids[i]));
		sqlite3_bind_int64(s->w[W_MEDIA_ATTACH], 2, clamp63(id));
		if (run(s, W_MEDIA_ATTACH) != SQLITE_DONE)
			return STORE_ERROR;
	}
	if (parent && (add_replies(s, parent, 1) || writer_tweet(s, parent, &w->related)))
		return STORE_ERROR;
	if (notify_tweet(s, w, &ent, id))
		return STORE_ERROR;
	int rc = writer_tweet(s, id, &w->tweet);
	return rc == STORE_NOT_FOUND ? STORE_ERROR : rc; /* the author vanished: internal */
}

static int add_retweets(struct sqlite_store *s, uint64_t original, int delta)
{
	sqlite3_bind_int64(s->w[W_RETWEET_COUNT], 1, clamp63(original));
	sqlite3_bind_int(s->w[W_RETWEET_COUNT], 2, delta);
	return run(s, W_RETWEET_COUNT) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* Removes `user`'s retweet `retweet` of `original`, if any, counts it and
 * takes back its notification if it was that recent; *orig is the original
 * after it. Returns STORE_NOT_FOUND if there was none. */
static int retweet_remove(struct sqlite_store *s, uint64_t user, uint64_t retweet,
			  uint64_t original, struct tweet *orig)
{
	sqlite3_stmt *st = s->w[W_RETWEET_DELETE];
	sqlite3_bind_int64(st, 1, clamp63(user));
	sqlite3_bind_int64(st, 2, clamp63(original));
	if (run(s, W_RETWEET_DELETE) != SQLITE_DONE)
		return STORE_ERROR;
	if (sqlite3_changes(s->wdb) == 0)
		return STORE_NOT_FOUND;
	if (add_retweets(s, original, -1))
		return STORE_ERROR;
	int rc = writer_tweet(s, original, orig);
	if (rc == STORE_OK)
		rc = unnotify(s, orig->author_id, NOTIF_RETWEET, original, retweet);
	return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
}

/* The VIEWER_* bits of `user` for `tweet`. */
static int writer_viewer(struct sqlite_store *s, uint64_t user, uint64_t tweet, unsigned *out)
{
	sqlite3_stmt *st = s->w[W_VIEWER_ONE];
	sqlite3_bind_int64(st, 1, clamp63(user));
	sqlite3_bind_int64(st, 2, clamp63(tweet));
	int rc = step_one(s->wdb, st);
	if (rc)
		return STORE_ERROR;
	*out = (sqlite3_column_int(st, 0) ? VIEWER_LIKED : 0) |
	       (sqlite3_column_int(st, 1) ? VIEWER_RETWEETED : 0);
	sqlite3_reset(st);
	return STORE_OK;
}

/* The id of `user`'s retweet of `original`; 0 if none. */
static int retweet_find(struct sqlite_store *s, uint64_t user, uint64_t original, uint64_t *id)
{
	sqlite3_stmt *st = s->w[W_RETWEET_FIND];
	sqlite3_bind_int64(st, 1, clamp63(user));
	sqlite3_bind_int64(st, 2, clamp63(original));
	int rc = step_one(s->wdb, st);
	*id = 0;
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	if (rc)
		return rc;
	*id = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return STORE_OK;
}

/* A retweet: of the original when the id names a retweet; retweeting
 * twice is one retweet (the one there was is the answer). */
static int exec_retweet(struct sqlite_store *s, struct store_write *w)
{
	uint64_t user = w->in.like.user_id;
	int rc = writer_original(s, w->in.like.tweet_id, &w->related);
	if (rc)
		return rc;
	/* A blocked user cannot see the blocker's tweets: nor retweet them. */
	if ((rc = blocked_either(s, w->related.author_id, user)) != 0)
		return rc == 1 ? STORE_NOT_FOUND : rc;
	uint64_t original = w->related.id, id = idgen_next(&s->ids);
	sqlite3_stmt *st = s->w[W_RETWEET_INSERT];
	sqlite3_bind_int64(st, 1, clamp63(id));
	sqlite3_bind_int64(st, 2, clamp63(user));
	sqlite3_bind_int64(st, 3, clamp63(original));
	sqlite3_bind_int64(st, 4, clamp63(w->related.author_id));
	if (run(s, W_RETWEET_INSERT) != SQLITE_DONE)
		return STORE_ERROR;
	w->created = sqlite3_changes(s->wdb) > 0;
	if (w->created) {
		if (add_retweets(s, original, 1) || writer_tweet(s, original, &w->related) ||
		    notify(s, w, w->related.author_id, NOTIF_RETWEET, user, original))
			return STORE_ERROR;
	} else if ((rc = retweet_find(s, user, original, &id))) {
		return rc;
	}
	if (writer_tweet(s, id, &w->tweet) || writer_viewer(s, user, original, &w->viewer))
		return STORE_ERROR;
	return STORE_OK;
}

/* An unretweet; undoing what is not there changes nothing (created
 * false). The answer is about the original. */
static int exec_unretweet(struct sqlite_store *s, struct store_write *w)
{
	int rc = writer_original(s, w->in.like.tweet_id, &w->tweet);
	if (rc)
		return rc;
	w->related = (struct tweet){0};
	uint64_t original = w->tweet.id, id;
	if ((rc = retweet_find(s, w->in.like.user_id, original, &id)))
		return rc;
	w->created = id != 0;
	if (!id)
		return STORE_OK;
	if (writer_tweet(s, id, &w->related))
		return STORE_ERROR;
	return retweet_remove(s, w->in.like.user_id, id, original, &w->tweet) ? STORE_ERROR
										  : STORE_OK;
}

static int exec_tweet_delete(struct sqlite_store *s, struct store_write *w)
{
	/* The tweet it replies to, if any, loses a reply. */
	sqlite3_stmt *st = s->w[W_TWEET_PARENT];
	sqlite3_bind_int64(st, 1, clamp63(w->in.tweet_delete.tweet_id));
	sqlite3_bind_int64(st, 2, clamp63(w->in.tweet_delete.author_id));
	int prc = step_one(s->wdb, st);
	if (prc)
		return prc; /* missing or someone else's: the same answer */
	uint64_t parent = (uint64_t)sqlite3_column_int64(st, 0);
	uint64_t original = (uint64_t)sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	w->related.id = 0;
	if (parent) {
		if (add_replies(s, parent, -1))
			return STORE_ERROR;
		int rc = writer_tweet(s, parent, &w->related);
		if (rc == STORE_NOT_FOUND)
			w->related.id = 0; /* deleted before its reply */
		else if (rc)
			return rc;
	}
	if (original) /* a retweet: its original has one retweet less */
		return retweet_remove(s, w->in.tweet_delete.author_id, w->in.tweet_delete.tweet_id,
				      original, &w->related);
	/* Every retweet of it goes with it, and it leaves its hashtags'
	 * pages (trends keep their counts: they are about what was posted). */
	sqlite3_bind_int64(s->w[W_RETWEETS_OF_DELETE], 1, clamp63(w->in.tweet_delete.tweet_id));
	sqlite3_bind_int64(s->w[W_HASHTAGS_OF_DELETE], 1, clamp63(w->in.tweet_delete.tweet_id));
	if (run(s, W_RETWEETS_OF_DELETE) != SQLITE_DONE ||
	    run(s, W_HASHTAGS_OF_DELETE) != SQLITE_DONE)
		return STORE_ERROR;
	sqlite3_bind_int64(s->w[W_LIKES_OF_TWEET_DELETE], 1, clamp63(w->in.tweet_delete.tweet_id));
	if (run(s, W_LIKES_OF_TWEET_DELETE) != SQLITE_DONE)
		return STORE_ERROR;
	sqlite3_bind_int64(s->w[W_NOTIFS_OF_TWEET_DELETE], 1, clamp63(w->in.tweet_delete.tweet_id));
	if (run(s, W_NOTIFS_OF_TWEET_DELETE) != SQLITE_DONE)
		return STORE_ERROR;
	st = s->w[W_TWEET_DELETE];
	sqlite3_bind_int64(st, 1, clamp63(w->in.tweet_delete.tweet_id));
	sqlite3_bind_int64(st, 2, clamp63(w->in.tweet_delete.author_id));
	if (run(s, W_TWEET_DELETE) != SQLITE_DONE)
		return STORE_ERROR;
	if (sqlite3_changes(s->wdb) == 0)
		return STORE_NOT_FOUND; /* missing or someone else's: the same answer */
	/* Its media are released: cleanup removes them and their blobs. */
	sqlite3_bind_int64(s->w[W_MEDIA_RELEASE], 1, clamp63(w->in.tweet_delete.tweet_id));
	if (run(s, W_MEDIA_RELEASE) != SQLITE_DONE)
		return STORE_ERROR;
	return add_count(s, W_TWEETS_COUNT, w->in.tweet_delete.author_id, -1);
}

/* ---- media and their jobs ---- */

static int exec_media_create(struct sqlite_store *s, struct store_write *w)
{
	sqlite3_stmt *st = s->w[W_MEDIA_INSERT];
	uint64_t id = w->in.media_create.id ? w->in.media_create.id : idgen_next(&s->ids);
	sqlite3_bind_int64(st, 1, clamp63(id));
	sqlite3_bind_int64(st, 2, clamp63(w->in.media_create.owner_id));
	sqlite3_bind_text(st, 3, w->in.media_create.claimed_type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, clamp63(w->in.media_create.size));
	sqlite3_bind_int(st, 5, (int)w->in.media_create.parts);
	sqlite3_bind_int64(st, 6, (int64_t)time_now_ms());
	sqlite3_bind_text(st, 7, w->in.media_create.upload_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, w->in.media_create.description, -1, SQLITE_STATIC);
	if (run(s, W_MEDIA_INSERT) != SQLITE_DONE)
		return STORE_ERROR;
	return writer_media(s, id, &w->media);
}

/* A new description, only while the media is on no tweet: a posted
 * tweet keeps the one it was posted with. */
static int exec_media_describe(struct sqlite_store *s, struct store_write *w)
{
	int rc = writer_media(s, w->in.media_describe.media_id, &w->media);
	if (rc)
		return rc;
	if (w->media.owner_id != w->in.media_describe.owner_id)
		return STORE_NOT_FOUND;
	if (w->media.tweet_id || w->media.status == MEDIA_RELEASED)
		return STORE_CONFLICT;
	sqlite3_stmt *st = s->w[W_MEDIA_DESCRIBE];
	sqlite3_bind_int64(st, 1, clamp63(w->media.id));
	sqlite3_bind_text(st, 2, w->in.media_describe.description, -1, SQLITE_STATIC);
	if (run(s, W_MEDIA_DESCRIBE) != SQLITE_DONE)
		return STORE_ERROR;
	memcpy(w->media.description, w->in.media_describe.description,
	       sizeof(w->media.description));
	return STORE_OK;
}

static int exec_markers_set(struct sqlite_store *s, struct store_write *w)
{
	struct store_markers *in = &w->in.markers;
	uint64_t now = time_now_ms();
	for (int t = 0; t < MARKER_TIMELINE_COUNT; t++) {
		if (!in->set[t])
			continue;
		sqlite3_stmt *st = s->w[W_MARKER_SET];
		sqlite3_bind_int64(st, 1, clamp63(in->user_id));
		sqlite3_bind_int(st, 2, t);
		sqlite3_bind_int64(st, 3, clamp63(in->m[t].last_read_id));
		sqlite3_bind_int64(st, 4, clamp63(now));
		if (run(s, W_MARKER_SET) != SQLITE_DONE)
			return STORE_ERROR;
		st = s->w[W_MARKER_GET];
		sqlite3_bind_int64(st, 1, clamp63(in->user_id));
		sqlite3_bind_int(st, 2, t);
		if (step_one(s->wdb, st))
			return STORE_ERROR;
		in->m[t].version = (uint64_t)sqlite3_column_int64(st, 0);
		in->m[t].updated_ms = now;
		sqlite3_reset(st);
	}
	return STORE_OK;
}

/* awaiting_upload -> processing with a job queued, in one transaction; a
 * second complete of the same media changes nothing (created false). */
static int exec_media_complete(struct sqlite_store *s, struct store_write *w)
{
	int rc = writer_media(s, w->in.media_complete.media_id, &w->media);
	if (rc)
		return rc;
	if (w->media.owner_id != w->in.media_complete.owner_id)
		return STORE_NOT_FOUND;
	if (w->media.status == MEDIA_PROCESSING || w->media.status == MEDIA_READY)
		return STORE_OK;
	if (w->media.status != MEDIA_AWAITING_UPLOAD)
		return STORE_CONFLICT;
	sqlite3_bind_int64(s->w[W_MEDIA_PROCESSING], 1, clamp63(w->media.id));
	sqlite3_stmt *st = s->w[W_JOB_INSERT];
	sqlite3_bind_int64(st, 1, clamp63(idgen_next(&s->ids)));
	sqlite3_bind_int64(st, 2, clamp63(w->media.id));
	sqlite3_bind_int64(st, 3, (int64_t)time_now_ms());
	if (run(s, W_MEDIA_PROCESSING) != SQLITE_DONE || run(s, W_JOB_INSERT) != SQLITE_DONE)
		return STORE_ERROR;
	w->created = true;
	w->media.status = MEDIA_PROCESSING;
	return STORE_OK;
}

static int exec_job_finish(struct sqlite_store *s, struct store_write *w)
{
	const struct store_job_finish *j = &w->in.job_finish;
	sqlite3_stmt *st;
	enum write_stmt which;
	if (j->outcome == JOB_READY) {
		which = W_JOB_DELETE;
		sqlite3_bind_int64(s->w[which], 1, clamp63(j->job_id));
	} else if (j->outcome == JOB_RETRY) {
		which = W_JOB_RETRY;
		st = s->w[which];
		sqlite3_bind_int64(st, 1, clamp63(j->job_id));
		sqlite3_bind_int(st, 2, (int)j->attempts);
		sqlite3_bind_int64(st, 3, clamp63(j->run_at_ms));
		sqlite3_bind_text(st, 4, j->error, -1, SQLITE_STATIC);
	} else {
		which = W_JOB_DEAD;
		st = s->w[which];
		sqlite3_bind_int64(st, 1, clamp63(j->job_id));
		sqlite3_bind_int(st, 2, (int)j->attempts);
		sqlite3_bind_text(st, 3, j->error, -1, SQLITE_STATIC);
	}
	if (run(s, which) != SQLITE_DONE)
		return STORE_ERROR;
	st = s->w[W_MEDIA_FINISH];
	sqlite3_bind_int64(st, 1, clamp63(j->media_id));
	sqlite3_bind_int(st, 2, j->outcome == JOB_READY ? MEDIA_READY
				: j->outcome == JOB_DEAD ? MEDIA_FAILED : MEDIA_PROCESSING);
	sqlite3_bind_text(st, 3, j->outcome == JOB_READY ? j->out.content_type : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, j->outcome == JOB_READY ? (int)j->out.width : 0);
	sqlite3_bind_int(st, 5, j->outcome == JOB_READY ? (int)j->out.height : 0);
	sqlite3_bind_int(st, 6, (int)j->attempts);
	sqlite3_bind_text(st, 7, j->outcome == JOB_READY ? "" : j->error, -1, SQLITE_STATIC);
	return run(s, W_MEDIA_FINISH) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int exec_media_purge(struct sqlite_store *s, struct store_write *w)
{
	struct store_media_purge *p = &w->in.media_purge;
	sqlite3_stmt *st = s->w[W_MEDIA_EXPIRED];
	sqlite3_bind_int64(st, 1, clamp63(p->cutoff_ms));
	sqlite3_bind_int(st, 2, STORE_PURGE_BATCH);
	int rc;
	p->n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && p->n < STORE_PURGE_BATCH) {
		p->ids[p->n] = (uint64_t)sqlite3_column_int64(st, 0);
		p->parts[p->n++] = (unsigned)sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return STORE_ERROR;
	for (size_t i = 0; i < p->n; i++) {
		sqlite3_bind_int64(s->w[W_MEDIA_DELETE], 1, clamp63(p->ids[i]));
		sqlite3_bind_int64(s->w[W_JOBS_OF_MEDIA_DELETE], 1, clamp63(p->ids[i]));
		if (run(s, W_MEDIA_DELETE) != SQLITE_DONE ||
		    run(s, W_JOBS_OF_MEDIA_DELETE) != SQLITE_DONE)
			return STORE_ERROR;
	}
	return STORE_OK;
}

/* Adds (or removes) the edge a -> b and counts it; *changed false if it
 * was already so. */
static int follow_edge(struct sqlite_store *s, uint64_t a, uint64_t b, bool follow, bool *changed)
{
	sqlite3_stmt *st = s->w[follow ? W_FOLLOW_INSERT : W_FOLLOW_DELETE];
	int k = 1;
	if (follow)
		sqlite3_bind_int64(st, k++, clamp63(idgen_next(&s->ids)));
	sqlite3_bind_int64(st, k++, clamp63(a));
	sqlite3_bind_int64(st, k, clamp63(b));
	if (run(s, follow ? W_FOLLOW_INSERT : W_FOLLOW_DELETE) != SQLITE_DONE)
		return STORE_ERROR;
	*changed = sqlite3_changes(s->wdb) > 0;
	if (!*changed)
		return STORE_OK; /* already in the asked state: nothing to count */
	int delta = follow ? 1 : -1;
	if (add_count(s, W_FOLLOWING_COUNT, a, delta) || add_count(s, W_FOLLOWERS_COUNT, b, delta))
		return STORE_ERROR;
	return STORE_OK;
}

static int exec_follow(struct sqlite_store *s, struct store_write *w, bool follow)
{
	uint64_t a = w->in.follow.follower_id, b = w->in.follow.followee_id;
	int rc = writer_user(s, b, &w->user);
	if (rc)
		return rc;
	if (follow && (rc = blocked_either(s, a, b)) != 0)
		return rc == 1 ? STORE_INVALID : rc;
	if (follow_edge(s, a, b, follow, &w->created))
		return STORE_ERROR;
	if (!w->created)
		return STORE_OK;
	if (follow && notify(s, w, b, NOTIF_FOLLOW, a, 0))
		return STORE_ERROR;
	return writer_user(s, b, &w->user);
}

/* A block or mute, or its end. A new block ends the follows between the
 * two, both ways; a blocked user's likes and notifications stay, hidden
 * by reads. */
static int exec_relation(struct sqlite_store *s, struct store_write *w, enum write_stmt which)
{
	uint64_t a = w->in.relation.user_id, b = w->in.relation.other_id;
	int rc = writer_user(s, b, &w->user);
	if (rc)
		return rc;
	bool on = which == W_BLOCK_INSERT || which == W_MUTE_INSERT;
	sqlite3_stmt *st = s->w[which];
	int k = 1;
	if (on)
		sqlite3_bind_int64(st, k++, clamp63(idgen_next(&s->ids)));
	sqlite3_bind_int64(st, k++, clamp63(a));
	sqlite3_bind_int64(st, k, clamp63(b));
	if (run(s, which) != SQLITE_DONE)
		return STORE_ERROR;
	w->created = sqlite3_changes(s->wdb) > 0;
	if (!w->created || which != W_BLOCK_INSERT)
		return STORE_OK;
	bool changed;
	if (follow_edge(s, a, b, false, &changed) || follow_edge(s, b, a, false, &changed))
		return STORE_ERROR;
	return writer_user(s, b, &w->user);
}

static int exec_block(struct sqlite_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_BLOCK_INSERT);
}

static int exec_unblock(struct sqlite_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_BLOCK_DELETE);
}

static int exec_mute(struct sqlite_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_MUTE_INSERT);
}

static int exec_unmute(struct sqlite_store *s, struct store_write *w)
{
	return exec_relation(s, w, W_MUTE_DELETE);
}

static int exec_notifications_read(struct sqlite_store *s, struct store_write *w)
{
	sqlite3_stmt *st = s->w[W_NOTIFS_READ];
	sqlite3_bind_int64(st, 1, clamp63(w->in.notifications_read.user_id));
	sqlite3_bind_int64(st, 2, clamp63(w->in.notifications_read.up_to_id));
	return run(s, W_NOTIFS_READ) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* One notification of the user's (dismiss), or all of them (clear). */
static int exec_notifications_delete(struct sqlite_store *s, struct store_write *w,
				     enum write_stmt which)
{
	sqlite3_stmt *st = s->w[which];
	sqlite3_bind_int64(st, 1, clamp63(w->in.dismiss.user_id));
	if (which == W_NOTIF_DISMISS)
		sqlite3_bind_int64(st, 2, clamp63(w->in.dismiss.id));
	if (run(s, which) != SQLITE_DONE)
		return STORE_ERROR;
	return which == W_NOTIF_DISMISS && sqlite3_changes(s->wdb) == 0 ? STORE_NOT_FOUND : STORE_OK;
}

static int exec_notification_dismiss(struct sqlite_store *s, struct store_write *w)
{
	return exec_notifications_delete(s, w, W_NOTIF_DISMISS);
}

static int exec_notifications_clear(struct sqlite_store *s, struct store_write *w)
{
	return exec_notifications_delete(s, w, W_NOTIFS_CLEAR);
}

/* A like or an unlike; liking twice is one like, unliking what is not
 * liked changes nothing (created false either way). */
static int exec_like(struct sqlite_store *s, struct store_write *w, bool like)
{
	uint64_t user = w->in.like.user_id;
	int rc = writer_original(s, w->in.like.tweet_id, &w->tweet); /* a retweet's original */
	if (rc)
		return rc;
	uint64_t tweet = w->tweet.id;
	if (like && (rc = blocked_either(s, w->tweet.author_id, user)) != 0)
		return rc == 1 ? STORE_NOT_FOUND : rc; /* the blocker's tweets are not there */
	uint64_t like_id = 0; /* the like an unlike removes: when it was made */
	if (!like) {
		sqlite3_stmt *q = s->w[W_LIKE_ID];
		sqlite3_bind_int64(q, 1, clamp63(user));
		sqlite3_bind_int64(q, 2, clamp63(tweet));
		rc = step_one(s->wdb, q);
		if (rc == STORE_NOT_FOUND) {
			w->created = false;
			return writer_viewer(s, user, tweet, &w->viewer);
		}
		if (rc)
			return rc;
		like_id = (uint64_t)sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	enum write_stmt which = like ? W_LIKE_INSERT : W_LIKE_DELETE;
	sqlite3_stmt *st = s->w[which];
	int k = 1;
	if (like)
		sqlite3_bind_int64(st, k++, clamp63(idgen_next(&s->ids)));
	sqlite3_bind_int64(st, k++, clamp63(user));
	sqlite3_bind_int64(st, k, clamp63(tweet));
	if (run(s, which) != SQLITE_DONE)
		return STORE_ERROR;
	w->created = sqlite3_changes(s->wdb) > 0;
	if (w->created) {
		sqlite3_bind_int64(s->w[W_LIKE_COUNT], 1, clamp63(tweet));
		sqlite3_bind_int(s->w[W_LIKE_COUNT], 2, like ? 1 : -1);
		if (run(s, W_LIKE_COUNT) != SQLITE_DONE)
			return STORE_ERROR;
		rc = like ? notify(s, w, w->tweet.author_id, NOTIF_LIKE, user, tweet)
			  : unnotify(s, w->tweet.author_id, NOTIF_LIKE, tweet, like_id);
		if (rc || (rc = writer_tweet(s, tweet, &w->tweet)))
			return rc;
	}
	return writer_viewer(s, user, tweet, &w->viewer);
}

static int exec_like_create(struct sqlite_store *s, struct store_write *w)
{
	return exec_like(s, w, true);
}

static int exec_like_delete(struct sqlite_store *s, struct store_write *w)
{
	return exec_like(s, w, false);
}

/* A new avatar: media_id (0: none) must be the user's own processed image,
 * on no tweet; the old one is released (cleanup removes it), the new one
 * held by the user (media.tweet_id is what holds a media: a tweet, or for
 * an avatar its user, so cleanup leaves it). `text` gets users.avatar. */
static int avatar_set(struct sqlite_store *s, uint64_t user, uint64_t media_id,
		      struct strbuf *text)
{
	struct user u;
	int rc = writer_user(s, user, &u);
	if (rc)
		return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
	if (media_id) {
		struct media m;
		rc = writer_media(s, media_id, &m);
		if (rc)
			return rc == STORE_NOT_FOUND ? STORE_INVALID : rc;
		if (m.owner_id != user || m.status != MEDIA_READY ||
		    strncmp(m.out.content_type, "image/", 6) != 0 || (m.tweet_id && m.tweet_id != user))
			return STORE_INVALID;
		store_media_ref_format(text, &m.out);
	}
	if (u.avatar.id == media_id)
		return STORE_OK;
	sqlite3_bind_int64(s->w[W_MEDIA_RELEASE], 1, clamp63(user));
	if (run(s, W_MEDIA_RELEASE) != SQLITE_DONE)
		return STORE_ERROR;
	if (!media_id)
		return STORE_OK;
	sqlite3_bind_int64(s->w[W_MEDIA_ATTACH], 1, clamp63(media_id));
	sqlite3_bind_int64(s->w[W_MEDIA_ATTACH], 2, clamp63(user));
	return run(s, W_MEDIA_ATTACH) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static int exec_profile_update(struct sqlite_store *s, struct store_write *w)
{
	struct strbuf avatar = STRBUF_INIT;
	uint64_t user = w->in.profile.user_id, other;
	/* An address someone else has: refused before anything changes. */
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
	sqlite3_stmt *st = s->w[W_PROFILE_UPDATE];
	sqlite3_bind_int64(st, 1, clamp63(user));
	if (w->in.profile.set_display_name)
		sqlite3_bind_text(st, 2, w->in.profile.display_name, -1, SQLITE_STATIC);
	if (w->in.profile.set_bio)
		sqlite3_bind_text(st, 3, w->in.profile.bio, -1, SQLITE_STATIC);
	if (w->in.profile.set_avatar)
		sqlite3_bind_text(st, 4, avatar.data ? avatar.data : "", (int)avatar.len,
				  SQLITE_TRANSIENT);
	if (w->in.profile.set_email)
		sqlite3_bind_text(st, 5, w->in.profile.email, -1, SQLITE_STATIC);
	if (rc == STORE_OK && run(s, W_PROFILE_UPDATE) != SQLITE_DONE)
		rc = STORE_ERROR;
	strbuf_deinit(&avatar);
	if (rc) {
		sqlite3_clear_bindings(st); /* not run: its bindings must not linger */
		return rc;
	}
	rc = writer_user(s, user, &w->user);
	return rc ? rc : writer_email(s, user, w);
}

static int exec_session_create(struct sqlite_store *s, struct store_write *w)
{
	return exec_session(s, w, true);
}

static int exec_session_delete(struct sqlite_store *s, struct store_write *w)
{
	return exec_session(s, w, false);
}

static int exec_follow_create(struct sqlite_store *s, struct store_write *w)
{
	return exec_follow(s, w, true);
}

static int exec_follow_delete(struct sqlite_store *s, struct store_write *w)
{
	return exec_follow(s, w, false);
}

static int exec_probe(struct sqlite_store *s, struct store_write *w)
{
	(void)w;
	sqlite3_bind_int64(s->w[W_PROBE], 1, (int64_t)time_now_ms());
	return run(s, W_PROBE) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* What each kind of write does, in SQL. A new kind adds its row here
 * (sqlite_open refuses to start with a row missing). */
static int (*const exec_kind[STORE_W_COUNT])(struct sqlite_store *s, struct store_write *w) = {
	[STORE_W_USER_CREATE] = exec_user_create,
	[STORE_W_SESSION_CREATE] = exec_session_create,
	[STORE_W_SESSION_DELETE] = exec_session_delete,
	[STORE_W_TWEET_CREATE] = exec_tweet_create,
	[STORE_W_TWEET_DELETE] = exec_tweet_delete,
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
	[STORE_W_RETWEET] = exec_retweet,
	[STORE_W_UNRETWEET] = exec_unretweet,
	[STORE_W_BLOCK] = exec_block,
	[STORE_W_UNBLOCK] = exec_unblock,
	[STORE_W_MUTE] = exec_mute,
	[STORE_W_UNMUTE] = exec_unmute,
	[STORE_W_NOTIFICATIONS_READ] = exec_notifications_read,
	[STORE_W_MEDIA_DESCRIBE] = exec_media_describe,
	[STORE_W_MARKERS_SET] = exec_markers_set,
	[STORE_W_NOTIFICATION_DISMISS] = exec_notification_dismiss,
	[STORE_W_NOTIFICATIONS_CLEAR] = exec_notifications_clear,
};

static int idem_put(struct sqlite_store *s, struct store_write *w)
{
	sqlite3_stmt *st = s->w[W_IDEM_PUT];
	sqlite3_bind_int64(st, 1, clamp63(w->idem.scope));
	sqlite3_bind_text(st, 2, w->idem.key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, w->idem.fingerprint, sizeof(w->idem.fingerprint), SQLITE_STATIC);
	sqlite3_bind_int(st, 4, w->resp_status);
	sqlite3_bind_blob(st, 5, w->resp_body.data ? w->resp_body.data : "", (int)w->resp_body.len,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)time_now_ms());
	return run(s, W_IDEM_PUT) == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/*
 * One write inside the batch transaction. Returns false on an I/O or
 * internal failure, which fails the whole batch: a write may have changed
 * some rows by then, and nothing may be half-written. Logical outcomes
 * (not found, conflict) are not failures: each write decides them before
 * it changes anything (a statement that hits a constraint undoes itself),
 * so no per-write savepoint is needed.
 *
 * The idempotency record is checked here, under the writer's lock on the
 * database, so two concurrent requests with the same key cannot both act:
 * the second one finds the first's record and replays it.
 */
static bool apply_one(struct sqlite_store *s, struct store_write *w)
{
	if (w->idem.on) {
		struct store_idem_record rec = {.body = STRBUF_INIT};
		int rc = idem_lookup(s->wdb, s->w[W_IDEM_GET], w->idem.scope, w->idem.key, &rec);
		if (rc == 0) {
			if (memcmp(rec.fingerprint, w->idem.fingerprint, sizeof(rec.fingerprint)) == 0) {
				w->replayed = true;
				w->status = STORE_OK;
				w->resp_status = rec.status;
				strbuf_reset(&w->resp_body);
				strbuf_append(&w->resp_body, rec.body.data, rec.body.len);
			} else {
				w->status = STORE_IDEM_MISMATCH;
			}
		}
		strbuf_deinit(&rec.body);
		if (rc != STORE_NOT_FOUND)
			return rc != STORE_ERROR;
	}
	w->status = exec_kind[w->kind](s, w);
	if (w->status == STORE_ERROR)
		return false;
	if (w->render)
		w->render(w);
	return !w->idem.on || idem_put(s, w) == STORE_OK;
}

static void sweep_idempotency(struct sqlite_store *s)
{
	uint64_t now = time_now_ms();
	if (now - s->last_sweep_ms < IDEM_SWEEP_EVERY_MS)
		return;
	s->last_sweep_ms = now;
	sqlite3_bind_int64(s->w[W_IDEM_SWEEP], 1, (int64_t)(now - IDEM_TTL_MS));
	run(s, W_IDEM_SWEEP);
	/* Trend counters past the window (and a minute's grace) go too. */
	sqlite3_bind_int64(s->w[W_TRENDS_SWEEP], 1,
			   (int64_t)(now / 60000 - STORE_TREND_MINUTES - 1));
	run(s, W_TRENDS_SWEEP);
}

/* The write after `w` in a batch taken from the queue, or NULL. */
static struct store_write *next_write(const struct store_write *w)
{
	return w->node.next ? container_of(w->node.next, struct store_write, node) : NULL;
}

static void record_batch(struct sqlite_store *s, size_t n, bool ok)
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

static void sqlite_stats(struct store *base, struct store_stats *out)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
	out->queued = bqueue_len(&s->queue);
	out->max_queued = s->queue.max;
}

static void commit_batch(struct sqlite_store *s, struct store_write *batch, size_t n)
{
	bool ok = run(s, W_BEGIN) == SQLITE_DONE;
	for (struct store_write *w = batch; ok && w; w = next_write(w))
		ok = apply_one(s, w);
	if (ok) {
		sweep_idempotency(s);
		ok = run(s, W_COMMIT) == SQLITE_DONE;
	}
	if (!ok) {
		/* Nothing of this batch is durable: every write in it failed. */
		if (!sqlite3_get_autocommit(s->wdb))
			run(s, W_ROLLBACK);
		for (struct store_write *w = batch; w; w = next_write(w))
			w->status = STORE_ERROR;
	}
	record_batch(s, n, ok);
	for (struct store_write *w = batch, *next; w; w = next) {
		next = next_write(w); /* done() may free w */
		w->done(w);
	}
}

static void *writer_main(void *arg)
{
	struct sqlite_store *s = arg;
	pthread_setname_np(pthread_self(), "chirp-writer");
	/* Take up to MAX_BATCH queued writes: they commit together. The queue
	 * drains before the thread ends. */
	size_t n;
	struct bqueue_node *batch;
	while ((batch = bqueue_pop(&s->queue, MAX_BATCH, &n)))
		commit_batch(s, container_of(batch, struct store_write, node), n);
	return NULL;
}

static int sqlite_submit(struct store *base, struct store_write *w)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	assert(w->kind < STORE_W_COUNT && w->done);
	return bqueue_push(&s->queue, &w->node) == 0 ? 0 : STORE_BUSY;
}

/* ---- open and close --------------------------------------------------------- */

static void sqlite_close(struct store *base)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	if (!s)
		return;
	if (s->wdb) {
		bqueue_stop(&s->queue);
		pthread_join(s->writer, NULL); /* it drains the queue first */
		for (int i = 0; i < W_COUNT; i++)
			sqlite3_finalize(s->w[i]);
		sqlite3_close(s->wdb);
	}
	bqueue_deinit(&s->queue);
	pthread_mutex_destroy(&s->lock);
	idgen_deinit(&s->ids);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	free(s->path);
	free(s);
}

static struct store *sqlite_open(const struct store_options *opt, struct strbuf *err)
{
	for (int k = 0; k < STORE_W_COUNT; k++)
		if (!exec_kind[k])
			die("sqlite: write kind %d has no row in exec_kind", k);
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &store_sqlite_ops;
	bqueue_init(&s->queue, opt->max_queued ? opt->max_queued : 65536);
	s->lock_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	idgen_init(&s->ids, opt->node_id);

	if (mkdir(opt->data_dir, 0700) != 0 && errno != EEXIST) {
		strbuf_appendf(err, "cannot create %s: %s", opt->data_dir, strerror(errno));
		goto fail;
	}
	/* One server per data directory: two would make the same ids. */
	struct strbuf path = STRBUF_INIT;
	strbuf_appendf(&path, "%s/chirp.lock", opt->data_dir);
	s->lock_fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		strbuf_appendf(err, "%s is in use by another chirp (%s)", opt->data_dir,
			       s->lock_fd < 0 ? strerror(errno) : "locked");
		strbuf_deinit(&path);
		goto fail;
	}
	strbuf_reset(&path);
	strbuf_appendf(&path, "%s/%s", opt->data_dir, STORE_SQLITE_FILE);
	s->path = strbuf_detach(&path, NULL);
	/* "unix-excl" (--sqlite-lock exclusive, the default): the first
	 * connection holds a lock on the file that shuts other processes out,
	 * and this process's connections share the WAL index in its memory,
	 * not in a -shm file: a read transaction then takes and drops its
	 * WAL read lock without a system call, where the default VFS makes
	 * two fcntl calls (docs/performance.md, "Issue 18, fourth pass").
	 * chirp.lock already keeps a second chirp out; shared lets sqlite3
	 * and other tools in while chirp runs. */
	s->vfs = opt->sqlite_shared ? NULL : "unix-excl";
	s->base.sole_writer = !opt->sqlite_shared;

	sqlite3 *db = NULL;
	if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						  SQLITE_OPEN_NOMUTEX, s->vfs) != SQLITE_OK) {
		strbuf_appendf(err, "cannot open %s: %s", s->path, sqlite3_errmsg(db));
		sqlite3_close(db);
		goto fail;
	}
	if (store_sqlite_configure(db, err) ||
	    store_sqlite_migrate(db, STORE_SQLITE_SCHEMA_VERSION, err)) {
		sqlite3_close(db);
		goto fail;
	}
	for (int i = 0; i < W_COUNT; i++) {
		if (sqlite3_prepare_v3(db, write_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->w[i],
				       NULL) != SQLITE_OK) {
			strbuf_appendf(err, "preparing '%s': %s", write_sql[i], sqlite3_errmsg(db));
			for (int k = 0; k < i; k++)
				sqlite3_finalize(s->w[k]);
			sqlite3_close(db);
			goto fail;
		}
	}
	s->wdb = db;
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
		die("sqlite: cannot start the writer thread");
	return &s->base;
fail:
	sqlite_close(&s->base);
	return NULL;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.reads_inline = true,
	.open = sqlite_open,
	.close = sqlite_close,
	.reader_new = sqlite_reader_new,
	.reader_free = sqlite_reader_free,
	.read_begin = sqlite_read_begin,
	.read_end = sqlite_read_end,
	.user_get = sqlite_user_get,
	.user_get_by_handle = sqlite_user_get_by_handle,
	.user_credentials = sqlite_user_credentials,
	.user_credentials_by_email = sqlite_user_credentials_by_email,
	.user_email = sqlite_user_email,
	.markers = sqlite_markers,
	.session_get = sqlite_session_get,
	.sessions_of = sqlite_sessions_of,
	.idem_get = sqlite_idem_get,
	.tweet_get = sqlite_tweet_get,
	.user_tweets = sqlite_user_tweets,
	.home_feed = sqlite_home_feed,
	.followers = sqlite_followers,
	.following = sqlite_following,
	.follower_ids = sqlite_follower_ids,
	.followees = sqlite_followees,
	.author_tweet_ids = sqlite_author_tweet_ids,
	.viewer_state = sqlite_viewer_state,
	.engagements_since = sqlite_engagements_since,
	.snapshot_open = sqlite_snapshot_open,
	.hashtag_tweet_ids = sqlite_hashtag_tweet_ids,
	.public_tweet_ids = sqlite_public_tweet_ids,
	.trends = sqlite_trends,
	.liked_by = sqlite_liked_by,
	.retweeted_by = sqlite_retweeted_by,
	.ancestor_ids = sqlite_ancestor_ids,
	.descendant_ids = sqlite_descendant_ids,
	.relations = sqlite_relations,
	.blocks = sqlite_blocks,
	.mutes = sqlite_mutes,
	.notifications = sqlite_notifications,
	.notifications_unread = sqlite_notifications_unread,
	.tweets_after = sqlite_tweets_after,
	.users_after = sqlite_users_after,
	.media_get = sqlite_media_get,
	.job_due = sqlite_job_due,
	.submit = sqlite_submit,
	.stats = sqlite_stats,
};
