/*
 * test_search_pg — the search port's PostgreSQL adapter (search/postgres.c)
 * against a real PostgreSQL, following a store of the test's own (a few
 * arrays behind tweets_after and users_after), with ids as real snowflake
 * ids, far above 2^53.
 *
 * CHIRP_TEST_PG_URL names the server (postgresql://USER@HOST:PORT/DB, as
 * tests/pg/pgserver.py prints it); the test makes a database of its own
 * there and drops it at the end. Without the variable it skips, saying so.
 *
 * Covers what tests/http/test_search.py asks of the embedded index, so both
 * adapters answer alike: stemming, diacritics and case; #tags and @mentions
 * whole; phrases; prefixes; typos, ranked after exact matches, and taken by
 * newest-first only when nothing else matches; from:; recent paging by ids
 * both ways and relevance paging by offset; users by handle (exact first,
 * prefix, typo, trigrams), a typo in a whole handle with digits (nearest
 * first), by display name, every word required; schema 1 upgraded by
 * indexing its users again; forget
 * removing a tweet; a restart resuming from the watermark, not from zero;
 * queries made of tsquery and SQL syntax answering without an error;
 * connections the server dropped made again, by readers and the indexer;
 * a database refusing connections an error at once, then recovered from;
 * three nodes creating the schema together and indexing one store side by
 * side, each tweet once; and an unreachable server refusing open with a
 * reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "search/search.h"
#include "util/id.h"
#include "util/timeutil.h"

/* ---- a store that only grows ---- */

#define MEM_TWEETS 512
#define MEM_USERS 64

static struct {
	struct store store;
	struct store_reader reader;
	pthread_mutex_t lock;
	struct tweet tweets[MEM_TWEETS];
	size_t ntweets;
	struct user users[MEM_USERS];
	size_t nusers;
	uint64_t ms; /* of the last id made */
	uint32_t seq;
} mem = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct store_reader *mem_reader_new(struct store *s)
{
	(void)s;
	return &mem.reader;
}

static void mem_reader_free(struct store_reader *r)
{
	(void)r;
}

static int mem_tweets_after(struct store_reader *r, uint64_t after, unsigned limit,
			    struct tweet *out, uint64_t *cursors, size_t *n)
{
	(void)r;
	pthread_mutex_lock(&mem.lock);
	*n = 0;
	for (size_t i = 0; i < mem.ntweets && *n < limit; i++)
		if (mem.tweets[i].id > after) {
			cursors[*n] = mem.tweets[i].id;
			out[(*n)++] = mem.tweets[i];
		}
	pthread_mutex_unlock(&mem.lock);
	return STORE_OK;
}

static int mem_users_after(struct store_reader *r, uint64_t after, unsigned limit,
			   struct user *out, uint64_t *cursors, size_t *n)
{
	(void)r;
	pthread_mutex_lock(&mem.lock);
	*n = 0;
	for (size_t i = 0; i < mem.nusers && *n < limit; i++)
		if (mem.users[i].id > after) {
			cursors[*n] = mem.users[i].id;
			out[(*n)++] = mem.users[i];
		}
	pthread_mutex_unlock(&mem.lock);
	return STORE_OK;
}

static const struct store_ops mem_ops = {
	.name = "mem",
	.reader_new = mem_reader_new,
	.reader_free = mem_reader_free,
	.tweets_after = mem_tweets_after,
	.users_after = mem_users_after,
};

/* A new id, greater than all before (the store's order is by id). */
static uint64_t new_id(void)
{
	uint64_t now = time_now_ms();
	if (now > mem.ms) {
		mem.ms = now;
		mem.seq = 0;
	} else if (++mem.seq >= 4096) {
		mem.ms++;
		mem.seq = 0;
	}
	return id_make(mem.ms, 7, mem.seq);
}

static uint64_t add_user(const char *handle, const char *name)
{
	pthread_mutex_lock(&mem.lock);
	assert_true(mem.nusers < MEM_USERS);
	struct user *u = &mem.users[mem.nusers++];
	memset(u, 0, sizeof(*u));
	u->id = new_id();
	snprintf(u->handle, sizeof(u->handle), "%s", handle);
	snprintf(u->display_name, sizeof(u->display_name), "%s", name);
	uint64_t id = u->id;
	pthread_mutex_unlock(&mem.lock);
	return id;
}

