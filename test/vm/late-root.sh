#!/bin/bash
# late-root.sh OUT - the late-boot test's root filesystem image (ext4,
# unencrypted): the cached dracut chroot (bookworm minbase + systemd, udev,
# cryptsetup, iproute2) with nbde installed by `make install`, the kernel
# modules late boot loads, and a system that
#   - configures eth0 statically with systemd-networkd (10.0.2.15/24),
#   - lists the data volume (LUKS UUID $VM_DATA_UUID) in /etc/crypttab with
#     _netdev and mounts it at /mnt/secret (fstab: _netdev,nofail),
#   - enables clevis-luks-askpass.path (the name roles enable),
#   - runs nbde-late-check.service: waits for /mnt/secret/nbde-check, prints
#     NBDE-LATE-PASS <content> <uptime> (or NBDE-LATE-FAIL) on the console
#     and powers off.
# Cached under a key of its inputs; exit 3 when there is no chroot.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
vm_kernel
c=$VM_CACHE/chroot-dracut
key=$( { echo "late $KVER $VM_DATA_UUID"; cat "$NBDE" "$0" "$top/Makefile";
	find "$top/hooks" -type f | sort | xargs cat; } | sha256sum | cut -c1-16)
img=$VM_CACHE/lateroot-$key
if [ -f "$img" ]; then cp --sparse=always "$img" "$out"; exit 0; fi
[ -d "$c" ] || "$here/chroot.sh" dracut "$c" || exit 3

r=$(mktemp -d "${TMPDIR:-/tmp}/nbde-lateroot.XXXXXX")
trap 'rm -rf "$r"' EXIT
tar -C "$c" --one-file-system \
	--exclude=./usr/lib/modules --exclude=./var/cache/apt --exclude=./var/lib/apt/lists \
	--exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale \
	--exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./run/*' \
	--exclude='./tmp/*' --exclude='./var/tmp/*' -cf - . | tar -C "$r" -xf -
make -s -C "$top" install DESTDIR="$r" >&2

# the modules late boot loads (dm-crypt, ciphers, virtio net), depmod'ed
m=$KDIR/pkg/lib/modules/$KVER
mkdir -p "$r/usr/lib/modules/$KVER/kernel/drivers/net"
cp "$m"/modules.order "$m"/modules.builtin* "$r/usr/lib/modules/$KVER/"
for d in crypto arch/x86/crypto lib drivers/md drivers/virtio drivers/block fs/ext4 fs/jbd2 fs/mbcache.ko \
	net/core drivers/net/virtio_net.ko drivers/net/net_failover.ko; do
	mkdir -p "$r/usr/lib/modules/$KVER/kernel/$(dirname "$d")"
	cp -a "$m/kernel/$d" "$r/usr/lib/modules/$KVER/kernel/$d"
done
depmod -b "$r" "$KVER"

echo nbde-late >"$r/etc/hostname"
echo 6e6b64656c6174650000000000000001 >"$r/etc/machine-id"
cat >"$r/etc/fstab" <<FSTAB
/dev/vda / ext4 rw 0 0
/dev/mapper/secret /mnt/secret ext4 _netdev,nofail 0 0
FSTAB
echo "secret UUID=$VM_DATA_UUID none luks,_netdev" >"$r/etc/crypttab"
mkdir -p "$r/mnt/secret" "$r/etc/systemd/network"
cat >"$r/etc/systemd/network/10-eth0.network" <<NET
[Match]
Name=eth0
[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
NET
cat >"$r/usr/local/sbin/nbde-late-check" <<'CHECK'
#!/bin/sh
# the verdict: the _netdev volume must be unlocked and mounted by now or soon
# (120 s, times the host's TEST_SLOWDOWN passed as nbde.slow=)
slow=$(sed -n 's/.*nbde\.slow=\([0-9]*\).*/\1/p' /proc/cmdline)
limit=$((120 * ${slow:-1}))
for i in $(seq $limit); do
	[ -f /mnt/secret/nbde-check ] && break
	sleep 1
done
{
	echo "NBDE-LATE-UNITS $(systemctl is-active clevis-luks-askpass.path systemd-cryptsetup@secret.service mnt-secret.mount | tr '\n' ' ')"
	echo "NBDE-LATE-AGENT $(systemctl show -p ExecMainStartTimestampMonotonic --value clevis-luks-askpass.service)"
	if [ -f /mnt/secret/nbde-check ]; then
		echo "NBDE-LATE-PASS $(cat /mnt/secret/nbde-check) $(cut -d' ' -f1 /proc/uptime)"
	else
		echo "NBDE-LATE-FAIL /mnt/secret not mounted after $limit s"
	fi
} >/dev/console 2>&1
# -f: the verdict is out; an orderly shutdown only costs TCG time
systemctl poweroff -f
CHECK
chmod +x "$r/usr/local/sbin/nbde-late-check"
cat >"$r/etc/systemd/system/nbde-late-check.service" <<'UNIT'
[Unit]
Description=nbde late-boot test verdict
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/nbde-late-check
[Install]
WantedBy=multi-user.target
UNIT
# enable: what a role would do, plus the test's network and verdict
chroot "$r" systemctl enable -q clevis-luks-askpass.path systemd-networkd.service \
	systemd-networkd-wait-online.service remote-cryptsetup.target remote-fs.target \
	nbde-late-check.service >&2
chroot "$r" systemctl set-default -q multi-user.target >&2
# nothing a test boot needs, and slow under TCG
chroot "$r" systemctl mask -q apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service \
	e2scrub_all.timer fstrim.timer systemd-timesyncd.service getty@tty1.service >&2 || true

mb=$(( $(du -sm "$r" | cut -f1) * 5 / 4 + 64 ))
rm -f "$img.tmp"
mkfs.ext4 -q -F -L nbdelate -d "$r" "$img.tmp" "${mb}M" >&2
rm -f "$VM_CACHE/lateroot-"????????????????
mv "$img.tmp" "$img"
cp --sparse=always "$img" "$out"
