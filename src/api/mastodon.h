/*
 * mastodon — the Mastodon client API, a façade over chirp's own services
 * (docs/mastodon.md), so the apps people already use (toot, Tusky, Elk,
 * masto.js, megalodon…) work with chirp.
 *
 * Most endpoints reuse a native handler: the façade's handler fills the
 * request's path parameters and parsed body (c->m, c->body) the way the
 * native one reads them, sets c->answer to its renderer, and calls the
 * native handler; the renderer turns the native answer (User, Tweet, …)
 * into Mastodon's (Account, Status, …). Native errors pass through: they
 * already carry the {"error": …} Mastodon clients show.
 *
 *   mastodon_oauth.c    apps, the OAuth endpoints, scoped tokens
 *   mastodon_instance.c instance and nodeinfo documents
 *   mastodon_render.c   Account, Status, Relationship from native JSON
 *   mastodon_api.c      accounts, statuses, timelines
 *   mastodon_form.c     form and JSON parameters
 *   mastodon_media.c    one-request media uploads, descriptions
 *   mastodon_markers.c  read markers
 */
#ifndef CHIRP_API_MASTODON_H
#define CHIRP_API_MASTODON_H

#include "api/api.h"

/* ---- OAuth tokens (mastodon_oauth.c) ---- */

/* A token as a request shows it: a Mastodon user token (a chirp session
 * token with its scopes, signed) is cut down to the chirp token and its
 * scopes set; an app's own token (client_credentials) sets *app_token and
 * leaves no user token (token->len = 0); a native token holds every scope.
 * A Mastodon token whose signature fails is no token at all. */
void mastodon_token_classify(const struct app *app, h2o_iovec_t *token, unsigned *scopes,
			     bool *app_token);

/* The answer of a log-in ({token, user}, or its refusal) as an OAuth
 * token response, with the scopes in c->scopes (a c->answer). */
void mastodon_token_answer(struct ctx *c, int status, const struct strbuf *body);

/* ---- parameters (mastodon_form.c) ---- */

/* The request's parameters as one JSON object: the query string, then the
 * body (JSON, application/x-www-form-urlencoded or multipart/form-data)
 * over it. "k[]" keys gather into arrays under "k". NULL, with the error
 * sent, on a bad body. Kept in c->body for the request's life. */
json_t *mastodon_params(struct ctx *c);

/* Keeps `v` (stolen) until the request ends; returns it. */
json_t *mastodon_keep(struct ctx *c, json_t *v);
/* Puts `body` (stolen, kept) in place of the request's, for the native
 * handler a façade calls (api_body reads c->body). */
void mastodon_set_body(struct ctx *c, json_t *body);
/* A native answer's JSON: a new reference, NULL if it is none. */
json_t *mastodon_parse(const struct strbuf *body);

/* A string parameter, or NULL. */
const char *mastodon_param(json_t *params, const char *name, size_t *len);

/* A multipart part's file, as mastodon_params keeps it: an object
 * {"filename", "content_type", "offset", "length"} into the body.
 * mastodon_file reads the part named `name` back: false unless the body
 * is multipart and the part a file within it. */
struct mastodon_file {
	const char *content_type;
	const char *data; /* in the request body */
	size_t len;
};
bool mastodon_file(struct ctx *c, json_t *params, const char *name, struct mastodon_file *out);

/* The server's own base URL as the client reached it ("http://host:port"),
 * from the pool. */
const char *mastodon_base_url(struct ctx *c);

/* CORS as Mastodon sends it, for the Mastodon paths (/api/, the OAuth
 * token endpoints, nodeinfo): Access-Control-Allow-Origin * on every
 * answer, and the answer to a preflight OPTIONS, sent here (true). */
bool mastodon_cors(h2o_req_t *req, const char *path, size_t len);

/* Sends a Mastodon-shaped error {"error": message} with `status`. */
void mastodon_error(struct ctx *c, int status, const char *message);

/* ---- renderers (mastodon_render.c): native JSON in, Mastodon JSON out.
 * Each returns a new reference. ---- */
json_t *mastodon_account(struct ctx *c, json_t *user);
json_t *mastodon_status(struct ctx *c, json_t *tweet);
/* A native Media (or a Tweet's media entry) as a MediaAttachment; url and
 * preview_url null until it is processed. */
