/*
 * mastodon_api — Mastodon's accounts, statuses and timelines over chirp's
 * own handlers (api/mastodon.h tells how): each handler here puts the
 * request in the native handler's terms (path parameters, body) and sets
 * the renderer that turns the native answer into Mastodon's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/mastodon.h"
#include "core/graph.h"
#include "timeline/feed.h"
#include "http/respond.h"
#include "util/container_of.h"
#include "util/id.h"

/* ---- putting the request in native terms ---- */

static void set_param(struct ctx *c, unsigned i, const char *s, size_t len)
{
	c->m.params[i].s = s;
	c->m.params[i].len = len;
	if (c->m.nparams <= i)
		c->m.nparams = i + 1;
}

static bool param_true(json_t *p, const char *name)
{
	json_t *v = json_object_get(p, name);
	if (json_is_true(v))
		return true;
	const char *s = json_string_value(v);
	return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "on") == 0);
}

/* A list's Link header, with absolute URLs as Mastodon sends them (the
 * libraries resolve no relative ones). */
static void paged(struct ctx *c)
{
	mastodon_base_url(c); /* sets c->link_base */
}

/* ---- renderers of native answers ---- */

static void answer_account(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *u = mastodon_parse(body);
	mastodon_send(c, 200, mastodon_account(c, u));
	json_decref(u);
}

static void answer_accounts(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *list = mastodon_parse(body), *out = json_array(), *u;
	size_t i;
	json_array_foreach(list, i, u) json_array_append_new(out, mastodon_account(c, u));
	mastodon_send(c, 200, out);
	json_decref(list);
}

/* verify_credentials and update_credentials: the Account with its
 * `source`, the fields as the user wrote them. */
static void answer_credentials(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *u = mastodon_parse(body);
	json_t *a = mastodon_account(c, u);
	const char *bio = json_string_value(json_object_get(u, "bio"));
	json_object_set_new(a, "source",
			    json_pack("{ss, ss, sb, ss, s:[], si, s:O?}", "note", bio ? bio : "",
				      "privacy", "public", "sensitive", 0, "language", "", "fields",
				      "follow_requests_count", 0, "email",
				      json_object_get(u, "email"))); /* the owner's own */
	mastodon_send(c, 200, a);
	json_decref(u);
}

static void answer_status(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *t = mastodon_parse(body);
	mastodon_send(c, 200, mastodon_status(c, t));
	json_decref(t);
}

/* A page of statuses; exclude_replies and only_media filter it (the Link
 * header was set from the whole page, so paging stays exact). */
static void answer_statuses(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *p = c->body;
	bool no_replies = param_true(p, "exclude_replies");
	bool only_media = param_true(p, "only_media");
	json_t *list = mastodon_parse(body), *out = json_array(), *t;
	size_t i;
	json_array_foreach(list, i, t)
	{
		if (no_replies && json_is_string(json_object_get(t, "in_reply_to_id")))
			continue;
		json_t *original = json_object_get(t, "retweet_of"); /* a reblog's media are its original's */
		if (only_media &&
		    json_array_size(json_object_get(json_is_object(original) ? original : t, "media")) == 0)
			continue;
		json_array_append_new(out, mastodon_status(c, t));
	}
	mastodon_send(c, 200, out);
	json_decref(list);
}

static json_t *statuses_of(struct ctx *c, json_t *list)
{
	json_t *out = json_array(), *t;
	size_t i;
	json_array_foreach(list, i, t) json_array_append_new(out, mastodon_status(c, t));
	return out;
}

static void answer_context(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *ctx = mastodon_parse(body);
	mastodon_send(c, 200,
		      json_pack("{s:o, s:o}", "ancestors",
				statuses_of(c, json_object_get(ctx, "ancestors")), "descendants",
				statuses_of(c, json_object_get(ctx, "descendants"))));
	json_decref(ctx);
}

/* A Relationship: follows each way, and the REL_* bits of blocks and
 * mutes between the two (chirp has no follow requests or endorsements). */
static json_t *relationship_json(const char *id, size_t len, bool following, bool followed_by,
				 unsigned rel)
{
	bool muting = rel & REL_MUTING;
	return json_pack("{ss%, sb, sb, sb, s:[], sb, sb, sb, sb, sb, sb, sb, sb, ss}", "id", id,
			 len, "following", following, "showing_reblogs", following, "notifying",
			 0, "languages", "followed_by", followed_by, "blocking",
			 (rel & REL_BLOCKING) != 0, "blocked_by", (rel & REL_BLOCKED_BY) != 0,
			 "muting", muting, "muting_notifications", muting, "requested", 0,
			 "domain_blocking", 0, "endorsed", 0, "note", "");
}

