#!/bin/sh
# mini-init.sh - /init of the minimal test initramfs (busybox + nbde).
# Unlocks /dev/vda with `nbde unlock`, mounts it, checks the known file and
# prints one marker line that the host test judges:
#   NBDE-VM-PASS <secs>       unlocked, mounted, nbde-check matched
#   NBDE-VM-FALLBACK <rc> <secs>  unlock gave up: a real initramfs would now prompt
#   NBDE-VM-FAIL <why>        anything else
#   NBDE-VM-PCR7 <hex>        (nbde.tpm=1 only) the guest's sha256 PCR 7
# Kernel parameters: nbde.timeout=SEC (unlock deadline), nbde.check=TEXT,
# nbde.tpm=1 (a TPM must appear as /dev/tpmrm0; its PCR 7 is printed first).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev	# the kernel does not auto-mount it in an initramfs
mkdir -p /run/cryptsetup /mnt	# libcryptsetup's lock directory

fail() { echo "NBDE-VM-FAIL $*"; poweroff -f; }

timeout=10 check= slow=1 tpm=
for a in $(cat /proc/cmdline); do
	case $a in
	nbde.timeout=*) timeout=${a#*=} ;;
	nbde.check=*) check=${a#*=} ;;
	nbde.slow=*) slow=${a#*=} ;;	# the host's TEST_SLOWDOWN, for this script's waits
	nbde.tpm=*) tpm=${a#*=} ;;
	esac
done

# modules in dependency order (file names carry the order)
for m in /lib/mods/*.ko; do insmod "$m" 2>/dev/null; done

# slirp answers ARP and forwards only the guestfwd addresses
ip link set lo up
ip link set eth0 up || fail "no eth0"
ip addr add 10.0.2.15/24 dev eth0

for _ in $(seq $((50 * slow))); do [ -b /dev/vda ] && break; sleep 0.1; done
[ -b /dev/vda ] || fail "no /dev/vda"

# the kernel's own PCR view (sysfs, kernel >= 5.12): what a binding to PCR 7
# "as the guest sees it at boot" must match
if [ "$tpm" = 1 ]; then
	for _ in $(seq $((50 * slow))); do [ -c /dev/tpmrm0 ] && break; sleep 0.1; done
	[ -c /dev/tpmrm0 ] || fail "no /dev/tpmrm0"
	pcr=/sys/class/tpm/tpm0/pcr-sha256/7
	[ -r $pcr ] || fail "no $pcr"
	echo "NBDE-VM-PCR7 $(cat $pcr)"
fi

t0=$(date +%s)
nbde unlock -d /dev/vda -n root --timeout "$timeout"
rc=$?
secs=$(( $(date +%s) - t0 ))
[ $rc -eq 0 ] || { echo "NBDE-VM-FALLBACK $rc $secs"; poweroff -f; }

# no udev: devtmpfs has /dev/dm-N but no /dev/mapper/root; find it by name
dev=
for d in /sys/block/dm-*; do
	[ "$(cat "$d/dm/name")" = root ] && dev=/dev/${d##*/}
done
[ -n "$dev" ] || fail "unlock said yes but no dm device named root"
mount -t ext4 -o ro "$dev" /mnt || fail "mount $dev"
[ "$(cat /mnt/nbde-check)" = "$check" ] || fail "nbde-check differs"
echo "NBDE-VM-PASS $secs"
umount /mnt
poweroff -f
