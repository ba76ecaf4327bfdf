/*
 * test_store — the store port, on both adapters: SQLite, then PostgreSQL
 * when CHIRP_TEST_PG_URL names a server the test may create databases on
 * (make unit starts one: tests/pg/with-pg.sh). Each PostgreSQL test gets a
 * database of its own, dropped after.
 *
 * Covers what the HTTP layer relies on: every write kind and its outcome
 * codes, counts, pages cut by id in both directions, the home feed,
 * idempotency records checked atomically on the writer thread, many
 * concurrent writers committed together, persistence across reopen, and
 * schema migrations (an old database is upgraded; a newer one refused),
 * replies and their counts, likes (once per user, counted, listed, and
 * asked about in one batch), a conversation's ancestors and descendants,
 * profile edits, and session management (listing, ending one by id, all
 * but one, a password change that ends the others, last-use touches, and
 * the sessions an upgrade to schema 8 keeps).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/entities.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "util/id.h"
#include "util/timeutil.h"

struct env {
	char dir[64];
	char url[512]; /* PostgreSQL: this test's database */
	char db[64];
	struct store *s;
	struct store_reader *r;
};

/* The adapter under test: SQLite, or PostgreSQL on pg_base. */
static const struct store_ops *adapter = &store_sqlite_ops;
static const char *pg_base;

/* Runs one statement on the server's maintenance database. */
static void pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(pg_base);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* A fresh database for e, its URL into e->url. */
static void pg_new_db(struct env *e)
{
	static unsigned n;
	snprintf(e->db, sizeof(e->db), "chirp_unit_%d_%u", (int)getpid(), n++);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", e->db);
	pg_admin(sql);
	/* pg_base ends in /DBNAME: swap the name. */
	const char *slash = strrchr(pg_base, '/');
	assert_non_null(slash);
	snprintf(e->url, sizeof(e->url), "%.*s/%s", (int)(slash - pg_base), pg_base, e->db);
}

/* ---- a synchronous submit (store_write_sync) ---- */

static void render_ok(struct store_write *w)
{
	w->resp_status = w->status == STORE_OK ? 200 : 400;
	strbuf_reset(&w->resp_body);
	strbuf_appendf(&w->resp_body, "{\"user\":%llu,\"tweet\":%llu}",
		       (unsigned long long)w->user.id, (unsigned long long)w->tweet.id);
}

static void sync_init(struct store_write *sw, enum store_write_kind kind)
{
	store_write_init(sw, kind);
	sw->render = render_ok;
}

static void sync_run(struct store *s, struct store_write *sw)
{
	assert_int_not_equal(store_write_sync(s, sw), STORE_BUSY);
}

static void sync_deinit(struct store_write *sw)
{
	store_write_deinit(sw);
}

/* ---- helpers ---- */

static struct store *open_store_as(struct env *e, uint32_t node_id, struct strbuf *err)
{
	struct store_options opt = {
	    .data_dir = e->dir, .url = e->url, .node_id = node_id, .max_queued = 1000};
	return adapter->open(&opt, err);
}

static struct store *open_store(struct env *e)
{
	struct strbuf err = STRBUF_INIT;
	struct store *s = open_store_as(e, 1, &err);
	if (!s)
		fprintf(stderr, "open: %s\n", err.data);
	strbuf_deinit(&err);
	return s;
}

/* The SQLite store of data dir `dir` (the migration tests). */
static struct store *open_sqlite(const char *dir)
{
	struct store_options opt = {.data_dir = dir, .node_id = 1, .max_queued = 1000};
	struct strbuf err = STRBUF_INIT;
	struct store *s = store_sqlite_ops.open(&opt, &err);
	if (!s)
		fprintf(stderr, "open: %s\n", err.data);
	strbuf_deinit(&err);
	return s;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	strcpy(e->dir, "/tmp/chirp-test-store-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	if (adapter == &store_postgres_ops)
		pg_new_db(e);
	e->s = open_store(e);
	assert_non_null(e->s);
	e->r = e->s->ops->reader_new(e->s);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (e->r)
		e->r->ops->reader_free(e->r);
	if (e->s)
		e->s->ops->close(e->s);
	if (e->db[0]) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", e->db);
		pg_admin(sql);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static uint64_t make_user(struct env *e, const char *handle, int expect)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_USER_CREATE);
	snprintf(sw.in.user_create.handle, sizeof(sw.in.user_create.handle), "%s", handle);
	snprintf(sw.in.user_create.display_name, sizeof(sw.in.user_create.display_name),
		 "The %s", handle);
	strcpy(sw.in.user_create.password_hash, "$argon2id$fake");
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, expect);
	uint64_t id = sw.user.id;
	if (expect == STORE_OK) {
		assert_true(id > 0);
		assert_string_equal(sw.user.handle, handle);
	}
	sync_deinit(&sw);
	return id;
}

static uint64_t post(struct env *e, uint64_t author, const char *text)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_TWEET_CREATE);
	sw.in.tweet_create.author_id = author;
	sw.in.tweet_create.text_len = strlen(text);
	strcpy(sw.in.tweet_create.text, text);
	entities_parse(text, strlen(text), &sw.in.tweet_create.entities); /* as tweets_post does */
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	assert_int_equal(sw.tweet.author_id, author);
	assert_string_equal(sw.tweet.text, text);
	uint64_t id = sw.tweet.id;
	sync_deinit(&sw);
	return id;
}

static int simple_write(struct env *e, enum store_write_kind kind, uint64_t a, uint64_t b,
			bool *created)
{
	struct store_write sw;
	sync_init(&sw, kind);
	if (kind == STORE_W_TWEET_DELETE) {
		sw.in.tweet_delete.author_id = a;
		sw.in.tweet_delete.tweet_id = b;
	} else {
		sw.in.follow.follower_id = a;
		sw.in.follow.followee_id = b;
	}
	sync_run(e->s, &sw);
	int st = sw.status;
	if (created)
		*created = sw.created;
	sync_deinit(&sw);
	return st;
}

static uint64_t reply_to(struct env *e, uint64_t author, uint64_t parent, int expect)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_TWEET_CREATE);
	sw.in.tweet_create.author_id = author;
	sw.in.tweet_create.text_len = 2;
	strcpy(sw.in.tweet_create.text, "re");
	sw.in.tweet_create.in_reply_to_id = parent;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, expect);
	uint64_t id = sw.tweet.id;
	if (expect == STORE_OK) {
		assert_int_equal(sw.tweet.in_reply_to_id, parent);
		assert_int_equal(sw.related.id, parent);
		assert_true(sw.related.reply_count >= 1); /* counted already */
	}
	sync_deinit(&sw);
	return id;
}

/* A like or unlike; returns the status, and the tweet's like count after. */
static int like_write(struct env *e, bool like, uint64_t user, uint64_t tweet, bool *created,
		      uint64_t *count)
{
	struct store_write sw;
	sync_init(&sw, like ? STORE_W_LIKE : STORE_W_UNLIKE);
	sw.in.like.user_id = user;
	sw.in.like.tweet_id = tweet;
	sync_run(e->s, &sw);
	int st = sw.status;
	if (created)
		*created = sw.created;
	if (count)
		*count = sw.tweet.like_count;
	sync_deinit(&sw);
	return st;
}

static struct tweet get_tweet(struct env *e, uint64_t id)
{
	struct tweet t;
	assert_int_equal(e->r->ops->tweet_get(e->r, id, &t), STORE_OK);
	return t;
}

static struct user get_user(struct env *e, uint64_t id)
{
	struct user u;
	assert_int_equal(e->r->ops->user_get(e->r, id, &u), STORE_OK);
	return u;
}

/* ---- tests ---- */

static void test_users(void **state)
{
	struct env *e = *state;
	uint64_t alice = make_user(e, "alice", STORE_OK);
	make_user(e, "ALICE", STORE_CONFLICT); /* unique case-insensitively */
	struct user u;
	assert_int_equal(e->r->ops->user_get_by_handle(e->r, "aLiCe", &u), STORE_OK);
	assert_int_equal(u.id, alice);
	assert_string_equal(u.display_name, "The alice");
	assert_int_equal(e->r->ops->user_get(e->r, alice + 1, &u), STORE_NOT_FOUND);
	char hash[PWHASH_MAX];
	assert_int_equal(e->r->ops->user_credentials(e->r, "alice", &u, hash), STORE_OK);
	assert_string_equal(hash, "$argon2id$fake");
	assert_int_equal(e->r->ops->user_credentials(e->r, "nobody", &u, hash), STORE_NOT_FOUND);
}

/* A read scope (store_ops.read_begin/read_end, where the adapter has
 * one) sees one snapshot: a user made meanwhile appears after it ends. */
static void test_read_scope_sees_one_snapshot(void **state)
{
	struct env *e = *state;
	if (!e->r->ops->read_begin) {
		skip();
		return;
	}
	uint64_t alice = make_user(e, "alice", STORE_OK);
	struct user u;
	e->r->ops->read_begin(e->r);
	assert_int_equal(e->r->ops->user_get(e->r, alice, &u), STORE_OK);
	uint64_t bob = make_user(e, "bob", STORE_OK);
	assert_int_equal(e->r->ops->user_get(e->r, bob, &u), STORE_NOT_FOUND);
	e->r->ops->read_begin(e->r); /* already open: the same scope */
	assert_int_equal(e->r->ops->user_get_by_handle(e->r, "bob", &u), STORE_NOT_FOUND);
	e->r->ops->read_end(e->r);
	assert_int_equal(e->r->ops->user_get(e->r, bob, &u), STORE_OK);
	e->r->ops->read_end(e->r); /* none open: nothing to end */
	assert_int_equal(e->r->ops->user_get_by_handle(e->r, "bob", &u), STORE_OK);
}

/* A session of `user` for the token hash of all bytes `fill`, last used
 * at `used_ms`; returns its id. */
static uint64_t make_session(struct env *e, uint64_t user, uint8_t fill, uint64_t used_ms)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_SESSION_CREATE);
	sw.in.session.user_id = user;
	memset(sw.in.session.token_hash, fill, TOKEN_HASH_LEN);
	sw.in.session.used_ms = used_ms;
	snprintf(sw.in.session.device, sizeof(sw.in.session.device), "device %d", fill);
	strcpy(sw.in.session.ip, "2001:db8::1");
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	assert_int_equal(sw.user.id, user);
	sync_deinit(&sw);
	uint8_t hash[TOKEN_HASH_LEN];
	memset(hash, fill, sizeof(hash));
	struct session got;
	assert_int_equal(e->r->ops->session_get(e->r, hash, &got), STORE_OK);
	return got.id;
}

/* Whether the session of the token hash of all bytes `fill` exists. */
static bool has_session(struct env *e, uint8_t fill)
{
	uint8_t hash[TOKEN_HASH_LEN];
	memset(hash, fill, sizeof(hash));
	struct session got;
	int rc = e->r->ops->session_get(e->r, hash, &got);
	assert_true(rc == STORE_OK || rc == STORE_NOT_FOUND);
	return rc == STORE_OK;
}

