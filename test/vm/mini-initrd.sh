#!/bin/bash
# mini-initrd.sh KDIR KVER NBDE OUT [INIT] - the minimal initramfs:
# busybox-static, the static nbde, the modules a virtio LUKS2 ext4 root
# needs, and INIT (default mini-init.sh) as /init. MINI_CA_BUNDLE=FILE puts
# FILE where nbde's https client reads its CA bundle, as the hooks do for an
# https binding. MINI_MODS="M..." adds modules after the usual ones (in
# that order), e.g. a TPM driver the kernel does not build in.
# Cheap (well under a second), so it is rebuilt every run from the current nbde.
set -euo pipefail
kdir=$1 kver=$2 nbde=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
init=${5:-$here/mini-init.sh}
r=$(mktemp -d "${TMPDIR:-/tmp}/nbde-initrd.XXXXXX")
trap 'rm -rf "$r"' EXIT

mkdir -p "$r"/{bin,proc,sys,dev,run,lib/mods}
cp /bin/busybox "$r/bin/busybox"
for a in sh mount umount insmod ip seq sleep cat date poweroff mkdir switch_root; do
	ln -s busybox "$r/bin/$a"
done
cp "$nbde" "$r/bin/nbde"
cp "$init" "$r/init"
if [ -n "${MINI_CA_BUNDLE:-}" ]; then
	mkdir -p "$r/etc/ssl/certs"
	cp "$MINI_CA_BUNDLE" "$r/etc/ssl/certs/ca-certificates.crt"
fi

# insmod order matters (no modprobe): each after what it depends on
n=10
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
	virtio_blk failover net_failover virtio_net dm-mod dm-crypt ecb xts \
	crc32c_generic jbd2 mbcache crc16 ext4 ${MINI_MODS:-}; do
	f=$(find "$kdir/pkg/lib/modules/$kver/kernel" -name "$m.ko" | head -n 1)
	[ -n "$f" ] || { echo "mini-initrd: module $m not found" >&2; exit 1; }
	cp "$f" "$r/lib/mods/$n-$m.ko"
	n=$((n + 1))
done
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
