#!/usr/bin/env bash
# 54-vm-tpm2pin.t - TPM + PIN at boot: the root volume bound to tpm2pin,
# Debian's kernel under qemu with a swtpm-backed TPM (as 53-vm-tpm2.t), the
# image made by the real generator (test/vm/gen.sh), and the PIN typed on
# the serial console, as a person at the console would:
#   1. initramfs-tools: a wrong PIN, then the right one: the prompt names
#      the volume, the retry says the PIN was wrong and how many wrong
#      PINs the TPM still takes; the root unlocks; the TPM counted one
#      failure.
#   2. initramfs-tools: three wrong PINs: nbde stops asking (a fixed number
#      of tries, never up to the lockout), cryptsetup's own passphrase
#      prompt follows and the passphrase typed there opens the root.
#   3. dracut without systemd: a wrong PIN, then the right one, asked by
#      the initqueue hook under dracut's console lock.
#   4. dracut with systemd: a wrong PIN, then the right one, asked through
#      systemd's password agents (its console agent shows the request) by
#      systemd-cryptsetup@'s ExecStartPre, before its own prompt.
# The host binds through the swtpm on the same state directory the guest's
# TPM then runs on (its seeds live there). Verdicts come from console
# markers (test/vm/root-init.sh). NBDE_VM=0 skips the file.
. "$(dirname "$0")/lib.sh"
. "$TEST_DIR/vm/lib.sh"
cd "$TEST_DIR/.."

vm_prereqs swtpm tpm2_dictionarylockout tpm2_getcap tpm2_shutdown
command -v debootstrap >/dev/null || skip_all "debootstrap is not installed (the images come from the real generators)"
qemu-system-x86_64 -device help 2>&1 | grep -q '"tpm-tis"' ||
	skip_all "this qemu-system-x86_64 has no tpm-tis device"
qemu-system-x86_64 -tpmdev help 2>&1 | grep -qw emulator ||
	skip_all "this qemu-system-x86_64 has no emulator (swtpm) TPM backend"
[ "$(sed -n 's/^CONFIG_TCG_TIS=//p' "$KDIR/pkg/boot/config-$KVER" 2>/dev/null)" = y ] ||
	skip_all "the guest kernel $KVER does not build the TPM TIS driver in (the generators' images here add no TPM modules)"
echo "# kernel $KVER, accel $(vm_accel)"

PIN=$(head -c 9 /dev/urandom | base64 | tr '/+' '_-')
MAX_TRIES=5	# the TPM's lockout limit: three tries always fit below it
ROOT_CHECK=$(head -c 12 /dev/urandom | base64 | tr '/+' '_-')
mkdir -p "$TMP/rt/bin" "$TMP/rt/sbin" "$TMP/rt"/{proc,sys,dev,run,tmp,etc}
cp /bin/busybox "$TMP/rt/bin/" && cp test/vm/root-init.sh "$TMP/rt/sbin/init"
echo 'ID=nbde-test' >"$TMP/rt/etc/os-release"


# root_for STATE-NAME: a root disk $TMP/root-NAME.img (LUKS UUID
# $VM_ROOT_UUID, as the cached images' crypttab names) bound to tpm2pin
# with $PIN through a fresh swtpm on $TMP/swtpm-NAME/state
root_for() {
	local rc
	vm_disk "$TMP/root-$1.img" "$TMP/root-$1.key" "$ROOT_CHECK" "$TMP/rt" "$VM_ROOT_UUID" || return 1
	swtpm_start "$1" || return 1
	da_reset && printf '%s' "$PIN" >"$TMP/pin" &&
		NBDE_TPM_PIN_FILE=$TMP/pin "$NBDE" bind -d "$TMP/root-$1.img" -k "$TMP/root-$1.key" -y tpm2pin '{}' >&2
	rc=$?
	tpm_orderly_stop
	return $rc
}
# An orderly TPM2_Shutdown before swtpm ends: after a disorderly one a TPM
# counts one more failed authorization at its next start (DA is in use).
tpm_orderly_stop() {
	tpm2_shutdown >/dev/null 2>&1
	swtpm_stop
}
counter_of() { # counter_of STATE-NAME: its lockout counter, read on the host
	swtpm_start "$1" >/dev/null 2>&1 || return 1
	da_counter
	tpm_orderly_stop
}

