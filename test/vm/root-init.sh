#!/bin/busybox sh
# root-init.sh - /sbin/init of the generator tests' root filesystem. Being
# run at all means the initramfs unlocked and mounted the root; it checks
# the known file and prints the marker the host judges, then powers off.
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sys /sys
# initramfs-tools' local-bottom/nbde must have taken the network down
echo "NBDE-VM-NET eth0 $($b cat /sys/class/net/eth0/operstate 2>/dev/null)"
# what the initramfs left running: nbde askpass, dropbear and its sessions
# must all have been ended before the real init. Kernel threads (kthreadd,
# PID 2, and its children) do not count; builtins only, no fork per process.
left=
for p in /proc/[0-9]*; do
	read -r pid comm _ ppid _ <"$p/stat" 2>/dev/null || continue
	[ "$pid" = $$ ] || [ "$pid" = 2 ] || [ "$ppid" = 2 ] || left="$left $comm"
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
