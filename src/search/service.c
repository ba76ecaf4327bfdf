/*
 * search service — see service.h. A search is a `struct call` queued on
 * the workpool; the thread that runs it uses its own readers (made by the
 * pool's init hook), fills the caller's result and calls back.
 */
#include "search/service.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "util/container_of.h"
#include "util/log.h"
#include "util/workpool.h"

struct search_service {
	struct search *index;
	struct store *store;
	struct feed *feed;
	struct workpool *pool;
};

/* A search thread's readers (workpool hooks). */
struct search_thread {
	struct store_reader *db;
	struct search_reader *index;
};

static void *thread_init(void *arg)
{
	struct search_service *s = arg;
	struct search_thread *t = xmalloc(sizeof(*t));
	t->db = s->store->ops->reader_new(s->store);
	t->index = s->index->ops->reader_new(s->index);
	return t;
}

static void thread_deinit(void *state)
{
	struct search_thread *t = state;
	t->db->ops->reader_free(t->db);
	t->index->ops->reader_free(t->index);
	free(t);
}

/* One search, from the caller to its callback. */
struct call {
	struct work work;
	struct search_service *svc;
	bool users;
	struct search_request req; /* users: query, page.limit and offset */
	struct search_result *res;
	search_done_fn done;
	void *arg;
};

/* ---- tweets ------------------------------------------------------------------ */

/* The index as a feed_id_source: each read goes on below the last. */
struct index_source {
	struct search *search;
	struct search_reader *index;
	struct search_request req;
	unsigned skip; /* newest-first results to pass over before the first read */
	bool ended;    /* skipping passed every match */
};

/*
 * Passes over src->skip results of a newest-first read, so that a query
 * listed newest first (has_phrase) still pages by offset: the page goes on
 * below the last result skipped.
 */
static int skip_results(struct index_source *src)
{
	struct search_request *req = &src->req;
	uint64_t *ids = xmalloc(src->skip * sizeof(*ids));
	size_t n = 0;
	req->page.limit = src->skip;
	int rc = src->index->ops->tweets(src->index, req, ids, &n);
	if (rc == STORE_OK && n)
		req->page.before = ids[n - 1];
	src->ended = n < src->skip;
	src->skip = 0;
	free(ids);
	return rc;
}

static int index_next(void *arg, size_t want, uint64_t *ids, size_t *n)
{
	struct index_source *src = arg;
	struct search_request *req = &src->req;
	*n = 0;
	if (src->skip) {
		int rc = skip_results(src);
		if (rc != STORE_OK)
			return rc;
	}
	if (src->ended)
		return STORE_OK;
	req->page.limit = (unsigned)want;
	int rc = src->index->ops->tweets(src->index, req, ids, n);
	if (rc != STORE_OK || *n == 0)
		return rc;
	/* Results come newest first (recent) or by rank (relevance). */
	if (req->sort == SEARCH_RECENT && !req->page.oldest_first)
		req->page.before = ids[*n - 1];
	else if (req->sort == SEARCH_RECENT)
		req->page.after = ids[0];
	else
		req->offset += (unsigned)*n;
	return STORE_OK;
}

/* The store no longer has it: the index must not offer it again. */
static void index_gone(void *arg, uint64_t id)
{
	struct index_source *src = arg;
	src->search->ops->forget_tweet(src->search, id);
}

/*
 * Whether the query has a "phrase". A phrase matches exactly, so all its
 * matches fit it alike and relevance would weigh little but their age; yet
 * ranking them needs the WINDOW newest (fts5.c, postgres.c), and for two
 * common words that are seldom side by side, finding a thousand means
 * walking all of both words' tweets. Listed newest first, a phrase query
 * stops at the first page of matches.
 */
static bool has_phrase(const struct search_query *q)
{
	for (size_t i = 0; i < q->nterms; i++)
		if (q->terms[i].kind == SEARCH_PHRASE)
			return true;
	return false;
}

static int find_tweets(struct search_service *s, struct search_thread *t,
		       const struct search_request *req, struct search_result *res)
{
	struct index_source src = {.search = s->index, .index = t->index, .req = *req};
	if (req->sort == SEARCH_RELEVANCE && has_phrase(req->query)) {
		src.req.sort = SEARCH_RECENT;
		src.req.page.oldest_first = false;
		src.skip = req->offset;
		src.req.offset = 0;
	}
	const struct search_query *q = req->query;
	if (q->from) {
		char handle[HANDLE_MAX + 1];
		memcpy(handle, q->from, q->from_len);
		handle[q->from_len] = '\0';
		struct user u;
		int rc = t->db->ops->user_get_by_handle(t->db, handle, &u);
		if (rc == STORE_NOT_FOUND) {
			strbuf_append_str(&res->json, "[]");
			return STORE_OK; /* nobody by that name: nothing they wrote */
		}
		if (rc != STORE_OK)
			return rc;
		src.req.has_author = true;
		src.req.author_id = u.id;
	}
	struct feed_id_source ids = {
		.next = index_next, .gone = index_gone, .arg = &src, .show_muted = true};
	struct feed_hydrated h;
	int rc = feed_hydrate(s->feed, t->db, req->viewer_id, &ids, req->page.limit, &res->json,
			      &h);
	res->n = h.n;
	res->newest = h.newest;
	res->oldest = h.oldest;
	return rc;
}

/* ---- users ------------------------------------------------------------------- */

static int find_users(struct search_thread *t, const struct search_request *req,
		      struct search_result *res)
{
	uint64_t *ids = xmalloc((req->page.limit ? req->page.limit : 1) * sizeof(uint64_t));
	size_t got;
	int rc = t->index->ops->users(t->index, req->query, req->page.limit, req->offset, ids,
				      &got);
	strbuf_append_char(&res->json, '[');
	for (size_t i = 0; rc == STORE_OK && i < got; i++) {
		struct user u;
		rc = t->db->ops->user_get(t->db, ids[i], &u);
		if (rc == STORE_NOT_FOUND) {
			rc = STORE_OK; /* gone meanwhile */
			continue;
		}
		if (rc == STORE_OK) {
			if (res->n++)
				strbuf_append_char(&res->json, ',');
			render_user(&res->json, &u);
		}
	}
	strbuf_append_char(&res->json, ']');
	free(ids);
	return rc;
}

/* ---- running ----------------------------------------------------------------- */

static void run(struct work *w)
{
	struct call *call = container_of(w, struct call, work);
	struct search_thread *t = w->thread;
	struct search_result *res = call->res;
	res->status = call->users ? find_users(t, &call->req, res)
				  : find_tweets(call->svc, t, &call->req, res);
	call->done(res, call->arg);
	free(call);
}

static void submit(struct search_service *s, struct call *call)
{
	struct search_result *res = call->res;
	*res = (struct search_result){.status = STORE_OK};
	strbuf_init(&res->json);
	call->svc = s;
	call->work.fn = run;
	if (workpool_submit(s->pool, &call->work) != 0) {
		res->status = STORE_BUSY;
		call->done(res, call->arg);
		free(call);
	}
}

void search_service_tweets(struct search_service *s, const struct search_request *req,
			   struct search_result *res, search_done_fn done, void *arg)
{
	struct call *call = xcalloc(1, sizeof(*call));
	call->req = *req;
	call->req.has_author = false;
	call->res = res;
	call->done = done;
	call->arg = arg;
	submit(s, call);
}

void search_service_users(struct search_service *s, const struct search_query *q,
			  unsigned limit, unsigned offset, struct search_result *res,
			  search_done_fn done, void *arg)
{
	struct call *call = xcalloc(1, sizeof(*call));
	call->users = true;
	call->req.query = q;
	call->req.page.limit = limit;
	call->req.offset = offset;
	call->res = res;
	call->done = done;
	call->arg = arg;
	submit(s, call);
}

void search_service_stats(struct search_service *s, struct search_stats *out)
{
	s->index->ops->stats(s->index, out);
}

/* ---- life cycle -------------------------------------------------------------- */

struct search_service *search_service_new(struct search *index, struct store *store,
					  struct feed *feed,
					  const struct search_service_options *opt)
{
	struct search_service *s = xcalloc(1, sizeof(*s));
	s->index = index;
	s->store = store;
	s->feed = feed;
	struct workpool_hooks hooks = {.init = thread_init, .deinit = thread_deinit, .arg = s};
	s->pool = workpool_new(opt->threads, opt->max_queued, &hooks);
	return s;
}

void search_service_free(struct search_service *s)
{
	if (!s)
		return;
	workpool_free(s->pool);
	free(s);
}