show_fail() { # the end of the console, for whoever reads the failure
	tr -d '\r\000' <"$LOG" | grep -a -v '^\s*$' | tail -n 12 | sed 's/^/#   /' >&2
}
console_count() { # console_count REGEX: console lines matching REGEX so far
	[ -f "$LOG" ] || { echo 0; return; }
	tr -d '\r\000' <"$LOG" | grep -a -c -E "$1"
}

# boot_typing STATE-NAME IMAGE CMDLINE ANSWERS...: boots IMAGE on the root
# disk of STATE-NAME with the guest's TPM on that state; each answer is
# typed on the serial console once its prompt shows: "pin:TEXT" at the
# next TPM PIN prompt, "pass:TEXT" at cryptsetup's passphrase prompt. Sets
# LOG and TOOK; fails when a prompt never came.
KERNEL=$KDIR/pkg/boot/vmlinuz-$KVER	# the bzImage: see 53-vm-tpm2.t on PVH and the TPM's ACPI tables
boot_typing() {
	local name=$1 img=$2 cmdline=$3 t0=$SECONDS pid qemu a pins=0 missed=0
	shift 3
	local qsock=$TMP/swtpm-$name/qemu.ctrl
	LOG=$TMP/boot-$name.log
	rm -f "$qsock" "$TMP/console-$name"
	swtpm socket --tpm2 --tpmstate dir="$TMP/swtpm-$name/state" --ctrl type=unixio,path="$qsock" \
		--log file="$TMP/swtpm-qemu.log" >>"$TMP/swtpm.log" 2>&1 &
	pid=$!
	T_PIDS+=("$pid")
	wait_until 10 eval '[ -S "$qsock" ] || ! kill -0 $pid 2>/dev/null'
	mkfifo "$TMP/console-$name" && exec 3<>"$TMP/console-$name"
	VM_TPM=$qsock VM_INPUT=$TMP/console-$name vm_boot "$LOG" "$KERNEL" "$img" "$TMP/root-$name.img" \
		"quiet $cmdline nbde.check=$ROOT_CHECK" &
	qemu=$!
	for a in "$@"; do
		case $a in
		pin:*)
			pins=$((pins + 1))
			wait_until 240 eval '[ "$(console_count "Please enter the TPM PIN")" -ge $pins ] || ! kill -0 $qemu 2>/dev/null'
			[ "$(console_count "Please enter the TPM PIN")" -ge $pins ] || missed=1
			;;
		pass:*)
			wait_until 240 eval '[ "$(console_count "Please unlock disk")" -ge 1 ] || ! kill -0 $qemu 2>/dev/null'
			[ "$(console_count "Please unlock disk")" -ge 1 ] || missed=1
			;;
		esac
		[ $missed = 0 ] || break
		printf '%s\r' "${a#*:}" >&3
	done
	wait $qemu
	exec 3>&-
	stop_pid "$pid"
	TOOK=$((SECONDS - t0))
	return $missed
}
root_pass() { [ "$(vm_marker "$LOG" '^NBDE-VM-ROOT-(PASS|FAIL)')" = NBDE-VM-ROOT-PASS ]; }

gen_image() { # gen_image KIND: $TMP/KIND.img from the generator (cached)
	test/vm/gen.sh "$1" "$TMP/$1.img" 2>"$TMP/$1.gen.err"
	case $? in
	0) return 0 ;;
	3) return 3 ;;
	*) tail -n 5 "$TMP/$1.gen.err" | sed 's/^/#   /' >&2; return 1 ;;
	esac
}

