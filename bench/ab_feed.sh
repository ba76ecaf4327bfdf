#!/usr/bin/env bash
# ab_feed.sh — GET /v1/feed?limit=20 of two chirp builds in one run, on the
# same data: both servers up side by side, wrk runs alternating between
# them, and each server's CPU time per request (from /proc, so a busy
# machine skews it less than requests/s). For "is this change as fast as
# before" on a shared machine (bench/README.md).
#
#   bench/ab_feed.sh OLD_CHIRP OLD_SEED NEW_CHIRP NEW_SEED [ROUNDS] [SECONDS]
#
# WARM=SECONDS (default 5) is the first, unmeasured run on each server,
# which builds the timelines its pages read: the medium preset's 10,000
# need about a minute.
#
# A seed is a directory bench/run.sh generated (bench/work/<preset>/seed,
# with its tokens.txt); each build serves a scratch copy of its own, since
# an older build cannot open a store a newer one migrated. Generate both
# seeds with the same preset and BENCH_SEED so they hold the same data.
set -euo pipefail
(($# >= 4)) || { sed -n '2,/^set -euo/ s/^# \{0,1\}//p' "$0" | sed '/^set -euo/d'; exit 2; }
old_bin=$1 old_seed=$2 new_bin=$3 new_seed=$4 rounds=${5:-6} secs=${6:-5}
lua=$(cd "$(dirname "$0")" && pwd)/lua
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # scrape_metrics
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chirp-ab-XXXXXX")
pids=()
cleanup() {
	((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null && wait "${pids[@]}" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# serve NAME BIN SEED: a copy of SEED served by BIN; sets port[NAME], pid[NAME].
declare -A port pid
serve() {
	cp -r "$3" "$tmp/$1"
	port[$1]=$(free_port)
	"$2" serve --listen "127.0.0.1:${port[$1]}" --data "$tmp/$1" --threads 1 \
		--celebrity-threshold 10000 --no-rate-limits --access-log off >"$tmp/$1.log" 2>&1 &
	pid[$1]=$!
	pids+=("$!")
	local deadline=$((SECONDS + 120))
	until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:${port[$1]}/healthz"; do
		((SECONDS < deadline)) || { echo "$1 did not start: $(tail -3 "$tmp/$1.log")" >&2; exit 1; }
		sleep 0.1
	done
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# wrk_feed NAME SECONDS: sets reqs (requests done) and cpu_us (the server's
# CPU time per request).
reqs='' cpu_us=''
wrk_feed() {
	local c0 c1
	c0=$(cpu_ticks "${pid[$1]}")
	reqs=$(wrk -t1 -c64 -d"$2s" --timeout 10s -s "$lua/feed.lua" "http://127.0.0.1:${port[$1]}" \
		-- "$tmp/$1/tokens.txt" 1 | awk '/ requests in / { print $1 }')
	c1=$(cpu_ticks "${pid[$1]}")
	cpu_us=$(awk -v t=$((c1 - c0)) -v n="$reqs" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
}
# index_idle NAME: waits until the server's search index has taken no
# tweet for 3 s. Each builds its index from the store at start (a seed
# copied without its search.db: all of it), and that would take CPU from
# the measurement.
index_idle() {
	local last=-1 n same=0 deadline=$((SECONDS + 1800))
	while ((same < 3)); do
		((SECONDS < deadline)) || { echo "$1: the search index was still busy after 30 min" >&2; exit 1; }
		sleep 1
		n=$(scrape_metrics "${port[$1]}" "$tmp/$1" |
			awk '$1 == "chirp_search_tweets_indexed_total" { print $2 }')
		[[ $n == "$last" ]] && same=$((same + 1)) || same=0
		last=$n
	done
}
serve old "$old_bin" "$old_seed"
serve new "$new_bin" "$new_seed"
index_idle old
index_idle new
wrk_feed old "${WARM:-5}" # builds the timelines
wrk_feed new "${WARM:-5}"
echo "| round | old req/s | new req/s | new ÷ old | old CPU µs/req | new CPU µs/req |"
echo "|---:|---:|---:|---:|---:|---:|"
to=0 tn=0 co=0 cn=0
for i in $(seq "$rounds"); do
	wrk_feed old "$secs"
	o=$reqs ocpu=$cpu_us
	wrk_feed new "$secs"
	n=$reqs ncpu=$cpu_us
	to=$((to + o)) tn=$((tn + n))
	co=$(awk -v a="$co" -v b="$ocpu" -v k="$o" 'BEGIN { print a + b * k }')
	cn=$(awk -v a="$cn" -v b="$ncpu" -v k="$n" 'BEGIN { print a + b * k }')
	awk -v i="$i" -v o="$o" -v n="$n" -v s="$secs" -v oc="$ocpu" -v nc="$ncpu" \
		'BEGIN { printf "| %d | %.0f | %.0f | %.2f | %s | %s |\n", i, o / s, n / s, n / o, oc, nc }'
done
awk -v o="$to" -v n="$tn" -v co="$co" -v cn="$cn" -v s="$((rounds * secs))" \
	'BEGIN { printf "| all | %.0f | %.0f | %.2f | %.1f | %.1f |\n", o / s, n / s, n / o, co / o, cn / n }'
echo
echo "feed page sizes (first token): old $(curl -s -H "Authorization: Bearer $(awk 'NR == 1 { print $2 }' "$tmp/old/tokens.txt")" "http://127.0.0.1:${port[old]}/v1/feed?limit=20" | wc -c) bytes, new $(curl -s -H "Authorization: Bearer $(awk 'NR == 1 { print $2 }' "$tmp/new/tokens.txt")" "http://127.0.0.1:${port[new]}/v1/feed?limit=20" | wc -c) bytes; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
