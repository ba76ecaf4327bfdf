# bench/lib.sh — shell helpers shared by run.sh and overload.sh: logging,
# the report file, arithmetic, and starting/stopping child processes.
# Sourced, not run; expects $python and $report to be set by the caller.
# shellcheck shell=bash disable=SC2154,SC2034

# Installs Debian packages (as root, or through sudo).
apt_install() {
	log "installing $*"
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "$@"
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
# A line of the report: on stdout and in the report file.
out() { printf '%s\n' "$*" | tee -a "$report"; }
now_ms() { date +%s%3N; }
# The value of key=value in a line of key=value words ("" if absent).
kv() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1"; }
# Arithmetic that bash cannot do (floats); prints "n/a" on bad input.
calc() { awk "BEGIN { x = $1; printf \"$2\", x }" 2>/dev/null || echo n/a; }
alive() {
	local state
	state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}
# GET /metrics of the chirp on 127.0.0.1:PORT whose data dir is DATA, with
# the bearer token chirp keeps in DATA/metrics.token; more curl flags after.
scrape_metrics() {
	local port=$1 data=$2
	shift 2
	curl -fs "$@" -H "Authorization: Bearer $(head -n1 "$data/metrics.token" 2>/dev/null)" \
		"http://127.0.0.1:$port/metrics"
}

# Waits (up to 30 min) until chirp on port $1 (data dir $2) has $3 tweets
# in its search index: a fresh copy of the seed has no index, and chirp
# builds it in the background at start, which would steal CPU from any
# measurement. Sets index_ms.
index_ms=''
wait_index_of() {
	local port=$1 data=$2 want=$3 n text t0 deadline=$((SECONDS + 1800))
	t0=$(now_ms)
	log "waiting for the search index to hold $want tweets"
	while :; do
		text=$(scrape_metrics "$port" "$data" --max-time 10 || true)
		n=$(awk '$1 == "chirp_search_tweets_indexed_total" { print $2; exit }' <<<"$text")
		[[ -n $n ]] || die "no chirp_search_tweets_indexed_total in /metrics"
		((n >= want)) && break
		((SECONDS < deadline)) || die "the search index held $n of $want tweets after 30 min"
		sleep 0.5
	done
	index_ms=$(($(now_ms) - t0))
}

# PERF=1: perf_start PID DATA records process PID (every thread; no call
# graphs, which would need frame pointers chirp is not built with) into
# DATA until perf_stop; perf_summary DATA prints where its time went, by
# thread and library and by function, for a report.
perf_pid=''
perf_start() {
	[[ ${PERF:-0} == 1 ]] || return 0
	command -v perf >/dev/null || apt_install linux-perf
	perf record -F 999 -p "$1" -o "$2" >"$2.log" 2>&1 &
	perf_pid=$!
}
perf_stop() {
	[[ -n $perf_pid ]] || return 0
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
	perf_pid=''
}
perf_summary() {
	# Into files first: a reader that stops early would end perf with SIGPIPE.
	perf report -i "$1" --stdio --sort comm,dso >"$1.dso.txt" 2>/dev/null
	perf report -i "$1" --stdio --sort dso,sym >"$1.sym.txt" 2>/dev/null
	printf '%s samples of %s, by thread and library, then the top functions (self time):\n\n' \
		"$(awk '/^# Samples:/ { print $3; exit }' "$1.dso.txt")" "$(basename "$1" .data)"
	printf '```\n'
	awk '!/^#/ && /%/ && n++ < 12' "$1.dso.txt"
	printf '\n'
	awk '!/^#/ && /%/ && n++ < 30' "$1.sym.txt"
	printf '```\n'
}

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo n/a; }
free_port() {
	"$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Stops a child by pid: SIGTERM, up to 30 s, then SIGKILL. Sets stop_rc.
stop_rc=0
stop_pid() {
	local pid=$1 name=$2 i
	stop_rc=0
	[[ -n $pid ]] || return 0
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "$name (pid $pid) still running 30 s after SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || stop_rc=$?
}

# The presets (bench/README.md): sets users, follows, tweets and tokens.
preset_sizes() {
	case $1 in
	small) users=10000 follows=50 tweets=100000 tokens=2000 ;;
	medium) users=100000 follows=100 tweets=1000000 tokens=10000 ;;
	esac
}
