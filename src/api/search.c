/*
 * search — GET /v1/search/tweets and GET /v1/search/users (search/search.h
 * has the query language and how the index works).
 *
 * The index returns ids; each is hydrated here from the tweet cache or the
 * store. A tweet the index still has but the store does not (deleted, and
 * the index has not caught up) is skipped, the index is told to forget it,
 * and the page is filled from further down.
 */
#include "api/api.h"

#include <string.h>

#include "core/render.h"
#include "http/respond.h"
#include "util/id.h"
#include "util/query.h"
#include "util/utf8.h"

#define HYDRATE_ROUNDS 4 /* index pages tried to fill one page with live tweets */

/* The decoded query. */
struct search_input {
	char text[SEARCH_QUERY_MAX];
	size_t len;
	struct search_query query;
	unsigned offset;
};

static bool read_offset(struct ctx *c, unsigned *out)
{
	h2o_iovec_t v;
	*out = 0;
	if (!http_query_get(c->req, "offset", &v))
		return true;
	unsigned n = 0;
	bool ok = v.len > 0 && v.len <= 4;
	for (size_t i = 0; ok && i < v.len; i++) {
		ok = v.base[i] >= '0' && v.base[i] <= '9';
		n = n * 10 + (unsigned)(v.base[i] - '0');
	}
	if (!ok || n > SEARCH_OFFSET_MAX) {
		http_send_error(c->req, 422, "invalid_offset", "offset must be 0..1000");
		return false;
	}
	*out = n;
	return true;
}

/* q: required, at most SEARCH_QUERY_MAX bytes once decoded, UTF-8. */
static bool read_query(struct ctx *c, struct search_input *in)
{
	h2o_iovec_t v = {NULL, 0};
	http_query_get(c->req, "q", &v);
	if (v.len > 3 * SEARCH_QUERY_MAX) { /* decoding only shrinks it to a third */
		http_send_error(c->req, 422, "query_too_long", "q must be at most 512 bytes");
		return false;
	}
	char buf[3 * SEARCH_QUERY_MAX];
	size_t len;
	if (!query_decode(v.base, v.len, buf, &len)) {
		http_send_error(c->req, 400, "invalid_query", "q is not properly percent-encoded");
		return false;
	}
	if (len > SEARCH_QUERY_MAX) {
		http_send_error(c->req, 422, "query_too_long", "q must be at most 512 bytes");
		return false;
	}
	if (!utf8_validate(buf, len, NULL)) {
		http_send_error(c->req, 400, "invalid_utf8", "q must be UTF-8");
		return false;
	}
	/* Control characters separate words, as spaces do. */
	for (size_t i = 0; i < len; i++)
		in->text[i] = (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f ? ' ' : buf[i];
	in->len = len;
	search_query_parse(in->text, in->len, &in->query);
	if (in->query.nterms == 0 && !in->query.from) {
		http_send_error(c->req, 422, "empty_query", "q must have something to search for");
		return false;
	}
	return read_offset(c, &in->offset);
}

/* q again, for a URL: everything but unreserved characters escaped. */
static void encode_query(struct strbuf *sb, const struct search_input *in)
{
	static const char hexdigits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < in->len; i++) {
		unsigned char ch = (unsigned char)in->text[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			strbuf_append_char(sb, (char)ch);
		} else {
			char esc[3] = {'%', hexdigits[ch >> 4], hexdigits[ch & 15]};
			strbuf_append(sb, esc, 3);
		}
	}
}

/* A Link URL: this endpoint with the same q and sort, then the cursor. */
static void link_url(struct strbuf *sb, struct ctx *c, const struct search_input *in,
		     const char *sort, const char *rel, const char *fmt, uint64_t value,
		     unsigned limit)
{
	size_t path_len = c->req->query_at == SIZE_MAX ? c->req->path.len : c->req->query_at;
	if (sb->len)
		strbuf_append(sb, ", ", 2);
	strbuf_append_char(sb, '<');
	strbuf_append(sb, c->req->path.base, path_len);
	strbuf_append(sb, "?q=", 3);
	encode_query(sb, in);
	if (sort)
		strbuf_appendf(sb, "&sort=%s", sort);
	strbuf_appendf(sb, "&limit=%u&", limit);
	strbuf_appendf(sb, fmt, (unsigned long long)value);
	strbuf_appendf(sb, ">; rel=\"%s\"", rel);
}

/* Relevance pages by offset: "next" while pages are full, "prev" back. */
static void link_offset(struct ctx *c, const struct search_input *in, const char *sort,
			unsigned limit, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	if (n == limit && in->offset + limit <= SEARCH_OFFSET_MAX)
		link_url(&sb, c, in, sort, "next", "offset=%llu", in->offset + limit, limit);
	if (in->offset > 0)
		link_url(&sb, c, in, sort, "prev", "offset=%llu",
			 in->offset > limit ? in->offset - limit : 0, limit);
	if (sb.len)
		http_header_add(c->req, "link", sb.data, sb.len);
	strbuf_deinit(&sb);
}

