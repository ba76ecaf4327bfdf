/*
 * test_media_service — the media service's requests without HTTP: the
 * functions api/media.c and api/blobs.c call (media/media.h), on a real
 * SQLite store and the local blob directory.
 *
 * What the handlers rely on: refusals come in the documented order with
 * the API's status and code; a create write carries what the store needs
 * and renders the answer of the API, through the write service; complete
 * refuses until the bytes are there, and a signed upload URL is the only
 * way to put them there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/write.h"
#include "media/media.h"
#include "store/store.h"
#include "util/timeutil.h"

struct env {
	char dir[64];
	struct store *s;
	struct store_reader *r;
	struct media_service *m;
	uint8_t secret[BLOB_SECRET_LEN];
	uint64_t owner;
	struct writes *ws;
};

/* Writes go through the write service, as api/media.c's do: the media
 * service defines its kinds there (media_follow_writes). */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void on_done(struct write *w, void *arg)
{
	(void)w;
	struct waiter *wt = arg;
	pthread_mutex_lock(&wt->lock);
	wt->done = true;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
}

static struct write *begin(struct env *e, enum store_write_kind kind, struct waiter *wt)
{
	memset(wt, 0, sizeof(*wt));
	pthread_mutex_init(&wt->lock, NULL);
	pthread_cond_init(&wt->cond, NULL);
	return write_new(e->ws, kind, sizeof(struct write), NULL, on_done, wt);
}

/* Submits and waits; the caller still frees w (write_free). */
static int commit(struct write *w, struct waiter *wt)
{
	write_submit(w);
	pthread_mutex_lock(&wt->lock);
	while (!wt->done)
		pthread_cond_wait(&wt->cond, &wt->lock);
	pthread_mutex_unlock(&wt->lock);
	pthread_cond_destroy(&wt->cond);
	pthread_mutex_destroy(&wt->lock);
	return w->sw.status;
}

static void render_user(struct write *w, void *arg)
{
	(void)arg;
	w->sw.resp_status = 201;
}

/* A media_step_fn that records how the step ended. */
struct step {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int finished;
	bool failed;
	struct media_error err;
};

