#!/usr/bin/env bash
# edge-demo.sh — shows the second download of an image served by the nginx
# edge cache (deploy/nginx-edge.conf) without reaching chirp.
#
#   deploy/edge-demo.sh        (after `make`; needs nginx, curl, python3-pil)
#
# Starts a scratch chirp and the edge on free loopback ports, uploads a JPEG
# through the edge, waits until it is processed, downloads it twice through
# the edge and prints each answer's X-Cache-Status, then counts the GETs of
# that URL in chirp's access log: one, the miss. Everything started is
# stopped on exit; the scratch directory is removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
chirp=${CHIRP_BIN:-$top/chirp}
python=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d /tmp/chirp-edge.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cport=$(port)
eport=$(port)
edge=http://127.0.0.1:$eport
"$chirp" serve --listen "127.0.0.1:$cport" --data "$work/data" --threads 1 \
	--media-base-url "$edge" --access-log "$work/chirp-access.log" --log-format text \
	2>"$work/chirp.log" &
pids+=($!)
mkdir -p "$work/edge/tmp"
sed -e "s|@PREFIX@|$work/edge|g" -e "s|@PORT@|$eport|g" -e "s|@CHIRP@|127.0.0.1:$cport|g" \
	"$here/nginx-edge.conf" >"$work/edge/nginx.conf"
nginx -p "$work/edge" -c "$work/edge/nginx.conf" 2>"$work/edge/stderr" &
pids+=($!)
for _ in $(seq 100); do
	curl -sf "$edge/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

client="$top/bench/media_client.py"
token=$("$python" "$client" "$edge" user)
"$python" "$client" "$edge" jpeg 1600 1200 "$work/photo.jpg"
result=$("$python" "$client" "$edge" upload "$token" "$work/photo.jpg" image/jpeg)
url=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["url"])' "$result")
echo "uploaded through the edge; published URL: $url"
for n in 1 2; do
	status=$(curl -s -o "$work/got$n.jpg" -D - "$url" | tr -d '\r' |
		awk -F': ' 'tolower($1) == "x-cache-status" { print $2 }')
	echo "download $n: X-Cache-Status: $status, $(stat -c %s "$work/got$n.jpg") bytes"
done
cmp -s "$work/got1.jpg" "$work/got2.jpg" && echo "both downloads are the same bytes"
sleep 0.2 # the access log line is written as the response leaves
hits=$(grep -c "GET /blobs/{key} 200" "$work/chirp-access.log" || true)
echo "GETs of blobs that reached chirp: $hits (the first download only)"
