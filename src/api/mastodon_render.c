/*
 * mastodon_render — Mastodon's Account and Status from chirp's User and
 * Tweet (docs/api.md), as a façade's renderer sees them: parsed JSON.
 *
 * Fields chirp has no notion of get Mastodon's neutral value (every post
 * public: visibility "public"; nothing bookmarked or pinned), so
 * a client shows what is true rather than guessing. Content is HTML the
 * way Mastodon marks it up: <p> paragraphs, <br> line breaks, links,
 * mentions as h-card spans, hashtags as rel="tag" links.
 */
#include <ctype.h>
#include <string.h>

#include "api/mastodon.h"
#include "util/id.h"
#include "util/timeutil.h"

/* Mastodon's default images, which every Mastodon app knows to show as
 * "no avatar" (served by api/mastodon_api.c). */
#define AVATAR_MISSING "/avatars/original/missing.png"
#define HEADER_MISSING "/headers/original/missing.png"

json_t *mastodon_id_time(const char *id)
{
	uint64_t v;
	char buf[32];
	if (!id || !id_parse(id, strlen(id), &v))
		return json_null();
	time_format_rfc3339(id_unix_ms(v), buf);
	return json_string(buf);
}

static json_t *url_of(struct ctx *c, const char *path, const char *tail)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_append_str(&sb, mastodon_base_url(c));
	strbuf_append_str(&sb, path);
	if (tail)
		strbuf_append_str(&sb, tail);
	json_t *v = json_stringn(sb.data, sb.len);
	strbuf_deinit(&sb);
	return v ? v : json_string("");
}

void mastodon_html_escape(struct strbuf *sb, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': strbuf_append_str(sb, "&amp;"); break;
		case '<': strbuf_append_str(sb, "&lt;"); break;
		case '>': strbuf_append_str(sb, "&gt;"); break;
		case '"': strbuf_append_str(sb, "&quot;"); break;
		case '\'': strbuf_append_str(sb, "&#39;"); break;
		default: strbuf_append_char(sb, s[i]);
		}
	}
}

static bool word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* A link's length at s: http(s):// and then anything up to white space. */
static size_t link_len(const char *s, size_t len)
{
	size_t start = strncmp(s, "https://", len < 8 ? len : 8) == 0 && len > 8   ? 8
		       : strncmp(s, "http://", len < 7 ? len : 7) == 0 && len > 7 ? 7
										  : 0;
	if (!start)
		return 0;
	size_t n = start;
	while (n < len && !isspace((unsigned char)s[n]) && s[n] != '<' && s[n] != '>' &&
	       s[n] != '"')
		n++;
	/* Trailing punctuation ends the sentence, not the link. */
	while (n > start && strchr(".,;:!?)'", s[n - 1]))
		n--;
	return n > start ? n : 0;
}

