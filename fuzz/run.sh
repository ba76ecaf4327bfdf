#!/bin/sh
# fuzz/run.sh — build chirp's libFuzzer targets and run them.
#
#   fuzz/run.sh [SECONDS]   build, then fuzz each target SECONDS (default 60),
#                           two at a time, growing its corpus in place; prints
#                           executions and crashes per target. Crashing inputs
#                           land in fuzz/crashes/<target>/.
#   FUZZ_RUNS=N fuzz/run.sh [SECONDS]
#                           the same, but each target stops after N executions
#                           (or SECONDS, whichever comes first); with JOBS=1,
#                           one target at a time: how the 10M+ runs of
#                           docs/reliability.md were made.
#   fuzz/run.sh --replay    build, then run each target once over every file
#                           of its committed corpus and of fuzz/crashes/<target>/
#                           (the regression check `make test` runs).
#
# Targets link only the pure modules they test (no h2o). Needs clang with
# libFuzzer (Debian: apt-get install clang) and libjansson-dev.
set -eu
cd "$(dirname "$0")/.."

CLANG=${CLANG:-clang}
OUT=build/fuzz
FLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc"
TARGETS="utf8 id router json_request query search_query blob framing entities"

# The src/ modules each target links; keep in step with the includes.
srcs() {
	case $1 in
	utf8) echo src/util/utf8.c ;;
	id) echo src/util/id.c src/util/timeutil.c ;;
	query) echo src/util/id.c src/util/timeutil.c src/util/query.c ;;
	router) echo src/http/router.c ;;
	json_request) echo src/core/validate.c src/util/utf8.c src/util/jsonw.c src/util/strbuf.c src/util/log.c ;;
	search_query) echo src/util/query.c src/search/query.c src/core/validate.c src/util/utf8.c ;;
	blob) echo src/media/blob_dir.c src/media/blob_sign.c src/util/fileio.c src/http/range.c src/util/strbuf.c src/util/log.c ;;
	framing) echo src/http/framing.c src/util/log.c ;;
	entities) echo src/core/entities.c src/util/utf8.c src/util/strbuf.c src/util/log.c ;;
	esac
}
libs() {
	case $1 in
	json_request) echo -ljansson ;;
	blob) echo -lsodium ;;
	esac
}

mkdir -p "$OUT"
for t in $TARGETS; do
	# shellcheck disable=SC2046
	$CLANG $FLAGS "fuzz/fuzz_$t.c" $(srcs "$t") -o "$OUT/fuzz_$t" $(libs "$t") -pthread
done

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ "${1:-}" = "--replay" ]; then
	fail=0
	for t in $TARGETS; do
		files=$(ls fuzz/corpus/$t/* fuzz/crashes/$t/* 2>/dev/null || true)
		n=$(echo "$files" | grep -c . || true)
		# shellcheck disable=SC2086
		if "$OUT/fuzz_$t" -runs=0 $files >"$OUT/replay_$t.log" 2>&1; then
			echo "fuzz replay $t: $n inputs ok"
		else
			echo "fuzz replay $t: FAILED (see $OUT/replay_$t.log)"
			tail -n 30 "$OUT/replay_$t.log"
			fail=1
		fi
	done
	exit $fail
fi

SECONDS_EACH=${1:-60}
JOBS=${JOBS:-2}
RUNS_FLAG=${FUZZ_RUNS:+-runs=$FUZZ_RUNS}

run_one() {
	t=$1
	mkdir -p "fuzz/crashes/$t" "$OUT/new_$t"
	# New inputs go to a scratch dir first; -merge=1 then adds to the
	# committed corpus only those that reach new coverage.
	# shellcheck disable=SC2086
	"$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" $RUNS_FLAG -print_final_stats=1 \
		-artifact_prefix="fuzz/crashes/$t/" "$OUT/new_$t" "fuzz/corpus/$t" \
		>"$OUT/run_$t.log" 2>&1 || true
	"$OUT/fuzz_$t" -merge=1 "fuzz/corpus/$t" "$OUT/new_$t" >"$OUT/merge_$t.log" 2>&1 || true
	rm -rf "$OUT/new_$t"
}

i=0
for t in $TARGETS; do
	run_one "$t" &
	i=$((i + 1))
	[ $((i % JOBS)) -eq 0 ] && wait
done
wait

status=0
printf '%-14s %12s %10s %8s %8s\n' target executions exec/s corpus crashes
for t in $TARGETS; do
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/run_$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/run_$t.log")
	ncorp=$(ls "fuzz/corpus/$t" | wc -l)
	ncrash=$(ls "fuzz/crashes/$t" 2>/dev/null | wc -l)
	printf '%-14s %12s %10s %8s %8s\n' "$t" "${runs:-?}" "${rate:-?}" "$ncorp" "$ncrash"
	if [ "$ncrash" -gt 0 ] || grep -q '^==.*ERROR' "$OUT/run_$t.log"; then
		status=1
	fi
done
[ -d fuzz/crashes ] && find fuzz/crashes -type d -empty -delete
exit $status
