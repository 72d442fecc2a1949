# hotpath - one non-recursive Makefile.
#
#   make              build build/hotpath (installs missing build deps as root;
#                     never test tools)
#   make run          build, then serve the demo (slow origin + hotpath in front)
#   make test         install what tests use (as root), build, then every test:
#                     headers alone, layering, unit (ASan+UBSan, and TSan for the
#                     threaded ones), scenario, fuzz smoke
#   make install      PREFIX (default /usr/local) and DESTDIR: the binary, the
#                     man page hotpath(1), docs/configuration.md and an example
#                     systemd unit under share/doc/hotpath
#   make asan         build build/san/hotpath with AddressSanitizer + UBSan
#   make fuzz         long libFuzzer runs (FUZZ_SECONDS each, default 300)
#   make bench        the peer comparisons in bench/
#   make src/net/loop.o   any single object (written under build/)
#
# Each src/<module>/ becomes build/lib/libhp_<module>.a. A unit test under
# tests/unit/<module>/ links only the archives its module depends on
# (DEPS_<module> below), which keeps the layering honest.

CC ?= gcc
ifeq ($(CC),cc)
CC := gcc
endif
SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS :=
endif

OPT ?= -O2
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wvla -Werror
CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -Isrc -pthread $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS := -ljansson -lxxhash -lz -lbrotlienc -lbrotlidec -lzstd -lhiredis -lm

# Module layering: a module's tests link these archives, in this order.
DEPS_core     := core
DEPS_config   := config core
DEPS_metrics  := metrics core
DEPS_net      := net core
DEPS_http     := http core
DEPS_cache    := cache http core
DEPS_upstream := upstream net http config core
DEPS_ratelimit:= ratelimit core
DEPS_compress := compress http core
DEPS_l2       := l2 net http core
DEPS_bench    := bench net http metrics config core
DEPS_proxy    := proxy l2 cache upstream ratelimit compress metrics net http config core
DEPS_admin    := admin proxy l2 cache upstream ratelimit compress metrics net http config core
ALL_LIBS      := admin bench proxy l2 cache upstream ratelimit compress metrics net http config core