static void test_sessions(void **state)
{
	struct env *e = *state;
	uint64_t alice = make_user(e, "alice", STORE_OK);
	uint64_t before = time_now_ms();
	uint64_t id = make_session(e, alice, 7, 123456);

	uint8_t hash[TOKEN_HASH_LEN];
	memset(hash, 7, sizeof(hash));
	struct session got;
	assert_int_equal(e->r->ops->session_get(e->r, hash, &got), STORE_OK);
	assert_int_equal(got.id, id);
	assert_true(id_unix_ms(id) >= before - 1 && id_unix_ms(id) <= time_now_ms());
	assert_int_equal(got.user_id, alice);
	assert_int_equal(got.last_used_ms, 123456);
	assert_string_equal(got.device, "device 7");
	assert_string_equal(got.ip, "2001:db8::1");

	struct store_write sw;
	sync_init(&sw, STORE_W_SESSION_DELETE);
	memset(sw.in.session.token_hash, 7, TOKEN_HASH_LEN);
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	assert_false(has_session(e, 7));
}

static void test_session_management(void **state)
{
	struct env *e = *state;
	uint64_t alice = make_user(e, "alice", STORE_OK);
	uint64_t bob = make_user(e, "bob", STORE_OK);
	uint64_t a1 = make_session(e, alice, 1, 10000);
	uint64_t a2 = make_session(e, alice, 2, 1000);
	uint64_t a3 = make_session(e, alice, 3, 10000);
	uint64_t b9 = make_session(e, bob, 9, 10000);

	/* Alice's, newest first; none of Bob's; the idle ones left out. */
	struct session list[SESSION_LIST_MAX];
	size_t n = 0;
	assert_int_equal(e->r->ops->sessions_of(e->r, alice, 0, list, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].id, a3);
	assert_int_equal(list[1].id, a2);
	assert_int_equal(list[2].id, a1);
	assert_string_equal(list[1].device, "device 2");
	assert_int_equal(list[1].last_used_ms, 1000);
	assert_int_equal(e->r->ops->sessions_of(e->r, alice, 5000, list, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, a3);
	assert_int_equal(list[1].id, a1);

	/* A touch moves the last use only if it is older than stale_ms. */
	struct store_write sw;
	sync_init(&sw, STORE_W_SESSION_TOUCH);
	memset(sw.in.session.token_hash, 2, TOKEN_HASH_LEN);
	sw.in.session.used_ms = 50000;
	sw.in.session.stale_ms = 900;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	assert_int_equal(e->r->ops->sessions_of(e->r, alice, 5000, list, &n), STORE_OK);
	assert_int_equal(n, 2);
	sync_init(&sw, STORE_W_SESSION_TOUCH);
	memset(sw.in.session.token_hash, 2, TOKEN_HASH_LEN);
	sw.in.session.used_ms = 50000;
	sw.in.session.stale_ms = 2000;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	assert_int_equal(e->r->ops->sessions_of(e->r, alice, 50000, list, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, a2);

	/* Bob's session is not Alice's to end: not found, and it stays. */
	sync_init(&sw, STORE_W_SESSION_END);
	sw.in.session_end.user_id = alice;
	sw.in.session_end.session_id = b9;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_NOT_FOUND);
	sync_deinit(&sw);
	assert_true(has_session(e, 9));

	/* One of hers, by id: gone, and its token hash is the result. */
	sync_init(&sw, STORE_W_SESSION_END);
	sw.in.session_end.user_id = alice;
	sw.in.session_end.session_id = a1;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	uint8_t one[TOKEN_HASH_LEN];
	memset(one, 1, sizeof(one));
	assert_memory_equal(sw.in.session_end.token_hash, one, TOKEN_HASH_LEN);
	sync_deinit(&sw);
	assert_false(has_session(e, 1));
	assert_true(has_session(e, 2));

	/* All of hers but one, then every one; Bob's never. */
	sync_init(&sw, STORE_W_SESSIONS_END);
	sw.in.session.user_id = alice;
	memset(sw.in.session.token_hash, 3, TOKEN_HASH_LEN);
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	assert_false(has_session(e, 2));
	assert_true(has_session(e, 3));
	sync_init(&sw, STORE_W_SESSIONS_END);
	sw.in.session.user_id = alice; /* token hash all zeros: keep none */
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	assert_false(has_session(e, 3));
	assert_true(has_session(e, 9));
	assert_int_equal(e->r->ops->sessions_of(e->r, alice, 0, list, &n), STORE_OK);
	assert_int_equal(n, 0);
}

/* The sweep of idle sessions: those last used before the cutoff, a batch
 * at a time, each with its user and token hash for the effects. */
static void test_sessions_expire(void **state)
{
	struct env *e = *state;
	uint64_t alice = make_user(e, "alice", STORE_OK);
	uint64_t bob = make_user(e, "bob", STORE_OK);
	for (uint8_t fill = 1; fill <= STORE_EXPIRE_BATCH + 2; fill++)
		make_session(e, fill % 2 ? alice : bob, fill, 1000 + fill);
	make_session(e, alice, 100, 9000);
	make_session(e, bob, 101, 5000); /* the cutoff itself is not before it */

	bool seen[STORE_EXPIRE_BATCH + 3] = {false};
	size_t total = 0;
	for (int round = 0; round < 3; round++) {
		struct store_write sw;
		sync_init(&sw, STORE_W_SESSIONS_EXPIRE);
		sw.in.sessions_expire.cutoff_ms = 5000;
		sync_run(e->s, &sw);
		assert_int_equal(sw.status, STORE_OK);
		size_t n = sw.in.sessions_expire.n;
		assert_int_equal(n, round == 0 ? STORE_EXPIRE_BATCH : round == 1 ? 2 : 0);
		for (size_t i = 0; i < n; i++) {
			uint8_t fill = sw.in.sessions_expire.token_hashes[i][0];
			assert_true(fill >= 1 && fill <= STORE_EXPIRE_BATCH + 2);
			assert_false(seen[fill]);
			seen[fill] = true;
			assert_int_equal(sw.in.sessions_expire.user_ids[i], fill % 2 ? alice : bob);
			assert_false(has_session(e, fill));
		}
		total += n;
		sync_deinit(&sw);
	}
	assert_int_equal(total, STORE_EXPIRE_BATCH + 2);
	assert_true(has_session(e, 100));
	assert_true(has_session(e, 101));
}

static void test_password_change(void **state)
{
	struct env *e = *state;
	uint64_t alice = make_user(e, "alice", STORE_OK);
	uint64_t bob = make_user(e, "bob", STORE_OK);
	make_session(e, alice, 1, 1000);
	make_session(e, alice, 2, 1000);
	make_session(e, bob, 9, 1000);

	/* Checked against a hash that is no longer hers: nothing changes. */
	struct store_write sw;
	sync_init(&sw, STORE_W_PASSWORD_CHANGE);
	sw.in.password.user_id = alice;
	memset(sw.in.password.token_hash, 2, TOKEN_HASH_LEN);
	strcpy(sw.in.password.old_hash, "$argon2id$other");
	strcpy(sw.in.password.new_hash, "$argon2id$new");
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_CONFLICT);
	sync_deinit(&sw);
	struct user u;
	char hash[PWHASH_MAX];
	assert_int_equal(e->r->ops->user_credentials(e->r, "alice", &u, hash), STORE_OK);
	assert_string_equal(hash, "$argon2id$fake");
	assert_true(has_session(e, 1));

	/* Changed: the new hash, her other sessions gone, this one and
	 * Bob's kept. */
	sync_init(&sw, STORE_W_PASSWORD_CHANGE);
	sw.in.password.user_id = alice;
	memset(sw.in.password.token_hash, 2, TOKEN_HASH_LEN);
	strcpy(sw.in.password.old_hash, "$argon2id$fake");
	strcpy(sw.in.password.new_hash, "$argon2id$new");
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	assert_int_equal(e->r->ops->user_credentials(e->r, "alice", &u, hash), STORE_OK);
	assert_string_equal(hash, "$argon2id$new");
	assert_int_equal(e->r->ops->user_credentials(e->r, "bob", &u, hash), STORE_OK);
	assert_string_equal(hash, "$argon2id$fake");
	assert_false(has_session(e, 1));
	assert_true(has_session(e, 2));
	assert_true(has_session(e, 9));
}

static void test_tweets_and_pages(void **state)
{
	struct env *e = *state;
	uint64_t alice = make_user(e, "alice", STORE_OK);
	uint64_t bob = make_user(e, "bob", STORE_OK);
	uint64_t ids[5];
	for (int i = 0; i < 5; i++) {
		char text[16];
		snprintf(text, sizeof(text), "tweet %d", i);
		ids[i] = post(e, alice, text);
		if (i)
			assert_true(ids[i] > ids[i - 1]); /* time-ordered */
	}
	assert_int_equal(get_user(e, alice).tweets_count, 5);

	struct tweet t[5];
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .after = 0, .limit = 2};
	assert_int_equal(e->r->ops->user_tweets(e->r, alice, &p, t, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].id, ids[4]);
	assert_int_equal(t[1].id, ids[3]);
	assert_string_equal(t[0].author_handle, "alice");

	p.before = ids[3]; /* max_id: strictly older */
	assert_int_equal(e->r->ops->user_tweets(e->r, alice, &p, t, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].id, ids[2]);
	assert_int_equal(t[1].id, ids[1]);

	/* since_id keeps the newest; min_id starts right after the cursor.
	 * Both come back newest first. */
	p = (struct store_page){.before = UINT64_MAX, .after = ids[0], .limit = 2};
	assert_int_equal(e->r->ops->user_tweets(e->r, alice, &p, t, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].id, ids[4]);
	p.oldest_first = true;
	assert_int_equal(e->r->ops->user_tweets(e->r, alice, &p, t, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].id, ids[2]);
	assert_int_equal(t[1].id, ids[1]);

	p = (struct store_page){.before = UINT64_MAX, .limit = 5};
	assert_int_equal(e->r->ops->user_tweets(e->r, bob + 999, &p, t, &n), STORE_NOT_FOUND);

	/* Only the author deletes, and a stranger's try looks like a miss. */
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, bob, ids[0], NULL), STORE_NOT_FOUND);
	assert_int_equal(e->r->ops->tweet_get(e->r, ids[0], &t[0]), STORE_OK);
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, alice, ids[0], NULL), STORE_OK);
	assert_int_equal(e->r->ops->tweet_get(e->r, ids[0], &t[0]), STORE_NOT_FOUND);
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, alice, ids[0], NULL), STORE_NOT_FOUND);
	assert_int_equal(get_user(e, alice).tweets_count, 4);
}

