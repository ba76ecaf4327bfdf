/*
 * fts5 — the embedded search adapter: SQLite FTS5 in a database file of its
 * own (search.db beside the store's), so indexing never takes the store's
 * write lock.
 *
 * Tables:
 *   tweets_fts(text, author)          tweet rowid = tweet id; author is the
 *                                     token "from_<id>", for from:
 *   users_fts(handle, display_name)   rowid = user id
 *   words(src, word)                  every word seen, as typed (folded),
 *                                     that a typo or a long prefix may
 *                                     need (record_word), and every
 *                                     handle, whole (src 2)
 *   word_variants(variant, src, word) their deletion variants (fuzzy.h)
 *   watermarks(name, id)              the newest tweet and user indexed
 *
 * One indexer thread owns the writes. On a nudge (search_notify) or a
 * start, it reads from the store everything after its watermarks and
 * indexes it, a few thousand rows per transaction, watermark included, so
 * a crash at any moment resumes where the index really is. The database
 * runs synchronous=NORMAL: losing the last transactions to a power cut
 * only moves the watermark back.
 *
 * Ranking (relevance): among the WINDOW newest matches of each tier,
 * bm25 divided by (1 + age in days / 7) (search/hits.h); tier 0 is the query
 * as typed, tier 1 what matched only through a typo candidate. Users: tier
 * -1 the handle that is the whole query, 0 as typed (by prefix), 1 the
 * handles within a typo of the whole query, nearest first, 2 what matched
 * through a typo candidate of a word.
 */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "search/fuzzy.h"
#include "search/hits.h"
#include "search/rank.h"
#include "search/search.h"
#include "search/tokenizer.h"
#include "util/id.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SEARCH_FILE "search.db"
#define SCHEMA_VERSION 3    /* see migrate */
#define READ_BATCH 256      /* rows read from the store at a time */
#define TXN_ROWS 4096       /* rows per index transaction */
#define FORGET_MAX 65536    /* deletes waiting; beyond, hydration hides them */
#define RETRY_MS 1000       /* after a failed batch */
#define WINDOW 1000         /* relevance ranks this many newest matches per tier */
#define CANDIDATES_MAX 4    /* typo candidates per query word */
#define CANDIDATES_SEEN 64  /* candidates considered before keeping the best */
#define HANDLE_CANDIDATES 8 /* handles within a typo of a query kept, nearest first */
#define PREFIX_MIN 2        /* shorter prefixes are words */
#define PREFIX_INDEXED 4    /* the longest prefix FTS_OPTIONS indexes */
#define PREFIX_WORDS 32     /* a longer prefix is its words when this few */
#define WORD_BYTES (FUZZY_MAX_CHARS * 4)
#define MMAP_BYTES "1073741824"

enum src { SRC_TWEETS = 0, SRC_USERS = 1, SRC_HANDLES = 2 };

/*
 * The full-text tables. prefix='2 3 4': FTS5 also keeps one posting list
 * per prefix of 2, 3 and 4 characters, so that `coff*` reads a single list,
 * newest first, and stops at the page as a word does. Without it FTS5
 * merges the lists of every word so begun into one, in memory, before it
 * returns a row: all of a common word's tweets (docs/performance.md). A
 * longer prefix has fewer words and documents to merge; prefixes shorter
 * than PREFIX_MIN are words. The cost is a larger index.
 *
 * FTS5 cannot change a table's options: a schema that changes them makes
 * the tables again and indexes everything again (migrate).
 */
#define FTS_OPTIONS "tokenize='" SEARCH_TOKENIZER "', prefix='2 3 4'"

static const char fts_tables[] =
	"CREATE VIRTUAL TABLE tweets_fts USING fts5(text, author, " FTS_OPTIONS ");"
	"CREATE VIRTUAL TABLE users_fts USING fts5(handle, display_name, " FTS_OPTIONS ");"
	"CREATE VIRTUAL TABLE tweets_vocab USING fts5vocab(tweets_fts, row);"
	"CREATE VIRTUAL TABLE users_vocab USING fts5vocab(users_fts, row);";

static const char fts_tables_drop[] = "DROP TABLE tweets_vocab; DROP TABLE users_vocab;"
				      "DROP TABLE tweets_fts; DROP TABLE users_fts;";

static const char other_tables[] =
	"CREATE TABLE words (src INTEGER NOT NULL, word TEXT NOT NULL,"
	"  PRIMARY KEY (src, word)) WITHOUT ROWID;"
	"CREATE TABLE word_variants (variant TEXT NOT NULL, src INTEGER NOT NULL,"
	"  word TEXT NOT NULL, PRIMARY KEY (variant, src, word)) WITHOUT ROWID;"
	"CREATE TABLE watermarks (name TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO watermarks VALUES ('tweets', 0), ('users', 0);";

/* ---- connections --------------------------------------------------------- */