MODULES := $(patsubst src/%/,%,$(filter-out src/cli/,$(sort $(dir $(wildcard src/*/*.c)))))
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
lib_of = $(BUILD)/lib/libhp_$(1).a
libs_for = $(foreach m,$(DEPS_$(1)),$(if $(filter $(m),$(MODULES)),$(call lib_of,$(m))))

.PHONY: all deps deps-test deps-run run test unit scenario fuzz asan bench clean fmt \
	check-headers unit-bins fuzz-bins tsan-bins install
all: $(BUILD)/hotpath $(EXAMPLE_BINS)

# Every compile and link waits for this (an order-only prerequisite), so with
# -j the packages are in place before the first gcc runs. Only the build set:
# test tools come with `make test`.
deps:
	@sh tools/deps.sh build
deps-test:
	@sh tools/deps.sh test
deps-run:
	@sh tools/deps.sh run

# ---- objects and archives ----
$(BUILD)/obj/%.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

src/%.o: $(BUILD)/obj/%.o ;

define module_rules
$(call lib_of,$(1)): $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/$(1)/*.c))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

CLI_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cli/*.c))
HP_LIBS := $(foreach m,$(ALL_LIBS),$(if $(filter $(m),$(MODULES)),$(call lib_of,$(m))))

$(BUILD)/hotpath: $(CLI_OBJS) $(HP_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(HP_LIBS) $(LDLIBS)

# Standalone programs (the demo origin, benchmark drivers), linked with every archive.
$(BUILD)/examples/%: examples/%.c $(HP_LIBS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(HP_LIBS) $(LDLIBS)
$(BUILD)/bench/%: bench/%.c $(HP_LIBS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(HP_LIBS) $(LDLIBS)

asan:
	@$(MAKE) --no-print-directory SAN=1 all

# ---- unit tests: tests/unit/<module>/test_*.c, cmocka, always sanitized ----
UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
test_module = $(word 3,$(subst /, ,$(1)))

define unit_rule
$(patsubst tests/%.c,$(BUILD)/tests/%,$(1)): $(1) $(call libs_for,$(call test_module,$(1))) | deps-test
	@mkdir -p $$(dir $$@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -o $$@ $$< $(call libs_for,$(call test_module,$(1))) $(LDLIBS) -lcmocka
endef
$(foreach t,$(UNIT_SRCS),$(eval $(call unit_rule,$(t))))

unit-bins: $(UNIT_BINS)

# ---- fuzz targets: tests/fuzz/fuzz_*.c, clang + libFuzzer ----
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Isrc -pthread -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
LIB_SRCS := $(foreach m,$(filter-out bench,$(MODULES)),$(wildcard src/$(m)/*.c))
$(FUZZ_BUILD)/%: tests/fuzz/%.c $(LIB_SRCS) | deps-test
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(LDLIBS)
fuzz-bins: $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))

# ---- ThreadSanitizer: the multi-threaded unit tests, built with clang ----
TSAN_TESTS := tests/unit/cache/test_stress.c tests/unit/net/test_loop.c \
	tests/unit/upstream/test_balance.c tests/unit/proxy/test_listeners.c \
	tests/unit/ratelimit/test_threads.c tests/unit/metrics/test_threads.c
TSAN_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Isrc -Itests -pthread -fsanitize=thread
build/tsan/tests/unit/%: tests/unit/%.c $(LIB_SRCS) | deps-test
	@mkdir -p $(dir $@)
	clang $(TSAN_CFLAGS) -o $@ $< $(foreach m,$(DEPS_$(word 1,$(subst /, ,$*))),$(wildcard src/$(m)/*.c)) \
		$(LDLIBS) -lcmocka
tsan-bins: $(patsubst tests/unit/%.c,build/tsan/tests/unit/%,$(TSAN_TESTS))

# ---- test entry points ----
test: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SAN=1 all unit-bins
	@$(MAKE) --no-print-directory fuzz-bins tsan-bins
	@sh tools/check_headers.sh
	@sh tools/check_layers.sh
	@sh tests/run.sh

unit: deps-test
	@$(MAKE) --no-print-directory SAN=1 unit-bins
	@$(MAKE) --no-print-directory tsan-bins
	@TESTS=unit sh tests/run.sh

scenario: deps-test all
	@TESTS=scenario sh tests/run.sh

fuzz: deps-test fuzz-bins
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} TESTS=fuzz sh tests/run.sh

run: deps-run all
	@sh examples/run-demo.sh

bench: all
	@sh bench/run.sh

# ---- install: binary, man page, configuration reference, example unit ----
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
MAN1DIR := $(PREFIX)/share/man/man1
DOCDIR := $(PREFIX)/share/doc/hotpath
INSTALL ?= install

# The unit's ExecStart names the installed binary, so it follows PREFIX.
install: $(BUILD)/hotpath
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN1DIR) $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 755 $(BUILD)/hotpath $(DESTDIR)$(BINDIR)/hotpath
	$(INSTALL) -m 644 docs/man/hotpath.1 $(DESTDIR)$(MAN1DIR)/hotpath.1
	$(INSTALL) -m 644 docs/configuration.md $(DESTDIR)$(DOCDIR)/configuration.md
	$(INSTALL) -m 644 examples/minimal.json $(DESTDIR)$(DOCDIR)/examples/minimal.json
	sed 's|/usr/local/bin/hotpath|$(BINDIR)/hotpath|g' examples/hotpath.service \
		>$(DESTDIR)$(DOCDIR)/examples/hotpath.service
	chmod 644 $(DESTDIR)$(DOCDIR)/examples/hotpath.service

check-headers:
	@sh tools/check_headers.sh

fmt:
	clang-format -i $(wildcard src/*/*.[ch] tests/*/*/*.c tests/*/*.c)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# dashboard.c assembles the page in (.incbin): rebuild it when the page changes.
$(BUILD)/obj/admin/dashboard.o: src/admin/dashboard.html
