/*
 * postgres — the search port's PostgreSQL adapter: full-text search in the
 * same database as the store (the store adapter owns its own tables; these
 * are all prefixed search_), for chirp in cluster mode, where every node
 * must search one index.
 *
 * Tables (created on open if missing, under an advisory lock):
 *   search_tweets(id, author_id, doc)  doc: a tsvector, GIN-indexed
 *   search_users(id, handle, doc)      doc: handle terms weight A, display
 *                                      name terms weight B; lower(handle)
 *                                      indexed, and by trigrams when the
 *                                      pg_trgm extension can be had
 *   search_words(src, word)            every word seen, as typed (folded)
 *   search_word_variants(variant, src, word)  its deletion variants (fuzzy.h)
 *   search_watermarks(name, id)        the newest tweet and user indexed,
 *                                      and the schema's version
 *
 * PostgreSQL never tokenizes anything here. chirp's own tokenizer
 * (tokenizer.h: Snowball stems beside the words as written, diacritics
 * folded, #tags and @mentions whole) makes the terms, exactly those FTS5
 * indexes, and they reach PostgreSQL as tsvector and tsquery literals of
 * quoted lexemes, cast with ::tsvector and ::tsquery: what the `simple`
 * configuration would store, minus its parser, which would split "#rust".
 * Literals are always bound parameters, and every lexeme in them is quoted
 * and escaped, so nothing a user types is ever syntax, neither SQL nor
 * tsquery. Phrases are `<->` chains, prefixes `:*`.
 *
 * As in fts5.c, one indexer thread owns the writes: on a nudge or at
 * start it reads from the store everything after its watermarks and
 * indexes it in one transaction with the watermarks, which it reads FOR
 * UPDATE, so indexers of several nodes take turns instead of racing. A
 * failed batch is retried with a growing delay; a lost connection is made
 * again on next use. Readers have a connection each, made on first use
 * (and again after a failure); a reader that cannot reach the server
 * answers STORE_ERROR, quickly, without trying again for RECONNECT_MS.
 *
 * Ranking is fts5's: among the WINDOW newest matches of each tier, the
 * match's score divided by (1 + age in days / 7) (search/hits.h); tier 0 the
 * query as typed, tier 1 what matched only through a typo candidate (the
 * same vocabulary-and-variants scheme). The score is ts_rank_cd rather
 * than ts_rank: a word stored beside its stem at one position is two
 * lexemes, which ts_rank counts twice ("pological" would outrank "px" for
 * p*), while cover density counts the position once. Unlike FTS5's BM25
 * it knows nothing of how rare a word is, and it prefers query words close
 * together, so within a tier the order can differ from the embedded
 * index's in detail; tiers and recency are the same. Users are ranked as
 * in fts5.c: tier -1 the handle that is the whole query, 0 as typed, 1 the
 * handles within a typo of the whole query (their own vocabulary), nearest
 * first, 2 word typos; and a tier 3 from pg_trgm: handles similar to a
 * one-word query with more typos than fuzzy.h allows.
 *
 * Ids are bigint and travel as decimal text, never as floating point.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "search/fuzzy.h"
#include "search/hits.h"
#include "search/search.h"
#include "search/tokenizer.h"
#include "util/id.h"
#include "util/log.h"
#include "util/timeutil.h"

#define SCHEMA_VERSION 2 /* 2: handles in the vocabulary, whole */
#define READ_BATCH 256      /* rows read from the store at a time */
#define TXN_ROWS 4096       /* rows per index transaction */
#define FORGET_MAX 65536    /* deletes waiting; beyond, hydration hides them */
#define RETRY_MS 1000       /* after a failed batch; doubles up to RETRY_MAX_MS */
#define RETRY_MAX_MS 30000
#define RECONNECT_MS 1000   /* a reader that failed to connect waits this long */
#define CONNECT_TIMEOUT "5" /* seconds */
#define STATEMENT_TIMEOUT_MS 10000
#define WINDOW 1000         /* relevance ranks this many newest matches per tier */
#define CANDIDATES_MAX 4    /* typo candidates per query word */
#define CANDIDATES_SEEN 64  /* candidates considered before keeping the best */
#define HANDLE_CANDIDATES 8 /* handles within a typo of a query kept, nearest first */
#define VARIANT_ROWS "1024" /* vocabulary words read for one query word, at most */
#define DOCS_CAP 1000       /* a candidate's documents are counted up to this */
#define PREFIX_MIN 2        /* shorter prefixes are words */
#define WORD_BYTES (FUZZY_MAX_CHARS * 4)
#define LEXEME_MAX 2046     /* bytes; PostgreSQL's limit is 2047 */
#define POSITION_MAX 16383  /* tsvector positions are 1..16383 */
#define PARAMS_FLUSH 30000  /* bound parameters per multi-row INSERT */
/* pg_advisory_xact_lock key for creating the schema: "chirpsrc" in ASCII. */
#define SCHEMA_LOCK "7163091147566576227"

enum src { SRC_TWEETS = 0, SRC_USERS = 1, SRC_HANDLES = 2 };

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS search_tweets (id bigint PRIMARY KEY,"
	"  author_id bigint NOT NULL, doc tsvector NOT NULL);"
	"CREATE INDEX IF NOT EXISTS search_tweets_doc ON search_tweets USING gin (doc);"
	"CREATE INDEX IF NOT EXISTS search_tweets_author ON search_tweets (author_id, id);"
	"CREATE TABLE IF NOT EXISTS search_users (id bigint PRIMARY KEY,"
	"  handle text NOT NULL, doc tsvector NOT NULL);"
	"CREATE INDEX IF NOT EXISTS search_users_doc ON search_users USING gin (doc);"
	"CREATE INDEX IF NOT EXISTS search_users_handle ON search_users (lower(handle));"
	"CREATE TABLE IF NOT EXISTS search_words (src smallint NOT NULL, word text NOT NULL,"
	"  PRIMARY KEY (src, word));"
	"CREATE TABLE IF NOT EXISTS search_word_variants (variant text NOT NULL,"
	"  src smallint NOT NULL, word text NOT NULL, PRIMARY KEY (variant, src, word));"
	"CREATE TABLE IF NOT EXISTS search_watermarks (name text PRIMARY KEY,"
	"  id bigint NOT NULL);"
	"INSERT INTO search_watermarks VALUES ('tweets', 0), ('users', 0) ON CONFLICT DO NOTHING;";

/* ---- connections --------------------------------------------------------- */

/* A connection made on demand: NULL until first use and after a failure. */
struct pg {
	PGconn *c;
	const char *conninfo; /* the search's; outlives this */
	bool retry;           /* statements may run again on a new connection */
	uint64_t retry_ms;    /* no new attempt before this (time_now_ms) */
};

static PGconn *pg_connect(const char *conninfo, struct strbuf *err)
{
	/* Later keywords win: the operator's conninfo overrides these
	 * defaults (expand_dbname makes "dbname" the whole string). */
	static const char *const kw[] = {"connect_timeout", "keepalives", "keepalives_idle",
					 "keepalives_interval", "keepalives_count",
					 "application_name", "dbname", NULL};
	const char *val[] = {CONNECT_TIMEOUT, "1", "30", "10", "3", "chirp-search", conninfo, NULL};
	PGconn *c = PQconnectdbParams(kw, val, 1);
	if (!c)
		die("search: out of memory for a PostgreSQL connection");
	if (PQstatus(c) == CONNECTION_OK && PQsetClientEncoding(c, "UTF8") == 0) {
		char set[96];
		snprintf(set, sizeof(set),
			 "SET statement_timeout = %d; SET client_min_messages = warning",
			 STATEMENT_TIMEOUT_MS);
		PGresult *res = PQexec(c, set);
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (ok)
			return c;
	}
	/* libpq's message ends with a newline; the password is never in it. */
	const char *msg = PQerrorMessage(c);
	size_t len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	strbuf_appendf(err, "cannot connect to PostgreSQL: %.*s", (int)len, msg);
	PQfinish(c);
	return NULL;
}

/* The connection, made now if need be; NULL (logged) if it cannot be. */
static PGconn *pg_get(struct pg *p)
{
	if (p->c && PQstatus(p->c) == CONNECTION_OK)
		return p->c;
	PQfinish(p->c);
	p->c = NULL;
	uint64_t now = time_now_ms();
	if (now < p->retry_ms)
		return NULL;
	struct strbuf err = STRBUF_INIT;
	p->c = pg_connect(p->conninfo, &err);
	if (!p->c) {
		log_error("search: %s", err.data);
		p->retry_ms = now + RECONNECT_MS;
	}
	strbuf_deinit(&err);
	return p->c;
}

/* Runs sql with text parameters $1..$n (all typed by the SQL's casts).
 * Returns the result, which the caller clears, or NULL (logged) on
 * failure; a connection found broken is dropped, to be made again. A
 * reader's statement that found its connection broken (the server
 * restarted, a proxy timed it out) runs once more on a new one: reads are
 * safe to repeat, where the indexer's transaction is not. */
static PGresult *pg_exec(struct pg *p, const char *sql, int n, const char *const *vals)
{
	for (int attempt = 0;; attempt++) {
		bool fresh = !p->c || PQstatus(p->c) != CONNECTION_OK;
		PGconn *c = pg_get(p);
		if (!c)
			return NULL;
		PGresult *res = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return res;
		bool broken = PQstatus(c) != CONNECTION_OK;
		if (!broken || !p->retry || fresh || attempt) {
			const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c);
			log_error("search: PostgreSQL: %.*s", (int)strcspn(msg, "\n"), msg);
		}
		PQclear(res);
		if (broken) {
			PQfinish(c);
			p->c = NULL;
		}
		if (!broken || !p->retry || fresh || attempt)
			return NULL;
	}
}

