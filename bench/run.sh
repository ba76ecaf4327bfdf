#!/usr/bin/env bash
# run.sh — chirp's benchmark, end to end, against a baseline measured in the
# same run (bench/README.md).
#
#   bench/run.sh [small|medium] [--skip-10m] [--scale-10x] [--store sqlite|postgres]
#
# Generates a data set once with chirp-gen (kept in bench/work/<preset>/seed
# and reused), copies it to a scratch data directory, starts `chirp serve
# --threads 1` on a free loopback port, warms every token's timeline once
# (the cold start), then measures with wrk and bench/fanout_delay.py:
#   1. GET /v1/feed?limit=20         (vs nginx serving a file of that size)
#   1r. the same feed once every token's user has retweeted BENCH_RETWEETS
#      tweets (3; 0 skips it): pages full of retweets, each hydrated with
#      its original
#   2. GET /v1/tweets/{id}           (vs nginx serving a file of that size)
#   2f. chirp's floor: GET of the web asset nearest the feed page in size,
#      which chirp holds in memory (vs nginx serving the same bytes): what
#      its server stack costs a response with no work of its own
#   3. POST /v1/tweets               (vs the SQLite fsync ceiling)
#   4. fanout delay: post, then poll a follower's feed until the tweet shows
#   5. feed at 10x the tweets (medium only, unless --skip-10m; --scale-10x
#      forces it on small): grow the store, restart, warm, re-run 1
# and prints a Markdown report that is also written to
# bench/results/<preset>-<UTC timestamp>.md. Everything runs on 127.0.0.1;
# every wait is bounded; the EXIT trap stops what the script started.
#
# --store postgres (make bench STORE=postgres) runs 1-4 on SQLite and on
# PostgreSQL in the same run (bench/pg.sh): the seed loaded into a
# PostgreSQL 15 cluster in bench/work/<preset>/pg, a second chirp serving
# it, both beside the same nginx baseline in one table, and PostgreSQL's
# own durable insert ceiling (pgbench) beside its POST figure. Scenario 5
# stays SQLite's. The report is bench/results/<preset>-postgres-<time>.md.
#
# Environment (all optional): CHIRP_BIN, CHIRP_GEN (binaries), PYTHON,
# BENCH_DURATION (s per wrk run, 10), BENCH_CONNECTIONS (64),
# BENCH_CELEBRITY_THRESHOLD (10000), BENCH_FANOUT_SAMPLES (200),
# BENCH_FSYNC_SECONDS (5), BENCH_SEED (1), BENCH_RETWEETS (3), PERF (1:
# perf records chirp during scenario 1, and the report ends with where its
# time went).
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/ s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" | sed '/^set -euo/d'
}

preset=small
scale=auto
store=sqlite
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	arg=${args[i]}
	case $arg in
	small | medium) preset=$arg ;;
	--skip-10m) scale=no ;;
	--scale-10x) scale=yes ;;
	--store=*) store=${arg#--store=} ;;
	--store)
		i=$((i + 1))
		store=${args[i]:-}
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

case $store in
sqlite | postgres) ;;
*)
	usage >&2
	exit 2
	;;
esac
preset_sizes "$preset"
if [[ $scale == auto ]]; then
	scale=no
	[[ $preset == medium ]] && scale=yes
fi
extra_tweets=$((9 * tweets)) # scenario 5 grows the store to 10x

chirp_bin=${CHIRP_BIN:-$root/chirp}
gen_bin=${CHIRP_GEN:-$root/build/release/bench/chirp-gen}
python=${PYTHON:-python3}
duration=${BENCH_DURATION:-10}
connections=${BENCH_CONNECTIONS:-64}
threshold=${BENCH_CELEBRITY_THRESHOLD:-10000}
fanout_samples=${BENCH_FANOUT_SAMPLES:-200}
fsync_seconds=${BENCH_FSYNC_SECONDS:-5}
seed=${BENCH_SEED:-1}
retweets=${BENCH_RETWEETS:-3}

