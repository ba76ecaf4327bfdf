/*
 * chirp-gen — bulk-loads a chirp database for benchmarks, straight into
 * SQLite (not over HTTP), with the schema of the store adapter.
 *
 *   chirp-gen --data DIR --users N --follows AVG --tweets N --tokens N [--seed S]
 *             [--words FILE]
 *   chirp-gen --data DIR --add-tweets N [--seed S] [--words FILE]
 *   chirp-gen --fsync-ceiling DIR [--seconds S]
 *
 * The social graph is realistic in the way that matters to a feed: who is
 * followed follows a Zipf law (exponent 1), so a few accounts have tens of
 * thousands of followers (celebrities, never fanned out) and most have a
 * handful. Each user follows AVG/2..3*AVG/2 others. Tweets get uniformly
 * random authors and time-ordered ids over the last 30 days; --add-tweets
 * backfills older history, so recent pages stay the same while the table
 * grows (the "feed at 1M vs 10M tweets" comparison). Tweet text follows a
 * Zipf law over a dictionary's words (see "text" below), for search.
 *
 * Besides DIR/chirp.db it writes DIR/tokens.txt (`user_id token`: valid
 * bearer tokens), DIR/tweet_ids.txt (a sample of tweet ids) and
 * DIR/fanout_pairs.txt (`author_id author_token followers_count
 * follower_token`: authors at several follower counts, for the fanout
 * delay). Every user's password is "benchpassword".
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/credentials.h"
#include "store/sqlite.h"
#include "util/id.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

#define DAY_MS (86400ull * 1000)
#define TWEET_SAMPLE 100000
#define DEFAULT_WORDS "/usr/share/dict/words"

/* ---- a seeded PRNG (splitmix64): the same seed builds the same data ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

static double rnd_unit(void)
{
	return (double)(rnd() >> 11) / (double)(1ull << 53);
}

/* ---- sqlite helpers ---- */

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die("sqlite: %s: %s", sql, msg ? msg : "?");
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("sqlite: %s: %s", sql, sqlite3_errmsg(db));
	return st;
}

