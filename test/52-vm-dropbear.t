#!/usr/bin/env bash
# 52-vm-dropbear.t - SSH preboot and network unlock side by side: one
# initramfs-tools image with Debian's dropbear-initramfs and nbde's hooks
# (made in a cached bookworm chroot by test/vm/gen.sh itools-dropbear), the
# LUKS2 root bound to tang. The guest's network is qemu user networking with
# restrict=on: guestfwd runs `nbde tangd` for 10.0.2.100 (only while
# $TMP/tang-up exists: "down" closes every connection at once), hostfwd
# brings a 127.0.0.1 port to the guest's dropbear. The SSH key is made here
# and added to the cached image as an appended cpio. Verdicts come from
# console markers (test/vm/root-init.sh) and what the SSH sessions print.
#   1. tang up: the root opens by itself, nobody logs in
#   2. tang down: an SSH login reaches the initramfs and cryptroot-unlock,
#      fed the passphrase, finishes the boot - while that typed answer is
#      still being written (the FIFO held open), tang comes back and
#      `nbde askpass -c` runs: it must hold back, not mix its passphrase
#      into the person's (a wrong-passphrase attempt)
#   3. tang down, then up while the SSH session is open: `nbde askpass -c`
#      typed in the session finishes the boot
# NBDE_VM=0 skips the file.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/vm/lib.sh"
cd "$TEST_DIR/.."

vm_prereqs debootstrap ssh ssh-keygen
echo "# kernel $KVER, accel $(vm_accel)"

t0=$SECONDS
test/vm/gen.sh itools-dropbear "$TMP/base.img" 2>"$TMP/gen.err"
case $? in
0) ok 0 "initramfs-tools + dropbear-initramfs image built in the bookworm chroot ($((SECONDS - t0)) s; cached)" ;;
3) skip_all "no bookworm chroot with dropbear-initramfs (debootstrap failed: $(tail -n 1 "$TMP/gen.err"))" ;;
*) ok 1 "initramfs-tools + dropbear-initramfs image"; tail -n 5 "$TMP/gen.err" | sed 's/^/#   /' >&2; done_testing; exit ;;
esac

# The login key, fresh every run: the image's hook made root's home
# root-XXXXXXXXXX with an empty authorized_keys; a later cpio in the same
# initrd replaces that file (the kernel unpacks the archives in order).
ssh-keygen -q -t ed25519 -N '' -C nbde-vm-test -f "$TMP/id"
home=$(gzip -dc "$TMP/base.img" | cpio -it --quiet 2>/dev/null | grep -m 1 -x 'root-[A-Za-z0-9]*')
mkdir -p "$TMP/ov/$home/.ssh" && chmod 0700 "$TMP/ov/$home" "$TMP/ov/$home/.ssh" &&
	install -m 0600 "$TMP/id.pub" "$TMP/ov/$home/.ssh/authorized_keys" &&
	(cd "$TMP/ov" && find "$home" | cpio -o -H newc -R 0:0 --quiet) >"$TMP/ov.cpio" &&
	cp "$TMP/base.img" "$TMP/initrd" &&
	truncate -s %4 "$TMP/initrd" &&	# the kernel wants each archive 4-byte aligned (zeros are skipped)
	cat "$TMP/ov.cpio" >>"$TMP/initrd"
ok $? "a fresh ed25519 key authorized for root in the image (home ${home:-not found})"

# The root: busybox /sbin/init that prints NBDE-VM-ROOT-PASS when it runs on
# the unlocked volume, and NBDE-VM-LEFT with what the initramfs left running.
ROOT_CHECK=$(head -c 12 /dev/urandom | base64 | tr '/+' '_-')
mkdir -p "$TMP/rt/bin" "$TMP/rt/sbin" "$TMP/rt/etc" "$TMP/rt"/{proc,sys,dev,run,tmp}
cp /bin/busybox "$TMP/rt/bin/" && cp test/vm/root-init.sh "$TMP/rt/sbin/init"
vm_tang_keys "$TMP/t1" &&
	vm_disk "$TMP/root.img" "$TMP/root.key" "$ROOT_CHECK" "$TMP/rt" "$VM_ROOT_UUID" &&
	"$NBDE" bind -d "$TMP/root.img" -k "$TMP/root.key" -y tang \
		"{\"url\":\"http://10.0.2.100\",\"adv\":\"$TMP/t1/adv.jws\"}" >&2
