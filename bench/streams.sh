#!/usr/bin/env bash
# bench/streams.sh — the live feed at scale (docs/performance.md, "Live
# feed"): STREAMS (10,000) event streams held open on one chirp process
# while wrk reads feeds, against the same wrk run without streams.
#
# Steps: generate the small preset's data once (chirp-gen; reused from
# bench/work/small when it is there), measure the loopback floor (what
# writing one event to every stream costs the kernel alone), start chirp
# (THREADS event loops, one per core by default, so the streams spread over
# them as SO_REUSEPORT hands out the connections) with the connection and
# stream caps raised, wait until it has indexed the store for search, run
# wrk on GET /v1/feed alone (the baseline), then open the streams with
# bench/chirp-streams (one epoll thread; 5 streams per token, the default
# per-user cap), note chirp's resident memory before and after, and run
# the same wrk while chirp-streams posts tweets and times their arrival at
# every stream.
#
# Environment: STREAMS (10000), BENCH_DURATION (s per wrk run, 10),
# BENCH_CONNECTIONS (64), POSTS (20, one every 250 ms), THREADS (chirp's
# --threads; its default, one per core, when unset), PERF (1: perf records
# chirp during the run with streams, and the report shows where its time
# went, by library and by function).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-/usr/bin/python3}
streams=${STREAMS:-10000}
duration=${BENCH_DURATION:-10}
connections=${BENCH_CONNECTIONS:-64}
posts=${POSTS:-20}
threads=${THREADS:-$(nproc)}
work=$root/bench/work/small
stamp=$(date -u +%Y%m%dT%H%M%SZ)
run_dir=$root/bench/work/streams-$stamp
logs=$run_dir/logs
report=$root/bench/results/streams-$stamp.md
mkdir -p "$logs" "$root/bench/results"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
preset_sizes small
command -v wrk >/dev/null || apt_install wrk
seed=1
chirp_bin=$root/chirp
gen_bin=$root/build/release/bench/chirp-gen
client_bin=$root/build/release/bench/chirp-streams

# Each stream is a descriptor in chirp and one in the client (chirp adds a
# second, to notice hang-ups at once, only while under half its limit):
# raise the limit as far as the hard limit goes, and that too when allowed.
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > streams + 2000 )) ||
	die "open-file limit $(ulimit -n) is too low for $streams streams (run as root, or raise it)"

params="users=$users follows=$follows tweets=$tweets tokens=$tokens seed=$seed"
if [[ ! -f $work/seed/.complete || $(<"$work/seed/.complete") != "$params" ]]; then
	log "generating bench/work/small/seed ($params)"
	rm -rf "$work/seed" "$work/seed.tmp"
	mkdir -p "$work/seed.tmp"
	"$gen_bin" --data "$work/seed.tmp" --users "$users" --follows "$follows" --tweets "$tweets" \
		--tokens "$tokens" --seed "$seed" >"$logs/gen.log" 2>&1 || die "chirp-gen failed"
	printf '%s\n' "$params" >"$work/seed.tmp/.complete"
	mv "$work/seed.tmp" "$work/seed"
fi
cp "$work/seed/chirp.db" "$work/seed/tokens.txt" "$run_dir/"

# The kernel's share, before chirp runs: one event-sized message written to
# each of $streams loopback connections, and read back (chirp-streams
# --floor). A post's delivery costs chirp at least the writes.
log "measuring the loopback floor ($streams connections)"
floor=$("$client_bin" --floor "$streams" | grep '^FLOOR_RESULT ') ||
	die "chirp-streams --floor failed"

port=$(free_port)
"$chirp_bin" serve --listen "127.0.0.1:$port" --data "$run_dir" --threads "$threads" --no-rate-limits \
	--access-log off --max-connections $((streams + 2000)) --max-streams $((streams + 1000)) \
	>>"$logs/chirp.log" 2>&1 &
chirp_pid=$!
client_pid=''
trap 'stop_pid "$client_pid" chirp-streams; stop_pid "$chirp_pid" chirp' EXIT
until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"; do
	alive "$chirp_pid" || die "chirp exited: $(tail -5 "$logs/chirp.log")"
	sleep 0.05
done