/* The Relationship after a follow or unfollow of path parameter 0. Only
 * `following` is known here (a follow is refused across a block, and a
 * mute does not touch it): clients read the rest from relationships. */
static void relationship(struct ctx *c, bool following)
{
	mastodon_send(c, 200, relationship_json(c->m.params[0].s, c->m.params[0].len, following,
						false, 0));
}

static void answer_followed(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	relationship(c, true);
}

static void answer_unfollowed(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	relationship(c, false);
}

/* ---- accounts ---- */

/* POST /api/v1/accounts with an app token: a sign-up, then a log-in,
 * answered with the new user's token. */
static void answer_signed_up(struct ctx *c, int status, const struct strbuf *body)
{
	if (status == 409) { /* taken: Mastodon's 422 with the field's details */
		json_t *e = mastodon_parse(body);
		bool email = json_is_string(json_object_get(e, "code")) &&
			     strcmp(json_string_value(json_object_get(e, "code")), "email_taken") == 0;
		json_decref(e);
		mastodon_send(c, 422,
			      json_pack("{ss, s:{s:[{ss, ss}]}}", "error",
					email ? "Validation failed: Email has already been taken"
					      : "Validation failed: Username has already been taken",
					"details", email ? "email" : "username", "error", "ERR_TAKEN",
					"description", "has already been taken"));
		return;
	}
	if (status < 200 || status >= 300) {
		http_send_json(c->req, status, body); /* the native refusal, as it is */
		return;
	}
	json_t *p = c->body;
	size_t hlen, plen;
	const char *handle = mastodon_param(p, "handle", &hlen);
	const char *password = mastodon_param(p, "password", &plen);
	c->answer = mastodon_token_answer;
	c->answer_errors = true;
	api_login(c, handle, hlen, password, plen);
}

void mastodon_accounts_create(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	if (!c->app_token && !c->user_id) {
		mastodon_error(c, 401, "This method requires an app token (client_credentials)");
		return;
	}
	if (!(c->scopes & API_SCOPE_WRITE)) {
		mastodon_error(c, 403, "This action is outside the authorized scopes");
		return;
	}
	size_t ulen, plen;
	const char *user = mastodon_param(p, "username", &ulen);
	const char *pass = mastodon_param(p, "password", &plen);
	if (!param_true(p, "agreement")) {
		mastodon_error(c, 422, "Validation failed: agreement must be accepted");
		return;
	}
	if (!user || !pass) {
		mastodon_error(c, 422, "Validation failed: username and password are required");
		return;
	}
	/* The scopes of the user token: the app token's. */
	json_t *body = json_pack("{ss%, ss%}", "handle", user, ulen, "password", pass, plen);
	json_t *email = json_object_get(p, "email");
	if (email) /* kept, and checked, by the native sign-up */
		json_object_set(body, "email", email);
	mastodon_set_body(c, body);
	c->answer = answer_signed_up;
	c->answer_errors = true;
	api_users_create(c);
}

void mastodon_verify_credentials(struct ctx *c)
{
	c->answer = answer_credentials;
	api_users_me(c);
}

/*
 * An avatar comes as a file in the form, where chirp's PATCH /v1/users/me
 * takes the id of a ready image: the file goes through the upload steps
 * (mastodon_upload), then the media is read every 100 ms until its
 * processing (EXIF stripped, thumbnail) is done, on whichever node, and
 * then the profile changes, avatar and fields together. While a poll
 * waits, the request is asynchronous (c->async) as during any step, and
 * is done when a step answers it. A client that leaves meanwhile takes
 * the poll with it (avatar_dispose); the media it left stays unused and
 * is swept like any.
 */
#define AVATAR_POLLS 100 /* 10 s */

struct avatar_update {
	struct ctx *c;
	struct app *app;
	json_t *fields; /* the rest of the PATCH */
	char media_id[24];
	unsigned polls;
	h2o_timeout_entry_t poll;
};

