#!/usr/bin/env bash
# run.sh — chirp's benchmark, end to end, against a baseline measured in the
# same run (bench/README.md).
#
#   bench/run.sh [small|medium] [--skip-10m] [--scale-10x]
#
# Generates a data set once with chirp-gen (kept in bench/work/<preset>/seed
# and reused), copies it to a scratch data directory, starts `chirp serve
# --threads 1` on a free loopback port, warms every token's timeline once
# (the cold start), then measures with wrk and bench/fanout_delay.py:
#   1. GET /v1/feed?limit=20         (vs nginx serving a file of that size)
#   2. GET /v1/tweets/{id}           (vs nginx serving a file of that size)
#   3. POST /v1/tweets               (vs the SQLite fsync ceiling)
#   4. fanout delay: post, then poll a follower's feed until the tweet shows
#   5. feed at 10x the tweets (medium only, unless --skip-10m; --scale-10x
#      forces it on small): grow the store, restart, warm, re-run 1
# and prints a Markdown report that is also written to
# bench/results/<preset>-<UTC timestamp>.md. Everything runs on 127.0.0.1;
# every wait is bounded; the EXIT trap stops what the script started.
#
# Environment (all optional): CHIRP_BIN, CHIRP_GEN (binaries), PYTHON,
# BENCH_DURATION (s per wrk run, 10), BENCH_CONNECTIONS (64),
# BENCH_CELEBRITY_THRESHOLD (10000), BENCH_FANOUT_SAMPLES (200),
# BENCH_FSYNC_SECONDS (5), BENCH_SEED (1).
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/ s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" | sed '/^set -euo/d'
}

preset=small
scale=auto
for arg in "$@"; do
	case $arg in
	small | medium) preset=$arg ;;
	--skip-10m) scale=no ;;
	--scale-10x) scale=yes ;;
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

work=$root/bench/work/$preset
logs=$work/logs
lua=$root/bench/lua
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report=$root/bench/results/$preset-$stamp.md

# Shared helpers: lib.sh (log, die, out, calc, processes) and harness.sh
# (tools, seed data, chirp and nginx, wrk, metrics).
# shellcheck source=bench/harness.sh
source "$root/bench/harness.sh"

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

mkdir -p "$logs" "$root/bench/results"
# bench/work holds generated data and logs: keep it out of git.
[[ -f $root/bench/work/.gitignore ]] || printf '*\n' >"$root/bench/work/.gitignore"
: >"$logs/chirp.log"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chirp-bench.XXXXXX")
ensure_tools

commit=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
out "# chirp benchmark: $preset preset"
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
out ""

prepare_seed
fresh_run_dir "$work/seed"

out "## Data"
out ""
out "- $users users, ~$follows follows each (power law), $tweets tweets, $(wc -l <"$run_dir/tokens.txt") tokens, $(wc -l <"$run_dir/tweet_ids.txt") sampled tweet ids, $(wc -l <"$run_dir/fanout_pairs.txt") fanout pairs; seed $seed"
if [[ -n $gen_ms ]]; then
	out "- generated in $(thousandths "$gen_ms") s"
else
	out "- reused from bench/work/$preset/seed"
fi
out "- database: $(du -sh "$run_dir/chirp.db" | cut -f1)"
out ""

start_chirp "$run_dir"
rss_start=$(rss_mib "$chirp_pid")
startup_1=$startup_ms
wait_index "$tweets"
index_1=$index_ms
warm_timelines
rss_warm=$(rss_mib "$chirp_pid")
warm_1=$warm_ms
ntok=$(wc -l <"$run_dir/tokens.txt")
out "## Cold start"
out ""
out "- chirp answered /healthz $startup_ms ms after launch; RSS $rss_start MiB"
out "- the search index, built from the store in the background: $tweets tweets in $(thousandths "$index_1") s, $(calc "$tweets / ($index_1 / 1000)" %.0f) tweets/s (measurements start after it)"
out "- warming every token's timeline once ($ntok feed reads, one connection): $(thousandths "$warm_ms") s, $(calc "$ntok / ($warm_ms / 1000)" %.0f) timelines/s; statuses $warm_status; RSS after $rss_warm MiB"
out ""

feed_bytes=$(median_body "$(awk '{ print "/v1/feed?limit=20", $2 }' "$run_dir/tokens.txt")" feed.json)
tweet_bytes=$(median_body "$(awk '{ print "/v1/tweets/" $1, "-" }' "$run_dir/tweet_ids.txt")" tweet.json)
start_nginx

out "## Throughput and latency"
out ""
out "Each row: wrk for ${duration} s, $connections connections. Baseline: nginx serving a static file of the median size of 51 sampled chirp responses (feed $feed_bytes bytes, tweet $tweet_bytes bytes; nginx RSS $(rss_mib "$nginx_pid") MiB)."
out ""
out "| scenario | requests/s | p50 ms | p99 ms | errors | chirp ÷ baseline | chirp RSS MiB |"
out "|---|---:|---:|---:|---|---:|---:|"

base="http://127.0.0.1:$chirp_port"
run_wrk nginx-feed "http://127.0.0.1:$nginx_port/feed.json" static.lua
nginx_feed_rps=$r_rps
out "| baseline: nginx, $feed_bytes-byte file | $r_rps | $r_p50 | $r_p99 | $r_errors | | |"
run_wrk feed "$base" feed.lua "$run_dir/tokens.txt" "$seed"
feed_rps=$r_rps feed_p50=$r_p50 feed_p99=$r_p99 feed_errors=$r_errors
rss_feed=$(rss_mib "$chirp_pid")
out "| 1. GET /v1/feed?limit=20 | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_feed_rps")× | $rss_feed |"