static bool pg_run(struct pg *p, const char *sql)
{
	PGresult *res = pg_exec(p, sql, 0, NULL);
	PQclear(res);
	return res != NULL;
}

static uint64_t get_u64(const PGresult *res, int row, int col)
{
	return strtoull(PQgetvalue(res, row, col), NULL, 10);
}

/* Bound parameters: each value is copied, so callers may pass temporaries. */
struct params {
	struct strbuf buf;  /* the values, each NUL-terminated */
	size_t *off;        /* where each starts in buf */
	const char **ptr;   /* filled by params_ptrs */
	int n, cap;
};

static void params_init(struct params *p)
{
	memset(p, 0, sizeof(*p));
}

static void params_deinit(struct params *p)
{
	strbuf_deinit(&p->buf);
	free(p->off);
	free(p->ptr);
}

static void params_reset(struct params *p)
{
	strbuf_reset(&p->buf);
	p->n = 0;
}

/* Adds a value; returns its number ($n). */
static int param_text(struct params *p, const char *s, size_t len)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->off = xrealloc(p->off, (size_t)p->cap * sizeof(*p->off));
	}
	p->off[p->n] = p->buf.len;
	strbuf_append(&p->buf, s, len);
	strbuf_append_char(&p->buf, '\0');
	return ++p->n;
}

static int param_u64(struct params *p, uint64_t v)
{
	char num[24];
	int len = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return param_text(p, num, (size_t)len);
}

/* An id bound; ids fit in bigint, unbounded ones (UINT64_MAX) are clamped. */
static int param_id(struct params *p, uint64_t v)
{
	return param_u64(p, v > INT64_MAX ? INT64_MAX : v);
}

static const char *const *params_ptrs(struct params *p)
{
	p->ptr = xrealloc(p->ptr, (size_t)(p->n ? p->n : 1) * sizeof(*p->ptr));
	for (int i = 0; i < p->n; i++)
		p->ptr[i] = p->buf.data + p->off[i];
	return p->ptr;
}

static PGresult *pg_exec_params(struct pg *c, const char *sql, struct params *p)
{
	return pg_exec(c, sql, p->n, params_ptrs(p));
}

/* ---- literals ------------------------------------------------------------ */

/* A tsvector or tsquery lexeme: quoted, its quotes and backslashes doubled
 * (https://www.postgresql.org/docs/15/datatype-textsearch.html). */
static void lexeme(struct strbuf *b, const char *s, size_t len)
{
	strbuf_append_char(b, '\'');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\'' || s[i] == '\\')
			strbuf_append_char(b, s[i]);
		strbuf_append_char(b, s[i]);
	}
	strbuf_append_char(b, '\'');
}

/* An element of an array literal: double-quoted, '"' and '\' escaped. */
static void array_elem(struct strbuf *b, const char *s, size_t len)
{
	strbuf_append_char(b, b->len ? ',' : '{');
	strbuf_append_char(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			strbuf_append_char(b, '\\');
		strbuf_append_char(b, s[i]);
	}
	strbuf_append_char(b, '"');
}

static void array_end(struct strbuf *b)
{
	if (!b->len)
		strbuf_append_char(b, '{');
	strbuf_append_char(b, '}');
}

/* A document's terms as a tsvector literal. */
struct doc {
	struct strbuf *b;
	unsigned base; /* position of this field's first word, from 1 */
	unsigned last; /* the last position written */
	char weight;   /* 'A'..'D'; 0: none (D) */
};

static void on_doc_term(void *arg, const char *t, size_t len, unsigned pos)
{
	struct doc *d = arg;
	if (len == 0 || len > LEXEME_MAX)
		return;
	unsigned p = d->base + pos;
	if (p > POSITION_MAX)
		p = POSITION_MAX;
	d->last = p;
	if (d->b->len)
		strbuf_append_char(d->b, ' ');
	lexeme(d->b, t, len);
	strbuf_appendf(d->b, ":%u", p);
	if (d->weight)
		strbuf_append_char(d->b, d->weight);
}

/* ---- the indexer --------------------------------------------------------- */

struct pg_search {
	struct search base;
	char *conninfo;
	struct store *store;
	bool trgm; /* pg_trgm is installed */
	pthread_t indexer;
	bool started; /* the indexer thread runs */

	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool pending, stopping;
	uint64_t forget[FORGET_MAX]; /* tweet ids to drop */
	size_t nforget;
	struct search_stats stats;
};

/* A multi-row INSERT: `head` then one "(...)" of `ncols` parameters per
 * row, then `tail`; sent when it has PARAMS_FLUSH parameters or at the
 * end. With `on_result`, the rows it returns are handed over. */
struct rows {
	const char *head, *tail;
	const char *const *casts; /* ncols of "::bigint" and the like */
	int ncols;
	struct params p;
	void (*on_result)(void *arg, const PGresult *res);
	void *arg;
};

static void rows_init(struct rows *r, const char *head, const char *const *casts, int ncols,
		      const char *tail)
{
	memset(r, 0, sizeof(*r));
	r->head = head;
	r->casts = casts;
	r->ncols = ncols;
	r->tail = tail;
	params_init(&r->p);
}