static uint64_t post(uint64_t author, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint64_t post(uint64_t author, const char *fmt, ...)
{
	pthread_mutex_lock(&mem.lock);
	assert_true(mem.ntweets < MEM_TWEETS);
	struct tweet *t = &mem.tweets[mem.ntweets++];
	memset(t, 0, sizeof(*t));
	t->id = new_id();
	t->author_id = author;
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(t->text, sizeof(t->text), fmt, ap);
	va_end(ap);
	t->text_len = (size_t)len;
	uint64_t id = t->id;
	pthread_mutex_unlock(&mem.lock);
	return id;
}

/* ---- the database ---- */

static char *server_url; /* CHIRP_TEST_PG_URL */
static char *db_url;     /* our own database on it */
static char db_name[64];

/* The URL with its database replaced by `db`. */
static char *url_with_db(const char *url, const char *db)
{
	const char *query = strchr(url, '?');
	size_t end = query ? (size_t)(query - url) : strlen(url);
	const char *hosts = strstr(url, "://");
	size_t start = hosts ? (size_t)(hosts - url) + 3 : 0;
	const char *slash = memchr(url + start, '/', end - start);
	size_t cut = slash ? (size_t)(slash - url) : end;
	size_t n = cut + 1 + strlen(db) + strlen(url + end) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%.*s/%s%s", (int)cut, url, db, url + end);
	return out;
}

static void admin(const char *sql)
{
	PGconn *c = PQconnectdb(server_url);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "test_search_pg: %s: %s", server_url, PQerrorMessage(c));
		abort();
	}
	PGresult *res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "test_search_pg: %s: %s", sql, PQresultErrorMessage(res));
		abort();
	}
	PQclear(res);
	PQfinish(c);
}

static int group_setup(void **state)
{
	(void)state;
	mem.store.ops = &mem_ops;
	mem.reader.ops = &mem_ops;
	snprintf(db_name, sizeof(db_name), "chirp_search_test_%ld_%d", (long)time(NULL),
		 (int)getpid());
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db_name);
	admin(sql);
	db_url = url_with_db(server_url, db_name);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db_name);
	admin(sql);
	free(db_url);
	return 0;
}

