# nbde - one static binary for Network-Bound Disk Encryption.
#
#   make            ./nbde, static (musl + libraries built by scripts/build-deps.sh)
#   make check      every test suite (installs Debian test peers when root)
#   make check-fast every suite but the qemu boots, nothing installed (missing
#                   tools: SKIP); TEST_SLOWDOWN=N stretches every test bound
#   make demo       the whole job on this machine, each command shown (scripts/demo.sh)
#   make sanitize   the same sources against glibc with ASan+UBSan (build/san/)
#   make fuzz       builds and runs each libFuzzer target for FUZZ_SECONDS
#   make install    DESTDIR=... PREFIX=...
#   make deb        build/nbde_VERSION_amd64.deb (scripts/deb.sh; dpkg-deb, no network)
#   make image      the OCI image (hooks/container/Containerfile; podman or buildah),
#                   tagged IMAGE (default localhost/nbde:latest), whose name it prints

.DEFAULT_GOAL := all
VERSION := 0.1
JOBS ?= 2
FUZZ_SECONDS ?= 20
PREFIX ?= /usr
DESTDIR ?=

LIB_SRC := $(sort $(wildcard crypto/*.c net/*.c luks/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c cmd/*/*.c))
NBDE_SRC := nbde.c $(CMD_SRC) $(LIB_SRC)
UNIT_SRC := $(sort $(wildcard test/unit_*.c))
CT_SRC := $(sort $(wildcard test/ct_*.c))
FUZZ_SRC := $(sort $(wildcard test/fuzz/fuzz_*.c))
# library code the fuzz targets may link: the lower layers and cmd/'s
# subfolders (cmd/ itself holds applets only); taken from an archive, so a
# target pulls in only the objects it needs
FUZZ_LIB_SRC := $(LIB_SRC) $(sort $(wildcard cmd/*/*.c))
DEPS_INPUTS := scripts/build-deps.sh scripts/deps.list scripts/mbedtls_config.h scripts/entropy_getrandom.c \
	scripts/mbedtls-pbkdf2.patch $(wildcard crypto/mbedtls_alt/*)

DEFS := -D_GNU_SOURCE -DNBDE_VERSION='"$(VERSION)"'
WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
# mbedtls (libmbedtls + libmbedx509) only for net/tls_transport.c; the last
# mbedcrypto comes after mbedx509, which needs it, in a static link
PKGS := libcryptsetup libcjson mbedtls mbedcrypto

# The dependency prefixes come from the build script through generated
# makefiles, so `make clean` never triggers a library build.
build/deps-%.mk: $(DEPS_INPUTS)
	@mkdir -p build
	scripts/build-deps.sh $* > $@.out
	@p=$$(tail -n 1 $@.out); test -d "$$p" || { echo "build-deps.sh $* gave no prefix" >&2; exit 1; }; \
	  echo "DEPS_$* := $$p" > $@; rm -f $@.out

ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
-include build/deps-musl.mk
ifneq ($(filter sanitize check check-fast fuzz fuzz-build build/san/% build/fuzz/%,$(MAKECMDGOALS)),)
-include build/deps-glibc.mk
endif
endif

pc = PKG_CONFIG_LIBDIR=$(1)/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static $(2) $(PKGS)

# --- static musl flavour: the product ---
M := build/musl
MUSL_CC = $(DEPS_musl)/bin/musl-cc
MUSL_CFLAGS = -std=gnu11 -O2 -g -ffunction-sections -fdata-sections $(WARN) \
	$(DEFS) $(shell $(call pc,$(DEPS_musl),--cflags))
MUSL_LIBS = $(shell $(call pc,$(DEPS_musl),--libs)) -lpthread

$(M)/%.o: %.c $(wildcard */*.h */*/*.h) cmd/applets.def build/deps-musl.mk
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) -c $< -o $@

$(M)/nbde.unstripped: $(NBDE_SRC:%.c=$(M)/%.o)
	$(MUSL_CC) -static -Wl,--gc-sections -o $@ $^ $(MUSL_LIBS)

nbde: $(M)/nbde.unstripped
	strip -o $@ $<

$(M)/josetool: $(M)/test/josetool.o $(LIB_SRC:%.c=$(M)/%.o)
	$(MUSL_CC) -static -Wl,--gc-sections -o $@ $^ $(MUSL_LIBS)

$(M)/unit_%: $(M)/test/unit_%.o $(LIB_SRC:%.c=$(M)/%.o)
	$(MUSL_CC) -static -Wl,--gc-sections -o $@ $^ $(MUSL_LIBS)

# test clients that need no library
$(M)/tang_load: test/tang_load.c
	@mkdir -p $(dir $@)
	$(MUSL_CC) -static -O2 $(WARN) -o $@ $< -lpthread

# unit_pins also tests the JWE-tree bounds of the pins (needs no applet code)
UNIT_PINS_CMD := cmd/pin/shape.c
$(M)/unit_pins: $(UNIT_PINS_CMD:%.c=$(M)/%.o)

# unit_tpm2 tests the tpm2 pin's TPM module
UNIT_TPM2_CMD := $(sort $(wildcard cmd/tpm2/*.c))
$(M)/unit_tpm2: $(UNIT_TPM2_CMD:%.c=$(M)/%.o)

# test/ct_*.c: programs test/01-ct.t runs under valgrind; they include
# <valgrind/memcheck.h> from the system's /usr/include, searched after musl's.
$(M)/test/ct_%.o: MUSL_CFLAGS += -idirafter /usr/include
$(M)/ct_%: $(M)/test/ct_%.o $(LIB_SRC:%.c=$(M)/%.o)
	$(MUSL_CC) -static -Wl,--gc-sections -o $@ $^ $(MUSL_LIBS)

all: nbde

# --- glibc + ASan/UBSan flavour: tests and fuzzing ---
S := build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_CFLAGS = -std=gnu11 -O1 -g $(SAN_FLAGS) $(WARN) $(DEFS) \
	$(shell $(call pc,$(DEPS_glibc),--cflags))
SAN_LIBS = $(shell $(call pc,$(DEPS_glibc),--libs)) -lpthread

$(S)/%.o: %.c $(wildcard */*.h */*/*.h) cmd/applets.def build/deps-glibc.mk
	@mkdir -p $(dir $@)
	gcc $(SAN_CFLAGS) -c $< -o $@

# -O2 (not -O1) for the P-521 field code keeps test/unit_p521 quick under ASan
$(S)/crypto/p521.o: SAN_CFLAGS += -O2

$(S)/nbde: $(NBDE_SRC:%.c=$(S)/%.o)
	gcc $(SAN_FLAGS) -o $@ $^ $(SAN_LIBS)

$(S)/josetool: $(S)/test/josetool.o $(LIB_SRC:%.c=$(S)/%.o)
	gcc $(SAN_FLAGS) -o $@ $^ $(SAN_LIBS)

$(S)/unit_%: $(S)/test/unit_%.o $(LIB_SRC:%.c=$(S)/%.o)
	gcc $(SAN_FLAGS) -o $@ $^ $(SAN_LIBS)
$(S)/unit_pins: $(UNIT_PINS_CMD:%.c=$(S)/%.o)
$(S)/unit_tpm2: $(UNIT_TPM2_CMD:%.c=$(S)/%.o)

sanitize: $(S)/nbde $(S)/josetool $(UNIT_SRC:test/%.c=$(S)/%)

# --- fuzzing (clang libFuzzer against the glibc prefix) ---
F := build/fuzz
FUZZ_CFLAGS = -std=gnu11 -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(WARN) $(DEFS) \
	$(shell $(call pc,$(DEPS_glibc),--cflags))

$(F)/%.o: %.c $(wildcard */*.h */*/*.h) build/deps-glibc.mk
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@

$(F)/libnbde.a: $(FUZZ_LIB_SRC:%.c=$(F)/%.o)
	rm -f $@ && ar rcs $@ $^

$(F)/fuzz_%: $(F)/test/fuzz/fuzz_%.o $(F)/test/fuzz/common.o $(F)/libnbde.a
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(SAN_LIBS)

fuzz-build: $(FUZZ_SRC:test/fuzz/%.c=$(F)/%)

fuzz: fuzz-build
	@for t in $(FUZZ_SRC:test/fuzz/%.c=%); do \
	  mkdir -p build/fuzz/corpus-$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $(F)/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build/fuzz/corpus-$$t \
	    $$(test -d test/fuzz/corpus/$$t && echo test/fuzz/corpus/$$t) \
	    2>build/fuzz/$$t.log || { tail -30 build/fuzz/$$t.log; exit 1; }; \
	  tail -1 build/fuzz/$$t.log; \
	done

# --- tests ---
# the fuzz targets are built by the test run too (08-fuzz replays their seed
# corpora), so none can rot unnoticed; skipped where clang is not installed
FUZZ_BUILD := $(if $(shell command -v clang 2>/dev/null),fuzz-build)
TEST_PROGS := nbde $(M)/josetool $(M)/tang_load $(UNIT_SRC:test/%.c=$(M)/%) $(CT_SRC:test/%.c=$(M)/%) sanitize \
	$(FUZZ_BUILD)
TESTS := $(sort $(wildcard test/*.t))
# the qemu boots and the package test (a debootstrap chroot) are left to make check
VM_TESTS := $(filter test/%-vm.t test/%-vm-late.t test/%-vm-dropbear.t test/%-vm-tpm2.t test/%-vm-tpm2pin.t test/%-deb.t,$(TESTS))
PROVE = NBDE=$(CURDIR)/nbde JOSETOOL=$(CURDIR)/$(M)/josetool SAN=$(CURDIR)/$(S) BUILD=$(CURDIR)/$(M) FUZZ=$(CURDIR)/$(F) \
	prove -f --timer

check: $(TEST_PROGS)
	scripts/install-test-deps.sh
	$(PROVE) $(TESTS)

# the inner loop: no qemu boots, no package installs
check-fast: $(TEST_PROGS)
	$(PROVE) $(filter-out $(VM_TESTS),$(TESTS))

# demo: the whole job on this machine, each command printed as it runs
demo: nbde
	NBDE=$(CURDIR)/nbde scripts/demo.sh

# install: the binary, its applet names, the boot hooks and the units, where
# dracut, initramfs-tools and systemd look (their directories do not follow
# PREFIX; override them if your distribution differs). @BINDIR@ in hooks and
# units becomes the installed binary's directory.
BINDIR = $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
# nbde's private helper scripts (the drop-in's nbde-pin-unlock)
NBDE_LIBDIR ?= $(PREFIX)/lib/nbde
UNITDIR ?= $(PREFIX)/lib/systemd/system
DRACUTDIR ?= /usr/lib/dracut/modules.d
ITOOLSDIR ?= /usr/share/initramfs-tools
# names nbde answers to as argv[0]; tangd also where tang's units expect it
CLEVIS_LINKS := $(shell grep -o '"clevis-[a-z-]*"' cmd/applets.def | tr -d '"')
APPLET_LINKS := tangd tang-server tangd-keygen tangd-rotate-keys tang-show-keys clevis $(CLEVIS_LINKS)
UNITS := tangd.socket tangd@.service nbde-tangd.socket nbde-tangd.service
subst_bindir = sed 's|@BINDIR@|$(BINDIR)|g; s|@NBDE_LIBDIR@|$(NBDE_LIBDIR)|g' $(1) > $(2)

# the boot tests alone (test/50-vm.t, test/51-vm-late.t, test/52-vm-dropbear.t, test/53-vm-tpm2.t,
# test/54-vm-tpm2pin.t; caches in ~/.cache/nbde-vm)
vm-test: nbde
	scripts/install-test-deps.sh
	NBDE=$(CURDIR)/nbde prove -v test/50-vm.t test/51-vm-late.t test/52-vm-dropbear.t test/53-vm-tpm2.t \
		test/54-vm-tpm2pin.t

install: nbde
	install -D -m 0755 nbde $(DESTDIR)$(BINDIR)/nbde
	for l in $(APPLET_LINKS); do ln -sf nbde $(DESTDIR)$(BINDIR)/$$l; done
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR)
	for l in tangd tangd-keygen tangd-rotate-keys; do ln -sf $(BINDIR)/nbde $(DESTDIR)$(LIBEXECDIR)/$$l; done
	for u in $(UNITS); do $(call subst_bindir,hooks/$$u,$(DESTDIR)$(UNITDIR)/$$u); chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; done
	for n in nbde clevis-luks; do for t in path service; do \
	  $(call subst_bindir,hooks/systemd/nbde-askpass.$$t,$(DESTDIR)$(UNITDIR)/$$n-askpass.$$t); \
	done; done
	install -d $(DESTDIR)$(UNITDIR)/systemd-cryptsetup@.service.d
	$(call subst_bindir,hooks/systemd/nbde-pin.conf,$(DESTDIR)$(UNITDIR)/systemd-cryptsetup@.service.d/nbde-pin.conf)
	install -d $(DESTDIR)$(NBDE_LIBDIR)
	$(call subst_bindir,hooks/systemd/nbde-pin-unlock,$(DESTDIR)$(NBDE_LIBDIR)/nbde-pin-unlock)
	chmod 0755 $(DESTDIR)$(NBDE_LIBDIR)/nbde-pin-unlock
	install -d $(DESTDIR)$(DRACUTDIR)/60nbde
	for f in hooks/dracut/60nbde/*.sh; do \
	  $(call subst_bindir,$$f,$(DESTDIR)$(DRACUTDIR)/60nbde/$$(basename $$f)); \
	  chmod 0755 $(DESTDIR)$(DRACUTDIR)/60nbde/$$(basename $$f); \
	done
	for f in nbde-askpass.path nbde-askpass.service nbde-pin.conf nbde-pin-unlock; do \
	  $(call subst_bindir,hooks/systemd/$$f,$(DESTDIR)$(DRACUTDIR)/60nbde/$$f); \
	done
	chmod 0755 $(DESTDIR)$(DRACUTDIR)/60nbde/nbde-pin-unlock
	for f in hooks/nbde scripts/local-top/nbde scripts/local-bottom/nbde; do \
	  install -d $(DESTDIR)$(ITOOLSDIR)/$$(dirname $$f); \
	  $(call subst_bindir,hooks/initramfs-tools/$$f,$(DESTDIR)$(ITOOLSDIR)/$$f); \
	  chmod 0755 $(DESTDIR)$(ITOOLSDIR)/$$f; \
	done

# deb: the package of the install tree, staged with Debian's paths (units in
# /lib/systemd/system: bookworm's place until its /usr merge is finished)
# (DEB_ROOT: the staging tree, emptied first)
DEB ?= build/nbde_$(VERSION)_amd64.deb
DEB_ROOT ?= build/deb
deb: nbde
	rm -rf $(DEB_ROOT)
	$(MAKE) -s install DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr UNITDIR=/lib/systemd/system
	scripts/deb.sh $(DEB_ROOT) $(VERSION) $(DEB)

# image: FROM scratch, the binary alone; the build's chatter goes to stderr
# so stdout is the image's name. --timestamp 0: the same binary gives the
# same image. (IMAGE_CONTEXT: the staging folder, emptied first)
IMAGE ?= localhost/nbde:latest
IMAGE_CONTEXT ?= build/image
IMAGE_BUILDER ?= $(firstword $(foreach b,podman buildah,$(if $(shell command -v $(b) 2>/dev/null),$(b))))
image: nbde
	@test -n "$(IMAGE_BUILDER)" || { echo "make image: needs podman or buildah" >&2; exit 1; }
	@rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)/keys/tang $(IMAGE_CONTEXT)/var/db
	@chmod 0700 $(IMAGE_CONTEXT)/keys/tang && chmod 0755 $(IMAGE_CONTEXT)/var $(IMAGE_CONTEXT)/var/db
	@cp nbde $(IMAGE_CONTEXT)/nbde
	@$(IMAGE_BUILDER) build --timestamp 0 -f hooks/container/Containerfile -t $(IMAGE) $(IMAGE_CONTEXT) >&2
	@echo $(IMAGE)

clean:
	rm -rf build nbde

.PHONY: all sanitize fuzz fuzz-build check check-fast demo vm-test install deb image clean
.SECONDARY:
