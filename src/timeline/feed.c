/*
 * feed — see feed.h for the design. This file is the orchestration: which
 * timeline, which store read, in which order. The data structures are
 * behind ports (timeline.h, tweet_cache.h; memory.c and
 * tweet_cache_memory.c are the in-memory adapters); the queue is fanout.c.
 */
#include "timeline/feed.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/entities.h"
#include "core/render.h"
#include "pubsub/pubsub.h"
#include "timeline/engagement.h"
#include "timeline/fanout.h"
#include "timeline/live.h"
#include "timeline/live_upto_redis.h"
#include "util/id.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Meta kept with each home timeline: the celebrity epoch it was built in,
 * and the celebrities the reader follows. A celebrity crossing the
 * threshold either way bumps the epoch, and every timeline built before
 * is rebuilt on its next read. */
struct home_meta {
	uint32_t epoch;
	uint32_t ncelebs;
	uint64_t celebs[];
};

#define HYDRATE_ROUNDS 4 /* source reads to fill one page that lost tweets to deletes */
#define HYDRATE_ITEM_BYTES 640 /* a typical item's shared JSON: the page's scratch starts this big */

struct feed {
	struct feed_options opt;
	struct store *store;
	struct timelines *home;     /* reader -> tweets of followees and self */
	struct timelines *authored; /* celebrity -> own tweets */
	struct tweet_cache *cache;
	struct fanout *fanout;
	struct store_reader *fanout_db; /* used by the fanout thread only */
	struct pubsub *pubsub;          /* live events; NULL: none */
	struct engagement_cache *engaged; /* readers' likes and retweets; NULL: none */
	atomic_uint epoch;
	atomic_uint_fast64_t rebuilds, store_pages;
	atomic_uint_fast64_t deferred; /* reads that would have blocked (FEED_WOULD_BLOCK) */
	atomic_uint_fast64_t merged_from_index, merged_from_lists; /* celebrity merges */
	atomic_uint_fast64_t live_upto; /* see feed_live_upto */
};

/* ---- write side ---------------------------------------------------------- */

/* Sends one live event to a reader's feed channel or an author channel. A
 * bus that fails loses the event for the streams listening; they are told
 * nothing else, as with any at-most-once bus, and a reconnect catches up. */
static void publish(struct feed *f, bool author_channel, uint64_t key, enum live_kind kind,
		    uint64_t id)
{
	if (!f->pubsub)
		return;
	char channel[LIVE_CHANNEL_MAX], msg[LIVE_MESSAGE_MAX];
	if (author_channel)
		live_channel_author(channel, key);
	else
		live_channel_feed(channel, key);
	struct live_event e = {.kind = kind, .id = id};
	size_t len = live_encode(&e, msg);
	f->pubsub->ops->publish(f->pubsub, channel, msg, len);
}

/* Sends one event on a named channel (public, tag:...). */
static void publish_on(struct feed *f, const char *channel, enum live_kind kind, uint64_t id)
{
	char msg[LIVE_MESSAGE_MAX];
	struct live_event e = {.kind = kind, .id = id};
	size_t len = live_encode(&e, msg);
	f->pubsub->ops->publish(f->pubsub, channel, msg, len);
}

/* A new tweet to the public streams and to those of each of its tags
 * (job->tags, which this frees). No JSON is made here: the message is the
 * id, and only a stream that receives it reads the tweet. */
static void publish_public(struct feed *f, const struct fanout_job *job)
{
	if (job->is_public && f->pubsub) {
		publish_on(f, LIVE_CHANNEL_PUBLIC, LIVE_TWEET, job->tweet_id);
		char channel[LIVE_TAG_CHANNEL_MAX];
		for (const char *t = job->tags; t && *t; t += strlen(t) + 1) {
			live_channel_tag(channel, t, strlen(t));
			publish_on(f, channel, LIVE_TWEET, job->tweet_id);
		}
	}
	free(job->tags);
}

/* The author, and whether it is fanned out; false if it cannot be read. */
static bool author_is_celebrity(struct feed *f, uint64_t author_id, bool *celebrity)
{
	struct user author;
	if (f->fanout_db->ops->user_get(f->fanout_db, author_id, &author) != STORE_OK)
		return false;
	*celebrity = author.followers_count > f->opt.celebrity_threshold;
	return true;
}

/* Every follower of `author_id`, or NULL (logged) if they cannot be read. */
static uint64_t *followers_of(struct feed *f, uint64_t author_id, size_t *n)
{
	uint64_t *ids;
	if (f->fanout_db->ops->follower_ids(f->fanout_db, author_id, &ids, n) != STORE_OK) {
		log_error("fanout: cannot read followers of %llu", (unsigned long long)author_id);
		return NULL;
	}
	return ids;
}

static void fanout_tweet(struct feed *f, const struct fanout_job *job)
{
	/* Announce first, then push, then publish: feed_live_upto's promise. */
	atomic_store(&f->live_upto, job->tweet_id);
	publish(f, false, job->author_id, LIVE_TWEET, job->tweet_id); /* the author's own feed */
	publish_public(f, job);
	bool celebrity;
	if (!author_is_celebrity(f, job->author_id, &celebrity))
		return; /* gone; nothing to do */
	if (celebrity) {
		/* Merged in at read time instead; streams listen to the author. */
		publish(f, true, job->author_id, LIVE_TWEET, job->tweet_id);
		return;
	}
	size_t n;
	uint64_t *ids = followers_of(f, job->author_id, &n);
	for (size_t i = 0; ids && i < n; i++) {
		f->home->ops->push(f->home, ids[i], job->tweet_id);
		publish(f, false, ids[i], LIVE_TWEET, job->tweet_id);
	}
	free(ids);
}

/* The streams that may show the tweet: the author's own, those on the
 * author channel, and every follower's. (A tweet fanned out before its
 * author became a celebrity reaches followers either way: their streams
 * listen to the author channel by then.) */
