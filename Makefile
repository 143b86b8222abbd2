# SPDX-License-Identifier: MIT
# musefs - GNU Makefile. `make` builds, `make check` installs what is
# missing (deps), builds and runs `prove -r t/`; `make check SANITIZE=1`
# does the same under ASan+UBSan in a separate build tree.

prefix ?= /usr/local
PREFIX ?= $(prefix)
bindir ?= $(PREFIX)/bin
mandir ?= $(PREFIX)/share/man
DESTDIR ?=
INSTALL ?= install

ifeq ($(SANITIZE),1)
B := build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
else
B := build
SAN_FLAGS :=
endif

CC ?= cc
PKGS := sqlite3 fuse3 flac ogg taglib_c libcrypto
TEST_PKGS := cmocka

# Every package the build and the tests need, in one place: `make deps`
# installs what is missing with apt-get.
DEB_BUILD := build-essential pkg-config libsqlite3-dev libfuse3-dev \
	libflac-dev libogg-dev libtagc0-dev libssl-dev libcmocka-dev
DEB_TEST := fuse3 sqlite3 flac sox ffmpeg python3-mutagen perl file lame \
	vorbis-tools opus-tools prometheus beets python3-requests clang
DEB_ALL := $(DEB_BUILD) $(DEB_TEST)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
	-Wmissing-prototypes -Wold-style-definition -Wpointer-arith \
	-Wwrite-strings -Wvla -Wformat-security -fno-common
ifeq ($(WERROR),1)
WARN += -Werror
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

