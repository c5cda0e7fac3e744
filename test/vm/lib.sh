# lib.sh - shared by the VM boot tests (sourced): the cache, Debian's kernel,
# the test disk, and one qemu boot whose console is the verdict.
#
# Everything slow (kernel, chroots, initramfs images) lives in $VM_CACHE,
# outside the repository, so a rerun only boots.

VM_CACHE=${VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nbde-vm}
NBDE=${NBDE:-$PWD/nbde}
mkdir -p "$VM_CACHE"

vm_log() { echo "# vm: $*" >&2; }

# vm_prereqs [CMD...]: what both boot suites need (plus CMDs); skips the
# test file when something is missing; sets KVER and KDIR (vm_kernel).
vm_prereqs() {
	[ "${NBDE_VM:-1}" = 0 ] && skip_all "NBDE_VM=0"
	need qemu-system-x86_64 cryptsetup mkfs.ext4 cpio depmod dpkg-deb xz "$@"
	[ "$(id -u)" = 0 ] || skip_all "needs root (cryptsetup on image files, chroots for the generators)"
	qemu-system-x86_64 -machine help >/dev/null 2>&1 || skip_all "qemu-system-x86_64 does not run here"
	[ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' ||
		skip_all "busybox-static is not installed"
	vm_kernel || skip_all "Debian's kernel package cannot be fetched (apt-get download) and none is cached"
}

# The ABI name of Debian's current kernel (e.g. 6.1.0-56-amd64): taken from
# the metapackage, because it changes with every security update.
vm_kver() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n 1
}

# vm_kernel: sets KVER and KDIR ($KDIR/pkg holds /lib/modules/$KVER with
# depmod run, $KDIR/boot the image qemu loads). The .deb is extracted, never
# installed. Falls back to a cached kernel when apt cannot resolve one.
vm_kernel() {
	KVER=$(vm_kver)
	[ -n "$KVER" ] && [ -f "$VM_CACHE/kernel-$KVER/ready" ] && { KDIR=$VM_CACHE/kernel-$KVER; return 0; }
	if [ -z "$KVER" ] || ! vm_fetch_kernel "$KVER"; then
		# offline: the newest kernel already in the cache, if any
		KVER=$(find "$VM_CACHE" -maxdepth 2 -path '*/kernel-*/ready' | sed 's|.*/kernel-||; s|/ready$||' | sort -V | tail -n 1)
	fi
	[ -n "$KVER" ] || return 1
	KDIR=$VM_CACHE/kernel-$KVER
}

vm_fetch_kernel() { # KVER
	local k=$VM_CACHE/kernel-$1 dl=$VM_CACHE/dl off
	rm -rf "$k"; mkdir -p "$k" "$dl"
	vm_log "fetching linux-image-$1 (once; cached in $k)"
	( cd "$dl" && ls linux-image-"$1"_*.deb >/dev/null 2>&1 ||
		apt-get download -q "linux-image-$1" >&2 ) || return 1
	dpkg-deb -x "$dl"/linux-image-"$1"_*.deb "$k/pkg" || return 1
	depmod -b "$k/pkg" "$1" || return 1
	# Debian builds with CONFIG_PVH, so qemu can boot the ELF vmlinux
	# directly (≈2 s faster under TCG): it is the XZ stream in the bzImage.
	off=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$k/pkg/boot/vmlinuz-$1" | head -n 1 | cut -d: -f1)
	if [ -n "$off" ] && tail -c +$((off + 1)) "$k/pkg/boot/vmlinuz-$1" |
		xz -dc --single-stream >"$k/vmlinux" 2>/dev/null &&
		[ "$(head -c 4 "$k/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		ln -sf vmlinux "$k/boot"
	else
		ln -sf "pkg/boot/vmlinuz-$1" "$k/boot"
	fi
	rm -f "$dl"/*.deb	# 70 MB we no longer need
	touch "$k/ready"
}

# vm_accel: KVM only with real VT-x/AMD-V; a nested software backend
# (kvm_pvm) is far slower than TCG and then fails.
vm_accel() {
	if [ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo && ! [ -d /sys/module/kvm_pvm ]; then
		echo kvm
	else
		echo tcg
	fi
}

# vm_tang_keys DIR: a Tang key directory and its advertisement in DIR/adv.jws,
# fetched through inetd mode exactly as the guest will talk to it.
vm_tang_keys() {
	mkdir -p "$1/db"
	"$NBDE" tangd-keygen "$1/db" >/dev/null || return 1
	printf 'GET /adv HTTP/1.0\r\n\r\n' | "$NBDE" tangd "$1/db" 2>/dev/null |
		sed '1,/^\r$/d' >"$1/adv.jws"
	[ -s "$1/adv.jws" ]
}

# vm_tang_cmd DIR LOG: a guestfwd program serving DIR/db in inetd mode. stderr
# goes to LOG: qemu hands the program the guest's socket on stdout AND
# stderr, so a log line there would corrupt the HTTP reply.
vm_tang_cmd() {
	printf '#!/bin/sh\nexec "%s" tangd "%s/db" 2>>"%s"\n' "$NBDE" "$1" "$2" >"$1.sh"
	chmod +x "$1.sh"
	echo "$1.sh"
}

# vm_dead_cmd FILE: a "server" that accepts and never answers; it ends when
# qemu closes the connection.
vm_dead_cmd() {
	printf '#!/bin/sh\nexec cat >/dev/null 2>&1\n' >"$1"
	chmod +x "$1"
	echo "$1"
}

# vm_disk IMG KEYFILE FILE-CONTENT [ROOTDIR [UUID]]: an ext4 holding
# nbde-check (plus ROOTDIR's tree), encrypted offline into LUKS2 - the host
# has no device-mapper, so the filesystem is made in the file and reencrypted.
vm_disk() {
	local img=$1 key=$2 content=$3 tree=${4:-} uuid=${5:-} d
	d=$(mktemp -d "${TMPDIR:-/tmp}/nbde-vmfs.XXXXXX")
	[ -n "$tree" ] && cp -a "$tree/." "$d/"
	echo "$content" >"$d/nbde-check"
	rm -f "$img"
	local mb=$(( ( $(du -sm "$d" | cut -f1) * 5 / 4 ) + 48 ))
	truncate -s $((mb + 16))M "$img"
	# the last 16 MiB stay free for the LUKS2 header reencrypt moves in
	mkfs.ext4 -q -F -L nbderoot -d "$d" "$img" "${mb}M" || { rm -rf "$d"; return 1; }
	rm -rf "$d"
	head -c 32 /dev/urandom | base64 | tr -d '\n' >"$key"
	# cheap PBKDF: this is a test key, and TCG is slow
	cryptsetup reencrypt -q --encrypt --type luks2 --reduce-device-size 16M \
		--pbkdf pbkdf2 --pbkdf-force-iterations 1000 ${uuid:+--uuid "$uuid"} \
		--key-file "$key" "$img" >&2
}

# vm_boot LOG KERNEL INITRD DISK CMDLINE [NETDEV-OPTIONS]: one boot (VM_DISK2:
# a second virtio disk, /dev/vdb; VM_MEM: memory, default 512 MB; VM_TPM:
# the control socket of a `swtpm socket --ctrl` the guest gets as its TPM
# (tpm-tis, /dev/tpmrm0)); returns
# once the guest powered off, or after VM_LIMIT s (default 300, scaled by
# TEST_SLOWDOWN): a backstop for a hung guest only, the verdict is the
# console's marker line, judged by the caller; qemu's exit status says
# nothing about the guest. The guest's own waits scale with nbde.slow=N
# (TEST_SLOWDOWN rounded up) on its command line.
vm_boot() {
	local log=$1 kernel=$2 initrd=$3 disk=$4 cmdline=$5 net=${6:-}
	local accel; accel=$(vm_accel)
	set -- -nodefaults -no-user-config -machine "pc,accel=$accel" -m "${VM_MEM:-512}" -smp 1 \
		-cpu "$([ "$accel" = kvm ] && echo host || echo max)" \
		-kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 panic=-1 nbde.slow=$(t_isecs 1) $cmdline" \
		-drive "file=$disk,if=virtio,format=raw,snapshot=on" \
		${VM_DISK2:+-drive "file=$VM_DISK2,if=virtio,format=raw,snapshot=on"} \
		${VM_TPM:+-chardev "socket,id=chrtpm,path=$VM_TPM" -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0} \
		-netdev "user,id=n0,restrict=on$net" -device virtio-net-pci,netdev=n0,romfile= \
		-serial stdio -monitor none -display none -no-reboot
	# VM_INPUT: a FIFO the test types into (the serial console's keyboard)
	timeout "$(t_secs "${VM_LIMIT:-300}")" qemu-system-x86_64 "$@" <"${VM_INPUT:-/dev/null}" >"$log" 2>&1
	return 0
}

# vm_marker LOG REGEX: the console line matching REGEX, if any (the log has
# ANSI escapes and NULs, hence -a and tr).
vm_marker() {
	[ -f "$1" ] || return 1
	tr -d '\r\000' <"$1" | grep -a -E -m 1 "$2"
}
# the LUKS UUID of the generator tests' root: fixed, so the crypttab baked
# into a cached image matches every freshly made disk
VM_ROOT_UUID=6e6b6465-0000-4000-8000-00000000c0de
# the late-boot test's _netdev data volume, named in the cached root's crypttab
VM_DATA_UUID=6e6b6465-0000-4000-8000-00000000da7a