work=$root/bench/work/$preset
logs=$work/logs
lua=$root/bench/lua
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report=$root/bench/results/$preset-$stamp.md
[[ $store == postgres ]] && report=$root/bench/results/$preset-postgres-$stamp.md

# Shared helpers: lib.sh (log, die, out, calc, processes) and harness.sh
# (tools, seed data, chirp and nginx, wrk, metrics).
# shellcheck source=bench/harness.sh
source "$root/bench/harness.sh"
# shellcheck source=bench/pg.sh
source "$root/bench/pg.sh"

# ------------------------------------------------------------ preparation

# Scenario 5's data: the seed plus extra tweets, also made once and reused.
scale_ms=''
prepare_scaled() {
	local dir=$work/seed-10x params t0
	params="$(<"$work/seed/.complete") add=$extra_tweets"
	if [[ -f $dir/.complete && $(<"$dir/.complete") == "$params" ]]; then
		log "reusing ${dir#"$root"/}"
		return
	fi
	log "adding $extra_tweets tweets in ${dir#"$root"/}"
	rm -rf "$dir" "$dir.tmp"
	cp -a --reflink=auto "$work/seed" "$dir.tmp"
	rm -f "$dir.tmp/.complete"
	t0=$(now_ms)
	timeout --foreground 14400 "$gen_bin" --data "$dir.tmp" --add-tweets "$extra_tweets" \
		--seed "$((seed + 1))" >"$logs/gen-10x.log" 2>&1 ||
		die "chirp-gen --add-tweets failed: $(tail -5 "$logs/gen-10x.log")"
	scale_ms=$(($(now_ms) - t0))
	printf '%s\n' "$params" >"$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
}


# What a server without group commit could do on this disk: one row per
# transaction, one fsync each. Measured right before the POST scenario, with
# chirp idle and the disk flushed, so both see the disk in the same state.
fsync_ceiling=''
measure_fsync_ceiling() {
	local dir=$work/fsync line
	rm -rf "$dir"
	mkdir -p "$dir"
	flush_disk
	log "fsync ceiling (${fsync_seconds} s)"
	line=$(timeout --foreground $((fsync_seconds + 60)) "$gen_bin" --fsync-ceiling "$dir" \
		--seconds "$fsync_seconds" 2>>"$logs/gen.log" | grep '^fsync_ceiling_inserts_per_sec ') ||
		die "chirp-gen --fsync-ceiling printed no figure"
	fsync_ceiling=$(awk '{ printf "%.0f", $2 }' <<<"$line")
	rm -rf "$dir"
}

# Cold start: one feed read per token. Sets warm_ms and warm_status.
warm_ms=''
warm_status=''
warm_timelines() {
	local n t0 codes
	n=$(wc -l <"$run_dir/tokens.txt")
	log "warming $n timelines"
	t0=$(now_ms)
	codes=$(awk '{ print "/v1/feed?limit=20", $2 }' "$run_dir/tokens.txt" | curl_batch '%{http_code}')
	warm_ms=$(($(now_ms) - t0))
	warm_status=$(sort <<<"$codes" | uniq -c | awk '{ printf "%s%s×%s", sep, $2, $1; sep = ", " }')
	[[ $(grep -c '^200$' <<<"$codes") -gt 0 ]] || die "no warm-up request succeeded ($warm_status)"
}


# Scenario 1r's data: each token's user retweets $retweets sampled tweets
# (spread so that users retweet different ones), over one keep-alive
# connection. Sets retweet_status ("201×6000" and the like).
retweet_status=''
post_retweets() {
	local ids
	ids=$(awk '{ print $1 }' "$run_dir/tweet_ids.txt")
	awk -v k="$retweets" -v base="http://127.0.0.1:$chirp_port" '
		NR == FNR { id[n++] = $1; next }
		{
			for (j = 0; j < k; j++) {
				if (out++) print "next"
				printf "url = \"%s/v1/tweets/%s/retweets\"\nrequest = \"POST\"\n", base, id[(FNR * k + j) % n]
				printf "output = \"/dev/null\"\nmax-time = 30\nwrite-out = \"%%{http_code}\\n\"\n"
				printf "header = \"Authorization: Bearer %s\"\n", $2
			}
		}' <(printf '%s\n' "$ids") "$run_dir/tokens.txt" >"$tmp/retweets.curlrc"
	retweet_status=$(timeout --foreground 3600 curl -s --config "$tmp/retweets.curlrc" |
		sort | uniq -c | awk '{ printf "%s%s×%s", sep, $2, $1; sep = ", " }' || true)
}