static void avatar_dispose(void *p)
{
	struct avatar_update *a = p;
	if (h2o_timeout_is_linked(&a->poll)) {
		h2o_timeout_unlink(&a->poll);
		api_request_done(a->app, NULL); /* the client left while it waited */
	}
	json_decref(a->fields);
}

static void update_me(struct ctx *c, json_t *fields)
{
	mastodon_set_body(c, json_incref(fields));
	c->answer = answer_credentials;
	api_users_update_me(c);
}

static void avatar_polled(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	struct avatar_update *a = c->facade;
	json_t *m = mastodon_parse(body);
	const char *st = json_string_value(json_object_get(m, "status"));
	bool ready = st && strcmp(st, "ready") == 0, failed = st && strcmp(st, "failed") == 0;
	json_decref(m);
	if (ready) {
		json_object_set_new(a->fields, "avatar_media_id", json_string(a->media_id));
		update_me(c, a->fields);
	} else if (failed) {
		mastodon_error(c, 422, "avatar: the file could not be processed as an image");
	} else if (++a->polls >= AVATAR_POLLS) {
		mastodon_error(c, 503, "avatar: the image is still being processed; try again");
	} else {
		h2o_context_t *ctx = c->req->conn->ctx;
		c->async = true;
		h2o_timeout_link(ctx->loop, &ctx->hundred_ms_timeout, &a->poll);
	}
}

static void avatar_read(struct avatar_update *a)
{
	struct ctx *c = a->c;
	c->m.params[0].s = a->media_id;
	c->m.params[0].len = strlen(a->media_id);
	c->m.nparams = 1;
	c->answer = avatar_polled;
	api_media_get(c);
}

static void avatar_tick(h2o_timeout_entry_t *entry)
{
	struct avatar_update *a = container_of(entry, struct avatar_update, poll);
	struct ctx *c = a->c;
	c->async = false;
	avatar_read(a);
	if (!c->async) /* answered, or waiting again */
		api_request_done(a->app, c);
}

static void avatar_uploaded(struct ctx *c, json_t *media, void *arg)
{
	(void)c; /* a->c */
	struct avatar_update *a = arg;
	const char *id = json_string_value(json_object_get(media, "id"));
	snprintf(a->media_id, sizeof(a->media_id), "%s", id ? id : "");
	avatar_read(a);
}

/* display_name and note, and an avatar file: the Account as it is then. */
void mastodon_update_credentials(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	json_t *fields = json_object();
	json_t *name = json_object_get(p, "display_name"), *note = json_object_get(p, "note");
	json_t *avatar = json_object_get(p, "avatar");
	if (name)
		json_object_set(fields, "display_name", name);
	if (note)
		json_object_set(fields, "bio", note);
	if (!avatar) {
		update_me(c, fields);
		json_decref(fields);
		return;
	}
	struct mastodon_file file;
	if (!mastodon_file(c, p, "avatar", &file)) {
		json_decref(fields);
		mastodon_error(c, 422, "avatar must be a file of a multipart/form-data body");
		return;
	}
	struct avatar_update *a = h2o_mem_alloc_shared(&c->req->pool, sizeof(*a), avatar_dispose);
	*a = (struct avatar_update){
		.c = c, .app = c->app, .fields = fields, .poll = {.cb = avatar_tick}};
	mastodon_upload(c, &file, NULL, avatar_uploaded, a);
}

void mastodon_account_get(struct ctx *c)
{
	c->answer = answer_account;
	api_users_get(c);
}

/* GET /api/v1/accounts/lookup?acct=alice (or alice@this.host). */
void mastodon_account_lookup(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	size_t len;
	const char *acct = mastodon_param(p, "acct", &len);
	if (!acct || !len) {
		mastodon_error(c, 400, "acct is required");
		return;
	}
	if (acct[0] == '@') {
		acct++;
		len--;
	}
	const char *at = memchr(acct, '@', len);
	if (at)
		len = (size_t)(at - acct);
	set_param(c, 0, acct, len);
	c->answer = answer_account;
	api_users_by_handle(c);
}

void mastodon_account_statuses(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	if (param_true(p, "pinned")) {
		/* chirp has no pinned posts. */
		mastodon_send(c, 200, json_array());
		return;
	}
	paged(c);
	c->answer = answer_statuses;
	api_user_tweets(c);
}

void mastodon_account_followers(struct ctx *c)
{
	paged(c);
	c->answer = answer_accounts;
	api_followers(c);
}