static sqlite3 *open_db(const char *path, bool writer, struct strbuf *err)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK ||
	    search_tokenizer_register(db) != SQLITE_OK || search_rank_register(db) != SQLITE_OK) {
		strbuf_appendf(err, "cannot open %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	const char *pragmas = writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				       "PRAGMA cache_size=-32000;"
				     : "PRAGMA query_only=1; PRAGMA cache_size=-16000;"
				       "PRAGMA mmap_size=" MMAP_BYTES ";";
	char *msg = NULL;
	if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		strbuf_appendf(err, "%s: %s", path, msg ? msg : "cannot configure");
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int version = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

/* Runs the statements of `sql` and sets the schema version, in one
 * transaction: all or nothing. */
static int migrate_step(sqlite3 *db, const char *const *sql, size_t n, const char *what,
			struct strbuf *err)
{
	char bump[64];
	snprintf(bump, sizeof(bump), "PRAGMA user_version = %d;", SCHEMA_VERSION);
	char *msg = NULL;
	bool ok = sqlite3_exec(db, "BEGIN", NULL, NULL, &msg) == SQLITE_OK;
	for (size_t i = 0; ok && i < n; i++)
		ok = sqlite3_exec(db, sql[i], NULL, NULL, &msg) == SQLITE_OK;
	ok = ok && sqlite3_exec(db, bump, NULL, NULL, &msg) == SQLITE_OK &&
	     sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) == SQLITE_OK;
	if (ok)
		return 0;
	strbuf_appendf(err, "%s the search index: %s", what, msg ? msg : "failed");
	sqlite3_free(msg);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Versions: 1 the first; 2 handles in the vocabulary, whole; 3 prefix
 * indexes (FTS_OPTIONS). An index of version 1 or 2 has its full-text
 * tables made again, and its watermarks go back to zero, so the indexer
 * reads every tweet and user from the store again (the vocabulary stays,
 * and learns the handles version 1 lacked). Until it has caught up, search
 * finds only what it has indexed again: minutes for millions of tweets.
 */
static int migrate(sqlite3 *db, struct strbuf *err)
{
	int version = user_version(db);
	if (version == SCHEMA_VERSION)
		return 0;
	if (version == 1 || version == 2) {
		const char *const rebuild[] = {fts_tables_drop, fts_tables,
					       "UPDATE watermarks SET id = 0;"};
		log_info("search: index schema %d: indexing everything again for schema %d", version,
			 SCHEMA_VERSION);
		return migrate_step(db, rebuild, 3, "upgrading", err);
	}
	if (version != 0) {
		strbuf_appendf(err, "search index schema %d is not %d: remove %s to rebuild it",
			       version, SCHEMA_VERSION, SEARCH_FILE);
		return -1;
	}
	const char *const create[] = {fts_tables, other_tables};
	return migrate_step(db, create, 2, "creating", err);
}

/* ---- the indexer --------------------------------------------------------- */

enum ix_stmt {
	X_BEGIN,
	X_COMMIT,
	X_WATERMARK_GET,
	X_WATERMARK_SET,
	X_TWEET_PUT,
	X_TWEET_DELETE,
	X_USER_PUT,
	X_WORD_PUT,
	X_VARIANT_PUT,
	X_COUNT
};

static const char *const ix_sql[X_COUNT] = {
	[X_BEGIN] = "BEGIN IMMEDIATE",
	[X_COMMIT] = "COMMIT",
	[X_WATERMARK_GET] = "SELECT id FROM watermarks WHERE name = ?1",
	[X_WATERMARK_SET] = "UPDATE watermarks SET id = ?2 WHERE name = ?1",
	[X_TWEET_PUT] = "INSERT OR REPLACE INTO tweets_fts(rowid, text, author) VALUES (?1, ?2, ?3)",
	[X_TWEET_DELETE] = "DELETE FROM tweets_fts WHERE rowid = ?1",
	[X_USER_PUT] = "INSERT OR REPLACE INTO users_fts(rowid, handle, display_name)"
		       " VALUES (?1, ?2, ?3)",
	[X_WORD_PUT] = "INSERT OR IGNORE INTO words(src, word) VALUES (?1, ?2)",
	[X_VARIANT_PUT] = "INSERT OR IGNORE INTO word_variants(variant, src, word) VALUES (?1, ?2, ?3)",
};

struct fts5_search {
	struct search base;
	char *path;
	struct store *store;
	sqlite3 *wdb; /* the indexer's */
	pthread_t indexer;
	bool started; /* the indexer thread runs */

	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool pending, stopping;
	uint64_t forget[FORGET_MAX]; /* tweet ids to drop */
	size_t nforget;
	struct search_stats stats;
};

/* The indexer thread's own state. */
struct indexer {
	struct fts5_search *s;
	sqlite3 *db;
	sqlite3_stmt *st[X_COUNT];
	struct store_reader *store;
	struct search_words *words;
	struct tweet *tweets; /* READ_BATCH */
	struct user *users;
	uint64_t *cursors;    /* where each row read stands in the store's order */
	enum src src;        /* of the words being recorded */
	uint64_t first_tweet, last_tweet; /* the oldest and newest indexed in a batch */
	bool failed;         /* a statement failed in this transaction */
};

static void step_done(struct indexer *ix, enum ix_stmt which)
{
	sqlite3_stmt *st = ix->st[which];
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (!ix->failed)
			log_error("search: %s", sqlite3_errmsg(ix->db));
		ix->failed = true;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static uint64_t watermark(struct indexer *ix, const char *name)
{
	sqlite3_stmt *st = ix->st[X_WATERMARK_GET];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	uint64_t id = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = (uint64_t)sqlite3_column_int64(st, 0);
	else
		ix->failed = true;
	sqlite3_reset(st);
	return id;
}

static void set_watermark(struct indexer *ix, const char *name, uint64_t id)
{
	sqlite3_bind_text(ix->st[X_WATERMARK_SET], 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ix->st[X_WATERMARK_SET], 2, (int64_t)id);
	step_done(ix, X_WATERMARK_SET);
}

static bool has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= '0' && s[i] <= '9')
			return true;
	return false;
}

static void put_variant(void *arg, const char *v, size_t len)
{
	struct indexer *ix = arg;
	sqlite3_stmt *st = ix->st[X_VARIANT_PUT];
	sqlite3_bind_text(st, 1, v, (int)len, SQLITE_STATIC);
	/* ?2 and ?3, the source and the word itself, were bound by record */
	if (sqlite3_step(st) != SQLITE_DONE)
		ix->failed = true;
	sqlite3_reset(st);
}

/* w joins the vocabulary of src, with its variants up to `edits` (none
 * for 0: a word too short, too long or with digits still counts for
 * prefixes, prefix_words, but gets no typo candidates). */
static void record(struct indexer *ix, enum src src, const char *w, size_t len, unsigned edits)
{
	sqlite3_stmt *st = ix->st[X_WORD_PUT];
	sqlite3_bind_int(st, 1, src);
	sqlite3_bind_text(st, 2, w, (int)len, SQLITE_STATIC);
	step_done(ix, X_WORD_PUT);
	if (sqlite3_changes(ix->db) != 1 || !edits)
		return; /* known already, or no typos looked for */
	sqlite3_bind_int(ix->st[X_VARIANT_PUT], 2, src);
	sqlite3_bind_text(ix->st[X_VARIANT_PUT], 3, w, (int)len, SQLITE_STATIC);
	fuzzy_variants(w, len, edits, put_variant, ix);
	sqlite3_clear_bindings(ix->st[X_VARIANT_PUT]);
}

/* A word of indexed text joins the vocabulary that typo candidates and
 * long prefixes (prefix_words) come from. */
static void record_word(void *arg, const char *w, size_t len)
{
	struct indexer *ix = arg;
	if (len && (w[0] == '#' || w[0] == '@'))
		w++, len--; /* the tag's bare word is indexed too */
	size_t chars = fuzzy_chars(w, len);
	unsigned edits = has_digit(w, len) ? 0 : fuzzy_max_edits(chars);
	if (edits || chars > PREFIX_INDEXED) /* else no typo finds it, no prefix needs it */
		record(ix, ix->src, w, len, edits);
}

/* A handle joins the handles' vocabulary whole, digits and all, so that a
 * typo anywhere in it still finds its user (fuzzy_handle_edits). */
static void record_handle(struct indexer *ix, const char *handle)
{
	char h[FUZZY_HANDLE_MAX_CHARS + 1];
	size_t len = strlen(handle);
	unsigned edits = fuzzy_handle_edits(len);
	if (edits && fuzzy_handle_fold(handle, len, h))
		record(ix, SRC_HANDLES, h, len, edits);
}

/* Indexes up to `budget` tweets after the watermark; returns how many. */
static size_t index_tweets(struct indexer *ix, size_t budget)
{
	const struct store_ops *ops = ix->store->ops;
	uint64_t after = watermark(ix, "tweets");
	size_t done = 0, n;
	ix->src = SRC_TWEETS;
	while (!ix->failed && done < budget) {
		if (ops->tweets_after(ix->store, after, READ_BATCH, ix->tweets, ix->cursors, &n) !=
		    STORE_OK) {
			ix->failed = true;
			break;
		}
		for (size_t i = 0; i < n && !ix->failed; i++) {
			const struct tweet *t = &ix->tweets[i];
			char author[32];
			int alen = snprintf(author, sizeof(author), "from_%llu",
					    (unsigned long long)t->author_id);
			sqlite3_stmt *st = ix->st[X_TWEET_PUT];
			sqlite3_bind_int64(st, 1, (int64_t)t->id);
			sqlite3_bind_text(st, 2, t->text, (int)t->text_len, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, author, alen, SQLITE_STATIC);
			step_done(ix, X_TWEET_PUT);
			search_words(ix->words, t->text, t->text_len, false, record_word, ix);
			if (!done && !i)
				ix->first_tweet = t->id;
			ix->last_tweet = t->id;
			after = ix->cursors[i];
		}
		done += n;
		if (n < READ_BATCH)
			break;
	}
	if (done)
		set_watermark(ix, "tweets", after);
	return done;
}

static size_t index_users(struct indexer *ix, size_t budget)
{
	const struct store_ops *ops = ix->store->ops;
	uint64_t after = watermark(ix, "users");
	size_t done = 0, n;
	ix->src = SRC_USERS;
	while (!ix->failed && done < budget) {
		if (ops->users_after(ix->store, after, READ_BATCH, ix->users, ix->cursors, &n) !=
		    STORE_OK) {
			ix->failed = true;
			break;
		}
		for (size_t i = 0; i < n && !ix->failed; i++) {
			const struct user *u = &ix->users[i];
			sqlite3_stmt *st = ix->st[X_USER_PUT];
			sqlite3_bind_int64(st, 1, (int64_t)u->id);
			sqlite3_bind_text(st, 2, u->handle, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, u->display_name, -1, SQLITE_STATIC);
			step_done(ix, X_USER_PUT);
			search_words(ix->words, u->handle, strlen(u->handle), false, record_word, ix);
			search_words(ix->words, u->display_name, strlen(u->display_name), false,
				     record_word, ix);
			record_handle(ix, u->handle);
			after = ix->cursors[i];
		}
		done += n;
		if (n < READ_BATCH)
			break;
	}
	if (done)
		set_watermark(ix, "users", after);
	return done;
}

/*
 * One transaction: new users, new tweets, then the deletes. Deletes come
 * last so that a tweet read from the store just before its delete
 * committed is indexed and then dropped, never left behind.
 */
static bool index_batch(struct indexer *ix, const uint64_t *forget, size_t nforget,
			size_t *tweets, size_t *users)
{
	ix->failed = false;
	step_done(ix, X_BEGIN);
	*users = index_users(ix, TXN_ROWS);
	*tweets = index_tweets(ix, TXN_ROWS);
	for (size_t i = 0; i < nforget && !ix->failed; i++) {
		sqlite3_bind_int64(ix->st[X_TWEET_DELETE], 1, (int64_t)forget[i]);
		step_done(ix, X_TWEET_DELETE);
	}
	if (!ix->failed)
		step_done(ix, X_COMMIT);
	if (ix->failed && !sqlite3_get_autocommit(ix->db))
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
	return !ix->failed;
}

/* Catches up completely; false if a batch failed. */
static bool index_round(struct indexer *ix, const uint64_t *forget, size_t nforget)
{
	struct fts5_search *s = ix->s;
	for (;;) {
		uint64_t t0 = time_mono_ns();
		size_t tweets, users;
		bool ok = index_batch(ix, forget, nforget, &tweets, &users);
		pthread_mutex_lock(&s->lock);
		s->stats.batches++;
		s->stats.failing = !ok;
		s->stats.last_batch_us = (time_mono_ns() - t0) / 1000;
		if (ok) {
			s->stats.tweets_indexed += tweets;
			s->stats.users_indexed += users;
			s->stats.tweets_removed += nforget;
			if (tweets) {
				s->stats.watermark_tweet = ix->last_tweet;
				uint64_t now = time_now_ms(), made = id_unix_ms(ix->first_tweet);
				s->stats.lag_ms = now > made ? now - made : 0;
			}
		}
		bool stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (!ok)
			return false;
		nforget = 0; /* done with them */
		/* Caught up; or stopping, and the rest can wait for the next
		 * start rather than hold up the shutdown. */
		if ((tweets < TXN_ROWS && users < TXN_ROWS) || stopping)
			return true;
	}
}

static void indexer_free(struct indexer *ix)
{
	for (int i = 0; i < X_COUNT; i++)
		sqlite3_finalize(ix->st[i]);
	search_words_free(ix->words);
	if (ix->store)
		ix->store->ops->reader_free(ix->store);
	free(ix->tweets);
	free(ix->users);
	free(ix->cursors);
}

static void *indexer_main(void *arg)
{
	struct fts5_search *s = arg;
	pthread_setname_np(pthread_self(), "chirp-index");
	struct indexer ix = {.s = s, .db = s->wdb};
	for (int i = 0; i < X_COUNT; i++)
		if (sqlite3_prepare_v3(ix.db, ix_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ix.st[i],
				       NULL) != SQLITE_OK)
			die("search: preparing '%s': %s", ix_sql[i], sqlite3_errmsg(ix.db));
	ix.words = search_words_new(ix.db);
	if (!ix.words)
		die("search: cannot make a tokenizer");
	ix.store = s->store->ops->reader_new(s->store);
	ix.tweets = xmalloc(READ_BATCH * sizeof(*ix.tweets));
	ix.users = xmalloc(READ_BATCH * sizeof(*ix.users));
	ix.cursors = xmalloc(READ_BATCH * sizeof(*ix.cursors));
	uint64_t *forget = xmalloc(FORGET_MAX * sizeof(*forget));

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->pending && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		bool stop = s->stopping;
		s->pending = false;
		size_t nforget = s->nforget;
		memcpy(forget, s->forget, nforget * sizeof(*forget));
		s->nforget = 0;
		pthread_mutex_unlock(&s->lock);

		if (!index_round(&ix, forget, nforget)) {
			/* The store or the index failed: try again in a while.
			 * Deletes not applied stay hidden by hydration. */
			if (stop)
				break;
			struct timespec ts = {.tv_sec = RETRY_MS / 1000};
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&s->lock);
			s->pending = true;
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		if (stop)
			break;
	}
	free(forget);
	indexer_free(&ix);
	return NULL;
}

