# licensed: one non-recursive Makefile (STYLE.md).
#
#   make            build/licensed
#   make deps       install the Debian 12 packages the build, tests and demo need
#   make test       build and run the whole suite; ends "N passed, M failed"
#   make sanitize   the same suite built with ASan + UBSan (in build/san)
#   make lint       clang-format, banned functions, include rules, headers
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (clang)
#   make install    PREFIX (/usr/local) and DESTDIR
#   make e2e        the daemon under systemd 252 in a container (root)
#   make check-example  `licensed check` on config/licensed.conf + policy.ini

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
CC        ?= cc
PKG_CONFIG ?= pkg-config
FUZZ_SECONDS ?= 60

PKGS      := libcurl libcjson libsystemd inih libssl libcrypto
DEBS      := build-essential pkg-config clang clang-format \
	     libcurl4-openssl-dev libcjson-dev libsystemd-dev libinih-dev \
	     libssl-dev libcmocka-dev python3 openssl \
	     groff systemd-container debootstrap

WARN      := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	     -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wsign-compare \
	     -Wvla -Wundef
ifdef CI
WARN      += -Werror
endif
CFLAGS    ?= -O2 -g
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer
# Kept apart from CFLAGS so that `make CFLAGS=...` cannot drop them.
ifdef SANITIZE
SAN       := $(SAN_FLAGS)
endif
CPPFLAGS  += -I. -D_GNU_SOURCE -DLICENSED_VERSION='"$(VERSION)"'
ALL_CFLAGS = -std=c17 $(WARN) $(CFLAGS) $(SAN) $(CPPFLAGS) \
	     $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDFLAGS   += $(SAN)
LIBS       = $(shell $(PKG_CONFIG) --libs $(PKGS))

CORE_SRC  := $(wildcard policy/*.c config/*.c graph/*.c)
DAEMON_SRC := $(wildcard daemon/*.c)
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test check sanitize lint fuzz install golden-update clean \
	check-example demo e2e

all: $(BUILD)/licensed

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcore.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/licensed: $(DAEMON_OBJ) $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) \
		-o $@ $< $(BUILD)/libcore.a $(LIBS) \
		$(shell $(PKG_CONFIG) --libs cmocka)

deps:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make deps must run as root; run:"; \
		echo "  apt-get update && apt-get install -y $(DEBS)"; \
		exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBS)

$(BUILD)/tests/graphtool: tests/integration/graphtool.c $(BUILD)/daemon/client.o \
		$(BUILD)/daemon/log.o $(BUILD)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

test check: $(BUILD)/licensed $(TEST_BIN) $(BUILD)/tests/graphtool
	@BUILD=$(BUILD) tests/run.sh

sanitize:
	@$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 CFLAGS="-O1 -g" test

# licensed reconciling a simulated tenant (tests/demo/run.sh).
demo: $(BUILD)/licensed
	@BUILD=$(BUILD) tests/demo/run.sh

# The shipped example config and policy, checked with a throwaway secret.
check-example: $(BUILD)/licensed
	@rm -rf $(BUILD)/example && mkdir -p $(BUILD)/example
	@cp config/licensed.conf config/policy.ini $(BUILD)/example/
	@umask 077 && echo example-secret >$(BUILD)/example/client-secret
	$(BUILD)/licensed -c $(BUILD)/example/licensed.conf check

golden-update: $(BUILD)/licensed
	@BUILD=$(BUILD) tests/run.sh --update-golden

# The unit checks of lint.sh need the binary the units start.
lint: $(BUILD)/licensed
	@BUILD=$(BUILD) tests/lint.sh

# Planner benchmark (in-memory tenants of 10k, 100k, 1M users) and the
# end-to-end round against the simulator; tests/bench/README.md.
.PHONY: bench
bench: $(BUILD)/tests/bench_plan $(BUILD)/licensed
	$(BUILD)/tests/bench_plan
	BUILD=$(BUILD) python3 tests/bench/bench_e2e.py

$(BUILD)/tests/bench/bench_skus.h: tests/bench/mkskus.py tests/graphsim/catalog.py \
		tests/graphsim/data/licensing-service-plan-reference.csv
	@mkdir -p $(@D)
	python3 tests/bench/mkskus.py $@

$(BUILD)/tests/bench_plan: tests/bench/bench_plan.c $(BUILD)/tests/bench/bench_skus.h \
		$(BUILD)/libcore.a
	$(CC) $(ALL_CFLAGS) -O2 -I$(BUILD)/tests/bench $(LDFLAGS) -o $@ $< \
		$(BUILD)/libcore.a

# Crash consistency and the randomized soak at length (make test runs one
# seed of each): 20 seeds in a row, longer soaks.  CRASH_SEED, SOAK_SEED
# pick the first seed; the counts can be overridden the same way.
.PHONY: torture
torture: $(BUILD)/licensed
	@cd tests/integration && BUILD=$(BUILD) \
		CRASH_SEEDS=$${CRASH_SEEDS:-20} SOAK_SEEDS=$${SOAK_SEEDS:-20} \
		SOAK_ROUNDS=$${SOAK_ROUNDS:-60} SOAK_USERS=$${SOAK_USERS:-250} \
		python3 -m unittest -v test_crash test_soak

# Root, debootstrap and systemd-nspawn; the rootfs is cached in /var/tmp.
e2e: $(BUILD)/licensed
	@BUILD=$(BUILD) tests/e2e/run.sh

FUZZ_CFLAGS := -std=c17 -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) \
	     $(shell $(PKG_CONFIG) --cflags $(PKGS))
FUZZERS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

build/fuzz/%: tests/fuzz/%.c $(CORE_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LIBS)

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do \
		name=$$(basename $$f); mkdir -p build/fuzz/corpus-$$name; \
		echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=tests/fuzz/crashes/$$name- \
			build/fuzz/corpus-$$name tests/fuzz/corpus/$$name \
			2>build/fuzz/$$name.log || { tail -30 build/fuzz/$$name.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units|cov:' build/fuzz/$$name.log | tail -2; \
	done

# Where systemd looks for units and catalogs; Debian 12 defaults if the
# systemd.pc of the systemd package is missing.
BINDIR    := $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
CATALOGDIR ?= $(or $(shell $(PKG_CONFIG) --variable=catalogdir systemd 2>/dev/null),/usr/lib/systemd/catalog)
UNITS     := licensed.service licensed@.service

install: $(BUILD)/licensed
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(BUILD)/licensed $(DESTDIR)$(BINDIR)/licensed
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g' systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -d $(DESTDIR)$(CATALOGDIR)
	install -m 644 systemd/licensed.catalog $(DESTDIR)$(CATALOGDIR)/licensed.catalog
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 644 daemon/man/licensed.8 $(DESTDIR)$(MANDIR)/man8/licensed.8
	install -m 644 daemon/man/licensed.conf.5 daemon/man/licensed-policy.5 \
		$(DESTDIR)$(MANDIR)/man5/
	install -d -m 755 $(DESTDIR)/etc/licensed
	test -e $(DESTDIR)/etc/licensed/licensed.conf || \
		install -m 644 config/licensed.conf $(DESTDIR)/etc/licensed/licensed.conf
	test -e $(DESTDIR)/etc/licensed/policy.ini || \
		install -m 644 config/policy.ini $(DESTDIR)/etc/licensed/policy.ini
	@if [ -z "$(DESTDIR)" ]; then \
		echo "journalctl --update-catalog"; journalctl --update-catalog; \
		if [ -d /run/systemd/system ]; then \
			echo "systemctl daemon-reload"; systemctl daemon-reload; fi; \
	fi

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
