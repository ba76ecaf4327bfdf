/*
 * web/assets — the web client's files (web/ in the repository), compiled
 * into the binary.
 *
 * scripts/embed-web.py turns web/ into a generated C file at build time
 * (build/<flavour>/gen/web_assets.c) that defines the table below; this
 * module finds files in it. Nothing here knows HTTP: api/web.c serves the
 * files with their headers. The bytes live in static storage for the life
 * of the process; nothing is allocated or freed.
 */
#ifndef CHIRP_WEB_ASSETS_H
#define CHIRP_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *name;         /* "app.js": the file's name in web/ */
	const char *content_type; /* "text/javascript; charset=utf-8" */
	const char *etag;         /* a quoted strong ETag of the bytes */
	const unsigned char *data;
	size_t len;
};

/* Defined by the generated file. web_version names this build's assets
 * (a hash of all of them): they are served under /assets/<version>/. */
extern const char web_version[];
extern const struct web_asset web_assets[];
extern const size_t web_asset_count;

/* The file called name[0..len) (not NUL-terminated), or NULL. */
const struct web_asset *web_asset_find(const char *name, size_t len);

/* The page, index.html, which every client-side route serves. */
const struct web_asset *web_page(void);

#endif