static void fts5_notify(struct search *base)
{
	struct fts5_search *s = (struct fts5_search *)base;
	pthread_mutex_lock(&s->lock);
	s->pending = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static void fts5_forget_tweet(struct search *base, uint64_t tweet_id)
{
	struct fts5_search *s = (struct fts5_search *)base;
	pthread_mutex_lock(&s->lock);
	if (s->nforget < FORGET_MAX)
		s->forget[s->nforget++] = tweet_id;
	s->pending = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static void fts5_stats(struct search *base, struct search_stats *out)
{
	struct fts5_search *s = (struct fts5_search *)base;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- open and close ------------------------------------------------------- */

static void fts5_close(struct search *base)
{
	struct fts5_search *s = (struct fts5_search *)base;
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->indexer, NULL);
	}
	sqlite3_close(s->wdb);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static struct search *fts5_open(const struct search_options *opt, struct strbuf *err)
{
	struct fts5_search *s = xcalloc(1, sizeof(*s));
	s->base.ops = &search_fts5_ops;
	s->store = opt->store;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	struct strbuf path = STRBUF_INIT;
	strbuf_appendf(&path, "%s/%s", opt->data_dir, SEARCH_FILE);
	s->path = strbuf_detach(&path, NULL);
	s->wdb = open_db(s->path, true, err);
	if (!s->wdb || migrate(s->wdb, err) != 0) {
		fts5_close(&s->base);
		return NULL;
	}
	s->pending = true; /* catch up with what the store has */
	if (pthread_create(&s->indexer, NULL, indexer_main, s) != 0)
		die("search: cannot start the indexer thread");
	s->started = true;
	return &s->base;
}

/* ---- queries ------------------------------------------------------------ */

enum query_stmt {
	Q_RECENT,
	Q_RECENT_ASC,
	Q_RANKED,
	Q_USERS,
	Q_HANDLE,
	Q_VARIANT,
	Q_PREFIX_WORDS,
	Q_DF_TWEETS,
	Q_DF_USERS,
	Q_COUNT
};

/* ?1 the MATCH expression; ?2 and ?3 the id bounds; ?4 the limit; ?5 the
 * document frequencies of its phrases (rank.h). */
static const char *const query_sql[Q_COUNT] = {
	[Q_RECENT] = "SELECT rowid FROM tweets_fts WHERE tweets_fts MATCH ?1"
		     " AND rowid < ?2 AND rowid > ?3 ORDER BY rowid DESC LIMIT ?4",
	[Q_RECENT_ASC] = "SELECT rowid FROM tweets_fts WHERE tweets_fts MATCH ?1"
			 " AND rowid < ?2 AND rowid > ?3 ORDER BY rowid ASC LIMIT ?4",
	[Q_RANKED] = "SELECT rowid, chirp_rank(tweets_fts, ?5) FROM tweets_fts"
		     " WHERE tweets_fts MATCH ?1 AND rowid < ?2 AND rowid > ?3"
		     " ORDER BY rowid DESC LIMIT ?4",
	[Q_USERS] = "SELECT rowid, bm25(users_fts, 4.0, 1.0) FROM users_fts"
		    " WHERE users_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2",
	[Q_HANDLE] = "SELECT rowid, handle FROM users_fts WHERE users_fts MATCH ?1 LIMIT 16",
	[Q_VARIANT] = "SELECT word FROM word_variants WHERE variant = ?1 AND src = ?2",
	[Q_PREFIX_WORDS] = "SELECT word FROM words WHERE src = 0 AND word >= ?1 AND word < ?2"
			   " LIMIT ?3",
	[Q_DF_TWEETS] = "SELECT doc FROM tweets_vocab WHERE term = ?1",
	[Q_DF_USERS] = "SELECT doc FROM users_vocab WHERE term = ?1",
};

/*
 * Document frequencies, remembered for a while. fts5vocab counts a term's
 * documents by walking its posting list: milliseconds for a common word,
 * which is exactly the word queried most. A common word's count barely
 * moves in a minute, and a rare word is cheap to count again.
 */
#define DF_SLOTS 4096 /* a power of two; the table is emptied when 3/4 full */
#define DF_TERM_MAX 63
#define DF_TTL_MS 60000

struct df_entry {
	uint64_t fetched_ms; /* 0: empty slot */
	int64_t docs;
	uint8_t src, len;
	char term[DF_TERM_MAX];
};

struct fts5_reader {
	struct search_reader base;
	sqlite3 *db;
	struct search_words *words;
	sqlite3_stmt *st[Q_COUNT]; /* prepared on first use */
	struct df_entry *df;       /* DF_SLOTS */
	size_t df_used;
};

static struct search_reader *fts5_reader_new(struct search *base)
{
	struct fts5_search *s = (struct fts5_search *)base;
	struct fts5_reader *r = xcalloc(1, sizeof(*r));
	r->base.ops = &search_fts5_ops;
	struct strbuf err = STRBUF_INIT;
	r->db = open_db(s->path, false, &err);
	if (!r->db)
		die("search: reader: %s", err.data);
	r->words = search_words_new(r->db);
	if (!r->words)
		die("search: cannot make a tokenizer");
	r->df = xcalloc(DF_SLOTS, sizeof(*r->df));
	return &r->base;
}

static void fts5_reader_free(struct search_reader *base)
{
	struct fts5_reader *r = (struct fts5_reader *)base;
	if (!r)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	search_words_free(r->words);
	sqlite3_close(r->db);
	free(r->df);
	free(r);
}

static sqlite3_stmt *stmt(struct fts5_reader *r, enum query_stmt which)
{
	if (!r->st[which] && sqlite3_prepare_v3(r->db, query_sql[which], -1,
						SQLITE_PREPARE_PERSISTENT, &r->st[which],
						NULL) != SQLITE_OK) {
		log_error("search: preparing '%s': %s", query_sql[which], sqlite3_errmsg(r->db));
		return NULL;
	}
	return r->st[which];
}

/* What a query word is, once tokenized: how many words, and the first. */
struct analysis {
	size_t nwords;
	size_t len;
	char word[WORD_BYTES + 1];
};

static void on_analysed(void *arg, const char *w, size_t len)
{
	struct analysis *a = arg;
	if (a->nwords++ == 0 && len <= WORD_BYTES) {
		memcpy(a->word, w, len);
		a->word[len] = '\0';
		a->len = len;
	}
}

static void analyse(struct fts5_reader *r, const char *s, size_t len, struct analysis *a)
{
	memset(a, 0, sizeof(*a));
	search_words(r->words, s, len, false, on_analysed, a);
}

/* Typo candidates of one query word: vocabulary words within its edit
 * budget, the most common first. */
struct candidate {
	char word[WORD_BYTES + 1];
	size_t len;
	int64_t docs;
	unsigned dist; /* edits from the query word */
};

struct candidate_search {
	struct fts5_reader *r;
	enum src src;
	const char *word;
	size_t len;
	unsigned edits;
	struct candidate found[CANDIDATES_SEEN];
	size_t n;
};

static struct df_entry *df_slot(struct fts5_reader *r, enum src src, const char *w, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)src; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)w[i]) * 1099511628211ull;
	for (size_t i = h & (DF_SLOTS - 1);; i = (i + 1) & (DF_SLOTS - 1)) {
		struct df_entry *e = &r->df[i];
		if (!e->fetched_ms || (e->src == src && e->len == len && memcmp(e->term, w, len) == 0))
			return e;
	}
}