# Waits (up to 120 s) for the fanout queue to empty after the write burst,
# so scenario 4 measures fanout, not the backlog. Sets drain_text.
drain_text=''
wait_fanout_drain() {
	local t0 depth deadline=$((SECONDS + 120))
	t0=$(now_ms)
	while :; do
		fetch_metrics
		depth=$(metric chirp_fanout_queue_depth)
		if [[ -z $depth ]]; then
			drain_text="unknown (no chirp_fanout_queue_depth in /metrics; waited 5 s)"
			sleep 5
			return
		fi
		if awk -v d="$depth" 'BEGIN { exit !(d + 0 == 0) }'; then
			drain_text="$(($(now_ms) - t0)) ms"
			return
		fi
		if ((SECONDS >= deadline)); then
			drain_text="**not drained: $depth jobs still queued after 120 s**"
			return
		fi
		sleep 0.1
	done
}

# ------------------------------------------------------------------- run

# One chirp per store, both alive from warm-up to the end, so every
# scenario measures them back to back against the same nginx baseline.
# Arrays are keyed by store (sqlite, postgres); tag prefixes a report line
# and label a table row with the store's name, both empty on a SQLite-only
# run, whose report reads as it always has.
declare -A c_pid c_port c_data tag label nm
tag[sqlite]='' label[sqlite]='' nm[sqlite]=''
tag[postgres]='PostgreSQL: ' label[postgres]=' — PostgreSQL' nm[postgres]='-pg'
if [[ $store == postgres ]]; then
	tag[sqlite]='SQLite: ' label[sqlite]=' — SQLite'
fi
use_chirp() { chirp_pid=${c_pid[$1]}; chirp_port=${c_port[$1]}; chirp_data=${c_data[$1]}; }
cleanup_more() {
	local s
	for s in "${!c_pid[@]}"; do
		[[ ${c_pid[$s]} == "$chirp_pid" ]] || stop_pid "${c_pid[$s]}" chirp
	done
	pg_stop
}

mkdir -p "$logs" "$root/bench/results"
# bench/work holds generated data and logs: keep it out of git.
[[ -f $root/bench/work/.gitignore ]] || printf '*\n' >"$root/bench/work/.gitignore"
: >"$logs/chirp.log"
[[ $store == postgres ]] && : >"$logs/chirp-pg.log" && : >"$logs/pg.log"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chirp-bench.XXXXXX")
ensure_tools

commit=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
if [[ $store == postgres ]]; then
	out "# chirp benchmark: $preset preset, SQLite and PostgreSQL"
else
	out "# chirp benchmark: $preset preset"
fi
out ""
out "Run $(date -u '+%Y-%m-%d %H:%M:%S') UTC, commit \`$commit\`."
out ""
out "## Machine"
out ""
out "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores available"
out "- memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
out "- OS: $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release), kernel $(uname -r)"
out "- storage of bench/work: $(findmnt -n -T "$work" -o FSTYPE,SOURCE 2>/dev/null | tr -s ' ' || echo unknown)"
out "- tools: $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'), $("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'), $("$python" --version 2>&1)"
out "- load average before the run: $(cut -d ' ' -f 1-3 /proc/loadavg) (anything else busy on these cores skews every figure below)"
out "- setup: chirp \`--threads 1\` (one event loop; its writer and fanout threads run beside it); wrk \`-t1 -c$connections -d${duration}s --latency --timeout 10s\`; nginx one process. wrk, chirp and nginx share the same $(nproc) cores, unpinned, over loopback, so client CPU is part of every figure, for chirp and the baseline alike."

