#!/usr/bin/env bash
# media.sh — media figures, each against a baseline measured in the same run.
#
#   bench/media.sh            (after `make`; needs wrk, nginx, python3-pil)
#
#   1. downloads: wrk -t1 -c64 -d8s on one published 1600x1200 image's signed URL,
#      chirp (--threads 1) against nginx (one worker, sendfile) serving the
#      same file from chirp's blob directory: requests/s and MB/s.
#   2. uploads: PUT throughput (MB/s) for a 1 MiB and a 64 MiB upload (the
#      latter in 8 MiB parts, one after another), 3 runs each, median;
#      the baseline is the same bytes written with dd conv=fsync onto the
#      same disk (what a durable put cannot beat).
#   3. processing: seconds from the complete's answer to "ready" for a
#      1600x1200 and a 4000x3000 JPEG, 5 runs each, median.
# Prints a Markdown report with the machine it ran on. Loopback only; the
# EXIT trap stops what the script started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
chirp=${CHIRP_BIN:-$top/chirp}
python=${PYTHON:-/usr/bin/python3}
client="$here/media_client.py"
work=$(mktemp -d /tmp/chirp-media-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
field() { "$python" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
wrk_rps() { awk '/^Requests\/sec/ { print $2 }'; }
wrk_mbs() {
	awk '/^Transfer\/sec/ { v = $2; u = substr(v, length(v) - 1); n = v + 0;
		if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024; printf "%.0f", n }'
}

cport=$(port)
base=http://127.0.0.1:$cport
"$chirp" serve --listen "127.0.0.1:$cport" --data "$work/data" --threads 1 --no-rate-limits \
	--access-log off --media-max-bytes 67108864 2>"$work/chirp.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
token=$("$python" "$client" "$base" user)

echo "# chirp media benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr); wrk, nginx $(nginx -v 2>&1 | sed 's|.*/||')"
echo

# ---- 3. processing (also makes the image for the downloads)
echo "## Complete → ready"
echo
echo "| image | upload bytes | median s (5 runs) |"
echo "|---|---|---|"
for size in "1600 1200" "4000 3000"; do
	set -- $size
	"$python" "$client" "$base" jpeg "$1" "$2" "$work/in.jpg"
	for _ in 1 2 3 4 5; do
		r=$("$python" "$client" "$base" upload "$token" "$work/in.jpg" image/jpeg)
		[[ $(field "$r" status) == ready ]] || { echo "processing failed: $r" >&2; exit 1; }
		field "$r" ready_seconds
	done >"$work/ready"
	printf '| %sx%s JPEG | %s | %.3f |\n' "$1" "$2" "$(stat -c %s "$work/in.jpg")" "$(median <"$work/ready")"
	[[ -n ${url:-} ]] || url=$(field "$r" url) # the downloads use the 1600x1200 one
done
echo

# ---- 1. downloads
eport=$(port)
mkdir -p "$work/nginx/tmp"
sed -e "s|@PREFIX@|$work/nginx|g" -e "s|@PORT@|$eport|g" -e "s|@ROOT@|$work/data/blobs|g" \
	"$here/nginx.conf.in" >"$work/nginx/nginx.conf"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/stderr" &
pids+=($!)
sleep 0.5
key=${url%%\?*}
key=${key##*/}
bytes=$(curl -s "$base$url" | wc -c)
[[ $(curl -s "http://127.0.0.1:$eport/$key" | wc -c) == "$bytes" ]] || { echo "nginx does not serve $key" >&2; exit 1; }
chirp_out=$(wrk -t1 -c64 -d8s "$base$url")
nginx_out=$(wrk -t1 -c64 -d8s "http://127.0.0.1:$eport/$key")
echo "## Downloads of one ${bytes}-byte image (wrk -t1 -c64 -d8s)"
echo
echo "| server | requests/s | MB/s |"
echo "|---|---|---|"
echo "| chirp, signed URL, 1 thread | $(wrk_rps <<<"$chirp_out") | $(wrk_mbs <<<"$chirp_out") |"
echo "| nginx, same file, 1 worker | $(wrk_rps <<<"$nginx_out") | $(wrk_mbs <<<"$nginx_out") |"
echo

# ---- 2. uploads
echo "## Uploads (PUT to presigned URLs, durable before the 200)"
echo
echo "| size | chirp MB/s (median of 3) | dd conv=fsync MB/s, same disk |"
echo "|---|---|---|"
for mib in 1 64; do
	head -c $((mib << 20)) /dev/urandom >"$work/blob.bin"
	for _ in 1 2 3; do
		r=$("$python" "$client" "$base" upload "$token" "$work/blob.bin" image/jpeg)
		"$python" -c 'import sys; print(float(sys.argv[1]) / 1048576 / float(sys.argv[2]))' \
			"$(field "$r" bytes)" "$(field "$r" put_seconds)"
	done >"$work/up"
	t0=$(date +%s%N)
	dd if="$work/blob.bin" of="$work/data/dd.out" bs=1M conv=fsync status=none
	t1=$(date +%s%N)
	dd_mbs=$(awk -v b=$((mib << 20)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", b / 1048576 / (ns / 1e9) }')
	rm -f "$work/data/dd.out"
	printf '| %d MiB | %.0f | %s |\n' "$mib" "$(median <"$work/up")" "$dd_mbs"
done
echo
echo "Random bytes are uploaded for the throughput runs; they fail processing"
echo "(not an image), which does not count here."
