# chirp — build, run and test.
#
#   make            build ./chirp
#   make run        install missing packages, build, serve on 127.0.0.1:8080
#   make test       install missing packages, build, run every test
#   make SANITIZE=address,undefined test   the same suite under ASan+UBSan
#   make bench PRESET=small|medium          the feed benchmark (bench/README.md)
#   make bench STORE=postgres               ... on SQLite and PostgreSQL, one report
#   make bench-search PRESET=medium         search queries, indexing throughput and lag
#   make bench-overload                     twice capacity, open loop
#   make bench-streams STREAMS=10000        live feed streams beside the feed load
#   make bench-media                        media downloads, uploads, processing
#   make bench-web RUNS=10                  the web client's feed render time in Chromium
#   make crash-test CYCLES=100              kill -9 under load, nothing acknowledged lost
#   make http-pg / crash-pg                 the HTTP suite / crash harness on PostgreSQL
#   make http-redis                         feeds, streams, limits, tweets in cluster mode (--redis)
#   make pg-failover                        PostgreSQL restarts and replica failover (tests/pg/)
#   make fuzz FUZZ_SECONDS=60               libFuzzer targets (make test replays their corpora)
#   make web-test                           the web client in headless Chromium (tests/web/)
#   make cluster / cluster-stop             PostgreSQL, Redis, S3, 3 chirps, HAProxy on loopback
#   make cluster-test                       the cluster's tests (tests/cluster/)
#   make http-cluster                       the HTTP suite, each server 3 nodes behind HAProxy
#   make bench-cluster                      feed, tweet reads, posts through HAProxy to 3 nodes
#   make mastodon-test                      toot and masto.js against chirp (tests/mastodon/)
#
# Objects go to build/<flavour>/ so a sanitizer build never mixes with a plain one.

CC       ?= cc
PYTHON   ?= /usr/bin/python3
SANITIZE ?=
WERROR   ?= $(if $(CI),-Werror,)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(WERROR)
CFLAGS  ?= -O2 -g
# libpq's header (Debian's libpq-dev puts it in /usr/include/postgresql).
PG_INCLUDE := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
CFLAGS  += -std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -pthread -Isrc -I$(PG_INCLUDE) $(WARN)
LDLIBS  := -lh2o-evloop -lwslay -lssl -lcrypto -lsqlite3 -lstemmer -lsodium -ljansson -lcurl -lpq -lhiredis -lm -pthread \
           $(shell pkg-config --libs vips)

ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD   := build/san
else
BUILD   := build/release
endif