void mastodon_account_following(struct ctx *c)
{
	paged(c);
	c->answer = answer_accounts;
	api_following(c);
}

void mastodon_account_follow(struct ctx *c)
{
	if (!mastodon_params(c))
		return;
	mastodon_set_body(c, json_object());
	c->answer = answer_followed;
	api_follows_create(c);
}

void mastodon_account_unfollow(struct ctx *c)
{
	c->answer = answer_unfollowed;
	api_follows_delete(c);
}

/* ---- statuses ---- */

void mastodon_statuses_create(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	size_t vlen, splen;
	const char *visibility = mastodon_param(p, "visibility", &vlen);
	const char *spoiler = mastodon_param(p, "spoiler_text", &splen);
	json_t *body = json_object();
	json_t *status = json_object_get(p, "status");
	json_t *reply = json_object_get(p, "in_reply_to_id");
	json_t *media = json_object_get(p, "media_ids");
	/* Every chirp post is public: "unlisted" is taken as public (it is
	 * listed), while a private or direct post would be a broken promise,
	 * so it is refused. Content warnings are refused for the same reason. */
	if (visibility && vlen && strcmp(visibility, "public") != 0 &&
	    strcmp(visibility, "unlisted") != 0) {
		json_decref(body);
		mastodon_error(c, 422, "chirp has public posts only: visibility must be public");
		return;
	}
	if (spoiler && splen) {
		json_decref(body);
		mastodon_error(c, 422, "chirp has no content warnings: spoiler_text must be empty");
		return;
	}
	json_object_set_new(body, "text", status ? json_incref(status) : json_string(""));
	if (reply && !(json_is_string(reply) && json_string_length(reply) == 0))
		json_object_set(body, "in_reply_to_id", reply);
	if (media)
		json_object_set(body, "media_ids", media);
	mastodon_set_body(c, body);
	c->answer = answer_status;
	api_tweets_create(c);
}

void mastodon_status_get(struct ctx *c)
{
	c->answer = answer_status;
	api_tweets_get(c);
}

void mastodon_status_context(struct ctx *c)
{
	c->answer = answer_context;
	api_tweets_context(c);
}

/* DELETE /api/v1/statuses/:id answers the deleted Status (with its
 * `text`, for "delete and redraft"): read first, then delete. */
static void answer_deleted(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	mastodon_send(c, 200, json_incref((json_t *)c->facade));
}

static void answer_to_delete(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *t = mastodon_parse(body);
	c->facade = mastodon_keep(c, mastodon_status(c, t));
	json_decref(t);
	c->answer = answer_deleted;
	api_tweets_delete(c);
}

void mastodon_status_delete(struct ctx *c)
{
	c->answer = answer_to_delete;
	api_tweets_get(c);
}

void mastodon_status_favourite(struct ctx *c)
{
	if (!mastodon_params(c))
		return;
	mastodon_set_body(c, json_object());
	c->answer = answer_status;
	api_likes_create(c);
}

/* Unliking (or undoing a retweet) answers 204 natively; Mastodon answers
 * the Status. */
static void answer_undone(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	c->answer = answer_status;
	api_tweets_get(c);
}

void mastodon_status_unfavourite(struct ctx *c)
{
	c->answer = answer_undone;
	api_likes_delete(c);
}

/* POST /api/v1/statuses/:id/reblog: a retweet, answered as Mastodon
 * does, with the reblog (mastodon_status renders a retweet so). */
void mastodon_status_reblog(struct ctx *c)
{
	if (!mastodon_params(c))
		return;
	mastodon_set_body(c, json_object());
	c->answer = answer_status;
	api_retweets_create(c);
}

/* Undoing a retweet answers 204 natively; Mastodon answers the original. */
void mastodon_status_unreblog(struct ctx *c)
{
	c->answer = answer_undone;
	api_retweets_delete(c);
}

void mastodon_status_favourited_by(struct ctx *c)
{
	paged(c);
	c->answer = answer_accounts;
	api_liked_by(c);
}

void mastodon_status_reblogged_by(struct ctx *c)
{
	paged(c);
	c->answer = answer_accounts;
	api_retweeted_by(c);
}

/* ---- notifications ---- */

/* Mastodon's notification types over chirp's (docs/api.md): a reply is
 * a mention in Mastodon, a like a favourite, a retweet a reblog. */
