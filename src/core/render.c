/*
 * render — see render.h. created_at comes from the snowflake id.
 */
#include "core/render.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h" /* store_media_alt_next */
#include "util/id.h"
#include "util/jsonw.h"
#include "util/timeutil.h"

static void created_at(struct strbuf *sb, uint64_t id)
{
	char ts[RFC3339_LEN + 1];
	time_format_rfc3339(id_unix_ms(id), ts);
	jsonw_field_str(sb, "created_at", ts, 0);
}

static render_media_url_fn media_url_fn;
static void *media_url_arg;

void render_set_media_url(render_media_url_fn fn, void *arg)
{
	media_url_fn = fn;
	media_url_arg = arg;
}

static void media_url(struct strbuf *sb, const char *key, const struct media_ref *m, bool thumb)
{
	strbuf_append_char(sb, ',');
	jsonw_key(sb, key);
	strbuf_append_char(sb, '"');
	if (media_url_fn)
		media_url_fn(media_url_arg, sb, m, thumb); /* URL characters need no escaping */
	strbuf_append_char(sb, '"');
}

/* "avatar_url": the image's URL, or null. */
static void avatar_url(struct strbuf *sb, const struct media_ref *avatar)
{
	if (avatar->id)
		media_url(sb, "avatar_url", avatar, false);
	else
		strbuf_append_str(sb, ",\"avatar_url\":null");
}

void render_user(struct strbuf *sb, const struct user *u)
{
	strbuf_append_char(sb, '{');
	jsonw_field_id(sb, "id", u->id, 1);
	jsonw_field_str(sb, "handle", u->handle, 0);
	jsonw_field_str(sb, "display_name", u->display_name, 0);
	created_at(sb, u->id);
	jsonw_field_u64(sb, "followers_count", u->followers_count, 0);
	jsonw_field_u64(sb, "following_count", u->following_count, 0);
	jsonw_field_u64(sb, "tweets_count", u->tweets_count, 0);
	jsonw_field_str(sb, "bio", u->bio, 0);
	avatar_url(sb, &u->avatar);
	strbuf_append_char(sb, '}');
}

void render_user_owner(struct strbuf *sb, const struct user *u, const char *email)
{
	render_user(sb, u);
	sb->len--; /* reopen the object */
	if (email && email[0])
		jsonw_field_str(sb, "email", email, 0);
	else
		strbuf_append_str(sb, ",\"email\":null");
	strbuf_append_char(sb, '}');
}

void render_session(struct strbuf *sb, const struct session *s, bool current)
{
	char ts[RFC3339_LEN + 1];
	strbuf_append_char(sb, '{');
	jsonw_field_id(sb, "id", s->id, 1);
	created_at(sb, s->id);
	time_format_rfc3339(s->last_used_ms, ts);
	jsonw_field_str(sb, "last_used_at", ts, 0);
	jsonw_field_str(sb, "device", s->device, 0);
	jsonw_field_str(sb, "ip", s->ip, 0);
	strbuf_append_str(sb, current ? ",\"current\":true}" : ",\"current\":false}");
}

static void render_media(struct strbuf *sb, const struct tweet *t)
{
	const char *alt = t->media_alt[0] ? t->media_alt : NULL;
	strbuf_append_str(sb, ",\"media\":[");
	for (unsigned i = 0; i < t->media_n; i++) {
		const struct media_ref *m = &t->media[i];
		if (i)
			strbuf_append_char(sb, ',');
		strbuf_append_char(sb, '{');
		jsonw_field_id(sb, "id", m->id, 1);
		media_url(sb, "url", m, false);
		media_url(sb, "thumbnail_url", m, true);
		jsonw_field_str(sb, "content_type", m->content_type, 0);
		jsonw_field_u64(sb, "width", m->width, 0);
		jsonw_field_u64(sb, "height", m->height, 0);
		/* The description the media had when the tweet was posted. */
		const char *text = NULL;
		size_t len = 0;
		if (alt)
			alt = store_media_alt_next(alt, &text, &len);
		strbuf_append_str(sb, ",\"description\":");
		if (len)
			jsonw_string(sb, text, len);
		else
			strbuf_append_str(sb, "null");
		strbuf_append_char(sb, '}');
	}
	strbuf_append_char(sb, ']');
}