static void fanout_delete(struct feed *f, const struct fanout_job *job)
{
	publish(f, false, job->author_id, LIVE_DELETE, job->tweet_id);
	publish(f, true, job->author_id, LIVE_DELETE, job->tweet_id);
	/* Queued only with a bus. Hashtag streams take their deletes here too. */
	publish_on(f, LIVE_CHANNEL_PUBLIC, LIVE_DELETE, job->tweet_id);
	bool celebrity;
	if (!author_is_celebrity(f, job->author_id, &celebrity) || celebrity)
		return;
	size_t n;
	uint64_t *ids = followers_of(f, job->author_id, &n);
	for (size_t i = 0; ids && i < n; i++)
		publish(f, false, ids[i], LIVE_DELETE, job->tweet_id);
	free(ids);
}

/* Renders the author's newest cached tweets again from the store. Only
 * tweets the cache holds are touched: the others are rendered afresh when
 * first read. (A like committed between this read and the replace could
 * have its count overwritten by the older one; the next count change
 * heals it. Renames are rare; likes of old tweets of a renamed author in
 * that window of microseconds rarer.) */
static void fanout_author(struct feed *f, const struct fanout_job *job)
{
	struct store_reader *r = f->fanout_db;
	struct store_page page = {.before = UINT64_MAX, .limit = f->opt.timeline_cap};
	uint64_t *ids = xmalloc(page.limit * sizeof(*ids));
	size_t n = 0;
	if (r->ops->author_tweet_ids(r, job->author_id, &page, ids, &n) != STORE_OK)
		n = 0; /* logged by the store; the old name shows until eviction */
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&sb);
		if (f->cache->ops->get(f->cache, ids[i], &sb) != TWEET_CACHE_HIT)
			continue;
		struct tweet t;
		if (r->ops->tweet_get(r, ids[i], &t) != STORE_OK)
			continue;
		strbuf_reset(&sb);
		render_shared(&sb, &t); /* a retweet's head has the retweeter's name */
		f->cache->ops->replace(f->cache, t.id, sb.data, sb.len);
	}
	strbuf_deinit(&sb);
	free(ids);
}

static void fanout_run(void *arg, const struct fanout_job *job)
{
	struct feed *f = arg;
	switch (job->kind) {
	case FANOUT_TWEET:
		fanout_tweet(f, job);
		if (f->opt.redis) /* recorded in feed_on_post */
			live_upto_redis_done(f->opt.redis, job->tweet_id);
		break;
	case FANOUT_DELETE: fanout_delete(f, job); break;
	case FANOUT_FOLLOWS: publish(f, false, job->author_id, LIVE_RESYNC, 0); break;
	case FANOUT_NOTIFY: publish(f, false, job->author_id, LIVE_NOTIFY, 0); break;
	case FANOUT_CELEBRITY: {
		size_t n;
		uint64_t *ids = followers_of(f, job->author_id, &n);
		for (size_t i = 0; ids && i < n; i++)
			publish(f, false, ids[i], LIVE_RESYNC, 0);
		free(ids);
		break;
	}
	case FANOUT_AUTHOR: fanout_author(f, job); break;
	}
}

/* The tweet's distinct folded tags as fanout_job.tags has them. */
static char *tag_list(const struct tweet *t)
{
	struct strbuf sb = STRBUF_INIT;
	char tag[HASHTAG_MAX + 1];
	for (unsigned i = 0; i < t->entities.hashtags_n; i++) {
		if (!entities_tag_first(t->text, &t->entities, i))
			continue;
		size_t n = entities_tag(t->text, &t->entities.hashtags[i], tag);
		strbuf_append(&sb, tag, n);
		strbuf_append(&sb, "", 1);
	}
	strbuf_append(&sb, "", 1);
	return sb.data; /* the caller frees */
}

void feed_on_post(struct feed *f, const struct tweet *t, const char *json, size_t len)
{
	f->cache->ops->put(f->cache, t->id, json, len);
	/* The author sees their own tweet at once; followers after fanout. */
	f->home->ops->push(f->home, t->author_id, t->id);
	f->authored->ops->push(f->authored, t->author_id, t->id);
	struct fanout_job job = {.kind = FANOUT_TWEET, .author_id = t->author_id, .tweet_id = t->id,
				 .is_public = t->retweet_of == 0};
	if (f->pubsub && job.is_public && t->entities.hashtags_n > 0)
		job.tags = tag_list(t);
	/* Cluster mode: every node's streams learn that the tweet is on its
	 * way before its job can start, and so before the post is answered. */
	if (f->opt.redis && live_upto_redis_queued(f->opt.redis, t->id) != 0)
		log_error("feed: tweet %llu could not be recorded in the shared live watermark",
			  (unsigned long long)t->id);
	fanout_enqueue(f->fanout, &job);
}

void feed_on_counts(struct feed *f, const struct tweet *t)
{
	struct strbuf sb = STRBUF_INIT;
	render_tweet(&sb, t);
	f->cache->ops->replace(f->cache, t->id, sb.data, sb.len);
	strbuf_deinit(&sb);
}

void feed_on_author_renamed(struct feed *f, uint64_t user_id)
{
	struct fanout_job job = {.kind = FANOUT_AUTHOR, .author_id = user_id};
	fanout_enqueue(f->fanout, &job);
}

void feed_on_delete(struct feed *f, uint64_t author_id, uint64_t tweet_id)
{
	if (f->cache->ops->mark_deleted(f->cache, tweet_id) != 0)
		log_error("feed: tweet %llu deleted, but the tweet cache could not record it",
			  (unsigned long long)tweet_id);
	f->home->ops->remove(f->home, author_id, tweet_id);
	f->authored->ops->remove(f->authored, author_id, tweet_id);
	/* Followers' timelines still hold the id; reads skip it through the
	 * tombstone (or the store) and remove it as they go. */
	if (f->pubsub) {
		struct fanout_job job = {.kind = FANOUT_DELETE, .author_id = author_id,
					 .tweet_id = tweet_id};
		fanout_enqueue(f->fanout, &job);
	}
}

/* The celebrity epoch: the home timelines' adapter's when it shares one
 * among nodes, else this process's. */
static uint32_t epoch_now(struct feed *f)
{
	return f->home->ops->epoch ? f->home->ops->epoch(f->home) : atomic_load(&f->epoch);
}

static void bump_epoch(struct feed *f)
{
	if (f->home->ops->bump_epoch)
		f->home->ops->bump_epoch(f->home);
	else
		atomic_fetch_add(&f->epoch, 1);
}