static const struct {
	const char *mastodon, *chirp;
} notif_types[] = {
	{"follow", "follow"},     {"mention", "mention"}, {"mention", "reply"},
	{"favourite", "like"},    {"reblog", "retweet"},
};
#define NOTIF_TYPES (sizeof(notif_types) / sizeof(notif_types[0]))

static const char *notif_type_mastodon(const char *chirp)
{
	for (size_t i = 0; chirp && i < NOTIF_TYPES; i++)
		if (!strcmp(notif_types[i].chirp, chirp))
			return notif_types[i].mastodon;
	return NULL;
}

/* Marks in want[] the chirp types of each Mastodon type named in `list`
 * (a string or an array). An unknown name is refused, as Mastodon does. */
static bool notif_types_mark(json_t *list, bool *want)
{
	json_t *one = json_is_string(list) ? json_pack("[O]", list) : json_incref(list);
	bool ok = json_is_array(one) && json_array_size(one) <= 2 * NOTIF_TYPES;
	size_t i;
	json_t *v;
	json_array_foreach(one, i, v)
	{
		bool known = false;
		for (size_t k = 0; json_is_string(v) && k < NOTIF_TYPES; k++)
			if (!strcmp(json_string_value(v), notif_types[k].mastodon))
				want[k] = known = true;
		ok = ok && known;
	}
	json_decref(one);
	return ok;
}

json_t *mastodon_notification(struct ctx *c, json_t *n)
{
	const char *type = notif_type_mastodon(json_string_value(json_object_get(n, "type")));
	json_t *tweet = json_object_get(n, "tweet");
	json_t *o = json_pack("{s:O, ss, s:O, s:o}", "id", json_object_get(n, "id"), "type",
			      type ? type : "mention", "created_at", json_object_get(n, "created_at"),
			      "account", mastodon_account(c, json_object_get(n, "actor")));
	if (json_is_object(tweet))
		json_object_set_new(o, "status", mastodon_status(c, tweet));
	return o;
}

static void answer_notifications(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *list = mastodon_parse(body), *out = json_array(), *n;
	size_t i;
	json_array_foreach(list, i, n) json_array_append_new(out, mastodon_notification(c, n));
	mastodon_send(c, 200, out);
	json_decref(list);
}

/* GET /api/v1/notifications: GET /v1/notifications with types[] and
 * exclude_types[] in chirp's terms. The request's query string is
 * replaced by one the native handler reads: the page's cursors and limit,
 * and types= (which is also what the Link URLs carry, and what this
 * handler takes when a client follows them). */
void mastodon_notifications(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	bool want[NOTIF_TYPES] = {0}, drop[NOTIF_TYPES] = {0};
	json_t *types = json_object_get(p, "types"), *exclude = json_object_get(p, "exclude_types");
	size_t native_len = 0;
	const char *native = json_is_string(types) ? mastodon_param(p, "types", &native_len) : NULL;
	bool named = types && !native;
	if ((named && !notif_types_mark(types, want)) ||
	    (exclude && !notif_types_mark(exclude, drop))) {
		mastodon_error(c, 422, "types[] and exclude_types[] name follow, mention, "
				       "favourite or reblog");
		return;
	}
	/* A bare types=… is chirp's own list (a Link URL's), passed on as it
	 * is; a single Mastodon name (types=mention) is taken as one. */
	if (native && notif_types_mark(types, want)) {
		named = true;
		native = NULL;
	}
	struct strbuf sb = STRBUF_INIT;
	size_t path_len = c->req->query_at == SIZE_MAX ? c->req->path.len : c->req->query_at;
	strbuf_append(&sb, c->req->path.base, path_len);
	char sep = '?';
	static const char *const keep[] = {"max_id", "since_id", "min_id", "limit"};
	for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
		size_t vlen;
		const char *v = mastodon_param(p, keep[k], &vlen);
		bool digits = v && vlen && vlen <= 20;
		for (size_t i = 0; digits && i < vlen; i++)
			digits = v[i] >= '0' && v[i] <= '9';
		if (v && !digits) {
			strbuf_deinit(&sb);
			mastodon_error(c, 422, "max_id, since_id, min_id and limit are numbers");
			return;
		}
		if (digits) {
			strbuf_appendf(&sb, "%c%s=%.*s", sep, keep[k], (int)vlen, v);
			sep = '&';
		}
	}
	if (native) {
		bool plain = native_len <= 64;
		for (size_t i = 0; plain && i < native_len; i++)
			plain = (native[i] >= 'a' && native[i] <= 'z') || native[i] == ',';
		if (!plain) {
			strbuf_deinit(&sb);
			mastodon_error(c, 422, "types must name follow, mention, favourite or reblog");
			return;
		}
		strbuf_appendf(&sb, "%ctypes=%.*s", sep, (int)native_len, native);
	} else if (named || exclude) {
		const char *lead = "types=";
		size_t kept = 0;
		for (size_t k = 0; k < NOTIF_TYPES; k++) {
			if ((named && !want[k]) || drop[k])
				continue;
			strbuf_appendf(&sb, "%c%s%s", kept ? ',' : sep, kept ? "" : lead,
				       notif_types[k].chirp);
			kept++;
		}
		if (!kept) { /* every type left out: nothing to list */
			strbuf_deinit(&sb);
			mastodon_send(c, 200, json_array());
			return;
		}
	}
	char *s = h2o_mem_alloc_pool(&c->req->pool, sb.len);
	memcpy(s, sb.data, sb.len);
	c->req->query_at = sep == '?' && !native && !(named || exclude) ? SIZE_MAX : path_len;
	c->req->path = h2o_iovec_init(s, sb.len);
	strbuf_deinit(&sb);
	paged(c);
	c->answer = answer_notifications;
	api_notifications_list(c);
}