MF_CPPFLAGS = -D_GNU_SOURCE -Ilib -I$(B)/gen $(PKG_CFLAGS)
MF_CFLAGS = -std=c17 -O2 -g $(WARN) $(SAN_FLAGS)
MF_LDFLAGS = $(SAN_FLAGS)
ALL_CPPFLAGS = $(MF_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS = $(MF_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(MF_LDFLAGS) $(LDFLAGS)

ifneq ($(V),1)
Q_CC = @echo '   CC' $@;
Q_AR = @echo '   AR' $@;
Q_LD = @echo '   LD' $@;
Q_GEN = @echo '   GEN' $@;
endif

LIB_SRCS := $(sort $(wildcard lib/*.c))
SCAN_SRCS := $(sort $(wildcard scan/*.c))
MOUNT_SRCS := $(sort $(wildcard mount/*.c))
UNIT_SRCS := $(sort $(wildcard t/unit/test_*.c))
HELPER_SRCS := $(sort $(wildcard t/helper/*.c))
SCHEMA := $(sort $(wildcard schema/*.sql))

LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o) $(B)/gen/mf_schema_sql.o
SCAN_OBJS := $(SCAN_SRCS:%.c=$(B)/%.o)
MOUNT_OBJS := $(MOUNT_SRCS:%.c=$(B)/%.o)
LIBCORE := $(B)/libcore.a
LIBSCAN := $(B)/libscan.a
# bin/mf_main.c: the start-up every program shares (reads the environment)
MAIN_OBJ := $(B)/bin/mf_main.o
PROGRAMS := $(B)/bin/musefs-scan $(B)/bin/musefs-mount $(B)/bin/musefs-stat \
	$(B)/bin/musefs
UNIT_TESTS := $(UNIT_SRCS:t/unit/%.c=$(B)/t/%)
# Linked into the unit tests (t/unit/*.c but test_*.c): lib-unit into
# every cmocka test, alloc_wrap with its fault_alloc policy into the tests
# of allocation failures (ENOMEM_WRAP below).
UNIT_LIB := $(B)/t/lib-unit.o
ALLOC_WRAP := $(B)/t/alloc_wrap.o
FAULT_ALLOC := $(B)/t/fault_alloc.o $(ALLOC_WRAP)
FAULT_TESTS := $(B)/t/test_template $(B)/t/test_tree
HELPERS := $(HELPER_SRCS:t/helper/%.c=$(B)/t/%)
ALL_OBJS := $(LIB_OBJS) $(SCAN_OBJS) $(MOUNT_OBJS) \
	$(B)/bin/musefs-scan.o $(B)/bin/musefs-mount.o $(B)/bin/musefs-stat.o \
	$(B)/bin/musefs.o $(MAIN_OBJ) \
	$(UNIT_SRCS:t/unit/%.c=$(B)/t/%.o) $(HELPER_SRCS:t/helper/%.c=$(B)/t/helper-%.o) \
	$(B)/t/unit/enomem_wrap.o $(UNIT_LIB) $(FAULT_ALLOC)

.PHONY: all check deps install uninstall clean run tests FORCE
.DELETE_ON_ERROR:
.SECONDARY:

all: $(PROGRAMS)

tests: $(UNIT_TESTS) $(HELPERS) $(B)/t/musefs-mount-enomem

# Changing the flags rebuilds everything (git's GIT-CFLAGS).
$(B)/CFLAGS: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(B)/%.o: %.c $(B)/CFLAGS
	@mkdir -p $(@D)
	$(Q_CC)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/gen/mf_schema_sql.c: $(SCHEMA) schema/gen-schema.sh
	@mkdir -p $(@D)
	$(Q_GEN)sh schema/gen-schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(B)/gen/mf_schema_sql.o: $(B)/gen/mf_schema_sql.c $(B)/CFLAGS
	$(Q_CC)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-overlength-strings -MMD -MP -c -o $@ $<

$(LIBCORE): $(LIB_OBJS)
	$(Q_AR)rm -f $@ && ar rcs $@ $^

$(LIBSCAN): $(SCAN_OBJS)
	$(Q_AR)rm -f $@ && ar rcs $@ $^

$(B)/bin/musefs-scan: $(B)/bin/musefs-scan.o $(MAIN_OBJ) $(LIBSCAN) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(B)/bin/musefs-mount: $(B)/bin/musefs-mount.o $(MAIN_OBJ) $(MOUNT_OBJS) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(B)/bin/musefs-stat: $(B)/bin/musefs-stat.o $(MAIN_OBJ) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(B)/bin/musefs: $(B)/bin/musefs.o $(MAIN_OBJ) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

$(B)/t/%.o: t/unit/%.c $(B)/CFLAGS
	@mkdir -p $(@D)
	$(Q_CC)$(CC) $(ALL_CPPFLAGS) $(TEST_CFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/t/test_%: $(B)/t/test_%.o $(UNIT_LIB) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS) -lpthread

# The scanner's tests link its modules from libscan.a.
$(B)/t/test_scan_%: $(B)/t/test_scan_%.o $(UNIT_LIB) $(LIBSCAN) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS) -lpthread

# test_enomem fails libcore's allocations in turn through a link-time seam
# (t/unit/alloc_wrap.h); so do the FAULT_TESTS, with cmocka.
ENOMEM_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
$(FAULT_TESTS): $(B)/t/%: $(B)/t/%.o $(UNIT_LIB) $(FAULT_ALLOC) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) $(ENOMEM_WRAP) -o $@ $^ $(PKG_LIBS) \
		$(TEST_LIBS) -lpthread

$(B)/t/test_enomem: $(B)/t/test_enomem.o $(FAULT_ALLOC) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) $(ENOMEM_WRAP) -o $@ $^ $(PKG_LIBS) -lpthread

# The mount with the same seam, faults set by MUSEFS_TEST_ENOMEM_*
# (t/unit/enomem_wrap.c; t/6207-fault-enomem-mount.t).
$(B)/t/musefs-mount-enomem: $(B)/bin/musefs-mount.o $(MAIN_OBJ) $(MOUNT_OBJS) \
		$(B)/t/unit/enomem_wrap.o $(ALLOC_WRAP) $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) $(ENOMEM_WRAP) -o $@ $^ $(PKG_LIBS) -lpthread

$(B)/t/helper-%.o: t/helper/%.c $(B)/CFLAGS
	@mkdir -p $(@D)
	$(Q_CC)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/t/%: $(B)/t/helper-%.o $(LIBCORE)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lpthread

# Install what is missing, quietly; nothing when all is present.
deps:
	@missing=$$(for p in $(DEB_ALL); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi; \
		$$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			-o DPkg::Lock::Timeout=600 \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	fi

check: deps
	@$(MAKE) --no-print-directory WERROR=1 all tests
	MF_BUILD=$(CURDIR)/$(B) prove -r t/

install: all
	$(INSTALL) -d -m 755 '$(DESTDIR)$(bindir)'
	$(INSTALL) -m 755 $(PROGRAMS) '$(DESTDIR)$(bindir)'
	$(INSTALL) -d -m 755 '$(DESTDIR)$(mandir)/man1'
	$(INSTALL) -m 644 $(wildcard docs/*.1) '$(DESTDIR)$(mandir)/man1'

uninstall:
	rm -f $(addprefix '$(DESTDIR)$(bindir)'/,musefs-scan musefs-mount musefs-stat musefs)
	rm -f $(addprefix '$(DESTDIR)$(mandir)/man1'/,$(notdir $(wildcard docs/*.1)))

# The main job: deps, build, scan LIBRARY into the default store, mount it
# in the foreground at MOUNTPOINT (Ctrl-C unmounts).
run: deps
	@test -n "$(LIBRARY)" -a -n "$(MOUNTPOINT)" || \
		{ echo 'usage: make run LIBRARY=DIR MOUNTPOINT=DIR' >&2; exit 1; }
	@$(MAKE) --no-print-directory all
	$(B)/bin/musefs-scan '$(LIBRARY)'; test $$? -le 2
	@mkdir -p '$(MOUNTPOINT)'
	@echo "run: mounting the tree at '$(MOUNTPOINT)' in the foreground; stop it" \
		"with Ctrl-C or: fusermount3 -u '$(MOUNTPOINT)'"
	$(B)/bin/musefs-mount -f $(if $(TEMPLATE),--template '$(TEMPLATE)') '$(MOUNTPOINT)'

clean:
	rm -rf build

FORCE:

-include $(ALL_OBJS:.o=.d)

# ---- bench-scan (musefs-scan helper): musefs-scan vs mpd and beets ----
# `make bench-scan` installs the bench-only packages (never needed by
# `make check`), builds, and runs bench/scan/run.sh. Knobs (environment or
# make variables): BENCH_FILES (default 100000), BENCH_RUNS (3),
# BENCH_JOBS (CPU count), BENCH_BEETS_FILES (all), BENCH_DIR.
DEB_BENCH_SCAN := mpd mpc beets bc time sox flac lame ffmpeg sqlite3
BENCH_FILES ?= 100000
.PHONY: bench bench-scan
bench: bench-scan
bench-scan: all
	@$(MAKE) --no-print-directory deps DEB_ALL='$(DEB_BENCH_SCAN)'
	BENCH_FILES=$(BENCH_FILES) MF_BUILD=$(CURDIR)/$(B) sh bench/scan/run.sh

# ---- bench-mount (musefs-mount helper): never part of `make check` ----
# `make bench` runs every benchmark; each adds itself as a prerequisite.
# `make bench-mount`: the musefs-mount performance harness of issue 6
# (bench/mount/run.py; knobs BENCH_QUICK=1, BENCH_MOUNT_DIR=..., see its top).
# Installs its own peers (bindfs, mergerfs) when missing.
DEB_BENCH_MOUNT := bindfs mergerfs
.PHONY: bench bench-mount
bench: bench-mount

$(B)/bench/mfbench: bench/mount/mfbench.c $(B)/CFLAGS
	@mkdir -p $(@D)
	$(Q_CC)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

bench-mount: deps
	@$(MAKE) --no-print-directory deps DEB_ALL='$(DEB_BENCH_MOUNT)'
	@$(MAKE) --no-print-directory all $(B)/bench/mfbench
	/usr/bin/python3 bench/mount/run.py --build '$(CURDIR)/$(B)'
# ---- end of bench-mount -----------------------------------------------

# ---- fuzz (issue 14): libFuzzer targets, docs/fuzzing.md ----
# libcore is rebuilt with clang into build/fuzz (instrumented with
# -fsanitize=fuzzer-no-link plus ASan+UBSan) and each fuzz/fuzz_*.c links
# against it with -fsanitize=fuzzer. `make fuzz-build` builds the targets,
# or writes the reason into build/fuzz/SKIP when clang or libFuzzer is
# missing (t/8001-fuzz.t then skips); `make check` runs it. `make fuzz`
# generates the seed corpora (fuzz/mkseeds.sh) and runs every target for
# FUZZ_SECONDS (default 300) on build/fuzz/corpus/<target>; crashes land
# in build/fuzz/crash/<target>/ (keep them under t/fuzz-regressions/).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
FZ := build/fuzz
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:fuzz/fuzz_%.c=%)
FUZZ_TARGETS := $(FUZZ_NAMES:%=$(FZ)/fuzz_%)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CPPFLAGS = -D_GNU_SOURCE -Ilib -Ifuzz $(PKG_CFLAGS)
FUZZ_CFLAGS = -std=c17 -O1 -g $(WARN) $(FUZZ_SAN)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FZ)/%.o) $(FZ)/gen/mf_schema_sql.o

.PHONY: fuzz fuzz-build fuzz-targets
check: fuzz-build

$(FZ)/CFLAGS: FORCE
	@mkdir -p $(@D)
	@echo '$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS)' > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(FZ)/lib/%.o: lib/%.c $(FZ)/CFLAGS
	@mkdir -p $(@D)
	$(Q_CC)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FZ)/gen/mf_schema_sql.c: $(SCHEMA) schema/gen-schema.sh
	@mkdir -p $(@D)
	$(Q_GEN)sh schema/gen-schema.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(FZ)/gen/mf_schema_sql.o: $(FZ)/gen/mf_schema_sql.c $(FZ)/CFLAGS
	$(Q_CC)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) \
		-Wno-overlength-strings -MMD -MP -c -o $@ $<

$(FZ)/libcore.a: $(FUZZ_LIB_OBJS)
	$(Q_AR)rm -f $@ && ar rcs $@ $^

$(FZ)/fuzz_%.o: fuzz/fuzz_%.c $(FZ)/CFLAGS
	@mkdir -p $(@D)
	$(Q_CC)$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FZ)/fuzz_%: $(FZ)/fuzz_%.o $(FZ)/libcore.a
	$(Q_LD)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ \
		$(PKG_LIBS) -lpthread

fuzz-targets: $(FUZZ_TARGETS)

# After deps, so that a fresh machine has clang installed first.
fuzz-build: deps
	@mkdir -p $(FZ); rm -f $(FZ)/SKIP; \
	if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then \
		echo "$(FUZZ_CC) is not installed" > $(FZ)/SKIP; \
	elif ! printf '%s\n' '#include <stddef.h>' \
		'int LLVMFuzzerTestOneInput(const char *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const char *d, size_t n)' \
		'{ (void)d; (void)n; return 0; }' | \
		$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -x c \
		-o $(FZ)/libfuzzer-probe - >/dev/null 2>&1; then \
		echo "$(FUZZ_CC) cannot link -fsanitize=fuzzer (no libFuzzer)" \
			> $(FZ)/SKIP; \
	fi; \
	if test -f $(FZ)/SKIP; then \
		echo "fuzz-build: skipped: $$(cat $(FZ)/SKIP)"; \
	else \
		$(MAKE) --no-print-directory WERROR=1 fuzz-targets; \
	fi

fuzz: fuzz-build all
	@test ! -f $(FZ)/SKIP || { echo "fuzz: $$(cat $(FZ)/SKIP)" >&2; exit 1; }
	MUSEFS_SCAN=$(CURDIR)/$(B)/bin/musefs-scan sh fuzz/mkseeds.sh $(FZ)/corpus
	@for t in $(FUZZ_NAMES); do \
		mkdir -p $(FZ)/corpus/$$t $(FZ)/crash/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(FZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FZ)/crash/$$t/ $(FZ)/corpus/$$t \
			$$(test -d t/fuzz-regressions/$$t && \
				echo t/fuzz-regressions/$$t) || exit 1; \
	done

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_TARGETS:=.d)
# ---- end of fuzz ------------------------------------------------------

# ---- soak (issue 14) --------------------------------------------------
# make soak: 32 readers, a tree walker and a store writer against one mount
# for SOAK_SECONDS, in the foreground and the daemonized form (t/9002-soak.t,
# driver t/helper/soak.py). make check runs the same test for 30 + 10 s.
SOAK_SECONDS ?= 300
.PHONY: soak
soak: all tests
	MF_BUILD=$(CURDIR)/$(B) SOAK_SECONDS=$(SOAK_SECONDS) \
		SOAK_DAEMON_SECONDS=$(SOAK_SECONDS) prove -v t/9002-soak.t

# ---- valgrind (issue 14) ----------------------------------------------
# make check-valgrind: the end-to-end suite once more with musefs-scan,
# musefs-mount, musefs-stat and musefs under valgrind memcheck
# (t/valgrind-run.sh); fails on any memcheck error or definite/indirect
# leak in any process, even when every test passed. Slow (about 10x the
# plain suite's waits): not part of make check. VALGRIND_T selects scripts.
DEB_VALGRIND := valgrind
VALGRIND_T ?= -r t/
.PHONY: check-valgrind
check-valgrind: deps
	@$(MAKE) --no-print-directory deps DEB_ALL='$(DEB_VALGRIND)'
	@$(MAKE) --no-print-directory WERROR=1 all tests
	sh t/valgrind-run.sh $(B) $(VALGRIND_T)