prepare_seed
fresh_run_dir "$work/seed"
if [[ $store == postgres ]]; then
	chirp_log=$logs/chirp-pg.log
	pg_start
	pg_prepare_seed
	pg_fresh_run_db
	chirp_log=''
	out "- PostgreSQL: $(pg_sql postgres 'SELECT version()' | cut -d ' ' -f 1-2) (Debian's), a cluster of its own in bench/work/$preset/pg on the same disk and cores, shared_buffers 64 MB, $(pg_sql postgres "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')"); chirp on it reads on its worker threads (\`--read-threads\` default) and commits in groups from one writer connection"
fi
out ""

out "## Data"
out ""
out "- $users users, ~$follows follows each (power law), $tweets tweets, $(wc -l <"$run_dir/tokens.txt") tokens, $(wc -l <"$run_dir/tweet_ids.txt") sampled tweet ids, $(wc -l <"$run_dir/fanout_pairs.txt") fanout pairs; seed $seed"
if [[ -n $gen_ms ]]; then
	out "- generated in $(thousandths "$gen_ms") s"
else
	out "- reused from bench/work/$preset/seed"
fi
out "- database: $(du -sh "$run_dir/chirp.db" | cut -f1)"
if [[ $store == postgres ]]; then
	if [[ -n $pg_load_ms ]]; then
		out "- PostgreSQL: the same rows loaded in $(thousandths "$pg_load_ms") s (chirp made its schema on the empty database, then bench/pg_load.py COPY of every table, then VACUUM ANALYZE) into chirp_seed"
	else
		out "- PostgreSQL: the same rows, reused from database chirp_seed (loaded by an earlier run)"
	fi
	out "- PostgreSQL database served (a fresh copy of chirp_seed): $(pg_sql postgres "SELECT pg_size_pretty(pg_database_size('chirp_run'))")"
fi
out ""

# Starts chirp on store $1, waits for its search index, warms every
# timeline, and parks it in c_pid/c_port for use_chirp.
declare -A rss_start rss_warm startup index warm warm_st
launch() {
	local s=$1
	if [[ $s == sqlite ]]; then
		chirp_log=''
		start_chirp "$run_dir"
	else
		chirp_log=$logs/chirp-pg.log
		rm -rf "$work/run-pg"
		mkdir -p "$work/run-pg"
		start_chirp "$work/run-pg" "$pg_run_url"
	fi
	c_pid[$s]=$chirp_pid c_port[$s]=$chirp_port c_data[$s]=$chirp_data
	rss_start[$s]=$(rss_mib "$chirp_pid")
	startup[$s]=$startup_ms
	wait_index "$tweets"
	index[$s]=$index_ms
	warm_timelines
	rss_warm[$s]=$(rss_mib "$chirp_pid")
	warm[$s]=$warm_ms warm_st[$s]=$warm_status
}
stores=(sqlite)
[[ $store == postgres ]] && stores+=(postgres)
for s in "${stores[@]}"; do launch "$s"; done
chirp_log=''
ntok=$(wc -l <"$run_dir/tokens.txt")
out "## Cold start"
out ""
for s in "${stores[@]}"; do
	out "- ${tag[$s]}chirp answered /healthz ${startup[$s]} ms after launch; RSS ${rss_start[$s]} MiB"
	out "- ${tag[$s]}the search index, built from the store in the background: $tweets tweets in $(thousandths "${index[$s]}") s, $(calc "$tweets / (${index[$s]} / 1000)" %.0f) tweets/s (measurements start after it)"
	out "- ${tag[$s]}warming every token's timeline once ($ntok feed reads, one connection): $(thousandths "${warm[$s]}") s, $(calc "$ntok / (${warm[$s]} / 1000)" %.0f) timelines/s; statuses ${warm_st[$s]}; RSS after ${rss_warm[$s]} MiB"
done
out ""

use_chirp sqlite
feed_bytes=$(median_body "$(awk '{ print "/v1/feed?limit=20", $2 }' "$run_dir/tokens.txt")" feed.json)
tweet_bytes=$(median_body "$(awk '{ print "/v1/tweets/" $1, "-" }' "$run_dir/tweet_ids.txt")" tweet.json)
start_nginx

