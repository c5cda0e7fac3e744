#!/bin/bash
# chroot.sh KIND DIR - a debootstrap'ed bookworm chroot (cached by the
# caller) with one initramfs generator: KIND=itools (initramfs-tools +
# cryptsetup-initramfs) or KIND=dracut (dracut + dracut-network + systemd,
# so the image is a systemd initrd and the password agent is exercised;
# dbus for its network module systemd-networkd; dhclient, pgrep and arping
# for network-legacy in the image made without systemd); KIND=itools-dropbear:
# itools plus Debian's dropbear-initramfs (test/52-vm-dropbear.t); KIND=deb:
# what test/28-deb.t installs the package into (initramfs-tools, cryptsetup-bin).
# The archive is the host's own: taken from apt's configuration, never named.
set -euo pipefail
kind=$1 dir=$2
. /etc/os-release
suite=$VERSION_CODENAME
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' |
	awk -v s="$suite" '$2 == s { print $1; exit }')
[ -n "$mirror" ] || { echo "chroot.sh: no apt source for $suite" >&2; exit 1; }
case $kind in
itools) pkgs=initramfs-tools,cryptsetup-initramfs,busybox,udev,kmod ;;
itools-dropbear) pkgs=initramfs-tools,cryptsetup-initramfs,busybox,udev,kmod,dropbear-initramfs ;;
dracut) pkgs=dracut,dracut-network,cryptsetup,systemd,udev,kmod,iproute2,dbus,isc-dhcp-client,procps,iputils-arping ;;
deb) pkgs=initramfs-tools,cryptsetup-bin,kmod ;;
*) echo "chroot.sh: KIND is itools, itools-dropbear, dracut or deb" >&2; exit 2 ;;
esac
rm -rf "$dir.tmp"
# --include resolves dependencies; minbase keeps it to ≈150 MB
debootstrap --variant=minbase --include="$pkgs" "$suite" "$dir.tmp" "$mirror" >"$dir.log" 2>&1 ||
	{ tail -n 20 "$dir.log" >&2; exit 1; }
rm -rf "$dir" && mv "$dir.tmp" "$dir"