static void answer_notification(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *n = mastodon_parse(body);
	mastodon_send(c, 200, mastodon_notification(c, n));
	json_decref(n);
}

void mastodon_notification_get(struct ctx *c)
{
	c->answer = answer_notification;
	api_notifications_get(c);
}

/* Dismissing and clearing answer 204 natively, an empty object in Mastodon. */
static void answer_empty(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	mastodon_send(c, 200, json_object());
}

void mastodon_notification_dismiss(struct ctx *c)
{
	c->answer = answer_empty;
	api_notifications_dismiss(c);
}

void mastodon_notifications_clear(struct ctx *c)
{
	c->answer = answer_empty;
	api_notifications_clear(c);
}

/* ---- timelines ---- */

void mastodon_timeline_home(struct ctx *c)
{
	if (!mastodon_params(c))
		return;
	paged(c);
	c->answer = answer_statuses;
	api_feed(c);
}

/* GET /api/v1/timelines/tag/:hashtag: GET /v1/hashtags/{tag}/tweets
 * (every chirp user is local: `local` changes nothing). */
void mastodon_timeline_tag(struct ctx *c)
{
	if (!mastodon_params(c))
		return;
	paged(c);
	c->answer = answer_statuses;
	api_hashtag_tweets(c);
}

/* GET /api/v1/timelines/public: every tweet, newest first. Every chirp
 * account is local: `local` changes nothing, and `remote` (only other
 * servers') is always empty. */
void mastodon_timeline_public(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	if (param_true(p, "remote")) {
		mastodon_send(c, 200, json_array());
		return;
	}
	paged(c);
	c->answer = answer_statuses;
	api_public_tweets(c);
}

/* ---- search ---- */

#define SEARCH_Q_MAX 512

/* The native search handlers read q (and limit, offset) from the query
 * string: the request's own is replaced by one in their terms. */
static void search_query_string(struct ctx *c, const char *q, size_t len, json_t *p)
{
	struct strbuf sb = STRBUF_INIT;
	size_t path_len = c->req->query_at == SIZE_MAX ? c->req->path.len : c->req->query_at;
	strbuf_append(&sb, c->req->path.base, path_len);
	strbuf_append_str(&sb, "?q=");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)q[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '_' || ch == '-' || ch == '.')
			strbuf_append_char(&sb, (char)ch);
		else
			strbuf_appendf(&sb, "%%%02X", ch);
	}
	static const char *const keep[] = {"limit", "offset"};
	for (size_t k = 0; k < 2; k++) {
		size_t vlen;
		const char *v = mastodon_param(p, keep[k], &vlen);
		bool digits = v && vlen && vlen <= 6;
		for (size_t i = 0; digits && i < vlen; i++)
			digits = v[i] >= '0' && v[i] <= '9';
		if (digits)
			strbuf_appendf(&sb, "&%s=%.*s", keep[k], (int)vlen, v);
	}
	char *s = h2o_mem_alloc_pool(&c->req->pool, sb.len);
	memcpy(s, sb.data, sb.len);
	c->req->query_at = path_len;
	c->req->path = h2o_iovec_init(s, sb.len);
	strbuf_deinit(&sb);
}