static int64_t doc_count(struct fts5_reader *r, enum src src, const char *w, size_t len)
{
	uint64_t now = time_now_ms();
	struct df_entry *e = len <= DF_TERM_MAX ? df_slot(r, src, w, len) : NULL;
	if (e && e->fetched_ms && now - e->fetched_ms < DF_TTL_MS)
		return e->docs;
	sqlite3_stmt *st = stmt(r, src == SRC_TWEETS ? Q_DF_TWEETS : Q_DF_USERS);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, w, (int)len, SQLITE_STATIC);
	int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	/* A zero is not kept: most often the word's first tweet is still on
	 * its way to the index, and a recount of nothing is cheap. */
	if (!e || n == 0)
		return n;
	if (!e->fetched_ms) {
		if (r->df_used >= DF_SLOTS / 4 * 3) {
			memset(r->df, 0, DF_SLOTS * sizeof(*r->df));
			r->df_used = 0;
			e = df_slot(r, src, w, len);
		}
		r->df_used++;
		e->src = (uint8_t)src;
		e->len = (uint8_t)len;
		memcpy(e->term, w, len);
	}
	e->docs = n;
	e->fetched_ms = now ? now : 1;
	return n;
}

static void probe_variant(void *arg, const char *v, size_t vlen)
{
	struct candidate_search *cs = arg;
	sqlite3_stmt *st = stmt(cs->r, Q_VARIANT);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, v, (int)vlen, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, cs->src);
	while (sqlite3_step(st) == SQLITE_ROW && cs->n < CANDIDATES_SEEN) {
		const char *w = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (!w || len > WORD_BYTES || (len == cs->len && memcmp(w, cs->word, len) == 0))
			continue;
		bool seen = false;
		for (size_t i = 0; i < cs->n && !seen; i++)
			seen = cs->found[i].len == len && memcmp(cs->found[i].word, w, len) == 0;
		unsigned dist = seen ? cs->edits + 1 : fuzzy_distance(cs->word, cs->len, w, len,
								       cs->edits);
		if (dist > cs->edits)
			continue;
		struct candidate *c = &cs->found[cs->n++];
		memcpy(c->word, w, len);
		c->word[len] = '\0';
		c->len = len;
		c->dist = dist;
	}
	sqlite3_reset(st);
}

