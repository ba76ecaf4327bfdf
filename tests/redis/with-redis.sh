#!/bin/sh
# with-redis.sh CMD [ARG...] — runs CMD beside a throwaway Redis.
#
# Starts redis-server on a free loopback port with its files in a temporary
# directory (no persistence), exports its URL as CHIRP_TEST_REDIS_URL
# (redis://127.0.0.1:PORT), runs CMD, then stops the server and removes
# the directory whatever CMD did, and exits with CMD's status (2 if the
# server would not start). `make unit` runs the unit tests this way (inside
# tests/pg/with-pg.sh).
set -u
python=${PYTHON:-/usr/bin/python3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/chirp-redis-XXXXXX") || exit 2
pid=

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
	--logfile "$dir/redis.log" >/dev/null 2>&1 &
pid=$!
i=0
until redis-cli -p "$port" ping >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "with-redis.sh: Redis did not start (log: $dir/redis.log)" >&2
		cat "$dir/redis.log" >&2 2>/dev/null
		exit 2
	fi
	sleep 0.05
done
CHIRP_TEST_REDIS_URL=redis://127.0.0.1:$port
export CHIRP_TEST_REDIS_URL

"$@"