void feed_on_follow(struct feed *f, uint64_t follower_id, uint64_t followee_id,
		    uint64_t followee_followers, bool follow)
{
	f->home->ops->drop(f->home, follower_id);
	uint64_t t = f->opt.celebrity_threshold;
	bool crossed = (follow && followee_followers == t + 1) || (!follow && followee_followers == t);
	if (crossed)
		bump_epoch(f);
	if (!f->pubsub)
		return;
	/* Live streams learn which author channels to listen to. */
	struct fanout_job job = {.kind = FANOUT_FOLLOWS, .author_id = follower_id};
	fanout_enqueue(f->fanout, &job);
	if (crossed) {
		job = (struct fanout_job){.kind = FANOUT_CELEBRITY, .author_id = followee_id};
		fanout_enqueue(f->fanout, &job);
	}
}

void feed_on_notified(struct feed *f, uint64_t user)
{
	if (!f->pubsub)
		return;
	struct fanout_job job = {.kind = FANOUT_NOTIFY, .author_id = user};
	fanout_enqueue(f->fanout, &job);
}

void feed_on_relation(struct feed *f, uint64_t user)
{
	if (!f->pubsub)
		return;
	struct fanout_job job = {.kind = FANOUT_FOLLOWS, .author_id = user};
	fanout_enqueue(f->fanout, &job);
}

/* ---- building timelines ------------------------------------------------------- */

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Sorts newest first and removes duplicates; returns the new length. */
static size_t sort_unique(uint64_t *ids, size_t n)
{
	qsort(ids, n, sizeof(*ids), cmp_desc);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || ids[k - 1] != ids[i])
			ids[k++] = ids[i];
	return k;
}

/* Reads up to `cap` newest tweet ids of `author` newer than `after` into
 * ids (appended at *n, capacity grown as needed); sets *more if the author
 * may have older ones. */
static int collect_author(struct feed *f, struct store_reader *r, uint64_t author,
			  uint64_t after, uint64_t **ids, size_t *n, size_t *alloc, bool *more)
{
	unsigned cap = f->opt.timeline_cap;
	if (*n + cap > *alloc) {
		*alloc = (*n + cap) * 2;
		*ids = xrealloc(*ids, *alloc * sizeof(**ids));
	}
	struct store_page page = {.before = UINT64_MAX, .after = after, .limit = cap};
	size_t got;
	int rc = r->ops->author_tweet_ids(r, author, &page, *ids + *n, &got);
	if (rc)
		return rc;
	*n += got;
	if (got == cap)
		*more = true;
	return STORE_OK;
}

/* Sorts ids newest first without duplicates and keeps the newest `cap`;
 * sets *more if some were cut. Returns the oldest id kept once the list
 * is full (the cutoff for further reads), else 0. */
static uint64_t keep_newest(struct feed *f, uint64_t *ids, size_t *n, bool *more)
{
	*n = sort_unique(ids, *n);
	if (*n > f->opt.timeline_cap) {
		*n = f->opt.timeline_cap;
		*more = true;
	}
	return *n == f->opt.timeline_cap ? ids[*n - 1] : 0;
}

static int build_home(struct feed *f, struct store_reader *r, uint64_t user)
{
	struct timelines *tl = f->home;
	uint32_t epoch = epoch_now(f);
	tl->ops->begin_build(tl, user);
	struct store_followee *fe = NULL;
	size_t nfe = 0;
	uint64_t *ids = NULL;
	size_t n = 0, alloc = 0;
	bool more = false;
	struct home_meta *meta = NULL;
	int rc = r->ops->followees(r, user, &fe, &nfe);
	if (rc)
		goto done;
	meta = xmalloc(sizeof(*meta) + nfe * sizeof(uint64_t));
	meta->epoch = epoch;
	meta->ncelebs = 0;
	/* Once `cap` ids are known, nothing older than the oldest of them can
	 * make the timeline: later authors are read only down to it. */
	uint64_t cutoff = 0;
	rc = collect_author(f, r, user, cutoff, &ids, &n, &alloc, &more);
	for (size_t i = 0; rc == STORE_OK && i < nfe; i++) {
		if (fe[i].followers_count > f->opt.celebrity_threshold) {
			meta->celebs[meta->ncelebs++] = fe[i].id;
			continue;
		}
		rc = collect_author(f, r, fe[i].id, cutoff, &ids, &n, &alloc, &more);
		if (n >= 2 * (size_t)f->opt.timeline_cap)
			cutoff = keep_newest(f, ids, &n, &more);
	}
	if (rc)
		goto done;
	keep_newest(f, ids, &n, &more);
	tl->ops->finish_build(tl, user, ids, n, more, meta,
			      sizeof(*meta) + meta->ncelebs * sizeof(uint64_t));
	atomic_fetch_add(&f->rebuilds, 1);
done:
	if (rc)
		tl->ops->drop(tl, user);
	free(meta);
	free(ids);
	free(fe);
	return rc;
}

static int build_authored(struct feed *f, struct store_reader *r, uint64_t author)
{
	struct timelines *tl = f->authored;
	tl->ops->begin_build(tl, author);
	uint64_t *ids = NULL;
	size_t n = 0, alloc = 0;
	bool more = false;
	int rc = collect_author(f, r, author, 0, &ids, &n, &alloc, &more);
	if (rc)
		tl->ops->drop(tl, author);
	else
		tl->ops->finish_build(tl, author, ids, n, more, NULL, 0);
	free(ids);
	return rc;
}

/* ---- reading ---------------------------------------------------------------- */

#define BUILD_WAIT_MS 1000 /* at most, for another node's rebuild of a list */

/* Before rebuilding `key`: in cluster mode another node may be rebuilding
 * it already. Then this waits for it (a worker thread: reads never run on
 * a loop with Redis) and answers true, and the caller reads the list
 * again instead of reading the store a second time. False: build now. */
static bool waited_for_other_build(struct timelines *tl, uint64_t key)
{
	if (!tl->ops->claim_build || tl->ops->claim_build(tl, key))
		return false;
	const struct timespec tick = {0, 10 * 1000000L};
	for (int i = 0; i < BUILD_WAIT_MS / 10 && tl->ops->building(tl, key); i++)
		nanosleep(&tick, NULL);
	return true;
}