void mastodon_content(struct ctx *c, const char *text, struct strbuf *html, json_t *tags)
{
	const char *base = mastodon_base_url(c);
	size_t len = strlen(text);
	strbuf_append_str(html, "<p>");
	for (size_t i = 0; i < len;) {
		bool boundary = i == 0 || !word_char(text[i - 1]);
		size_t n;
		if (text[i] == '\n') {
			bool para = i + 1 < len && text[i + 1] == '\n';
			strbuf_append_str(html, para ? "</p><p>" : "<br>");
			i += para ? 2 : 1;
		} else if (boundary && (n = link_len(text + i, len - i))) {
			strbuf_append_str(html, "<a href=\"");
			mastodon_html_escape(html, text + i, n);
			strbuf_append_str(html, "\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">");
			mastodon_html_escape(html, text + i, n);
			strbuf_append_str(html, "</a>");
			i += n;
		} else if (boundary && (text[i] == '@' || text[i] == '#') && i + 1 < len &&
			   word_char(text[i + 1])) {
			size_t j = i + 1;
			while (j < len && word_char(text[j]))
				j++;
			const char *w = text + i + 1;
			size_t wl = j - i - 1;
			if (text[i] == '@') {
				strbuf_appendf(html, "<span class=\"h-card\"><a href=\"%s/@", base);
				mastodon_html_escape(html, w, wl);
				strbuf_append_str(html, "\" class=\"u-url mention\">@<span>");
				mastodon_html_escape(html, w, wl);
				strbuf_append_str(html, "</span></a></span>");
			} else {
				char lower[TEXT_MAX + 1];
				for (size_t k = 0; k < wl; k++)
					lower[k] = (char)tolower((unsigned char)w[k]);
				lower[wl] = '\0';
				strbuf_appendf(html, "<a href=\"%s/tags/%s\" class=\"mention hashtag\" "
						     "rel=\"tag\">#<span>",
					       base, lower);
				mastodon_html_escape(html, w, wl);
				strbuf_append_str(html, "</span></a>");
				if (tags) {
					bool seen = false;
					size_t k;
					json_t *t;
					json_array_foreach(tags, k, t) seen =
						seen || strcmp(json_string_value(json_object_get(t, "name")),
							       lower) == 0;
					if (!seen) {
						struct strbuf u = STRBUF_INIT;
						strbuf_appendf(&u, "%s/tags/%s", base, lower);
						json_array_append_new(tags, json_pack("{ss, ss}", "name", lower,
										      "url", u.data));
						strbuf_deinit(&u);
					}
				}
			}
			i = j;
		} else {
			mastodon_html_escape(html, text + i, 1);
			i++;
		}
	}
	strbuf_append_str(html, "</p>");
}

static json_t *note_html(struct ctx *c, const char *bio)
{
	if (!bio || !*bio)
		return json_string("");
	struct strbuf sb = STRBUF_INIT;
	mastodon_content(c, bio, &sb, NULL);
	json_t *v = json_stringn(sb.data, sb.len);
	strbuf_deinit(&sb);
	return v;
}

static json_t *count(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	return json_is_integer(v) ? json_incref(v) : json_integer(0);
}

/* A URL of chirp's (/blobs/…) made absolute: clients load it as is. */
static json_t *absolute(struct ctx *c, json_t *url)
{
	const char *u = json_string_value(url);
	if (!u)
		return json_null();
	return u[0] == '/' ? url_of(c, u, NULL) : json_incref(url);
}

json_t *mastodon_account(struct ctx *c, json_t *u)
{
	const char *id = json_string_value(json_object_get(u, "id"));
	const char *handle = json_string_value(json_object_get(u, "handle"));
	const char *name = json_string_value(json_object_get(u, "display_name"));
	const char *bio = json_string_value(json_object_get(u, "bio"));
	json_t *created = json_object_get(u, "created_at");
	json_t *own = json_object_get(u, "avatar_url");
	json_t *avatar = json_is_string(own) ? absolute(c, own) : url_of(c, AVATAR_MISSING, NULL);
	json_t *header = url_of(c, HEADER_MISSING, NULL);
	json_t *a = json_pack("{ss, ss, ss, ss, sb, sb, sb, sb, s:o, s:o, s:o, s:O, s:O, s:O, s:O, "
			 "s:o, s:o, s:o, s:n, s:[], s:[]}",
			 "id", id ? id : "", "username", handle ? handle : "", "acct",
			 handle ? handle : "", "display_name", name ? name : "", "locked", 0, "bot",
			 0, "discoverable", 1, "group", 0, "created_at",
			 created ? json_incref(created) : mastodon_id_time(id), "note",
			 note_html(c, bio), "url", url_of(c, "/@", handle ? handle : ""), "avatar",
			 avatar, "avatar_static", avatar, "header", header, "header_static", header,
			 "followers_count", count(u, "followers_count"), "following_count",
			 count(u, "following_count"), "statuses_count", count(u, "tweets_count"),
			 "last_status_at", "emojis", "fields");
	json_decref(avatar);
	json_decref(header);
	return a;
}

json_t *mastodon_attachment(struct ctx *c, json_t *m)
{
	json_t *url = absolute(c, json_object_get(m, "url"));
	json_int_t wi = json_integer_value(json_object_get(m, "width"));
	json_int_t hi = json_integer_value(json_object_get(m, "height"));
	json_t *meta = json_is_string(url)
			       ? json_pack("{s:{sI, sI, sf}}", "original", "width", wi, "height", hi,
					   "aspect", hi ? (double)wi / (double)hi : 1.0)
			       : json_null();
	json_t *a = json_pack("{s:O, ss, s:O, s:o, s:n, s:O, s:o, s:O?, s:n}", "id",
			      json_object_get(m, "id"), "type", "image", "url", url, "preview_url",
			      absolute(c, json_object_get(m, "thumbnail_url")), "remote_url",
			      "text_url", url, "meta", meta, "description",
			      json_object_get(m, "description"), "blurhash");
	json_decref(url);
	return a;
}

json_t *mastodon_status(struct ctx *c, json_t *t)
{
	/* A chirp retweet is Mastodon's reblog: a Status of the retweeter's,
	 * with no content of its own, whose `reblog` is the original. Its
	 * counts and the reader's state are the original's, as chirp's are. */
	json_t *original = json_object_get(t, "retweet_of");
	if (json_is_object(original)) {
		json_t *inner = mastodon_status(c, original);
		json_t *outer = json_deep_copy(inner);
		const char *id = json_string_value(json_object_get(t, "id"));
		json_t *author = json_object_get(t, "author");
		const char *handle = json_string_value(json_object_get(author, "handle"));
		struct strbuf path = STRBUF_INIT;
		strbuf_appendf(&path, "/@%s/", handle ? handle : "");
		json_t *url = url_of(c, path.data, id);
		strbuf_deinit(&path);
		json_object_set_new(outer, "id", json_string(id ? id : ""));
		json_object_set(outer, "created_at", json_object_get(t, "created_at"));
		json_object_set_new(outer, "account", mastodon_account(c, author));
		json_object_set_new(outer, "uri", url);
		json_object_set_new(outer, "url", json_incref(url));
		json_object_set_new(outer, "content", json_string(""));
		json_object_set_new(outer, "text", json_string(""));
		json_object_set_new(outer, "in_reply_to_id", json_null());
		json_object_set_new(outer, "in_reply_to_account_id", json_null());
		json_object_set_new(outer, "media_attachments", json_array());
		json_object_set_new(outer, "mentions", json_array());
		json_object_set_new(outer, "tags", json_array());
		json_object_set_new(outer, "reblog", inner);
		return outer;
	}
	const char *id = json_string_value(json_object_get(t, "id"));
	const char *text = json_string_value(json_object_get(t, "text"));
	json_t *author = json_object_get(t, "author");
	/* A Tweet's author carries id, handle and name; the rest of the
	 * Account is Mastodon's neutral value. */
	json_t *account = mastodon_account(c, author);
	json_t *tags = json_array();
	struct strbuf html = STRBUF_INIT;
	mastodon_content(c, text ? text : "", &html, tags);
	json_t *media = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(t, "media"), i, m)
		json_array_append_new(media, mastodon_attachment(c, m));
	const char *handle = json_string_value(json_object_get(author, "handle"));
	struct strbuf path = STRBUF_INIT;
	strbuf_appendf(&path, "/@%s/", handle ? handle : "");
	json_t *url = url_of(c, path.data, id);
	json_t *in_reply = json_object_get(t, "in_reply_to_id");
	json_t *in_reply_user = json_object_get(t, "in_reply_to_user_id");
	json_t *s = json_pack(
		"{ss, s:O, s:O, s:O, sb, ss, ss, s:n, s:o, s:o, s:o, s:o, s:o, s:o, sb, sb, sb, sb, "
		"s:s%, s:n, s:n, s:o, s:o, s:[], s:o, s:[], s:n, s:n, s:n}",
		"id", id ? id : "", "created_at", json_object_get(t, "created_at"), "in_reply_to_id",
		in_reply ? in_reply : json_null(), "in_reply_to_account_id",
		in_reply_user ? in_reply_user : json_null(), "sensitive", 0, "spoiler_text", "",
		"visibility", "public", "language", "uri", url, "url", json_incref(url),
		"replies_count", count(t, "reply_count"), "favourites_count",
		count(t, "like_count"), "reblogs_count", count(t, "retweet_count"), "favourited",
		json_is_true(json_object_get(t, "liked")) ? json_true() : json_false(),
		"reblogged", json_is_true(json_object_get(t, "retweeted")), "muted", 0, "bookmarked", 0, "pinned", 0,
		"content", html.data, html.len, "reblog", "application", "account", account,
		"media_attachments", media, "mentions", "tags", tags, "emojis", "card", "poll",
		"edited_at");
	json_object_set_new(s, "text", json_string(text ? text : ""));
	strbuf_deinit(&html);
	strbuf_deinit(&path);
	return s;
}
