/*
 * metrics — GET /metrics in the Prometheus text format (version 0.0.4).
 *
 * The feed's own gauges and counters (timelines, tweet cache, fanout) and
 * the process's resident memory. Names follow Prometheus conventions:
 * chirp_ prefix, _total for counters, base units (bytes).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "http/respond.h"

static void metric(struct strbuf *sb, const char *name, const char *type, const char *help,
		   uint64_t value)
{
	strbuf_appendf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
		       (unsigned long long)value);
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
	struct feed_stats fs;
	feed_stats(c->app->feed, &fs);
	struct strbuf sb = STRBUF_INIT;
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
	metric(&sb, "chirp_feed_store_pages_total", "counter",
	       "Feed pages read from the store (past a timeline's cap).", fs.store_pages);
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
	metric(&sb, "chirp_fanout_queue_depth", "gauge", "Tweets waiting for fanout.",
	       fs.fanout_depth);
	metric(&sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
	       resident_bytes());
	http_send(c->req, 200, "text/plain; version=0.0.4; charset=utf-8", sb.data, sb.len);
	strbuf_deinit(&sb);
}
