#!/usr/bin/env bash
# 50-vm.t - boot integration: Debian's kernel under qemu unlocks a LUKS2
# volume bound to Tang. The guest's only network is qemu user networking
# with restrict=on whose guestfwd runs `nbde tangd` in inetd mode on the
# host: no packet reaches a real network. Verdicts come from console marker
# lines, never from qemu's exit status. Slow parts are cached in
# ~/.cache/nbde-vm (test/vm/lib.sh); NBDE_VM=0 skips the file.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/vm/lib.sh"
cd "$TEST_DIR/.."

vm_prereqs
ACCEL=$(vm_accel)
echo "# kernel $KVER, accel $ACCEL"

test/vm/mini-initrd.sh "$KDIR" "$KVER" "$NBDE" "$TMP/mini.gz"
ok $? "minimal initramfs built (busybox-static + nbde + $KVER modules)"

# One disk per binding; every disk holds its own random check text.
mkdisk() { # NAME PIN CFG
	CHECK[$1]=$(head -c 12 /dev/urandom | base64 | tr '/+' '_-')
	vm_disk "$TMP/$1.img" "$TMP/$1.key" "${CHECK[$1]}" &&
		"$NBDE" bind -d "$TMP/$1.img" -k "$TMP/$1.key" -y "$2" "$3" >&2
}
declare -A CHECK
vm_tang_keys "$TMP/t1" && vm_tang_keys "$TMP/t2"
ok $? "two tang key sets"
live=$(vm_tang_cmd "$TMP/t1" "$TMP/tang.log")
dead=$(vm_dead_cmd "$TMP/dead.sh")
mkdisk tang tang "{\"url\":\"http://10.0.2.100\",\"adv\":\"$TMP/t1/adv.jws\"}"
ok $? "LUKS2 disk bound to tang at 10.0.2.100"
# sss t=1: the dead server is listed first, so waiting on it would show
mkdisk sss sss "{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"http://10.0.2.101\",\"adv\":\"$TMP/t2/adv.jws\"},{\"url\":\"http://10.0.2.100\",\"adv\":\"$TMP/t1/adv.jws\"}]}}"
ok $? "LUKS2 disk bound to sss(t=1) over two tangs"

fwd() { echo ",guestfwd=tcp:$1:80-cmd:$2"; }

# mini BOOTNAME DISK TIMEOUT NETDEV: boots the minimal initramfs, sets LOG
# and TOOK (host seconds)
mini() {
	LOG=$TMP/boot-$1.log
	local t0=$SECONDS
	vm_boot "$LOG" "$KDIR/boot" "$TMP/mini.gz" "$TMP/$2.img" \
		"quiet nbde.timeout=$3 nbde.check=${CHECK[$2]}" "$4"
	TOOK=$((SECONDS - t0))
}
show_fail() { # the end of the console, for whoever reads the failure
	tr -d '\r\000' <"$LOG" | grep -a -v '^\s*$' | tail -n 8 | sed 's/^/#   /' >&2
}

# 1. tang reachable: unlock, mount, known file
mini tang tang "$(t_isecs 20)" "$(fwd 10.0.2.100 "$live")"
m=$(vm_marker "$LOG" '^NBDE-VM-(PASS|FAIL|FALLBACK)')
is "${m%% *}" NBDE-VM-PASS "mini initramfs: nbde unlock opens the tang-bound root, mounts it, file matches (boot ${TOOK}s)" || show_fail
grep -q "POST /rec/.* => 200" "$TMP/tang.log"
ok $? "the guest's key recovery went through the guestfwd tang (inetd mode)"

# 3. tang unreachable (accepts, never answers): unlock gives up by its
# deadline and the guest falls back (a real initramfs would prompt)
mini dead tang 5 "$(fwd 10.0.2.100 "$dead")"
m=$(vm_marker "$LOG" '^NBDE-VM-(PASS|FAIL|FALLBACK)')
set -- $m
is "${1:-} ${2:-}" "NBDE-VM-FALLBACK 1" "mini initramfs: dead tang -> unlock fails (exit 1) and the guest takes the fallback path" || show_fail
[ -n "${3:-}" ] && [ "$3" -ge 4 ] && [ "$3" -le $((5 + $(t_isecs 2))) ]
ok $? "  ... after its 5 s deadline, not before and not much later (took ${3:-?} s)"

