/*
 * test_write — the write service (core/write.h) over a real SQLite store.
 *
 * What the services rely on: a kind's answer is rendered by the kind's own
 * renderer inside the transaction; effects registered for a kind run after
 * the commit, in order, before done(), and only for a write that committed
 * and was not a replay; write_fail answers without touching the store;
 * a blocking step runs on the pool it was given.
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

#include "core/write.h"
#include "store/store.h"
#include "util/workpool.h"

struct env {
	char dir[64];
	struct store *s;
	struct writes *ws;
	char trace[256]; /* what ran, in order */
	pthread_mutex_t lock;
};

static void trace(struct env *e, const char *what)
{
	pthread_mutex_lock(&e->lock);
	strncat(e->trace, what, sizeof(e->trace) - strlen(e->trace) - 1);
	pthread_mutex_unlock(&e->lock);
}

static struct env *the_env; /* renderers get no argument of their own */

static void render_user(struct write *w, void *arg)
{
	(void)arg;
	trace(the_env, "render ");
	if (w->sw.status == STORE_CONFLICT) {
		write_render_error(w, 409, "handle_taken", "taken");
		return;
	}
	w->sw.resp_status = 201;
	strbuf_appendf(&w->sw.resp_body, "{\"id\":\"%llu\"}", (unsigned long long)w->sw.user.id);
}

static void effect_a(void *arg, const struct store_write *w)
{
	assert_int_equal(w->status, STORE_OK);
	assert_true(w->user.id != 0);
	trace(arg, "a ");
}

static void effect_b(void *arg, const struct store_write *w)
{
	(void)w;
	trace(arg, "b ");
}

/* done(): wakes the test, which then owns and frees the write. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct write *w;
};

static void on_done(struct write *w, void *arg)
{
	struct waiter *wt = arg;
	trace(the_env, "done ");
	pthread_mutex_lock(&wt->lock);
	wt->w = w;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
}

static struct write *wait_done(struct waiter *wt)
{
	pthread_mutex_lock(&wt->lock);
	while (!wt->w)
		pthread_cond_wait(&wt->cond, &wt->lock);
	pthread_mutex_unlock(&wt->lock);
	struct write *w = wt->w;
	wt->w = NULL;
	return w;
}

static struct write *signup(struct env *e, struct waiter *wt, const char *handle,
			    const struct store_idem *idem)
{
	struct write *w = write_new(e->ws, STORE_W_USER_CREATE, sizeof(*w), idem, on_done, wt);
	snprintf(w->sw.in.user_create.handle, sizeof(w->sw.in.user_create.handle), "%s", handle);
	snprintf(w->sw.in.user_create.display_name, sizeof(w->sw.in.user_create.display_name),
		 "%s", handle);
	snprintf(w->sw.in.user_create.password_hash, sizeof(w->sw.in.user_create.password_hash),
		 "x");
	write_submit(w);
	return wait_done(wt);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	strcpy(e->dir, "/tmp/chirp-test-write-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	struct store_options opt = {.data_dir = e->dir, .node_id = 1, .max_queued = 100};
	struct strbuf err = STRBUF_INIT;
	e->s = store_sqlite_ops.open(&opt, &err);
	strbuf_deinit(&err);
	assert_non_null(e->s);
	e->ws = writes_new(e->s);
	pthread_mutex_init(&e->lock, NULL);
	writes_define(e->ws, STORE_W_USER_CREATE, render_user, NULL);
	writes_after_commit(e->ws, STORE_W_USER_CREATE, effect_a, e);
	writes_after_commit(e->ws, STORE_W_USER_CREATE, effect_b, e);
	the_env = e;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	e->s->ops->close(e->s);
	writes_free(e->ws);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	assert_int_equal(system(cmd), 0);
	pthread_mutex_destroy(&e->lock);
	free(e);
	return 0;
}

static struct waiter *waiter_new(void)
{
	struct waiter *wt = calloc(1, sizeof(*wt));
	pthread_mutex_init(&wt->lock, NULL);
	pthread_cond_init(&wt->cond, NULL);
	return wt;
}

static void test_render_then_effects_in_order_then_done(void **state)
{
	struct env *e = *state;
	struct waiter *wt = waiter_new();
	struct write *w = signup(e, wt, "alice", NULL);
	assert_int_equal(w->sw.status, STORE_OK);
	assert_int_equal(w->sw.resp_status, 201);
	assert_string_equal(e->trace, "render a b done ");
	write_free(w);
	free(wt);
}

static void test_no_effects_when_the_write_changed_nothing(void **state)
{
	struct env *e = *state;
	struct waiter *wt = waiter_new();
	write_free(signup(e, wt, "bob", NULL));
	e->trace[0] = '\0';
	struct write *w = signup(e, wt, "BOB", NULL); /* handles are unique, any case */
	assert_int_equal(w->sw.status, STORE_CONFLICT);
	assert_int_equal(w->sw.resp_status, 409);
	assert_string_equal(e->trace, "render done ");
	write_free(w);
	free(wt);
}

static void test_no_effects_on_an_idempotent_replay(void **state)
{
	struct env *e = *state;
	struct waiter *wt = waiter_new();
	struct store_idem idem = {.on = true, .scope = 0};
	strcpy(idem.key, "k1");
	memset(idem.fingerprint, 7, sizeof(idem.fingerprint));
	struct write *w = signup(e, wt, "carol", &idem);
	assert_string_equal(e->trace, "render a b done ");
	struct strbuf first = STRBUF_INIT;
	strbuf_append(&first, w->sw.resp_body.data, w->sw.resp_body.len);
	write_free(w);
	e->trace[0] = '\0';
	w = signup(e, wt, "carol", &idem);
	assert_true(w->sw.replayed);
	assert_int_equal(w->sw.resp_status, 201);
	assert_int_equal(w->sw.resp_body.len, first.len);
	assert_memory_equal(w->sw.resp_body.data, first.data, first.len);
	assert_string_equal(e->trace, "done ");
	write_free(w);
	strbuf_deinit(&first);
	free(wt);
}

static void step_fails(struct write *w)
{
	assert_null(w->work.thread); /* a pool without hooks */
	trace(the_env, "step ");
	write_fail(w, 401, "nope", "refused in the blocking step");
}

static void test_blocking_step_then_fail_touches_nothing(void **state)
{
	struct env *e = *state;
	struct waiter *wt = waiter_new();
	struct workpool *pool = workpool_new(1, 4, NULL);
	struct write *w = write_new(e->ws, STORE_W_USER_CREATE, sizeof(*w), NULL, on_done, wt);
	write_run_blocking(w, pool, step_fails);
	w = wait_done(wt);
	assert_int_equal(w->sw.resp_status, 401);
	assert_non_null(strstr(w->sw.resp_body.data, "\"nope\""));
	assert_string_equal(e->trace, "step done ");
	write_free(w);
	struct store_stats st;
	e->s->ops->stats(e->s, &st);
	assert_int_equal(st.writes, 0);
	workpool_free(pool);
	free(wt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render_then_effects_in_order_then_done, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_effects_when_the_write_changed_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_effects_on_an_idempotent_replay, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blocking_step_then_fail_touches_nothing, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