json_t *mastodon_attachment(struct ctx *c, json_t *media);
/* Status content: text as Mastodon's HTML (paragraphs, links, mentions,
 * hashtags), and the hashtags as `tags`. */
void mastodon_content(struct ctx *c, const char *text, struct strbuf *html, json_t *tags);
/* Appends text with &, <, >, " and ' escaped for HTML. */
void mastodon_html_escape(struct strbuf *sb, const char *s, size_t len);
/* 2026-11-28T19:40:21.660Z of an id's time. */
json_t *mastodon_id_time(const char *id);

/* Sends a JSON value (stolen) with `status`. */
void mastodon_send(struct ctx *c, int status, json_t *v);

/* ---- handlers ---- */
void mastodon_apps_create(struct ctx *c);
void mastodon_apps_verify(struct ctx *c);
void mastodon_oauth_token(struct ctx *c);
void mastodon_oauth_authorize_page(struct ctx *c);
void mastodon_oauth_authorize(struct ctx *c);
void mastodon_oauth_revoke(struct ctx *c);
void mastodon_instance_v1(struct ctx *c);
void mastodon_instance_v2(struct ctx *c);
void mastodon_nodeinfo_wellknown(struct ctx *c);
void mastodon_nodeinfo(struct ctx *c);
void mastodon_accounts_create(struct ctx *c);
void mastodon_verify_credentials(struct ctx *c);
void mastodon_update_credentials(struct ctx *c);
void mastodon_account_get(struct ctx *c);
void mastodon_account_lookup(struct ctx *c);
void mastodon_account_statuses(struct ctx *c);
void mastodon_account_followers(struct ctx *c);
void mastodon_account_following(struct ctx *c);
void mastodon_account_follow(struct ctx *c);
void mastodon_account_unfollow(struct ctx *c);
void mastodon_relationships(struct ctx *c);
void mastodon_account_block(struct ctx *c);
void mastodon_account_unblock(struct ctx *c);
void mastodon_account_mute(struct ctx *c);
void mastodon_account_unmute(struct ctx *c);
void mastodon_blocks(struct ctx *c);
void mastodon_mutes(struct ctx *c);
void mastodon_statuses_create(struct ctx *c);
void mastodon_status_get(struct ctx *c);
void mastodon_status_delete(struct ctx *c);
void mastodon_status_context(struct ctx *c);
void mastodon_status_favourite(struct ctx *c);
void mastodon_status_unfavourite(struct ctx *c);
void mastodon_status_favourited_by(struct ctx *c);
void mastodon_status_reblogged_by(struct ctx *c);
void mastodon_status_reblog(struct ctx *c);
void mastodon_notifications(struct ctx *c);
void mastodon_notification_get(struct ctx *c);
void mastodon_notification_dismiss(struct ctx *c);
void mastodon_notifications_clear(struct ctx *c);
void mastodon_timeline_tag(struct ctx *c);
void mastodon_timeline_public(struct ctx *c);

/* chirp's Notification (docs/api.md) as Mastodon's: type follow, mention
 * (a mention or a reply), favourite or reblog; the latest actor as
 * `account`, the tweet as `status`. */
json_t *mastodon_notification(struct ctx *c, json_t *n);
void mastodon_status_unreblog(struct ctx *c);
void mastodon_timeline_home(struct ctx *c);
void mastodon_search(struct ctx *c);
void mastodon_missing_image(struct ctx *c);
/* Uploads `file` through chirp's three steps, with `description` (NULL
 * for none), then calls then(c, media, arg) with the native Media once the
 * upload is complete (its processing still to come; c->facade is `arg`
 * again). The steps' own errors are sent as they come. */
typedef void (*mastodon_uploaded_fn)(struct ctx *c, json_t *media, void *arg);
void mastodon_upload(struct ctx *c, const struct mastodon_file *file, json_t *description,
		     mastodon_uploaded_fn then, void *arg);
void mastodon_media_create_v1(struct ctx *c);
void mastodon_media_create_v2(struct ctx *c);
void mastodon_media_get(struct ctx *c);
void mastodon_media_update(struct ctx *c);
void mastodon_markers_get(struct ctx *c);
void mastodon_markers_set(struct ctx *c);

#endif
