#!/bin/bash
# 28-deb.t - the Debian package (make deb): its control fields (what it
# replaces, conflicts with and provides), its files, modes and links, the
# man pages made from the applets' -h text, lintian with only the written
# overrides; then installed into a fresh debootstrap'ed bookworm chroot:
# the _tang user and /var/lib/tang, tangd-keygen, `clevis luks list` and
# `clevis luks pass` on a bound LUKS image, the initramfs remade with nbde's
# hook by the package's trigger, and dpkg -r / -P keeping the keys.
# The chroot (bookworm minbase + initramfs-tools + cryptsetup-bin, made by
# test/vm/chroot.sh) is cached in ~/.cache/nbde-deb under a key of that
# script and copied per run, so every run starts fresh.
. "$(dirname "$0")/lib.sh"
need make dpkg-deb
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
TOP=$(cd "$TEST_DIR/.." && pwd)
VERSION=$(sed -n 's/^VERSION := //p' "$TOP/Makefile")
DEB=$TMP/nbde.deb
REPLACED="clevis clevis-dracut clevis-initramfs clevis-luks clevis-systemd tang tang-common"

make -s -C "$TOP" deb DEB="$DEB" DEB_ROOT="$TMP/stage" >"$TMP/make.log" 2>&1
ok $? "make deb builds the package" || { cat "$TMP/make.log" >&2; done_testing; exit; }

# ---- control ----
field() { dpkg-deb -f "$DEB" "$1"; }
is "$(field Package) $(field Version) $(field Architecture)" "nbde $VERSION amd64" \
	"Package nbde, Version $VERSION (the Makefile's), Architecture amd64"