static int by_docs(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	return (x->docs < y->docs) - (x->docs > y->docs);
}

static size_t candidates(struct fts5_reader *r, enum src src, const struct analysis *a,
			 struct candidate_search *cs)
{
	cs->r = r;
	cs->src = src;
	cs->word = a->word;
	cs->len = a->len;
	cs->n = 0;
	cs->edits = fuzzy_max_edits(fuzzy_chars(a->word, a->len));
	if (!cs->edits || a->nwords != 1 || a->word[0] == '#' || a->word[0] == '@' ||
	    has_digit(a->word, a->len))
		return 0;
	fuzzy_variants(a->word, a->len, cs->edits, probe_variant, cs);
	for (size_t i = 0; i < cs->n; i++)
		cs->found[i].docs = doc_count(r, src, cs->found[i].word, cs->found[i].len);
	qsort(cs->found, cs->n, sizeof(cs->found[0]), by_docs);
	while (cs->n && cs->found[cs->n - 1].docs == 0)
		cs->n--; /* words whose documents are all gone */
	return cs->n < CANDIDATES_MAX ? cs->n : CANDIDATES_MAX;
}

/* An FTS5 string: the text in double quotes, quotes doubled. Inside one,
 * FTS5 operators are plain text for the tokenizer. */
static void quoted(struct strbuf *b, const char *s, size_t len)
{
	strbuf_append_char(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			strbuf_append_char(b, '"');
		strbuf_append_char(b, s[i]);
	}
	strbuf_append_char(b, '"');
}

