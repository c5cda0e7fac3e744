#!/bin/bash
# gen.sh KIND OUT - an initramfs made by the real generator (KIND=itools:
# initramfs-tools, KIND=dracut: dracut, systemd initrd, KIND=dracut-nosd:
# dracut without systemd, the initqueue hook path; KIND=itools-dropbear:
# initramfs-tools with Debian's dropbear-initramfs beside nbde) in a cached
# debootstrap'ed bookworm chroot, with nbde installed into it by
# `make install DESTDIR=chroot`. Images are cached under a key of everything
# that goes into them, so a rerun copies one file.
# The root volume is named "root" and has the fixed LUKS UUID $VM_ROOT_UUID.
# KIND=dracut-ho / dracut-ho-nosd / dracut-ho-nobind: dracut --hostonly --hostonly-cmdline
# with DISK (a LUKS2 image file, tang-bound or not) copied into the chroot
# and named by path in /etc/crypttab, so the module's own detection
# (`nbde list` on the crypttab source) decides whether rd.neednet=1 is written.
set -euo pipefail
kind=$1 out=$2 disk=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
vm_kernel
case $kind in
dracut*) c=$VM_CACHE/chroot-dracut ;;
*) c=$VM_CACHE/chroot-$kind ;;
esac

key=$( { echo "$kind $KVER"; cat "$NBDE" "$0" "$top/Makefile";
	find "$top/hooks" -type f | sort | xargs cat; } | sha256sum | cut -c1-16)
img=$VM_CACHE/initrd-$kind-$key
if [ -f "$img" ]; then cp "$img" "$out"; exit 0; fi

# exit 3: no chroot (archive unreachable...): the test reports SKIP
[ -d "$c" ] || "$here/chroot.sh" "${kind%-nosd}" "$c" || exit 3
# the kernel's modules, hard-linked (same filesystem, no copy, no mount)
[ -d "$c/lib/modules/$KVER" ] || { mkdir -p "$c/lib/modules" && cp -al "$KDIR/pkg/lib/modules/$KVER" "$c/lib/modules/"; }
cp "$KDIR/pkg/boot/config-$KVER" "$c/boot/" 2>/dev/null || true
make -s -C "$top" install DESTDIR="$c" >&2

mods="virtio_pci virtio_blk virtio_net dm_crypt xts ext4"
case $kind in
itools*)
	# UUID= is resolved at boot; in the chroot the disk does not exist, so
	# the cryptroot hook cannot find it or probe its cipher modules: the
	# hook is forced on and the modules listed
	echo "root UUID=$VM_ROOT_UUID none luks,initramfs" >"$c/etc/crypttab"
	echo "CRYPTSETUP=y" >"$c/etc/cryptsetup-initramfs/conf-hook"
	printf '%s\n' $mods >"$c/etc/initramfs-tools/modules"
	sed -i 's/^MODULES=.*/MODULES=list/' "$c/etc/initramfs-tools/initramfs.conf"
	gen="mkinitramfs -o /tmp/initrd.img $KVER"
	;;
dracut-ho*)
	[ -f "$disk" ] || { echo "gen.sh: $kind needs a LUKS2 image" >&2; exit 2; }
	mkdir -p "$c/var/tmp/nbde" && cp "$disk" "$c/var/tmp/nbde/root.img"
	echo "root /var/tmp/nbde/root.img none luks" >"$c/etc/crypttab"
	rm -f "$c/etc/dracut.conf.d/90-nbde-test.conf"
	# --no-hostonly-default-device: not the chroot host's root/swap
	gen="dracut -q --force --hostonly --hostonly-cmdline --no-hostonly-default-device \
		--omit ifcfg --add nbde --drivers '$mods' /tmp/initrd.img $KVER"
	;;
dracut*)
	# no disk to inspect here: the module is told the root needs the network
	echo "root UUID=$VM_ROOT_UUID none luks" >"$c/etc/crypttab"
	echo "nbde_network=yes" >"$c/etc/dracut.conf.d/90-nbde-test.conf"
	# Debian's dracut-network adds ifcfg, which cannot be installed: without
	# --omit ifcfg no image is written
	gen="dracut -q --force --no-hostonly --no-hostonly-cmdline --omit ifcfg --add nbde \
		--drivers '$mods' /tmp/initrd.img $KVER"
	;;
esac
# without systemd: the classic initqueue, network-legacy (ifup/dhclient)
case $kind in
dracut*-nosd) gen="$gen --omit 'systemd systemd-initrd systemd-networkd dbus' --add network-legacy" ;;
esac
# private mount namespace: nothing stays mounted if this is interrupted
unshare -m --propagation private sh -c "
	mount -t proc proc '$c/proc' && mount -t sysfs sys '$c/sys' && mount --rbind /dev '$c/dev' &&
	mount -t tmpfs run '$c/run' &&
	chroot '$c' sh -c \"$gen\"" >&2
rm -f "$VM_CACHE/initrd-$kind-"????????????????	# older inputs (16-digit keys only: dracut-nosd is not dracut-*)
rm -rf "$c/var/tmp/nbde"
mv "$c/tmp/initrd.img" "$img.tmp" && mv "$img.tmp" "$img"
cp "$img" "$out"