wrk_feed() { # name: runs wrk on the feed, sets rps and p99
	wrk -t1 -c"$connections" -d"${duration}s" --latency --timeout 10s -s "$root/bench/lua/feed.lua" \
		"http://127.0.0.1:$port" -- "$run_dir/tokens.txt" 1 >"$logs/wrk-$1.txt" 2>&1 ||
		die "wrk failed: $(tail -3 "$logs/wrk-$1.txt")"
	local line
	line=$(grep '^BENCH_RESULT ' "$logs/wrk-$1.txt")
	rps=$(kv "$line" rps)
	p99=$(calc "$(kv "$line" p99_us) / 1000" %.2f)
}

# Before anything is measured: chirp indexes the copied store for search
# at start, and that took a third of its CPU when it ran beside the wrk runs.
wait_index_of "$port" "$run_dir" "$tweets"
log "warming every timeline (one short wrk run)"
wrk -t1 -c"$connections" -d3s -s "$root/bench/lua/feed.lua" "http://127.0.0.1:$port" -- \
	"$run_dir/tokens.txt" 2 >/dev/null 2>&1
log "wrk on GET /v1/feed without streams"
wrk_feed alone
rps_alone=$rps p99_alone=$p99
rss_before=$(awk '/^VmRSS:/ { print $2 }' "/proc/$chirp_pid/status")

log "opening $streams streams"
"$client_bin" --port "$port" --tokens "$run_dir/tokens.txt" --streams "$streams" --posts "$posts" \
	--interval-ms 250 --settle-ms 1500 >"$logs/client.txt" 2>&1 &
client_pid=$!
until grep -q '^READY' "$logs/client.txt"; do
	alive "$client_pid" || die "chirp-streams failed: $(tail -3 "$logs/client.txt")"
	sleep 0.1
done
rss_after=$(awk '/^VmRSS:/ { print $2 }' "/proc/$chirp_pid/status")
open=$(scrape_metrics "$port" "$run_dir" | awk '$1 == "chirp_streams_open" { print $2 }')
log "wrk on GET /v1/feed with $open streams open (tweets posted meanwhile)"
perf_start "$chirp_pid" "$logs/chirp-with-streams.data"
wrk_feed streams
rps_streams=$rps p99_streams=$p99
perf_stop
wait "$client_pid" || die "chirp-streams failed: $(tail -3 "$logs/client.txt")"
client_pid=''
result=$(grep '^STREAMS_RESULT ' "$logs/client.txt")
per_stream=$(calc "($rss_after - $rss_before) * 1024 / $streams" %.0f)

out "## Live feed: $streams streams, $(date -u +%Y-%m-%d)"
out ""
out "- machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
out "- chirp \`--threads $threads\`, small preset data ($users users, $tokens tokens), wrk \`-t1 -c$connections -d${duration}s\` on GET /v1/feed?limit=20; wrk, chirp and chirp-streams share the cores"
out "- streams open (chirp_streams_open): $open"
floor_n=$(kv "$floor" streams)
floor_w=$(calc "$(kv "$floor" write_ms) * $streams / $floor_n" %.1f)
floor_r=$(calc "$(kv "$floor" read_ms) * $streams / $floor_n" %.1f)
out "- the loopback floor, before chirp started: one $(kv "$floor" bytes)-byte message written to each of $floor_n connections (the open-files limit's share; scaled to $streams) takes **$floor_w ms** of one core, reading them $floor_r ms (fastest of 5 rounds, nothing else running): a post's events cost chirp at least the first, spread over its $threads loops, and the client the second"
out "- chirp resident memory: $((rss_before / 1024)) MiB before the streams, $((rss_after / 1024)) MiB with them: **$per_stream bytes per stream**"
out "- delivery ($posts tweets, each to every stream; from the post's 201 to the event): p50 $(kv "$result" p50_ms) ms, p99 $(kv "$result" p99_ms) ms, max $(kv "$result" max_ms) ms, events missing $(kv "$result" missing); from the POST's send: p50 $(kv "$result" p50_from_send_ms) ms, p99 $(kv "$result" p99_from_send_ms) ms"
out "- feed reads: $rps_alone req/s (p99 $p99_alone ms) without streams; $rps_streams req/s (p99 $p99_streams ms) with them: $(calc "$rps_streams / $rps_alone" %.2f)x"
if [[ ${PERF:-0} == 1 ]]; then
	out ""
	perf_summary "$logs/chirp-with-streams.data" | tee -a "$report"
fi