# 4. sss over one dead and one live tang: unlocks well inside the deadline
mini sss sss "$(t_isecs 20)" "$(fwd 10.0.2.100 "$dead")$(fwd 10.0.2.101 "$(vm_tang_cmd "$TMP/t2" "$TMP/tang2.log")")"
m=$(vm_marker "$LOG" '^NBDE-VM-(PASS|FAIL|FALLBACK)')
set -- $m
is "${1:-}" NBDE-VM-PASS "mini initramfs: sss(t=1) with one dead tang unlocks (boot ${TOOK}s)" || show_fail
[ -n "${2:-}" ] && [ "$2" -le "$(t_isecs 5)" ]
ok $? "  ... without waiting for the dead server (unlock took ${2:-?} s of its $(t_isecs 20) s deadline)"

# 5. tang over https: a TLS front (socat OPENSSL-LISTEN on the host's
# loopback, a certificate for the guest's view of the server, 10.0.2.102)
# before nbde tangd; the guestfwd relays the guest's connection to it. The
# initramfs holds the test CA as its bundle, as the hooks copy the system's
# for an https binding; the certificate is checked against the guest's clock.
https_test() {
	local pki=$TMP/pki
	if ! command -v openssl >/dev/null || ! command -v socat >/dev/null; then
		skip "https boot: openssl and socat are needed"; return
	fi
	mkdir -p "$pki" && openssl ecparam -name prime256v1 -out "$pki/p256.pem" 2>/dev/null &&
		openssl req -x509 -newkey "ec:$pki/p256.pem" -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" \
			-days 2 -subj "/CN=nbde vm test CA" -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign 2>/dev/null &&
		printf 'subjectAltName=IP:10.0.2.102\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$pki/srv.ext" &&
		openssl req -newkey "ec:$pki/p256.pem" -nodes -keyout "$pki/srv.key" -out "$pki/srv.csr" \
			-subj "/CN=10.0.2.102" 2>/dev/null &&
		openssl x509 -req -in "$pki/srv.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
			-days 2 -extfile "$pki/srv.ext" -out "$pki/srv.crt" 2>/dev/null &&
		cat "$pki/srv.crt" "$pki/srv.key" >"$pki/srv.pem"
	ok $? "https boot: a test CA and a server certificate for 10.0.2.102"
	SOCAT_LISTEN=OPENSSL-LISTEN SOCAT_LISTEN_OPTS=",cert=$pki/srv.pem,verify=0" \
		socat_start "EXEC:$NBDE tangd $TMP/t1/db"
	ok $? "https boot: TLS front for nbde tangd on 127.0.0.1:${SOCAT_PORT:-?}"
	printf '#!/bin/sh\nexec socat STDIO TCP:127.0.0.1:%s 2>/dev/null\n' "$SOCAT_PORT" >"$TMP/relay.sh"
	chmod +x "$TMP/relay.sh"
	mkdisk https tang "{\"url\":\"https://10.0.2.102\",\"adv\":\"$TMP/t1/adv.jws\"}"
	ok $? "LUKS2 disk bound to tang at https://10.0.2.102"
	MINI_CA_BUNDLE=$pki/ca.crt test/vm/mini-initrd.sh "$KDIR" "$KVER" "$NBDE" "$TMP/mini-ca.gz"
	ok $? "minimal initramfs with the test CA as its bundle"
	LOG=$TMP/boot-https.log
	local t0=$SECONDS
	vm_boot "$LOG" "$KDIR/boot" "$TMP/mini-ca.gz" "$TMP/https.img" \
		"quiet nbde.timeout=$(t_isecs 20) nbde.check=${CHECK[https]}" ",guestfwd=tcp:10.0.2.102:443-cmd:$TMP/relay.sh"
	TOOK=$((SECONDS - t0))
	m=$(vm_marker "$LOG" '^NBDE-VM-(PASS|FAIL|FALLBACK)')
	is "${m%% *}" NBDE-VM-PASS "mini initramfs: the root bound to https://10.0.2.102 unlocks over TLS (boot ${TOOK}s)" || show_fail
	grep -q "POST /rec/.* => 200" "$TMP/socat.log"
	ok $? "  ... the key came through the TLS front (tangd's log behind it)"
	# the same boot without the CA: refused, and the guest falls back
	vm_boot "$LOG" "$KDIR/boot" "$TMP/mini.gz" "$TMP/https.img" \
		"quiet nbde.timeout=5 nbde.check=${CHECK[https]}" ",guestfwd=tcp:10.0.2.102:443-cmd:$TMP/relay.sh"
	m=$(vm_marker "$LOG" '^NBDE-VM-(PASS|FAIL|FALLBACK)')
	is "${m%% *}" NBDE-VM-FALLBACK "mini initramfs without the CA bundle: the https server is not trusted, no unlock" || show_fail
	grep -aq "CA bundle" "$LOG"
	ok $? "  ... and nbde says why (the CA bundle)"
}
https_test