static void test_follows_and_feed(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t c = make_user(e, "c", STORE_OK);
	bool created;
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, a, b, &created), STORE_OK);
	assert_true(created);
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, a, b, &created), STORE_OK);
	assert_false(created); /* recorded once */
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, c, b, &created), STORE_OK);
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, a, c + 999, NULL), STORE_NOT_FOUND);
	assert_int_equal(get_user(e, a).following_count, 1);
	assert_int_equal(get_user(e, b).followers_count, 2);

	struct follow_entry fe[5];
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .limit = 5};
	assert_int_equal(e->r->ops->followers(e->r, b, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fe[0].user.id, c); /* most recent follow first */
	assert_int_equal(fe[1].user.id, a);
	assert_true(fe[0].follow_id > fe[1].follow_id);
	assert_int_equal(e->r->ops->following(e->r, a, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fe[0].user.id, b);

	uint64_t tb = post(e, b, "from b");
	uint64_t tc = post(e, c, "from c");
	uint64_t ta = post(e, a, "from a");
	struct tweet t[5];
	assert_int_equal(e->r->ops->home_feed(e->r, a, &p, t, &n), STORE_OK);
	assert_int_equal(n, 2); /* own and followed; not c's */
	assert_int_equal(t[0].id, ta);
	assert_int_equal(t[1].id, tb);
	(void)tc;

	assert_int_equal(simple_write(e, STORE_W_UNFOLLOW, a, b, &created), STORE_OK);
	assert_true(created);
	assert_int_equal(simple_write(e, STORE_W_UNFOLLOW, a, b, &created), STORE_OK);
	assert_false(created);
	assert_int_equal(get_user(e, a).following_count, 0);
	assert_int_equal(get_user(e, b).followers_count, 1);
	assert_int_equal(e->r->ops->home_feed(e->r, a, &p, t, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].id, ta);
}

static void test_replies_and_context(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t root = post(e, a, "root");
	struct tweet t = get_tweet(e, root);
	assert_int_equal(t.in_reply_to_id, 0);
	assert_int_equal(t.in_reply_to_user_id, 0);
	uint64_t r1 = reply_to(e, b, root, STORE_OK);
	uint64_t r2 = reply_to(e, a, r1, STORE_OK);
	uint64_t r3 = reply_to(e, b, r2, STORE_OK);
	uint64_t side = reply_to(e, b, root, STORE_OK);
	t = get_tweet(e, r1);
	assert_int_equal(t.in_reply_to_id, root);
	assert_int_equal(t.in_reply_to_user_id, a);
	assert_int_equal(get_tweet(e, root).reply_count, 2);
	assert_int_equal(get_tweet(e, r1).reply_count, 1);
	/* A reply to nothing writes nothing. */
	assert_int_equal(get_user(e, b).tweets_count, 3);
	reply_to(e, b, root + 999999, STORE_NOT_FOUND);
	assert_int_equal(get_user(e, b).tweets_count, 3);

	uint64_t ids[8];
	size_t n;
	assert_int_equal(e->r->ops->ancestor_ids(e->r, r3, 8, ids, &n), STORE_OK);
	assert_int_equal(n, 3); /* nearest first */
	assert_int_equal(ids[0], r2);
	assert_int_equal(ids[1], r1);
	assert_int_equal(ids[2], root);
	assert_int_equal(e->r->ops->ancestor_ids(e->r, r3, 2, ids, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e->r->ops->descendant_ids(e->r, root, 8, ids, &n), STORE_OK);
	assert_int_equal(n, 4); /* oldest first */
	assert_int_equal(ids[0], r1);
	assert_int_equal(ids[1], r2);
	assert_int_equal(ids[2], r3);
	assert_int_equal(ids[3], side);
	assert_int_equal(e->r->ops->descendant_ids(e->r, root, 2, ids, &n), STORE_OK);
	assert_int_equal(n, 2); /* bounded: the direct replies come first */
	assert_int_equal(ids[0], r1);
	assert_int_equal(ids[1], side);

	/* Deleting a reply takes it off its parent's count; deleting the
	 * parent leaves the reply, which still names it. */
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, b, side, NULL), STORE_OK);
	assert_int_equal(get_tweet(e, root).reply_count, 1);
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, b, r1, NULL), STORE_OK);
	assert_int_equal(get_tweet(e, r2).in_reply_to_id, r1);
	assert_int_equal(e->r->ops->ancestor_ids(e->r, r3, 8, ids, &n), STORE_OK);
	assert_int_equal(n, 2); /* r2, then the deleted r1, where the chain ends */
	assert_int_equal(ids[1], r1);
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, a, r2, NULL), STORE_OK);
}