SRCS      := $(shell find src -name '*.c' | sort)
# The web client (web/) is compiled in: scripts/embed-web.py writes its
# files into a generated C file (src/web/assets.h describes it).
WEB_FILES := $(wildcard web/*)
WEB_GEN   := $(BUILD)/gen/web_assets.c
OBJS      := $(SRCS:%.c=$(BUILD)/%.o) $(WEB_GEN:.c=.o)
LIB_OBJS  := $(filter-out $(BUILD)/src/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Only h2o's thread-local freelists are exempt from leak checks (see the file).
export LSAN_OPTIONS := suppressions=$(CURDIR)/tests/lsan.supp
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1

# The sanitizer build writes its binary beside the plain one so both can exist.
BIN := $(if $(SANITIZE),chirp-san,chirp)

BENCH_BINS := $(BUILD)/bench/chirp-gen $(BUILD)/bench/chirp-streams

.PHONY: all deps run test http-cluster cluster cluster-stop cluster-test bench-cluster check-includes unit http http-redis http-offload http-pg crash crash-pg pg-failover s3-compat crash-test fuzz fuzz-replay clean format bench bench-tools bench-search bench-overload bench-streams bench-media bench-web web-test mastodon-test

all: $(BIN)

deps:
	@./scripts/deps.sh

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# libvips (media/process.c) brings glib's headers; only that file needs them.
VIPS_CFLAGS := $(shell pkg-config --cflags vips)
$(BUILD)/src/media/process.o: CFLAGS += $(VIPS_CFLAGS)
$(BUILD)/tests/test_media_process: CFLAGS += $(VIPS_CFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# web/ itself is a prerequisite so that removing a file rebuilds too.
$(WEB_GEN): $(WEB_FILES) web scripts/embed-web.py
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/embed-web.py web $@

$(WEB_GEN:.c=.o): $(WEB_GEN)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/s3-presign: tests/s3/presign.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# chirp's SigV4 presigned URLs against @aws-sdk/s3-request-presigner, and
# s3rver, the S3-compatible server of the tests and `make cluster`: npm
# installs both from the lockfile into tests/s3/node_modules once.
S3_NPM := tests/s3/node_modules/.package-lock.json
s3-compat: $(BUILD)/tests/s3-presign $(S3_NPM)
	tests/s3/run.sh $(BUILD)/tests/s3-presign

$(S3_NPM): tests/s3/package.json tests/s3/package-lock.json
	cd tests/s3 && npm ci --no-audit --no-fund --loglevel=error

$(BUILD)/bench/chirp-gen: bench/gen.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/chirp-streams: bench/streams.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -pthread

bench-tools: $(BIN) $(BENCH_BINS)

# Benchmarks (bench/README.md): always the optimised build, never a sanitizer one.
PRESET     ?= small
BENCH_ARGS ?=
# STORE=postgres: the same run also serves the data from PostgreSQL 15 and
# measures its insert ceiling (bench/README.md); sqlite alone by default.
STORE      ?= sqlite

bench: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp bench-tools
	PYTHON=$(PYTHON) ./bench/run.sh $(PRESET) --store $(STORE) $(BENCH_ARGS)

# Search: indexing throughput, queries by kind, indexing lag (bench/search.sh).
bench-search: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp bench-tools
	PYTHON=$(PYTHON) ./bench/search.sh $(PRESET)

# Media: downloads vs nginx, upload MB/s, complete-to-ready (bench/media.sh).
bench-media: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp
	PYTHON=$(PYTHON) ./bench/media.sh

# The web client: the home feed's response-to-render time in Chromium,
# beside a bare page's, against the 200 ms budget (bench/web.mjs; it uses
# tests/web's helpers and node_modules).
RUNS ?= 10
bench-web: deps tests/web/node_modules/.package-lock.json
	@$(MAKE) --no-print-directory SANITIZE= chirp
	CHIRP_BIN=$(CURDIR)/chirp WEB_TEST_OUT=$(CURDIR)/build/bench-web RUNS=$(RUNS) node bench/web.mjs

# Twice the measured capacity, open loop (bench/overload.sh).
bench-overload: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp bench-tools
	./bench/overload.sh small

# 10,000 live feed streams beside the feed load (bench/streams.sh).
STREAMS ?= 10000
bench-streams: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp bench-tools
	STREAMS=$(STREAMS) ./bench/streams.sh

# The builds `make run` and `make test` start use every core; the tests
# after them run one at a time (each HTTP suite is parallel inside).
BUILD_JOBS ?= $(shell nproc)

run: deps
	@$(MAKE) --no-print-directory -j$(BUILD_JOBS) $(BIN)
	./$(BIN) serve --listen 127.0.0.1:8080 --data ./data

test: deps
	@$(MAKE) --no-print-directory -j$(BUILD_JOBS) $(BIN) $(UNIT_BINS) $(GEN_BIN)
	@$(MAKE) --no-print-directory check-includes unit http http-pg http-cluster http-redis \
		crash crash-pg pg-failover cluster-test fuzz-replay s3-compat web-test mastodon-test

# No include cycle in src/, and no lower layer including a higher one
# (scripts/check-includes.py, docs/architecture.md).
check-includes:
	$(PYTHON) scripts/check-includes.py

# Unit tests of adapters for PostgreSQL find a throwaway server's base URL
# in CHIRP_TEST_PG_URL and make their own databases on it (tests/pg/with-pg.sh).
# The Redis adapters find a throwaway Redis in CHIRP_TEST_REDIS_URL
# (tests/redis/with-redis.sh).
unit: $(UNIT_BINS)
	@PYTHON=$(PYTHON) tests/pg/with-pg.sh tests/redis/with-redis.sh sh -c \
		'set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done'

# The HTTP suites run a file per worker (pytest-xdist), one worker more than
# there are cores (a test spends much of its time waiting on its servers),
# unless TEST_JOBS says otherwise: every test starts its own servers on free
# ports, so they do not meet. conftest.py checks each worker's traffic.
TEST_JOBS ?= $(shell expr $$(nproc) + 1)
PYTEST_PAR := -n $(TEST_JOBS) --dist loadfile
# test_search_gen.py searches what bench/chirp-gen makes, so it is built too.
GEN_BIN := $(BUILD)/bench/chirp-gen
http: $(BIN) $(GEN_BIN) $(S3_NPM)
	CHIRP_BIN=$(CURDIR)/$(BIN) CHIRP_GEN=$(CURDIR)/$(GEN_BIN) $(PYTHON) -m pytest -q $(PYTEST_PAR) \
		tests/http

# Nodes on one Redis started by the test itself (PostgreSQL and --redis,
# each server a Redis database of its own; tests/http/chirp_client.py):
# what http-cluster, where every server is a cluster, does not run.
REDIS_HTTP_TESTS := test_redis_nodes
http-redis: $(BIN)
	CHIRP_TEST_REDIS=1 CHIRP_TEST_STORE=postgres CHIRP_BIN=$(CURDIR)/$(BIN) \
		$(PYTHON) -m pytest -q $(PYTEST_PAR) $(REDIS_HTTP_TESTS:%=tests/http/%.py)

# The web client end to end in Debian's Chromium, driven by playwright-core
# (tests/web/README.md). npm installs the locked playwright-core into
# tests/web/node_modules once; screenshots go to build/<flavour>/web-test/.
WEB_TEST_OUT := $(BUILD)/web-test
web-test: deps $(BIN) tests/web/node_modules/.package-lock.json
	rm -rf $(WEB_TEST_OUT) && mkdir -p $(WEB_TEST_OUT)
	cd tests/web && CHIRP_BIN=$(CURDIR)/$(BIN) WEB_TEST_OUT=$(CURDIR)/$(WEB_TEST_OUT) \
		node --test --test-concurrency=1 web.test.mjs

tests/web/node_modules/.package-lock.json: tests/web/package.json tests/web/package-lock.json
	cd tests/web && npm ci --no-audit --no-fund --loglevel=error

# Real Mastodon clients against chirp (docs/mastodon.md): toot, Debian's
# command-line client, driven without a terminal, and masto.js from npm
# (installed from the lockfile into tests/mastodon/node_modules once).
mastodon-test: deps $(BIN) tests/mastodon/node_modules/.package-lock.json
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/mastodon
	cd tests/mastodon && CHIRP_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 masto.test.mjs

tests/mastodon/node_modules/.package-lock.json: tests/mastodon/package.json tests/mastodon/package-lock.json
	cd tests/mastodon && npm ci --no-audit --no-fund --loglevel=error

# The request paths again with every store read on a worker thread, as a
# store across the network (PostgreSQL) runs them (docs/architecture.md);
# the live feed's reads too (test_stream). The loops then hold no store
# reader, so a read left on a loop fails these tests. Not in `make test`:
# http-pg and http-cluster run every read that way already, and CI's
# time is bounded.
OFFLOAD_TESTS := test_basics test_users test_sessions test_tweets test_follows test_feed \
                 test_idempotency test_authz test_pagination test_gateway test_engagement \
                 test_stream
http-offload: $(BIN)
	CHIRP_BIN=$(CURDIR)/$(BIN) CHIRP_SERVE_ARGS=--offload-reads \
		$(PYTHON) -m pytest -q $(PYTEST_PAR) $(OFFLOAD_TESTS:%=tests/http/%.py)

# The same suite against chirp on a throwaway PostgreSQL: each server gets
# a database of its own (tests/http/chirp_client.py, CHIRP_TEST_STORE).
http-pg: $(BIN) $(GEN_BIN) $(S3_NPM)
	CHIRP_BIN=$(CURDIR)/$(BIN) CHIRP_GEN=$(CURDIR)/$(GEN_BIN) CHIRP_TEST_STORE=postgres \
		$(PYTHON) -m pytest -q $(PYTEST_PAR) tests/http

# kill -9 at random moments under load; every acknowledged write must
# survive (tests/crash/README.md). `make test` runs 10 cycles.
crash: $(BIN)
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/crash

crash-pg: $(BIN)
	CHIRP_BIN=$(CURDIR)/$(BIN) CHIRP_TEST_STORE=postgres $(PYTHON) -m pytest -q tests/crash

# PostgreSQL going away under chirp: a restart (/readyz, fast 503s, no 500)
# and a primary killed under write load with its synchronous replica
# promoted (every acknowledged tweet there). tests/pg/README.md.
pg-failover: $(BIN)
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/pg

# A local cluster (README.md, "Running a cluster"): PostgreSQL, Redis, an
# S3-compatible server (s3rver), three chirps and HAProxy, on loopback, in
# CLUSTER_DIR; prints the HAProxy URL. cluster-stop stops them by pid.
CLUSTER_DIR ?= $(CURDIR)/cluster-data
cluster: deps
	@$(MAKE) --no-print-directory $(BIN) $(S3_NPM)
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) tests/cluster/cluster.py start $(CLUSTER_DIR)

cluster-stop:
	$(PYTHON) tests/cluster/cluster.py stop $(CLUSTER_DIR)

# The HTTP suite with every server a cluster: three nodes behind HAProxy
# on PostgreSQL, Redis and s3rver (tests/http/chirp_client.py,
# CHIRP_TEST_STORE=cluster). What only one process has (its parser behind
# HAProxy's, its log, its memory) is skipped, each test with its reason
# (tests/http/cluster_skips.py).
http-cluster: $(BIN) $(S3_NPM)
	CHIRP_BIN=$(CURDIR)/$(BIN) CHIRP_TEST_STORE=cluster $(PYTHON) -m pytest -q $(PYTEST_PAR) \
		tests/http

# Three nodes behind HAProxy: failures, Redis going away, shared state
# (tests/cluster/README.md).
cluster-test: $(BIN) $(S3_NPM)
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/cluster

# Feed reads, tweet reads and durable posts through HAProxy to three nodes,
# beside one chirp and nginx (bench/cluster.py); the report goes to
# bench/results/cluster-*.md. docs/capacity.md sizes a deployment from it.
bench-cluster: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp $(S3_NPM)
	CHIRP_BIN=$(CURDIR)/chirp $(PYTHON) bench/cluster.py

# libFuzzer targets (fuzz/README.md): `make fuzz` runs each FUZZ_SECONDS;
# `make test` replays every committed corpus input once.
FUZZ_SECONDS ?= 60
fuzz: deps
	fuzz/run.sh $(FUZZ_SECONDS)

fuzz-replay:
	fuzz/run.sh --replay

CYCLES     ?= 100
CRASH_ARGS ?=
crash-test: deps
	@$(MAKE) --no-print-directory $(BIN)
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) tests/crash/crash_test.py --cycles $(CYCLES) $(CRASH_ARGS)

.PHONY: valgrind coverage

# valgrind memcheck smoke run (docs/reliability.md): the plain build, no
# sanitizers, serves a representative part of the HTTP suite under memcheck
# and is stopped with SIGTERM; every process must end with 0 errors and 0
# bytes definitely lost (tests/valgrind/check_logs.py). Slow: ~6 minutes.
VALGRIND_TESTS ?= tests/http/test_users.py tests/http/test_sessions.py \
	tests/http/test_tweets.py tests/http/test_follows.py tests/http/test_feed.py \
	tests/http/test_validation.py tests/http/test_authz.py tests/http/test_bad_input.py
VALGRIND_LOGS  := build/valgrind
VALGRIND       := valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 \
	--suppressions=$(CURDIR)/tests/valgrind/chirp.supp \
	--log-file=$(CURDIR)/$(VALGRIND_LOGS)/memcheck.%p.log
valgrind: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp
	rm -rf $(VALGRIND_LOGS) && mkdir -p $(VALGRIND_LOGS)
	CHIRP_BIN=$(CURDIR)/chirp CHIRP_WRAPPER="$(VALGRIND)" CHIRP_TIMEOUT_FACTOR=10 \
		$(PYTHON) -m pytest -q $(VALGRIND_TESTS); rc=$$?; \
		$(PYTHON) tests/valgrind/check_logs.py $(VALGRIND_LOGS) && exit $$rc

# Line and branch coverage (gcovr) of the unit and HTTP suites: a separate
# -O0 --coverage build in build/coverage/, whose counters are reset first so
# a report covers one run. Text to stdout, HTML in build/coverage/html/.
# A failing test still gets its report, then fails the target.
COVERAGE_BUILD := build/coverage
COVERAGE_UNITS := $(UNIT_SRCS:tests/unit/%.c=$(COVERAGE_BUILD)/tests/%)
GCOVR := gcovr --root $(CURDIR) --filter 'src/' --object-directory $(COVERAGE_BUILD) \
	--exclude-unreachable-branches
coverage: deps
	@mkdir -p $(COVERAGE_BUILD)/html
	find $(COVERAGE_BUILD) -name '*.gcda' -delete
	CFLAGS="-O0 -g --coverage" LDFLAGS="--coverage" $(MAKE) --no-print-directory SANITIZE= \
		BUILD=$(COVERAGE_BUILD) BIN=$(COVERAGE_BUILD)/chirp $(COVERAGE_BUILD)/chirp $(COVERAGE_UNITS)
	rc=0; \
	for t in $(COVERAGE_UNITS); do echo "== $$t"; $$t || rc=1; done; \
	CHIRP_BIN=$(CURDIR)/$(COVERAGE_BUILD)/chirp $(PYTHON) -m pytest -q tests/http || rc=1; \
	$(GCOVR) --txt --branches --print-summary --html-details $(COVERAGE_BUILD)/html/index.html && \
	echo "coverage: per-file branches above; lines and branches per file in $(COVERAGE_BUILD)/html/index.html" && \
	exit $$rc

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h) $(UNIT_SRCS)

clean:
	rm -rf build chirp chirp-san

-include $(OBJS:.o=.d)
