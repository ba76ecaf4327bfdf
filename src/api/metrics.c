/*
 * metrics — GET /metrics in the Prometheus text format (version 0.0.4).
 *
 * Requests by route template, method and status, with a latency histogram
 * per route and the requests in flight (gateway/metrics.c); the store's
 * commit batches; the feed's timelines, tweet cache and fanout queue; and
 * the process's memory, open files and CPU time. Names follow Prometheus
 * conventions: chirp_ prefix, _total for counters, base units.
 *
 * Only for a scraper that shows the token of --metrics-token-file
 * (gateway/metrics.h): the figures tell an attacker what hurts.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/stream.h"
#include "core/session_cache.h"
#include "core/write.h"
#include "gateway/auth.h"
#include "http/respond.h"
#include "search/service.h"
#include "http/server.h"
#include "redis/redis.h"

static void metric(struct strbuf *sb, const char *name, const char *type, const char *help,
		   uint64_t value)
{
	strbuf_appendf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
		       (unsigned long long)value);
}

/* Cluster mode's Redis client: the breaker and what the calls cost. */
static void redis_metrics(struct strbuf *sb, struct redis *r)
{
	struct redis_stats rs;
	redis_stats(r, &rs);
	strbuf_appendf(sb, "# HELP chirp_redis_breaker_state The Redis circuit breaker: 1 for "
			   "its state.\n# TYPE chirp_redis_breaker_state gauge\n");
	for (enum breaker_state b = BREAKER_CLOSED; b <= BREAKER_HALF_OPEN; b++)
		strbuf_appendf(sb, "chirp_redis_breaker_state{state=\"%s\"} %d\n",
			       breaker_state_name(b), rs.state == b);
	metric(sb, "chirp_redis_calls_total", "counter", "Redis commands answered.", rs.calls);
	metric(sb, "chirp_redis_errors_total", "counter",
	       "Redis calls failed: no connection, a timeout, a broken connection.", rs.errors);
	metric(sb, "chirp_redis_rejected_total", "counter",
	       "Redis calls refused at once by the open breaker.", rs.rejected);
	metric(sb, "chirp_redis_breaker_opened_total", "counter", "Times the Redis breaker opened.",
	       rs.opened);
	metric(sb, "chirp_redis_latency_microseconds_total", "counter",
	       "Time spent in answered Redis commands (divide by chirp_redis_calls_total).",
	       rs.latency_us);
}

static size_t open_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own fd */
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void store_metrics(struct strbuf *sb, const struct store_stats *st)
{
	strbuf_append_str(sb, "# HELP chirp_store_commit_batch_size Writes committed together "
			      "(one fsync per batch).\n"
			      "# TYPE chirp_store_commit_batch_size histogram\n");
	uint64_t cum = 0;
	for (int b = 0; b < STORE_BATCH_BUCKETS; b++) {
		cum += st->batches[b];
		if (b + 1 < STORE_BATCH_BUCKETS)
			strbuf_appendf(sb, "chirp_store_commit_batch_size_bucket{le=\"%u\"} %llu\n",
				       1u << b, (unsigned long long)cum);
		else
			strbuf_appendf(sb, "chirp_store_commit_batch_size_bucket{le=\"+Inf\"} %llu\n",
				       (unsigned long long)cum);
	}
	strbuf_appendf(sb,
		       "chirp_store_commit_batch_size_sum %llu\nchirp_store_commit_batch_size_count "
		       "%llu\n",
		       (unsigned long long)st->writes, (unsigned long long)st->commits);
	metric(sb, "chirp_store_failed_commits_total", "counter",
	       "Batches whose commit failed (none of their writes was acknowledged).",
	       st->failed_commits);
	metric(sb, "chirp_store_write_queue_depth", "gauge", "Writes waiting for the writer thread.",
	       st->queued);
}