/* Reads one page of the home timeline, rebuilding it when it is missing
 * or was built before the last celebrity change. */
static int home_range(struct feed *f, struct store_reader *r, uint64_t user,
		      const struct store_page *page, bool may_block, uint64_t *ids, size_t *n,
		      bool *complete, struct home_meta **meta)
{
	bool waited = false;
	for (int attempt = 0; attempt < 3; attempt++) {
		size_t len;
		void *m = NULL;
		if (f->home->ops->range(f->home, user, page, ids, n, complete, &m, &len) ==
		    TIMELINE_OK) {
			struct home_meta *hm = m;
			if (hm && len >= sizeof(*hm) && hm->epoch == epoch_now(f)) {
				*meta = hm;
				return STORE_OK;
			}
			free(m);
		}
		if (!may_block)
			return FEED_WOULD_BLOCK;
		if (!waited && (waited = waited_for_other_build(f->home, user)))
			continue;
		int rc = build_home(f, r, user);
		if (rc)
			return rc;
	}
	return STORE_ERROR; /* rebuilt twice and still stale: a storm of changes */
}

static int authored_range(struct feed *f, struct store_reader *r, uint64_t author,
			  const struct store_page *page, bool may_block, uint64_t *ids, size_t *n,
			  bool *complete)
{
	bool waited = false;
	for (int attempt = 0; attempt < 3; attempt++) {
		if (f->authored->ops->range(f->authored, author, page, ids, n, complete, NULL, NULL) ==
		    TIMELINE_OK)
			return STORE_OK;
		if (!may_block)
			return FEED_WOULD_BLOCK;
		if (!waited && (waited = waited_for_other_build(f->authored, author)))
			continue;
		int rc = build_authored(f, r, author);
		if (rc)
			return rc;
	}
	return STORE_ERROR;
}

/* One source of a page: a slice of ids, newest first, and a cursor. */
struct slice {
	uint64_t *ids;
	size_t len, pos;
};

/* The id a source offers next, if it has one: from its head for a page of
 * the newest items, from its tail for an oldest_first page. */
static bool slice_next(const struct slice *s, bool oldest_first, uint64_t *id)
{
	if (oldest_first ? s->pos == 0 : s->pos == s->len)
		return false;
	*id = s->ids[oldest_first ? s->pos - 1 : s->pos];
	return true;
}

/* A slice in the merge's heap: its next id as a key that sorts the
 * page's first item highest (the id, or for an oldest_first page its
 * complement), and which slice it is. */
struct head {
	uint64_t key;
	uint32_t src;
};

/* Restores the heap order (highest key on top) of heap[0..n) below i. */
static void sift_down(struct head *heap, size_t n, size_t i)
{
	for (;;) {
		size_t best = i, l = 2 * i + 1, r = l + 1;
		if (l < n && heap[l].key > heap[best].key)
			best = l;
		if (r < n && heap[r].key > heap[best].key)
			best = r;
		if (best == i)
			return;
		struct head t = heap[i];
		heap[i] = heap[best];
		heap[best] = t;
		i = best;
	}
}

/*
 * Merges k slices (each newest first, each already cut to the page's
 * window and limit) into out[0..limit): their union without duplicates,
 * newest first. An oldest_first page takes the oldest ids from the tails
 * and is reversed at the end. A heap of the slices (heap[0..k), the
 * caller's) by their next id: O(limit * log k), where k is one plus the
 * celebrities the reader follows (~28 on the medium preset; a scan of
 * every slice per id was 3.5% of a feed read).
 */
static size_t merge_slices(struct slice *src, size_t k, bool oldest_first, size_t limit,
			   struct head *heap, uint64_t *out)
{
	uint64_t flip = oldest_first ? UINT64_MAX : 0, id;
	size_t n = 0, h = 0;
	for (size_t i = 0; i < k; i++) {
		src[i].pos = oldest_first ? src[i].len : 0;
		if (slice_next(&src[i], oldest_first, &id))
			heap[h++] = (struct head){id ^ flip, (uint32_t)i};
	}
	for (size_t i = h / 2; i-- > 0;)
		sift_down(heap, h, i);
	while (h && n < limit) {
		id = heap[0].key ^ flip;
		/* An id in several sources comes out of them one after another. */
		if (!n || out[n - 1] != id)
			out[n++] = id;
		struct slice *s = &src[heap[0].src];
		s->pos += oldest_first ? (size_t)-1 : 1;
		if (slice_next(s, oldest_first, &id))
			heap[0].key = id ^ flip;
		else
			heap[0] = heap[--h];
		sift_down(heap, h, 0);
	}
	for (size_t i = 0, j = n; oldest_first && i + 1 < j; i++, j--) {
		uint64_t t = out[i];
		out[i] = out[j - 1];
		out[j - 1] = t;
	}
	return n;
}

/* Whether a timeline adapter can answer now (timeline.h, `available`). */
static bool timelines_up(struct timelines *tl)
{
	return !tl->ops->available || tl->ops->available(tl);
}

/*
 * The followed celebrities' tweets of the page from the authored lists'
 * union index, in one walk (timeline.h, range_union), merged into the
 * home slice out[0..*n); false if the index cannot answer the page
 * exactly. A full home slice bounds the window: nothing older than its
 * last id can make the page.
 */
static bool merge_from_index(struct feed *f, const struct home_meta *meta,
			     const struct store_page *page, uint64_t *out, size_t *n)
{
	size_t lim = page->limit;
	struct store_page narrow = *page;
	if (*n == lim && lim && page->oldest_first)
		narrow.before = out[0] + 1 < narrow.before ? out[0] + 1 : narrow.before;
	else if (*n == lim && lim)
		narrow.after = out[lim - 1] - 1 > narrow.after ? out[lim - 1] - 1 : narrow.after;
	struct slice src[2];
	struct head heap[2];
	uint64_t *ids = xmalloc(2 * lim * sizeof(uint64_t));
	src[0] = (struct slice){.ids = ids, .len = *n};
	src[1] = (struct slice){.ids = ids + lim};
	memcpy(src[0].ids, out, *n * sizeof(uint64_t));
	bool ok = f->authored->ops->range_union(f->authored, meta->celebs, meta->ncelebs, &narrow,
						src[1].ids, &src[1].len) == TIMELINE_OK;
	if (ok)
		*n = merge_slices(src, 2, page->oldest_first, lim, heap, out);
	free(ids);
	return ok;
}

