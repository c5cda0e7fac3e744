#!/bin/sh
# late-init.sh - /init of the late-boot test's initramfs (busybox): loads the
# virtio and ext4 modules, mounts the unencrypted root /dev/vda and hands
# over to systemd. Everything after that is the real system's own boot.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /lib/mods/*.ko; do insmod "$m" 2>/dev/null; done
slow=1
for a in $(cat /proc/cmdline); do
	case $a in nbde.slow=*) slow=${a#*=} ;; esac	# the host's TEST_SLOWDOWN
done
for _ in $(seq $((50 * slow))); do [ -b /dev/vda ] && break; sleep 0.1; done
mkdir -p /newroot
mount -t ext4 -o rw /dev/vda /newroot || { echo "NBDE-LATE-FAIL cannot mount /dev/vda"; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /lib/systemd/systemd