static void test_likes(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t c = make_user(e, "c", STORE_OK);
	uint64_t t1 = post(e, a, "one");
	uint64_t t2 = post(e, a, "two");
	bool created;
	uint64_t count;
	assert_int_equal(like_write(e, true, b, t1, &created, &count), STORE_OK);
	assert_true(created);
	assert_int_equal(count, 1);
	assert_int_equal(like_write(e, true, b, t1, &created, &count), STORE_OK);
	assert_false(created); /* once per user */
	assert_int_equal(count, 1);
	assert_int_equal(like_write(e, true, c, t1, &created, &count), STORE_OK);
	assert_int_equal(count, 2);
	assert_int_equal(like_write(e, true, b, t1 + 999999, NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(like_write(e, false, b, t1 + 999999, NULL, NULL), STORE_NOT_FOUND);
	assert_int_equal(get_tweet(e, t1).like_count, 2);

	uint64_t ids[] = {t2, t1, 12345};
	uint8_t liked[3] = {1, 0, 1};
	assert_int_equal(e->r->ops->viewer_state(e->r, b, ids, 3, liked), STORE_OK);
	assert_false(liked[0]);
	assert_true(liked[1]);
	assert_false(liked[2]);
	assert_int_equal(e->r->ops->viewer_state(e->r, a, ids, 3, liked), STORE_OK);
	assert_false(liked[1]); /* likes are the liker's */

	/* More ids than one statement takes: still answered, in order. */
	uint64_t many[250];
	uint8_t lm[250];
	for (size_t i = 0; i < 250; i++)
		many[i] = i == 170 ? t1 : 1000 + i;
	assert_int_equal(e->r->ops->viewer_state(e->r, c, many, 250, lm), STORE_OK);
	for (size_t i = 0; i < 250; i++)
		assert_int_equal(lm[i], i == 170);

	/* A heavy liker: more likes in the page's span than one range read
	 * takes; the ids are then asked one by one, and the answer is the same. */
	uint64_t heavy[80];
	uint8_t lh[81];
	for (size_t i = 0; i < 80; i++) {
		heavy[i] = post(e, a, "many");
		if (i % 2 == 0 || i >= 10)
			assert_int_equal(like_write(e, true, c, heavy[i], NULL, NULL), STORE_OK);
	}
	assert_int_equal(e->r->ops->viewer_state(e->r, c, heavy, 10, lh), STORE_OK);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(lh[i], i % 2 == 0);
	uint64_t spread[] = {heavy[1], heavy[79], heavy[0], heavy[3]};
	assert_int_equal(e->r->ops->viewer_state(e->r, c, spread, 4, lh), STORE_OK);
	assert_false(lh[0]);
	assert_true(lh[1]);
	assert_true(lh[2]);
	assert_false(lh[3]);

	struct follow_entry fe[5];
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .limit = 5};
	assert_int_equal(e->r->ops->liked_by(e->r, t1, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fe[0].user.id, c); /* newest like first */
	assert_int_equal(fe[1].user.id, b);
	p.limit = 1;
	p.before = fe[0].follow_id;
	assert_int_equal(e->r->ops->liked_by(e->r, t1, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fe[0].user.id, b);
	assert_int_equal(e->r->ops->liked_by(e->r, t1 + 999999, &p, fe, &n), STORE_NOT_FOUND);

	assert_int_equal(like_write(e, false, b, t1, &created, &count), STORE_OK);
	assert_true(created);
	assert_int_equal(count, 1);
	assert_int_equal(like_write(e, false, b, t1, &created, &count), STORE_OK);
	assert_false(created);
	assert_int_equal(count, 1);

	/* A deleted tweet takes its likes with it. */
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, a, t1, NULL), STORE_OK);
	assert_int_equal(e->r->ops->viewer_state(e->r, c, &t1, 1, liked), STORE_OK);
	assert_false(liked[0]);
}

/* A retweet or unretweet; returns the status and fills *out (the write's
 * results) when asked. */
static int retweet_write(struct env *e, bool on, uint64_t user, uint64_t tweet,
			 struct store_write *out)
{
	struct store_write sw;
	sync_init(&sw, on ? STORE_W_RETWEET : STORE_W_UNRETWEET);
	sw.in.like.user_id = user;
	sw.in.like.tweet_id = tweet;
	sync_run(e->s, &sw);
	int st = sw.status;
	if (out) {
		out->created = sw.created;
		out->tweet = sw.tweet;
		out->related = sw.related;
		out->viewer = sw.viewer;
	}
	sync_deinit(&sw);
	return st;
}

static void test_retweets(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t c = make_user(e, "c", STORE_OK);
	uint64_t t1 = post(e, a, "one");
	struct store_write r;
	assert_int_equal(retweet_write(e, true, b, t1, &r), STORE_OK);
	assert_true(r.created);
	uint64_t rb = r.tweet.id;
	assert_true(rb > t1);
	assert_int_equal(r.tweet.author_id, b);
	assert_int_equal(r.tweet.retweet_of, t1);
	assert_int_equal(r.tweet.retweet_of_author_id, a);
	assert_int_equal(r.related.id, t1);
	assert_int_equal(r.related.retweet_count, 1);
	assert_int_equal(r.viewer, VIEWER_RETWEETED);
	/* Twice is one retweet: the same one answers. */
	assert_int_equal(retweet_write(e, true, b, t1, &r), STORE_OK);
	assert_false(r.created);
	assert_int_equal(r.tweet.id, rb);
	assert_int_equal(r.related.retweet_count, 1);
	/* A retweet of a retweet retweets the original. */
	assert_int_equal(retweet_write(e, true, c, rb, &r), STORE_OK);
	assert_true(r.created);
	uint64_t rc = r.tweet.id;
	assert_int_equal(r.tweet.retweet_of, t1);
	assert_int_equal(get_tweet(e, t1).retweet_count, 2);
	assert_int_equal(retweet_write(e, true, b, t1 + 999999, NULL), STORE_NOT_FOUND);
	assert_int_equal(retweet_write(e, false, b, t1 + 999999, NULL), STORE_NOT_FOUND);
	/* A like of a retweet likes its original. */
	assert_int_equal(like_write(e, true, c, rb, NULL, NULL), STORE_OK);
	assert_int_equal(get_tweet(e, t1).like_count, 1);

	/* The retweeter's state, in the same batched read as likes. */
	uint64_t ids[] = {t1, rb};
	uint8_t st[2];
	assert_int_equal(e->r->ops->viewer_state(e->r, c, ids, 2, st), STORE_OK);
	assert_int_equal(st[0], VIEWER_LIKED | VIEWER_RETWEETED);
	assert_int_equal(st[1], 0); /* about the original's id, not a retweet's */
	assert_int_equal(e->r->ops->viewer_state(e->r, a, ids, 2, st), STORE_OK);
	assert_int_equal(st[0], 0);

	/* Retweets are their retweeters' items, not search material. */
	uint64_t aid[4];
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .limit = 4};
	assert_int_equal(e->r->ops->author_tweet_ids(e->r, b, &p, aid, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(aid[0], rb);
	struct tweet tw[8];
	uint64_t cur[8];
	assert_int_equal(e->r->ops->tweets_after(e->r, 0, 8, tw, cur, &n), STORE_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tw[i].retweet_of, 0);

	/* Undone by its retweeter only; twice changes nothing. */
	assert_int_equal(retweet_write(e, false, b, t1, &r), STORE_OK);
	assert_true(r.created);
	assert_int_equal(r.related.id, rb);
	assert_int_equal(r.tweet.retweet_count, 1);
	assert_int_equal(retweet_write(e, false, b, t1, &r), STORE_OK);
	assert_false(r.created);
	assert_int_equal(get_tweet(e, t1).retweet_count, 1);
	struct tweet gone;
	assert_int_equal(e->r->ops->tweet_get(e->r, rb, &gone), STORE_NOT_FOUND);
	/* A retweet deleted as a tweet, by its author, counts as undone. */
	assert_int_equal(retweet_write(e, true, b, t1, &r), STORE_OK);
	rb = r.tweet.id;
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, a, rb, NULL), STORE_NOT_FOUND);
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, b, rb, NULL), STORE_OK);
	assert_int_equal(get_tweet(e, t1).retweet_count, 1);
	assert_int_equal(get_user(e, b).tweets_count, 0);

	/* The original, deleted, takes every retweet with it. */
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, a, t1, NULL), STORE_OK);
	assert_int_equal(e->r->ops->tweet_get(e->r, rc, &gone), STORE_NOT_FOUND);
	assert_int_equal(e->r->ops->author_tweet_ids(e->r, c, &p, aid, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(retweet_write(e, true, b, t1, NULL), STORE_NOT_FOUND);
	assert_int_equal(e->r->ops->retweeted_by(e->r, t1, &p, NULL, &n), STORE_NOT_FOUND);
}

static void test_retweeted_by(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t c = make_user(e, "c", STORE_OK);
	uint64_t t1 = post(e, a, "one"), t2 = post(e, a, "two");
	assert_int_equal(retweet_write(e, true, b, t1, NULL), STORE_OK);
	assert_int_equal(retweet_write(e, true, c, t1, NULL), STORE_OK);
	assert_int_equal(retweet_write(e, true, b, t2, NULL), STORE_OK);
	assert_int_equal(like_write(e, true, a, t1, NULL, NULL), STORE_OK);
	struct follow_entry fe[5];
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .limit = 5};
	assert_int_equal(e->r->ops->retweeted_by(e->r, t1, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fe[0].user.id, c); /* newest retweet first; no liker */
	assert_int_equal(fe[1].user.id, b);
	p.limit = 1;
	p.before = fe[0].follow_id;
	assert_int_equal(e->r->ops->retweeted_by(e->r, t1, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fe[0].user.id, b);
	p = (struct store_page){.before = UINT64_MAX, .limit = 5};
	assert_int_equal(e->r->ops->retweeted_by(e->r, t2, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(retweet_write(e, false, b, t2, NULL), STORE_OK);
	assert_int_equal(e->r->ops->retweeted_by(e->r, t2, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 0);
}

static size_t tag_ids(struct env *e, const char *tag, struct store_page p, uint64_t *ids)
{
	size_t n;
	assert_int_equal(e->r->ops->hashtag_tweet_ids(e->r, tag, &p, ids, &n), STORE_OK);
	return n;
}

static void test_entities_hashtags_and_trends(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "alice", STORE_OK);
	uint64_t b = make_user(e, "bob", STORE_OK);
	uint64_t t1 = post(e, a, "hi @BOB and @nobody: #Chirp #chirp #news");
	/* Only existing users are mentions, spelled as they spell themselves. */
	struct tweet t = get_tweet(e, t1);
	assert_int_equal(t.entities.mentions_n, 1);
	assert_int_equal(t.entities.mentions[0].id, b);
	assert_string_equal(t.entities.mentions[0].handle, "bob");
	assert_int_equal(t.entities.mentions[0].start, 3);
	assert_int_equal(t.entities.hashtags_n, 3);
	uint64_t t2 = post(e, b, "#CHIRP again");
	uint64_t t3 = post(e, b, "#chirp thrice");

	uint64_t ids[4];
	struct store_page p = {.before = UINT64_MAX, .limit = 4};
	assert_int_equal(tag_ids(e, "chirp", p, ids), 3); /* case-insensitive, once per tweet */
	assert_int_equal(ids[0], t3);
	assert_int_equal(ids[2], t1);
	p.limit = 1;
	p.before = t2;
	assert_int_equal(tag_ids(e, "chirp", p, ids), 1);
	assert_int_equal(ids[0], t1);
	p = (struct store_page){.before = UINT64_MAX, .limit = 2, .oldest_first = true};
	assert_int_equal(tag_ids(e, "chirp", p, ids), 2);
	assert_int_equal(ids[0], t2); /* the oldest two, newest first */
	assert_int_equal(ids[1], t1);
	p = (struct store_page){.before = UINT64_MAX, .limit = 4};
	assert_int_equal(tag_ids(e, "news", p, ids), 1);
	assert_int_equal(tag_ids(e, "none", p, ids), 0);

	/* Trends: by distinct authors, then tweets, from counters. */
	struct store_trend top[10];
	size_t n;
	uint64_t now = time_now_ms();
	assert_int_equal(e->r->ops->trends(e->r, now - 3600000, top, 10, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(top[0].tag, "chirp");
	assert_int_equal(top[0].authors, 2);
	assert_int_equal(top[0].tweets, 3);
	assert_string_equal(top[1].tag, "news");
	assert_int_equal(top[1].authors, 1);
	assert_int_equal(top[1].tweets, 1);
	assert_int_equal(e->r->ops->trends(e->r, now - 3600000, top, 1, &n), STORE_OK);
	assert_int_equal(n, 1);
	/* An hour later the window has moved past them (the clock is a
	 * parameter: nobody waits an hour). */
	assert_int_equal(e->r->ops->trends(e->r, now + 120000, top, 10, &n), STORE_OK);
	assert_int_equal(n, 0);

	/* A deleted tweet leaves its tags' pages. */
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, a, t1, NULL), STORE_OK);
	assert_int_equal(tag_ids(e, "chirp", p, ids), 2);
	assert_int_equal(tag_ids(e, "news", p, ids), 0);
}

static void test_public_tweet_ids(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t t1 = post(e, a, "one");
	uint64_t t2 = post(e, b, "two");
	assert_int_equal(retweet_write(e, true, a, t2, NULL), STORE_OK); /* not listed */
	uint64_t t3 = post(e, a, "three");
	uint64_t ids[8];
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .limit = 8};
	assert_int_equal(e->r->ops->public_tweet_ids(e->r, &p, ids, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_true(ids[0] == t3 && ids[1] == t2 && ids[2] == t1);
	p.limit = 1;
	p.before = t3;
	assert_int_equal(e->r->ops->public_tweet_ids(e->r, &p, ids, &n), STORE_OK);
	assert_true(n == 1 && ids[0] == t2);
	/* min_id: the oldest above it first, answered newest first */
	p = (struct store_page){.before = UINT64_MAX, .after = t1, .limit = 1, .oldest_first = true};
	assert_int_equal(e->r->ops->public_tweet_ids(e->r, &p, ids, &n), STORE_OK);
	assert_true(n == 1 && ids[0] == t2);
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, a, t3, NULL), STORE_OK);
	p = (struct store_page){.before = UINT64_MAX, .limit = 8};
	assert_int_equal(e->r->ops->public_tweet_ids(e->r, &p, ids, &n), STORE_OK);
	assert_true(n == 2 && ids[0] == t2 && ids[1] == t1);
}

static void test_profile_update(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	assert_string_equal(get_user(e, a).bio, "");
	struct store_write sw;
	sync_init(&sw, STORE_W_PROFILE_UPDATE);
	sw.in.profile.user_id = a;
	sw.in.profile.set_bio = true;
	strcpy(sw.in.profile.bio, "hello");
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	assert_string_equal(sw.user.bio, "hello");
	assert_string_equal(sw.user.display_name, "The a"); /* not asked: unchanged */
	sync_deinit(&sw);
	sync_init(&sw, STORE_W_PROFILE_UPDATE);
	sw.in.profile.user_id = a;
	sw.in.profile.set_display_name = true;
	strcpy(sw.in.profile.display_name, "Ann");
	sync_run(e->s, &sw);
	sync_deinit(&sw);
	struct user u = get_user(e, a);
	assert_string_equal(u.display_name, "Ann");
	assert_string_equal(u.bio, "hello");
	sync_init(&sw, STORE_W_PROFILE_UPDATE);
	sw.in.profile.user_id = a + 999999;
	sw.in.profile.set_bio = true;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_NOT_FOUND);
	sync_deinit(&sw);
}

static int relation_write(struct env *e, enum store_write_kind kind, uint64_t a, uint64_t b,
			  bool *created)
{
	struct store_write sw;
	sync_init(&sw, kind);
	sw.in.relation.user_id = a;
	sw.in.relation.other_id = b;
	sync_run(e->s, &sw);
	int st = sw.status;
	if (created)
		*created = sw.created;
	sync_deinit(&sw);
	return st;
}

static unsigned rel_bits(struct env *e, uint64_t viewer, uint64_t other)
{
	struct store_relation *rel;
	size_t n;
	unsigned bits = 0;
	assert_int_equal(e->r->ops->relations(e->r, viewer, &rel, &n), STORE_OK);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(rel[i - 1].id < rel[i].id); /* sorted, one row per user */
		if (rel[i].id == other)
			bits = rel[i].bits;
	}
	free(rel);
	return bits;
}

/* struct session.has_relations of the session of all bytes `fill`. */
static bool session_has_relations(struct env *e, uint8_t fill)
{
	uint8_t hash[TOKEN_HASH_LEN];
	memset(hash, fill, sizeof(hash));
	struct session got;
	assert_int_equal(e->r->ops->session_get(e->r, hash, &got), STORE_OK);
	return got.has_relations;
}

static void test_blocks_and_mutes(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t c = make_user(e, "c", STORE_OK);
	uint64_t d = make_user(e, "d", STORE_OK);
	make_session(e, a, 1, time_now_ms());
	make_session(e, b, 2, time_now_ms());
	make_session(e, c, 3, time_now_ms());
	make_session(e, d, 4, time_now_ms());
	assert_false(session_has_relations(e, 1));
	bool created;
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, a, b, NULL), STORE_OK);
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, b, a, NULL), STORE_OK);
	assert_int_equal(relation_write(e, STORE_W_BLOCK, a, b, &created), STORE_OK);
	assert_true(created);
	assert_int_equal(relation_write(e, STORE_W_BLOCK, a, b, &created), STORE_OK);
	assert_false(created);
	assert_int_equal(relation_write(e, STORE_W_BLOCK, a, b + 999999, NULL), STORE_NOT_FOUND);
	/* Follows gone both ways, counts too; new ones refused either way. */
	assert_int_equal(get_user(e, a).followers_count, 0);
	assert_int_equal(get_user(e, a).following_count, 0);
	assert_int_equal(get_user(e, b).followers_count, 0);
	assert_int_equal(get_user(e, b).following_count, 0);
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, b, a, NULL), STORE_INVALID);
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, a, b, NULL), STORE_INVALID);
	assert_int_equal(get_user(e, a).followers_count, 0);
	/* Nor likes or replies by the blocked on the blocker's tweets. */
	uint64_t t = post(e, a, "mine");
	assert_int_equal(like_write(e, true, b, t, NULL, NULL), STORE_NOT_FOUND);
	reply_to(e, b, t, STORE_NOT_FOUND);
	assert_int_equal(get_tweet(e, t).reply_count, 0);

	assert_int_equal(relation_write(e, STORE_W_MUTE, a, c, &created), STORE_OK);
	assert_true(created);
	assert_int_equal(relation_write(e, STORE_W_MUTE, a, b, NULL), STORE_OK);
	assert_int_equal(rel_bits(e, a, b), REL_BLOCKING | REL_MUTING);
	assert_int_equal(rel_bits(e, a, c), REL_MUTING);
	assert_int_equal(rel_bits(e, b, a), REL_BLOCKED_BY);
	assert_int_equal(rel_bits(e, c, a), 0); /* a mute is the muter's alone */
	/* Read with the session: the blocker, the blocked, the muter; not the muted. */
	assert_true(session_has_relations(e, 1));
	assert_true(session_has_relations(e, 2));
	assert_false(session_has_relations(e, 3));
	assert_false(session_has_relations(e, 4));
	assert_int_equal(relation_write(e, STORE_W_MUTE, d, c, NULL), STORE_OK);
	assert_true(session_has_relations(e, 4));
	assert_false(session_has_relations(e, 3));

	struct follow_entry fe[5];
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .limit = 5};
	assert_int_equal(e->r->ops->blocks(e->r, a, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fe[0].user.id, b);
	assert_int_equal(e->r->ops->mutes(e->r, a, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fe[0].user.id, b); /* newest first */
	assert_int_equal(fe[1].user.id, c);
	p.oldest_first = true;
	p.limit = 1;
	assert_int_equal(e->r->ops->mutes(e->r, a, &p, fe, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fe[0].user.id, c);

	assert_int_equal(relation_write(e, STORE_W_UNBLOCK, a, b, &created), STORE_OK);
	assert_true(created);
	assert_int_equal(relation_write(e, STORE_W_UNBLOCK, a, b, &created), STORE_OK);
	assert_false(created);
	assert_int_equal(relation_write(e, STORE_W_UNMUTE, a, b, NULL), STORE_OK);
	assert_int_equal(rel_bits(e, a, b), 0);
	assert_true(session_has_relations(e, 1)); /* still muting c */
	assert_false(session_has_relations(e, 2));
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, b, a, &created), STORE_OK);
	assert_true(created);
}