/* The indexer thread's own state. */
struct indexer {
	struct pg_search *s;
	struct pg pg;
	struct store_reader *store;
	struct search_words *words;
	sqlite3 *tokdb; /* only for the tokenizer (tokenizer.h needs FTS5's API) */
	struct tweet *tweets; /* READ_BATCH */
	struct user *users;
	uint64_t *cursors;    /* where each row read stands in the store's order */
	struct rows tweet_rows, user_rows, word_rows, variant_rows;
	enum src src;                     /* of the words being recorded */
	uint64_t first_tweet, last_tweet; /* the oldest and newest indexed in a batch */
	bool failed;                      /* a statement failed in this transaction */
};

static void rows_flush(struct indexer *ix, struct rows *r)
{
	if (!r->p.n)
		return;
	if (!ix->failed) {
		struct strbuf sql = STRBUF_INIT;
		strbuf_append_str(&sql, r->head);
		for (int i = 0; i < r->p.n; i++) {
			if (i % r->ncols == 0)
				strbuf_append_str(&sql, i ? "), (" : " VALUES (");
			else
				strbuf_append_str(&sql, ", ");
			strbuf_appendf(&sql, "$%d%s", i + 1, r->casts[i % r->ncols]);
		}
		strbuf_append_str(&sql, ") ");
		strbuf_append_str(&sql, r->tail);
		PGresult *res = pg_exec_params(&ix->pg, sql.data, &r->p);
		if (!res)
			ix->failed = true;
		else if (r->on_result)
			r->on_result(r->arg, res);
		PQclear(res);
		strbuf_deinit(&sql);
	}
	params_reset(&r->p);
}

/* Call after adding a row's columns. */
static void rows_added(struct indexer *ix, struct rows *r)
{
	if (r->p.n >= PARAMS_FLUSH)
		rows_flush(ix, r);
}

static uint64_t watermark(struct indexer *ix, const char *name)
{
	const char *v[] = {name};
	PGresult *res = pg_exec(&ix->pg, "SELECT id FROM search_watermarks WHERE name = $1 FOR UPDATE",
				1, v);
	uint64_t id = 0;
	if (res && PQntuples(res) == 1)
		id = get_u64(res, 0, 0);
	else
		ix->failed = true;
	PQclear(res);
	return id;
}

static void set_watermark(struct indexer *ix, const char *name, uint64_t id)
{
	char num[24];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
	const char *v[] = {name, num};
	PGresult *res = pg_exec(&ix->pg,
				"UPDATE search_watermarks SET id = $2::bigint WHERE name = $1", 2, v);
	if (!res)
		ix->failed = true;
	PQclear(res);
}

static bool has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] >= '0' && s[i] <= '9')
			return true;
	return false;
}

/* A word of indexed text joins the vocabulary typo candidates come from
 * (its variants follow once the INSERT says it is new: on_new_words). */
static void record_word(void *arg, const char *w, size_t len)
{
	struct indexer *ix = arg;
	if (len && (w[0] == '#' || w[0] == '@'))
		w++, len--; /* the tag's bare word is indexed too */
	unsigned edits = fuzzy_max_edits(fuzzy_chars(w, len));
	if (!edits || has_digit(w, len))
		return;
	param_u64(&ix->word_rows.p, ix->src);
	param_text(&ix->word_rows.p, w, len);
	rows_added(ix, &ix->word_rows);
}

/* A handle joins the handles' vocabulary whole, digits and all, so that a
 * typo anywhere in it still finds its user (fuzzy_handle_edits). */
static void record_handle(struct indexer *ix, const char *handle)
{
	char h[FUZZY_HANDLE_MAX_CHARS + 1];
	size_t len = strlen(handle);
	if (!fuzzy_handle_edits(len) || !fuzzy_handle_fold(handle, len, h))
		return;
	param_u64(&ix->word_rows.p, SRC_HANDLES);
	param_text(&ix->word_rows.p, h, len);
	rows_added(ix, &ix->word_rows);
}

struct variant_call {
	struct indexer *ix;
	const char *src; /* as text */
	const char *word;
	size_t len;
};

static void put_variant(void *arg, const char *v, size_t len)
{
	struct variant_call *vc = arg;
	struct rows *r = &vc->ix->variant_rows;
	param_text(&r->p, v, len);
	param_text(&r->p, vc->src, strlen(vc->src));
	param_text(&r->p, vc->word, vc->len);
	rows_added(vc->ix, r);
}

/* The words an INSERT INTO search_words made (not known before): theirs
 * are the variants to add. */
static void on_new_words(void *arg, const PGresult *res)
{
	struct indexer *ix = arg;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *w = PQgetvalue(res, i, 1);
		size_t len = (size_t)PQgetlength(res, i, 1);
		struct variant_call vc = {ix, PQgetvalue(res, i, 0), w, len};
		unsigned edits = atoi(vc.src) == SRC_HANDLES ? fuzzy_handle_edits(len)
							      : fuzzy_max_edits(fuzzy_chars(w, len));
		fuzzy_variants(w, len, edits, put_variant, &vc);
	}
}

