#!/bin/sh
# Installs the Debian packages chirp needs to build, run and test, and only
# those that are missing, so `make run` and `make test` work on a fresh
# machine. Uses sudo when not root.
set -eu

packages="build-essential pkg-config libh2o-evloop-dev libssl-dev libsqlite3-dev
libsodium-dev libjansson-dev libstemmer-dev libcmocka-dev python3 python3-pytest python3-pytest-xdist python3-prometheus-client python3-websocket curl strace slowhttptest clang
libvips-dev libcurl4-openssl-dev python3-pil"
# --store postgres://… (libpq), and the PostgreSQL 15 server its tests start.
packages="$packages libpq-dev postgresql-15"
# Cluster mode (--redis, hiredis), and the Redis 7 and HAProxy 2.6 servers
# that make cluster and its tests start.
packages="$packages libhiredis-dev redis-server haproxy"
# The Mastodon API: WebSocket streaming through h2o (libwslay), and the
# toot client its conformance tests drive.
packages="$packages libwslay-dev toot"
# make web-test: Debian's Chromium, driven by playwright-core from npm.
# Node.js may come from elsewhere than Debian (with npm inside): only a
# missing command asks for the package.
packages="$packages chromium"
command -v node >/dev/null 2>&1 || packages="$packages nodejs"
command -v npm >/dev/null 2>&1 || packages="$packages npm"
# bench/chirp-gen draws tweet text from Debian's word list
# (/usr/share/dict/words).
packages="$packages wamerican"
# make valgrind and make coverage (not part of make test)
packages="$packages valgrind gcovr"

missing=""
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