/* A MATCH expression, and the document frequency of each of its phrases
 * in order, for chirp_rank. */
struct match {
	struct strbuf expr;
	double df[SEARCH_RANK_PHRASES_MAX];
	size_t nphrases;
};

static void match_init(struct match *m)
{
	strbuf_init(&m->expr);
	m->nphrases = 0;
}

static void add_phrase(struct match *m, double df)
{
	if (m->nphrases < SEARCH_RANK_PHRASES_MAX)
		m->df[m->nphrases] = df;
	m->nphrases++;
}

struct rarest {
	struct fts5_reader *r;
	enum src src;
	double df; /* of the rarest word so far; -1 before the first */
};

static void on_stem(void *arg, const char *w, size_t len)
{
	struct rarest *x = arg;
	double df = (double)doc_count(x->r, x->src, w, len);
	if (x->df < 0 || df < x->df)
		x->df = df;
}

/* How many documents hold a term: those of its rarest word, a bound good
 * enough to weigh it by; -1 for a prefix, which stands for many words. */
static double term_docs(struct fts5_reader *r, enum src src, const char *s, size_t len,
			enum search_term_kind kind)
{
	if (kind == SEARCH_PREFIX)
		return -1;
	struct rarest x = {r, src, -1};
	search_words(r->words, s, len, true, on_stem, &x);
	return x.df;
}

/*
 * A prefix longer than the prefix indexes, as an OR of the vocabulary's
 * words it begins: FTS5 walks an OR newest first and stops at the page,
 * where for a prefix it has no index of it merges the lists of all those
 * words in memory first (all of `coffee`'s tweets for `coffe*`). Appends
 * `("w1" OR "w2" ...)` to b and returns how many words; 0, appending nothing, when
 * the prefix is short enough for an index, begins no known word (it may
 * still begin a stem) or more than PREFIX_WORDS: FTS5's prefix query then.
 * Every word of tweets longer than PREFIX_INDEXED is in the vocabulary
 * (record_word), so the OR finds what the prefix would, but for a stem
 * that begins otherwise than its word.
 */
static size_t prefix_words(struct fts5_reader *r, const struct analysis *a, struct strbuf *b)
{
	if (a->nwords != 1 || fuzzy_chars(a->word, a->len) <= PREFIX_INDEXED ||
	    (unsigned char)a->word[a->len - 1] == 0xff)
		return 0;
	sqlite3_stmt *st = stmt(r, Q_PREFIX_WORDS);
	if (!st)
		return 0;
	char end[WORD_BYTES + 1]; /* the first string after every word so begun */
	memcpy(end, a->word, a->len);
	end[a->len - 1]++;
	sqlite3_bind_text(st, 1, a->word, (int)a->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, end, (int)a->len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, PREFIX_WORDS + 1);
	struct strbuf words = STRBUF_INIT;
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW && ++n <= PREFIX_WORDS) {
		strbuf_append(&words, n > 1 ? " OR " : "(", n > 1 ? 4 : 1);
		quoted(&words, (const char *)sqlite3_column_text(st, 0),
		       (size_t)sqlite3_column_bytes(st, 0));
	}
	sqlite3_reset(st);
	if (n > PREFIX_WORDS)
		n = 0;
	if (n) {
		strbuf_append(b, words.data, words.len);
		strbuf_append_char(b, ')');
	}
	strbuf_deinit(&words);
	return n;
}

/*
 * The MATCH expressions of a query: `exact` as typed, and `fuzzy` with
 * typo candidates ORed into each plain word (empty if there are none).
 * Terms that tokenize to nothing are left out. With `users`, every word is
 * also a prefix (people are found as their names are typed) and no column
 * is named; tweet terms search only the text column.
 */
static void build_match(struct fts5_reader *r, const struct search_query *q, bool users,
			struct match *exact, struct match *fuzzy)
{
	bool any_fuzzy = false;
	const char *col = users ? "" : "text : ";
	enum src src = users ? SRC_USERS : SRC_TWEETS;
	for (size_t i = 0; i < q->nterms; i++) {
		const struct search_term *t = &q->terms[i];
		struct analysis a;
		analyse(r, t->text, t->len, &a);
		if (a.nwords == 0)
			continue;
		enum search_term_kind kind = t->kind;
		if (kind == SEARCH_PREFIX && fuzzy_chars(a.word, a.len) < PREFIX_MIN && a.nwords == 1)
			kind = SEARCH_WORD;
		if (users && kind == SEARCH_WORD)
			kind = SEARCH_PREFIX;
		struct strbuf term = STRBUF_INIT;
		size_t nphrases = !users && kind == SEARCH_PREFIX ? prefix_words(r, &a, &term) : 0;
		if (!nphrases) {
			quoted(&term, t->text, t->len);
			if (kind == SEARCH_PREFIX)
				strbuf_append(&term, " *", 2);
			nphrases = 1;
		}
		double df = term_docs(r, src, t->text, t->len, kind);
		struct candidate_search cs;
		size_t nc = t->kind == SEARCH_WORD ? candidates(r, src, &a, &cs) : 0;
		for (int pass = 0; pass < 2; pass++) {
			struct match *m = pass ? fuzzy : exact;
			struct strbuf *b = &m->expr;
			if (b->len)
				strbuf_append(b, " AND ", 5);
			strbuf_appendf(b, "%s(", col);
			strbuf_append(b, term.data, term.len);
			for (size_t k = 0; k < nphrases; k++)
				add_phrase(m, df); /* a prefix's words weigh alike */
			for (size_t k = 0; pass && k < nc; k++) {
				strbuf_append(b, " OR ", 4);
				quoted(b, cs.found[k].word, cs.found[k].len);
				add_phrase(m, (double)cs.found[k].docs);
			}
			strbuf_append_char(b, ')');
		}
		any_fuzzy |= nc > 0;
		strbuf_deinit(&term);
	}
	if (!any_fuzzy) {
		strbuf_reset(&fuzzy->expr);
		fuzzy->nphrases = 0;
	}
}