T=$(t_isecs 60)
NET="ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off net.ifnames=0"
gen_image itools
case $? in
0)
	ok 0 "initramfs-tools image built in the bookworm chroot (cached for reruns)"
	# 1. a wrong PIN, then the right one
	root_for a
	ok $? "root disk bound to tpm2pin (PIN from a file, on the host's swtpm)"
	boot_typing a "$TMP/itools.img" "root=/dev/mapper/root nbde.timeout=$T" "pin:not-$PIN" "pin:$PIN"
	ok $? "initramfs-tools: nbde asked for the TPM PIN on the serial console twice" || show_fail
	root_pass
	ok $? "initramfs-tools: a wrong PIN, then the right one: the root unlocks and init runs (boot ${TOOK}s)" || show_fail
	vm_marker "$LOG" 'Please enter the TPM PIN for disk root \(' >/dev/null
	ok $? "  ... the prompt names the volume (crypttab name and device)"
	vm_marker "$LOG" "Wrong PIN \(the TPM locks after $((MAX_TRIES - 1)) more wrong\)\. Please enter the TPM PIN for disk root .*\(try 2 of 3\):" >/dev/null
	ok $? "  ... the retry says the PIN was wrong and what the TPM's lockout counter allows" ||
		diag "$(tr -d '\r\000' <"$LOG" | grep -a 'Wrong PIN')"
	is "$(console_count 'Please unlock disk')" 0 "  ... cryptsetup's passphrase prompt never showed"
	! grep -aq "$PIN" "$LOG"
	ok $? "  ... the typed PIN never echoed on the console"
	is "$(counter_of a)" 1 "  ... the TPM counted exactly the one wrong PIN"

	# 2. three wrong PINs: then cryptsetup's passphrase prompt
	root_for b
	ok $? "a second root disk bound to tpm2pin, on a second swtpm"
	boot_typing b "$TMP/itools.img" "root=/dev/mapper/root nbde.timeout=$T" \
		"pin:bad-1" "pin:bad-2" "pin:bad-3" "pass:$(tr -d '\n' <"$TMP/root-b.key")"
	ok $? "initramfs-tools: three PIN prompts, then cryptsetup's passphrase prompt" || show_fail
	root_pass
	ok $? "initramfs-tools: after three wrong PINs the passphrase typed at cryptsetup's prompt opens the root (boot ${TOOK}s)" || show_fail
	is "$(console_count 'Please enter the TPM PIN')" 3 "  ... nbde asked exactly three times"
	is "$(counter_of b)" 3 "  ... the TPM counted three failures, below its limit of $MAX_TRIES (no walk into lockout)"
	;;
3) skip "initramfs-tools boots: no bookworm chroot (debootstrap failed)" ;;
*) ok 1 "initramfs-tools image built in the bookworm chroot" ;;
esac

gen_image dracut-nosd
case $? in
0)
	ok 0 "dracut (no systemd) image built in the bookworm chroot (cached for reruns)"
	root_for c
	ok $? "a third root disk bound to tpm2pin, on a third swtpm"
	# the test image's module assumes a tang binding (nbde_network=yes):
	# its hook waits for the network, which qemu's user net provides
	boot_typing c "$TMP/dracut-nosd.img" "$NET rd.neednet=1 rd.luks.uuid=$VM_ROOT_UUID root=/dev/mapper/luks-$VM_ROOT_UUID nbde.timeout=$T" \
		"pin:not-$PIN" "pin:$PIN"
	ok $? "dracut without systemd: nbde asked for the TPM PIN on the serial console twice" || show_fail
	root_pass
	ok $? "dracut without systemd: a wrong PIN, then the right one: the root unlocks (boot ${TOOK}s)" || show_fail
	vm_marker "$LOG" "Please enter the TPM PIN for disk luks-$VM_ROOT_UUID \(" >/dev/null
	ok $? "  ... the prompt names the volume"
	is "$(counter_of c)" 1 "  ... the TPM counted exactly the one wrong PIN"
	;;
3) skip "dracut boot: no bookworm chroot (debootstrap failed)" ;;
*) ok 1 "dracut (no systemd) image built in the bookworm chroot" ;;
esac

gen_image dracut
case $? in
0)
	ok 0 "dracut (systemd initrd) image built in the bookworm chroot (cached for reruns)"
	root_for d
	ok $? "a fourth root disk bound to tpm2pin, on a fourth swtpm"
	boot_typing d "$TMP/dracut.img" "rd.luks.name=$VM_ROOT_UUID=root root=/dev/mapper/root nbde.timeout=$T" \
		"pin:not-$PIN" "pin:$PIN"
	ok $? "dracut with systemd: the password agent showed the TPM PIN request twice" || show_fail
	root_pass
	ok $? "dracut with systemd: a wrong PIN, then the right one: the root unlocks (boot ${TOOK}s)" || show_fail
	vm_marker "$LOG" "Please enter the TPM PIN for disk root \(" >/dev/null
	ok $? "  ... the request's message names the volume"
	is "$(console_count 'Please enter passphrase for disk')" 0 "  ... systemd-cryptsetup's own passphrase prompt never showed"
	is "$(counter_of d)" 1 "  ... the TPM counted exactly the one wrong PIN"
	;;
3) skip "dracut systemd boot: no bookworm chroot (debootstrap failed)" ;;
*) ok 1 "dracut (systemd initrd) image built in the bookworm chroot" ;;
esac
done_testing
