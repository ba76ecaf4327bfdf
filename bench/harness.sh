# bench/harness.sh — what run.sh and search.sh share: tools, the seed data
# set and fresh copies of it, starting chirp and nginx, wrk runs with their
# figures, and chirp's /metrics. Sourced after lib.sh; expects the caller to
# set root, work, logs, lua, report, chirp_bin, gen_bin, python, duration,
# connections, threshold, seed and the preset sizes (preset_sizes).
# shellcheck shell=bash disable=SC2154,SC2034

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
	# A caller's own children (run.sh --store postgres: its second chirp and
	# the PostgreSQL cluster), stopped after chirp and before $tmp goes.
	if declare -F cleanup_more >/dev/null; then cleanup_more; fi
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
ensure_tools() {
	local missing=()
	command -v wrk >/dev/null || missing+=(wrk)
	command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
	command -v curl >/dev/null || missing+=(curl)
	((${#missing[@]} == 0)) || apt_install "${missing[@]}"
	nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
	[[ -x $chirp_bin ]] || die "no chirp binary at $chirp_bin: run \`make bench\` (or \`make chirp\`)"
	[[ -x $gen_bin ]] || die "no generator at $gen_bin: run \`make bench\` (or \`make bench-tools\`)"
	"$python" -c 'import http.client' || die "$python cannot run bench/fanout_delay.py"
}

# Generates (or reuses) the seed data set. A seed directory counts as
# complete only when its .complete file names the same parameters, the
# SQLite schema version included (a seed from an older schema is made again:
# the PostgreSQL load copies its tables as they are), and the kind of tweet
# text (`text=`; bump it when chirp-gen's text changes, so that old seeds
# are made again).
gen_ms=''
prepare_seed() {
	local schema
	schema=$(sed -n 's/^#define STORE_SQLITE_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$root/src/store/sqlite.h")
	local dir=$work/seed params="users=$users follows=$follows tweets=$tweets tokens=$tokens seed=$seed schema=$schema text=dict-zipf" f t0
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
# -------------------------------------------------------------- servers

# start_chirp DATA_DIR [STORE]: STORE is --store's value (a PostgreSQL URL);
# without it chirp serves DATA_DIR's SQLite store. It logs to $chirp_log
# ($logs/chirp.log unless the caller says otherwise).
chirp_log=''
chirp_port=''
chirp_data=''
startup_ms=''
start_chirp() {
	local t0 deadline store_arg=() log_file=${chirp_log:-$logs/chirp.log}
	[[ -n ${2:-} ]] && store_arg=(--store "$2")
	chirp_port=$(free_port)
	log "starting chirp on 127.0.0.1:$chirp_port (data ${1#"$root"/}${2:+, store $2})"
	t0=$(now_ms)
	# A load test: no rate-limit budgets, and no access log (a line per
	# request would measure the log, not the feed).
	chirp_data=$1
	"$chirp_bin" serve --listen "127.0.0.1:$chirp_port" --data "$1" "${store_arg[@]}" --threads 1 \
		--celebrity-threshold "$threshold" --no-rate-limits --access-log off \
		>>"$log_file" 2>&1 &
	chirp_pid=$!
	deadline=$((SECONDS + 300))
	until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$chirp_port/healthz"; do
		alive "$chirp_pid" || die "chirp exited during start-up: $(tail -5 "$log_file")"
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
	local prefix=$tmp/nginx deadline probe=${1:-feed.json}
	nginx_port=$(free_port)
	mkdir -p "$prefix/tmp"
	sed -e "s#@PREFIX@#$prefix#g" -e "s#@PORT@#$nginx_port#g" -e "s#@ROOT@#$tmp/www#g" \
		"$root/bench/nginx.conf.in" >"$prefix/nginx.conf"
	log "starting nginx on 127.0.0.1:$nginx_port"
	"$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
		>>"$logs/nginx.log" 2>&1 &
	nginx_pid=$!
	deadline=$((SECONDS + 30))
	until curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$nginx_port/$probe"; do
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
fetch_metrics() { metrics_text=$(scrape_metrics "$chirp_port" "$chirp_data" --max-time 10 || true); }
metric() { awk -v n="$1" '$1 == n { print $2; exit }' <<<"$metrics_text"; }
or_na() { if [[ -n $1 ]]; then printf '%s' "$1"; else printf 'n/a'; fi; }

# Waits until the search index holds $1 tweets (lib.sh: wait_index_of).
wait_index() { wait_index_of "$chirp_port" "$chirp_data" "$1"; }
