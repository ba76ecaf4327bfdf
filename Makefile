# chirp — build, run and test.
#
#   make            build ./chirp
#   make run        install missing packages, build, serve on 127.0.0.1:8080
#   make test       install missing packages, build, run every test
#   make SANITIZE=address,undefined test   the same suite under ASan+UBSan
#   make bench PRESET=small|medium          the feed benchmark (bench/README.md)
#   make bench-search PRESET=medium         search queries, indexing throughput and lag
#   make bench-overload                     twice capacity, open loop
#   make bench-media                        media downloads, uploads, processing
#   make crash-test CYCLES=100              kill -9 under load, nothing acknowledged lost
#   make fuzz FUZZ_SECONDS=60               libFuzzer targets (make test replays their corpora)
#
# Objects go to build/<flavour>/ so a sanitizer build never mixes with a plain one.

CC       ?= cc
PYTHON   ?= /usr/bin/python3
SANITIZE ?=
WERROR   ?= $(if $(CI),-Werror,)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(WERROR)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -pthread -Isrc $(WARN)
LDLIBS  := -lh2o-evloop -lssl -lcrypto -lsqlite3 -lstemmer -lsodium -ljansson -lm -pthread \
           $(shell pkg-config --libs vips)

ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD   := build/san
else
BUILD   := build/release
endif

SRCS      := $(shell find src -name '*.c' | sort)
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
LIB_OBJS  := $(filter-out $(BUILD)/src/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Only h2o's thread-local freelists are exempt from leak checks (see the file).
export LSAN_OPTIONS := suppressions=$(CURDIR)/tests/lsan.supp
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1

# The sanitizer build writes its binary beside the plain one so both can exist.
BIN := $(if $(SANITIZE),chirp-san,chirp)

BENCH_BINS := $(BUILD)/bench/chirp-gen

.PHONY: all deps run test unit http crash s3-compat bench-media crash-test fuzz fuzz-replay clean format bench bench-tools bench-search bench-overload

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

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/s3-presign: tests/s3/presign.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# chirp's SigV4 presigned URLs against @aws-sdk/s3-request-presigner (npm,
# installed into tests/s3/node_modules on first run).
s3-compat: $(BUILD)/tests/s3-presign
	tests/s3/run.sh $(BUILD)/tests/s3-presign

$(BUILD)/bench/chirp-gen: bench/gen.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench-tools: $(BIN) $(BENCH_BINS)

# Benchmarks (bench/README.md): always the optimised build, never a sanitizer one.
PRESET     ?= small
BENCH_ARGS ?=

bench: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp bench-tools
	PYTHON=$(PYTHON) ./bench/run.sh $(PRESET) $(BENCH_ARGS)

# Search: indexing throughput, queries by kind, indexing lag (bench/search.sh).
bench-search: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp bench-tools
	PYTHON=$(PYTHON) ./bench/search.sh $(PRESET)

# Media: downloads vs nginx, upload MB/s, complete-to-ready (bench/media.sh).
bench-media: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp
	PYTHON=$(PYTHON) ./bench/media.sh

# Twice the measured capacity, open loop (bench/overload.sh).
bench-overload: deps
	@$(MAKE) --no-print-directory SANITIZE= chirp bench-tools
	./bench/overload.sh small

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	./$(BIN) serve --listen 127.0.0.1:8080 --data ./data

test: deps
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BINS)
	@$(MAKE) --no-print-directory unit http crash fuzz-replay s3-compat

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

http: $(BIN)
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/http

# kill -9 at random moments under load; every acknowledged write must
# survive (tests/crash/README.md). `make test` runs 10 cycles.
crash: $(BIN)
	CHIRP_BIN=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q tests/crash

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

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h) $(UNIT_SRCS)

clean:
	rm -rf build chirp chirp-san

-include $(OBJS:.o=.d)