out "## Throughput and latency"
out ""
out "Each row: wrk for ${duration} s, $connections connections. Baseline: nginx serving a static file of the median size of 51 sampled chirp responses (feed $feed_bytes bytes, tweet $tweet_bytes bytes; nginx RSS $(rss_mib "$nginx_pid") MiB)."
[[ $store == postgres ]] && out "Both stores serve the same data; each chirp runs right after the other, the idle one waiting beside it (the sizes are SQLite's responses; PostgreSQL's are the same pages)."
out ""
out "| scenario | requests/s | p50 ms | p99 ms | errors | chirp ÷ baseline | chirp RSS MiB |"
out "|---|---:|---:|---:|---|---:|---:|"

declare -A rss_feed post_rps backlog drain
run_wrk nginx-feed "http://127.0.0.1:$nginx_port/feed.json" static.lua
nginx_feed_rps=$r_rps
out "| baseline: nginx, $feed_bytes-byte file | $r_rps | $r_p50 | $r_p99 | $r_errors | | |"
for s in "${stores[@]}"; do
	use_chirp "$s"
	perf_start "$chirp_pid" "$logs/chirp-feed${nm[$s]}.data"
	run_wrk "feed${nm[$s]}" "http://127.0.0.1:$chirp_port" feed.lua "$run_dir/tokens.txt" "$seed"
	perf_stop
	if [[ $s == sqlite ]]; then
		feed_rps=$r_rps feed_p50=$r_p50 feed_p99=$r_p99 feed_errors=$r_errors
	fi
	rss_feed[$s]=$(rss_mib "$chirp_pid")
	out "| 1. GET /v1/feed?limit=20${label[$s]} | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_feed_rps")× | ${rss_feed[$s]} |"
done
declare -A rt_status rt_drain
if ((retweets > 0)); then
	for s in "${stores[@]}"; do
		use_chirp "$s"
		log "posting $retweets retweets per token"
		post_retweets
		rt_status[$s]=$retweet_status
		wait_fanout_drain
		rt_drain[$s]=$drain_text
		run_wrk "feed-retweets${nm[$s]}" "http://127.0.0.1:$chirp_port" feed.lua "$run_dir/tokens.txt" "$seed"
		out "| 1r. GET /v1/feed?limit=20, pages with retweets${label[$s]} | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_feed_rps")× | $(rss_mib "$chirp_pid") |"
	done
fi

run_wrk nginx-tweet "http://127.0.0.1:$nginx_port/tweet.json" static.lua
nginx_tweet_rps=$r_rps
out "| baseline: nginx, $tweet_bytes-byte file | $r_rps | $r_p50 | $r_p99 | $r_errors | | |"
for s in "${stores[@]}"; do
	use_chirp "$s"
	run_wrk "tweet${nm[$s]}" "http://127.0.0.1:$chirp_port" tweet.lua "$run_dir/tweet_ids.txt" "$seed"
	out "| 2. GET /v1/tweets/{id}${label[$s]} | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_tweet_rps")× | $(rss_mib "$chirp_pid") |"
done
# 2f. The web asset nearest the feed page in size: no store, no token, no
# assembly; its ratio is what chirp's stack (h2o, the gateway, the
# router, the metrics) allows any response of that size.
use_chirp sqlite
asset_path=$(curl -fs "http://127.0.0.1:$chirp_port/" | grep -o '/assets/[^"]*' | sort -u |
	while read -r p; do echo "$(curl -fs "http://127.0.0.1:$chirp_port$p" | wc -c) $p"; done |
	awk -v want="$feed_bytes" '{ d = $1 > want ? $1 - want : want - $1 }
		!n++ || d < best { best = d; path = $2 } END { print path }')
[[ -n $asset_path ]] || die "GET / named no web asset"
curl -fs -o "$tmp/www/asset" "http://127.0.0.1:$chirp_port$asset_path" || die "cannot fetch $asset_path"
asset_bytes=$(stat -c %s "$tmp/www/asset")
run_wrk nginx-asset "http://127.0.0.1:$nginx_port/asset" static.lua
nginx_asset_rps=$r_rps
out "| baseline: nginx, $asset_bytes-byte file | $r_rps | $r_p50 | $r_p99 | $r_errors | | |"
run_wrk asset "http://127.0.0.1:$chirp_port$asset_path" static.lua
out "| 2f. chirp's floor: GET $asset_path, $asset_bytes bytes from memory | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_asset_rps")× | $(rss_mib "$chirp_pid") |"
stop_pid "$nginx_pid" nginx
nginx_pid=''