[ -n "$(field Maintainer)" ] && [ -n "$(field Description)" ]
ok $? "Maintainer and Description are set"
is "$(field Depends)$(field Pre-Depends)" "" "no Depends: the binary is static"
names() { tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d' | sort | tr '\n' ' ' | sed 's/ $//'; }
for f in Replaces Conflicts Provides; do
	is "$(field "$f" | names)" "$REPLACED" "$f: every tang and clevis package"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -tf - | sed 's|^\./||' | sort >"$TMP/ctrl"
grep -qx postinst "$TMP/ctrl" && grep -qx postrm "$TMP/ctrl"
ok $? "postinst and postrm are in the control archive"
is "$(dpkg-deb -I "$DEB" triggers | grep -v '^#')" "activate-noawait update-initramfs" \
	"triggers: update-initramfs, as Debian's clevis-initramfs"

# ---- files ----
dpkg-deb -c "$DEB" >"$TMP/list"
mode_of() { awk -v p="./$1" '$6 == p { print $1, $2 }' "$TMP/list"; }
link_of() { awk -v p="./$1" '$6 == p && $7 == "->" { print $8 }' "$TMP/list"; }
is "$(mode_of usr/bin/nbde)" "-rwxr-xr-x root/root" "usr/bin/nbde: 0755 root/root"
bad=
for n in tangd tang-server tangd-keygen tangd-rotate-keys tang-show-keys clevis clevis-luks-bind \
	clevis-luks-list clevis-luks-unlock clevis-encrypt-tang clevis-decrypt; do
	[ "$(link_of "usr/bin/$n")" = nbde ] || bad="$bad $n"
done
is "$bad" "" "the applet names in usr/bin are links to nbde"
is "$(link_of usr/libexec/tangd)" ../bin/nbde "usr/libexec/tangd is a relative link to the binary"
bad=
for f in lib/systemd/system/tangd.socket lib/systemd/system/tangd@.service \
	lib/systemd/system/nbde-tangd.socket lib/systemd/system/nbde-tangd.service \
	lib/systemd/system/clevis-luks-askpass.path usr/share/initramfs-tools/hooks/nbde \
	usr/share/initramfs-tools/scripts/local-top/nbde usr/lib/dracut/modules.d/60nbde/module-setup.sh \
	usr/lib/dracut/modules.d/60nbde/nbde-pin-unlock usr/lib/nbde/nbde-pin-unlock \
	lib/systemd/system/systemd-cryptsetup@.service.d/nbde-pin.conf \
	usr/share/doc/nbde/copyright usr/share/doc/nbde/changelog.gz usr/share/lintian/overrides/nbde; do
	grep -q " \./$f\$" "$TMP/list" || bad="$bad $f"
done
is "$bad" "" "units, boot hooks, copyright, changelog and lintian overrides are there"
is "$(mode_of usr/share/initramfs-tools/hooks/nbde)" "-rwxr-xr-x root/root" "the initramfs-tools hook is 0755"
is "$(awk '$2 != "root/root"' "$TMP/list")" "" "every file belongs to root/root"
is "$(grep -c ' \./var/' "$TMP/list")" 0 "nothing under /var: the key directory is the postinst's, not dpkg's"
bad=
for f in $(awk '$6 ~ /^\.\/usr\/bin\// { sub(/^\.\/usr\/bin\//, "", $6); print $6 }' "$TMP/list"); do
	grep -q " \./usr/share/man/man1/$f\.1\.gz\$" "$TMP/list" || bad="$bad $f"
done
is "$bad" "" "a man page for every name in usr/bin"
grep -q ' \./usr/share/man/man8/tang\.8\.gz$' "$TMP/list"
ok $? "tang(8), which the units name as their documentation"

# the pages are the programs' own -h text
dpkg-deb -x "$DEB" "$TMP/x"
page() { zcat "$TMP/x/usr/share/man/$1" | sed 's/\\-/-/g; s/\\e/\\/g'; }
# (called as clevis-luks-bind, the synopsis names the program as clevis's)
grep -qF "$("$NBDE" bind -h | head -n 1 | sed 's/^usage: nbde bind /usage: clevis luks bind /')" \
	<(page man1/clevis-luks-bind.1.gz) &&
	grep -q '^clevis-luks-bind - Binds a LUKS device using the specified policy$' <(page man1/clevis-luks-bind.1.gz)
ok $? "clevis-luks-bind(1): its summary and the bind applet's -h text"
grep -qF -- "$("$NBDE" tang-server -h | grep -- --listen)" <(page man1/tang-server.1.gz)
ok $? "tang-server(1) holds the option table of tang-server -h"
grep -qF "$("$NBDE" -h | grep '^  unlock ')" <(page man1/nbde.1.gz)
ok $? "nbde(1) lists the applets"
zcat "$TMP/x/usr/share/doc/nbde/changelog.gz" | head -n 1 | grep -q "^nbde ($VERSION) "
ok $? "changelog.gz: its latest entry is version $VERSION"

# ---- lintian ----
# every override has its reason written above it (a comment line)
awk '/^#/ { c = 1; next } /^$/ { c = 0; next } { if (!c) { print; bad = 1 } }
	END { exit bad }' "$TOP/hooks/debian/lintian-overrides" >"$TMP/nocomment"
ok $? "every lintian override has a written reason" || sed 's/^/# no reason: /' "$TMP/nocomment" >&2
if command -v lintian >/dev/null; then
	lintian --no-cfg --fail-on error,warning "$DEB" >"$TMP/lintian" 2>&1
	ok $? "lintian: no error or warning beyond the written overrides" || sed 's/^/# /' "$TMP/lintian" >&2
else
	skip "lintian is not installed"
fi

# ---- installed into a bookworm chroot ----
chroot_skip() { skip "$1 (the package was not installed anywhere)"; done_testing; exit; }
[ "$(id -u)" = 0 ] || chroot_skip "needs root (chroot, dpkg -i into it)"
for c in debootstrap unshare chroot cryptsetup; do
	command -v "$c" >/dev/null || chroot_skip "$c is not installed"
done
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/nbde-deb
key=$(sha256sum "$TOP/test/vm/chroot.sh" | cut -c1-12)
base=$CACHE/chroot-deb-$key
if [ ! -d "$base" ]; then
	mkdir -p "$CACHE"
	diag "making the bookworm chroot (once; cached in $base)"
	"$TOP/test/vm/chroot.sh" deb "$base" 2>"$TMP/chroot.err" ||
		chroot_skip "no bookworm chroot: debootstrap failed ($(tail -n 1 "$TMP/chroot.err"))"
	# chroots made by an older chroot.sh (12-digit keys) are no longer used
	for old in "$CACHE"/chroot-deb-????????????; do
		[ "$old" = "$base" ] || rm -rf "$old" "$old.log"
	done
fi
R=$TMP/root
cp -a "$base" "$R"
ok $? "a fresh copy of the cached bookworm chroot"

# in_root CMD: CMD run by sh in the chroot, with /proc, /dev and /run
# mounted in a private mount namespace: they vanish with it, so nothing
# stays mounted however the test ends (no unmount to forget)
in_root() {
	unshare -m --propagation private sh -c 'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" &&
		mount -t tmpfs run "$0/run" && exec chroot "$0" /bin/sh -c "$1"' "$R" "$1"
}

# a kernel version for initramfs-tools (no real kernel is needed to run
# the hooks: an empty module tree, a config naming the compression, an
# empty vmlinuz so update-initramfs -u finds the version)
KV=0.0.0-nbde
in_root "mkdir -p /lib/modules/$KV && cd /lib/modules/$KV && touch modules.order modules.builtin \
	modules.builtin.modinfo && depmod $KV && echo CONFIG_RD_GZIP=y >/boot/config-$KV &&
	touch /boot/vmlinuz-$KV && update-initramfs -c -k $KV" >"$TMP/initrd.log" 2>&1
ok $? "an initramfs for $KV made before nbde is installed" || sed 's/^/# /' "$TMP/initrd.log" | tail -n 5 >&2
in_initrd() { in_root "lsinitramfs /boot/initrd.img-$KV" | grep -qx "$1"; }
in_initrd "usr/lib/modules/$KV" && ! in_initrd usr/bin/nbde
ok $? "it holds no nbde"

cp "$DEB" "$R/tmp/nbde.deb"
in_root "dpkg -i /tmp/nbde.deb" >"$TMP/dpkg-i.log" 2>&1
ok $? "dpkg -i nbde.deb" || sed 's/^/# /' "$TMP/dpkg-i.log" >&2
is "$(in_root "dpkg-query -W -f '\${Status}' nbde")" "install ok installed" "dpkg: nbde is installed"
grep -q '^update-initramfs: Generating' "$TMP/dpkg-i.log"
ok $? "the trigger ran update-initramfs"
in_initrd usr/bin/nbde && in_initrd scripts/local-top/nbde
ok $? "the remade initramfs holds nbde and its local-top script (nbde's hook ran)"

uid=$(in_root "getent passwd _tang" | cut -d: -f3)
[ -n "$uid" ] && [ "$uid" -lt 1000 ]
ok $? "_tang is a system user (uid $uid)"
is "$(in_root "stat -c '%a %U:%G' /var/lib/tang")" "750 _tang:_tang" "/var/lib/tang: 0750, owned by _tang"

in_root "tangd-keygen /var/lib/tang" >"$TMP/keygen.log" 2>&1
ok $? "tangd-keygen /var/lib/tang" || sed 's/^/# /' "$TMP/keygen.log" >&2
is "$(in_root "stat -c '%a %U:%G' /var/lib/tang/*.jwk" | sort -u)" "440 _tang:_tang" \
	"the two keys belong to _tang, mode 0440"
is "$(in_root "ls /var/lib/tang/*.jwk" | wc -l)" 2 "two key files"

# a LUKS2 image bound here to a tang server serving the chroot's keys (the
# chroot shares this network namespace: the server is reached on loopback)
if printf 'passphrase' >"$TMP/key" && luks_image luks2 "$TMP/img" "$TMP/key" &&
	tang_start "$R/var/lib/tang" -q &&
	"$NBDE" bind -y -d "$TMP/img" -k "$TMP/key" tang "{\"url\":\"$TANG_URL\"}" 2>>"$TMP/err"; then
	cp "$TMP/img" "$R/tmp/img"
	is "$(in_root "clevis luks list -d /tmp/img" 2>"$TMP/list.err")" "1: tang '{\"url\":\"$TANG_URL\"}'" \
		"clevis luks list -d IMG in the chroot"
	# pass prints the slot's bound passphrase; cryptsetup shows it opens slot 1
	in_root "clevis luks pass -d /tmp/img -s 1" >"$TMP/pass" 2>"$TMP/pass.err" && [ -s "$TMP/pass" ] &&
		cryptsetup open --test-passphrase -S 1 --key-file "$TMP/pass" "$TMP/img" 2>>"$TMP/err"
	ok $? "clevis luks pass -d IMG -s 1 in the chroot: the keys there recover slot 1's passphrase" ||
		sed 's/^/# pass: /' "$TMP/pass.err" >&2
else
	skip "cannot make a bound LUKS image here"
	skip "cannot make a bound LUKS image here"
fi
keys=$(in_root "ls /var/lib/tang")
sums=$(in_root "sha256sum /var/lib/tang/*.jwk")

# an upgrade (here a reinstall) runs postinst configure again: keys untouched
in_root "dpkg -i /tmp/nbde.deb" >"$TMP/dpkg-i2.log" 2>&1
ok $? "dpkg -i again (postinst configure on an installed version)" || sed 's/^/# /' "$TMP/dpkg-i2.log" >&2
is "$(in_root "sha256sum /var/lib/tang/*.jwk")" "$sums" "the keys are unchanged"
is "$(in_root "stat -c '%a %U:%G' /var/lib/tang")" "750 _tang:_tang" "/var/lib/tang is still 0750 _tang"

in_root "dpkg -r nbde" >"$TMP/dpkg-r.log" 2>&1
ok $? "dpkg -r nbde" || sed 's/^/# /' "$TMP/dpkg-r.log" >&2
in_root "test -x /bin/sh && ! test -e /usr/bin/nbde && ! test -L /usr/bin/clevis &&
	! test -e /lib/systemd/system/tangd.socket && ! test -e /usr/share/initramfs-tools/hooks/nbde"
ok $? "removed: the binary, its names, the units and the hook are gone"
in_initrd "usr/lib/modules/$KV" && ! in_initrd usr/bin/nbde
ok $? "the trigger remade the initramfs without nbde"
is "$(in_root "ls /var/lib/tang")" "$keys" "dpkg -r keeps the keys"
in_root "dpkg -P nbde" >"$TMP/dpkg-p.log" 2>&1
ok $? "dpkg -P nbde" || sed 's/^/# /' "$TMP/dpkg-p.log" >&2
is "$(in_root "dpkg-query -W -f '\${Status}' nbde" 2>/dev/null)" "" "dpkg: nbde is gone (purged)"
is "$(in_root "ls /var/lib/tang")" "$keys" "dpkg -P keeps the keys"
is "$(in_root "stat -c '%U' /var/lib/tang/*.jwk" | sort -u)" _tang "and the _tang user that owns them"
in_root "dpkg --audit" >"$TMP/audit" 2>&1
is "$(cat "$TMP/audit")" "" "dpkg --audit finds nothing half-installed"

done_testing