/* The same, list by list: each celebrity's slice of the page, read (and
 * built, if may_block) on its own, then all merged. */
static int merge_from_lists(struct feed *f, struct store_reader *r, const struct home_meta *meta,
			    const struct store_page *page, bool may_block, uint64_t *out,
			    size_t *n, bool *complete)
{
	size_t lim = page->limit, k = 1 + meta->ncelebs;
	int rc = STORE_OK;
	struct slice *src = xmalloc(k * (sizeof(*src) + sizeof(struct head) + lim * sizeof(uint64_t)));
	struct head *heap = (struct head *)(src + k);
	uint64_t *ids = (uint64_t *)(heap + k);
	for (size_t i = 0; i < k; i++)
		src[i].ids = ids + i * lim;
	memcpy(src[0].ids, out, *n * sizeof(uint64_t));
	src[0].len = *n;
	for (size_t i = 1; rc == STORE_OK && *complete && i < k; i++)
		rc = authored_range(f, r, meta->celebs[i - 1], page, may_block, src[i].ids,
				    &src[i].len, complete);
	if (rc == STORE_OK && *complete)
		*n = merge_slices(src, k, page->oldest_first, lim, heap, out);
	free(src);
	return rc;
}

/*
 * The ids of one page: the home slice merged with each followed
 * celebrity's slice. Every source answers for the same window, so the
 * page is their union cut to the limit. Falls back to the store when a
 * source cannot answer for the whole window (past a cap). Unless
 * may_block, a list to rebuild or a page to read from the store is not:
 * the answer is FEED_WOULD_BLOCK (feed.h).
 */
static int page_ids(struct feed *f, struct store_reader *r, uint64_t user,
		    const struct store_page *page, bool may_block, uint64_t *out, size_t *n)
{
	size_t lim = page->limit;
	struct home_meta *meta = NULL;
	bool complete = true;
	int rc = STORE_OK;
	if (timelines_up(f->home)) {
		rc = home_range(f, r, user, page, may_block, out, n, &complete, &meta);
	} else {
		complete = false; /* unreachable (Redis down): the store answers, slower */
	}
	if (rc == STORE_OK && complete && meta->ncelebs) {
		if (f->authored->ops->range_union && merge_from_index(f, meta, page, out, n)) {
			atomic_fetch_add_explicit(&f->merged_from_index, 1, memory_order_relaxed);
		} else {
			rc = merge_from_lists(f, r, meta, page, may_block, out, n, &complete);
			atomic_fetch_add_explicit(&f->merged_from_lists, 1, memory_order_relaxed);
		}
	}
	free(meta);
	if (rc != STORE_OK && !timelines_up(f->home)) {
		rc = STORE_OK; /* the lists went down meanwhile: the store answers */
		complete = false;
	}
	if (rc == STORE_OK && !complete && !may_block)
		rc = FEED_WOULD_BLOCK;
	if (rc == FEED_WOULD_BLOCK)
		atomic_fetch_add(&f->deferred, 1);
	if (rc == STORE_OK && !complete) {
		/* Past the cap of some list: the store has the whole truth. */
		struct tweet *t = xmalloc(lim * sizeof(*t));
		rc = r->ops->home_feed(r, user, page, t, n);
		for (size_t i = 0; rc == STORE_OK && i < *n; i++)
			out[i] = t[i].id;
		free(t);
		atomic_fetch_add(&f->store_pages, 1);
	}
	return rc;
}

/* The shared JSON of one tweet or a retweet's head (render_shared), from
 * the cache or else the store, then cached. */
static int tweet_shared(struct feed *f, struct store_reader *r, uint64_t id, struct strbuf *out)
{
	switch (f->cache->ops->get(f->cache, id, out)) {
	case TWEET_CACHE_HIT: return STORE_OK;
	case TWEET_CACHE_DELETED: return STORE_NOT_FOUND;
	case TWEET_CACHE_MISS: break;
	}
	struct tweet t;
	int rc = r->ops->tweet_get(r, id, &t);
	if (rc)
		return rc;
	size_t start = out->len;
	render_shared(out, &t);
	f->cache->ops->put(f->cache, id, out->data + start, out->len - start);
	return STORE_OK;
}

int feed_hidden_read(struct store_reader *r, uint64_t viewer, struct feed_hidden *h)
{
	*h = (struct feed_hidden){0};
	return viewer ? r->ops->relations(r, viewer, &h->rel, &h->n) : STORE_OK;
}

unsigned feed_hidden_bits(const struct feed_hidden *h, uint64_t user)
{
	size_t lo = 0, hi = h->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->rel[mid].id == user)
			return h->rel[mid].bits;
		if (h->rel[mid].id < user)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void feed_hidden_deinit(struct feed_hidden *h)
{
	free(h->rel);
	*h = (struct feed_hidden){0};
}

int feed_blocked_by(struct store_reader *r, uint64_t viewer, uint64_t user, bool *blocked)
{
	struct feed_hidden h;
	int rc = feed_hidden_read(r, viewer, &h);
	*blocked = rc == STORE_OK && (feed_hidden_bits(&h, user) & REL_BLOCKED_BY);
	feed_hidden_deinit(&h);
	return rc;
}

/* From the reader's engagements at or above the lowest of ids, read into
 * the cache; false if they are too many to answer from. The read is kept
 * only if it is the first of its snapshot (engagement.h says why). */
static bool engaged_read(struct feed *f, struct store_reader *r, uint64_t viewer,
			 const uint64_t *ids, size_t n, uint8_t *state, int *rc)
{
	uint64_t lo = UINT64_MAX, got[ENGAGEMENT_MAX + 1];
	uint8_t bits[ENGAGEMENT_MAX + 1];
	size_t k;
	for (size_t i = 0; i < n; i++)
		lo = ids[i] < lo ? ids[i] : lo;
	bool fresh = !r->ops->snapshot_open(r);
	uint64_t epoch = engagement_cache_epoch(f->engaged); /* before the read */
	*rc = r->ops->engagements_since(r, viewer, lo, got, bits, ENGAGEMENT_MAX, &k);
	if (*rc == STORE_OK && fresh) /* too many is worth keeping too */
		engagement_cache_put(f->engaged, viewer, lo, got, bits, k, epoch);
	if (*rc != STORE_OK || k > ENGAGEMENT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		state[i] = 0;
		for (size_t j = 0; j < k; j++)
			if (got[j] == ids[i])
				state[i] |= bits[j];
	}
	return true;
}