static size_t notifs(struct env *e, uint64_t user, unsigned types, struct notification *out)
{
	size_t n;
	struct store_page p = {.before = UINT64_MAX, .limit = 10};
	assert_int_equal(e->r->ops->notifications(e->r, user, &p, types, out, &n), STORE_OK);
	return n;
}

static uint64_t unread_count(struct env *e, uint64_t user)
{
	uint64_t count = 99;
	assert_int_equal(e->r->ops->notifications_unread(e->r, user, &count), STORE_OK);
	return count;
}

static void test_notifications(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	uint64_t c = make_user(e, "c", STORE_OK);
	struct notification out[10];
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, b, a, NULL), STORE_OK);
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, b, a, NULL), STORE_OK); /* no change */
	uint64_t t = post(e, a, "mine");
	uint64_t r = reply_to(e, b, t, STORE_OK);
	assert_int_equal(like_write(e, true, b, t, NULL, NULL), STORE_OK);
	assert_int_equal(like_write(e, true, c, t, NULL, NULL), STORE_OK);
	assert_int_equal(like_write(e, true, a, t, NULL, NULL), STORE_OK); /* one's own */
	/* A mention of a (twice, in two cases), and of nobody. */
	struct store_write sw;
	sync_init(&sw, STORE_W_TWEET_CREATE);
	sw.in.tweet_create.author_id = c;
	/* the author, c, is not notified */
	strcpy(sw.in.tweet_create.text, "@A @nobody @a @c");
	sw.in.tweet_create.text_len = strlen(sw.in.tweet_create.text);
	entities_parse(sw.in.tweet_create.text, sw.in.tweet_create.text_len,
		       &sw.in.tweet_create.entities);
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	uint64_t m = sw.tweet.id;
	sync_deinit(&sw);

	size_t n = notifs(e, a, NOTIF_TYPES_ALL, out);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].type, NOTIF_MENTION);
	assert_int_equal(out[0].actor.id, c);
	assert_int_equal(out[0].tweet_id, m);
	assert_int_equal(out[1].type, NOTIF_LIKE); /* grouped: c and b, c latest */
	assert_int_equal(out[1].count, 2);
	assert_int_equal(out[1].actor.id, c);
	assert_int_equal(out[1].tweet_id, t);
	assert_int_equal(out[2].type, NOTIF_REPLY);
	assert_int_equal(out[2].tweet_id, r);
	assert_int_equal(out[3].type, NOTIF_FOLLOW);
	assert_int_equal(out[3].actor.id, b);
	assert_int_equal(out[3].tweet_id, 0);
	assert_int_equal(notifs(e, c, NOTIF_TYPES_ALL, out), 0);
	assert_int_equal(notifs(e, a, 1u << NOTIF_FOLLOW | 1u << NOTIF_REPLY, out), 2);

	/* An unlike right after its like takes it out of the group. */
	assert_int_equal(like_write(e, false, c, t, NULL, NULL), STORE_OK);
	n = notifs(e, a, 1u << NOTIF_LIKE, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].count, 1);
	assert_int_equal(out[0].actor.id, b);
	assert_int_equal(like_write(e, false, b, t, NULL, NULL), STORE_OK);
	assert_int_equal(notifs(e, a, 1u << NOTIF_LIKE, out), 0);

	/* The marker, and the hiding of muted and blocked actors. */
	assert_int_equal(unread_count(e, a), 3);
	n = notifs(e, a, NOTIF_TYPES_ALL, out);
	sync_init(&sw, STORE_W_NOTIFICATIONS_READ);
	sw.in.notifications_read.user_id = a;
	sw.in.notifications_read.up_to_id = out[1].id;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	assert_int_equal(unread_count(e, a), 1);
	assert_int_equal(relation_write(e, STORE_W_MUTE, a, c, NULL), STORE_OK);
	assert_int_equal(unread_count(e, a), 0);
	assert_int_equal(notifs(e, a, NOTIF_TYPES_ALL, out), 2);
	assert_int_equal(relation_write(e, STORE_W_BLOCK, b, a, NULL), STORE_OK);
	assert_int_equal(notifs(e, a, NOTIF_TYPES_ALL, out), 0);

	/* A deleted tweet takes its notifications. */
	assert_int_equal(relation_write(e, STORE_W_UNMUTE, a, c, NULL), STORE_OK);
	assert_int_equal(notifs(e, a, 1u << NOTIF_MENTION, out), 1);
	assert_int_equal(simple_write(e, STORE_W_TWEET_DELETE, c, m, NULL), STORE_OK);
	assert_int_equal(notifs(e, a, 1u << NOTIF_MENTION, out), 0);
}

static int dismiss(struct env *e, uint64_t user, uint64_t id)
{
	struct store_write sw;
	sync_init(&sw, id ? STORE_W_NOTIFICATION_DISMISS : STORE_W_NOTIFICATIONS_CLEAR);
	sw.in.dismiss.user_id = user;
	sw.in.dismiss.id = id;
	sync_run(e->s, &sw);
	int rc = sw.status;
	sync_deinit(&sw);
	return rc;
}

static void test_notifications_dismissed_and_cleared(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	uint64_t b = make_user(e, "b", STORE_OK);
	struct notification out[10];
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, b, a, NULL), STORE_OK);
	assert_int_equal(simple_write(e, STORE_W_FOLLOW, a, b, NULL), STORE_OK);
	uint64_t t = post(e, a, "mine");
	assert_int_equal(like_write(e, true, b, t, NULL, NULL), STORE_OK);
	assert_int_equal(notifs(e, a, NOTIF_TYPES_ALL, out), 2);
	uint64_t liked = out[0].id, followed = out[1].id;
	/* Only the recipient's own: b's dismissal of a's finds nothing. */
	assert_int_equal(dismiss(e, b, liked), STORE_NOT_FOUND);
	assert_int_equal(dismiss(e, a, liked), STORE_OK);
	assert_int_equal(dismiss(e, a, liked), STORE_NOT_FOUND);
	assert_int_equal(notifs(e, a, NOTIF_TYPES_ALL, out), 1);
	assert_int_equal(out[0].id, followed);
	/* A like after the dismissal groups anew. */
	assert_int_equal(like_write(e, false, b, t, NULL, NULL), STORE_OK);
	assert_int_equal(like_write(e, true, b, t, NULL, NULL), STORE_OK);
	assert_int_equal(notifs(e, a, NOTIF_TYPES_ALL, out), 2);
	assert_int_equal(out[0].type, NOTIF_LIKE);
	assert_int_equal(out[0].count, 1);
	/* Clearing takes all of a's and none of b's. */
	assert_int_equal(dismiss(e, a, 0), STORE_OK);
	assert_int_equal(notifs(e, a, NOTIF_TYPES_ALL, out), 0);
	assert_int_equal(unread_count(e, a), 0);
	assert_int_equal(notifs(e, b, NOTIF_TYPES_ALL, out), 1);
}

static void test_avatar_refused(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	struct store_write sw;
	sync_init(&sw, STORE_W_PROFILE_UPDATE);
	sw.in.profile.user_id = a;
	sw.in.profile.set_bio = true;
	strcpy(sw.in.profile.bio, "changed?");
	sw.in.profile.set_avatar = true;
	sw.in.profile.avatar_media_id = 12345; /* no such media */
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_INVALID);
	sync_deinit(&sw);
	struct user u = get_user(e, a);
	assert_string_equal(u.bio, ""); /* nothing half-written */
	assert_int_equal(u.avatar.id, 0);
	sync_init(&sw, STORE_W_PROFILE_UPDATE);
	sw.in.profile.user_id = a;
	sw.in.profile.set_avatar = true; /* clear: fine when unset */
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	assert_int_equal(sw.user.avatar.id, 0);
	sync_deinit(&sw);
}

/* A user with an e-mail address (or none: ""); returns the id, or 0
 * with *taken set when refused. */
static uint64_t make_user_email(struct env *e, const char *handle, const char *email,
				enum store_taken *taken)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_USER_CREATE);
	snprintf(sw.in.user_create.handle, sizeof(sw.in.user_create.handle), "%s", handle);
	snprintf(sw.in.user_create.display_name, sizeof(sw.in.user_create.display_name), "%s",
		 handle);
	strcpy(sw.in.user_create.password_hash, "$argon2id$fake");
	snprintf(sw.in.user_create.email, sizeof(sw.in.user_create.email), "%s", email);
	sync_run(e->s, &sw);
	uint64_t id = 0;
	*taken = sw.taken;
	if (sw.status == STORE_OK) {
		id = sw.user.id;
		assert_string_equal(sw.email, email); /* for the owner's answer */
	} else {
		assert_int_equal(sw.status, STORE_CONFLICT);
	}
	sync_deinit(&sw);
	return id;
}

static int set_email(struct env *e, uint64_t user, const char *email, const char *bio,
		     enum store_taken *taken)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_PROFILE_UPDATE);
	sw.in.profile.user_id = user;
	sw.in.profile.set_email = true;
	snprintf(sw.in.profile.email, sizeof(sw.in.profile.email), "%s", email);
	if (bio) {
		sw.in.profile.set_bio = true;
		snprintf(sw.in.profile.bio, sizeof(sw.in.profile.bio), "%s", bio);
	}
	sync_run(e->s, &sw);
	int rc = sw.status;
	*taken = sw.taken;
	if (rc == STORE_OK)
		assert_string_equal(sw.email, email);
	sync_deinit(&sw);
	return rc;
}

static const char *email_of(struct env *e, uint64_t user, char *buf)
{
	assert_int_equal(e->r->ops->user_email(e->r, user, buf), STORE_OK);
	return buf;
}

/* E-mail addresses: optional, unique, a way to log in, private (a read of
 * its own), changeable and removable. */