/* Indexes up to `budget` tweets after the watermark; returns how many. */
static size_t index_tweets(struct indexer *ix, size_t budget)
{
	const struct store_ops *ops = ix->store->ops;
	uint64_t after = watermark(ix, "tweets");
	size_t done = 0, n;
	ix->src = SRC_TWEETS;
	struct strbuf doc = STRBUF_INIT;
	while (!ix->failed && done < budget) {
		if (ops->tweets_after(ix->store, after, READ_BATCH, ix->tweets, ix->cursors, &n) !=
		    STORE_OK) {
			log_error("search: cannot read new tweets from the store");
			ix->failed = true;
			break;
		}
		for (size_t i = 0; i < n && !ix->failed; i++) {
			const struct tweet *t = &ix->tweets[i];
			strbuf_reset(&doc);
			struct doc d = {.b = &doc, .base = 1};
			search_terms(ix->words, t->text, t->text_len, on_doc_term, &d);
			struct params *p = &ix->tweet_rows.p;
			param_u64(p, t->id);
			param_u64(p, t->author_id);
			param_text(p, doc.data ? doc.data : "", doc.len);
			rows_added(ix, &ix->tweet_rows);
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
	strbuf_deinit(&doc);
	rows_flush(ix, &ix->tweet_rows);
	rows_flush(ix, &ix->word_rows);
	rows_flush(ix, &ix->variant_rows);
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
	struct strbuf doc = STRBUF_INIT;
	while (!ix->failed && done < budget) {
		if (ops->users_after(ix->store, after, READ_BATCH, ix->users, ix->cursors, &n) !=
		    STORE_OK) {
			log_error("search: cannot read new users from the store");
			ix->failed = true;
			break;
		}
		for (size_t i = 0; i < n && !ix->failed; i++) {
			const struct user *u = &ix->users[i];
			size_t hlen = strlen(u->handle), nlen = strlen(u->display_name);
			strbuf_reset(&doc);
			struct doc d = {.b = &doc, .base = 1, .weight = 'A'};
			search_terms(ix->words, u->handle, hlen, on_doc_term, &d);
			/* a gap, so that no phrase spans the handle and the name */
			d.base = d.last + 2;
			d.weight = 'B';
			search_terms(ix->words, u->display_name, nlen, on_doc_term, &d);
			struct params *p = &ix->user_rows.p;
			param_u64(p, u->id);
			param_text(p, u->handle, hlen);
			param_text(p, doc.data ? doc.data : "", doc.len);
			rows_added(ix, &ix->user_rows);
			search_words(ix->words, u->handle, hlen, false, record_word, ix);
			search_words(ix->words, u->display_name, nlen, false, record_word, ix);
			record_handle(ix, u->handle);
			after = ix->cursors[i];
		}
		done += n;
		if (n < READ_BATCH)
			break;
	}
	strbuf_deinit(&doc);
	rows_flush(ix, &ix->user_rows);
	rows_flush(ix, &ix->word_rows);
	rows_flush(ix, &ix->variant_rows);
	if (done)
		set_watermark(ix, "users", after);
	return done;
}

static void forget_tweets(struct indexer *ix, const uint64_t *ids, size_t n)
{
	if (!n || ix->failed)
		return;
	struct strbuf arr = STRBUF_INIT;
	strbuf_append_char(&arr, '{');
	for (size_t i = 0; i < n; i++)
		strbuf_appendf(&arr, "%s%llu", i ? "," : "",
			       (unsigned long long)(ids[i] > INT64_MAX ? INT64_MAX : ids[i]));
	strbuf_append_char(&arr, '}');
	const char *v[] = {arr.data};
	PGresult *res = pg_exec(&ix->pg, "DELETE FROM search_tweets WHERE id = ANY ($1::bigint[])",
				1, v);
	if (!res)
		ix->failed = true;
	PQclear(res);
	strbuf_deinit(&arr);
}

/*
 * One transaction: new users, new tweets, then the deletes. Deletes come
 * last so that a tweet read from the store just before its delete
 * committed is indexed and then dropped, never left behind.
 */
static bool index_batch(struct indexer *ix, const uint64_t *forget, size_t nforget,
			size_t *tweets, size_t *users)
{
	*tweets = *users = 0;
	ix->failed = !pg_run(&ix->pg, "BEGIN");
	if (ix->failed)
		return false;
	*users = index_users(ix, TXN_ROWS);
	*tweets = index_tweets(ix, TXN_ROWS);
	forget_tweets(ix, forget, nforget);
	if (!ix->failed)
		ix->failed = !pg_run(&ix->pg, "COMMIT");
	if (ix->failed && ix->pg.c && PQtransactionStatus(ix->pg.c) != PQTRANS_IDLE)
		pg_run(&ix->pg, "ROLLBACK");
	/* rows left unsent by a failure */
	params_reset(&ix->tweet_rows.p);
	params_reset(&ix->user_rows.p);
	params_reset(&ix->word_rows.p);
	params_reset(&ix->variant_rows.p);
	return !ix->failed;
}

/* Catches up completely; false if a batch failed. */
static bool index_round(struct indexer *ix, const uint64_t *forget, size_t nforget)
{
	struct pg_search *s = ix->s;
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
			/* known from the first batch, even one with nothing new */
			s->stats.watermark_tweet = ix->last_tweet;
			if (tweets) {
				uint64_t now = time_now_ms(), made = id_unix_ms(ix->first_tweet);
				s->stats.lag_ms = now > made ? now - made : 0;
			}
		}
		bool stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		if (!ok)
			return false;
		nforget = 0; /* done with them */
		if ((tweets < TXN_ROWS && users < TXN_ROWS) || stopping)
			return true;
	}
}

static const char *const tweet_casts[] = {"::bigint", "::bigint", "::tsvector"};
static const char *const user_casts[] = {"::bigint", "", "::tsvector"};
static const char *const word_casts[] = {"::smallint", ""};
static const char *const variant_casts[] = {"", "::smallint", ""};

static void indexer_init(struct indexer *ix, struct pg_search *s)
{
	memset(ix, 0, sizeof(*ix));
	ix->s = s;
	ix->pg.conninfo = s->conninfo;
	if (sqlite3_open(":memory:", &ix->tokdb) != SQLITE_OK ||
	    !(ix->words = search_words_new(ix->tokdb)))
		die("search: cannot make a tokenizer");
	ix->store = s->store->ops->reader_new(s->store);
	ix->tweets = xmalloc(READ_BATCH * sizeof(*ix->tweets));
	ix->users = xmalloc(READ_BATCH * sizeof(*ix->users));
	ix->cursors = xmalloc(READ_BATCH * sizeof(*ix->cursors));
	rows_init(&ix->tweet_rows, "INSERT INTO search_tweets (id, author_id, doc)", tweet_casts, 3,
		  "ON CONFLICT (id) DO UPDATE SET author_id = EXCLUDED.author_id,"
		  " doc = EXCLUDED.doc");
	rows_init(&ix->user_rows, "INSERT INTO search_users (id, handle, doc)", user_casts, 3,
		  "ON CONFLICT (id) DO UPDATE SET handle = EXCLUDED.handle, doc = EXCLUDED.doc");
	rows_init(&ix->word_rows, "INSERT INTO search_words (src, word)", word_casts, 2,
		  "ON CONFLICT DO NOTHING RETURNING src, word");
	ix->word_rows.on_result = on_new_words;
	ix->word_rows.arg = ix;
	rows_init(&ix->variant_rows, "INSERT INTO search_word_variants (variant, src, word)",
		  variant_casts, 3, "ON CONFLICT DO NOTHING");
}

static void indexer_deinit(struct indexer *ix)
{
	params_deinit(&ix->tweet_rows.p);
	params_deinit(&ix->user_rows.p);
	params_deinit(&ix->word_rows.p);
	params_deinit(&ix->variant_rows.p);
	search_words_free(ix->words);
	sqlite3_close(ix->tokdb);
	if (ix->store)
		ix->store->ops->reader_free(ix->store);
	free(ix->tweets);
	free(ix->users);
	free(ix->cursors);
	PQfinish(ix->pg.c);
}

/* Waits up to ms for close(); true if it came. */
static bool wait_stopping(struct pg_search *s, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&s->lock);
	while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0)
		;
	bool stop = s->stopping;
	s->pending = true;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static void *indexer_main(void *arg)
{
	struct pg_search *s = arg;
	pthread_setname_np(pthread_self(), "chirp-index");
	struct indexer ix;
	indexer_init(&ix, s);
	uint64_t *forget = xmalloc(FORGET_MAX * sizeof(*forget));
	size_t nforget = 0;
	unsigned retry_ms = RETRY_MS;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->pending && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		bool stop = s->stopping;
		s->pending = false;
		/* Deletes a failed round did not apply stay queued for the next. */
		size_t take = s->nforget < FORGET_MAX - nforget ? s->nforget : FORGET_MAX - nforget;
		memcpy(forget + nforget, s->forget, take * sizeof(*forget));
		nforget += take;
		s->nforget = 0;
		pthread_mutex_unlock(&s->lock);

		if (index_round(&ix, forget, nforget)) {
			nforget = 0;
			retry_ms = RETRY_MS;
			if (stop)
				break;
			continue;
		}
		/* The store or the index failed: try again in a while, or
		 * leave the rest to the next start if closed meanwhile.
		 * Deletes not applied stay hidden by hydration. */
		if (stop || wait_stopping(s, retry_ms))
			break;
		retry_ms = retry_ms * 2 < RETRY_MAX_MS ? retry_ms * 2 : RETRY_MAX_MS;
	}
	free(forget);
	indexer_deinit(&ix);
	return NULL;
}