# 2. initramfs-tools and dracut images made in a bookworm chroot
# 2. the real generators: initramfs-tools and dracut images made in cached
# debootstrap'ed bookworm chroots with nbde installed by `make install`. The
# root holds a busybox /sbin/init that checks nbde-check and prints
# NBDE-VM-ROOT-PASS; stdin is /dev/null, so only nbde can have unlocked it.
ROOT_CHECK=$(head -c 12 /dev/urandom | base64 | tr '/+' '_-')
mkdir -p "$TMP/rt/bin" "$TMP/rt/sbin" "$TMP/rt"/{proc,sys,dev,run,tmp}
cp /bin/busybox "$TMP/rt/bin/" && cp test/vm/root-init.sh "$TMP/rt/sbin/init"
# systemd's switch-root refuses a root without os-release
mkdir -p "$TMP/rt/etc" && echo 'ID=nbde-test' >"$TMP/rt/etc/os-release"
vm_disk "$TMP/root.img" "$TMP/root.key" "$ROOT_CHECK" "$TMP/rt" "$VM_ROOT_UUID" &&
	"$NBDE" bind -d "$TMP/root.img" -k "$TMP/root.key" -y tang \
		"{\"url\":\"http://10.0.2.100\",\"adv\":\"$TMP/t1/adv.jws\"}" >&2
ok $? "root disk (LUKS UUID $VM_ROOT_UUID) bound to tang"
NET="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off net.ifnames=0"

gen_test() { # KIND WHAT KERNEL-ARGS [DISK-FOR-THE-CHROOT]
	local t0=$SECONDS
	if ! command -v debootstrap >/dev/null; then
		skip "$2: debootstrap is not installed"; return
	fi
	test/vm/gen.sh "$1" "$TMP/$1.img" ${4:+"$4"} 2>"$TMP/$1.gen.err"
	case $? in
	0) TOOK=$((SECONDS - t0)) ;;
	3) skip "$2: no bookworm chroot (debootstrap failed: $(tail -n 1 "$TMP/$1.gen.err"))"; return ;;
	*)
		ok 1 "$2: image built in the bookworm chroot"
		tail -n 5 "$TMP/$1.gen.err" | sed 's/^/#   /' >&2
		return ;;
	esac
	ok 0 "$2: image built in the bookworm chroot (${TOOK}s; cached for reruns)"
	[ "${NO_BOOT:-}" ] && return
	if [ "$1" = dracut-ho ] || [ "$1" = dracut-ho-nosd ]; then
		is "$(initrd_cmdline "$TMP/$1.img")" "rd.neednet=1" "$2: the image's cmdline.d holds rd.neednet=1 (written by 60nbde)"
	fi
	: >"$TMP/tang.log"
	LOG=$TMP/boot-$1.log
	t0=$SECONDS
	vm_boot "$LOG" "$KDIR/boot" "$TMP/$1.img" "$TMP/root.img" \
		"quiet ${GEN_NET-$NET} $3 nbde.timeout=$(t_isecs 30) nbde.check=$ROOT_CHECK" "$(fwd 10.0.2.100 "$live")"
	m=$(vm_marker "$LOG" '^NBDE-VM-ROOT-(PASS|FAIL)')
	is "$m" NBDE-VM-ROOT-PASS "$2: root unlocks through the hooks and /sbin/init runs (boot $((SECONDS - t0)) s)" || show_fail
	grep -q "POST /rec/.* => 200" "$TMP/tang.log"
	ok $? "$2: the key came from the guestfwd tang"
	if [ "$1" = itools ]; then
		m=$(vm_marker "$LOG" '^NBDE-VM-NET ')
		is "$m" "NBDE-VM-NET eth0 down" "$2: local-bottom took the network down before the real init"
	fi
}
gen_test itools "initramfs-tools" "root=/dev/mapper/root"