static void add_author(struct strbuf *b, uint64_t author_id)
{
	if (b->len)
		strbuf_append(b, " AND ", 5);
	strbuf_appendf(b, "author : \"from_%llu\"", (unsigned long long)author_id);
}

/* The WINDOW newest matches of `match`, scored, appended to hits (skipping
 * those already seen). */
static int ranked(struct fts5_reader *r, const struct match *m, const struct store_page *p,
		  int tier, struct search_hit *hits, size_t *n, const struct search_seen *seen)
{
	sqlite3_stmt *st = stmt(r, Q_RANKED);
	if (!st)
		return STORE_ERROR;
	size_t nphrases = m->nphrases < SEARCH_RANK_PHRASES_MAX ? m->nphrases
								: SEARCH_RANK_PHRASES_MAX;
	sqlite3_bind_text(st, 1, m->expr.data, (int)m->expr.len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, m->df, (int)(nphrases * sizeof(double)), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)(p->before > INT64_MAX ? INT64_MAX : p->before));
	sqlite3_bind_int64(st, 3, (int64_t)(p->after > INT64_MAX ? INT64_MAX : p->after));
	sqlite3_bind_int(st, 4, WINDOW);
	uint64_t now = time_now_ms();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
		if (search_seen_has(seen, id))
			continue;
		double score = sqlite3_column_double(st, 1);
		hits[(*n)++] = (struct search_hit){id, search_hit_recency(score, id, now), tier};
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("search: %s", sqlite3_errmsg(r->db));
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int recent(struct fts5_reader *r, const char *match, const struct store_page *p,
		  uint64_t *ids, size_t *n)
{
	sqlite3_stmt *st = stmt(r, p->oldest_first ? Q_RECENT_ASC : Q_RECENT);
	if (!st)
		return STORE_ERROR;
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)(p->before > INT64_MAX ? INT64_MAX : p->before));
	sqlite3_bind_int64(st, 3, (int64_t)(p->after > INT64_MAX ? INT64_MAX : p->after));
	sqlite3_bind_int(st, 4, (int)p->limit);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < p->limit)
		ids[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("search: %s", sqlite3_errmsg(r->db));
		return STORE_ERROR;
	}
	if (p->oldest_first)
		for (size_t i = 0, j = *n; i + 1 < j; i++, j--) {
			uint64_t t = ids[i];
			ids[i] = ids[j - 1];
			ids[j - 1] = t;
		}
	return STORE_OK;
}

static void match_deinit(struct match *m)
{
	strbuf_deinit(&m->expr);
}

static int fts5_tweets(struct search_reader *base, const struct search_request *req,
		       uint64_t *ids, size_t *n)
{
	struct fts5_reader *r = (struct fts5_reader *)base;
	*n = 0;
	struct match exact, fuzzy;
	match_init(&exact);
	match_init(&fuzzy);
	build_match(r, req->query, false, &exact, &fuzzy);
	int rc = STORE_OK;
	if (!exact.expr.len && !req->has_author)
		goto out; /* nothing searchable: no results */
	if (req->has_author) {
		add_author(&exact.expr, req->author_id);
		if (fuzzy.expr.len)
			add_author(&fuzzy.expr, req->author_id);
	}
	if (req->sort == SEARCH_RECENT) {
		/* Newest first has no tiers to put typo matches below exact
		 * ones, so it takes them only when nothing matches as typed. */
		const char *expr = exact.expr.data;
		if (fuzzy.expr.len) {
			struct store_page any = {.before = UINT64_MAX, .limit = 1};
			uint64_t one;
			size_t found = 0;
			rc = recent(r, exact.expr.data, &any, &one, &found);
			if (rc == STORE_OK && !found)
				expr = fuzzy.expr.data;
		}
		if (rc == STORE_OK)
			rc = recent(r, expr, &req->page, ids, n);
		goto out;
	}
	struct search_hit *hits = xmalloc(2 * WINDOW * sizeof(*hits));
	size_t nh = 0;
	rc = ranked(r, &exact, &req->page, 0, hits, &nh, NULL);
	if (rc == STORE_OK && fuzzy.expr.len &&
	    !search_hits_page_full(nh, req->offset, req->page.limit)) {
		struct search_seen seen;
		search_seen_init(&seen, hits, nh);
		rc = ranked(r, &fuzzy, &req->page, 1, hits, &nh, &seen);
		search_seen_deinit(&seen);
	}
	if (rc == STORE_OK) {
		search_hits_sort(hits, nh);
		for (size_t i = req->offset; i < nh && *n < req->page.limit; i++)
			ids[(*n)++] = hits[i].id;
	}
	free(hits);
out:
	match_deinit(&exact);
	match_deinit(&fuzzy);
	return rc;
}

static int by_dist(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	return (x->dist > y->dist) - (x->dist < y->dist);
}

/* The user whose handle is the whole query (case aside) comes first. */
static bool exact_handle(const struct search_query *q, const char *handle)
{
	if (q->nterms != 1 || q->terms[0].kind == SEARCH_PHRASE)
		return false;
	size_t len = q->terms[0].len;
	return strlen(handle) == len && strncasecmp(handle, q->terms[0].text, len) == 0;
}

/* The user whose handle is the whole query, if any, as tier -1: found
 * directly, so no number of similar names can push it out of the window. */