int feed_viewer_state(struct feed *f, struct store_reader *r, uint64_t viewer,
		      const uint64_t *ids, size_t n, uint8_t *state)
{
	if (!viewer || !n) {
		memset(state, 0, n);
		return STORE_OK;
	}
	int rc = STORE_OK;
	if (f->engaged) {
		switch (engagement_cache_get(f->engaged, viewer, ids, n, state)) {
		case ENGAGEMENT_HIT:
			return STORE_OK;
		case ENGAGEMENT_MISS:
			if (engaged_read(f, r, viewer, ids, n, state, &rc))
				return STORE_OK;
			break;
		case ENGAGEMENT_MANY:
			break;
		}
	}
	return rc != STORE_OK ? rc : r->ops->viewer_state(r, viewer, ids, n, state);
}

void feed_on_engaged(struct feed *f, uint64_t user)
{
	if (f->engaged)
		engagement_cache_forget(f->engaged, user);
}

/* Cuts `out` back to its first `len` bytes. */
static void truncate_to(struct strbuf *out, size_t len)
{
	out->len = len;
	if (out->data)
		out->data[len] = '\0';
}

/*
 * One item of a page (a tweet or a retweet), hydrated in two steps: its
 * shared parts into a scratch buffer, then, once one batched read has told
 * the reader's state of every target, into the page. The target is the
 * tweet the reader's state and the page's duplicates are about: the
 * original, for a retweet.
 */
struct item {
	uint64_t id, target, target_author;
	size_t head, head_len; /* a retweet's head in the scratch buffer; 0 long: a tweet */
	size_t body, body_len; /* the target's shared JSON in the scratch buffer */
};

/* Appends item `id`'s shared parts to `scratch`; STORE_NOT_FOUND (and
 * nothing appended) if it, or a retweet's original, is gone. */
static int item_shared(struct feed *f, struct store_reader *r, uint64_t id, struct strbuf *scratch,
		       struct item *it)
{
	*it = (struct item){.id = id, .target = id, .body = scratch->len};
	int rc = tweet_shared(f, r, id, scratch);
	if (rc)
		return rc;
	if (render_is_retweet_head(scratch->data + it->body, scratch->len - it->body, &it->target,
				   &it->target_author)) {
		it->head = it->body;
		it->head_len = scratch->len - it->head;
		it->body = scratch->len;
		if ((rc = tweet_shared(f, r, it->target, scratch))) {
			truncate_to(scratch, it->head); /* the original was deleted: so is this */
			return rc;
		}
	}
	it->body_len = scratch->len - it->body;
	return STORE_OK;
}

/* Whether a reader with relations `h` does not see the item: its author
 * (a retweet's retweeter) or a retweet's original author has one of the
 * REL_* bits `hide` for them. */
static bool item_hidden(const struct strbuf *scratch, const struct item *it,
			const struct feed_hidden *h, unsigned hide)
{
	if (!h->n)
		return false;
	size_t at = it->head_len ? it->head : it->body;
	size_t len = it->head_len ? it->head_len : it->body_len;
	uint64_t author = render_tweet_author_id(scratch->data + at, len);
	return (feed_hidden_bits(h, author) & hide) ||
	       (it->head_len && (feed_hidden_bits(h, it->target_author) & hide));
}

/* Appends the item as its reader sees it. */
static void item_emit(struct strbuf *out, const struct strbuf *scratch, const struct item *it,
		      unsigned state)
{
	strbuf_append(out, scratch->data + it->head, it->head_len);
	strbuf_append(out, scratch->data + it->body, it->body_len);
	render_tweet_viewer(out, state);
	if (it->head_len)
		strbuf_append_char(out, '}'); /* the retweet around it */
}

int feed_tweet_for(struct feed *f, struct store_reader *r, uint64_t viewer, uint64_t id,
		   struct strbuf *out)
{
	/* One item: its shared parts go straight into `out`, where the
	 * reader's fields then close it. A tweet whose author blocks the
	 * viewer (or a retweet of one) is not there for them. */
	struct item it;
	struct feed_hidden hidden = {0};
	uint8_t state;
	size_t mark = out->len;
	int rc = item_shared(f, r, id, out, &it);
	if (rc == STORE_OK && viewer && (rc = feed_hidden_read(r, viewer, &hidden)) == STORE_OK &&
	    item_hidden(out, &it, &hidden, REL_BLOCKED_BY))
		rc = STORE_NOT_FOUND;
	feed_hidden_deinit(&hidden);
	if (rc == STORE_OK)
		rc = feed_viewer_state(f, r, viewer, &it.target, 1, &state);
	if (rc) {
		truncate_to(out, mark);
		return rc;
	}
	render_tweet_viewer(out, state);
	if (it.head_len)
		strbuf_append_char(out, '}'); /* the retweet around it */
	return STORE_OK;
}

int feed_tweet_as(struct feed *f, struct store_reader *r, uint64_t id, unsigned state,
		  struct strbuf *out)
{
	int rc = tweet_shared(f, r, id, out);
	if (rc == STORE_OK)
		render_tweet_viewer(out, state);
	return rc;
}

int feed_tweet(struct feed *f, struct store_reader *r, uint64_t id, struct strbuf *out)
{
	return feed_tweet_for(f, r, 0, id, out);
}