struct search_state {
	json_t *accounts; /* kept (mastodon_keep()) */
	bool statuses;    /* statuses wanted too */
};

/* #tag searches also list the hashtag itself. */
static json_t *hashtags_of(struct ctx *c, json_t *p)
{
	const char *q = mastodon_param(p, "q", NULL);
	json_t *tags = json_array();
	if (q && q[0] == '#' && q[1]) {
		struct strbuf html = STRBUF_INIT;
		mastodon_content(c, q, &html, tags);
		strbuf_deinit(&html);
		size_t i;
		json_t *t;
		json_array_foreach(tags, i, t) json_object_set_new(t, "history", json_array());
	}
	return tags;
}

static void search_send(struct ctx *c, json_t *statuses)
{
	struct search_state *st = c->facade;
	json_t *p = c->body;
	const char *type = mastodon_param(p, "type", NULL);
	bool tags = !type || strcmp(type, "hashtags") == 0;
	mastodon_send(c, 200,
		      json_pack("{s:O, s:o, s:o}", "accounts", st->accounts, "statuses",
				statuses ? statuses : json_array(), "hashtags",
				tags ? hashtags_of(c, p) : json_array()));
}

static void answer_found_statuses(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	json_t *list = mastodon_parse(body);
	json_t *out = statuses_of(c, json_is_array(list) ? list : json_object_get(list, "tweets"));
	json_decref(list);
	search_send(c, out);
}

static void answer_found_accounts(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	struct search_state *st = c->facade;
	json_t *list = mastodon_parse(body), *u;
	json_t *users = json_is_array(list) ? list : json_object_get(list, "users");
	size_t i;
	json_array_foreach(users, i, u) json_array_append_new(st->accounts, mastodon_account(c, u));
	json_decref(list);
	if (!st->statuses) {
		search_send(c, NULL);
		return;
	}
	size_t len;
	const char *q = mastodon_param(c->body, "q", &len);
	search_query_string(c, q, len, c->body);
	c->answer = answer_found_statuses;
	api_search_tweets(c);
}

/* GET /api/v2/search?q=&type=&limit=&offset= (resolve is accepted: chirp
 * has only local accounts, found by bare handle, "@handle" or
 * "handle@this-host"). */
void mastodon_search(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	size_t len;
	const char *q = mastodon_param(p, "q", &len);
	const char *type = mastodon_param(p, "type", NULL);
	if (!q || !len || len > SEARCH_Q_MAX) {
		mastodon_error(c, 400, "q must be 1..512 bytes");
		return;
	}
	if (type && strcmp(type, "accounts") != 0 && strcmp(type, "statuses") != 0 &&
	    strcmp(type, "hashtags") != 0) {
		mastodon_error(c, 400, "type must be accounts, statuses or hashtags");
		return;
	}
	struct search_state *st = h2o_mem_alloc_pool(&c->req->pool, sizeof(*st));
	st->accounts = mastodon_keep(c, json_array());
	st->statuses = !type || strcmp(type, "statuses") == 0;
	c->facade = st;
	if (type && strcmp(type, "hashtags") == 0) {
		search_send(c, NULL);
		return;
	}
	if (type && strcmp(type, "statuses") == 0) {
		search_query_string(c, q, len, p);
		c->answer = answer_found_statuses;
		api_search_tweets(c);
		return;
	}
	/* An account's name as Mastodon writes it: @alice, alice@host. */
	const char *h = q;
	size_t hlen = len;
	if (hlen > 1 && h[0] == '@') {
		h++;
		hlen--;
	}
	const char *at = memchr(h, '@', hlen);
	if (at && at > h)
		hlen = (size_t)(at - h);
	search_query_string(c, h, hlen, p);
	c->answer = answer_found_accounts;
	api_search_users(c);
}

/* ---- relationships ---- */

#define RELATIONSHIPS_MAX 40

struct relations_read {
	struct api_read r;
	uint64_t viewer;
	size_t n;
	uint64_t ids[RELATIONSHIPS_MAX];
	bool following[RELATIONSHIPS_MAX], followed_by[RELATIONSHIPS_MAX];
	unsigned rel[RELATIONSHIPS_MAX]; /* REL_* */
	bool one; /* answer the Relationship, not a list of one */
	int rc;
};