/* Resident set size from /proc/self/statm (pages), or 0 if unreadable. */
static uint64_t resident_bytes(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	int ok = fscanf(f, "%llu %llu", &size, &resident) == 2;
	fclose(f);
	return ok ? resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

void api_metrics(struct ctx *c)
{
	h2o_iovec_t token;
	if (!auth_token(c->req, false, &token) ||
	    !metrics_token_ok(c->app->metrics_token, token.base, token.len)) {
		http_header_add(c->req, "www-authenticate", "Bearer realm=\"metrics\"", 22);
		http_send_error(c->req, 401, "unauthorized",
				"the metrics need the bearer token of --metrics-token-file");
		return;
	}
	struct feed_stats fs;
	feed_stats(c->app->feed, &fs);
	struct store_stats st;
	writes_stats(c->app->writes, &st);
	struct strbuf sb = STRBUF_INIT;
	metrics_render(c->app->metrics, &sb, api_route_name);
	store_metrics(&sb, &st);
	if (c->app->redis)
		redis_metrics(&sb, c->app->redis);
	metric(&sb, "chirp_timelines", "gauge", "Home timelines held in memory.", fs.timelines.lists);
	metric(&sb, "chirp_timeline_entries", "gauge", "Tweet ids held in home timelines.",
	       fs.timelines.entries);
	metric(&sb, "chirp_timeline_bytes", "gauge", "Memory held by home timelines.",
	       fs.timelines.bytes);
	metric(&sb, "chirp_timeline_hits_total", "counter", "Feed reads answered by a timeline.",
	       fs.timelines.hits);
	metric(&sb, "chirp_timeline_misses_total", "counter",
	       "Feed reads that found no usable timeline.", fs.timelines.misses);
	metric(&sb, "chirp_timeline_evictions_total", "counter",
	       "Timelines evicted to stay within memory.", fs.timelines.evictions);
	metric(&sb, "chirp_timeline_rebuilds_total", "counter", "Timelines rebuilt from the store.",
	       fs.rebuilds);
	metric(&sb, "chirp_feed_reads_moved_off_loop_total", "counter",
	       "Feed reads that found a timeline to rebuild (or a page past its cap) on an event "
	       "loop and moved to a worker.",
	       fs.deferred);
	metric(&sb, "chirp_feed_store_pages_total", "counter",
	       "Feed pages read from the store (past a timeline's cap).", fs.store_pages);
	metric(&sb, "chirp_feed_celebrity_merges_index_total", "counter",
	       "Feed pages whose followed celebrities' tweets came from the one shared index.",
	       fs.merged_from_index);
	metric(&sb, "chirp_feed_celebrity_merges_lists_total", "counter",
	       "Feed pages whose followed celebrities' tweets were read list by list.",
	       fs.merged_from_lists);
	metric(&sb, "chirp_tweet_cache_entries", "gauge", "Tweets (and tombstones) in the JSON cache.",
	       fs.cache.entries);
	metric(&sb, "chirp_tweet_cache_bytes", "gauge", "Memory held by the tweet JSON cache.",
	       fs.cache.bytes);
	metric(&sb, "chirp_tweet_cache_hits_total", "counter", "Tweet JSON cache hits.",
	       fs.cache.hits);
	metric(&sb, "chirp_tweet_cache_misses_total", "counter", "Tweet JSON cache misses.",
	       fs.cache.misses);
	metric(&sb, "chirp_tweet_cache_evictions_total", "counter",
	       "Tweets evicted from the JSON cache.", fs.cache.evictions);
	metric(&sb, "chirp_viewer_state_cache_hits_total", "counter",
	       "Pages whose reader's likes and retweets came from memory (none with PostgreSQL or "
	       "--sqlite-lock shared).",
	       fs.engagement_hits);
	metric(&sb, "chirp_viewer_state_cache_misses_total", "counter",
	       "Pages whose reader's likes and retweets the cache did not hold.",
	       fs.engagement_misses);
	uint64_t hits = 0, misses = 0;
	if (c->app->sessions)
		session_cache_stats(c->app->sessions, &hits, &misses);
	metric(&sb, "chirp_session_cache_hits_total", "counter",
	       "Requests whose token's session came from memory (none with PostgreSQL or "
	       "--sqlite-lock shared).",
	       hits);
	metric(&sb, "chirp_session_cache_misses_total", "counter",
	       "Requests whose token the session cache did not hold (read from the store).",
	       misses);
	struct search_stats qs;
	search_service_stats(c->app->search_service, &qs);
	metric(&sb, "chirp_search_tweets_indexed_total", "counter",
	       "Tweets added to the search index since start.", qs.tweets_indexed);
	metric(&sb, "chirp_search_users_indexed_total", "counter",
	       "Users added to the search index since start.", qs.users_indexed);
	metric(&sb, "chirp_search_tweets_removed_total", "counter",
	       "Deleted tweets dropped from the search index since start.", qs.tweets_removed);
	metric(&sb, "chirp_search_index_batches_total", "counter", "Indexing transactions.",
	       qs.batches);
	metric(&sb, "chirp_search_index_lag_milliseconds", "gauge",
	       "From post to searchable, for the oldest tweet of the last indexing batch.",
	       qs.lag_ms);
	metric(&sb, "chirp_search_index_failing", "gauge",
	       "1 if the last indexing batch failed (it is retried).", qs.failing);
	metric(&sb, "chirp_fanout_queue_depth", "gauge", "Tweets waiting for fanout.",
	       fs.fanout_depth);
	media_metrics(c->app->media, &sb);
	uint64_t conns, refused;
	http_connection_stats(&conns, &refused);
	metric(&sb, "chirp_http_connections", "gauge", "Client connections open now.", conns);
	metric(&sb, "chirp_http_connections_refused_total", "counter",
	       "Connections answered 503 and closed for being past --max-connections.", refused);
	struct live_stats ss;
	live_service_stats(c->app->streams, &ss);
	metric(&sb, "chirp_streams_open", "gauge", "Live feed streams open now.", ss.open);
	metric(&sb, "chirp_streams_opened_total", "counter", "Live feed streams opened.", ss.opened);
	metric(&sb, "chirp_streams_refused_user_total", "counter",
	       "Streams refused (429) past --max-streams-per-user.", ss.refused_user);
	metric(&sb, "chirp_streams_refused_server_total", "counter",
	       "Streams refused (503) past --max-streams, or while shutting down.", ss.refused_server);
	metric(&sb, "chirp_streams_cut_slow_total", "counter",
	       "Streams disconnected because the reader let --stream-buffer fill.", ss.cut_slow);
	metric(&sb, "chirp_stream_events_total", "counter", "Tweet and delete events sent on streams.",
	       ss.events);
	metric(&sb, "chirp_stream_bus_messages_total", "counter",
	       "Messages the live streams took from the bus: one per event loop per post and channel, "
	       "whatever the number of streams.",
	       ss.bus_messages);
	metric(&sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	       resident_bytes());
	metric(&sb, "process_open_fds", "gauge", "Number of open file descriptors.", open_fds());
	strbuf_appendf(&sb,
		       "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
		       "seconds.\n# TYPE process_cpu_seconds_total counter\n"
		       "process_cpu_seconds_total %.3f\n",
		       cpu_seconds());
	http_send(c->req, 200, "text/plain; version=0.0.4; charset=utf-8", sb.data, sb.len);
	strbuf_deinit(&sb);
}
