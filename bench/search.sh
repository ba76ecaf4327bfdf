#!/usr/bin/env bash
# search.sh — chirp's search benchmark, against a baseline measured in the
# same run (bench/README.md).
#
#   bench/search.sh [small|medium]
#
# Uses the seed data set of bench/run.sh (bench/work/<preset>/seed; made
# with chirp-gen if missing), copies it to a scratch data directory with no
# search index, starts `chirp serve --threads 1` and measures:
#   1. indexing throughput: the index built from the store at start-up
#   2. GET /v1/search/tweets by kind of query (one word, two words, a
#      phrase, a prefix, a typo, newest first, from:handle) and
#      GET /v1/search/users, each with wrk, against nginx serving a file of
#      the median search response's size
#   3. indexing lag: from a post's 201 until search finds it
# and prints a Markdown report, also written to
# bench/results/search-<preset>-<UTC timestamp>.md.
#
# chirp-gen's tweets are drawn from a vocabulary of 38 words, so every query
# word is in a large share of all tweets: a worst case for an inverted index
# (long posting lists), not a typical one.
#
# Environment (all optional): CHIRP_BIN, CHIRP_GEN, PYTHON, BENCH_DURATION
# (s per wrk run, 10), BENCH_CONNECTIONS (64), BENCH_LAG_SAMPLES (100),
# BENCH_SEED (1).
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/ s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" | sed '/^set -euo/d'
}

preset=medium
for arg in "$@"; do
	case $arg in
	small | medium) preset=$arg ;;
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

chirp_bin=${CHIRP_BIN:-$root/chirp}
gen_bin=${CHIRP_GEN:-$root/build/release/bench/chirp-gen}
python=${PYTHON:-python3}
duration=${BENCH_DURATION:-10}
connections=${BENCH_CONNECTIONS:-64}
threshold=10000
lag_samples=${BENCH_LAG_SAMPLES:-100}
seed=${BENCH_SEED:-1}

work=$root/bench/work/$preset
logs=$work/logs
lua=$root/bench/lua
report=$root/bench/results/search-$preset-$(date -u +%Y%m%dT%H%M%SZ).md

# shellcheck source=bench/harness.sh
source "$root/bench/harness.sh"

# The queries of each kind, as request paths, one per line.
queries() {
	local kind=$1 w
	local words=(coffee morning timeline latency release weekend music throughput)
	local typos=(cofee mornnig timelin latncy relase weekedn musik thruoghput)
	case $kind in
	word) for w in "${words[@]}"; do echo "/v1/search/tweets?q=$w"; done ;;
	two) for w in "${words[@]}"; do echo "/v1/search/tweets?q=$w+rain"; done ;;
	phrase) for w in "${words[@]}"; do echo "/v1/search/tweets?q=%22great+$w%22"; done ;;
	prefix) for w in "${words[@]}"; do echo "/v1/search/tweets?q=${w:0:4}*"; done ;;
	typo) for w in "${typos[@]}"; do echo "/v1/search/tweets?q=$w"; done ;;
	recent) for w in "${words[@]}"; do echo "/v1/search/tweets?q=$w&sort=recent"; done ;;
	from)
		for ((i = 0; i < 50; i++)); do
			echo "/v1/search/tweets?q=from:user$(((i * 7919) % users))+coffee"
		done
		;;
	users) for ((i = 0; i < 50; i++)); do echo "/v1/search/users?q=user$(((i * 7919) % users))"; done ;;
	esac
}

mkdir -p "$logs" "$root/bench/results"
[[ -f $root/bench/work/.gitignore ]] || printf '*\n' >"$root/bench/work/.gitignore"
: >"$logs/chirp.log"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chirp-bench.XXXXXX")
ensure_tools

commit=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
out "# chirp search benchmark: $preset preset"
out ""
out "Run $(date -u '+%Y-%m-%d %H:%M:%S') UTC, commit \`$commit\`, on $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)); load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)."
out "chirp \`--threads 1\`; wrk \`-t1 -c$connections -d${duration}s\`; nginx one process; all on the same cores over loopback."
out ""

prepare_seed
fresh_run_dir "$work/seed"
rm -f "$run_dir"/search.db*
start_chirp "$run_dir"
wait_index "$tweets"
out "## Indexing"
out ""
out "- $users users and $tweets tweets indexed from the store at start-up in $(thousandths "$index_ms") s: $(calc "$tweets / ($index_ms / 1000)" %.0f) tweets/s (one indexer thread, beside an idle server)"
out "- index size: $(du -sh "$run_dir/search.db" | cut -f1) (store: $(du -sh "$run_dir/chirp.db" | cut -f1)); chirp RSS $(rss_mib "$chirp_pid") MiB"
out ""

for kind in word two phrase prefix typo recent from users; do
	queries "$kind" >"$tmp/q-$kind.txt"
done
search_bytes=$(median_body "$(sed 's/$/ -/' "$tmp/q-word.txt" "$tmp/q-two.txt" "$tmp/q-typo.txt")" search.json)
start_nginx search.json

out "## Queries"
out ""
out "Each row: wrk for ${duration} s, $connections connections, a random query of the kind per request (limit 20). Baseline: nginx serving a $search_bytes-byte file (the median size of sampled search responses)."
out ""
out "| query | example | requests/s | p50 ms | p99 ms | errors | chirp ÷ nginx |"
out "|---|---|---:|---:|---:|---|---:|"
run_wrk nginx-search "http://127.0.0.1:$nginx_port/search.json" static.lua
nginx_rps=$r_rps
out "| baseline: nginx, $search_bytes-byte file | | $r_rps | $r_p50 | $r_p99 | $r_errors | |"
for kind in word two phrase prefix typo recent from users; do
	run_wrk "search-$kind" "http://127.0.0.1:$chirp_port" paths.lua "$tmp/q-$kind.txt" "$seed"
	example=$(head -1 "$tmp/q-$kind.txt")
	out "| $kind | \`${example#/v1/search/}\` | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "$nginx_rps")× |"
done
stop_pid "$nginx_pid" nginx
nginx_pid=''
out ""

log "indexing lag ($lag_samples samples)"
lag=$(timeout --foreground 900 "$python" "$root/bench/search_lag.py" --port "$chirp_port" \
	--tokens "$run_dir/tokens.txt" --samples "$lag_samples" --seed "$seed" 2>>"$logs/search-lag.log") ||
	die "search_lag.py failed: $(tail -5 "$logs/search-lag.log")"
lag=$(grep '^SEARCH_LAG ' <<<"$lag") || die "search_lag.py printed no SEARCH_LAG line"
out "## Indexing lag"
out ""
out "From a post's 201 until \`GET /v1/search/tweets?q=<its unique word>&sort=recent\` finds it (polled every ~1 ms): $(kv "$lag" samples) samples, p50 $(or_na "$(kv "$lag" p50_ms)") ms, p99 $(or_na "$(kv "$lag" p99_ms)") ms, max $(or_na "$(kv "$lag" max_ms)") ms, $(kv "$lag" timeouts) not found within 5 s (target: under 1 s)."
out ""
stop_chirp
out "- chirp exit status on SIGTERM: $chirp_exit; load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
log "report written to ${report#"$root"/}"
