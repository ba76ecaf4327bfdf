#!/bin/sh
# with-pg.sh CMD [ARG...] — runs CMD beside a throwaway PostgreSQL 15.
#
# Starts a fresh cluster in a temporary directory (tests/pg/pgserver.py: a
# free loopback port, trust authentication, as the postgres user when run
# as root), exports its base URL as CHIRP_TEST_PG_URL
# (postgresql://USER@127.0.0.1:PORT/postgres; tests create their own
# databases on it), runs CMD, then stops the server and removes the
# directory whatever CMD did, and exits with CMD's status (2 if the server
# would not start). `make unit` runs the unit tests this way.
set -u
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/chirp-pg-XXXXXX") || exit 2

cleanup() {
	"$python" "$here/pgserver.py" stop "$dir" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! url=$("$python" "$here/pgserver.py" start "$dir"); then
	echo "with-pg.sh: PostgreSQL did not start (log: $dir/server.log)" >&2
	cat "$dir/server.log" >&2 2>/dev/null
	exit 2
fi
CHIRP_TEST_PG_URL=$url
export CHIRP_TEST_PG_URL

"$@"