static void pg_notify(struct search *base)
{
	struct pg_search *s = (struct pg_search *)base;
	pthread_mutex_lock(&s->lock);
	s->pending = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static void pg_forget_tweet(struct search *base, uint64_t tweet_id)
{
	struct pg_search *s = (struct pg_search *)base;
	pthread_mutex_lock(&s->lock);
	if (s->nforget < FORGET_MAX)
		s->forget[s->nforget++] = tweet_id;
	s->pending = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static void pg_stats(struct search *base, struct search_stats *out)
{
	struct pg_search *s = (struct pg_search *)base;
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- open and close ------------------------------------------------------- */

static void pg_close(struct search *base)
{
	struct pg_search *s = (struct pg_search *)base;
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->indexer, NULL);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->conninfo);
	free(s);
}

static bool exec_err(PGconn *c, const char *sql, struct strbuf *err)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok) {
		const char *msg = PQresultErrorMessage(res);
		strbuf_appendf(err, "creating the search index: %.*s", (int)strcspn(msg, "\n"), msg);
	}
	PQclear(res);
	return ok;
}

/* Inside migrate's transaction. */
static int create_schema(PGconn *c, struct strbuf *err)
{
	char version[128];
	snprintf(version, sizeof(version), "INSERT INTO search_watermarks VALUES ('schema', %d)",
		 SCHEMA_VERSION);
	if (!exec_err(c, schema, err) || !exec_err(c, version, err))
		return -1;
	/* Trigram matching of handles is a bonus: a role that may not
	 * create the extension still gets every other kind of search. (It
	 * is tried once, with the schema; CREATE EXTENSION pg_trgm and the
	 * index search_users_handle_trgm made by hand later count too.) */
	struct strbuf why = STRBUF_INIT;
	bool trgm = exec_err(c, "SAVEPOINT trgm", &why) &&
		    exec_err(c, "CREATE EXTENSION IF NOT EXISTS pg_trgm", &why) &&
		    exec_err(c, "CREATE INDEX IF NOT EXISTS search_users_handle_trgm ON search_users"
				" USING gin (lower(handle) gin_trgm_ops)", &why);
	int rc = 0;
	if (!trgm) {
		log_info("search: no pg_trgm (%s); handles are matched without trigrams",
			 why.data ? why.data : "?");
		rc = exec_err(c, "ROLLBACK TO SAVEPOINT trgm", err) ? 0 : -1;
	}
	strbuf_deinit(&why);
	return rc;
}

/* The schema's version: 0 if there is none yet, -1 (err set) on failure. */
static int schema_version(PGconn *c, struct strbuf *err)
{
	/* pg_class read with the statement's snapshot, not to_regclass():
	 * that one looks in caches which may not yet know of a table another
	 * node created while this one waited for the lock. */
	PGresult *res = PQexec(c, "SELECT EXISTS (SELECT 1 FROM pg_class r JOIN pg_namespace n"
				  " ON n.oid = r.relnamespace WHERE r.relname = 'search_watermarks'"
				  " AND n.nspname = current_schema())");
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	bool exists = ok && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!ok || !exists) {
		if (!ok)
			strbuf_appendf(err, "reading the search schema: %s", PQerrorMessage(c));
		return ok ? 0 : -1;
	}
	res = PQexec(c, "SELECT id FROM search_watermarks WHERE name = 'schema'");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	int version = ok && PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	if (!ok)
		strbuf_appendf(err, "reading the search schema: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok ? version : -1;
}

/* Version 1 had no handles in the vocabulary: every user is indexed again
 * (rows replaced, words already known ignored). Rows only, no DDL, under
 * the schema's lock, looking again once it is held. */
