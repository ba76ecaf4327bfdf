/*
 * test_router — unit tests for http/router (method + path → route).
 *
 * The table below has the shape of chirp's own (src/api/routes.c): a
 * literal route that must win over a template ("/v1/users/by-handle/{h}"
 * before "/v1/users/{id}"), one path served by two methods (POST and DELETE
 * on ".../follows"), and literal routes that share prefixes. The tests
 * check which route is found, that parameters point into the request path
 * with the right lengths (the path is not NUL-terminated, as in h2o), and
 * the difference between 404 (no template matches) and 405 (a template
 * matches, only with another method).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/router.h"

enum {
	R_USERS_CREATE,
	R_USERS_BY_HANDLE,
	R_USERS_GET,
	R_USER_TWEETS,
	R_FOLLOW,
	R_UNFOLLOW,
	R_FOLLOWERS,
	R_FOLLOWING,
	R_SESSIONS_CREATE,
	R_SESSIONS_DELETE,
	R_TWEETS_CREATE,
	R_TWEETS_GET,
	R_TWEETS_DELETE,
	R_FEED,
	R_COUNT
};

static const struct route routes[R_COUNT] = {
    [R_USERS_CREATE] = {"POST", "/v1/users", NULL, 0},
    [R_USERS_BY_HANDLE] = {"GET", "/v1/users/by-handle/{handle}", NULL, 0},
    [R_USERS_GET] = {"GET", "/v1/users/{id}", NULL, 0},
    [R_USER_TWEETS] = {"GET", "/v1/users/{id}/tweets", NULL, 0},
    [R_FOLLOW] = {"POST", "/v1/users/{id}/follows", NULL, 0},
    [R_UNFOLLOW] = {"DELETE", "/v1/users/{id}/follows", NULL, 0},
    [R_FOLLOWERS] = {"GET", "/v1/users/{id}/followers", NULL, 0},
    [R_FOLLOWING] = {"GET", "/v1/users/{id}/following", NULL, 0},
    [R_SESSIONS_CREATE] = {"POST", "/v1/sessions", NULL, 0},
    [R_SESSIONS_DELETE] = {"DELETE", "/v1/sessions/current", NULL, 0},
    [R_TWEETS_CREATE] = {"POST", "/v1/tweets", NULL, 0},
    [R_TWEETS_GET] = {"GET", "/v1/tweets/{id}", NULL, 0},
    [R_TWEETS_DELETE] = {"DELETE", "/v1/tweets/{id}", NULL, 0},
    [R_FEED] = {"GET", "/v1/feed", NULL, 0},
};

/* A request path as h2o hands it over: an exact-size heap block with no
 * terminating NUL, so ASan catches the router reading past path_len. */
struct req {
	char *path;
	size_t len;
	struct route_match m;
	int rc;
};

static void route(struct req *r, const char *method, const char *path)
{
	r->len = strlen(path);
	r->path = malloc(r->len ? r->len : 1);
	assert_non_null(r->path);
	memcpy(r->path, path, r->len);
	memset(&r->m, 0xA5, sizeof(r->m)); /* no stale values taken for results */
	r->rc = router_match(routes, R_COUNT, method, strlen(method), r->path, r->len, &r->m);
}

static void req_free(struct req *r)
{
	free(r->path);
	r->path = NULL;
}

/* Asserts that (method, path) finds routes[want] with the params p0, p1
 * (NULL when absent), each pointing into the path at a segment holding
 * exactly its text, in order. */
static void assert_found(const char *method, const char *path, int want, const char *p0,
                         const char *p1)
{
	struct req r;
	route(&r, method, path);
	if (r.rc != ROUTE_FOUND)
		fail_msg("%s %s: rc %d, want found", method, path, r.rc);
	assert_ptr_equal(r.m.route, &routes[want]);
	const char *want_params[2] = {p0, p1};
	unsigned n = p0 ? (p1 ? 2 : 1) : 0;
	assert_int_equal(r.m.nparams, n);
	const char *search = r.path;
	for (unsigned i = 0; i < n; i++) {
		size_t wlen = strlen(want_params[i]);
		assert_int_equal(r.m.params[i].len, wlen);
		/* The param must be a pointer into the path, at the segment
		 * that holds its text (searched left to right). */
		assert_true(r.m.params[i].s >= search && r.m.params[i].s + wlen <= r.path + r.len);
		assert_memory_equal(r.m.params[i].s, want_params[i], wlen);
		assert_int_equal(r.m.params[i].s[-1], '/');
		search = r.m.params[i].s + wlen;
	}
	req_free(&r);
}

