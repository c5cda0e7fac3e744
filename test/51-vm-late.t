#!/usr/bin/env bash
# 51-vm-late.t - late boot: a fully booted Debian bookworm (systemd as PID 1,
# unencrypted root on /dev/vda) unlocks a _netdev volume on /dev/vdb listed
# in /etc/crypttab, through clevis-luks-askpass.path (nbde's path/service
# pair under the name roles enable), and mounts it from fstab
# (_netdev,nofail). Nobody types anything: stdin is /dev/null. The root is
# made from the cached dracut chroot by test/vm/late-root.sh; a busybox
# initramfs only mounts it and hands over to systemd. Tang is reached only
# through qemu user networking with restrict=on + guestfwd to `nbde tangd`.
# NBDE_VM=0 skips the file.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/vm/lib.sh"
cd "$TEST_DIR/.."

vm_prereqs debootstrap	# the root is a bookworm chroot
echo "# kernel $KVER, accel $(vm_accel)"

t0=$SECONDS
test/vm/late-root.sh "$TMP/root.img" 2>"$TMP/root.err"
case $? in
0) ok 0 "late-boot root image (bookworm + systemd, nbde by make install) ready ($((SECONDS - t0)) s; cached)" ;;
3) skip_all "no bookworm chroot (debootstrap failed: $(tail -n 1 "$TMP/root.err"))" ;;
*) ok 1 "late-boot root image"; tail -n 5 "$TMP/root.err" | sed 's/^/#   /' >&2; done_testing; exit ;;
esac
test/vm/mini-initrd.sh "$KDIR" "$KVER" "$NBDE" "$TMP/late.gz" test/vm/late-init.sh
ok $? "initramfs that mounts the plain root and execs systemd"

CHECK=$(head -c 12 /dev/urandom | base64 | tr '/+' '_-')
vm_tang_keys "$TMP/t1" &&
	vm_disk "$TMP/data.img" "$TMP/data.key" "$CHECK" "" "$VM_DATA_UUID" &&
	"$NBDE" bind -d "$TMP/data.img" -k "$TMP/data.key" -y tang \
		"{\"url\":\"http://10.0.2.100\",\"adv\":\"$TMP/t1/adv.jws\"}" >&2
ok $? "data disk (LUKS UUID $VM_DATA_UUID, crypttab _netdev) bound to tang at 10.0.2.100"

LOG=$TMP/boot-late.log
t0=$SECONDS
VM_MEM=1024 VM_DISK2=$TMP/data.img vm_boot "$LOG" "$KDIR/boot" "$TMP/late.gz" "$TMP/root.img" \
	"quiet net.ifnames=0" ",guestfwd=tcp:10.0.2.100:80-cmd:$(vm_tang_cmd "$TMP/t1" "$TMP/tang.log")"
took=$((SECONDS - t0))
show_fail() {
	tr -d '\r\000' <"$LOG" | sed 's/\x1b\[[0-9;]*m//g' | grep -a -v '^\s*$' | tail -n 12 | sed 's/^/#   /' >&2
}
m=$(vm_marker "$LOG" '^NBDE-LATE-(PASS|FAIL)')
set -- $m
is "${1:-} ${2:-}" "NBDE-LATE-PASS $CHECK" \
	"late boot: the _netdev volume unlocked without a typed passphrase and mounted from fstab, file matches (boot ${took} s, verdict at ${3:-?} s uptime)" || show_fail
is "$(vm_marker "$LOG" '^NBDE-LATE-UNITS')" "NBDE-LATE-UNITS active active active " \
	"late boot: clevis-luks-askpass.path, systemd-cryptsetup@secret.service and mnt-secret.mount active"
m=$(vm_marker "$LOG" '^NBDE-LATE-AGENT')
[ -n "${m#NBDE-LATE-AGENT }" ] && [ "${m#NBDE-LATE-AGENT }" != 0 ]
ok $? "late boot: clevis-luks-askpass.service (nbde askpass -l) was started by the path unit"
grep -q "POST /rec/.* => 200" "$TMP/tang.log"
ok $? "late boot: the key came from the guestfwd tang"
done_testing
