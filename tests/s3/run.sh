#!/bin/sh
# Compares chirp's SigV4 presigned URLs (src/media/sigv4.c) with those of
# @aws-sdk/s3-request-presigner for the same inputs and clock. The SDK is
# installed here, from npm, with the machine's node (node_modules/ is
# gitignored). Usage: tests/s3/run.sh PATH-TO-presign-BINARY
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "s3-compat: SKIPPED: node and npm are not installed" >&2
	exit 0
fi
if [ ! -f "$here/node_modules/.package-lock.json" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
fails=0
check() {
	ours=$("$bin" "$@")
	theirs=$(cd "$here" && node --no-warnings presign.mjs "$@")
	if /usr/bin/python3 - "$ours" "$theirs" <<'PY'
import sys, urllib.parse as u
a, b = (u.urlsplit(x) for x in sys.argv[1:3])
qa, qb = (sorted(u.parse_qsl(x.query, keep_blank_values=True)) for x in (a, b))
ok = (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path) and qa == qb
sys.exit(0 if ok else 1)
PY
	then
		echo "s3-compat: same URL: $*"
	else
		echo "s3-compat: DIFFERENT for $*:"; echo "  chirp: $ours"; echo "  sdk:   $theirs"
		fails=$((fails + 1))
	fi
}
check GET http://127.0.0.1:9000 chirp 914640772257546240.jpg us-east-1 1369353600 3600
check GET https://s3.eu-west-1.amazonaws.com chirp-media 914640772257546240_t.png eu-west-1 1795905053 604800
check PUT http://127.0.0.1:9000 chirp 914640772257546240.orig us-east-1 1369353600 900
check PUT http://minio:9000 my.bucket "odd key/a b+c~é.jpg" us-east-1 1795905053 900
check PUT http://127.0.0.1:9000 chirp 914640772257546240.p1 us-east-1 1369353600 900 1 "VXBsb2FkIElE/+="
check PUT http://127.0.0.1:9000 chirp 914640772257546240.p2 auto 1795905053 900 2 upload-2
[ "$fails" -eq 0 ]