static void step_reset(sqlite3 *db, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die("sqlite: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
}

static sqlite3 *open_db(const char *dir)
{
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT;
	strbuf_appendf(&path, "%s/%s", dir, STORE_SQLITE_FILE);
	sqlite3 *db;
	if (sqlite3_open(path.data, &db) != SQLITE_OK)
		die("cannot open %s", path.data);
	if (store_sqlite_configure(db, &err) || store_sqlite_migrate(db, STORE_SQLITE_SCHEMA_VERSION, &err))
		die("%s", err.data);
	exec(db, "PRAGMA synchronous=OFF; PRAGMA cache_size=-500000;");
	strbuf_deinit(&path);
	strbuf_deinit(&err);
	return db;
}

/* Drops the secondary indexes of `table` and returns the SQL that makes
 * them again (read back from the schema, so it always matches). Bulk
 * inserts then build each index once, in order, instead of row by row. */
static char *drop_indexes(sqlite3 *db, const char *table)
{
	struct strbuf make = STRBUF_INIT, drop = STRBUF_INIT;
	sqlite3_stmt *st = prepare(db, "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
				       " AND tbl_name = ?1 AND sql IS NOT NULL");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		strbuf_appendf(&make, "%s;", (const char *)sqlite3_column_text(st, 1));
		strbuf_appendf(&drop, "DROP INDEX %s;", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (drop.len)
		exec(db, drop.data);
	strbuf_deinit(&drop);
	return strbuf_detach(&make, NULL);
}

static void make_indexes(sqlite3 *db, char *sql)
{
	if (*sql)
		exec(db, sql);
	free(sql);
}

/* ---- tokens ---- */

/* A bearer token from the PRNG, and its hash as the store keeps it. */
static void token_make(char *text, uint8_t *hash)
{
	unsigned char raw[TOKEN_RAW_LEN];
	for (size_t i = 0; i < sizeof(raw); i += 8) {
		uint64_t r = rnd();
		memcpy(raw + i, &r, 8);
	}
	sodium_bin2base64(text, TOKEN_TEXT_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (!credentials_token_hash(text, TOKEN_TEXT_LEN, hash))
		die("token_make: made an invalid token");
}

/* ---- text ---- */

/*
 * Tweet text is words drawn with a Zipf law (exponent 1) from a vocabulary,
 * as words are in real text: a few are in a large share of all tweets
 * (long posting lists, the search index's hard case), most are rare. The
 * vocabulary is the theme words below, at the top ranks in this order (so
 * the benchmarks' query words stay common: bench/search.sh), then the words
 * of a dictionary (/usr/share/dict/words, Debian's wamerican) in an order
 * shuffled by --seed. Some tweets carry a #hashtag (a word of the top ranks)
 * or an @mention (a random user's handle). The same seed and dictionary
 * make the same text.
 */
static const char *const theme_words[] = {
	"the", "feed", "timeline", "chirp", "coffee", "morning", "running", "runs", "search",
	"fanout", "cache", "hello", "world", "today", "music", "cafe", "night", "weekend", "code",
	"release", "bug", "fix", "ship", "team", "great", "news", "photo", "city", "rain", "sun",
	"systems", "friend", "latency", "throughput", "durable", "fsync", "queue",
};

#define THEME_WORDS (sizeof(theme_words) / sizeof(theme_words[0]))
#define HASHTAG_RANKS 200  /* hashtags are words of the top ranks */
#define HASHTAG_PERCENT 25 /* of tweets */
#define MENTION_PERCENT 15

struct vocabulary {
	char **words;
	size_t n;
	double *cdf;  /* zipf_cdf(n) */
	size_t users; /* mentions name user0..user<users - 1> */
};

static double *zipf_cdf(size_t n);
static size_t zipf_pick(const double *cdf, size_t n);

/* A dictionary word worth tweeting: lowercase ASCII letters only (no
 * possessives, no proper nouns), not a theme word already ranked. */
static bool dictionary_word(const char *w)
{
	if (!*w)
		return false;
	for (const char *c = w; *c; c++)
		if (*c < 'a' || *c > 'z')
			return false;
	for (size_t i = 0; i < THEME_WORDS; i++)
		if (strcmp(w, theme_words[i]) == 0)
			return false;
	return true;
}

/* Loads the vocabulary (caller frees with vocabulary_deinit); dies if the
 * dictionary cannot be read. Uses the PRNG (the shuffle). */
static void vocabulary_init(struct vocabulary *v, const char *dict_path, size_t users)
{
	FILE *f = fopen(dict_path, "r");
	if (!f)
		die("cannot read the word list %s: %s (Debian package wamerican; `make deps`"
		    " installs it)",
		    dict_path, strerror(errno));
	size_t cap = 1 << 17;
	v->words = xmalloc(cap * sizeof(char *));
	v->n = 0;
	for (size_t i = 0; i < THEME_WORDS; i++)
		v->words[v->n++] = xstrdup(theme_words[i]);
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!dictionary_word(line))
			continue;
		if (v->n == cap)
			v->words = xrealloc(v->words, (cap *= 2) * sizeof(char *));
		v->words[v->n++] = xstrdup(line);
	}
	fclose(f);
	if (v->n == THEME_WORDS)
		die("no words in %s", dict_path);
	for (size_t i = v->n - 1; i > THEME_WORDS; i--) { /* Fisher-Yates, theme words stay */
		size_t j = THEME_WORDS + rnd_below(i - THEME_WORDS + 1);
		char *t = v->words[i];
		v->words[i] = v->words[j];
		v->words[j] = t;
	}
	v->cdf = zipf_cdf(v->n);
	v->users = users;
}

static void vocabulary_deinit(struct vocabulary *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->words[i]);
	free(v->words);
	free(v->cdf);
}

/* Appends `w` (with a space before it unless first) if it fits in cap. */
static bool append_word(char *out, size_t *n, size_t cap, const char *prefix, const char *w)
{
	size_t pl = strlen(prefix), wl = strlen(w);
	if (*n + pl + wl + 1 >= cap)
		return false;
	if (*n)
		out[(*n)++] = ' ';
	memcpy(out + *n, prefix, pl);
	memcpy(out + *n + pl, w, wl);
	*n += pl + wl;
	return true;
}

static size_t make_text(const struct vocabulary *v, char *out, size_t cap)
{
	size_t n = 0, target = 20 + rnd_below(120);
	bool tag = rnd_below(100) < HASHTAG_PERCENT, mention = rnd_below(100) < MENTION_PERCENT;
	char handle[32];
	if (mention) {
		snprintf(handle, sizeof(handle), "user%llu", (unsigned long long)rnd_below(v->users));
		append_word(out, &n, cap, "@", handle);
	}
	while (n < target && append_word(out, &n, cap, "", v->words[zipf_pick(v->cdf, v->n)]))
		;
	if (tag) {
		size_t ranks = v->n < HASHTAG_RANKS ? v->n : HASHTAG_RANKS;
		append_word(out, &n, cap, "#", v->words[rnd_below(ranks)]);
	}
	out[n] = '\0';
	return n;
}