static bool read_sort(struct ctx *c, enum search_sort *out)
{
	h2o_iovec_t v;
	*out = SEARCH_RELEVANCE;
	if (!http_query_get(c->req, "sort", &v) || h2o_memis(v.base, v.len, H2O_STRLIT("relevance")))
		return true;
	if (h2o_memis(v.base, v.len, H2O_STRLIT("recent"))) {
		*out = SEARCH_RECENT;
		return true;
	}
	http_send_error(c->req, 422, "invalid_sort", "sort must be relevance or recent");
	return false;
}

/*
 * Hydrates ids into body, skipping (and forgetting) tweets that are gone.
 * Returns how many it wrote; *newest and *oldest track the ids written.
 */
static size_t hydrate(struct ctx *c, const uint64_t *ids, size_t n, struct strbuf *body,
		      size_t have, uint64_t *newest, uint64_t *oldest)
{
	struct search *search = c->app->search;
	size_t wrote = 0;
	for (size_t i = 0; i < n; i++) {
		size_t mark = body->len;
		if (have + wrote)
			strbuf_append_char(body, ',');
		if (feed_tweet(c->app->feed, c->db, ids[i], body) != STORE_OK) {
			body->len = mark;
			search->ops->forget_tweet(search, ids[i]);
			continue;
		}
		if (!*newest || ids[i] > *newest)
			*newest = ids[i];
		if (!*oldest || ids[i] < *oldest)
			*oldest = ids[i];
		wrote++;
	}
	return wrote;
}

void api_search_tweets(struct ctx *c)
{
	struct search_input in;
	struct search_request req = {0};
	if (!read_query(c, &in) || !read_sort(c, &req.sort) || !api_page(c, &req.page))
		return;
	req.query = &in.query;
	req.offset = in.offset;
	const unsigned limit = req.page.limit;
	struct strbuf body = STRBUF_INIT;
	strbuf_append_char(&body, '[');
	size_t n = 0;
	uint64_t newest = 0, oldest = 0;
	if (in.query.from) {
		char handle[HANDLE_MAX + 1];
		memcpy(handle, in.query.from, in.query.from_len);
		handle[in.query.from_len] = '\0';
		struct user u;
		int rc = c->db->ops->user_get_by_handle(c->db, handle, &u);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
			api_store_error(c, rc);
			goto out;
		}
		if (rc == STORE_NOT_FOUND)
			goto done; /* nobody by that name: nothing they wrote */
		req.has_author = true;
		req.author_id = u.id;
	}
	uint64_t ids[100];
	for (int round = 0; round < HYDRATE_ROUNDS && n < limit; round++) {
		size_t got;
		req.page.limit = limit - (unsigned)n;
		int rc = c->search->ops->tweets(c->search, &req, ids, &got);
		if (rc != STORE_OK) {
			api_store_error(c, rc);
			goto out;
		}
		n += hydrate(c, ids, got, &body, n, &newest, &oldest);
		if (got < req.page.limit)
			break; /* the index has no more */
		/* Some were gone: go on below them. */
		if (req.sort == SEARCH_RECENT && !req.page.oldest_first)
			req.page.before = ids[got - 1];
		else if (req.sort == SEARCH_RECENT)
			req.page.after = ids[0];
		else
			req.offset += (unsigned)got;
	}
	req.page.limit = limit;
done:
	strbuf_append_char(&body, ']');
	if (req.sort == SEARCH_RECENT) {
		struct strbuf sb = STRBUF_INIT;
		if (n) {
			link_url(&sb, c, &in, "recent", "next", "max_id=%llu", oldest, limit);
			link_url(&sb, c, &in, "recent", "prev", "min_id=%llu", newest, limit);
		}
		if (sb.len)
			http_header_add(c->req, "link", sb.data, sb.len);
		strbuf_deinit(&sb);
	} else {
		link_offset(c, &in, NULL, limit, n);
	}
	api_send(c, 200, &body);
out:
	strbuf_deinit(&body);
}

void api_search_users(struct ctx *c)
{
	struct search_input in;
	struct store_page page;
	if (!read_query(c, &in) || !api_page(c, &page))
		return;
	uint64_t ids[100];
	size_t got;
	int rc = c->search->ops->users(c->search, &in.query, page.limit, in.offset, ids, &got);
	if (rc != STORE_OK) {
		api_store_error(c, rc);
		return;
	}
	struct strbuf body = STRBUF_INIT;
	strbuf_append_char(&body, '[');
	size_t n = 0;
	for (size_t i = 0; i < got; i++) {
		struct user u;
		rc = c->db->ops->user_get(c->db, ids[i], &u);
		if (rc == STORE_NOT_FOUND)
			continue;
		if (rc != STORE_OK) {
			api_store_error(c, rc);
			strbuf_deinit(&body);
			return;
		}
		if (n++)
			strbuf_append_char(&body, ',');
		render_user(&body, &u);
	}
	strbuf_append_char(&body, ']');
	link_offset(c, &in, NULL, page.limit, got);
	api_send(c, 200, &body);
	strbuf_deinit(&body);
}