ok $? "root disk (LUKS UUID $VM_ROOT_UUID) bound to tang at 10.0.2.100"

# tang as the guest sees it: up while $TMP/tang-up exists
printf '#!/bin/sh\n[ -e "%s" ] || exit 0\nexec "%s" tangd "%s/db" 2>>"%s"\n' \
	"$TMP/tang-up" "$NBDE" "$TMP/t1" "$TMP/tang.log" >"$TMP/tang.sh"
chmod +x "$TMP/tang.sh"

NET="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off net.ifnames=0"
# a loopback port nothing listens on now (qemu refuses to start if one
# takes it meanwhile; the log then says so)
PORT=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 40000))
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { PORT=$p; break; }
done

# boot NAME NBDE-TIMEOUT [KERNEL-ARGS]: starts one boot in the background
# (quiet unless KERNEL-ARGS are given); QEMU, LOG
boot() {
	LOG=$TMP/boot-$1.log
	: >"$TMP/tang.log"
	vm_boot "$LOG" "$KDIR/boot" "$TMP/initrd" "$TMP/root.img" \
		"${3-quiet} $NET root=/dev/mapper/root nbde.timeout=$2 nbde.check=$ROOT_CHECK" \
		",guestfwd=tcp:10.0.2.100:80-cmd:$TMP/tang.sh,hostfwd=tcp:127.0.0.1:$PORT-:22" &
	QEMU=$!
	BOOT_T0=$SECONDS
}
running() { kill -0 "$QEMU" 2>/dev/null; }
# stop_boot: ends this boot's qemu (vm_boot's timeout passes TERM on)
stop_boot() {
	local c
	for c in $(cat /proc/"$QEMU"/task/*/children 2>/dev/null); do kill "$c" 2>/dev/null; done
}
# boot_ends: until the guest powers off; a wrong passphrase leaves it at the
# prompt, so that ends the boot at once (its verdict is then missing)
boot_ends() {
	wait_until 120 eval '! running || on_console "bad password|maximum number of tries"'
	running && stop_boot
	finish
}
console() { tr -d '\r\000' 2>/dev/null <"$LOG" | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g'; }
on_console() { console | grep -a -q -E "$1"; }
show_fail() {
	console | grep -a -v '^\s*$' | tail -n 12 | sed 's/^/#   /' >&2
}
vssh() {
	ssh -F /dev/null -i "$TMP/id" -p "$PORT" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout="$(t_isecs 10)" \
		root@127.0.0.1 "$@"
}
# login_ok: a session on the guest's dropbear, in the initramfs (its
# crypttab, cryptsetup's askpass waiting on the FIFO); 1 s between tries,
# as each try costs an ssh start on a loaded machine
login_ok() {
	local n
	n=$(t_isecs 120)
	while [ "$n" -gt 0 ] && running; do
		vssh 'test -s /cryptroot/crypttab && test -p /lib/cryptsetup/passfifo && echo initramfs' \
			2>/dev/null | grep -qx initramfs && return 0
		sleep 1
		n=$((n - 1))
	done
	return 1
}
# gave_up SECS: the boot's own agent said it gave up on the root
gave_up() {
	wait_until "$1" eval 'on_console "no clevis binding recovered its passphrase within" || ! running'
	on_console "no clevis binding recovered its passphrase within"
}
finish() { # waits for the guest to power off; TOOK
	wait "$QEMU"
	TOOK=$((SECONDS - BOOT_T0))
}
root_verdict() { # WHAT
	local m
	m=$(vm_marker "$LOG" '^NBDE-VM-ROOT-(PASS|FAIL)')
	is "$m" NBDE-VM-ROOT-PASS "$1 (boot $TOOK s)" || show_fail
	m=$(vm_marker "$LOG" '^NBDE-VM-LEFT')
	is "$m" NBDE-VM-LEFT "  ... the real init starts with nothing left from the initramfs (nbde, dropbear, sessions ended)"
	! on_console 'bad password|maximum number of tries|already exists|already active'
	ok $? "  ... no wrong-passphrase attempt and no second activation on the console"
}

[ -n "$PORT" ]
ok $? "a free loopback port for the SSH forward (${PORT:-none})"

# 1. tang up, nobody logs in; not quiet, so initramfs-tools' progress lines
# show dropbear started and, at init-bottom, found running and stopped
touch "$TMP/tang-up"
boot tang "$(t_isecs 30)" ""
boot_ends
root_verdict "tang up: the root opens by itself beside dropbear, no SSH login"
grep -q "POST /rec/.* => 200" "$TMP/tang.log"
ok $? "  ... the key came from the guestfwd tang"
on_console 'Starting dropbear' && on_console 'Stopping dropbear'
ok $? "  ... dropbear ran in the same initramfs (started, and stopped at init-bottom)"

# 2. tang down: SSH and cryptroot-unlock. The person's answer is fed slowly
# (the FIFO stays open after the passphrase is in it); tang comes back and
# `nbde askpass -c` starts meanwhile: it must not write into the FIFO a
# person is writing to (askpass reads it to its end: both passphrases would
# arrive as one, a wrong one).
rm -f "$TMP/tang-up"
boot typed 5
login_ok
ok $? "tang down: SSH login with the test's key reaches the initramfs (cryptsetup's askpass waits)"
gave_up 60
ok $? "  ... the boot's own nbde askpass -c gave up by its 5 s deadline"
hold=$(t_isecs 8)
vssh 'cat >/run/typed' <"$TMP/root.key"
touch "$TMP/tang-up"
# the session: the typed answer in the FIFO, its writer still open; then
# nbde askpass -c starts and has the hold time to (not) answer; it is ended
# before the writer closes, as only an answer while a person writes is
# under test. The guest polls once a second: under TCG a busier loop
# starves cryptroot-unlock's own (slow) search for the prompt.
vssh "{ cat /run/typed; rm -f /run/typed
		while ! [ -s /run/n.pid ]; do sleep 1; done; sleep $hold; kill \$(cat /run/n.pid); } |
		cryptroot-unlock & u=\$!
	while ! readlink /proc/\$u/fd/1 | grep -q passfifo; do sleep 1; done
	nbde askpass -c --timeout $hold & echo \$! >/run/n.pid
	wait \$u; echo cryptroot-unlock=\$?" >"$TMP/typed.out" 2>&1 &
SSH=$!
boot_ends
kill "$SSH" 2>/dev/null
root_verdict "tang down: cryptroot-unlock with the typed passphrase finishes the boot"
grep -q 'cryptroot-unlock=0' "$TMP/typed.out" && grep -q 'root set up successfully' "$TMP/typed.out"
ok $? "  ... cryptroot-unlock in the session says the root is set up" ||
	sed 's/^/#   ssh: /' "$TMP/typed.out" >&2
grep -q 'someone else is writing the answer' "$TMP/typed.out" &&
	! grep -q 'unlocked with its clevis binding' "$TMP/typed.out"
ok $? "  ... nbde askpass -c, started while the person's answer was in the FIFO, said so and held back" ||
	sed 's/^/#   ssh: /' "$TMP/typed.out" >&2

# 3. tang down, then up while the SSH session is open: nbde askpass -c typed
# in that session finishes the boot (it runs until init-bottom ends the
# session). The session reads its commands from a FIFO the test writes.
rm -f "$TMP/tang-up"
boot session 5
login_ok
ok $? "tang down: SSH login reaches the initramfs"
gave_up 60
ok $? "  ... the boot's own nbde askpass -c gave up by its 5 s deadline"
mkfifo "$TMP/session.in" && exec 4<>"$TMP/session.in"
vssh 'sh -s' <"$TMP/session.in" >"$TMP/session.out" 2>&1 &
SSH=$!
echo 'test -p /lib/cryptsetup/passfifo && echo session-open' >&4
wait_until 60 grep -q session-open "$TMP/session.out"
ok $? "  ... an SSH session is open while the prompt waits"
touch "$TMP/tang-up"
echo "nbde askpass -c --timeout $(t_isecs 30)" >&4
boot_ends
exec 4>&-
kill "$SSH" 2>/dev/null
root_verdict "tang back up: nbde askpass -c in the SSH session finishes the boot"
grep -q 'unlocked with its clevis binding' "$TMP/session.out"
ok $? "  ... the session's nbde answered the prompt" || sed 's/^/#   ssh: /' "$TMP/session.out" >&2
grep -q "POST /rec/.* => 200" "$TMP/tang.log"
ok $? "  ... with the key from the guestfwd tang"
done_testing