run_wrk nginx-tweet "http://127.0.0.1:$nginx_port/tweet.json" static.lua
nginx_tweet_rps=$r_rps
out "| baseline: nginx, $tweet_bytes-byte file | $r_rps | $r_p50 | $r_p99 | $r_errors | | |"
run_wrk tweet "$base" tweet.lua "$run_dir/tweet_ids.txt" "$seed"
out "| 2. GET /v1/tweets/{id} | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_tweet_rps")× | $(rss_mib "$chirp_pid") |"
stop_pid "$nginx_pid" nginx
nginx_pid=''

measure_fsync_ceiling
run_wrk post "$base" post.lua "$run_dir/tokens.txt" "$seed"
post_rps=$r_rps
fetch_metrics
backlog=$(metric chirp_fanout_queue_depth)
out "| 3. POST /v1/tweets (durable) | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$fsync_ceiling")× fsync ceiling | $(rss_mib "$chirp_pid") |"
out ""
out "- fsync ceiling (one SQLite insert per transaction, WAL, synchronous=FULL, same disk, measured just before with chirp idle): $fsync_ceiling inserts/s; chirp's durable posts reach $(ratio "$post_rps" "$fsync_ceiling")× that (target ≥ 5×)"
wait_fanout_drain
out "- fanout queue when the write burst ended: $(or_na "$backlog") tweets; it drained in $drain_text"
out ""

log "fanout delay ($fanout_samples samples)"
fanout_out=$(timeout --foreground 900 "$python" "$root/bench/fanout_delay.py" --port "$chirp_port" \
	--pairs "$run_dir/fanout_pairs.txt" --threshold "$threshold" --samples "$fanout_samples" \
	--seed "$seed" --max-seconds 600 2>>"$logs/fanout.log") ||
	die "fanout_delay.py failed: $(tail -5 "$logs/fanout.log")"
out "## Fanout delay"
out ""
out "From the 201 of a post to the tweet's first appearance in a follower's \`GET /v1/feed?limit=5\` (polled every ~1 ms over keep-alive; p99 is nearest-rank). Celebrities (more than $threshold followers) are not fanned out but merged at read time."
out ""
out "| authors | followers | samples | p50 ms | p99 ms | max ms | timeouts (5 s) |"
out "|---|---|---:|---:|---:|---:|---:|"
while read -r line; do
	[[ $line == FANOUT* ]] || continue
	group=$(kv "$line" group)
	case $group in
	all_fanned) label="fanned out, all" ;;
	celebrity) label="celebrities (merged at read)" ;;
	fanned_*_*)
		label=${group#fanned_}
		label="fanned out, ${label/_/–} followers"
		;;
	*) label=$group ;;
	esac
	out "| $label | $(or_na "$(kv "$line" followers)") | $(kv "$line" samples) | $(or_na "$(kv "$line" p50_ms)") | $(or_na "$(kv "$line" p99_ms)") | $(or_na "$(kv "$line" max_ms)") | $(kv "$line" timeouts) |"
done <<<"$fanout_out"
out ""
out "- chirp RSS after the fanout samples: $(rss_mib "$chirp_pid") MiB"
out ""

fetch_metrics
rss_end=$(rss_mib "$chirp_pid")
tl=$(metric chirp_timelines)
tl_entries=$(metric chirp_timeline_entries)
tl_bytes=$(metric chirp_timeline_bytes)
hits=$(metric chirp_tweet_cache_hits_total)
misses=$(metric chirp_tweet_cache_misses_total)
rebuilds=$(metric chirp_timeline_rebuilds_total)
per_entry=''
[[ -n $tl_entries && -n $tl_bytes ]] && per_entry=$(ratio "$tl_bytes" "$tl_entries")
hit_ratio=''
[[ -n $hits && -n $misses ]] && hit_ratio=$(calc "($hits + $misses > 0) ? 100 * $hits / ($hits + $misses) : 0" %.1f)%
stop_chirp
exits="$chirp_exit"

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
	out "## Feed at $tweets and $((tweets + extra_tweets)) tweets"
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
	out "| $tweets | $startup_1 | $(thousandths "$warm_1") | $feed_rps | $feed_p50 | $feed_p99 | $feed_errors | $(ratio "$feed_rps" "$nginx_feed_rps")× | $rss_feed |"
	out "| $((tweets + extra_tweets)) | $startup_ms | $(thousandths "$warm_ms") | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_feed_rps")× | $rss_10x |"
	out ""
	out "- feed p50 at 10× the tweets: $(ratio "$r_p50" "$feed_p50")× (target ≤ 1.2×); requests/s $(ratio "$r_rps" "$feed_rps")×; cold start (warm time) $(ratio "$warm_ms" "$warm_1")×"
	out "- chirp ÷ nginx uses the nginx feed baseline measured above"
	out ""
fi

out "## Memory and store"
out ""
out "- chirp RSS: $rss_start MiB at start, $rss_warm MiB after warming, $rss_end MiB after scenarios 1-4"
out "- timelines: $(or_na "$tl"); entries: $(or_na "$tl_entries"); bytes: $(or_na "$tl_bytes"); bytes per timeline entry: $(or_na "$per_entry")"
out "- tweet JSON cache: $(or_na "$hits") hits, $(or_na "$misses") misses, hit ratio $(or_na "$hit_ratio"); timeline rebuilds: $(or_na "$rebuilds")"
[[ -n $metrics_text ]] || out "- (this chirp build serves no /metrics: memory figures other than RSS are unavailable)"
out "- fsync ceiling: $fsync_ceiling inserts/s"
out "- chirp exit status on SIGTERM: $exits"
out "- load average after the run: $(cut -d ' ' -f 1-3 /proc/loadavg)"
out ""
out "Raw wrk output and server logs: bench/work/$preset/logs/."
log "report written to ${report#"$root"/}"