bool feed_tweet_cached(struct feed *f, uint64_t id, struct strbuf *out, int *rc)
{
	size_t mark = out->len;
	uint64_t orig, orig_author;
	if (f->cache->ops->remote)
		return false; /* a network wait: the caller reads it on a worker */
	switch (f->cache->ops->get(f->cache, id, out)) {
	case TWEET_CACHE_HIT: break;
	case TWEET_CACHE_DELETED: *rc = STORE_NOT_FOUND; return true;
	case TWEET_CACHE_MISS: return false;
	}
	bool retweet = render_is_retweet_head(out->data + mark, out->len - mark, &orig, &orig_author);
	if (retweet) {
		switch (f->cache->ops->get(f->cache, orig, out)) {
		case TWEET_CACHE_HIT: break;
		case TWEET_CACHE_DELETED: truncate_to(out, mark); *rc = STORE_NOT_FOUND; return true;
		case TWEET_CACHE_MISS: truncate_to(out, mark); return false;
		}
	}
	render_tweet_viewer(out, 0); /* as feed_tweet: no viewer */
	if (retweet)
		strbuf_append_char(out, '}');
	*rc = STORE_OK;
	return true;
}

/* Whether `target` is among taken[0..n): a page shows each tweet once. */
static bool taken_already(const uint64_t *taken, size_t n, uint64_t target)
{
	for (size_t i = 0; i < n; i++)
		if (taken[i] == target)
			return true;
	return false;
}

/* Reads the shared parts of ids[0..got) into items[0..*k), at most
 * `want` of them, leaving out what is gone (telling the source), a retweet
 * of the reader's own tweet where the source hides those, any tweet the
 * page already has (as itself or retweeted), and what the reader's
 * relations hide. Ids after the `want`th item are not looked at. */
static int page_items(struct feed *f, struct store_reader *r, const struct feed_id_source *src,
		      const struct feed_hidden *hidden, unsigned hide, const uint64_t *ids, size_t got,
		      size_t want, struct strbuf *scratch, struct item *items, size_t *k,
		      uint64_t *taken, size_t *ntaken, struct feed_hydrated *res)
{
	*k = 0;
	if (f->cache->ops->prefetch)
		f->cache->ops->prefetch(f->cache, ids, got);
	for (size_t i = 0; i < got && *k < want; i++) {
		if (!res->floor || ids[i] < res->floor)
			res->floor = ids[i];
		struct item *it = &items[*k];
		size_t mark = scratch->len;
		int rc = item_shared(f, r, ids[i], scratch, it);
		if (rc == STORE_NOT_FOUND) {
			if (src->gone)
				src->gone(src->arg, ids[i]);
			continue;
		}
		if (rc)
			return rc;
		bool own = it->head_len && src->hide_retweets_of &&
			   it->target_author == src->hide_retweets_of;
		/* Blocked and muted authors' items are left out here, after
		 * every source (timeline, celebrity merge, store pages past the
		 * cap, search), so no path can show them. */
		if (own || taken_already(taken, *ntaken, it->target) ||
		    item_hidden(scratch, it, hidden, hide)) {
			truncate_to(scratch, mark);
			continue;
		}
		taken[(*ntaken)++] = it->target;
		(*k)++;
	}
	return STORE_OK;
}

int feed_hydrate(struct feed *f, struct store_reader *r, uint64_t viewer,
		 const struct feed_id_source *src, size_t limit, struct strbuf *out,
		 struct feed_hydrated *res)
{
	size_t cap = limit ? limit : 1;
	uint64_t *ids = xmalloc(cap * (3 * sizeof(uint64_t) + sizeof(struct item) + 1));
	uint64_t *taken = ids + cap, *targets = taken + cap;
	struct item *items = (struct item *)(targets + cap);
	uint8_t *state = (uint8_t *)(items + cap);
	size_t ntaken = 0;
	struct strbuf scratch = STRBUF_INIT;
	strbuf_reserve(&scratch, cap * HYDRATE_ITEM_BYTES); /* one allocation for most pages */
	strbuf_reserve(out, cap * HYDRATE_ITEM_BYTES);
	struct feed_hidden hidden;
	unsigned hide = REL_BLOCKING | REL_BLOCKED_BY | (src->show_muted ? 0 : REL_MUTING);
	int rc = feed_hidden_read(r, src->no_relations ? 0 : viewer, &hidden);
	*res = (struct feed_hydrated){0};
	strbuf_append_char(out, '[');
	for (int round = 0; rc == STORE_OK && round < HYDRATE_ROUNDS && res->n < limit; round++) {
		size_t want = limit - res->n, got = 0, k = 0;
		/* Where the source allows it, a refill asks for a whole page
		 * too (the first read does anyway): a page that lost its last
		 * items to duplicates (one tweet retweeted by several
		 * followees) would otherwise spend its rounds one id at a time
		 * and end short. */
		size_t ask = src->refill_whole ? cap : want;
		strbuf_reset(&scratch);
		rc = src->next(src->arg, ask, ids, &got);
		if (rc == STORE_OK)
			rc = page_items(f, r, src, &hidden, hide, ids, got, want, &scratch, items, &k,
					taken, &ntaken, res);
		for (size_t i = 0; i < k; i++)
			targets[i] = items[i].target;
		if (rc == STORE_OK && k)
			rc = feed_viewer_state(f, r, viewer, targets, k, state);
		for (size_t i = 0; rc == STORE_OK && i < k; i++) {
			if (res->n)
				strbuf_append_char(out, ',');
			item_emit(out, &scratch, &items[i], state[i]);
			if (!res->newest || items[i].id > res->newest)
				res->newest = items[i].id;
			if (!res->oldest || items[i].id < res->oldest)
				res->oldest = items[i].id;
			res->n++;
		}
		/* A short read: the source has no more. A full one that lost
		 * items to deletes or duplicates: read on from where it ended. */
		if (got < ask)
			break;
	}
	strbuf_append_char(out, ']');
	strbuf_deinit(&scratch);
	free(ids);
	feed_hidden_deinit(&hidden);
	return rc;
}

/* The home timeline as a feed_id_source: pages of page_ids, each below the
 * last. (An oldest-first page is not refilled: going on below it would put
 * newer tweets after older ones, so it ends short instead.) */
struct home_source {
	struct feed *f;
	struct store_reader *r;
	uint64_t user;
	struct store_page page;
	bool may_block;
	bool started;
};

static int home_next(void *arg, size_t want, uint64_t *ids, size_t *n)
{
	struct home_source *h = arg;
	*n = 0;
	if (h->started && h->page.oldest_first)
		return STORE_OK;
	h->started = true;
	h->page.limit = (unsigned)want;
	int rc = page_ids(h->f, h->r, h->user, &h->page, h->may_block, ids, n);
	if (rc == STORE_OK && *n)
		h->page.before = ids[*n - 1];
	return rc;
}