/* ---- generation ---- */

struct graph {
	size_t users;
	uint64_t *user_ids;
	uint32_t *followers, *following, *tweets; /* counts */
};

/* Zipf(1) over popularity ranks: cdf[r] = P(rank <= r). */
static double *zipf_cdf(size_t n)
{
	double *cdf = xmalloc(n * sizeof(double)), sum = 0;
	for (size_t r = 0; r < n; r++)
		sum += 1.0 / (double)(r + 1);
	double acc = 0;
	for (size_t r = 0; r < n; r++) {
		acc += 1.0 / (double)(r + 1) / sum;
		cdf[r] = acc;
	}
	cdf[n - 1] = 1.0;
	return cdf;
}

static size_t zipf_pick(const double *cdf, size_t n)
{
	double u = rnd_unit();
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void gen_follows(sqlite3 *db, struct graph *g, unsigned avg)
{
	size_t n = g->users;
	double *cdf = zipf_cdf(n);
	uint32_t *by_rank = xmalloc(n * sizeof(uint32_t)); /* popularity rank -> user */
	for (size_t i = 0; i < n; i++)
		by_rank[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd_below(i + 1);
		uint32_t t = by_rank[i];
		by_rank[i] = by_rank[j];
		by_rank[j] = t;
	}
	uint32_t *mark = xcalloc(n, sizeof(uint32_t)); /* mark[v] == u + 1: u follows v */
	uint32_t *picks = xmalloc((avg * 2 + 2) * sizeof(uint32_t));
	char *index_sql = drop_indexes(db, "follows");
	sqlite3_stmt *ins = prepare(db, "INSERT INTO follows (id, follower_id, followee_id) VALUES (?1, ?2, ?3)");
	uint64_t follow_id = id_make(time_now_ms() - 400 * DAY_MS, 1, 0), edges = 0;
	for (size_t u = 0; u < n; u++) {
		size_t want = avg / 2 + rnd_below(avg + 1), k = 0;
		if (want > n - 1)
			want = n - 1;
		for (size_t tries = 0; k < want && tries < want * 20; tries++) {
			uint32_t v = by_rank[zipf_pick(cdf, n)];
			if (v == u || mark[v] == u + 1)
				continue;
			mark[v] = (uint32_t)u + 1;
			picks[k++] = v;
		}
		qsort(picks, k, sizeof(uint32_t), cmp_u32); /* the unique index grows in order */
		for (size_t i = 0; i < k; i++) {
			sqlite3_bind_int64(ins, 1, (int64_t)follow_id++);
			sqlite3_bind_int64(ins, 2, (int64_t)g->user_ids[u]);
			sqlite3_bind_int64(ins, 3, (int64_t)g->user_ids[picks[i]]);
			step_reset(db, ins);
			g->following[u]++;
			g->followers[picks[i]]++;
		}
		edges += k;
	}
	sqlite3_finalize(ins);
	make_indexes(db, index_sql);
	fprintf(stderr, "chirp-gen: %llu follows\n", (unsigned long long)edges);
	free(picks);
	free(mark);
	free(by_rank);
	free(cdf);
}

/* Inserts n tweets with ids spread over [from_ms, to_ms), oldest first,
 * by random users of g; samples some ids into `sample`. */
static void gen_tweets(sqlite3 *db, struct graph *g, const struct vocabulary *v, uint64_t n,
		       uint64_t from_ms, uint64_t to_ms, FILE *sample)
{
	char *index_sql = drop_indexes(db, "tweets");
	sqlite3_stmt *ins = prepare(db, "INSERT INTO tweets (id, author_id, text) VALUES (?1, ?2, ?3)");
	uint64_t stride = n > TWEET_SAMPLE ? n / TWEET_SAMPLE : 1, last_ms = 0;
	uint32_t seq = 0;
	char text[TEXT_MAX + 1];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t ms = from_ms + (to_ms - from_ms) * i / n;
		seq = ms == last_ms ? seq + 1 : 0;
		if (seq >> ID_SEQ_BITS)
			die("more than 4096 tweets in one millisecond: widen the time range");
		last_ms = ms;
		uint64_t id = id_make(ms, 2, seq);
		size_t author = rnd_below(g->users);
		size_t len = make_text(v, text, sizeof(text));
		sqlite3_bind_int64(ins, 1, (int64_t)id);
		sqlite3_bind_int64(ins, 2, (int64_t)g->user_ids[author]);
		sqlite3_bind_text(ins, 3, text, (int)len, SQLITE_STATIC);
		step_reset(db, ins);
		g->tweets[author]++;
		if (sample && i % stride == 0)
			fprintf(sample, "%llu\n", (unsigned long long)id);
		if (i && i % 1000000 == 0)
			fprintf(stderr, "chirp-gen: %llu tweets\n", (unsigned long long)i);
	}
	sqlite3_finalize(ins);
	make_indexes(db, index_sql);
}