/* An id, or null for 0. */
static void field_id_or_null(struct strbuf *sb, const char *key, uint64_t id)
{
	if (id) {
		jsonw_field_id(sb, key, id, 0);
		return;
	}
	strbuf_append_char(sb, ',');
	jsonw_key(sb, key);
	strbuf_append_str(sb, "null");
}

/* "entities": what the text links, as parsed when it was posted. An
 * offset outside the text (never written so) is left out rather than read. */
static void render_entities(struct strbuf *sb, const struct tweet *t)
{
	const struct entities *e = &t->entities;
	strbuf_append_str(sb, ",\"entities\":{\"mentions\":[");
	for (unsigned i = 0; i < e->mentions_n; i++) {
		const struct mention *m = &e->mentions[i];
		strbuf_append_str(sb, i ? ",{" : "{");
		jsonw_field_id(sb, "id", m->id, 1);
		jsonw_field_str(sb, "handle", m->handle, 0);
		jsonw_field_u64(sb, "start", m->start, 0);
		jsonw_field_u64(sb, "end", m->end, 0);
		strbuf_append_char(sb, '}');
	}
	strbuf_append_str(sb, "],\"hashtags\":[");
	bool first = true;
	for (unsigned i = 0; i < e->hashtags_n; i++) {
		const struct hashtag *h = &e->hashtags[i];
		if (h->byte_len < 2 || (size_t)h->byte_start + h->byte_len > t->text_len)
			continue;
		strbuf_append_str(sb, first ? "{" : ",{");
		first = false;
		jsonw_key(sb, "tag");
		jsonw_string(sb, t->text + h->byte_start + 1, h->byte_len - 1);
		jsonw_field_u64(sb, "start", h->start, 0);
		jsonw_field_u64(sb, "end", h->end, 0);
		strbuf_append_char(sb, '}');
	}
	strbuf_append_str(sb, "]}");
}

void render_tweet(struct strbuf *sb, const struct tweet *t)
{
	strbuf_append_char(sb, '{');
	jsonw_field_id(sb, "id", t->id, 1);
	jsonw_field_id(sb, "author_id", t->author_id, 0);
	strbuf_append_char(sb, ',');
	jsonw_key(sb, "author");
	strbuf_append_char(sb, '{');
	jsonw_field_id(sb, "id", t->author_id, 1);
	jsonw_field_str(sb, "handle", t->author_handle, 0);
	jsonw_field_str(sb, "display_name", t->author_display_name, 0);
	avatar_url(sb, &t->author_avatar);
	strbuf_append(sb, "},", 2);
	jsonw_key(sb, "text");
	jsonw_string(sb, t->text, t->text_len);
	created_at(sb, t->id);
	render_media(sb, t);
	field_id_or_null(sb, "in_reply_to_id", t->in_reply_to_id);
	field_id_or_null(sb, "in_reply_to_user_id", t->in_reply_to_user_id);
	jsonw_field_u64(sb, "reply_count", t->reply_count, 0);
	jsonw_field_u64(sb, "like_count", t->like_count, 0);
	jsonw_field_u64(sb, "retweet_count", t->retweet_count, 0);
	render_entities(sb, t);
	strbuf_append_char(sb, '}'); /* the last byte: render_tweet_viewer relies on it */
}

uint64_t render_tweet_author_id(const char *json, size_t len)
{
	/* Near the start, before the text (where a quote would be escaped
	 * anyway, so the key cannot be forged by a tweet). */
	static const char key[] = "\"author_id\":\"";
	const char *p = memmem(json, len, key, sizeof(key) - 1);
	return p ? strtoull(p + sizeof(key) - 1, NULL, 10) : 0;
}

void render_tweet_viewer(struct strbuf *sb, unsigned state)
{
	/* sb ends with the '}' of a shared tweet: reopen it. */
	sb->len--;
	strbuf_append_str(sb, state & VIEWER_LIKED ? ",\"liked\":true" : ",\"liked\":false");
	strbuf_append_str(sb, state & VIEWER_RETWEETED ? ",\"retweeted\":true}"
						       : ",\"retweeted\":false}");
}

void render_tweet_for(struct strbuf *sb, const struct tweet *t, unsigned state)
{
	render_tweet(sb, t);
	render_tweet_viewer(sb, state);
}