# Each store's durable-write ceiling right before its POST burst, with
# every chirp idle (the other store's burst drained first).
for s in "${stores[@]}"; do
	if [[ $s == sqlite ]]; then
		measure_fsync_ceiling
		ceiling=$fsync_ceiling ceiling_name="fsync ceiling"
		[[ $store == postgres ]] && out "| ceiling: SQLite, one insert per fsync, 1 connection | $fsync_ceiling | | | | | |"
	else
		measure_pg_ceiling
		ceiling=$pg_ceiling ceiling_name="PostgreSQL insert ceiling"
		out "| ceiling: PostgreSQL, one single-row INSERT per commit, 1 client (pgbench) | $pg_ceiling_1 | | | | | |"
		out "| ceiling: PostgreSQL, one single-row INSERT per commit, $connections clients (pgbench) | $pg_ceiling | | | | | |"
	fi
	use_chirp "$s"
	run_wrk "post${nm[$s]}" "http://127.0.0.1:$chirp_port" post.lua "$run_dir/tokens.txt" "$seed"
	post_rps[$s]=$r_rps
	fetch_metrics
	backlog[$s]=$(metric chirp_fanout_queue_depth)
	out "| 3. POST /v1/tweets (durable)${label[$s]} | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$ceiling")× $ceiling_name | $(rss_mib "$chirp_pid") |"
	wait_fanout_drain
	drain[$s]=$drain_text
done
out ""
out "- fsync ceiling (one SQLite insert per transaction, WAL, synchronous=FULL, same disk, measured just before with chirp idle): $fsync_ceiling inserts/s; ${tag[sqlite]:+SQLite }chirp's durable posts reach $(ratio "${post_rps[sqlite]}" "$fsync_ceiling")× that (target ≥ 5×)"
if [[ $store == postgres ]]; then
	out "- PostgreSQL insert ceiling (pgbench, one single-row INSERT of a tweet-sized row per transaction into a fresh table, $pg_settings, same disk, measured just before with both chirps idle; PostgreSQL flushes the WAL of concurrent commits together, so $connections clients are not $connections× one): $pg_ceiling commits/s at $connections clients (average latency $pg_ceiling_lat ms), $pg_ceiling_1/s from 1 client ($pg_ceiling_1_lat ms); chirp on PostgreSQL reaches $(ratio "${post_rps[postgres]}" "$pg_ceiling")× the $connections-client figure, $(ratio "${post_rps[postgres]}" "$pg_ceiling_1")× the 1-client one"
fi
for s in "${stores[@]}"; do
	out "- ${tag[$s]}fanout queue when the write burst ended: $(or_na "${backlog[$s]}") tweets; it drained in ${drain[$s]}"
	if ((retweets > 0)); then
		out "- ${tag[$s]}scenario 1r: $retweets retweets per token posted first (statuses ${rt_status[$s]}; fanout drained in ${rt_drain[$s]}); most of a page is then retweets, each hydrated with its original"
	fi
done
out ""

