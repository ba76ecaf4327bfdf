# bench/pg.sh — run.sh's PostgreSQL side (`run.sh --store postgres`): a
# PostgreSQL 15 cluster in bench/work/<preset>/pg (tests/pg/pgserver.py),
# the seed data set loaded into it once and copied per run, and
# PostgreSQL's own durable single-row insert ceiling (pgbench). Sourced
# after lib.sh and harness.sh; expects root, work, logs, tmp, python,
# connections, fsync_seconds and a prepared $work/seed.
# shellcheck shell=bash disable=SC2154,SC2034

pg_bin=${CHIRP_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_dir=$work/pg
pg_base='' # postgresql://postgres@127.0.0.1:PORT, without a database
pg_started=''

pg_sql() { # pg_sql DB SQL: unaligned, no headers
	timeout --foreground 600 "$pg_bin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$pg_base/$1" -c "$2"
}

# Starts the cluster (made on first use; kept, like the seed, across runs).
# A cluster left running by a killed run is stopped first; a port saved by
# an earlier run that is now taken is given up for a free one.
pg_start() {
	[[ -x $pg_bin/postgres && -x $pg_bin/pgbench ]] ||
		die "no PostgreSQL 15 in $pg_bin: run \`make deps\` (it installs postgresql-15)"
	"$python" "$root/tests/pg/pgserver.py" stop "$pg_dir" >>"$logs/pg.log" 2>&1 || true
	log "starting PostgreSQL in ${pg_dir#"$root"/}"
	local url
	if ! url=$("$python" "$root/tests/pg/pgserver.py" start "$pg_dir" 2>>"$logs/pg.log"); then
		rm -f "$pg_dir/port"
		url=$("$python" "$root/tests/pg/pgserver.py" start "$pg_dir" 2>>"$logs/pg.log") ||
			die "PostgreSQL did not start: $(tail -5 "$logs/pg.log") $(tail -5 "$pg_dir/server.log" 2>/dev/null)"
	fi
	pg_started=yes
	pg_base=${url%/*}
	pg_log_from=$(($(wc -l <"$pg_dir/server.log") + 1))
}

# What the server logged at ERROR or above, and chirp_run's counters from
# pg_stat_database (final once chirp's connections have closed), as report
# lines.
pg_log_from=1
pg_summary() {
	local errs
	errs=$(tail -n +"$pg_log_from" "$pg_dir/server.log" | grep -E ' (ERROR|FATAL|PANIC): ' |
		sed -E 's/^.* (ERROR|FATAL|PANIC): +/\1: /' | sort | uniq -c | sort -rn | head -5 |
		awk '{ n = $1; $1 = ""; printf "%s%d× `%s`", sep, n, substr($0, 2); sep = "; " }' || true)
	printf -- '- PostgreSQL server log during the run: %s\n' "${errs:-no ERROR, FATAL or PANIC}"
	printf -- '- PostgreSQL database chirp_run over the run (pg_stat_database): %s\n' "$(pg_sql postgres \
		"SELECT xact_commit || ' commits, ' || xact_rollback || ' rollbacks, ' || deadlocks ||
			' deadlocks, ' || conflicts || ' conflicts, buffer hit ratio ' ||
			round(100.0 * blks_hit / greatest(blks_hit + blks_read, 1), 2) || '%'
		 FROM pg_stat_database WHERE datname = 'chirp_run'")"
}

pg_stop() {
	[[ -n $pg_started ]] || return 0
	log "stopping PostgreSQL"
	"$python" "$root/tests/pg/pgserver.py" stop "$pg_dir" >>"$logs/pg.log" 2>&1 ||
		log "warning: PostgreSQL did not stop cleanly (${pg_dir#"$root"/}/server.log)"
	pg_started=''
}

# Loads the seed into database chirp_seed once, reused while .seed-complete
# names the same seed parameters: chirp on the empty database creates its
# schema (its own migrations, so the schema is the one chirp serves), then
# bench/pg_load.py copies every table from the seed's chirp.db with COPY,
# then VACUUM ANALYZE (statistics for the planner, and a visibility map so
# index-only scans stay index-only). Sets pg_load_ms ("" when reused).
pg_load_ms=''
pg_prepare_seed() {
	local params marker=$pg_dir/.seed-complete t0 dir=$tmp/pg-schema
	params=$(<"$work/seed/.complete")
	if [[ -f $marker && $(<"$marker") == "$params" ]] &&
		[[ $(pg_sql postgres "SELECT 1 FROM pg_database WHERE datname = 'chirp_seed'") == 1 ]]; then
		log "reusing PostgreSQL database chirp_seed ($params)"
		return
	fi
	log "loading the seed into PostgreSQL database chirp_seed"
	rm -f "$marker"
	t0=$(now_ms)
	pg_sql postgres "DROP DATABASE IF EXISTS chirp_seed" >/dev/null
	pg_sql postgres "CREATE DATABASE chirp_seed" >/dev/null
	mkdir -p "$dir"
	start_chirp "$dir" "$pg_base/chirp_seed"
	stop_chirp
	timeout --foreground 14400 "$python" "$root/bench/pg_load.py" --sqlite "$work/seed/chirp.db" \
		--url "$pg_base/chirp_seed" --psql "$pg_bin/psql" >>"$logs/pg.log" 2>&1 ||
		die "pg_load.py failed: $(tail -5 "$logs/pg.log")"
	pg_sql chirp_seed "VACUUM ANALYZE" >/dev/null
	pg_load_ms=$(($(now_ms) - t0))
	printf '%s\n' "$params" >"$marker"
}

# A fresh copy of chirp_seed (database chirp_run) to serve from, so a run's
# posts never reach the next run, as fresh_run_dir does for SQLite.
pg_fresh_run_db() {
	pg_sql postgres "DROP DATABASE IF EXISTS chirp_run" >/dev/null
	pg_sql postgres "CREATE DATABASE chirp_run TEMPLATE chirp_seed" >/dev/null
	flush_disk
	pg_run_url=$pg_base/chirp_run
}

# PostgreSQL's durable-write ceiling: pgbench, each transaction one
# single-row INSERT of a tweet-sized row (autocommit: one WAL flush per
# commit, though PostgreSQL flushes concurrent commits together), fsync and
# synchronous_commit on, into a fresh table, with the disk flushed first.
# Runs at wrk's concurrency ($connections clients, one pgbench thread as wrk
# has one) and with one client (one commit after another, as SQLite's
# ceiling is measured). -T is fsync_seconds + 2: connecting 64 backends
# takes a second or more on a busy machine, and pgbench's tps leaves the
# connection time out. Sets pg_ceiling, pg_ceiling_lat (ms, average),
# pg_ceiling_1, pg_ceiling_1_lat and pg_settings.
pg_ceiling=''
pg_ceiling_lat=''
pg_ceiling_1=''
pg_ceiling_1_lat=''
pg_settings=''
pg_pgbench() { # pg_pgbench CLIENTS NAME: sets p_tps, p_lat
	local f=$logs/pgbench-$2.txt
	timeout --foreground $((fsync_seconds + 120)) "$pg_bin/pgbench" -n -M prepared -f "$tmp/ceiling.sql" \
		-c "$1" -j 1 -T $((fsync_seconds + 2)) "$pg_base/chirp_ceiling" >"$f" 2>&1 ||
		die "pgbench failed: $(tail -5 "$f")"
	p_tps=$(awk '/^tps = / { printf "%.0f", $3 }' "$f")
	p_lat=$(awk '/^latency average = / { printf "%.2f", $4 }' "$f")
	[[ -n $p_tps ]] || die "pgbench printed no tps: $(tail -5 "$f")"
	grep -q '^number of failed transactions: 0 ' "$f" || log "warning: pgbench had failed transactions ($f)"
}
measure_pg_ceiling() {
	pg_settings=$(pg_sql postgres "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' ||
		current_setting('synchronous_commit') || ', wal_sync_method=' || current_setting('wal_sync_method') ||
		', full_page_writes=' || current_setting('full_page_writes')")
	pg_sql postgres "DROP DATABASE IF EXISTS chirp_ceiling" >/dev/null
	pg_sql postgres "CREATE DATABASE chirp_ceiling" >/dev/null
	pg_sql chirp_ceiling "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL)" >/dev/null
	printf '%s\n' "INSERT INTO t (body) VALUES ('a tweet of ordinary length, about a hundred bytes, the size chirp commits per post.');" \
		>"$tmp/ceiling.sql"
	flush_disk
	log "PostgreSQL insert ceiling ($connections clients, then 1; $((fsync_seconds + 2)) s each)"
	pg_pgbench "$connections" "c$connections"
	pg_ceiling=$p_tps pg_ceiling_lat=$p_lat
	pg_pgbench 1 c1
	pg_ceiling_1=$p_tps pg_ceiling_1_lat=$p_lat
	pg_sql postgres "DROP DATABASE chirp_ceiling" >/dev/null
}