/* The head's first bytes: render_is_retweet_head reads the ids back. */
#define HEAD_ID "{\"id\":\""
#define HEAD_ORIG "\",\"retweet_of_id\":\""
#define HEAD_ORIG_AUTHOR "\",\"retweet_of_author_id\":\""

void render_retweet_head(struct strbuf *sb, const struct tweet *rt)
{
	strbuf_appendf(sb, HEAD_ID "%llu" HEAD_ORIG "%llu" HEAD_ORIG_AUTHOR "%llu\"",
		       (unsigned long long)rt->id, (unsigned long long)rt->retweet_of,
		       (unsigned long long)rt->retweet_of_author_id);
	jsonw_field_id(sb, "author_id", rt->author_id, 0);
	strbuf_append_char(sb, ',');
	jsonw_key(sb, "author");
	strbuf_append_char(sb, '{');
	jsonw_field_id(sb, "id", rt->author_id, 1);
	jsonw_field_str(sb, "handle", rt->author_handle, 0);
	jsonw_field_str(sb, "display_name", rt->author_display_name, 0);
	avatar_url(sb, &rt->author_avatar);
	strbuf_append_char(sb, '}');
	created_at(sb, rt->id);
	strbuf_append_str(sb, ",\"retweet_of\":"); /* the last byte: a head ends in ':' */
}

void render_shared(struct strbuf *sb, const struct tweet *t)
{
	if (t->retweet_of)
		render_retweet_head(sb, t);
	else
		render_tweet(sb, t);
}

/* Reads the decimal id at *p up to a '"', moving *p past the digits. */
static bool head_id(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	while (s < end && *s >= '0' && *s <= '9' && v <= UINT64_MAX / 10)
		v = v * 10 + (uint64_t)(*s++ - '0');
	if (s == *p || s >= end || *s != '"')
		return false;
	*p = s;
	*out = v;
	return true;
}

/* Steps past `lit` at *p. */
static bool head_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

bool render_is_retweet_head(const char *json, size_t len, uint64_t *orig, uint64_t *orig_author)
{
	return len && json[len - 1] == ':' && render_is_retweet(json, len, orig, orig_author);
}

bool render_is_retweet(const char *json, size_t len, uint64_t *orig, uint64_t *orig_author)
{
	const char *p = json, *end = json + len;
	uint64_t id;
	return head_lit(&p, end, HEAD_ID) && head_id(&p, end, &id) && head_lit(&p, end, HEAD_ORIG) &&
	       head_id(&p, end, orig) && head_lit(&p, end, HEAD_ORIG_AUTHOR) &&
	       head_id(&p, end, orig_author);
}

void render_retweet_for(struct strbuf *sb, const struct tweet *rt, const struct tweet *orig,
			unsigned state)
{
	render_retweet_head(sb, rt);
	render_tweet_for(sb, orig, state);
	strbuf_append_char(sb, '}');
}

const char *render_notification_type(enum notification_type t)
{
	static const char *const names[NOTIF_TYPE_COUNT] = {
		[NOTIF_FOLLOW] = "follow", [NOTIF_MENTION] = "mention", [NOTIF_REPLY] = "reply",
		[NOTIF_LIKE] = "like",     [NOTIF_RETWEET] = "retweet",
	};
	return (unsigned)t < NOTIF_TYPE_COUNT ? names[t] : "unknown";
}

void render_notification(struct strbuf *sb, const struct notification *n, const char *tweet_json,
			 size_t tweet_len)
{
	strbuf_append_char(sb, '{');
	jsonw_field_id(sb, "id", n->id, 1);
	jsonw_field_str(sb, "type", render_notification_type(n->type), 0);
	created_at(sb, n->id);
	strbuf_append_str(sb, ",\"actor\":");
	render_user(sb, &n->actor);
	strbuf_append_str(sb, ",\"tweet\":");
	if (tweet_json && tweet_len)
		strbuf_append(sb, tweet_json, tweet_len);
	else
		strbuf_append_str(sb, "null");
	jsonw_field_u64(sb, "count", n->count, 0);
	strbuf_append_char(sb, '}');
}

void render_follow_users(struct strbuf *sb, const struct follow_entry *e, size_t n)
{
	strbuf_append_char(sb, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_append_char(sb, ',');
		render_user(sb, &e[i].user);
	}
	strbuf_append_char(sb, ']');
}