/* A tweet gone from the store leaves the reader's timeline as the read
 * finds it (fanout never removed it from followers' timelines). */
static void home_gone(void *arg, uint64_t id)
{
	struct home_source *h = arg;
	h->f->home->ops->remove(h->f->home, h->user, id);
}

int feed_home(struct feed *f, struct store_reader *r, uint64_t user_id, bool has_relations,
	      const struct store_page *page, bool may_block, struct strbuf *out, size_t *n,
	      uint64_t *newest, uint64_t *oldest)
{
	struct home_source h = {.f = f, .r = r, .user = user_id, .page = *page,
				.may_block = may_block};
	/* The reader's own tweets are in their feed already: not again as
	 * someone's retweet. */
	struct feed_id_source src = {.next = home_next, .gone = home_gone, .arg = &h,
				     .hide_retweets_of = user_id, .no_relations = !has_relations,
				     .refill_whole = true};
	struct feed_hydrated res;
	int rc = feed_hydrate(f, r, user_id, &src, page->limit, out, &res);
	*n = res.n;
	if (res.n)
		*newest = res.newest;
	if (res.floor)
		*oldest = res.floor;
	return rc;
}

/* ---- life cycle ---------------------------------------------------------------- */

struct feed *feed_new(struct store *store, const struct feed_options *opt, struct strbuf *err)
{
	struct feed *f = xcalloc(1, sizeof(*f));
	f->opt = *opt;
	f->store = store;
	struct timeline_options topt = {
		.cap = opt->timeline_cap,
		.max_bytes = opt->timeline_bytes,
		.idle_ttl_ms = opt->timeline_idle_ms,
		.redis = opt->redis,
		.name = "home",
	};
	struct tweet_cache_options copt = {.max_bytes = opt->tweet_cache_bytes,
					   .redis = opt->redis};
	f->home = opt->timelines->open(&topt, err);
	if (!f->home)
		goto fail;
	topt.max_bytes = opt->timeline_bytes / 8; /* celebrities are few */
	topt.idle_ttl_ms = 0;
	topt.name = "authored";
	topt.union_index = true; /* a page merges them in one walk */
	f->authored = opt->timelines->open(&topt, err);
	if (!f->authored)
		goto fail;
	f->cache = opt->tweet_cache->open(&copt, err);
	if (!f->cache)
		goto fail;
	f->fanout_db = store->ops->reader_new(store);
	f->pubsub = opt->pubsub;
	/* Every tweet committed before now was fanned out (or needs none):
	 * timelines are rebuilt from the store. */
	atomic_init(&f->live_upto, id_make(time_now_ms(), 0, 0));
	f->fanout = fanout_new(opt->fanout_queue, fanout_run, f);
	/* Only where this process's writes are every change there is. */
	if (store->sole_writer && store->ops->engagements_since && store->ops->snapshot_open)
		f->engaged = engagement_cache_new(ENGAGEMENT_SLOTS);
	return f;
fail:
	if (f->authored)
		f->authored->ops->close(f->authored);
	if (f->home)
		f->home->ops->close(f->home);
	free(f);
	return NULL;
}

void feed_free(struct feed *f)
{
	if (!f)
		return;
	fanout_free(f->fanout);
	f->fanout_db->ops->reader_free(f->fanout_db);
	f->cache->ops->close(f->cache);
	f->authored->ops->close(f->authored);
	f->home->ops->close(f->home);
	engagement_cache_free(f->engaged);
	free(f);
}

void feed_stats(struct feed *f, struct feed_stats *out)
{
	f->home->ops->stats(f->home, &out->timelines);
	f->cache->ops->stats(f->cache, &out->cache);
	out->fanout_depth = fanout_depth(f->fanout);
	out->fanout_capacity = f->opt.fanout_queue;
	out->rebuilds = atomic_load(&f->rebuilds);
	out->store_pages = atomic_load(&f->store_pages);
	out->deferred = atomic_load(&f->deferred);
	out->merged_from_index = atomic_load(&f->merged_from_index);
	out->merged_from_lists = atomic_load(&f->merged_from_lists);
	out->engagement_hits = out->engagement_misses = 0;
	if (f->engaged)
		engagement_cache_stats(f->engaged, &out->engagement_hits, &out->engagement_misses);
}

/* ---- live streams ------------------------------------------------------------ */

int feed_home_ids(struct feed *f, struct store_reader *r, uint64_t user_id,
		  const struct store_page *page, uint64_t *out, size_t *n)
{
	return page_ids(f, r, user_id, page, true, out, n);
}

int feed_celebrities(struct feed *f, struct store_reader *r, uint64_t user_id, uint64_t **ids,
		     size_t *n)
{
	struct store_followee *fe;
	size_t nfe;
	int rc = r->ops->followees(r, user_id, &fe, &nfe);
	if (rc)
		return rc;
	*ids = xmalloc((nfe ? nfe : 1) * sizeof(**ids));
	*n = 0;
	for (size_t i = 0; i < nfe; i++)
		if (fe[i].followers_count > f->opt.celebrity_threshold)
			(*ids)[(*n)++] = fe[i].id;
	free(fe);
	return STORE_OK;
}

uint64_t feed_live_upto(struct feed *f)
{
	return atomic_load(&f->live_upto);
}

bool feed_live_upto_is_shared(struct feed *f)
{
	return f->opt.redis != NULL;
}

uint64_t feed_live_upto_shared(struct feed *f)
{
	/* Either fallback is the one a node takes at start for its own: every
	 * tweet made before now is in the store, which the catch-up reads when
	 * the timelines cannot answer. */
	uint64_t now = id_make(time_now_ms(), 0, 0), upto;
	int rc = live_upto_redis_read(f->opt.redis, now, &upto);
	if (rc < 0)
		return now; /* Redis is away: so are the live events */
	if (rc > 0)
		log_error("feed: fanouts at or below tweet %llu still ran after %d ms; a stream "
			  "catching up now may not show them",
			  (unsigned long long)upto, LIVE_UPTO_WAIT_MS);
	return upto;
}