/* Runs sql on our database; returns the first column of the first row. */
static long long db_value(const char *sql)
{
	PGconn *c = PQconnectdb(db_url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	long long v = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	PQfinish(c);
	return v;
}

/* ---- the index under test ---- */

static struct search *ix;
static struct search_reader *rd;

static struct search *open_index(void)
{
	struct strbuf err = STRBUF_INIT;
	struct search_options opt = {.pg_conninfo = db_url, .store = &mem.store};
	struct search *s = search_postgres_ops.open(&opt, &err);
	if (!s)
		fail_msg("open: %s", err.data);
	strbuf_deinit(&err);
	return s;
}

static int setup(void **state)
{
	(void)state;
	ix = open_index();
	rd = ix->ops->reader_new(ix);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rd->ops->reader_free(rd);
	ix->ops->close(ix);
	return 0;
}

/* Until the index has everything the store has: a last tweet is posted
 * and waited for (users and tweets are indexed in one transaction, users
 * first, so they are in too). */
static void sync_index(void)
{
	uint64_t last = post(0, "zzzsentinel");
	ix->ops->notify(ix);
	uint64_t until = time_now_ms() + 20000;
	struct search_stats st;
	do {
		ix->ops->stats(ix, &st);
		if (st.watermark_tweet >= last)
			return;
		usleep(5000);
	} while (time_now_ms() < until);
	fail_msg("the index did not catch up (failing: %d)", st.failing);
}

/* Consonants only: the stemmer leaves such words alone. */
static void word(char *out, size_t n)
{
	static const char letters[] = "bcdfghjkmnpqrtvwxz";
	for (size_t i = 0; i < n; i++)
		out[i] = letters[(unsigned)rand() % (sizeof(letters) - 1)];
	out[n] = '\0';
}

#define IDS_MAX 64

struct found {
	uint64_t ids[IDS_MAX];
	size_t n;
};

static struct found search_page(const char *q, enum search_sort sort, uint64_t author,
				struct store_page page, unsigned offset)
{
	struct search_query query;
	search_query_parse(q, strlen(q), &query);
	struct search_request req = {.query = &query, .sort = sort, .page = page,
				     .offset = offset, .has_author = author != 0,
				     .author_id = author};
	struct found f = {0};
	int rc = rd->ops->tweets(rd, &req, f.ids, &f.n);
	if (rc != STORE_OK)
		fail_msg("search %s: %d", q, rc);
	return f;
}

static struct found search(const char *q, enum search_sort sort)
{
	struct store_page page = {.before = UINT64_MAX, .limit = IDS_MAX};
	return search_page(q, sort, 0, page, 0);
}

static struct found users(const char *q)
{
	struct search_query query;
	search_query_parse(q, strlen(q), &query);
	struct found f = {0};
	int rc = rd->ops->users(rd, &query, IDS_MAX, 0, f.ids, &f.n);
	if (rc != STORE_OK)
		fail_msg("users %s: %d", q, rc);
	return f;
}

/* The result is exactly these ids, in this order (0-terminated). */
#define expect(f, ...) expect_ids(f, #f, (const uint64_t[]){__VA_ARGS__, 0})
static void expect_ids(struct found f, const char *what, const uint64_t *want)
{
	size_t n = 0;
	while (want[n])
		n++;
	bool same = f.n == n;
	for (size_t i = 0; same && i < n; i++)
		same = f.ids[i] == want[i];
	if (!same) {
		fprintf(stderr, "%s: got", what);
		for (size_t i = 0; i < f.n; i++)
			fprintf(stderr, " %llu", (unsigned long long)f.ids[i]);
		fprintf(stderr, "; want");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %llu", (unsigned long long)want[i]);
		fprintf(stderr, "\n");
		fail();
	}
}

static void expect_none(struct found f)
{
	assert_int_equal(f.n, 0);
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The same ids in any order. */
#define expect_set(f, ...) expect_set_ids(f, #f, (const uint64_t[]){__VA_ARGS__, 0})
static void expect_set_ids(struct found f, const char *what, const uint64_t *want)
{
	uint64_t w[IDS_MAX + 1];
	size_t n = 0;
	while (want[n] && n < IDS_MAX)
		w[n] = want[n], n++;
	qsort(w, n, sizeof(w[0]), by_id);
	w[n] = 0;
	qsort(f.ids, f.n, sizeof(f.ids[0]), by_id);
	expect_ids(f, what, w);
}

/* ---- the tests ---- */

static void test_stemming_matches_other_forms(void **state)
{
	(void)state;
	char m[10], q[64];
	word(m, 9);
	uint64_t a = post(1, "%s I was running late", m);
	uint64_t b = post(1, "%s she runs every day", m);
	uint64_t c = post(1, "%s a good run", m);
	post(1, "%s nothing to see", m);
	sync_index();
	const char *forms[] = {"run", "running", "runs"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(q, sizeof(q), "%s %s", m, forms[i]);
		expect_set(search(q, SEARCH_RELEVANCE), a, b, c);
	}
}

static void test_diacritics_and_case(void **state)
{
	(void)state;
	char m[10], q[64];
	word(m, 9);
	uint64_t a = post(1, "%s Café crème brûlée", m);
	sync_index();
	const char *forms[] = {"cafe", "CAFE", "café", "Creme", "brulee", "BRÛLÉE"};
	for (size_t i = 0; i < 6; i++) {
		snprintf(q, sizeof(q), "%s %s", m, forms[i]);
		expect(search(q, SEARCH_RELEVANCE), a);
	}
}

static void test_hashtags_and_mentions_stay_whole(void **state)
{
	(void)state;
	char m[10], tag[8], q[64];
	word(m, 9);
	word(tag, 6);
	uint64_t t = post(1, "%s loving #%s today", m, tag);
	uint64_t w = post(1, "%s the word %s alone", m, tag);
	uint64_t at = post(1, "%s hello @%s", m, tag);
	sync_index();
	snprintf(q, sizeof(q), "%s #%s", m, tag);
	expect(search(q, SEARCH_RELEVANCE), t);
	snprintf(q, sizeof(q), "%s @%s", m, tag);
	expect(search(q, SEARCH_RELEVANCE), at);
	snprintf(q, sizeof(q), "%s %s", m, tag);
	expect_set(search(q, SEARCH_RELEVANCE), t, w, at);
	snprintf(q, sizeof(q), "%s #%.3s*", m, tag);
	expect(search(q, SEARCH_RELEVANCE), t);
}

static void test_phrase_needs_the_words_in_order(void **state)
{
	(void)state;
	char m[10], q[64];
	word(m, 9);
	uint64_t fox = post(1, "%s the quick brown fox", m);
	uint64_t other = post(1, "%s brown and quick", m);
	sync_index();
	snprintf(q, sizeof(q), "%s \"quick brown\"", m);
	expect(search(q, SEARCH_RELEVANCE), fox);
	snprintf(q, sizeof(q), "%s \"brown quick\"", m);
	expect_none(search(q, SEARCH_RELEVANCE));
	snprintf(q, sizeof(q), "%s quick brown", m);
	expect_set(search(q, SEARCH_RELEVANCE), fox, other);
	/* stems inside a phrase too: "running fast" is "run" then "fast" */
	uint64_t ran = post(1, "%s kept running fast", m);
	sync_index();
	snprintf(q, sizeof(q), "%s \"runs fast\"", m);
	expect(search(q, SEARCH_RELEVANCE), ran);
}

static void test_prefix(void **state)
{
	(void)state;
	char m[10], p[6], q[64];
	word(m, 9);
	word(p, 5);
	uint64_t a = post(1, "%s %sological studies", m, p);
	uint64_t b = post(1, "%s %sx", m, p);
	post(1, "%s unrelated", m);
	sync_index();
	snprintf(q, sizeof(q), "%s %s*", m, p);
	expect(search(q, SEARCH_RELEVANCE), b, a);
	snprintf(q, sizeof(q), "%s %solo*", m, p);
	expect(search(q, SEARCH_RELEVANCE), a);
}

static void edit(char *w, size_t i)
{
	w[i] = w[i] != 'a' ? 'a' : 'e';
}

static void test_typos_match_after_exact(void **state)
{
	(void)state;
	char m[10], shrt[7], lng[11], q[64], typo[16];
	word(m, 9);
	word(shrt, 6);
	word(lng, 10);
	uint64_t both = post(1, "%s %s and %s", m, shrt, lng);
	sync_index();
	strcpy(typo, shrt);
	edit(typo, 2);
	snprintf(q, sizeof(q), "%s %s", m, typo);
	expect(search(q, SEARCH_RELEVANCE), both); /* a substitution */
	snprintf(q, sizeof(q), "%s %.3s%s", m, shrt, shrt + 4);
	expect(search(q, SEARCH_RELEVANCE), both); /* a deletion */
	snprintf(q, sizeof(q), "%s %.3sa%s", m, shrt, shrt + 3);
	expect(search(q, SEARCH_RELEVANCE), both); /* an insertion */
	snprintf(q, sizeof(q), "%s %c%c%c%s", m, shrt[0], shrt[2], shrt[1], shrt + 3);
	expect(search(q, SEARCH_RELEVANCE), both); /* neighbours swapped */
	strcpy(typo, shrt);
	edit(typo, 1);
	edit(typo, 4);
	snprintf(q, sizeof(q), "%s %s", m, typo);
	expect_none(search(q, SEARCH_RELEVANCE)); /* two edits: too many for six letters */
	strcpy(typo, lng);
	edit(typo, 1);
	edit(typo, 6);
	snprintf(q, sizeof(q), "%s %s", m, typo);
	expect(search(q, SEARCH_RELEVANCE), both); /* fine for ten */

	/* The exact match is the older tweet: relevance puts it first all
	 * the same; newest first takes the typo only while nothing else
	 * matches. */
	char w[8], wt[8];
	word(w, 7);
	strcpy(wt, w);
	wt[3] = 'a';
	uint64_t typo_first = post(1, "%s %s", m, wt);
	sync_index();
	snprintf(q, sizeof(q), "%s %s", m, w);
	expect(search(q, SEARCH_RECENT), typo_first);
	uint64_t exact = post(1, "%s %s", m, w);
	sync_index();
	expect(search(q, SEARCH_RECENT), exact);
	expect(search(q, SEARCH_RELEVANCE), exact, typo_first);
	snprintf(q, sizeof(q), "%s %s", m, wt);
	expect(search(q, SEARCH_RELEVANCE), typo_first, exact);
}

static void test_from_filters_by_author(void **state)
{
	(void)state;
	char m[10], q[64];
	word(m, 9);
	uint64_t alice = id_make(time_now_ms() - 1000, 3, 1); /* above 2^53 */
	uint64_t bob = alice + 1;
	uint64_t a = post(alice, "%s from alice", m);
	uint64_t b = post(bob, "%s from bob", m);
	sync_index();
	struct store_page page = {.before = UINT64_MAX, .limit = IDS_MAX};
	expect(search_page(m, SEARCH_RELEVANCE, alice, page, 0), a);
	expect(search_page(m, SEARCH_RECENT, bob, page, 0), b);
	expect(search(m, SEARCH_RECENT), b, a);
	/* from: alone: the author's tweets */
	expect(search_page("from:bob", SEARCH_RECENT, bob, page, 0), b);
	snprintf(q, sizeof(q), "%s nothingelse", m);
	expect_none(search_page(q, SEARCH_RELEVANCE, alice, page, 0));
}

static void test_recent_pages_by_ids_and_relevance_by_offset(void **state)
{
	(void)state;
	char m[10];
	word(m, 9);
	uint64_t posted[7];
	for (int i = 0; i < 7; i++)
		posted[i] = post(1, "%s number %d", m, i);
	sync_index();
	/* newest first, by `before` cursors */
	struct store_page page = {.before = UINT64_MAX, .limit = 3};
	struct found f = search_page(m, SEARCH_RECENT, 0, page, 0);
	expect(f, posted[6], posted[5], posted[4]);
	page.before = f.ids[2];
	f = search_page(m, SEARCH_RECENT, 0, page, 0);
	expect(f, posted[3], posted[2], posted[1]);
	page.before = f.ids[2];
	expect(search_page(m, SEARCH_RECENT, 0, page, 0), posted[0]);
	/* oldest first above an `after` cursor, still returned newest first */
	page = (struct store_page){.before = UINT64_MAX, .after = posted[1], .limit = 2,
				   .oldest_first = true};
	expect(search_page(m, SEARCH_RECENT, 0, page, 0), posted[3], posted[2]);
	/* relevance: offsets, no tweet twice, none left out */
	struct found all = {0};
	page = (struct store_page){.before = UINT64_MAX, .limit = 3};
	for (unsigned off = 0;; off += 3) {
		f = search_page(m, SEARCH_RELEVANCE, 0, page, off);
		for (size_t i = 0; i < f.n; i++)
			all.ids[all.n++] = f.ids[i];
		if (f.n < 3)
			break;
	}
	expect_set(all, posted[0], posted[1], posted[2], posted[3], posted[4], posted[5],
		   posted[6]);
}

static void test_users_by_handle_prefix_typo_and_name(void **state)
{
	(void)state;
	char base[8], q[64];
	word(base, 7);
	char handle[40];
	snprintf(handle, sizeof(handle), "%sxy", base);
	uint64_t longer = add_user(handle, "Zoë Q Plumber");
	uint64_t exact = add_user(base, "Someone");
	sync_index();
	/* the exact handle first, though the other also matches and is older */
	expect(users(base), exact, longer);
	snprintf(q, sizeof(q), "@%s", base);
	expect(users(q), exact, longer);
	for (char *p = q; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	expect(users(q), exact, longer); /* handles ignore case */
	/* a prefix of one handle, a typo of the other: the prefix first */
	snprintf(q, sizeof(q), "%sx", base);
	expect(users(q), longer, exact);
	snprintf(q, sizeof(q), "%.2sa%sxy", base, base + 3);
	struct found f = users(q);
	assert_true(f.n >= 1);
	assert_int_equal(f.ids[0], longer); /* a typo in a handle */
	snprintf(q, sizeof(q), "zoe plumber %s", base);
	expect(users(q), longer); /* the display name, diacritics aside */
	char other[9];
	word(other, 8);
	snprintf(q, sizeof(q), "%s %s", base, other);
	expect_none(users(q)); /* every word must match */
}

/* A handle with '_' and digits typed whole with a typo or two (its
 * length's budget, fuzzy.h): its user first, then those further away. */
static void test_users_typo_in_a_whole_handle(void **state)
{
	(void)state;
	char base[6], handle[32], near[32], q[40];
	word(base, 5);
	snprintf(handle, sizeof(handle), "%s_5b74a9", base);
	snprintf(near, sizeof(near), "%s_5b74a8", base);
	uint64_t u = add_user(handle, "Someone");
	uint64_t n = add_user(near, "Someone else"); /* newer; one edit from u */
	sync_index();
	snprintf(q, sizeof(q), "%.2sa%s_5b74a9", base, base + 3); /* alxce_5b74a9 */
	struct found f = users(q);
	assert_true(f.n >= 2); /* pg_trgm may add looser ones, last */
	assert_int_equal(f.ids[0], u);
	assert_int_equal(f.ids[1], n); /* two edits away */
	snprintf(q, sizeof(q), "%s_5b47a9", base); /* digits swapped */
	f = users(q);
	assert_true(f.n >= 2);
	assert_int_equal(f.ids[0], u);
	assert_int_equal(f.ids[1], n);
	snprintf(q, sizeof(q), "@%s_5B74A9", base); /* the handle itself, @ and case aside */
	f = users(q);
	assert_true(f.n >= 1);
	assert_int_equal(f.ids[0], u);
	/* both handles whole in the handles' vocabulary (src 2) */
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM search_words WHERE src = 2 AND word IN ('%s', '%s')", handle,
		 near);
	assert_int_equal(db_value(sql), 2);
}

static void test_users_handles_past_the_typo_budget_by_trigrams(void **state)
{
	(void)state;
	if (db_value("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") != 1)
		skip();
	char base[13], handle[32], q[32];
	word(base, 12);
	snprintf(handle, sizeof(handle), "%s2024", base);
	uint64_t u = add_user(handle, "Numbers");
	sync_index();
	/* three letters changed: past the vocabulary's two; trigrams find it */
	snprintf(q, sizeof(q), "%.3saaa%s2024", base, base + 6);
	expect(users(q), u);
}

/* An index of schema 1 had no handles in its vocabulary: opening it
 * indexes every user again. */
static void test_schema_1_indexes_its_users_again(void **state)
{
	(void)state;
	char base[6], handle[32], q[40];
	word(base, 5);
	snprintf(handle, sizeof(handle), "%s_77x1", base);
	uint64_t u = add_user(handle, "Upgraded");
	sync_index();
	teardown(NULL);
	/* data-modifying WITH queries all run, referenced or not */
	db_value("WITH v AS (UPDATE search_watermarks SET id = 1 WHERE name = 'schema' RETURNING 1),"
		 " w AS (DELETE FROM search_words WHERE src = 2 RETURNING 1),"
		 " x AS (DELETE FROM search_word_variants WHERE src = 2 RETURNING 1)"
		 " SELECT count(*) FROM v");
	setup(NULL);
	assert_int_equal(db_value("SELECT id FROM search_watermarks WHERE name = 'schema'"), 2);
	sync_index();
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM search_words WHERE src = 2 AND word = '%s'",
		 handle);
	assert_int_equal(db_value(sql), 1);
	snprintf(q, sizeof(q), "%s_7x1", base); /* one edit */
	struct found f = users(q);
	assert_true(f.n >= 1);
	assert_int_equal(f.ids[0], u);
}

static void test_forget_removes_a_tweet(void **state)
{
	(void)state;
	char m[10];
	word(m, 9);
	uint64_t keep = post(1, "%s keep me", m);
	uint64_t gone = post(1, "%s delete me", m);
	sync_index();
	expect(search(m, SEARCH_RECENT), gone, keep);
	struct search_stats before;
	ix->ops->stats(ix, &before);
	ix->ops->forget_tweet(ix, gone);
	uint64_t until = time_now_ms() + 20000;
	struct search_stats st;
	do {
		usleep(5000);
		ix->ops->stats(ix, &st);
	} while (st.tweets_removed == before.tweets_removed && time_now_ms() < until);
	expect(search(m, SEARCH_RECENT), keep);
	expect(search(m, SEARCH_RELEVANCE), keep);
	char q[64];
	snprintf(q, sizeof(q), "%s delete", m);
	expect_none(search(q, SEARCH_RELEVANCE));
}

static void test_restart_resumes_from_the_watermark(void **state)
{
	(void)state;
	char m[10];
	word(m, 9);
	uint64_t a = post(1, "%s before the restart", m);
	sync_index();
	teardown(NULL);
	/* written while no index runs */
	uint64_t b = post(1, "%s while closed", m);
	uint64_t c = post(1, "%s while closed too", m);
	setup(NULL);
	sync_index();
	struct search_stats st;
	ix->ops->stats(ix, &st);
	/* only what came after the watermark: b, c and the sentinel */
	assert_int_equal(st.tweets_indexed, 3);
	expect(search(m, SEARCH_RECENT), c, b, a);
	assert_int_equal(db_value("SELECT id FROM search_watermarks WHERE name = 'tweets'"),
			 (long long)mem.tweets[mem.ntweets - 1].id);
}

static void test_query_syntax_is_never_an_error(void **state)
{
	(void)state;
	char m[10];
	word(m, 9);
	uint64_t t = post(1, "%s still here", m);
	sync_index();
	static const char *const odd[] = {
		"&", "|", "!", "(", ")", ":", "*", "'", "\\", "<->", "a & b", "a | b", "!a",
		"(a", "a)", "a:*", "a:b", "'a'", "'", "''", "a'b", "\\'", "a\\", "a <-> b",
		"a <2> b", "a<->", "<-><->", "!!!", "&&&", "a:A", "a:*B", "'; DROP TABLE"
		" search_tweets; --", "$1", "$$", "\"", "\"\"", "\"a", "a\"b", "**", "a**",
		"from:", "from:@", "#", "@", "#@#", "🙂🙂🙂", "Ω≈ç√", "テスト", "\x01\x02",
		"'\\'' & !(x | y) <-> z:*",
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		search(odd[i], SEARCH_RELEVANCE);
		search(odd[i], SEARCH_RECENT);
		users(odd[i]);
		char q[128];
		snprintf(q, sizeof(q), "%s %s", m, odd[i]);
		search(q, SEARCH_RELEVANCE);
		snprintf(q, sizeof(q), "%s \"%s\"", m, odd[i]);
		search(q, SEARCH_RELEVANCE);
		snprintf(q, sizeof(q), "%s %s*", m, odd[i]);
		search(q, SEARCH_RECENT);
	}
	char big[SEARCH_QUERY_MAX + 1];
	memset(big, '(', SEARCH_QUERY_MAX);
	big[SEARCH_QUERY_MAX] = '\0';
	search(big, SEARCH_RELEVANCE);
	memset(big, 'a', SEARCH_QUERY_MAX);
	search(big, SEARCH_RELEVANCE);
	users(big);
	/* and the index is still fine */
	expect(search(m, SEARCH_RELEVANCE), t);
	assert_true(db_value("SELECT count(*) FROM search_tweets") > 0);
}

static void test_lost_connections_are_made_again(void **state)
{
	(void)state;
	char m[10], sql[256];
	word(m, 9);
	uint64_t a = post(1, "%s before", m);
	sync_index();
	expect(search(m, SEARCH_RELEVANCE), a);
	/* the server drops every connection of the index (reader and indexer) */
	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
		 " WHERE datname = '%s' AND application_name = 'chirp-search'",
		 db_name);
	assert_true(db_value(sql) >= 2);
	/* a read finds its connection gone and runs again on a new one */
	expect(search(m, SEARCH_RELEVANCE), a);
	/* the indexer's next batch fails, and the one after succeeds */
	uint64_t b = post(1, "%s after", m);
	sync_index();
	expect(search(m, SEARCH_RECENT), b, a);
}