static void assert_rc(const char *method, const char *path, int want)
{
	struct req r;
	route(&r, method, path);
	if (r.rc != want)
		fail_msg("%s %s: rc %d, want %d", method, path, r.rc, want);
	assert_null(r.m.route);
	req_free(&r);
}

/* ---- found ------------------------------------------------------------- */

static void test_literal_routes(void **state)
{
	(void)state;
	assert_found("POST", "/v1/users", R_USERS_CREATE, NULL, NULL);
	assert_found("POST", "/v1/sessions", R_SESSIONS_CREATE, NULL, NULL);
	assert_found("DELETE", "/v1/sessions/current", R_SESSIONS_DELETE, NULL, NULL);
	assert_found("POST", "/v1/tweets", R_TWEETS_CREATE, NULL, NULL);
	assert_found("GET", "/v1/feed", R_FEED, NULL, NULL);
}

static void test_param_routes(void **state)
{
	(void)state;
	assert_found("GET", "/v1/users/123", R_USERS_GET, "123", NULL);
	assert_found("GET", "/v1/users/123/tweets", R_USER_TWEETS, "123", NULL);
	assert_found("GET", "/v1/users/9223372036854775807/followers", R_FOLLOWERS,
	             "9223372036854775807", NULL);
	assert_found("GET", "/v1/users/7/following", R_FOLLOWING, "7", NULL);
	assert_found("GET", "/v1/tweets/42", R_TWEETS_GET, "42", NULL);
	assert_found("DELETE", "/v1/tweets/42", R_TWEETS_DELETE, "42", NULL);
	/* The router captures any non-empty segment; parsing it is the
	 * handler's job. */
	assert_found("GET", "/v1/tweets/not-a-number", R_TWEETS_GET, "not-a-number", NULL);
	assert_found("GET", "/v1/users/%41", R_USERS_GET, "%41", NULL);
}

static void test_literal_before_template(void **state)
{
	(void)state;
	assert_found("GET", "/v1/users/by-handle/ada_l", R_USERS_BY_HANDLE, "ada_l", NULL);
	/* A handle that looks like an id still goes to by-handle. */
	assert_found("GET", "/v1/users/by-handle/123", R_USERS_BY_HANDLE, "123", NULL);
}

static void test_same_path_two_methods(void **state)
{
	(void)state;
	assert_found("POST", "/v1/users/55/follows", R_FOLLOW, "55", NULL);
	assert_found("DELETE", "/v1/users/55/follows", R_UNFOLLOW, "55", NULL);
}

static void test_param_pointers_exact(void **state)
{
	(void)state;
	/* The path is a prefix of a longer buffer (the query string follows,
	 * as in a raw request line): only path_len bytes count. */
	const char raw[] = "/v1/users/31337/follows?dry_run=1";
	size_t plen = strlen("/v1/users/31337/follows");
	struct route_match m;
	int rc = router_match(routes, R_COUNT, "POST", 4, raw, plen, &m);
	assert_int_equal(rc, ROUTE_FOUND);
	assert_ptr_equal(m.route, &routes[R_FOLLOW]);
	assert_int_equal(m.nparams, 1);
	assert_ptr_equal(m.params[0].s, raw + 10);
	assert_int_equal(m.params[0].len, 5);

	/* Cut the same buffer after the id: now it is GET /v1/users/{id}. */
	rc = router_match(routes, R_COUNT, "GET", 3, raw, 15, &m);
	assert_int_equal(rc, ROUTE_FOUND);
	assert_ptr_equal(m.route, &routes[R_USERS_GET]);
	assert_ptr_equal(m.params[0].s, raw + 10);
	assert_int_equal(m.params[0].len, 5);
}

static void test_several_params(void **state)
{
	(void)state;
	static const struct route two[] = {
	    {"GET", "/v1/a/{x}", NULL, 0},
	    {"GET", "/v1/a/{x}/b/{y}", NULL, 0},
	};
	const char *path = "/v1/a/first/b/second";
	struct route_match m;
	int rc = router_match(two, 2, "GET", 3, path, strlen(path), &m);
	assert_int_equal(rc, ROUTE_FOUND);
	assert_ptr_equal(m.route, &two[1]);
	assert_int_equal(m.nparams, 2);
	assert_ptr_equal(m.params[0].s, path + 6);
	assert_int_equal(m.params[0].len, 5);
	assert_ptr_equal(m.params[1].s, path + 14);
	assert_int_equal(m.params[1].len, 6);
}

/* ---- 405 --------------------------------------------------------------- */