static int handle_hit(struct fts5_reader *r, const struct search_query *q,
		      struct search_hit *hits, size_t *n)
{
	if (q->nterms != 1 || q->terms[0].kind == SEARCH_PHRASE)
		return STORE_OK;
	sqlite3_stmt *st = stmt(r, Q_HANDLE);
	if (!st)
		return STORE_ERROR;
	struct strbuf match = STRBUF_INIT;
	strbuf_append(&match, "handle : ", 9);
	quoted(&match, q->terms[0].text, q->terms[0].len);
	sqlite3_bind_text(st, 1, match.data, (int)match.len, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *handle = (const char *)sqlite3_column_text(st, 1);
		if (handle && exact_handle(q, handle))
			hits[(*n)++] =
				(struct search_hit){(uint64_t)sqlite3_column_int64(st, 0), 0, -1};
	}
	sqlite3_reset(st);
	strbuf_deinit(&match);
	if (rc != SQLITE_DONE) {
		log_error("search: %s", sqlite3_errmsg(r->db));
		return STORE_ERROR;
	}
	return STORE_OK;
}

/*
 * The users whose handle is within a typo of the whole one-word query
 * (fuzzy_handle_edits), as tier 1, nearest first: after what matched as
 * typed, before what matched through a typo of a word, for a handle typed
 * in full is a strong sign of whom the query means. Not asked when a
 * handle is the query itself: that one is meant, and its neighbours
 * (user12345 for user12344) would only be noise.
 */
static int handle_typo_hits(struct fts5_reader *r, const struct search_query *q,
			    struct search_hit *hits, size_t *n, const struct search_seen *seen)
{
	const struct search_term *t = &q->terms[0];
	char h[FUZZY_HANDLE_MAX_CHARS + 1];
	if (q->nterms != 1 || t->kind != SEARCH_WORD || !fuzzy_handle_fold(t->text, t->len, h))
		return STORE_OK;
	struct candidate_search cs = {.r = r, .src = SRC_HANDLES, .word = h, .len = t->len};
	cs.edits = fuzzy_handle_edits(t->len);
	if (!cs.edits)
		return STORE_OK;
	fuzzy_variants(h, t->len, cs.edits, probe_variant, &cs);
	if (!cs.n)
		return STORE_OK;
	qsort(cs.found, cs.n, sizeof(cs.found[0]), by_dist);
	size_t nc = cs.n < HANDLE_CANDIDATES ? cs.n : HANDLE_CANDIDATES;
	sqlite3_stmt *st = stmt(r, Q_HANDLE);
	if (!st)
		return STORE_ERROR;
	struct strbuf match = STRBUF_INIT;
	strbuf_append(&match, "handle : (", 10);
	for (size_t k = 0; k < nc; k++) {
		if (k)
			strbuf_append(&match, " OR ", 4);
		quoted(&match, cs.found[k].word, cs.found[k].len);
	}
	strbuf_append_char(&match, ')');
	sqlite3_bind_text(st, 1, match.data, (int)match.len, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
		const char *handle = (const char *)sqlite3_column_text(st, 1);
		if (!handle || search_seen_has(seen, id))
			continue;
		size_t len = strlen(handle);
		for (size_t k = 0; k < nc; k++)
			if (cs.found[k].len == len && strncasecmp(handle, cs.found[k].word, len) == 0) {
				hits[(*n)++] = (struct search_hit){id, cs.found[k].dist, 1};
				break;
			}
	}
	sqlite3_reset(st);
	strbuf_deinit(&match);
	if (rc != SQLITE_DONE) {
		log_error("search: %s", sqlite3_errmsg(r->db));
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int users_tier(struct fts5_reader *r, const char *match, int tier, struct search_hit *hits,
		      size_t *n, const struct search_seen *seen)
{
	sqlite3_stmt *st = stmt(r, Q_USERS);
	if (!st)
		return STORE_ERROR;
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, WINDOW);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
		if (search_seen_has(seen, id))
			continue;
		hits[(*n)++] = (struct search_hit){id, sqlite3_column_double(st, 1), tier};
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_error("search: %s", sqlite3_errmsg(r->db));
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int fts5_users(struct search_reader *base, const struct search_query *query,
		      unsigned limit, unsigned offset, uint64_t *ids, size_t *n)
{
	struct fts5_reader *r = (struct fts5_reader *)base;
	*n = 0;
	/* People are searched by name: "@alice" means "alice". */
	struct search_query bare = *query;
	const struct search_query *q = &bare;
	for (size_t i = 0; i < bare.nterms; i++)
		if (bare.terms[i].len > 1 && bare.terms[i].text[0] == '@')
			bare.terms[i].text++, bare.terms[i].len--;
	struct match exact, fuzzy;
	match_init(&exact);
	match_init(&fuzzy);
	build_match(r, q, true, &exact, &fuzzy);
	int rc = STORE_OK;
	if (exact.expr.len) {
		/* the handle (Q_HANDLE's LIMIT), tier 0, handle typos, tier 2 */
		struct search_hit *hits = xmalloc((2 * WINDOW + 32) * sizeof(*hits));
		size_t nh = 0;
		rc = handle_hit(r, q, hits, &nh);
		bool handle_found = nh > 0;
		struct search_seen seen;
		search_seen_init(&seen, hits, nh);
		if (rc == STORE_OK)
			rc = users_tier(r, exact.expr.data, 0, hits, &nh, &seen);
		search_seen_deinit(&seen);
		if (rc == STORE_OK && !handle_found) {
			search_seen_init(&seen, hits, nh);
			rc = handle_typo_hits(r, q, hits, &nh, &seen);
			search_seen_deinit(&seen);
		}
		if (rc == STORE_OK && fuzzy.expr.len) {
			search_seen_init(&seen, hits, nh);
			rc = users_tier(r, fuzzy.expr.data, 2, hits, &nh, &seen);
			search_seen_deinit(&seen);
		}
		if (rc == STORE_OK) {
			search_hits_sort(hits, nh);
			for (size_t i = offset; i < nh && *n < limit; i++)
				ids[(*n)++] = hits[i].id;
		}
		free(hits);
	}
	match_deinit(&exact);
	match_deinit(&fuzzy);
	return rc;
}

const struct search_ops search_fts5_ops = {
	.name = "fts5",
	.open = fts5_open,
	.close = fts5_close,
	.reader_new = fts5_reader_new,
	.reader_free = fts5_reader_free,
	.tweets = fts5_tweets,
	.users = fts5_users,
	.notify = fts5_notify,
	.forget_tweet = fts5_forget_tweet,
	.stats = fts5_stats,
};
