/*
 * search — GET /v1/search/tweets and GET /v1/search/users (search/search.h
 * has the query language and how the index works).
 *
 * The handler checks the request on the event loop, then hands the search
 * to a pool of search threads (--search-threads), each with its own index
 * and store readers: a query over long posting lists can take milliseconds,
 * and the loop must not wait for it (DESIGN §6). The answer is sent back
 * on the loop.
 *
 * The index returns ids; each is hydrated from the tweet cache or the
 * store. A tweet the index still has but the store does not (deleted, and
 * the index has not caught up) is skipped, the index is told to forget it,
 * and the page is filled from further down.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "http/respond.h"
#include "http/server.h"
#include "util/container_of.h"
#include "util/id.h"
#include "util/log.h"
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

/* A search thread's readers (workpool hooks). */
struct search_thread {
	struct store_reader *db;
	struct search_reader *index;
};

void *api_search_thread_init(void *app_ptr)
{
	struct app *app = app_ptr;
	struct search_thread *t = xmalloc(sizeof(*t));
	t->db = app->store->ops->reader_new(app->store);
	t->index = app->search->ops->reader_new(app->search);
	return t;
}

void api_search_thread_deinit(void *state)
{
	struct search_thread *t = state;
	t->db->ops->reader_free(t->db);
	t->index->ops->reader_free(t->index);
	free(t);
}

/* One search, from the handler to the answer. */
struct search_job {
	struct work work;
	struct app *app;
	struct ctx *ctx;
	struct http_async *async;
	bool users;
	struct search_input in; /* the query's terms point into in.text */
	struct search_request req;

	/* The outcome, filled on the search thread. */
	int status;
	struct strbuf body;
	size_t n;
	uint64_t newest, oldest; /* of the tweets on the page */
};

/*
 * Hydrates ids into the body, skipping (and forgetting) tweets that are
 * gone; counts and tracks the ids written.
 */
static void hydrate(struct search_job *job, struct store_reader *db, const uint64_t *ids,
		    size_t n)
{
	struct search *search = job->app->search;
	for (size_t i = 0; i < n; i++) {
		size_t mark = job->body.len;
		if (job->n)
			strbuf_append_char(&job->body, ',');
		if (feed_tweet(job->app->feed, db, ids[i], &job->body) != STORE_OK) {
			job->body.len = mark;
			search->ops->forget_tweet(search, ids[i]);
			continue;
		}
		if (!job->newest || ids[i] > job->newest)
			job->newest = ids[i];
		if (!job->oldest || ids[i] < job->oldest)
			job->oldest = ids[i];
		job->n++;
	}
}

static int find_tweets(struct search_job *job, struct search_thread *t)
{
	struct search_request req = job->req;
	const struct search_query *q = &job->in.query;
	if (q->from) {
		char handle[HANDLE_MAX + 1];
		memcpy(handle, q->from, q->from_len);
		handle[q->from_len] = '\0';
		struct user u;
		int rc = t->db->ops->user_get_by_handle(t->db, handle, &u);
		if (rc == STORE_NOT_FOUND)
			return STORE_OK; /* nobody by that name: nothing they wrote */
		if (rc != STORE_OK)
			return rc;
		req.has_author = true;
		req.author_id = u.id;
	}
	uint64_t ids[100];
	const unsigned limit = req.page.limit;
	for (int round = 0; round < HYDRATE_ROUNDS && job->n < limit; round++) {
		size_t got;
		req.page.limit = limit - (unsigned)job->n;
		int rc = t->index->ops->tweets(t->index, &req, ids, &got);
		if (rc != STORE_OK)
			return rc;
		hydrate(job, t->db, ids, got);
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
	return STORE_OK;
}

static int find_users(struct search_job *job, struct search_thread *t)
{
	uint64_t ids[100];
	size_t got;
	int rc = t->index->ops->users(t->index, &job->in.query, job->req.page.limit, job->in.offset,
				      ids, &got);
	for (size_t i = 0; rc == STORE_OK && i < got; i++) {
		struct user u;
		rc = t->db->ops->user_get(t->db, ids[i], &u);
		if (rc == STORE_NOT_FOUND) {
			rc = STORE_OK;
			continue;
		}
		if (rc == STORE_OK) {
			if (job->n++)
				strbuf_append_char(&job->body, ',');
			render_user(&job->body, &u);
		}
	}
	return rc;
}

/* Back on the loop: the answer, with its Link header. */
static void reply(h2o_req_t *req, void *arg)
{
	struct search_job *job = arg;
	if (req) {
		struct ctx *c = job->ctx;
		if (job->status != STORE_OK) {
			api_store_error(c, job->status);
		} else {
			unsigned limit = job->req.page.limit;
			if (!job->users && job->req.sort == SEARCH_RECENT) {
				struct strbuf sb = STRBUF_INIT;
				if (job->n) {
					link_url(&sb, c, &job->in, "recent", "next", "max_id=%llu",
						 job->oldest, limit);
					link_url(&sb, c, &job->in, "recent", "prev", "min_id=%llu",
						 job->newest, limit);
				}
				if (sb.len)
					http_header_add(req, "link", sb.data, sb.len);
				strbuf_deinit(&sb);
			} else {
				link_offset(c, &job->in, NULL, limit, job->n);
			}
			strbuf_append_char(&job->body, ']');
			api_send(c, 200, &job->body);
		}
	}
	api_request_done(job->app, req ? job->ctx : NULL);
	strbuf_deinit(&job->body);
	free(job);
}

static void run(struct work *w)
{
	struct search_job *job = container_of(w, struct search_job, work);
	struct search_thread *t = w->thread;
	job->status = job->users ? find_users(job, t) : find_tweets(job, t);
	http_async_finish(job->async, reply, job);
}

static void start(struct ctx *c, struct search_job *job)
{
	job->work.fn = run;
	job->app = c->app;
	job->ctx = c;
	strbuf_init(&job->body);
	strbuf_append_char(&job->body, '[');
	job->async = http_async_begin(c->req);
	c->async = true;
	if (workpool_submit(c->app->searchers, &job->work) != 0) {
		job->status = STORE_BUSY;
		http_async_finish(job->async, reply, job);
	}
}

void api_search_tweets(struct ctx *c)
{
	struct search_job *job = xcalloc(1, sizeof(*job));
	struct search_request *req = &job->req;
	if (!read_query(c, &job->in) || !read_sort(c, &req->sort) || !api_page(c, &req->page)) {
		free(job);
		return;
	}
	req->query = &job->in.query;
	req->offset = job->in.offset;
	start(c, job);
}

void api_search_users(struct ctx *c)
{
	struct search_job *job = xcalloc(1, sizeof(*job));
	if (!read_query(c, &job->in) || !api_page(c, &job->req.page)) {
		free(job);
		return;
	}
	job->users = true;
	start(c, job);
}
