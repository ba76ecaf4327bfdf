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
#   2. GET /v1/search/tweets and /v1/search/users with wrk, in two tables,
#      each beside the one-word query of the same run (the baseline the
#      targets are given against) and nginx serving a file of the median
#      search response's size:
#      - common words: one word, two words, a phrase, a prefix, a typo,
#        newest first, from:handle, users by handle (prefix, and a typo in
#        a whole handle); the words are chirp-gen's top-ranked theme words
#        (coffee, morning, ...), each in a few percent of all tweets;
#      - worst cases: the shapes an inverted index finds hardest: the most
#        common word, 2-character prefixes (the most words), 5-character
#        ones (past FTS5's prefix indexes), phrases of common words that are
#        seldom side by side, two-typo words, eight words at once
#   3. indexing lag: from a post's 201 until search finds it
# and prints a Markdown report, also written to
# bench/results/search-<preset>-<UTC timestamp>.md, with a check of the
# targets (docs/performance.md): prefix, phrase and typo queries at least
# 0.5x the one-word queries/s, p99 under 100 ms.
#
# chirp-gen's tweets draw words with a Zipf law from a dictionary (bench/gen.c),
# the theme words at the top ranks.
#
# Environment (all optional): CHIRP_BIN, CHIRP_GEN, PYTHON, BENCH_DURATION
# (s per wrk run, 10), BENCH_CONNECTIONS (8), BENCH_LAG_SAMPLES (100),
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
connections=${BENCH_CONNECTIONS:-8}
threshold=10000
lag_samples=${BENCH_LAG_SAMPLES:-100}
seed=${BENCH_SEED:-1}

work=$root/bench/work/$preset
logs=$work/logs
lua=$root/bench/lua
report=$root/bench/results/search-$preset-$(date -u +%Y%m%dT%H%M%SZ).md

# shellcheck source=bench/harness.sh
source "$root/bench/harness.sh"

# The queries of each kind, as request paths, one per line. Common words
# first, then the worst cases (worst_kinds).
common_kinds=(word two phrase prefix typo recent from users users-typo)
worst_kinds=(the prefix2 prefix5 phrase-rare typo2 eight)
queries() {
	local kind=$1 w i
	local words=(coffee morning timeline music release weekend latency throughput)
	local typos=(cofee mornnig timelin musik relase weekedn latncy thruoghput)
	# Pairs of common words seldom side by side: the phrase's matches are
	# few among the many tweets that hold both.
	local rare=(coffee+throughput morning+latency timeline+weekend music+release
		release+music weekend+timeline latency+morning throughput+coffee)
	# Two edits, in words long enough to be allowed two (search/fuzzy.h).
	local typos2=(tmielien thruoghptu throuhgptu timleien tiemlien thorughptu tmieline tohrughput)
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
	users-typo) for ((i = 0; i < 50; i++)); do echo "/v1/search/users?q=uesr$(((i * 7919) % users))"; done ;;
	the) echo "/v1/search/tweets?q=the" ;;
	prefix2) for w in "${words[@]}"; do echo "/v1/search/tweets?q=${w:0:2}*"; done ;;
	prefix5) for w in "${words[@]}"; do echo "/v1/search/tweets?q=${w:0:5}*"; done ;;
	phrase-rare) for w in "${rare[@]}"; do echo "/v1/search/tweets?q=%22$w%22"; done ;;
	typo2) for w in "${typos2[@]}"; do echo "/v1/search/tweets?q=$w"; done ;;
	eight) echo "/v1/search/tweets?q=$(IFS=+ && echo "${words[*]}")" ;;
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

for kind in "${common_kinds[@]}" "${worst_kinds[@]}"; do
	queries "$kind" >"$tmp/q-$kind.txt"
done
search_bytes=$(median_body "$(sed 's/$/ -/' "$tmp/q-word.txt" "$tmp/q-two.txt" "$tmp/q-typo.txt")" search.json)
start_nginx search.json

# One row of a query table: wrk on the queries of `kind`, against the
# one-word query's requests/s (rps[word]) once that has run.
declare -A rps p99
query_row() {
	local kind=$1 example
	run_wrk "search-$kind" "http://127.0.0.1:$chirp_port" paths.lua "$tmp/q-$kind.txt" "$seed"
	rps[$kind]=$r_rps
	p99[$kind]=$r_p99
	example=$(head -1 "$tmp/q-$kind.txt")
	out "| $kind | \`${example#/v1/search/}\` | $r_rps | $r_p50 | $r_p99 | $r_errors | $(ratio "$r_rps" "${rps[word]}")× |"
}
table_head() {
	out "| query | example | requests/s | p50 ms | p99 ms | errors | ÷ one word |"
	out "|---|---|---:|---:|---:|---|---:|"
}

out "## Queries"
out ""
out "Each row: wrk for ${duration} s, $connections connections, a random query of the kind per request (limit 20); \`÷ one word\`: requests/s against the one-word row of this run."
out ""
run_wrk nginx-search "http://127.0.0.1:$nginx_port/search.json" static.lua
out "Baseline: nginx serving a $search_bytes-byte file (the median size of sampled search responses): $r_rps requests/s, p50 $r_p50 ms, p99 $r_p99 ms, $r_errors errors."
out ""
out "### Common words"
out ""
table_head
for kind in "${common_kinds[@]}"; do
	query_row "$kind"
done
out ""
out "### Worst cases"
out ""
table_head
out "| word (the row above) | | ${rps[word]} | | ${p99[word]} | | 1.00× |"
for kind in "${worst_kinds[@]}"; do
	query_row "$kind"
done
out ""
out "### Targets"
out ""
out "Against one word (${rps[word]} requests/s), at $connections connections:"
out ""
for kind in prefix phrase typo; do
	verdict=met
	awk "BEGIN { exit !(${rps[$kind]} >= 0.5 * ${rps[word]} && ${p99[$kind]} < 100) }" || verdict=missed
	out "- $kind: $(ratio "${rps[$kind]}" "${rps[word]}")× (≥ 0.5×), p99 ${p99[$kind]} ms (< 100 ms): $verdict"
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
