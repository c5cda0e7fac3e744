#!/bin/busybox sh
# root-init.sh - /sbin/init of the generator tests' root filesystem. Being
# run at all means the initramfs unlocked and mounted the root; it checks
# the known file and prints the marker the host judges, then powers off.
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
# initramfs-tools' local-bottom/nbde must have taken the network down
echo "NBDE-VM-NET eth0 $($b cat /sys/class/net/eth0/operstate 2>/dev/null)"
# what the initramfs left running (kernel threads have no exe): nbde askpass,
# dropbear and its sessions must all have been ended before the real init
left=
for p in /proc/[0-9]*; do
	[ "${p#/proc/}" = $$ ] && continue
	exe=$($b readlink "$p/exe") && left="$left ${exe##*/}"
done
echo "NBDE-VM-LEFT$left"
check=
for a in $($b cat /proc/cmdline); do
	case $a in nbde.check=*) check=${a#*=} ;; esac
done
if [ "$($b cat /nbde-check)" = "$check" ]; then
	echo "NBDE-VM-ROOT-PASS"
else
	echo "NBDE-VM-ROOT-FAIL nbde-check differs"
fi
$b poweroff -f
