#!/usr/bin/env bash
# run.sh — chirp's benchmark, end to end, against a baseline measured in the
# same run (STYLE.md §12, DESIGN.md §5).
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

# ------------------------------------------------------------------ helpers

# Shared helpers: log, die, out, now_ms, kv, calc, alive, rss_mib,
# free_port, stop_pid.
thousandths() { calc "$1 / 1000" %.2f; } # µs to ms, ms to s
ratio() { calc "($2 > 0) ? $1 / $2 : 0" %.2f; }

chirp_pid=''
nginx_pid=''
tmp=''
cleanup() {
	local rc=$?
	trap - EXIT
	stop_pid "$chirp_pid" chirp
	stop_pid "$nginx_pid" nginx
	[[ -n $tmp ]] && rm -rf "$tmp"
	if ((rc != 0)) && [[ -f $report ]]; then
		printf '\n**Run failed (exit %d); figures above are incomplete.** Logs: %s\n' \
			"$rc" "${logs#"$root"/}" >>"$report"
		log "failed; partial report in ${report#"$root"/}, logs in ${logs#"$root"/}"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ preparation

ensure_tools() {
	local missing=()
	command -v wrk >/dev/null || missing+=(wrk)
	command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
	command -v curl >/dev/null || missing+=(curl)
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		local sudo=()
		[[ $(id -u) -eq 0 ]] || sudo=(sudo)
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
	[[ -x $chirp_bin ]] || die "no chirp binary at $chirp_bin: run \`make bench\` (or \`make chirp\`)"
	[[ -x $gen_bin ]] || die "no generator at $gen_bin: run \`make bench\` (or \`make bench-tools\`)"
	"$python" -c 'import http.client' || die "$python cannot run bench/fanout_delay.py"
}

# Generates (or reuses) the seed data set. A seed directory counts as
# complete only when its .complete file names the same parameters.
gen_ms=''
prepare_seed() {
	local dir=$work/seed params="users=$users follows=$follows tweets=$tweets tokens=$tokens seed=$seed" f t0
	if [[ -f $dir/.complete && $(<"$dir/.complete") == "$params" ]]; then
		log "reusing ${dir#"$root"/} ($params)"
		return
	fi
	log "generating ${dir#"$root"/} ($params)"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	t0=$(now_ms)
	timeout --foreground 14400 "$gen_bin" --data "$dir.tmp" --users "$users" --follows "$follows" \
		--tweets "$tweets" --tokens "$tokens" --seed "$seed" >"$logs/gen.log" 2>&1 ||
		die "chirp-gen failed: $(tail -5 "$logs/gen.log")"
	gen_ms=$(($(now_ms) - t0))
	for f in chirp.db tokens.txt tweet_ids.txt fanout_pairs.txt; do
		[[ -s $dir.tmp/$f ]] || die "chirp-gen left no $f in $dir.tmp"
	done
	printf '%s\n' "$params" >"$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
}

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

# A fresh copy of a seed directory to serve from, so the benchmark's own
# posts never leak into the next run's data.
run_dir=$work/run
fresh_run_dir() {
	rm -rf "$run_dir"
	cp -a --reflink=auto "$1" "$run_dir"
	rm -f "$run_dir/.complete"
	flush_disk
}

# Writes back dirty pages (a fresh copy is gigabytes at medium) so that
# their writeback does not land in a measurement, least of all an fsync's.
flush_disk() { timeout --foreground 600 sync || log "warning: sync did not finish in 600 s"; }

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

# -------------------------------------------------------------- servers

chirp_port=''
startup_ms=''
start_chirp() {
	local t0 deadline
	chirp_port=$(free_port)
	log "starting chirp on 127.0.0.1:$chirp_port (data ${1#"$root"/})"
	t0=$(now_ms)
	# A load test: no rate-limit budgets, and no access log (a line per
	# request would measure the log, not the feed).
	"$chirp_bin" serve --listen "127.0.0.1:$chirp_port" --data "$1" --threads 1 \
		--celebrity-threshold "$threshold" --no-rate-limits --access-log off \
		>>"$logs/chirp.log" 2>&1 &
	chirp_pid=$!
	deadline=$((SECONDS + 300))
	until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$chirp_port/healthz"; do
		alive "$chirp_pid" || die "chirp exited during start-up: $(tail -5 "$logs/chirp.log")"
		((SECONDS < deadline)) || die "chirp did not answer /healthz within 300 s"
		sleep 0.05
	done
	startup_ms=$(($(now_ms) - t0))
}

chirp_exit=''
stop_chirp() {
	log "stopping chirp"
	stop_pid "$chirp_pid" chirp
	chirp_pid=''
	chirp_exit=$stop_rc
	((chirp_exit == 0)) || log "warning: chirp exited with status $chirp_exit on SIGTERM"
}

# Serves bench files from $tmp/www with nginx on a free port.
nginx_port=''
start_nginx() {
	local prefix=$tmp/nginx deadline
	nginx_port=$(free_port)
	mkdir -p "$prefix/tmp"
	sed -e "s#@PREFIX@#$prefix#g" -e "s#@PORT@#$nginx_port#g" -e "s#@ROOT@#$tmp/www#g" \
		"$root/bench/nginx.conf.in" >"$prefix/nginx.conf"
	log "starting nginx on 127.0.0.1:$nginx_port"
	"$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
		>>"$logs/nginx.log" 2>&1 &
	nginx_pid=$!
	deadline=$((SECONDS + 30))
	until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$nginx_port/feed.json"; do
		alive "$nginx_pid" || die "nginx exited during start-up: $(tail -5 "$prefix/error.log")"
		((SECONDS < deadline)) || die "nginx did not answer within 30 s"
		sleep 0.05
	done
}

# ---------------------------------------------------------- measurements

# Sends every "<path> <token|->" line of stdin to chirp over one keep-alive
# connection (curl reuses it across the config's entries) and prints curl's
# write-out ($1) once per request.
curl_batch() {
	awk -v base="http://127.0.0.1:$chirp_port" -v wo="$1" '
		NR > 1 { print "next" }
		{
			printf "url = \"%s%s\"\noutput = \"/dev/null\"\nmax-time = 30\n", base, $1
			printf "write-out = \"%s\\n\"\n", wo
			if ($2 != "-") printf "header = \"Authorization: Bearer %s\"\n", $2
		}' >"$tmp/batch.curlrc"
	timeout --foreground 3600 curl -s --config "$tmp/batch.curlrc" || true
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

# Sends 51 of the "<path> <token|->" lines in $1 (the same sample every run),
# saves the body of the response of median size as $tmp/www/$2 for nginx,
# and prints its size in bytes.
median_body() {
	local file=$2 sample pick path token auth=()
	mkdir -p "$tmp/www"
	sample=$(shuf -n 51 --random-source=<(yes) <<<"$1")
	# "<path> <token> <status> <size>", then the median of the 200s by size.
	pick=$(paste -d ' ' <(printf '%s\n' "$sample") \
		<(curl_batch '%{http_code} %{size_download}' <<<"$sample") |
		awk '$3 == 200' | sort -k4,4n | awk '{ a[NR] = $0 } END { if (NR) print a[int((NR + 1) / 2)] }')
	[[ -n $pick ]] || die "no successful request among the 51 to size $file"
	read -r path token _ <<<"$pick"
	[[ $token == - ]] || auth=(-H "Authorization: Bearer $token")
	curl -fs --max-time 30 "${auth[@]}" -o "$tmp/www/$file" "http://127.0.0.1:$chirp_port$path" ||
		die "cannot fetch $path"
	stat -c %s "$tmp/www/$file"
}

# Runs wrk with one of bench/lua/*.lua. Sets r_line (BENCH_RESULT words),
# r_rps, r_p50 and r_p99 (ms), r_errors (a short text) and keeps wrk's output
# in $logs/wrk-<name>.txt.
r_line=''
r_rps=''
r_p50=''
r_p99=''
r_errors=''
run_wrk() {
	local name=$1 url=$2 script=$3 extra=() status sock
	shift 3
	(($#)) && extra=(-- "$@")
	log "wrk: $name (${duration} s, $connections connections)"
	timeout --foreground $((duration + 60)) wrk -t1 -c"$connections" -d"${duration}s" --latency \
		--timeout 10s -s "$lua/$script" "$url" "${extra[@]}" >"$logs/wrk-$name.txt" 2>&1 ||
		die "wrk $name failed: $(tail -5 "$logs/wrk-$name.txt")"
	r_line=$(grep '^BENCH_RESULT ' "$logs/wrk-$name.txt") || die "wrk $name printed no BENCH_RESULT"
	r_rps=$(calc "$(kv "$r_line" rps)" %.0f)
	r_p50=$(thousandths "$(kv "$r_line" p50_us)")
	r_p99=$(thousandths "$(kv "$r_line" p99_us)")
	status=$(kv "$r_line" status_err)
	sock=$(($(kv "$r_line" connect_err) + $(kv "$r_line" read_err) + $(kv "$r_line" write_err) + $(kv "$r_line" timeout_err)))
	r_errors=0
	if ((status + sock > 0)); then
		r_errors="**$status non-2xx, $sock socket/timeout**"
		log "warning: wrk $name saw $status non-2xx responses and $sock socket errors/timeouts"
	fi
}

# One gauge or counter from chirp's /metrics ("" when absent).
metrics_text=''
fetch_metrics() { metrics_text=$(curl -fs --max-time 10 "http://127.0.0.1:$chirp_port/metrics" || true); }
metric() { awk -v n="$1" '$1 == n { print $2; exit }' <<<"$metrics_text"; }
or_na() { if [[ -n $1 ]]; then printf '%s' "$1"; else printf 'n/a'; fi; }

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
warm_timelines
rss_warm=$(rss_mib "$chirp_pid")
warm_1=$warm_ms
ntok=$(wc -l <"$run_dir/tokens.txt")
out "## Cold start"
out ""
out "- chirp answered /healthz $startup_ms ms after launch; RSS $rss_start MiB"
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
	out "- database: $(du -sh "$run_dir/chirp.db" | cut -f1)"
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