/* While the database refuses connections, searches answer STORE_ERROR at
 * once (nothing crashes, nothing hangs); once it is back, readers and the
 * indexer carry on by themselves. */
static void test_unreachable_database_is_an_error_then_recovers(void **state)
{
	(void)state;
	char m[10], sql[256];
	word(m, 9);
	uint64_t a = post(1, "%s before the outage", m);
	sync_index();
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS false", db_name);
	admin(sql);
	snprintf(sql, sizeof(sql),
		 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
		 " WHERE datname = '%s' AND application_name = 'chirp-search'",
		 db_name);
	PGconn *c = PQconnectdb(server_url);
	PQclear(PQexec(c, sql));
	uint64_t b = post(1, "%s during the outage", m);
	ix->ops->notify(ix);
	struct search_query query;
	search_query_parse(m, strlen(m), &query);
	struct search_request req = {.query = &query, .sort = SEARCH_RELEVANCE,
				     .page = {.before = UINT64_MAX, .limit = 10}};
	uint64_t ids[10];
	size_t n = 99;
	uint64_t t0 = time_now_ms();
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rd->ops->tweets(rd, &req, ids, &n), STORE_ERROR);
		assert_int_equal(n, 0);
		n = 99;
		assert_int_equal(rd->ops->users(rd, &query, 10, 0, ids, &n), STORE_ERROR);
		assert_int_equal(n, 0);
	}
	assert_true(time_now_ms() - t0 < 5000);
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS true", db_name);
	admin(sql);
	PQfinish(c);
	usleep(1200 * 1000); /* the reader's pause between attempts */
	sync_index();         /* the indexer retries after its own pause */
	expect(search(m, SEARCH_RECENT), b, a);
	struct search_stats st;
	ix->ops->stats(ix, &st);
	assert_false(st.failing);
}