static void test_emails(void **state)
{
	struct env *e = *state;
	enum store_taken taken;
	char buf[EMAIL_MAX + 1];
	uint64_t ann = make_user_email(e, "ann", "ann@example.org", &taken);
	assert_true(ann > 0);
	uint64_t bob = make_user_email(e, "bob", "", &taken); /* none: fine, and not unique */
	uint64_t cy = make_user_email(e, "cy", "", &taken);
	assert_true(bob > 0 && cy > 0);
	assert_int_equal(make_user_email(e, "ann2", "ann@example.org", &taken), 0);
	assert_int_equal(taken, STORE_TAKEN_EMAIL);
	assert_int_equal(make_user_email(e, "ANN", "other@example.org", &taken), 0);
	assert_int_equal(taken, STORE_TAKEN_HANDLE);
	struct user u;
	assert_int_equal(e->r->ops->user_get_by_handle(e->r, "ann2", &u), STORE_NOT_FOUND);

	char hash[PWHASH_MAX];
	assert_int_equal(e->r->ops->user_credentials_by_email(e->r, "ann@example.org", &u, hash),
			 STORE_OK);
	assert_int_equal(u.id, ann);
	assert_string_equal(hash, "$argon2id$fake");
	assert_int_equal(e->r->ops->user_credentials_by_email(e->r, "", &u, hash), STORE_NOT_FOUND);
	assert_int_equal(e->r->ops->user_credentials_by_email(e->r, "no@example.org", &u, hash),
			 STORE_NOT_FOUND);
	assert_string_equal(email_of(e, ann, buf), "ann@example.org");
	assert_string_equal(email_of(e, bob, buf), "");
	assert_int_equal(e->r->ops->user_email(e->r, ann + 999999, buf), STORE_NOT_FOUND);

	/* Another's address is refused, and nothing else of the change is made. */
	assert_int_equal(set_email(e, bob, "ann@example.org", "changed?", &taken), STORE_CONFLICT);
	assert_int_equal(taken, STORE_TAKEN_EMAIL);
	assert_string_equal(get_user(e, bob).bio, "");
	assert_string_equal(email_of(e, bob, buf), "");
	/* One's own again is no conflict; a new one replaces it. */
	assert_int_equal(set_email(e, ann, "ann@example.org", NULL, &taken), STORE_OK);
	assert_int_equal(set_email(e, ann, "ann@example.net", "new", &taken), STORE_OK);
	assert_string_equal(get_user(e, ann).bio, "new");
	assert_int_equal(e->r->ops->user_credentials_by_email(e->r, "ann@example.org", &u, hash),
			 STORE_NOT_FOUND);
	/* The freed one is anyone's now. */
	assert_int_equal(set_email(e, bob, "ann@example.org", NULL, &taken), STORE_OK);
	assert_int_equal(e->r->ops->user_credentials_by_email(e->r, "ann@example.org", &u, hash),
			 STORE_OK);
	assert_int_equal(u.id, bob);
	/* "" removes it; two users without one do not collide. */
	assert_int_equal(set_email(e, bob, "", NULL, &taken), STORE_OK);
	assert_int_equal(set_email(e, cy, "", NULL, &taken), STORE_OK);
	assert_string_equal(email_of(e, bob, buf), "");
	/* A profile change without the e-mail leaves it as it is. */
	struct store_write sw;
	sync_init(&sw, STORE_W_PROFILE_UPDATE);
	sw.in.profile.user_id = ann;
	sw.in.profile.set_bio = true;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	assert_string_equal(sw.email, "ann@example.net");
	sync_deinit(&sw);
	assert_string_equal(email_of(e, ann, buf), "ann@example.net");
}

/* A processed media of `owner` with `description`. */
static uint64_t ready_media(struct env *e, uint64_t owner, const char *description)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_MEDIA_CREATE);
	sw.in.media_create.owner_id = owner;
	sw.in.media_create.size = 10;
	strcpy(sw.in.media_create.claimed_type, "image/png");
	snprintf(sw.in.media_create.description, sizeof(sw.in.media_create.description), "%s",
		 description);
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	assert_string_equal(sw.media.description, description);
	uint64_t id = sw.media.id;
	sync_deinit(&sw);
	sync_init(&sw, STORE_W_MEDIA_COMPLETE);
	sw.in.media_complete.owner_id = owner;
	sw.in.media_complete.media_id = id;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	struct store_job jobs[8];
	size_t n = 0;
	assert_int_equal(e->r->ops->job_due(e->r, UINT64_MAX / 2, jobs, 8, &n), STORE_OK);
	size_t i = 0;
	while (i < n && jobs[i].media_id != id)
		i++;
	assert_true(i < n);
	sync_init(&sw, STORE_W_JOB_FINISH);
	sw.in.job_finish.job_id = jobs[i].id;
	sw.in.job_finish.media_id = id;
	sw.in.job_finish.outcome = JOB_READY;
	sw.in.job_finish.attempts = 1;
	sw.in.job_finish.out = (struct media_ref){.id = id, .width = 4, .height = 3};
	strcpy(sw.in.job_finish.out.content_type, "image/png");
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	return id;
}

static int describe(struct env *e, uint64_t owner, uint64_t media, const char *text)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_MEDIA_DESCRIBE);
	sw.in.media_describe.owner_id = owner;
	sw.in.media_describe.media_id = media;
	snprintf(sw.in.media_describe.description, sizeof(sw.in.media_describe.description), "%s",
		 text);
	sync_run(e->s, &sw);
	int rc = sw.status;
	if (rc == STORE_OK)
		assert_string_equal(sw.media.description, text);
	sync_deinit(&sw);
	return rc;
}

static int post_media(struct env *e, uint64_t author, const uint64_t *media, unsigned n,
		      struct tweet *out)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_TWEET_CREATE);
	sw.in.tweet_create.author_id = author;
	sw.in.tweet_create.text_len = 3;
	strcpy(sw.in.tweet_create.text, "pic");
	sw.in.tweet_create.media_n = n;
	memcpy(sw.in.tweet_create.media_ids, media, n * sizeof(*media));
	sync_run(e->s, &sw);
	int rc = sw.status;
	if (rc == STORE_OK)
		*out = sw.tweet;
	sync_deinit(&sw);
	return rc;
}

/* The i-th description in a tweet's media_alt, into buf. */
static const char *alt_of(const struct tweet *t, unsigned i, char *buf)
{
	const char *s = t->media_alt, *text = "";
	size_t len = 0;
	for (unsigned k = 0; k <= i; k++) {
		s = store_media_alt_next(s, &text, &len);
		assert_non_null(s);
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	return buf;
}

/* A media's description: set at creation, changed by its owner while it
 * is on no tweet, copied into the tweet that takes it (and fixed there). */
static void test_media_descriptions(void **state)
{
	struct env *e = *state;
	uint64_t ann = make_user(e, "ann", STORE_OK), bob = make_user(e, "bob", STORE_OK);
	uint64_t cat = ready_media(e, ann, "a cat; asleep: \"zzz\"");
	uint64_t dog = ready_media(e, ann, "");
	struct media m;
	assert_int_equal(e->r->ops->media_get(e->r, cat, &m), STORE_OK);
	assert_string_equal(m.description, "a cat; asleep: \"zzz\"");
	assert_int_equal(describe(e, bob, cat, "mine now"), STORE_NOT_FOUND);
	assert_int_equal(describe(e, ann, cat + 999999, "x"), STORE_NOT_FOUND);
	assert_int_equal(describe(e, ann, cat, "a black cat"), STORE_OK);
	assert_int_equal(e->r->ops->media_get(e->r, cat, &m), STORE_OK);
	assert_string_equal(m.description, "a black cat");

	char buf[DESCRIPTION_MAX + 1];
	struct tweet t;
	uint64_t both[2] = {dog, cat};
	assert_int_equal(post_media(e, ann, both, 2, &t), STORE_OK);
	assert_string_equal(alt_of(&t, 0, buf), "");
	assert_string_equal(alt_of(&t, 1, buf), "a black cat");
	struct tweet read = get_tweet(e, t.id);
	assert_string_equal(read.media_alt, t.media_alt);
	/* Attached: its description is the tweet's now, and stays. */
	assert_int_equal(describe(e, ann, cat, "changed after"), STORE_CONFLICT);
	assert_string_equal(alt_of(&read, 1, buf), "a black cat");

	/* Media without descriptions leave the tweet's text empty. */
	uint64_t plain = ready_media(e, ann, "");
	assert_int_equal(post_media(e, ann, &plain, 1, &t), STORE_OK);
	assert_string_equal(t.media_alt, "");

	/* Four long descriptions are more than a tweet keeps: refused, and
	 * the media stay free to describe again. */
	uint64_t four[4];
	char big[2001];
	memset(big, 'x', 2000);
	big[2000] = '\0';
	for (int i = 0; i < 4; i++)
		four[i] = ready_media(e, bob, big);
	assert_int_equal(post_media(e, bob, four, 4, &t), STORE_INVALID);
	assert_int_equal(e->r->ops->media_get(e->r, four[0], &m), STORE_OK);
	assert_int_equal(m.tweet_id, 0);
	assert_int_equal(describe(e, bob, four[0], "short"), STORE_OK);
	assert_int_equal(describe(e, bob, four[1], "short"), STORE_OK);
	assert_int_equal(post_media(e, bob, four, 4, &t), STORE_OK);
	assert_int_equal(strlen(alt_of(&t, 3, buf)), 2000);
}

static struct marker *markers_set(struct env *e, uint64_t user, int which, uint64_t id,
				  struct marker *out)
{
	struct store_write sw;
	sync_init(&sw, STORE_W_MARKERS_SET);
	sw.in.markers.user_id = user;
	for (int t = 0; t < MARKER_TIMELINE_COUNT; t++)
		if (which & (1 << t)) {
			sw.in.markers.set[t] = true;
			sw.in.markers.m[t].last_read_id = id;
		}
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	memcpy(out, sw.in.markers.m, sizeof(sw.in.markers.m));
	sync_deinit(&sw);
	return out;
}

/* Read markers: none at first; each update counts a version and stamps
 * its time; per user and timeline. */
static void test_markers(void **state)
{
	struct env *e = *state;
	uint64_t ann = make_user(e, "ann", STORE_OK), bob = make_user(e, "bob", STORE_OK);
	struct marker m[MARKER_TIMELINE_COUNT], got[MARKER_TIMELINE_COUNT];
	assert_int_equal(e->r->ops->markers(e->r, ann, got), STORE_OK);
	assert_int_equal(got[MARKER_HOME].version, 0);
	assert_int_equal(got[MARKER_NOTIFICATIONS].version, 0);
	uint64_t before = time_now_ms();
	markers_set(e, ann, 1 << MARKER_HOME, 100, m);
	assert_int_equal(m[MARKER_HOME].version, 1);
	assert_true(m[MARKER_HOME].updated_ms >= before);
	markers_set(e, ann, (1 << MARKER_HOME) | (1 << MARKER_NOTIFICATIONS), 120, m);
	assert_int_equal(m[MARKER_HOME].version, 2);
	assert_int_equal(m[MARKER_NOTIFICATIONS].version, 1);
	markers_set(e, ann, 1 << MARKER_NOTIFICATIONS, 7, m); /* back: a marker is what it is told */
	assert_int_equal(e->r->ops->markers(e->r, ann, got), STORE_OK);
	assert_int_equal(got[MARKER_HOME].last_read_id, 120);
	assert_int_equal(got[MARKER_HOME].version, 2);
	assert_int_equal(got[MARKER_NOTIFICATIONS].last_read_id, 7);
	assert_int_equal(got[MARKER_NOTIFICATIONS].version, 2);
	assert_int_equal(got[MARKER_NOTIFICATIONS].updated_ms, m[MARKER_NOTIFICATIONS].updated_ms);
	assert_int_equal(e->r->ops->markers(e->r, bob, got), STORE_OK);
	assert_int_equal(got[MARKER_HOME].version, 0); /* another's are their own */
}

static void test_idempotency(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	struct store_write sw;
	uint64_t first = 0;
	for (int round = 0; round < 3; round++) {
		sync_init(&sw, STORE_W_TWEET_CREATE);
		sw.in.tweet_create.author_id = a;
		strcpy(sw.in.tweet_create.text, "once");
		sw.in.tweet_create.text_len = 4;
		sw.idem.on = true;
		sw.idem.scope = a;
		strcpy(sw.idem.key, "k1");
		memset(sw.idem.fingerprint, round == 2 ? 2 : 1, 32);
		sync_run(e->s, &sw);
		if (round == 0) {
			assert_int_equal(sw.status, STORE_OK);
			assert_false(sw.replayed);
			first = sw.tweet.id;
		} else if (round == 1) {
			assert_int_equal(sw.status, STORE_OK);
			assert_true(sw.replayed);
			assert_int_equal(sw.resp_status, 200);
			char want[64];
			snprintf(want, sizeof(want), "{\"user\":0,\"tweet\":%llu}",
				 (unsigned long long)first);
			assert_string_equal(sw.resp_body.data, want);
		} else {
			assert_int_equal(sw.status, STORE_IDEM_MISMATCH);
		}
		sync_deinit(&sw);
	}
	assert_int_equal(get_user(e, a).tweets_count, 1);

	struct store_idem_record rec = {.body = STRBUF_INIT};
	assert_int_equal(e->r->ops->idem_get(e->r, a, "k1", &rec), STORE_OK);
	assert_int_equal(rec.status, 200);
	assert_int_equal(rec.fingerprint[0], 1);
	strbuf_deinit(&rec.body);
	/* Keys are scoped per user. */
	assert_int_equal(e->r->ops->idem_get(e->r, a + 1, "k1", &rec), STORE_NOT_FOUND);
}

struct writer_arg {
	struct env *e;
	uint64_t author;
	uint64_t ids[50];
};

static void *concurrent_poster(void *p)
{
	struct writer_arg *wa = p;
	for (int i = 0; i < 50; i++)
		wa->ids[i] = post(wa->e, wa->author, "concurrent");
	return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static void test_concurrent_writers(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "a", STORE_OK);
	enum { T = 4 };
	struct writer_arg args[T];
	pthread_t th[T];
	for (int i = 0; i < T; i++) {
		args[i].e = e;
		args[i].author = a;
		pthread_create(&th[i], NULL, concurrent_poster, &args[i]);
	}
	uint64_t all[T * 50];
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		memcpy(all + i * 50, args[i].ids, sizeof(args[i].ids));
	}
	qsort(all, T * 50, sizeof(all[0]), cmp_u64);
	for (int i = 1; i < T * 50; i++)
		assert_true(all[i] > all[i - 1]); /* unique */
	assert_int_equal(get_user(e, a).tweets_count, T * 50);
}

