/*
 * test_media_store — media rows and processing jobs in the SQLite store,
 * and the store-backed queue (queue/store_queue.c) on top of them.
 *
 * The properties the media flow leans on: a complete queues exactly one
 * job, atomically with the status change; a claimed job is not handed to a
 * second worker; retries wait for their time; dead letters leave the queue;
 * a tweet can attach only its author's ready, unattached media, and
 * deleting it releases them for cleanup; purge takes only what it should.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "util/timeutil.h"

struct env {
	char dir[64];
	struct store *s;
	struct store_reader *r;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	strcpy(e->dir, "/tmp/chirp-test-media-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	struct store_options opt = {.data_dir = e->dir, .node_id = 1, .max_queued = 1000};
	struct strbuf err = STRBUF_INIT;
	e->s = store_sqlite_ops.open(&opt, &err);
	strbuf_deinit(&err);
	assert_non_null(e->s);
	e->r = e->s->ops->reader_new(e->s);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	e->r->ops->reader_free(e->r);
	e->s->ops->close(e->s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static uint64_t user(struct env *e, const char *handle)
{
	struct store_write sw;
	store_write_init(&sw, STORE_W_USER_CREATE);
	strcpy(sw.in.user_create.handle, handle);
	strcpy(sw.in.user_create.display_name, handle);
	strcpy(sw.in.user_create.password_hash, "x");
	assert_int_equal(store_write_sync(e->s, &sw), STORE_OK);
	uint64_t id = sw.user.id;
	store_write_deinit(&sw);
	return id;
}

static uint64_t media(struct env *e, uint64_t owner)
{
	struct store_write sw;
	store_write_init(&sw, STORE_W_MEDIA_CREATE);
	sw.in.media_create.owner_id = owner;
	sw.in.media_create.size = 1234;
	strcpy(sw.in.media_create.claimed_type, "image/png");
	assert_int_equal(store_write_sync(e->s, &sw), STORE_OK);
	assert_int_equal(sw.media.status, MEDIA_AWAITING_UPLOAD);
	uint64_t id = sw.media.id;
	store_write_deinit(&sw);
	return id;
}

static int complete(struct env *e, uint64_t owner, uint64_t id, bool *created)
{
	struct store_write sw;
	store_write_init(&sw, STORE_W_MEDIA_COMPLETE);
	sw.in.media_complete.owner_id = owner;
	sw.in.media_complete.media_id = id;
	int rc = store_write_sync(e->s, &sw);
	if (created)
		*created = sw.created;
	store_write_deinit(&sw);
	return rc;
}

static void finish(struct env *e, const struct store_job *j, enum store_job_outcome o,
		   uint64_t run_at)
{
	struct store_write sw;
	store_write_init(&sw, STORE_W_JOB_FINISH);
	struct store_job_finish *f = &sw.in.job_finish;
	f->job_id = j->id;
	f->media_id = j->media_id;
	f->outcome = o;
	f->attempts = j->attempts + 1;
	f->run_at_ms = run_at;
	f->out.width = 640;
	f->out.height = 480;
	strcpy(f->out.content_type, "image/png");
	strcpy(f->error, "blob store down");
	assert_int_equal(store_write_sync(e->s, &sw), STORE_OK);
	store_write_deinit(&sw);
}

static struct media get(struct env *e, uint64_t id)
{
	struct media m;
	assert_int_equal(e->r->ops->media_get(e->r, id, &m), STORE_OK);
	return m;
}

static void test_complete_queues_one_job(void **state)
{
	struct env *e = *state;
	uint64_t alice = user(e, "alice"), bob = user(e, "bob");
	uint64_t m = media(e, alice);
	bool created;
	assert_int_equal(complete(e, bob, m, NULL), STORE_NOT_FOUND); /* not his */
	assert_int_equal(complete(e, alice, 424242, NULL), STORE_NOT_FOUND);
	assert_int_equal(complete(e, alice, m, &created), STORE_OK);
	assert_true(created);
	assert_int_equal(complete(e, alice, m, &created), STORE_OK); /* again: nothing new */
	assert_false(created);
	assert_int_equal(get(e, m).status, MEDIA_PROCESSING);
	struct store_job jobs[4];
	size_t n;
	assert_int_equal(e->r->ops->job_due(e->r, time_now_ms() + 1, jobs, 4, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(jobs[0].media_id, m);
	assert_int_equal(jobs[0].attempts, 0);
}

static void test_queue_claims_retries_and_dead_letters(void **state)
{
	struct env *e = *state;
	uint64_t alice = user(e, "alice");
	uint64_t a = media(e, alice), b = media(e, alice);
	assert_int_equal(complete(e, alice, a, NULL), STORE_OK);
	assert_int_equal(complete(e, alice, b, NULL), STORE_OK);
	struct queue_options qopt = {.store = e->s, .poll_ms = 10};
	struct queue *q = queue_store_ops.open(&qopt, NULL);
	struct store_job j1, j2, j3;
	assert_true(q->ops->claim(q, &j1, 100));
	assert_true(q->ops->claim(q, &j2, 100));
	assert_int_not_equal(j1.id, j2.id); /* a claimed job is not handed out twice */
	assert_false(q->ops->claim(q, &j3, 50)); /* both held: nothing due */

	/* j1 fails transiently: due again only at its time */
	finish(e, &j1, JOB_RETRY, time_now_ms() + 60000);
	q->ops->release(q, j1.id);
	assert_false(q->ops->claim(q, &j3, 50));
	struct media m = get(e, j1.media_id);
	assert_int_equal(m.status, MEDIA_PROCESSING);
	assert_int_equal(m.attempts, 1);
	assert_string_equal(m.error, "blob store down");

	/* j2 succeeds: ready, with what processing found, and off the queue */
	finish(e, &j2, JOB_READY, 0);
	q->ops->release(q, j2.id);
	m = get(e, j2.media_id);
	assert_int_equal(m.status, MEDIA_READY);
	assert_int_equal(m.out.width, 640);
	assert_string_equal(m.out.content_type, "image/png");
	assert_string_equal(m.error, "");

	/* a retry due now is claimed again, with its attempts */
	finish(e, &j1, JOB_RETRY, time_now_ms());
	assert_true(q->ops->claim(q, &j3, 100));
	assert_int_equal(j3.id, j1.id);
	assert_int_equal(j3.attempts, 1);
	/* dead letter: failed, off the queue */
	finish(e, &j3, JOB_DEAD, 0);
	q->ops->release(q, j3.id);
	assert_int_equal(get(e, j3.media_id).status, MEDIA_FAILED);
	assert_false(q->ops->claim(q, &j3, 50));
	/* a failed media cannot be completed again */
	assert_int_equal(complete(e, alice, j1.media_id, NULL), STORE_CONFLICT);

	/* stop: a waiting claim returns at once */
	q->ops->stop(q);
	assert_false(q->ops->claim(q, &j3, 60000));
	q->ops->close(q);
}

static uint64_t ready_media(struct env *e, uint64_t owner)
{
	uint64_t id = media(e, owner);
	assert_int_equal(complete(e, owner, id, NULL), STORE_OK);
	struct store_job jobs[16];
	size_t n;
	assert_int_equal(e->r->ops->job_due(e->r, time_now_ms() + 1, jobs, 16, &n), STORE_OK);
	for (size_t i = 0; i < n; i++)
		if (jobs[i].media_id == id)
			finish(e, &jobs[i], JOB_READY, 0);
	assert_int_equal(get(e, id).status, MEDIA_READY);
	return id;
}

static int post(struct env *e, uint64_t author, const uint64_t *ids, unsigned n, uint64_t *tweet)
{
	struct store_write sw;
	store_write_init(&sw, STORE_W_TWEET_CREATE);
	sw.in.tweet_create.author_id = author;
	strcpy(sw.in.tweet_create.text, "look");
	sw.in.tweet_create.text_len = 4;
	sw.in.tweet_create.media_n = n;
	memcpy(sw.in.tweet_create.media_ids, ids, n * sizeof(*ids));
	int rc = store_write_sync(e->s, &sw);
	if (tweet)
		*tweet = sw.tweet.id;
	if (rc == STORE_OK) {
		assert_int_equal(sw.tweet.media_n, n);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(sw.tweet.media[i].id, ids[i]);
			assert_int_equal(sw.tweet.media[i].width, 640);
			assert_string_equal(sw.tweet.media[i].content_type, "image/png");
		}
	}
	store_write_deinit(&sw);
	return rc;
}