struct opener {
	pthread_t thread;
	const char *url;
	struct search *s;
};

static void *open_main(void *arg)
{
	struct opener *o = arg;
	struct strbuf err = STRBUF_INIT;
	struct search_options opt = {.pg_conninfo = o->url, .store = &mem.store};
	o->s = search_postgres_ops.open(&opt, &err);
	if (!o->s)
		fprintf(stderr, "open: %s\n", err.data);
	strbuf_deinit(&err);
	return NULL;
}

/* Several nodes: they create the schema together on an empty database,
 * then index the same store side by side, each tweet once. */
static void test_nodes_share_one_index(void **state)
{
	(void)state;
	char db[80], sql[160];
	snprintf(db, sizeof(db), "%s_nodes", db_name);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	admin(sql);
	char *url = url_with_db(server_url, db);
	struct opener o[3];
	for (int i = 0; i < 3; i++) {
		o[i] = (struct opener){.url = url};
		assert_int_equal(pthread_create(&o[i].thread, NULL, open_main, &o[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(o[i].thread, NULL);
		assert_non_null(o[i].s);
	}
	char m[10];
	word(m, 9);
	uint64_t last = 0;
	for (int i = 0; i < 300; i++) {
		last = post(1, "%s number %d", m, i);
		if (i % 50 == 0)
			for (int k = 0; k < 3; k++)
				o[k].s->ops->notify(o[k].s);
	}
	for (int k = 0; k < 3; k++)
		o[k].s->ops->notify(o[k].s);
	/* every tweet of the store is in, once */
	PGconn *c = PQconnectdb(url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	char want[32];
	snprintf(want, sizeof(want), "%llu", (unsigned long long)last);
	uint64_t until = time_now_ms() + 20000;
	for (;;) {
		PGresult *res = PQexec(c, "SELECT id FROM search_watermarks WHERE name = 'tweets'");
		bool done = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			    strcmp(PQgetvalue(res, 0, 0), want) == 0;
		PQclear(res);
		if (done)
			break;
		assert_true(time_now_ms() < until);
		usleep(5000);
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM search_tweets WHERE doc @@ '%s'", m);
	PGresult *res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_int_equal(atoi(PQgetvalue(res, 0, 0)), 300);
	PQclear(res);
	res = PQexec(c, "SELECT count(*) FROM search_tweets");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_int_equal(atoll(PQgetvalue(res, 0, 0)), (long long)mem.ntweets);
	PQclear(res);
	PQfinish(c);
	for (int k = 0; k < 3; k++) {
		struct search_stats st;
		o[k].s->ops->stats(o[k].s, &st);
		assert_false(st.failing);
		o[k].s->ops->close(o[k].s);
	}
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
	admin(sql);
	free(url);
}

static void test_open_fails_with_a_reason_when_unreachable(void **state)
{
	(void)state;
	struct strbuf err = STRBUF_INIT;
	struct search_options opt = {.pg_conninfo = "postgresql://127.0.0.1:1/nothing",
				     .store = &mem.store};
	assert_null(search_postgres_ops.open(&opt, &err));
	assert_non_null(strstr(err.data, "PostgreSQL"));
	strbuf_deinit(&err);
}

int main(void)
{
	server_url = getenv("CHIRP_TEST_PG_URL");
	if (!server_url || !*server_url) {
		printf("test_search_pg: skipped: CHIRP_TEST_PG_URL is not set (make unit sets it;"
		       " by hand: /usr/bin/python3 tests/pg/pgserver.py start DIR prints one)\n");
		return 0;
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stemming_matches_other_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_diacritics_and_case, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hashtags_and_mentions_stay_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_phrase_needs_the_words_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_typos_match_after_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_from_filters_by_author, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recent_pages_by_ids_and_relevance_by_offset, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_users_by_handle_prefix_typo_and_name, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_users_typo_in_a_whole_handle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_1_indexes_its_users_again, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_users_handles_past_the_typo_budget_by_trigrams, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_forget_removes_a_tweet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_resumes_from_the_watermark, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_query_syntax_is_never_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_connections_are_made_again, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unreachable_database_is_an_error_then_recovers,
					    setup, teardown),
	    cmocka_unit_test(test_nodes_share_one_index),
	    cmocka_unit_test(test_open_fails_with_a_reason_when_unreachable),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