# 3 again, with a real generator: tang accepts and never answers. nbde must
# give up by its deadline and leave cryptsetup's prompt working: the test
# then types the passphrase on the serial console, as a person would.
fallback_test() {
	[ -f "$TMP/itools.img" ] || { skip "initramfs-tools fallback: no image"; return; }
	mkfifo "$TMP/console-in" && exec 3<>"$TMP/console-in"
	LOG=$TMP/boot-fallback.log
	local t0=$SECONDS given_up=
	VM_INPUT=$TMP/console-in vm_boot "$LOG" "$KDIR/boot" "$TMP/itools.img" "$TMP/root.img" \
		"quiet $NET root=/dev/mapper/root nbde.timeout=5 nbde.check=$ROOT_CHECK" "$(fwd 10.0.2.100 "$dead")" &
	local qemu=$!
	gave_up() { vm_marker "$LOG" 'no clevis binding recovered its passphrase within 5s' >/dev/null; }
	wait_until 60 eval 'gave_up || ! kill -0 $qemu 2>/dev/null'
	gave_up && given_up=$((SECONDS - t0))
	sleep "$(t_secs 0.5)"	# cryptsetup's prompt reads again after the agent gave up
	tr -d '\n' <"$TMP/root.key" >&3 && printf '\r' >&3
	wait $qemu
	exec 3>&-
	[ -n "$given_up" ]
	ok $? "initramfs-tools, dead tang: nbde gives up by its 5 s deadline (${given_up:-never} s into the boot) and says so"
	m=$(vm_marker "$LOG" '^NBDE-VM-ROOT-(PASS|FAIL)')
	is "$m" NBDE-VM-ROOT-PASS "initramfs-tools, dead tang: the passphrase typed at cryptsetup's prompt still opens the root" || show_fail
}
fallback_test
# --no-hostonly images carry no crypttab: the volume comes from rd.luks.name
gen_test dracut "dracut (systemd initrd, password agent)" "rd.luks.name=$VM_ROOT_UUID=root rd.neednet=1 root=/dev/mapper/root"
# without systemd the initqueue hook opens luks-UUID before cryptroot-ask
gen_test dracut-nosd "dracut (no systemd, initqueue hook)" \
	"rd.luks.uuid=$VM_ROOT_UUID rd.neednet=1 root=/dev/mapper/luks-$VM_ROOT_UUID"

# dracut --hostonly --hostonly-cmdline: 60nbde looks at the volumes in
# /etc/crypttab itself (`nbde list` on the source; here an image file named
# by path, as no block device can be attached in the chroot). A tang binding
# must put rd.neednet=1 into the image's cmdline.d; without one, nothing is
# written. The boot passes no rd.neednet, but it does pass ip=: Debian's
# dracut brings eth0 up from ip= alone (systemd-networkd ignores rd.neednet,
# network-legacy starts on ip=), so it shows the hostonly image unlocks, not
# that rd.neednet was used. The no-systemd boot below passes no ip= (only
# net.ifnames=0): network-legacy does DHCP from the cmdline.d rd.neednet=1
# against qemu's slirp; dhclient queues the job running initqueue/online
# after the pass took its list, and the same pass runs cryptroot-ask, whose
# prompt would block forever - the settled copy of the hook (sorting before
# cryptroot-ask-*) runs that pending job first.
initrd_cmdline() { # IMG: every etc/cmdline.d/* in the image, as lsinitrd reads it
	local c=$VM_CACHE/chroot-dracut f
	cp "$1" "$c/tmp/nbde-lsinitrd.img" || return 1
	for f in $(chroot "$c" lsinitrd /tmp/nbde-lsinitrd.img 2>/dev/null | grep -o 'etc/cmdline\.d/[^ ]*'); do
		chroot "$c" lsinitrd -f "$f" /tmp/nbde-lsinitrd.img
	done
	rm -f "$c/tmp/nbde-lsinitrd.img"
}
gen_test dracut-ho "dracut --hostonly-cmdline, crypttab volume bound to tang" \
	"rd.luks.name=$VM_ROOT_UUID=root root=/dev/mapper/root" "$TMP/root.img"
GEN_NET="net.ifnames=0" gen_test dracut-ho-nosd \
	"dracut --hostonly-cmdline, no systemd, DHCP (no ip=; rd.neednet=1 from cmdline.d)" \
	"rd.luks.uuid=$VM_ROOT_UUID root=/dev/mapper/luks-$VM_ROOT_UUID" "$TMP/root.img"
truncate -s 32M "$TMP/unbound.img" && cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
	--pbkdf-force-iterations 1000 --key-file "$TMP/root.key" "$TMP/unbound.img" >&2
NO_BOOT=1 gen_test dracut-ho-nobind "dracut --hostonly-cmdline, crypttab volume without a binding" "" "$TMP/unbound.img"
if [ -f "$TMP/dracut-ho-nobind.img" ]; then
	m=$(initrd_cmdline "$TMP/dracut-ho-nobind.img")
	cp "$TMP/dracut-ho-nobind.img" "$VM_CACHE/chroot-dracut/tmp/nbde-lsinitrd.img"
	chroot "$VM_CACHE/chroot-dracut" lsinitrd /tmp/nbde-lsinitrd.img 2>/dev/null | grep -q ' usr/bin/nbde$' &&
		! [[ $m == *rd.neednet* ]]
	ok $? "dracut --hostonly-cmdline, no tang binding: nbde is in the image, rd.neednet is not in its cmdline.d (got: ${m:-nothing})"
	rm -f "$VM_CACHE/chroot-dracut/tmp/nbde-lsinitrd.img"
fi
done_testing