static int upgrade_from_1(PGconn *c, struct strbuf *err)
{
	if (!exec_err(c, "BEGIN", err) ||
	    !exec_err(c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", err))
		goto fail;
	int version = schema_version(c, err);
	if (version < 0)
		goto fail;
	if (version == 1 &&
	    (!exec_err(c, "UPDATE search_watermarks SET id = 0 WHERE name = 'users'", err) ||
	     !exec_err(c, "UPDATE search_watermarks SET id = 2 WHERE name = 'schema'", err)))
		goto fail;
	if (!exec_err(c, "COMMIT", err))
		goto fail;
	return 0;
fail:;
	PGresult *res = PQexec(c, "ROLLBACK");
	PQclear(res);
	return -1;
}

/*
 * Creates the schema if it is missing, once however many nodes start
 * together: under an advisory lock, looking again once it is held. A
 * schema already there is only read: DDL, even CREATE INDEX IF NOT EXISTS,
 * would lock tables that other nodes' indexers are writing (and deadlock
 * with them).
 */
static int migrate(PGconn *c, bool *trgm, struct strbuf *err)
{
	int version = schema_version(c, err);
	if (version == 0) {
		if (!exec_err(c, "BEGIN", err) ||
		    !exec_err(c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", err))
			goto fail;
		version = schema_version(c, err);
		if (version == 0 && create_schema(c, err) != 0)
			goto fail;
		if (version < 0 || !exec_err(c, "COMMIT", err))
			goto fail;
		version = SCHEMA_VERSION;
	}
	if (version == 1 && upgrade_from_1(c, err) != 0)
		return -1;
	if (version == 1)
		version = SCHEMA_VERSION;
	if (version < 0)
		return -1;
	if (version != SCHEMA_VERSION) {
		strbuf_appendf(err, "search index schema %d is not %d: drop the search_ tables"
				    " to rebuild it", version, SCHEMA_VERSION);
		return -1;
	}
	PGresult *res = PQexec(c, "SELECT to_regclass('search_users_handle_trgm') IS NOT NULL");
	*trgm = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
fail:
	res = PQexec(c, "ROLLBACK");
	PQclear(res);
	return -1;
}

static struct search *pg_open(const struct search_options *opt, struct strbuf *err)
{
	if (!opt->pg_conninfo || !*opt->pg_conninfo) {
		strbuf_append_str(err, "search on PostgreSQL needs a connection string");
		return NULL;
	}
	struct pg_search *s = xcalloc(1, sizeof(*s));
	s->base.ops = &search_postgres_ops;
	s->store = opt->store;
	s->conninfo = xstrdup(opt->pg_conninfo);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	PGconn *c = pg_connect(s->conninfo, err);
	int rc = c ? migrate(c, &s->trgm, err) : -1;
	PQfinish(c);
	if (rc != 0) {
		pg_close(&s->base);
		return NULL;
	}
	s->pending = true; /* catch up with what the store has */
	if (pthread_create(&s->indexer, NULL, indexer_main, s) != 0)
		die("search: cannot start the indexer thread");
	s->started = true;
	return &s->base;
}

/* ---- queries ------------------------------------------------------------ */

/*
 * Candidates' document counts, remembered for a while (as fts5.c does): a
 * common word's count is the costly one to take and barely moves in a
 * minute. Zeros are not kept: most often the word's first tweet is still
 * on its way to the index.
 */
#define DF_SLOTS 1024 /* a power of two; the table is emptied when 3/4 full */
#define DF_WORD_MAX 63
#define DF_TTL_MS 60000

struct df_entry {
	uint64_t fetched_ms; /* 0: empty slot */
	int64_t docs;
	uint8_t src, len;
	char word[DF_WORD_MAX];
};

struct pg_reader {
	struct search_reader base;
	struct pg pg;
	bool trgm;
	sqlite3 *tokdb;
	struct search_words *words;
	struct df_entry *df; /* DF_SLOTS: candidates' document counts */
	size_t df_used;
};

static struct search_reader *pg_reader_new(struct search *base)
{
	struct pg_search *s = (struct pg_search *)base;
	struct pg_reader *r = xcalloc(1, sizeof(*r));
	r->base.ops = &search_postgres_ops;
	r->pg.conninfo = s->conninfo;
	r->pg.retry = true;
	r->trgm = s->trgm;
	if (sqlite3_open(":memory:", &r->tokdb) != SQLITE_OK ||
	    !(r->words = search_words_new(r->tokdb)))
		die("search: cannot make a tokenizer");
	r->df = xcalloc(DF_SLOTS, sizeof(*r->df));
	return &r->base;
}

static void pg_reader_free(struct search_reader *base)
{
	struct pg_reader *r = (struct pg_reader *)base;
	if (!r)
		return;
	search_words_free(r->words);
	sqlite3_close(r->tokdb);
	PQfinish(r->pg.c);
	free(r->df);
	free(r);
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

static void analyse(struct pg_reader *r, const char *s, size_t len, struct analysis *a)
{
	memset(a, 0, sizeof(*a));
	search_words(r->words, s, len, false, on_analysed, a);
}

/* A term as tsquery: its words as a <-> chain, the last one :* for a
 * prefix. */
struct chain {
	struct strbuf *b;
	size_t n;
};

static void on_chain_word(void *arg, const char *w, size_t len)
{
	struct chain *c = arg;
	if (len == 0 || len > LEXEME_MAX)
		return;
	if (c->n++)
		strbuf_append_str(c->b, " <-> ");
	lexeme(c->b, w, len);
}

/* Appends the term; false (nothing appended) if it has no words. */
static bool term_tsquery(struct pg_reader *r, struct strbuf *b, const char *s, size_t len,
			 bool prefix)
{
	struct chain c = {b, 0};
	search_words(r->words, s, len, !prefix, on_chain_word, &c);
	if (c.n && prefix)
		strbuf_append_str(b, ":*");
	return c.n > 0;
}

/* Typo candidates of one query word: vocabulary words within its edit
 * budget, the most common first. */
struct candidate {
	char word[WORD_BYTES + 1];
	size_t len;
	int64_t docs;
};

static void add_variant(void *arg, const char *v, size_t len)
{
	array_elem(arg, v, len);
}

static int by_docs(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	return (x->docs < y->docs) - (x->docs > y->docs);
}

static struct df_entry *df_slot(struct df_entry *df, enum src src, const char *w, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)src; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)w[i]) * 1099511628211ull;
	for (size_t i = h & (DF_SLOTS - 1);; i = (i + 1) & (DF_SLOTS - 1)) {
		struct df_entry *e = &df[i];
		if (!e->fetched_ms || (e->src == src && e->len == len && memcmp(e->word, w, len) == 0))
			return e;
	}
}

static void df_put(struct pg_reader *r, enum src src, const char *w, size_t len, int64_t docs,
		   uint64_t now)
{
	if (len > DF_WORD_MAX || docs == 0)
		return;
	struct df_entry *e = df_slot(r->df, src, w, len);
	if (!e->fetched_ms) {
		if (r->df_used >= DF_SLOTS / 4 * 3) {
			memset(r->df, 0, DF_SLOTS * sizeof(*r->df));
			r->df_used = 0;
			e = df_slot(r->df, src, w, len);
		}
		r->df_used++;
		e->src = (uint8_t)src;
		e->len = (uint8_t)len;
		memcpy(e->word, w, len);
	}
	e->docs = docs;
	e->fetched_ms = now ? now : 1;
}

/* Counts, up to DOCS_CAP, the documents of each candidate: from the
 * cache, and the rest in one statement. */
static int count_docs(struct pg_reader *r, enum src src, struct candidate *c, size_t n)
{
	uint64_t now = time_now_ms();
	size_t ask[CANDIDATES_SEEN], nask = 0;
	for (size_t i = 0; i < n; i++) {
		struct df_entry *e =
			c[i].len <= DF_WORD_MAX ? df_slot(r->df, src, c[i].word, c[i].len) : NULL;
		if (e && e->fetched_ms && now - e->fetched_ms < DF_TTL_MS)
			c[i].docs = e->docs;
		else if (nask < CANDIDATES_SEEN)
			ask[nask++] = i;
	}
	if (!nask)
		return STORE_OK;
	struct strbuf arr = STRBUF_INIT, q = STRBUF_INIT;
	for (size_t k = 0; k < nask; k++) {
		strbuf_reset(&q);
		lexeme(&q, c[ask[k]].word, c[ask[k]].len);
		array_elem(&arr, q.data, q.len);
	}
	array_end(&arr);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT (SELECT count(*) FROM (SELECT 1 FROM %s WHERE doc @@ w::tsquery LIMIT %d) x)"
		 " FROM unnest($1::text[]) WITH ORDINALITY AS u(w, i) ORDER BY i",
		 src == SRC_TWEETS ? "search_tweets" : "search_users", DOCS_CAP);
	const char *v[] = {arr.data};
	PGresult *res = pg_exec(&r->pg, sql, 1, v);
	for (size_t k = 0; res && k < nask && k < (size_t)PQntuples(res); k++) {
		struct candidate *x = &c[ask[k]];
		x->docs = (int64_t)get_u64(res, (int)k, 0);
		df_put(r, src, x->word, x->len, x->docs, now);
	}
	PQclear(res);
	strbuf_deinit(&arr);
	strbuf_deinit(&q);
	return res ? STORE_OK : STORE_ERROR;
}

/* Fills found[0..*n) with the best candidates (at most CANDIDATES_MAX). */
static int candidates(struct pg_reader *r, enum src src, const struct analysis *a,
		      struct candidate *found, size_t *n)
{
	*n = 0;
	unsigned edits = fuzzy_max_edits(fuzzy_chars(a->word, a->len));
	if (!edits || a->nwords != 1 || a->word[0] == '#' || a->word[0] == '@' ||
	    has_digit(a->word, a->len))
		return STORE_OK;
	struct strbuf arr = STRBUF_INIT;
	fuzzy_variants(a->word, a->len, edits, add_variant, &arr);
	array_end(&arr);
	const char *v[] = {arr.data, src == SRC_TWEETS ? "0" : "1"};
	PGresult *res = pg_exec(&r->pg,
				"SELECT DISTINCT word FROM search_word_variants"
				" WHERE variant = ANY ($1::text[]) AND src = $2::smallint"
				" LIMIT " VARIANT_ROWS,
				2, v);
	strbuf_deinit(&arr);
	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res) && *n < CANDIDATES_SEEN; i++) {
		const char *w = PQgetvalue(res, i, 0);
		size_t len = (size_t)PQgetlength(res, i, 0);
		if (len > WORD_BYTES || (len == a->len && memcmp(w, a->word, len) == 0))
			continue;
		if (fuzzy_distance(a->word, a->len, w, len, edits) > edits)
			continue;
		struct candidate *c = &found[(*n)++];
		memcpy(c->word, w, len);
		c->word[len] = '\0';
		c->len = len;
	}
	PQclear(res);
	if (!*n)
		return STORE_OK;
	if (count_docs(r, src, found, *n) != STORE_OK)
		return STORE_ERROR;
	qsort(found, *n, sizeof(*found), by_docs);
	while (*n && found[*n - 1].docs == 0)
		(*n)--; /* words whose documents are all gone */
	if (*n > CANDIDATES_MAX)
		*n = CANDIDATES_MAX;
	return STORE_OK;
}

