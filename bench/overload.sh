#!/usr/bin/env bash
# overload.sh — does chirp shed load, or queue it? An open-loop overload test.
#
#   bench/overload.sh [small|medium]
#
# Uses the preset's seed data (bench/work/<preset>/seed, generated with
# chirp-gen as bench/run.sh does when missing), serves a scratch copy with
# `chirp serve --threads 1 --no-rate-limits --access-log off
# --max-connections 128`, warms every token's feed once, then:
#   a. capacity C: wrk -t1 -c64 -d8s, GET /v1/feed?limit=20, random token
#   b. normal load: bench/loadgen at 0.5×C for 10 s (64 connections)
#   c. overload: bench/loadgen at 2×C for 10 s (512 connections)
# sampling chirp's VmRSS (and its in-flight gauge) every second during b and
# c. Prints a Markdown report (also kept in bench/work/<preset>/logs/
# overload-report.md) ending in the verdict: admitted (2xx) p99 at 2×
# capacity ÷ 2xx p99 at normal load, aim ≤ 2. Loopback only; every wait is
# bounded; the EXIT trap stops what the script started.
#
# Environment (all optional): CHIRP_BIN, CHIRP_GEN, LOADGEN (binaries),
# PYTHON, OVERLOAD_DURATION (s per loadgen run, 10), OVERLOAD_CONNECTIONS
# (512), OVERLOAD_MAX_INFLIGHT (256), BENCH_SEED (1).
set -euo pipefail

usage() {
	sed -n '2,/^set -euo/ s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" | sed '/^set -euo/d'
}

preset=small
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
loadgen_bin=${LOADGEN:-$root/build/release/bench/loadgen}
python=${PYTHON:-python3}
duration=${OVERLOAD_DURATION:-10}
over_conns=${OVERLOAD_CONNECTIONS:-512}
max_connections=${OVERLOAD_MAX_CONNECTIONS:-128}
seed=${BENCH_SEED:-1}
cap_seconds=8
normal_conns=64

work=$root/bench/work/$preset
logs=$work/logs
lua=$root/bench/lua
run_dir=$work/run-overload
report=$logs/overload-report.md

# ------------------------------------------------------------------ helpers

ms() { calc "$1 / 1000" %.2f; } # µs to ms

chirp_pid=''
sampler_pid=''
tmp=''
cleanup() {
	local rc=$?
	trap - EXIT
	stop_pid "$sampler_pid" sampler
	stop_pid "$chirp_pid" chirp
	[[ -n $tmp ]] && rm -rf "$tmp"
	rm -rf "$run_dir"
	((rc == 0)) || log "failed (exit $rc); logs in ${logs#"$root"/}"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ preparation

prepare() {
	command -v wrk >/dev/null || die "wrk is missing (bench/run.sh installs it)"
	command -v curl >/dev/null || die "curl is missing"
	[[ -x $chirp_bin ]] || die "no chirp binary at $chirp_bin: run \`make chirp\`"
	if [[ ! -x $gen_bin ]]; then
		log "building bench tools (make bench-tools)"
		timeout --foreground 900 make --no-print-directory bench-tools >"$logs/overload-make.log" 2>&1 ||
			die "make bench-tools failed: $(tail -5 "$logs/overload-make.log")"
	fi
	# The load generator: one file, no dependencies, not in the Makefile.
	mkdir -p "$(dirname "$loadgen_bin")"
	if [[ ! -x $loadgen_bin || $root/bench/loadgen.c -nt $loadgen_bin ]]; then
		log "building $loadgen_bin"
		cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$loadgen_bin" "$root/bench/loadgen.c" ||
			die "cannot build bench/loadgen.c"
	fi
}

# Same seed, same parameters, same .complete check as bench/run.sh.
prepare_seed() {
	local dir=$work/seed params="users=$users follows=$follows tweets=$tweets tokens=$tokens seed=$seed"
	if [[ -f $dir/.complete && $(<"$dir/.complete") == "$params" ]]; then
		log "reusing ${dir#"$root"/} ($params)"
		return
	fi
	log "generating ${dir#"$root"/} ($params)"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	timeout --foreground 14400 "$gen_bin" --data "$dir.tmp" --users "$users" --follows "$follows" \
		--tweets "$tweets" --tokens "$tokens" --seed "$seed" >"$logs/overload-gen.log" 2>&1 ||
		die "chirp-gen failed: $(tail -5 "$logs/overload-gen.log")"
	[[ -s $dir.tmp/tokens.txt ]] || die "chirp-gen left no tokens.txt"
	printf '%s\n' "$params" >"$dir.tmp/.complete"
	mv "$dir.tmp" "$dir"
}

start_chirp() {
	local deadline
	chirp_port=$(free_port)
	log "starting chirp on 127.0.0.1:$chirp_port (--max-connections $max_connections)"
	"$chirp_bin" serve --listen "127.0.0.1:$chirp_port" --data "$run_dir" --threads 1 \
		--no-rate-limits --access-log off --max-connections "$max_connections" \
		>>"$logs/overload-chirp.log" 2>&1 &
	chirp_pid=$!
	deadline=$((SECONDS + 300))
	until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$chirp_port/healthz"; do
		alive "$chirp_pid" || die "chirp exited during start-up: $(tail -5 "$logs/overload-chirp.log")"
		((SECONDS < deadline)) || die "chirp did not answer /healthz within 300 s"
		sleep 0.05
	done
}

# One feed read per token over one keep-alive connection (as run.sh does).
warm() {
	local codes
	awk -v base="http://127.0.0.1:$chirp_port" '
		NR > 1 { print "next" }
		{
			printf "url = \"%s/v1/feed?limit=20\"\noutput = \"/dev/null\"\nmax-time = 30\n", base
			printf "write-out = \"%%{http_code}\\n\"\nheader = \"Authorization: Bearer %s\"\n", $2
		}' "$run_dir/tokens.txt" >"$tmp/warm.curlrc"
	codes=$(timeout --foreground 900 curl -s --config "$tmp/warm.curlrc" || true)
	warm_ok=$(grep -c '^200$' <<<"$codes" || true)
	((warm_ok > 0)) || die "no warm-up request succeeded"
}

# Samples "<rss MiB> <in-flight gauge>" once a second into $1 until killed
# (and at most $2 samples).
start_sampler() {
	local file=$1 max=$2
	: >"$file"
	(
		for ((i = 0; i < max; i++)); do
			alive "$chirp_pid" || break
			inf=$(scrape_metrics "$chirp_port" "$run_dir" --max-time 0.5 2>/dev/null |
				awk '$1 == "chirp_http_requests_in_flight" { print $2 }' || true)
			printf '%s %s\n' "$(rss_mib "$chirp_pid")" "${inf:-?}" >>"$file"
			sleep 1
		done
	) &
	sampler_pid=$!
}
stop_sampler() {
	stop_pid "$sampler_pid" sampler
	sampler_pid=''
}
rss_range() { awk '$1 != "n/a" { if (n++ == 0 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { if (n) printf "%s / %s", lo, hi; else printf "n/a" }' "$1"; }
inflight_max() { awk '$2 != "?" && $2 > m { m = $2 } END { printf "%d", m }' "$1"; }

# Runs loadgen at $2 req/s with $3 connections; sets lg (its LOADGEN line).
lg=''
run_loadgen() {
	local name=$1 rate=$2 conns=$3
	log "loadgen: $name, $rate req/s for $duration s, $conns connections"
	start_sampler "$logs/overload-rss-$name.txt" $((duration + 15))
	timeout --foreground $((duration + 60)) "$loadgen_bin" \
		--url "http://127.0.0.1:$chirp_port/v1/feed?limit=20" --rate "$rate" \
		--duration "$duration" --connections "$conns" --tokens "$run_dir/tokens.txt" \
		--timeout 10 --drain 10 >"$logs/overload-loadgen-$name.txt" 2>&1 ||
		die "loadgen $name failed: $(tail -5 "$logs/overload-loadgen-$name.txt")"
	stop_sampler
	lg=$(grep '^LOADGEN ' "$logs/overload-loadgen-$name.txt") || die "loadgen $name printed no LOADGEN line"
}

# A table row from $lg.
row() {
	local label=$1 rssfile=$2 sent shed
	sent=$(kv "$lg" sent)
	shed=$(calc "($sent > 0) ? 100 * $(kv "$lg" shed503) / $sent : 0" %.1f)
	out "| $label | $(kv "$lg" rate) | $(kv "$lg" offered) | $sent | $(kv "$lg" ok) | $(kv "$lg" shed503) ($shed %) | $(kv "$lg" other) | $(kv "$lg" unsent) | $(ms "$(kv "$lg" p50_ok_us)") | $(ms "$(kv "$lg" p99_ok_us)") | $(ms "$(kv "$lg" p99_all_us)") | $(rss_range "$rssfile") | $(inflight_max "$rssfile") |"
}

# ------------------------------------------------------------------- run

mkdir -p "$logs"
[[ -f $root/bench/work/.gitignore ]] || printf '*\n' >"$root/bench/work/.gitignore"
: >"$report"
: >"$logs/overload-chirp.log"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chirp-overload.XXXXXX")
prepare
prepare_seed
rm -rf "$run_dir"
cp -a --reflink=auto "$work/seed" "$run_dir"
rm -f "$run_dir/.complete"
timeout --foreground 600 sync || true

commit=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
out "# chirp overload: $preset preset"
out ""
out "Run $(date -u '+%Y-%m-%d %H:%M:%S') UTC, commit \`$commit\`."
out ""
out "- machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release), kernel $(uname -r); load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
out "- chirp \`--threads 1 --no-rate-limits --access-log off --max-connections $max_connections\`; client and server share the same cores, unpinned, over loopback"

start_chirp
t0=$(now_ms)
warm
out "- warmed $warm_ok of $(wc -l <"$run_dir/tokens.txt") feeds in $(calc "($(now_ms) - $t0) / 1000" %.1f) s; chirp RSS $(rss_mib "$chirp_pid") MiB"

log "wrk: capacity (${cap_seconds} s, 64 connections)"
timeout --foreground $((cap_seconds + 60)) wrk -t1 -c64 -d"${cap_seconds}s" --latency --timeout 10s \
	-s "$lua/feed.lua" "http://127.0.0.1:$chirp_port" -- "$run_dir/tokens.txt" "$seed" \
	>"$logs/overload-wrk.txt" 2>&1 || die "wrk failed: $(tail -5 "$logs/overload-wrk.txt")"
wline=$(grep '^BENCH_RESULT ' "$logs/overload-wrk.txt") || die "wrk printed no BENCH_RESULT"
cap=$(calc "$(kv "$wline" rps)" %.0f)
((cap > 0)) || die "capacity measured as $cap req/s"
out "- capacity C (wrk \`-t1 -c64 -d${cap_seconds}s\`, GET /v1/feed?limit=20): **$cap req/s** (wrk p99 $(ms "$(kv "$wline" p99_us)") ms, $(kv "$wline" status_err) non-2xx)"
out ""

sleep 2
run_loadgen normal $((cap / 2)) "$normal_conns"
lg_normal=$lg
sleep 2
run_loadgen overload $((cap * 2)) "$over_conns"
lg_over=$lg
metrics_text=$(scrape_metrics "$chirp_port" "$run_dir" --max-time 10 || true)
srv503=$(awk '$1 == "chirp_http_requests_total{route=\"/v1/feed\",method=\"GET\",status=\"503\"}" { print $2 }' <<<"$metrics_text")

out "Open loop (bench/loadgen.c): request i due at t0 + i/rate; latency from the due time (no coordinated omission); a request due while every connection is busy is not sent (\"unsent\")."
out ""
out "| load | rate offered /s | offered | sent | ok (2xx) | shed 503 (% of sent) | other | unsent | p50 ok ms | p99 ok ms | p99 all ms | RSS MiB min / max | in-flight gauge max |"
out "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
lg=$lg_normal
row "normal, 0.5×C, $normal_conns conns" "$logs/overload-rss-normal.txt"
lg=$lg_over
row "overload, 2×C, $over_conns conns" "$logs/overload-rss-overload.txt"
out ""

p99n=$(kv "$lg_normal" p99_ok_us)
p99o=$(kv "$lg_over" p99_ok_us)
x=$(calc "($p99n > 0) ? $p99o / $p99n : 0" %.2f)
verdict=no
awk -v x="$x" 'BEGIN { exit !(x + 0 <= 2) }' && verdict=yes
out "- admitted p99 at 2× capacity ÷ p99 at normal load = $x (aim ≤ 2): **$([[ $verdict == yes ]] && echo met || echo not met)** ($(ms "$p99o") ms ÷ $(ms "$p99n") ms)"
out "- share shed at 2× capacity: $(calc "($(kv "$lg_over" sent) > 0) ? 100 * $(kv "$lg_over" shed503) / $(kv "$lg_over" sent) : 0" %.1f) % of sent; admitted throughput $(kv "$lg_over" ok_rps) req/s ($(calc "100 * $(kv "$lg_over" ok_rps) / $cap" %.0f) % of C); unsent (all $over_conns connections busy): $(kv "$lg_over" unsent) of $(kv "$lg_over" offered)"
for pair in "normal:$lg_normal" "overload:$lg_over"; do
	l=${pair#*:}
	out "- generator, ${pair%%:*}: sent late by p99 $(ms "$(kv "$l" lag_p99_us)") ms / max $(ms "$(kv "$l" lag_max_us)") ms, CPU $(kv "$l" cpu_pct) % of one core; errors $(kv "$l" errors), time-outs $(kv "$l" timeouts)"
done
out "- chirp's own count of 503s on GET /v1/feed (whole run, from /metrics): ${srv503:-0}"
out "- chirp RSS at the end: $(rss_mib "$chirp_pid") MiB; load average after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
out ""
out "Raw output: bench/work/$preset/logs/overload-*."
log "report also in ${report#"$root"/}"