static void test_bad_method(void **state)
{
	(void)state;
	assert_rc("GET", "/v1/users", ROUTE_BAD_METHOD);
	assert_rc("GET", "/v1/users/55/follows", ROUTE_BAD_METHOD);
	assert_rc("PUT", "/v1/users/55/follows", ROUTE_BAD_METHOD);
	assert_rc("POST", "/v1/users/55", ROUTE_BAD_METHOD);
	assert_rc("DELETE", "/v1/users/by-handle/ada", ROUTE_BAD_METHOD);
	assert_rc("GET", "/v1/sessions/current", ROUTE_BAD_METHOD);
	assert_rc("POST", "/v1/feed", ROUTE_BAD_METHOD);
	assert_rc("PATCH", "/v1/tweets/1", ROUTE_BAD_METHOD);
}

static void test_method_compared_exactly(void **state)
{
	(void)state;
	/* HTTP methods are case-sensitive (RFC 9110 §9.1), and a prefix or
	 * extension of a method is another method. */
	assert_rc("get", "/v1/feed", ROUTE_BAD_METHOD);
	assert_rc("GE", "/v1/feed", ROUTE_BAD_METHOD);
	assert_rc("GETS", "/v1/feed", ROUTE_BAD_METHOD);
	assert_rc("", "/v1/feed", ROUTE_BAD_METHOD);
	/* Only method_len bytes of the method count. */
	struct route_match m;
	assert_int_equal(router_match(routes, R_COUNT, "GETS", 3, "/v1/feed", 8, &m), ROUTE_FOUND);
	assert_ptr_equal(m.route, &routes[R_FEED]);
}

/* ---- 404 --------------------------------------------------------------- */

static void test_not_found_segments(void **state)
{
	(void)state;
	/* Extra segments. */
	assert_rc("POST", "/v1/users/1/follows/extra", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/feed/more", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/users/by-handle/ada/tweets", ROUTE_NOT_FOUND);
	/* Missing segments. */
	assert_rc("GET", "/v1", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/tweets/", ROUTE_NOT_FOUND);
	assert_rc("DELETE", "/v1/sessions/", ROUTE_NOT_FOUND);
	/* Unknown last segment under a template. */
	assert_rc("GET", "/v1/users/1/likes", ROUTE_NOT_FOUND);
}

static void test_not_found_trailing_slash(void **state)
{
	(void)state;
	assert_rc("GET", "/v1/feed/", ROUTE_NOT_FOUND);
	assert_rc("POST", "/v1/users/", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/users/1/", ROUTE_NOT_FOUND);
	assert_rc("POST", "/v1/users/1/follows/", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/users/by-handle/ada/", ROUTE_NOT_FOUND);
}

static void test_not_found_empty_param(void **state)
{
	(void)state;
	assert_rc("POST", "/v1/users//follows", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/users//tweets", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/users/by-handle/", ROUTE_NOT_FOUND);
}

static void test_not_found_prefixes(void **state)
{
	(void)state;
	/* Literal segments match whole, never as prefixes either way. */
	assert_rc("GET", "/v1/feedx", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/fee", ROUTE_NOT_FOUND);
	assert_rc("POST", "/v1/tweetsx", ROUTE_NOT_FOUND);
	assert_rc("POST", "/v1/user", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1/users/1/tweetsy", ROUTE_NOT_FOUND);
	assert_rc("DELETE", "/v1/sessions/currentx", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v10/feed", ROUTE_NOT_FOUND);
	/* Unknown prefixes and malformed paths. */
	assert_rc("GET", "/v2/feed", ROUTE_NOT_FOUND);
	assert_rc("GET", "/api/v1/feed", ROUTE_NOT_FOUND);
	assert_rc("GET", "v1/feed", ROUTE_NOT_FOUND);
	assert_rc("GET", "//v1/feed", ROUTE_NOT_FOUND);
	assert_rc("GET", "/v1//feed", ROUTE_NOT_FOUND);
	assert_rc("GET", "/", ROUTE_NOT_FOUND);
	assert_rc("GET", "", ROUTE_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_literal_routes),
	    cmocka_unit_test(test_param_routes),
	    cmocka_unit_test(test_literal_before_template),
	    cmocka_unit_test(test_same_path_two_methods),
	    cmocka_unit_test(test_param_pointers_exact),
	    cmocka_unit_test(test_several_params),
	    cmocka_unit_test(test_bad_method),
	    cmocka_unit_test(test_method_compared_exactly),
	    cmocka_unit_test(test_not_found_segments),
	    cmocka_unit_test(test_not_found_trailing_slash),
	    cmocka_unit_test(test_not_found_empty_param),
	    cmocka_unit_test(test_not_found_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