/*
 * The tsqueries of a query: `exact` as typed, and `fuzzy` with typo
 * candidates ORed into each plain word (empty if there are none). Terms
 * that tokenize to nothing are left out. With `users`, every word is also
 * a prefix (people are found as their names are typed).
 */
static int build_tsquery(struct pg_reader *r, const struct search_query *q, bool users,
			 struct strbuf *exact, struct strbuf *fuzzy)
{
	bool any_fuzzy = false;
	enum src src = users ? SRC_USERS : SRC_TWEETS;
	struct strbuf term = STRBUF_INIT;
	int rc = STORE_OK;
	for (size_t i = 0; i < q->nterms && rc == STORE_OK; i++) {
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
		strbuf_reset(&term);
		if (!term_tsquery(r, &term, t->text, t->len, kind == SEARCH_PREFIX))
			continue;
		struct candidate found[CANDIDATES_SEEN];
		size_t nc = 0;
		if (t->kind == SEARCH_WORD)
			rc = candidates(r, src, &a, found, &nc);
		for (int pass = 0; pass < 2; pass++) {
			struct strbuf *b = pass ? fuzzy : exact;
			if (b->len)
				strbuf_append_str(b, " & ");
			strbuf_append_char(b, '(');
			strbuf_append(b, term.data, term.len);
			for (size_t k = 0; pass && k < nc; k++) {
				/* the candidate as a query word: its stem */
				strbuf_append_str(b, " | ");
				struct chain c = {b, 0};
				search_words(r->words, found[k].word, found[k].len, true,
					     on_chain_word, &c);
				if (!c.n)
					lexeme(b, found[k].word, found[k].len);
			}
			strbuf_append_char(b, ')');
		}
		any_fuzzy |= nc > 0;
	}
	strbuf_deinit(&term);
	if (!any_fuzzy)
		strbuf_reset(fuzzy);
	return rc;
}

/* The WHERE clause of a tweet search: the tsquery (if any), the bounds,
 * the author (if any). */
static void tweet_where(struct strbuf *sql, struct params *p, int tsq_param,
			const struct search_request *req)
{
	strbuf_appendf(sql, " WHERE id < $%d::bigint AND id > $%d::bigint",
		       param_id(p, req->page.before), param_id(p, req->page.after));
	if (tsq_param)
		strbuf_appendf(sql, " AND doc @@ $%d::tsquery", tsq_param);
	if (req->has_author)
		strbuf_appendf(sql, " AND author_id = $%d::bigint",
			       param_id(p, req->author_id));
}

/* The WINDOW newest matches of `tsq` (or of the author alone), scored,
 * appended to hits (skipping those already seen). */
static int ranked(struct pg_reader *r, const char *tsq, const struct search_request *req,
		  int tier, struct search_hit *hits, size_t *n, const struct search_seen *seen)
{
	struct strbuf sql = STRBUF_INIT;
	struct params p;
	params_init(&p);
	int q = *tsq ? param_text(&p, tsq, strlen(tsq)) : 0;
	if (q)
		strbuf_appendf(&sql, "SELECT id, ts_rank_cd(doc, $%d::tsquery) FROM search_tweets", q);
	else
		strbuf_append_str(&sql, "SELECT id, 0 FROM search_tweets");
	tweet_where(&sql, &p, q, req);
	strbuf_appendf(&sql, " ORDER BY id DESC LIMIT %d", WINDOW);
	PGresult *res = pg_exec_params(&r->pg, sql.data, &p);
	uint64_t now = time_now_ms();
	for (int i = 0; res && i < PQntuples(res); i++) {
		uint64_t id = get_u64(res, i, 0);
		if (search_seen_has(seen, id))
			continue;
		double score = -strtod(PQgetvalue(res, i, 1), NULL);
		hits[(*n)++] = (struct search_hit){id, search_hit_recency(score, id, now), tier};
	}
	PQclear(res);
	strbuf_deinit(&sql);
	params_deinit(&p);
	return res ? STORE_OK : STORE_ERROR;
}

static int recent(struct pg_reader *r, const char *tsq, const struct search_request *req,
		  const struct store_page *page, uint64_t *ids, size_t *n)
{
	struct search_request bounded = *req;
	bounded.page = *page;
	struct strbuf sql = STRBUF_INIT;
	struct params p;
	params_init(&p);
	strbuf_append_str(&sql, "SELECT id FROM search_tweets");
	tweet_where(&sql, &p, *tsq ? param_text(&p, tsq, strlen(tsq)) : 0, &bounded);
	strbuf_appendf(&sql, " ORDER BY id %s LIMIT %u", page->oldest_first ? "ASC" : "DESC",
		       page->limit);
	PGresult *res = pg_exec_params(&r->pg, sql.data, &p);
	for (int i = 0; res && i < PQntuples(res) && *n < page->limit; i++)
		ids[(*n)++] = get_u64(res, i, 0);
	PQclear(res);
	strbuf_deinit(&sql);
	params_deinit(&p);
	if (!res)
		return STORE_ERROR;
	if (page->oldest_first)
		for (size_t i = 0, j = *n; i + 1 < j; i++, j--) {
			uint64_t t = ids[i];
			ids[i] = ids[j - 1];
			ids[j - 1] = t;
		}
	return STORE_OK;
}

static int pg_tweets(struct search_reader *base, const struct search_request *req,
		     uint64_t *ids, size_t *n)
{
	struct pg_reader *r = (struct pg_reader *)base;
	*n = 0;
	struct strbuf exact = STRBUF_INIT, fuzzy = STRBUF_INIT;
	int rc = build_tsquery(r, req->query, false, &exact, &fuzzy);
	const char *ex = exact.data ? exact.data : "";
	if (rc != STORE_OK || (!exact.len && !req->has_author))
		goto out; /* nothing searchable: no results */
	if (req->sort == SEARCH_RECENT) {
		/* Newest first has no tiers to put typo matches below exact
		 * ones, so it takes them only when nothing matches as typed. */
		const char *tsq = ex;
		if (fuzzy.len) {
			struct store_page any = {.before = UINT64_MAX, .limit = 1};
			uint64_t one;
			size_t found = 0;
			rc = recent(r, ex, req, &any, &one, &found);
			if (rc == STORE_OK && !found)
				tsq = fuzzy.data;
		}
		if (rc == STORE_OK)
			rc = recent(r, tsq, req, &req->page, ids, n);
		goto out;
	}
	struct search_hit *hits = xmalloc(2 * WINDOW * sizeof(*hits));
	size_t nh = 0;
	rc = ranked(r, ex, req, 0, hits, &nh, NULL);
	if (rc == STORE_OK && fuzzy.len &&
	    !search_hits_page_full(nh, req->offset, req->page.limit)) {
		struct search_seen seen;
		search_seen_init(&seen, hits, nh);
		rc = ranked(r, fuzzy.data, req, 1, hits, &nh, &seen);
		search_seen_deinit(&seen);
	}
	if (rc == STORE_OK) {
		search_hits_sort(hits, nh);
		for (size_t i = req->offset; i < nh && *n < req->page.limit; i++)
			ids[(*n)++] = hits[i].id;
	}
	free(hits);
out:
	if (rc != STORE_OK)
		*n = 0;
	strbuf_deinit(&exact);
	strbuf_deinit(&fuzzy);
	return rc;
}