static void relations_run(struct api_read *r, struct store_reader *db)
{
	struct relations_read *q = (struct relations_read *)r;
	q->rc = graph_relations(db, q->viewer, q->ids, q->n, q->following, q->followed_by);
	struct feed_hidden h;
	if (q->rc == STORE_OK && (q->rc = feed_hidden_read(db, q->viewer, &h)) == STORE_OK) {
		for (size_t i = 0; i < q->n; i++)
			q->rel[i] = feed_hidden_bits(&h, q->ids[i]);
		feed_hidden_deinit(&h);
	}
}

static void relations_finish(struct api_read *r, struct ctx *c)
{
	struct relations_read *q = (struct relations_read *)r;
	if (q->rc != STORE_OK) {
		api_store_error(c, q->rc);
		return;
	}
	json_t *out = json_array();
	for (size_t i = 0; i < q->n; i++) {
		char id[24];
		int len = snprintf(id, sizeof(id), "%llu", (unsigned long long)q->ids[i]);
		json_array_append_new(out, relationship_json(id, (size_t)len, q->following[i],
							     q->followed_by[i], q->rel[i]));
	}
	/* One account's (after a block or mute): the Relationship itself. */
	if (q->one) {
		json_t *first = json_incref(json_array_get(out, 0));
		json_decref(out);
		out = first;
	}
	mastodon_send(c, 200, out);
}

/* After a block, unblock, mute or unmute of path parameter 0: its
 * Relationship as it now is, read back. */
static void answer_relationship(struct ctx *c, int status, const struct strbuf *body)
{
	(void)status;
	(void)body;
	struct relations_read *q = api_read_new(c, sizeof(*q));
	if (!id_parse(c->m.params[0].s, c->m.params[0].len, &q->ids[0])) {
		if (q->r.heap)
			free(q);
		mastodon_error(c, 404, "Record not found");
		return;
	}
	q->n = 1;
	q->one = true;
	q->r.run = relations_run;
	q->r.finish = relations_finish;
	q->viewer = c->user_id;
	api_read(c, &q->r);
}

void mastodon_account_block(struct ctx *c)
{
	if (!mastodon_params(c))
		return;
	mastodon_set_body(c, json_object());
	c->answer = answer_relationship;
	api_blocks_create(c);
}

void mastodon_account_unblock(struct ctx *c)
{
	c->answer = answer_relationship;
	api_blocks_delete(c);
}

void mastodon_account_mute(struct ctx *c)
{
	if (!mastodon_params(c))
		return;
	mastodon_set_body(c, json_object());
	c->answer = answer_relationship;
	api_mutes_create(c);
}

void mastodon_account_unmute(struct ctx *c)
{
	c->answer = answer_relationship;
	api_mutes_delete(c);
}

void mastodon_blocks(struct ctx *c)
{
	paged(c);
	c->answer = answer_accounts;
	api_blocks_list(c);
}

void mastodon_mutes(struct ctx *c)
{
	paged(c);
	c->answer = answer_accounts;
	api_mutes_list(c);
}

/* GET /api/v1/accounts/relationships?id[]=…: the caller's follows each
 * way, blocks each way and mutes. */
void mastodon_relationships(struct ctx *c)
{
	json_t *p = mastodon_params(c);
	if (!p)
		return;
	json_t *ids = json_object_get(p, "id");
	json_t *one = json_is_string(ids) ? json_pack("[O]", ids) : json_incref(ids);
	struct relations_read *q = api_read_new(c, sizeof(*q));
	size_t i;
	json_t *v;
	bool ok = json_is_array(one) && json_array_size(one) <= RELATIONSHIPS_MAX;
	json_array_foreach(one, i, v)
	{
		ok = ok && json_is_string(v) &&
		     id_parse(json_string_value(v), json_string_length(v), &q->ids[q->n]);
		if (ok)
			q->n++;
	}
	json_decref(one);
	if (!ok) {
		if (q->r.heap)
			free(q);
		mastodon_error(c, 400, "id[] must be 0..40 account ids");
		return;
	}
	q->r.run = relations_run;
	q->r.finish = relations_finish;
	q->viewer = c->user_id;
	api_read(c, &q->r);
}