static size_t purge(struct env *e, uint64_t cutoff_ms, uint64_t *ids)
{
	struct store_write sw;
	store_write_init(&sw, STORE_W_MEDIA_PURGE);
	sw.in.media_purge.cutoff_ms = cutoff_ms;
	assert_int_equal(store_write_sync(e->s, &sw), STORE_OK);
	size_t n = sw.in.media_purge.n;
	memcpy(ids, sw.in.media_purge.ids, n * sizeof(*ids));
	store_write_deinit(&sw);
	return n;
}

static void test_attach_release_purge(void **state)
{
	struct env *e = *state;
	uint64_t alice = user(e, "alice"), bob = user(e, "bob");
	uint64_t a = ready_media(e, alice), b = ready_media(e, alice);
	uint64_t pending = media(e, alice), bobs = ready_media(e, bob);
	uint64_t t;
	/* not ready, someone else's, missing: the tweet is not made */
	assert_int_equal(post(e, alice, &pending, 1, NULL), STORE_INVALID);
	assert_int_equal(post(e, alice, &bobs, 1, NULL), STORE_INVALID);
	uint64_t missing = 99;
	assert_int_equal(post(e, alice, &missing, 1, NULL), STORE_INVALID);
	uint64_t ab[] = {a, b};
	assert_int_equal(post(e, alice, ab, 2, &t), STORE_OK);
	assert_int_equal(get(e, a).tweet_id, t);
	/* the tweet reads back with its media */
	struct tweet tw;
	assert_int_equal(e->r->ops->tweet_get(e->r, t, &tw), STORE_OK);
	assert_int_equal(tw.media_n, 2);
	assert_int_equal(tw.media[1].id, b);
	/* attached: not again */
	assert_int_equal(post(e, alice, &a, 1, NULL), STORE_INVALID);

	/* purge with a cutoff in the past takes nothing young */
	uint64_t ids[STORE_PURGE_BATCH];
	assert_int_equal(purge(e, 1, ids), 0);
	/* with a cutoff in the future: every unattached media, not the attached */
	size_t n = purge(e, time_now_ms() + 1000, ids);
	assert_int_equal(n, 2); /* pending and bob's */
	assert_int_equal(get(e, a).status, MEDIA_READY);
	struct media m;
	assert_int_equal(e->r->ops->media_get(e->r, pending, &m), STORE_NOT_FOUND);

	/* deleting the tweet releases a and b; purge takes them whatever their age */
	struct store_write sw;
	store_write_init(&sw, STORE_W_TWEET_DELETE);
	sw.in.tweet_delete.author_id = alice;
	sw.in.tweet_delete.tweet_id = t;
	assert_int_equal(store_write_sync(e->s, &sw), STORE_OK);
	store_write_deinit(&sw);
	assert_int_equal(get(e, a).status, MEDIA_RELEASED);
	assert_int_equal(get(e, a).tweet_id, 0);
	n = purge(e, 1, ids);
	assert_int_equal(n, 2);
	assert_int_equal(e->r->ops->media_get(e->r, a, &m), STORE_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_complete_queues_one_job, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_claims_retries_and_dead_letters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attach_release_purge, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