static FILE *open_out(const char *dir, const char *name)
{
	struct strbuf p = STRBUF_INIT;
	strbuf_appendf(&p, "%s/%s", dir, name);
	FILE *f = fopen(p.data, "w");
	if (!f)
		die("cannot write %s: %s", p.data, strerror(errno));
	strbuf_deinit(&p);
	return f;
}

/* Gives user u a session; writes its token into `text`. */
/* A session made now (its id says when), used now: well inside the idle
 * expiry. */
static void add_session(sqlite3_stmt *ins, sqlite3 *db, uint64_t user_id, char *text)
{
	static uint32_t seq;
	uint8_t hash[TOKEN_HASH_LEN];
	token_make(text, hash);
	uint64_t now = time_now_ms();
	sqlite3_bind_blob(ins, 1, hash, sizeof(hash), SQLITE_TRANSIENT);
	sqlite3_bind_int64(ins, 2, (int64_t)user_id);
	sqlite3_bind_int64(ins, 3, (int64_t)id_make(now - (seq >> 12), 3, seq & 0xfff));
	seq++;
	sqlite3_bind_int64(ins, 4, (int64_t)now);
	step_reset(db, ins);
}

/* Sessions for `count` random users, and fanout pairs at several follower
 * counts. Follower lookups read the follows table. */
static void gen_sessions(sqlite3 *db, struct graph *g, size_t count, const char *dir)
{
	sqlite3_stmt *ins = prepare(db, "INSERT OR IGNORE INTO sessions (token_hash, user_id, id,"
				     " last_used_ms) VALUES (?1, ?2, ?3, ?4)");
	FILE *tokens = open_out(dir, "tokens.txt");
	char text[TOKEN_TEXT_LEN + 1];
	size_t n = g->users;
	size_t *order = xmalloc(n * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 0; i < count && i < n; i++) {
		size_t j = i + rnd_below(n - i);
		size_t t = order[i];
		order[i] = order[j];
		order[j] = t;
		add_session(ins, db, g->user_ids[order[i]], text);
		fprintf(tokens, "%llu %s\n", (unsigned long long)g->user_ids[order[i]], text);
	}
	fclose(tokens);
	free(order);

	/* Authors near each target follower count, and a few celebrities. */
	static const uint32_t targets[] = {10, 100, 1000, 5000, 10000, 20000, 50000};
	FILE *pairs = open_out(dir, "fanout_pairs.txt");
	sqlite3_stmt *one = prepare(db, "SELECT follower_id FROM follows WHERE followee_id = ?1 LIMIT 1");
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		for (int copies = 0; copies < 3; copies++) {
			size_t best = SIZE_MAX;
			for (size_t u = 0; u < n; u++) {
				uint32_t f = g->followers[u];
				if (f == 0 || f > targets[t] || f < targets[t] / 2)
					continue;
				if (best == SIZE_MAX || rnd_below(4) == 0)
					best = u;
			}
			if (best == SIZE_MAX)
				break;
			char author_tok[TOKEN_TEXT_LEN + 1], follower_tok[TOKEN_TEXT_LEN + 1];
			add_session(ins, db, g->user_ids[best], author_tok);
			sqlite3_bind_int64(one, 1, (int64_t)g->user_ids[best]);
			if (sqlite3_step(one) != SQLITE_ROW)
				die("a followed user without followers");
			uint64_t follower = (uint64_t)sqlite3_column_int64(one, 0);
			sqlite3_reset(one);
			add_session(ins, db, follower, follower_tok);
			fprintf(pairs, "%llu %s %u %s\n", (unsigned long long)g->user_ids[best], author_tok,
				g->followers[best], follower_tok);
		}
	}
	sqlite3_finalize(one);
	sqlite3_finalize(ins);
	fclose(pairs);
}