static void test_reopen_keeps_data(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "keeper", STORE_OK);
	uint64_t t = post(e, a, "durable");
	e->r->ops->reader_free(e->r);
	e->s->ops->close(e->s);
	e->s = open_store(e);
	assert_non_null(e->s);
	e->r = e->s->ops->reader_new(e->s);
	struct tweet tw;
	assert_int_equal(e->r->ops->tweet_get(e->r, t, &tw), STORE_OK);
	assert_string_equal(tw.text, "durable");
	/* New ids stay above old ones after a restart. */
	assert_true(post(e, a, "later") > t);
}

/* A new database in a new directory `dir` (a mkdtemp template), at schema
 * version `v`; its path goes to path[cap]. */
static sqlite3 *db_at_version(char *dir, char *path, size_t cap, int v, struct strbuf *err)
{
	assert_non_null(mkdtemp(dir));
	snprintf(path, cap, "%s/%s", dir, STORE_SQLITE_FILE);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(store_sqlite_configure(db, err), 0);
	assert_int_equal(store_sqlite_migrate(db, v, err), 0);
	return db;
}

static void test_migration_upgrades_v1(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-test-migrate-XXXXXX";
	char path[128];
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = db_at_version(dir, path, sizeof(path), 1, &err);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO users (id, handle, display_name, password_hash)"
				      " VALUES (4242, 'old', 'Old Timer', 'x')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	/* Version 1 has no idempotency table. */
	assert_int_not_equal(sqlite3_exec(db, "SELECT * FROM idempotency", NULL, NULL, NULL),
			     SQLITE_OK);
	sqlite3_close(db);

	struct store *s = open_sqlite(dir);
	assert_non_null(s);
	struct store_reader *r = s->ops->reader_new(s);
	struct user u;
	assert_int_equal(r->ops->user_get(r, 4242, &u), STORE_OK);
	assert_string_equal(u.display_name, "Old Timer");
	struct store_idem_record rec = {.body = STRBUF_INIT};
	assert_int_equal(r->ops->idem_get(r, 1, "k", &rec), STORE_NOT_FOUND);
	r->ops->reader_free(r);
	s->ops->close(s);

	/* A database from a newer chirp is refused, not damaged. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct store_options opt = {.data_dir = dir};
	strbuf_reset(&err);
	assert_null(store_sqlite_ops.open(&opt, &err));
	assert_non_null(strstr(err.data, "newer"));
	strbuf_deinit(&err);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Version 6 drops the idempotency records of version 5, whose unkeyed
 * SHA-256 fingerprints let a reader of the file test sign-up passwords. */
static void test_migration_drops_unkeyed_fingerprints(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-test-migrate-XXXXXX";
	char path[128];
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = db_at_version(dir, path, sizeof(path), 5, &err);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO idempotency (scope, key, fingerprint, status, body,"
				      " created_ms) VALUES (0, 'k', x'00', 201, x'7b7d', 1)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	struct store *s = open_sqlite(dir);
	assert_non_null(s);
	struct store_reader *r = s->ops->reader_new(s);
	struct store_idem_record rec = {.body = STRBUF_INIT};
	assert_int_equal(r->ops->idem_get(r, 0, "k", &rec), STORE_NOT_FOUND);
	r->ops->reader_free(r);
	s->ops->close(s);
	strbuf_deinit(&err);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Version 8 gives the sessions of before an id and a last use (both the
 * upgrade's time), so they stay signed in and can be listed and ended. */
static void test_migration_keeps_sessions(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-test-migrate-XXXXXX";
	char path[128];
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = db_at_version(dir, path, sizeof(path), 7, &err);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO sessions (token_hash, user_id) VALUES"
				      " (zeroblob(32), 4242), (x'0707070707070707070707070707070707"
				      "070707070707070707070707070707', 4242)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	uint64_t before = time_now_ms();
	struct store *s = open_sqlite(dir);
	assert_non_null(s);
	struct store_reader *r = s->ops->reader_new(s);
	uint8_t hash[TOKEN_HASH_LEN];
	memset(hash, 7, sizeof(hash));
	struct session got;
	assert_int_equal(r->ops->session_get(r, hash, &got), STORE_OK);
	assert_int_equal(got.user_id, 4242);
	assert_true(got.last_used_ms >= before - 1000 && got.last_used_ms <= time_now_ms() + 1000);
	assert_true(id_unix_ms(got.id) >= before - 3000 && id_unix_ms(got.id) < before);
	struct session list[SESSION_LIST_MAX];
	size_t n = 0;
	assert_int_equal(r->ops->sessions_of(r, 4242, 0, list, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_not_equal(list[0].id, list[1].id);
	r->ops->reader_free(r);
	s->ops->close(s);
	strbuf_deinit(&err);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Version 12 gives the users, media and tweets of before no e-mail
 * address and no descriptions, and nobody markers; they read as before. */
static void test_migration_adds_emails_and_descriptions(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-test-migrate-XXXXXX";
	char path[128];
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = db_at_version(dir, path, sizeof(path), 11, &err);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO users (id, handle, display_name, password_hash)"
				      " VALUES (4242, 'old', 'Old Timer', 'x');"
				      "INSERT INTO media (id, owner_id, status, claimed_type, size, parts,"
				      " content_type, width, height, tweet_id, created_ms) VALUES"
				      " (77, 4242, 2, 'image/png', 10, 0, 'image/png', 4, 3, 88, 1);"
				      "INSERT INTO tweets (id, author_id, text, media) VALUES"
				      " (88, 4242, 'old pic', '77:4:3:image/png;')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	struct store *s = open_sqlite(dir);
	assert_non_null(s);
	struct store_reader *r = s->ops->reader_new(s);
	char email[EMAIL_MAX + 1] = "?";
	assert_int_equal(r->ops->user_email(r, 4242, email), STORE_OK);
	assert_string_equal(email, "");
	struct tweet t;
	assert_int_equal(r->ops->tweet_get(r, 88, &t), STORE_OK);
	assert_int_equal(t.media_n, 1);
	assert_string_equal(t.media_alt, "");
	struct media m;
	assert_int_equal(r->ops->media_get(r, 77, &m), STORE_OK);
	assert_string_equal(m.description, "");
	struct marker mk[MARKER_TIMELINE_COUNT];
	assert_int_equal(r->ops->markers(r, 4242, mk), STORE_OK);
	assert_int_equal(mk[MARKER_HOME].version, 0);
	r->ops->reader_free(r);
	s->ops->close(s);
	strbuf_deinit(&err);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- PostgreSQL only ---- */

/* A second node with the same node id would make the same ids: refused. */
static void test_pg_node_id_is_exclusive(void **state)
{
	struct env *e = *state;
	struct strbuf err = STRBUF_INIT;
	assert_null(open_store_as(e, 1, &err));
	assert_non_null(strstr(err.data, "node id 1 is in use"));
	strbuf_reset(&err);
	struct store *other = open_store_as(e, 2, &err);
	assert_non_null(other);
	other->ops->close(other);
	strbuf_deinit(&err);
}

struct opener {
	struct env *e;
	uint32_t node;
	struct store *s;
};

static void *open_in_thread(void *p)
{
	struct opener *o = p;
	struct strbuf err = STRBUF_INIT;
	o->s = open_store_as(o->e, o->node, &err);
	if (!o->s)
		fprintf(stderr, "node %u: %s\n", o->node, err.data);
	strbuf_deinit(&err);
	return NULL;
}

/* Three nodes starting together on an empty database migrate it once. */
static void test_pg_nodes_starting_together_migrate_once(void **state)
{
	struct env e = {0};
	strcpy(e.dir, "/tmp/chirp-test-store-XXXXXX");
	assert_non_null(mkdtemp(e.dir));
	pg_new_db(&e);
	struct opener o[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		o[i] = (struct opener){.e = &e, .node = (uint32_t)(10 + i)};
		pthread_create(&th[i], NULL, open_in_thread, &o[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++)
		assert_non_null(o[i].s);
	PGconn *c = PQconnectdb(e.url);
	PGresult *r = PQexec(c, "SELECT count(*), count(DISTINCT version), max(version)"
				" FROM chirp_schema");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	/* one row per migration: each ran once */
	assert_int_equal(atoi(PQgetvalue(r, 0, 0)), atoi(PQgetvalue(r, 0, 1)));
	assert_int_equal(atoi(PQgetvalue(r, 0, 0)), atoi(PQgetvalue(r, 0, 2)));
	PQclear(r);
	PQfinish(c);
	for (int i = 0; i < 3; i++)
		o[i].s->ops->close(o[i].s);
	(void)state;
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", e.db);
	pg_admin(sql);
	snprintf(sql, sizeof(sql), "rm -rf %s", e.dir);
	assert_int_equal(system(sql), 0);
}

/* A write PostgreSQL refuses (a byte that is no UTF-8) fails alone: the
 * writes committed beside it in the same batch are kept. */
struct batch_write {
	struct store_write sw;
	int done;
};

static pthread_mutex_t batch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t batch_cond = PTHREAD_COND_INITIALIZER;

static void batch_done(struct store_write *w)
{
	pthread_mutex_lock(&batch_lock);
	((struct batch_write *)w->owner)->done = 1;
	pthread_cond_broadcast(&batch_cond);
	pthread_mutex_unlock(&batch_lock);
}

static void test_pg_bad_write_fails_alone(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "batcher", STORE_OK);
	enum { N = 6, BAD = 3 };
	struct batch_write w[N];
	for (int i = 0; i < N; i++) {
		sync_init(&w[i].sw, STORE_W_TWEET_CREATE);
		w[i].done = 0;
		w[i].sw.done = batch_done;
		w[i].sw.owner = &w[i];
		w[i].sw.in.tweet_create.author_id = a;
		snprintf(w[i].sw.in.tweet_create.text, sizeof(w[i].sw.in.tweet_create.text),
			 i == BAD ? "bad \xff byte" : "good %d", i);
		w[i].sw.in.tweet_create.text_len = strlen(w[i].sw.in.tweet_create.text);
	}
	/* Queued together, so the writer takes them as one batch. */
	for (int i = 0; i < N; i++)
		assert_int_equal(e->s->ops->submit(e->s, &w[i].sw), 0);
	pthread_mutex_lock(&batch_lock);
	for (int i = 0; i < N; i++)
		while (!w[i].done)
			pthread_cond_wait(&batch_cond, &batch_lock);
	pthread_mutex_unlock(&batch_lock);
	for (int i = 0; i < N; i++) {
		assert_int_equal(w[i].sw.status, i == BAD ? STORE_ERROR : STORE_OK);
		if (i != BAD)
			assert_string_equal(get_tweet(e, w[i].sw.tweet.id).text, w[i].sw.in.tweet_create.text);
		sync_deinit(&w[i].sw);
	}
	assert_int_equal(get_user(e, a).tweets_count, N - 1);
}

/* A leased job is nobody else's until its lease ends: then another
 * process (here, another reader) takes it, as when a node dies. */
static void test_pg_job_lease(void **state)
{
	struct env *e = *state;
	uint64_t owner = make_user(e, "uploader", STORE_OK);
	struct store_write sw;
	sync_init(&sw, STORE_W_MEDIA_CREATE);
	sw.in.media_create.owner_id = owner;
	sw.in.media_create.size = 10;
	strcpy(sw.in.media_create.claimed_type, "image/png");
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	uint64_t media = sw.media.id;
	sync_deinit(&sw);
	sync_init(&sw, STORE_W_MEDIA_COMPLETE);
	sw.in.media_complete.owner_id = owner;
	sw.in.media_complete.media_id = media;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);

	struct store_reader *other = e->s->ops->reader_new(e->s);
	uint64_t now = 4000000000000ull; /* past the job's run_at */
	struct store_job a, b;
	assert_int_equal(e->r->ops->job_lease(e->r, now, 1000, &a), STORE_OK);
	assert_int_equal(a.media_id, media);
	assert_int_equal(other->ops->job_lease(other, now + 999, 1000, &b), STORE_NOT_FOUND);
	assert_int_equal(other->ops->job_lease(other, now + 1000, 1000, &b), STORE_OK);
	assert_int_equal(b.id, a.id);
	other->ops->reader_free(other);
}

/* A job committed through one node wakes the queue of every node
 * (LISTEN/NOTIFY), its own and another's. */
static atomic_int woken_here, woken_there;

static void wake_here(void *arg)
{
	(void)arg;
	atomic_fetch_add(&woken_here, 1);
}

static void wake_there(void *arg)
{
	(void)arg;
	atomic_fetch_add(&woken_there, 1);
}

static void test_pg_new_jobs_wake_every_node(void **state)
{
	struct env *e = *state;
	struct strbuf err = STRBUF_INIT;
	struct store *other = open_store_as(e, 2, &err);
	assert_non_null(other);
	strbuf_deinit(&err);
	e->s->ops->on_new_job(e->s, wake_here, NULL);
	other->ops->on_new_job(other, wake_there, NULL);
	usleep(500 * 1000); /* both listening */

	uint64_t owner = make_user(e, "notifier", STORE_OK);
	struct store_write sw;
	sync_init(&sw, STORE_W_MEDIA_CREATE);
	sw.in.media_create.owner_id = owner;
	sw.in.media_create.size = 10;
	strcpy(sw.in.media_create.claimed_type, "image/png");
	sync_run(e->s, &sw);
	uint64_t media = sw.media.id;
	sync_deinit(&sw);
	assert_int_equal(atomic_load(&woken_here) + atomic_load(&woken_there), 0);
	sync_init(&sw, STORE_W_MEDIA_COMPLETE);
	sw.in.media_complete.owner_id = owner;
	sw.in.media_complete.media_id = media;
	sync_run(e->s, &sw);
	assert_int_equal(sw.status, STORE_OK);
	sync_deinit(&sw);
	for (int i = 0; i < 50 && !(atomic_load(&woken_here) && atomic_load(&woken_there)); i++)
		usleep(100 * 1000);
	assert_true(atomic_load(&woken_here) >= 1);
	assert_true(atomic_load(&woken_there) >= 1);
	e->s->ops->on_new_job(e->s, NULL, NULL);
	other->ops->on_new_job(other, NULL, NULL);
	other->ops->close(other);
}

/* Indexes follow tweets_after's cursor: a tweet whose transaction began
 * first with a smaller id but commits last must still come after every
 * cursor a follower saw before it committed. Here another "node" holds a
 * tweet uncommitted; the store's own post waits for it, and the commit
 * sequence then lists both in the order they committed. */
static void test_pg_commit_sequence_follows_commits(void **state)
{
	struct env *e = *state;
	uint64_t a = make_user(e, "sequencer", STORE_OK);
	struct tweet tw[8];
	uint64_t cur[8], start = 0;
	size_t n;
	assert_int_equal(e->r->ops->tweets_after(e->r, 0, 8, tw, cur, &n), STORE_OK);
	assert_int_equal(n, 0);

	PGconn *c = PQconnectdb(e->url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "BEGIN; SELECT pg_advisory_xact_lock(1667787122, -2);"
		 " INSERT INTO tweets (id, author_id, text) VALUES (5, %llu, 'early id, late commit')",
		 (unsigned long long)a);
	PGresult *r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);

	struct batch_write w;
	sync_init(&w.sw, STORE_W_TWEET_CREATE);
	w.done = 0;
	w.sw.done = batch_done;
	w.sw.owner = &w;
	w.sw.in.tweet_create.author_id = a;
	strcpy(w.sw.in.tweet_create.text, "later id, first to try");
	w.sw.in.tweet_create.text_len = strlen(w.sw.in.tweet_create.text);
	assert_int_equal(e->s->ops->submit(e->s, &w.sw), 0);
	usleep(300 * 1000);
	pthread_mutex_lock(&batch_lock);
	assert_int_equal(w.done, 0); /* waiting for the other transaction's turn */
	pthread_mutex_unlock(&batch_lock);
	assert_int_equal(e->r->ops->tweets_after(e->r, start, 8, tw, cur, &n), STORE_OK);
	assert_int_equal(n, 0);

	r = PQexec(c, "COMMIT");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(c);
	pthread_mutex_lock(&batch_lock);
	while (!w.done)
		pthread_cond_wait(&batch_cond, &batch_lock);
	pthread_mutex_unlock(&batch_lock);
	assert_int_equal(w.sw.status, STORE_OK);

	assert_int_equal(e->r->ops->tweets_after(e->r, start, 8, tw, cur, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(tw[0].id, 5);
	assert_int_equal(tw[1].id, w.sw.tweet.id);
	assert_true(cur[0] < cur[1]);
	assert_int_equal(e->r->ops->tweets_after(e->r, cur[1], 8, tw, cur, &n), STORE_OK);
	assert_int_equal(n, 0);
	sync_deinit(&w.sw);
}

#define PORT_TESTS                                                                                 \
	cmocka_unit_test_setup_teardown(test_users, setup, teardown),                              \
	    cmocka_unit_test_setup_teardown(test_read_scope_sees_one_snapshot, setup, teardown),   \
	    cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),                       \
	    cmocka_unit_test_setup_teardown(test_session_management, setup, teardown),             \
	    cmocka_unit_test_setup_teardown(test_password_change, setup, teardown),                \
	    cmocka_unit_test_setup_teardown(test_sessions_expire, setup, teardown),                \
	    cmocka_unit_test_setup_teardown(test_tweets_and_pages, setup, teardown),               \
	    cmocka_unit_test_setup_teardown(test_follows_and_feed, setup, teardown),               \
	    cmocka_unit_test_setup_teardown(test_replies_and_context, setup, teardown),            \
	    cmocka_unit_test_setup_teardown(test_likes, setup, teardown),                          \
	    cmocka_unit_test_setup_teardown(test_retweets, setup, teardown),                       \
	    cmocka_unit_test_setup_teardown(test_retweeted_by, setup, teardown),                   \
	    cmocka_unit_test_setup_teardown(test_entities_hashtags_and_trends, setup, teardown),   \
	    cmocka_unit_test_setup_teardown(test_public_tweet_ids, setup, teardown),               \
	    cmocka_unit_test_setup_teardown(test_profile_update, setup, teardown),                 \
	    cmocka_unit_test_setup_teardown(test_blocks_and_mutes, setup, teardown),               \
	    cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),                  \
	    cmocka_unit_test_setup_teardown(test_notifications_dismissed_and_cleared, setup,       \
	                                    teardown),                                             \
	    cmocka_unit_test_setup_teardown(test_avatar_refused, setup, teardown),                 \
	    cmocka_unit_test_setup_teardown(test_emails, setup, teardown),                         \
	    cmocka_unit_test_setup_teardown(test_media_descriptions, setup, teardown),             \
	    cmocka_unit_test_setup_teardown(test_markers, setup, teardown),                        \
	    cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),                    \
	    cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),             \
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		PORT_TESTS,
		cmocka_unit_test(test_migration_upgrades_v1),
		cmocka_unit_test(test_migration_drops_unkeyed_fingerprints),
		cmocka_unit_test(test_migration_keeps_sessions),
		cmocka_unit_test(test_migration_adds_emails_and_descriptions),
	};
	const struct CMUnitTest pg_tests[] = {
		PORT_TESTS,
		cmocka_unit_test_setup_teardown(test_pg_node_id_is_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_bad_write_fails_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_job_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_new_jobs_wake_every_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_commit_sequence_follows_commits, setup,
						teardown),
		cmocka_unit_test(test_pg_nodes_starting_together_migrate_once),
	};
	int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
	pg_base = getenv("CHIRP_TEST_PG_URL");
	if (!pg_base || !*pg_base) {
		printf("[  SKIPPED ] postgres: CHIRP_TEST_PG_URL is not set (make unit sets it)\n");
		return failed;
	}
	adapter = &store_postgres_ops;
	return failed + cmocka_run_group_tests_name("postgres", pg_tests, NULL, NULL);
}
