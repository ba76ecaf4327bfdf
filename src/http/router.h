/*
 * router — maps a method and path to a route.
 *
 * Routes are written as templates ("/v1/users/{id}/follows"): a segment in
 * braces captures whatever single path segment stands there. The template
 * itself names the route in logs and metrics, so those never explode with
 * one series per id. Matching is linear over a short table; chirp has a
 * few dozen routes, and a linear scan of them is cheaper than the request
 * parsing around it.
 */
#ifndef CHIRP_HTTP_ROUTER_H
#define CHIRP_HTTP_ROUTER_H

#include <stddef.h>

#define ROUTER_MAX_PARAMS 4

struct route {
	const char *method;   /* "GET", "POST", ... */
	const char *pattern;  /* "/v1/tweets/{id}" */
	void (*handler)(void); /* opaque to the router; cast back by its owner */
	unsigned flags;       /* opaque to the router */
};

struct route_match {
	const struct route *route;
	struct {
		const char *s;
		size_t len;
	} params[ROUTER_MAX_PARAMS];
	unsigned nparams;
};

enum {
	ROUTE_FOUND = 0,
	ROUTE_NOT_FOUND = -1,  /* no template matches the path */
	ROUTE_BAD_METHOD = -2, /* a template matches, but not with this method */
};

/* Finds the route for (method, path) in routes[0..n). The path must not
 * contain the query string. Params point into `path`. */
int router_match(const struct route *routes, size_t n, const char *method, size_t method_len,
		 const char *path, size_t path_len, struct route_match *m);

#endif
