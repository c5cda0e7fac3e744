#!/usr/bin/env bash
# 53-vm-tpm2.t - the tpm2 pin on a real /dev/tpmrm0: Debian's kernel under
# qemu with a swtpm-backed TPM (tpm-tis on swtpm's control socket), the
# minimal initramfs (test/vm/mini-initrd.sh; Debian builds the TPM TIS driver
# in, else its modules are added). The host binds through
# TPM2TOOLS_TCTI=swtpm:path=... against the same swtpm state directory the
# guest's TPM then runs on (swtpm keeps its seeds there), so the primary key
# the guest recreates is the one the binding was made under. One boot each:
#   1. tpm2 sealed to PCR 7 (sha256) values the guest cannot have
#      (pcr_digest of random bytes): nbde unlock fails, saying the PCRs
#      changed, and the guest takes the fallback path (a real initramfs would
#      prompt) within the deadline. The guest prints its own PCR 7 as its
#      kernel reads it (sysfs) before unlocking.
#   2. sss(t=1) of a tang nobody can reach (the guest has no forwarded
#      address at all) and tpm2 sealed to that PCR 7 - as the guest saw it at
#      boot 1, via pcr_digest: unlocks, mounts, the known file matches, well
#      before the deadline. Boot 2 prints PCR 7 too: it must be the value
#      boot 1 saw (SeaBIOS measures the same things on every boot).
# Verdicts come from console markers (test/vm/mini-init.sh). NBDE_VM=0
# skips the file.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/vm/lib.sh"
cd "$TEST_DIR/.."

vm_prereqs swtpm od
qemu-system-x86_64 -device help 2>&1 | grep -q '"tpm-tis"' ||
	skip_all "this qemu-system-x86_64 has no tpm-tis device"
qemu-system-x86_64 -tpmdev help 2>&1 | grep -qw emulator ||
	skip_all "this qemu-system-x86_64 has no emulator (swtpm) TPM backend"
# built in (Debian: CONFIG_TCG_TIS=y), or the modules in load order
kconf=$KDIR/pkg/boot/config-$KVER
case $(sed -n 's/^CONFIG_TCG_TIS=//p' "$kconf" 2>/dev/null) in
y) ;;
m) export MINI_MODS="tpm tpm_tis_core tpm_tis" ;;
*) skip_all "the guest kernel $KVER has no TPM TIS driver (CONFIG_TCG_TIS in $kconf)" ;;
esac
echo "# kernel $KVER, accel $(vm_accel)"

test/vm/mini-initrd.sh "$KDIR" "$KVER" "$NBDE" "$TMP/mini.gz"
ok $? "minimal initramfs built (busybox-static + nbde + $KVER modules${MINI_MODS:+ + $MINI_MODS})"

STATE=$TMP/swtpm-vm/state	# swtpm_start's directory for the name "vm"
QSOCK=$TMP/swtpm-vm/qemu.ctrl

# host_bind PIN NAME CFG: a fresh disk NAME bound to PIN CFG through the
# swtpm on $STATE (started for the host, stopped again)
declare -A CHECK
host_bind() {
	local pin=$1 name=$2 cfg=$3 rc
	CHECK[$name]=$(head -c 12 /dev/urandom | base64 | tr '/+' '_-')
	vm_disk "$TMP/$name.img" "$TMP/$name.key" "${CHECK[$name]}" || return 1
	swtpm_start vm || return 1
	"$NBDE" bind -d "$TMP/$name.img" -k "$TMP/$name.key" -y "$pin" "$cfg" >&2
	rc=$?
	swtpm_stop
	return $rc
}