/* The one-word query as a handle, lowercased; false if it cannot be one. */
static bool query_handle(const struct search_query *q, char *out)
{
	if (q->nterms != 1 || q->terms[0].kind == SEARCH_PHRASE)
		return false;
	return fuzzy_handle_fold(q->terms[0].text, q->terms[0].len, out);
}

struct near_handle {
	uint64_t id;
	unsigned dist;
};

static int by_nearness(const void *a, const void *b)
{
	const struct near_handle *x = a, *y = b;
	if (x->dist != y->dist)
		return (x->dist > y->dist) - (x->dist < y->dist);
	return (x->id < y->id) - (x->id > y->id);
}

/*
 * The users whose handle is within a typo of the whole one-word query
 * `handle` (lowercased; fuzzy_handle_edits), as tier 1, nearest first, in
 * one statement: the handles' vocabulary, then the users by lower(handle).
 * As in fts5.c, asked only when no handle is the query itself.
 */
static int handle_typo_hits(struct pg_reader *r, const char *handle, struct search_hit *hits,
			    size_t *n, const struct search_seen *seen)
{
	size_t len = strlen(handle);
	unsigned edits = fuzzy_handle_edits(len);
	if (!edits)
		return STORE_OK;
	struct strbuf arr = STRBUF_INIT;
	fuzzy_variants(handle, len, edits, add_variant, &arr);
	array_end(&arr);
	char src[8];
	snprintf(src, sizeof(src), "%d", SRC_HANDLES);
	const char *v[] = {arr.data, src};
	PGresult *res = pg_exec(&r->pg,
				"SELECT id, lower(handle) FROM search_users WHERE lower(handle) IN"
				" (SELECT DISTINCT word FROM search_word_variants"
				"  WHERE variant = ANY ($1::text[]) AND src = $2::smallint"
				"  LIMIT " VARIANT_ROWS ")",
				2, v);
	strbuf_deinit(&arr);
	if (!res)
		return STORE_ERROR;
	struct near_handle found[CANDIDATES_SEEN];
	size_t nf = 0;
	for (int i = 0; i < PQntuples(res) && nf < CANDIDATES_SEEN; i++) {
		uint64_t id = get_u64(res, i, 0);
		unsigned d = fuzzy_distance(handle, len, PQgetvalue(res, i, 1),
					    (size_t)PQgetlength(res, i, 1), edits);
		if (d <= edits && !search_seen_has(seen, id))
			found[nf++] = (struct near_handle){id, d};
	}
	PQclear(res);
	qsort(found, nf, sizeof(*found), by_nearness);
	for (size_t i = 0; i < nf && i < HANDLE_CANDIDATES; i++)
		hits[(*n)++] = (struct search_hit){found[i].id, found[i].dist, 1};
	return STORE_OK;
}

/* Appends the users a query's rows name as hits of `tier` (skipping those
 * seen); the second column is a score, higher better. */
static int user_hits(struct pg_reader *r, const char *sql, int nv, const char *const *v, int tier,
		     struct search_hit *hits, size_t *n, const struct search_seen *seen)
{
	PGresult *res = pg_exec(&r->pg, sql, nv, v);
	for (int i = 0; res && i < PQntuples(res); i++) {
		uint64_t id = get_u64(res, i, 0);
		if (search_seen_has(seen, id))
			continue;
		hits[(*n)++] = (struct search_hit){id, -strtod(PQgetvalue(res, i, 1), NULL), tier};
	}
	PQclear(res);
	return res ? STORE_OK : STORE_ERROR;
}

#define WINDOW_STR "1000" /* WINDOW, for SQL */

/* ts_rank_cd's weights for D, C, B, A: a handle word counts four times a
 * name word (fts5.c: bm25(users_fts, 4.0, 1.0)). */
static const char users_sql[] =
	"SELECT id, ts_rank_cd('{0.1, 0.2, 0.25, 1.0}', doc, $1::tsquery) FROM search_users"
	" WHERE doc @@ $1::tsquery ORDER BY id DESC LIMIT " WINDOW_STR;

static int pg_users(struct search_reader *base, const struct search_query *query,
		    unsigned limit, unsigned offset, uint64_t *ids, size_t *n)
{
	struct pg_reader *r = (struct pg_reader *)base;
	*n = 0;
	/* People are searched by name: "@alice" means "alice". */
	struct search_query bare = *query;
	const struct search_query *q = &bare;
	for (size_t i = 0; i < bare.nterms; i++)
		if (bare.terms[i].len > 1 && bare.terms[i].text[0] == '@')
			bare.terms[i].text++, bare.terms[i].len--;
	struct strbuf exact = STRBUF_INIT, fuzzy = STRBUF_INIT;
	int rc = build_tsquery(r, q, true, &exact, &fuzzy);
	if (rc != STORE_OK || !exact.len)
		goto out;
	/* tiers 0, 2 and 3; the handle (LIMIT 16) and its typos */
	struct search_hit *hits = xmalloc((3 * WINDOW + 16 + HANDLE_CANDIDATES) * sizeof(*hits));
	size_t nh = 0;
	struct search_seen seen = {0};
	char handle[FUZZY_HANDLE_MAX_CHARS + 1];
	bool one_handle = query_handle(q, handle);
	/* The user whose handle is the whole query, as tier -1: found
	 * directly, so no number of similar names can push it out. */
	if (one_handle) {
		const char *v[] = {handle};
		rc = user_hits(r, "SELECT id, 0 FROM search_users WHERE lower(handle) = $1 LIMIT 16",
			       1, v, -1, hits, &nh, NULL);
	}
	bool handle_found = nh > 0;
	const char *v[] = {exact.data};
	for (int tier = 0; tier < 4 && rc == STORE_OK; tier++) {
		search_seen_init(&seen, hits, nh);
		if (tier == 0) {
			rc = user_hits(r, users_sql, 1, v, 0, hits, &nh, &seen);
		} else if (tier == 1 && one_handle && !handle_found &&
			   q->terms[0].kind == SEARCH_WORD) {
			rc = handle_typo_hits(r, handle, hits, &nh, &seen);
		} else if (tier == 2 && fuzzy.len) {
			v[0] = fuzzy.data;
			rc = user_hits(r, users_sql, 1, v, 2, hits, &nh, &seen);
		} else if (tier == 3 && one_handle && r->trgm) {
			const char *hv[] = {handle};
			rc = user_hits(r,
				       "SELECT id, similarity(lower(handle), $1) FROM search_users"
				       " WHERE lower(handle) % $1 ORDER BY 2 DESC, id DESC"
				       " LIMIT " WINDOW_STR,
				       1, hv, 3, hits, &nh, &seen);
		}
		search_seen_deinit(&seen);
	}
	if (rc == STORE_OK) {
		search_hits_sort(hits, nh);
		for (size_t i = offset; i < nh && *n < limit; i++)
			ids[(*n)++] = hits[i].id;
	}
	free(hits);
out:
	strbuf_deinit(&exact);
	strbuf_deinit(&fuzzy);
	return rc;
}

const struct search_ops search_postgres_ops = {
	.name = "postgres",
	.open = pg_open,
	.close = pg_close,
	.reader_new = pg_reader_new,
	.reader_free = pg_reader_free,
	.tweets = pg_tweets,
	.users = pg_users,
	.notify = pg_notify,
	.forget_tweet = pg_forget_tweet,
	.stats = pg_stats,
};