static void write_users(sqlite3 *db, struct graph *g, const char *pwhash)
{
	sqlite3_stmt *ins = prepare(db, "INSERT INTO users (id, handle, display_name, password_hash,"
					" followers_count, following_count, tweets_count)"
					" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	char handle[32], name[48];
	for (size_t u = 0; u < g->users; u++) {
		snprintf(handle, sizeof(handle), "user%zu", u);
		snprintf(name, sizeof(name), "User %zu", u);
		sqlite3_bind_int64(ins, 1, (int64_t)g->user_ids[u]);
		sqlite3_bind_text(ins, 2, handle, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, pwhash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, g->followers[u]);
		sqlite3_bind_int64(ins, 6, g->following[u]);
		sqlite3_bind_int64(ins, 7, g->tweets[u]);
		step_reset(db, ins);
	}
	sqlite3_finalize(ins);
}

static void graph_init(struct graph *g, size_t users)
{
	g->users = users;
	g->user_ids = xcalloc(users, sizeof(uint64_t));
	g->followers = xcalloc(users, sizeof(uint32_t));
	g->following = xcalloc(users, sizeof(uint32_t));
	g->tweets = xcalloc(users, sizeof(uint32_t));
}

static void graph_deinit(struct graph *g)
{
	free(g->user_ids);
	free(g->followers);
	free(g->following);
	free(g->tweets);
}

static int generate(const char *dir, const char *dict, size_t users, unsigned avg, uint64_t tweets,
		    size_t tokens)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		die("cannot create %s: %s", dir, strerror(errno));
	struct strbuf p = STRBUF_INIT;
	strbuf_appendf(&p, "%s/%s", dir, STORE_SQLITE_FILE);
	struct stat st;
	if (stat(p.data, &st) == 0)
		die("%s exists: generate into an empty directory", p.data);
	strbuf_deinit(&p);

	char pwhash[PWHASH_MAX];
	if (credentials_password_hash("benchpassword", 13, pwhash))
		die("cannot hash the password");
	sqlite3 *db = open_db(dir);
	struct graph g;
	graph_init(&g, users);
	uint64_t now = time_now_ms(), start = now - 400 * DAY_MS;
	for (size_t u = 0; u < users; u++) /* sign-ups spread over the first 300 days */
		g.user_ids[u] = id_make(start + 300 * DAY_MS * u / users, 0, (uint32_t)(u & 0xfff));

	uint64_t t0 = time_mono_ns();
	exec(db, "BEGIN");
	gen_follows(db, &g, avg);
	struct vocabulary v;
	vocabulary_init(&v, dict, users);
	FILE *sample = open_out(dir, "tweet_ids.txt");
	gen_tweets(db, &g, &v, tweets, now - 30 * DAY_MS, now - 1000, sample);
	fclose(sample);
	vocabulary_deinit(&v);
	write_users(db, &g, pwhash);
	gen_sessions(db, &g, tokens, dir);
	exec(db, "COMMIT");
	exec(db, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;");
	sqlite3_close(db);
	fprintf(stderr, "chirp-gen: %zu users, %llu tweets in %.1f s\n", users,
		(unsigned long long)tweets, (double)(time_mono_ns() - t0) / 1e9);
	graph_deinit(&g);
	return 0;
}

/* Backfills n tweets older than every tweet in the database. */
static int add_tweets(const char *dir, const char *dict, uint64_t n)
{
	sqlite3 *db = open_db(dir);
	struct graph g;
	sqlite3_stmt *q = prepare(db, "SELECT count(*) FROM users");
	if (sqlite3_step(q) != SQLITE_ROW)
		die("cannot count users");
	graph_init(&g, (size_t)sqlite3_column_int64(q, 0));
	sqlite3_finalize(q);
	if (g.users == 0)
		die("no users in %s: generate first", dir);
	q = prepare(db, "SELECT id FROM users ORDER BY id");
	for (size_t u = 0; sqlite3_step(q) == SQLITE_ROW; u++)
		g.user_ids[u] = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = prepare(db, "SELECT min(id) FROM tweets");
	uint64_t oldest = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL
				  ? id_unix_ms((uint64_t)sqlite3_column_int64(q, 0))
				  : time_now_ms();
	sqlite3_finalize(q);

	uint64_t t0 = time_mono_ns();
	exec(db, "BEGIN");
	struct vocabulary v;
	vocabulary_init(&v, dict, g.users);
	gen_tweets(db, &g, &v, n, oldest - 365 * DAY_MS, oldest - 1, NULL);
	vocabulary_deinit(&v);
	sqlite3_stmt *up = prepare(db, "UPDATE users SET tweets_count = tweets_count + ?2 WHERE id = ?1");
	for (size_t u = 0; u < g.users; u++) {
		if (!g.tweets[u])
			continue;
		sqlite3_bind_int64(up, 1, (int64_t)g.user_ids[u]);
		sqlite3_bind_int64(up, 2, g.tweets[u]);
		step_reset(db, up);
	}
	sqlite3_finalize(up);
	exec(db, "COMMIT");
	exec(db, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;");
	sqlite3_close(db);
	fprintf(stderr, "chirp-gen: added %llu tweets in %.1f s\n", (unsigned long long)n,
		(double)(time_mono_ns() - t0) / 1e9);
	graph_deinit(&g);
	return 0;
}

/* The durable-write ceiling: one row per transaction, each COMMIT an fsync
 * (WAL, synchronous=FULL) — what a server without group commit can do. */
static int fsync_ceiling(const char *dir, double seconds)
{
	struct strbuf p = STRBUF_INIT;
	strbuf_appendf(&p, "%s/fsync-ceiling.db", dir);
	remove(p.data);
	sqlite3 *db;
	if (sqlite3_open(p.data, &db) != SQLITE_OK)
		die("cannot open %s", p.data);
	exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		 "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
	sqlite3_stmt *ins = prepare(db, "INSERT INTO t (body) VALUES ('a tweet of ordinary length, "
					"about a hundred bytes, the size chirp commits per post.')");
	uint64_t t0 = time_mono_ns(), n = 0;
	while ((double)(time_mono_ns() - t0) / 1e9 < seconds) {
		step_reset(db, ins);
		n++;
	}
	double secs = (double)(time_mono_ns() - t0) / 1e9;
	sqlite3_finalize(ins);
	sqlite3_close(db);
	remove(p.data);
	strbuf_appendf(&p, "-wal");
	remove(p.data);
	strbuf_deinit(&p);
	printf("fsync_ceiling_inserts_per_sec %.1f\n", (double)n / secs);
	return 0;
}

static const char usage[] =
	"Usage:\n"
	"  chirp-gen --data DIR --users N --follows AVG --tweets N --tokens N [--seed S]\n"
	"            [--words FILE]\n"
	"  chirp-gen --data DIR --add-tweets N [--seed S] [--words FILE]\n"
	"  (--words: the dictionary tweets draw words from, " DEFAULT_WORDS ")\n"
	"  chirp-gen --fsync-ceiling DIR [--seconds S]\n";

int main(int argc, char **argv)
{
	const char *dir = NULL, *ceiling = NULL, *dict = DEFAULT_WORDS;
	unsigned long long users = 0, avg = 50, tweets = 0, tokens = 1000, add = 0, seed = 1;
	double seconds = 3;
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},   {"users", required_argument, NULL, 'u'},
		{"follows", required_argument, NULL, 'f'}, {"tweets", required_argument, NULL, 't'},
		{"tokens", required_argument, NULL, 'k'}, {"add-tweets", required_argument, NULL, 'a'},
		{"seed", required_argument, NULL, 's'},   {"fsync-ceiling", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 'S'}, {"words", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'u': users = strtoull(optarg, NULL, 10); break;
		case 'f': avg = strtoull(optarg, NULL, 10); break;
		case 't': tweets = strtoull(optarg, NULL, 10); break;
		case 'k': tokens = strtoull(optarg, NULL, 10); break;
		case 'a': add = strtoull(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'c': ceiling = optarg; break;
		case 'S': seconds = strtod(optarg, NULL); break;
		case 'w': dict = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	rng_state = seed;
	if (credentials_init(PWHASH_INTERACTIVE) != 0)
		die("libsodium failed to initialise");
	if (ceiling)
		return fsync_ceiling(ceiling, seconds);
	if (dir && add)
		return add_tweets(dir, dict, add);
	if (!dir || users < 2 || avg < 1 || avg >= users) {
		fputs(usage, stderr);
		return 2;
	}
	return generate(dir, dict, (size_t)users, (unsigned)avg, tweets, (size_t)tokens);
}