out "## Fanout delay"
out ""
out "From the 201 of a post to the tweet's first appearance in a follower's \`GET /v1/feed?limit=5\` (polled every ~1 ms over keep-alive; p99 is nearest-rank). Celebrities (more than $threshold followers) are not fanned out but merged at read time."
out ""
out "| authors | followers | samples | p50 ms | p99 ms | max ms | timeouts (5 s) |"
out "|---|---|---:|---:|---:|---:|---:|"
declare -A rss_fanout
for s in "${stores[@]}"; do
	use_chirp "$s"
	log "fanout delay${label[$s]} ($fanout_samples samples)"
	fanout_out=$(timeout --foreground 900 "$python" "$root/bench/fanout_delay.py" --port "$chirp_port" \
		--pairs "$run_dir/fanout_pairs.txt" --threshold "$threshold" --samples "$fanout_samples" \
		--seed "$seed" --max-seconds 600 2>>"$logs/fanout${nm[$s]}.log") ||
		die "fanout_delay.py failed: $(tail -5 "$logs/fanout${nm[$s]}.log")"
	while read -r line; do
		[[ $line == FANOUT* ]] || continue
		group=$(kv "$line" group)
		case $group in
		all_fanned) lab="fanned out, all" ;;
		celebrity) lab="celebrities (merged at read)" ;;
		fanned_*_*)
			lab=${group#fanned_}
			lab="fanned out, ${lab/_/–} followers"
			;;
		*) lab=$group ;;
		esac
		out "| ${tag[$s]}$lab | $(or_na "$(kv "$line" followers)") | $(kv "$line" samples) | $(or_na "$(kv "$line" p50_ms)") | $(or_na "$(kv "$line" p99_ms)") | $(or_na "$(kv "$line" max_ms)") | $(kv "$line" timeouts) |"
	done <<<"$fanout_out"
	rss_fanout[$s]=$(rss_mib "$chirp_pid")
done
out ""
for s in "${stores[@]}"; do
	out "- ${tag[$s]}chirp RSS after the fanout samples: ${rss_fanout[$s]} MiB"
done
out ""

declare -A rss_end tl tl_entries tl_bytes hits misses rebuilds per_entry hit_ratio have_metrics exit_of merged_index merged_lists
for s in "${stores[@]}"; do
	use_chirp "$s"
	fetch_metrics
	rss_end[$s]=$(rss_mib "$chirp_pid")
	tl[$s]=$(metric chirp_timelines)
	tl_entries[$s]=$(metric chirp_timeline_entries)
	tl_bytes[$s]=$(metric chirp_timeline_bytes)
	hits[$s]=$(metric chirp_tweet_cache_hits_total)
	misses[$s]=$(metric chirp_tweet_cache_misses_total)
	rebuilds[$s]=$(metric chirp_timeline_rebuilds_total)
	merged_index[$s]=$(metric chirp_feed_celebrity_merges_index_total)
	merged_lists[$s]=$(metric chirp_feed_celebrity_merges_lists_total)
	per_entry[$s]=''
	[[ -n ${tl_entries[$s]} && -n ${tl_bytes[$s]} ]] && per_entry[$s]=$(ratio "${tl_bytes[$s]}" "${tl_entries[$s]}")
	hit_ratio[$s]=''
	[[ -n ${hits[$s]} && -n ${misses[$s]} ]] &&
		hit_ratio[$s]=$(calc "(${hits[$s]} + ${misses[$s]} > 0) ? 100 * ${hits[$s]} / (${hits[$s]} + ${misses[$s]}) : 0" %.1f)%
	have_metrics[$s]=${metrics_text:+yes}
done
for s in "${stores[@]}"; do
	use_chirp "$s"
	stop_chirp
	c_pid[$s]=''
	exit_of[$s]=$chirp_exit
done
if [[ $store == postgres ]]; then
	exits="SQLite ${exit_of[sqlite]}, PostgreSQL ${exit_of[postgres]}"
	sleep 1 # the backends of chirp's connections report their counters as they exit
	pg_report=$(pg_summary)
	pg_stop
else
	exits=${exit_of[sqlite]}
fi