# tpm_boot NAME TIMEOUT [NETDEV-OPTIONS]: the guest's TPM is swtpm on the
# same state, on a control socket only (qemu hands it the data channel);
# sets LOG and TOOK. The kernel is the bzImage, not the PVH vmlinux the other
# boots use: qemu 7.2's PVH loader puts the initrd where SeaBIOS then keeps
# the ACPI tables grown by the TPM's event log (the RSDT is overwritten, ACPI
# and with it the TPM are gone); the bzImage loader leaves them room.
KERNEL=$KDIR/pkg/boot/vmlinuz-$KVER
tpm_boot() {
	local t0=$SECONDS pid
	LOG=$TMP/boot-$1.log
	rm -f "$QSOCK"
	swtpm socket --tpm2 --tpmstate dir="$STATE" --ctrl type=unixio,path="$QSOCK" \
		--log file="$TMP/swtpm-qemu.log" >>"$TMP/swtpm.log" 2>&1 &
	pid=$!
	T_PIDS+=("$pid")
	wait_until 10 eval '[ -S "$QSOCK" ] || ! kill -0 $pid 2>/dev/null'
	VM_TPM=$QSOCK vm_boot "$LOG" "$KERNEL" "$TMP/mini.gz" "$TMP/$1.img" \
		"quiet nbde.tpm=1 nbde.timeout=$2 nbde.check=${CHECK[$1]}" "${3:-}"
	stop_pid "$pid"
	TOOK=$((SECONDS - t0))
}
show_fail() { # the end of the console, for whoever reads the failure
	tr -d '\r\000' <"$LOG" | grep -a -v '^\s*$' | tail -n 8 | sed 's/^/#   /' >&2
}
guest_pcr7() { # the guest's PCR 7 from its console, lower-case hex
	vm_marker "$LOG" '^NBDE-VM-PCR7 ' | sed 's/^NBDE-VM-PCR7 //' | tr -d ' \n' | tr 'A-F' 'a-f'
}
hex_b64u() { # hex_b64u HEX: its bytes in base64url without padding
	printf '%b' "$(printf '%s' "$1" | sed 's/../\\x&/g')" | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# 1. sealed to PCR values the guest cannot have
other=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
host_bind tpm2 other "{\"pcr_bank\":\"sha256\",\"pcr_ids\":\"7\",\"pcr_digest\":\"$other\"}"
ok $? "LUKS2 disk bound to tpm2 with PCR 7 sealed to random values (host, swtpm socket)"
deadline=$(t_isecs 20)
tpm_boot other "$deadline"
m=$(vm_marker "$LOG" '^NBDE-VM-(PASS|FAIL|FALLBACK)')
set -- $m
is "${1:-} ${2:-}" "NBDE-VM-FALLBACK 1" "tpm2 sealed to other PCR values: unlock fails (exit 1), the guest takes the fallback path (boot ${TOOK}s)" || show_fail
[ "${1:-}" = NBDE-VM-FALLBACK ] && [[ ${3:-} =~ ^[0-9]+$ ]] && [ "$3" -le "$deadline" ]
ok $? "  ... within its ${deadline} s deadline (took ${3:-?} s)"
grep -aq "PCR values changed since the binding" "$LOG"
ok $? "  ... and nbde says why: the PCR values changed since the binding"
PCR7=$(guest_pcr7)
[[ $PCR7 =~ ^[0-9a-f]{64}$ ]]
ok $? "the guest's kernel sees the TPM (/dev/tpmrm0) and reads its sha256 PCR 7: ${PCR7:-none}"

# 2. sss(t=1): an unreachable tang first, tpm2 sealed to PCR 7 as boot 1 saw it
vm_tang_keys "$TMP/t1"
ok $? "a tang key set (its server is never reachable by the guest)"
if [[ $PCR7 =~ ^[0-9a-f]{64}$ ]]; then
	digest=$(hex_b64u "$PCR7")
	host_bind sss guest "{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"http://10.0.2.100\",\"adv\":\"$TMP/t1/adv.jws\"}],\"tpm2\":[{\"pcr_bank\":\"sha256\",\"pcr_ids\":\"7\",\"pcr_digest\":\"$digest\"}]}}"
	ok $? "LUKS2 disk bound to sss(t=1) of tang and tpm2 sealed to the guest's PCR 7"
	tpm_boot guest "$deadline"
	m=$(vm_marker "$LOG" '^NBDE-VM-(PASS|FAIL|FALLBACK)')
	set -- $m
	is "${1:-}" NBDE-VM-PASS "sss(t=1) of a dead tang and tpm2: the root unlocks through /dev/tpmrm0 with no network, mounts, file matches (boot ${TOOK}s)" || show_fail
	[ "${1:-}" = NBDE-VM-PASS ] && [[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -le "$(t_isecs 5)" ]
	ok $? "  ... without waiting for the tang's deadline (unlock took ${2:-?} s of ${deadline} s)"
	is "$(guest_pcr7)" "$PCR7" "  ... the guest's PCR 7 is the value boot 1 saw"
else
	skip "sss of tang and tpm2 on the guest's PCR 7: boot 1 printed no PCR 7"
fi
done_testing