static void step_done(void *arg, const struct media_error *err)
{
	struct step *st = arg;
	pthread_mutex_lock(&st->lock);
	st->failed = err != NULL;
	if (err)
		st->err = *err;
	st->finished = 1;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

static void step_wait(struct step *st)
{
	pthread_mutex_lock(&st->lock);
	while (!st->finished)
		pthread_cond_wait(&st->cond, &st->lock);
	pthread_mutex_unlock(&st->lock);
}

static void step_init(struct step *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	strcpy(e->dir, "/tmp/chirp-test-msvc-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	struct store_options sopt = {.data_dir = e->dir, .node_id = 1, .max_queued = 1000};
	struct strbuf err = STRBUF_INIT, path = STRBUF_INIT;
	e->s = store_sqlite_ops.open(&sopt, &err);
	assert_non_null(e->s);
	e->r = e->s->ops->reader_new(e->s);
	memset(e->secret, 7, sizeof(e->secret));
	strbuf_appendf(&path, "%s/blobs", e->dir);
	struct blob_options bopt = {.dir = path.data, .secret = e->secret, .base_url = ""};
	struct blob *b = blob_dir_ops.open(&bopt, &err);
	assert_non_null(b);
	struct media_options mopt = {
		.node_id = 1,
		.base_url = "",
		.max_bytes = 1000,
		.part_bytes = 400,
		.max_pixels = 1000000,
		.workers = 1,
		.max_attempts = 1,
		.retry_base_ms = 10,
		.upload_ttl_s = 60,
		.url_ttl_s = 3600,
		.cleanup_every_ms = 3600 * 1000,
		.unattached_ttl_ms = 3600 * 1000,
	};
	memcpy(mopt.secret, e->secret, sizeof(mopt.secret));
	e->m = media_new(e->s, b, &mopt, &err);
	assert_non_null(e->m);
	strbuf_deinit(&err);
	strbuf_deinit(&path);
	e->ws = writes_new(e->s);
	writes_define(e->ws, STORE_W_USER_CREATE, render_user, NULL);
	media_follow_writes(e->m, e->ws);

	struct waiter wt;
	struct write *w = begin(e, STORE_W_USER_CREATE, &wt);
	strcpy(w->sw.in.user_create.handle, "ada");
	strcpy(w->sw.in.user_create.display_name, "Ada");
	strcpy(w->sw.in.user_create.password_hash, "x");
	assert_int_equal(commit(w, &wt), STORE_OK);
	e->owner = w->sw.user.id;
	write_free(w);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	media_free(e->m);
	e->r->ops->reader_free(e->r);
	e->s->ops->close(e->s);
	writes_free(e->ws);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static void test_create_refusals_in_order(void **state)
{
	struct env *e = *state;
	struct media_error err;
	/* the type is checked first, then the size */
	assert_int_equal(media_check_create(e->m, "text/plain", 10, 0, &err), -1);
	assert_int_equal(err.status, 415);
	assert_string_equal(err.code, "unsupported_media_type");
	/* a prefix of a known type is not that type */
	assert_int_equal(media_check_create(e->m, "image/pn", 8, 10, &err), -1);
	assert_int_equal(err.status, 415);
	assert_int_equal(media_check_create(e->m, "image/png", 9, 0, &err), -1);
	assert_int_equal(err.status, 422);
	assert_string_equal(err.code, "invalid_size");
	assert_int_equal(media_check_create(e->m, "image/png", 9, 1001, &err), -1);
	assert_int_equal(err.status, 413);
	assert_string_equal(err.code, "too_large");
	assert_non_null(strstr(err.message, "1000 bytes"));
	assert_false(err.store_failed);
	assert_int_equal(media_check_create(e->m, "image/gif", 9, 1000, &err), 0);
}

/* Creates a media of `size` bytes through the service and the store, as
 * api_media_create does; returns its id and leaves the answer in *body. */
static uint64_t create(struct env *e, uint64_t size, struct strbuf *body, int *status)
{
	struct waiter wt;
	struct write *w = begin(e, STORE_W_MEDIA_CREATE, &wt);
	struct store_write *sw = &w->sw;
	struct step st;
	step_init(&st);
	media_prepare_create(e->m, e->owner, "image/jpegXX", 10, size, sw);
	assert_string_equal(sw->in.media_create.claimed_type, "image/jpeg");
	assert_int_equal(sw->in.media_create.owner_id, e->owner);
	assert_int_equal(sw->in.media_create.parts, size > 400 ? (size + 399) / 400 : 0);
	media_open_upload(e->m, sw, step_done, &st);
	step_wait(&st);
	assert_false(st.failed);
	assert_int_equal(commit(w, &wt), STORE_OK);
	uint64_t id = sw->media.id;
	assert_int_equal(id, sw->in.media_create.id);
	*status = sw->resp_status;
	strbuf_append(body, sw->resp_body.data, sw->resp_body.len);
	write_free(w);
	return id;
}

static void test_create_renders_the_api_answer(void **state)
{
	struct env *e = *state;
	struct strbuf body = STRBUF_INIT;
	int status;
	uint64_t id = create(e, 100, &body, &status);
	assert_int_equal(status, 201);
	char want[128];
	snprintf(want, sizeof(want), "{\"id\":\"%llu\",\"status\":\"awaiting_upload\"",
		 (unsigned long long)id);
	assert_memory_equal(body.data, want, strlen(want));
	snprintf(want, sizeof(want), "\"url\":\"/blobs/%llu.orig?expires=", (unsigned long long)id);
	assert_non_null(strstr(body.data, want));
	assert_non_null(strstr(body.data, "&max=100&sig="));
	assert_null(strstr(body.data, "\"parts\""));
	strbuf_reset(&body);

	uint64_t big = create(e, 900, &body, &status);
	assert_true(big > id);
	assert_non_null(strstr(body.data, "\"url\":null"));
	snprintf(want, sizeof(want), "{\"part_number\":3,\"size\":100,\"url\":\"/blobs/%llu.p3?",
		 (unsigned long long)big);
	assert_non_null(strstr(body.data, want));

	/* GET /v1/media/{id}: the owner's only */
	struct media_error err;
	strbuf_reset(&body);
	assert_int_equal(media_show(e->m, e->r, e->owner, id, &body, &err), 0);
	assert_null(strstr(body.data, "\"upload\":"));
	assert_int_equal(media_show(e->m, e->r, e->owner + 1, id, &body, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(media_show(e->m, e->r, e->owner, id + 1000, &body, &err), -1);
	assert_int_equal(err.status, 404);
	strbuf_deinit(&body);
}

static void test_complete_of_missing_media_renders_404(void **state)
{
	struct env *e = *state;
	struct waiter wt;
	struct write *w = begin(e, STORE_W_MEDIA_COMPLETE, &wt);
	w->sw.in.media_complete.owner_id = e->owner;
	w->sw.in.media_complete.media_id = 12345;
	assert_int_equal(commit(w, &wt), STORE_NOT_FOUND);
	assert_int_equal(w->sw.resp_status, 404);
	assert_non_null(strstr(w->sw.resp_body.data, "\"not_found\""));
	write_free(w);
}

struct put_result {
	struct step st;
	char etag[BLOB_ETAG_LEN + 1];
};

static void put_done(void *arg, const char *etag)
{
	struct put_result *p = arg;
	if (etag)
		memcpy(p->etag, etag, sizeof(p->etag));
	step_done(&p->st, etag ? NULL : &p->st.err);
}

static void test_complete_needs_a_signed_upload(void **state)
{
	struct env *e = *state;
	struct strbuf body = STRBUF_INIT;
	int status;
	uint64_t id = create(e, 5, &body, &status);
	struct media md;
	struct media_error err;
	assert_int_equal(media_complete_start(e->m, e->r, e->owner + 1, id, &md, &err), -1);
	assert_int_equal(err.status, 404);
	assert_int_equal(media_complete_start(e->m, e->r, e->owner, id, &md, &err),
			 MEDIA_COMPLETE_CHECK);

	/* nothing uploaded yet */
	struct step st;
	step_init(&st);
	media_check_upload(e->m, &md, NULL, step_done, &st);
	step_wait(&st);
	assert_true(st.failed);
	assert_int_equal(st.err.status, 409);
	assert_string_equal(st.err.code, "upload_missing");

	/* a PUT to the upload URL: signature, then the size it was signed for */
	char key[BLOB_KEY_MAX], sig[BLOB_SIG_HEX + 1];
	media_key(key, id, ".orig");
	uint64_t expires = time_now_ms() / 1000 + 60;
	blob_sign(e->secret, "PUT", key, strlen(key), expires, 5, sig);
	struct media_blob_request r = {
		.key = key, .key_len = strlen(key), .signed_query = true,
		.expires = expires, .max = 5, .sig = sig, .sig_len = strlen(sig),
	};
	struct media_upload_target t;
	assert_int_equal(media_blob_check_put(e->m, &r, &t, &err), 0);
	assert_int_equal(t.id, id);
	assert_int_equal(media_blob_upload_open(e->r, &t, 6, &err), -1);
	assert_int_equal(err.status, 413);
	assert_int_equal(media_blob_upload_open(e->r, &t, 0, &err), -1);
	assert_int_equal(err.status, 400);
	r.max = 6; /* not what was signed */
	assert_int_equal(media_blob_check_put(e->m, &r, &t, &err), -1);
	assert_int_equal(err.status, 403);
	assert_string_equal(err.code, "invalid_signature");
	r.max = 5;
	assert_int_equal(media_blob_check_put(e->m, &r, &t, &err), 0);
	assert_int_equal(media_blob_upload_open(e->r, &t, 5, &err), 0);
	struct put_result p;
	memset(&p, 0, sizeof(p));
	step_init(&p.st);
	media_blob_put(e->m, &r, "12345", 5, put_done, &p);
	step_wait(&p.st);
	assert_false(p.st.failed);
	assert_int_equal(strlen(p.etag), BLOB_ETAG_LEN);

	/* an upload is never served, even with a valid GET signature */
	struct media_blob_source src;
	blob_sign(e->secret, "GET", key, strlen(key), expires, 0, sig);
	assert_int_equal(media_blob_locate(e->m, e->r, &r, &src, &err), -1);
	assert_int_equal(err.status, 404);
	strbuf_deinit(&src.url);

	/* now complete finds the bytes */
	step_init(&st);
	media_check_upload(e->m, &md, NULL, step_done, &st);
	step_wait(&st);
	assert_false(st.failed);
	strbuf_deinit(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_refusals_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_renders_the_api_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_complete_of_missing_media_renders_404, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_complete_needs_a_signed_upload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