if [[ $scale == yes ]]; then
	prepare_scaled
	fresh_run_dir "$work/seed-10x"
	start_chirp "$run_dir"
	wait_index $((tweets + extra_tweets))
	warm_timelines
	run_wrk feed-10x "http://127.0.0.1:$chirp_port" feed.lua "$run_dir/tokens.txt" "$seed"
	rss_10x=$(rss_mib "$chirp_pid")
	stop_chirp
	exits="$exits, $chirp_exit (10× run)"
	out "## Feed at $tweets and $((tweets + extra_tweets)) tweets${label[sqlite]}"
	out ""
	if [[ -n $scale_ms ]]; then
		out "- $extra_tweets tweets added by chirp-gen in $(thousandths "$scale_ms") s"
	else
		out "- reused bench/work/$preset/seed-10x"
	fi
	out "- database: $(du -sh "$run_dir/chirp.db" | cut -f1); search index built in $(thousandths "$index_ms") s ($(calc "($tweets + $extra_tweets) / ($index_ms / 1000)" %.0f) tweets/s)"
	out ""
	out "| tweets | start-up ms | warm s | requests/s | p50 ms | p99 ms | errors | chirp ÷ nginx | chirp RSS MiB |"
	out "|---:|---:|---:|---:|---:|---:|---|---:|---:|"
	out "| $tweets | ${startup[sqlite]} | $(thousandths "${warm[sqlite]}") | $feed_rps | $feed_p50 | $feed_p99 | $feed_errors | $(ratio "$feed_rps" "$nginx_feed_rps")× | ${rss_feed[sqlite]} |"
	out "| $((tweets + extra_tweets)) | $startup_ms | $(thousandths "$warm_ms") | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_feed_rps")× | $rss_10x |"
	out ""
	out "- feed p50 at 10× the tweets: $(ratio "$r_p50" "$feed_p50")× (target ≤ 1.2×); requests/s $(ratio "$r_rps" "$feed_rps")×; cold start (warm time) $(ratio "$warm_ms" "${warm[sqlite]}")×"
	out "- chirp ÷ nginx uses the nginx feed baseline measured above"
	[[ $store == postgres ]] && out "- SQLite only: the 10× store is chirp-gen's, and is not loaded into PostgreSQL"
	out ""
fi

out "## Memory and store"
out ""
for s in "${stores[@]}"; do
	out "- ${tag[$s]}chirp RSS: ${rss_start[$s]} MiB at start, ${rss_warm[$s]} MiB after warming, ${rss_end[$s]} MiB after scenarios 1-4"
	out "- ${tag[$s]}timelines: $(or_na "${tl[$s]}"); entries: $(or_na "${tl_entries[$s]}"); bytes: $(or_na "${tl_bytes[$s]}"); bytes per timeline entry: $(or_na "${per_entry[$s]}")"
	out "- ${tag[$s]}tweet JSON cache: $(or_na "${hits[$s]}") hits, $(or_na "${misses[$s]}") misses, hit ratio $(or_na "${hit_ratio[$s]}"); timeline rebuilds: $(or_na "${rebuilds[$s]}")"
	out "- ${tag[$s]}pages with followed celebrities: $(or_na "${merged_index[$s]}") merged from the one index, $(or_na "${merged_lists[$s]}") list by list"
	[[ -n ${have_metrics[$s]} ]] || out "- ${tag[$s]}(this chirp build serves no /metrics: memory figures other than RSS are unavailable)"
done
out "- fsync ceiling: $fsync_ceiling inserts/s"
if [[ $store == postgres ]]; then
	out "- PostgreSQL insert ceiling: $pg_ceiling commits/s ($connections clients), $pg_ceiling_1/s (1 client)"
	out "- chirp's log on PostgreSQL (logs/chirp-pg.log): $(grep -ci 'error\|fail\|warn' "$logs/chirp-pg.log" || true) lines mention an error, a failure or a warning"
	out "$pg_report"
fi
out "- chirp exit status on SIGTERM: $exits"
out "- load average after the run: $(cut -d ' ' -f 1-3 /proc/loadavg)"
out ""
if [[ ${PERF:-0} == 1 ]]; then
	out "## Where chirp's time went in scenario 1 (PERF=1)"
	out ""
	for s in "${stores[@]}"; do
		perf_summary "$logs/chirp-feed${nm[$s]}.data" | tee -a "$report"
		out ""
	done
fi
out "Raw wrk output and server logs: bench/work/$preset/logs/."
log "report written to ${report#"$root"/}"
