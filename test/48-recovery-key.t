#!/bin/bash
# 48-recovery-key.t - nbde recovery-key on LUKS1 and LUKS2 image files: the
# image's well-known passphrase is replaced by a systemd-style recovery key
# once a binding is proven to open the volume; refusals leave the image
# byte-identical; every write and fsync on the image, failed or SIGKILLed
# (strace fault injection, as in 41-luks-faults.t), leaves either the image
# as before or a volume that the binding and a key the person holds open.
. "$(dirname "$0")/lib.sh"

need cryptsetup cmp
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
printf 'well-known' >"$TMP/key"
MODHEX='^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$'

mkimg() { # mkimg TYPE FILE [bind] : keyslot 0 opens with $TMP/key; "bind" adds a null binding (slot 1)
	truncate -s 32M "$2" &&
		cryptsetup luksFormat -q --type "$1" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
			--key-file "$TMP/key" "$2" >/dev/null 2>&1 || return 1
	[ "${3:-}" = bind ] || return 0
	"$NBDE" bind -d "$2" -k "$TMP/key" null '{}' >/dev/null 2>&1
}
opens() { # opens IMG KEYFILE
	cryptsetup open --test-passphrase --key-file "$2" "$1" >/dev/null 2>&1
}
key_opens() { # key_opens IMG OUTPUT : the key line in OUTPUT opens IMG
	local k
	k=$(head -n 1 "$2" 2>/dev/null)
	[[ $k =~ $MODHEX ]] || return 1
	printf '%s' "$k" >"$TMP/k"
	opens "$1" "$TMP/k"
}
binding_opens() { "$NBDE" unlock -d "$1" --test --timeout 10 >/dev/null 2>&1; }
cheap() { # the KDF costs for the tests: the lowest cryptsetup accepts
	if [ "$1" = luks2 ]; then echo "--pbkdf-force-iterations 4 --pbkdf-memory 32"; else echo "--pbkdf-force-iterations 1000"; fi
}

for TYPE in luks1 luks2; do
	IMG=$TMP/$TYPE.img
	mkimg "$TYPE" "$TMP/$TYPE.bound" bind
	ok $? "$TYPE: an image with a null binding in keyslot 1"
	# shellcheck disable=SC2046
	set -- $(cheap "$TYPE")

	# ---- refusals ----
	mkimg "$TYPE" "$TMP/$TYPE.plain"
	cp "$TMP/$TYPE.plain" "$IMG"
	run_fails "$TYPE: no binding: refused" "$NBDE" recovery-key -d "$IMG" -k "$TMP/key" "$@"
	grep -q 'no clevis binding opens it' "$TMP/.err"
	ok $? "$TYPE: ... saying no binding opens it"
	cmp -s "$IMG" "$TMP/$TYPE.plain"
	ok $? "$TYPE: ... and the image is unchanged"
	cp "$TMP/$TYPE.bound" "$IMG"
	printf 'wrong' >"$TMP/wrong"
	run_fails "$TYPE: a passphrase that does not open it: refused" "$NBDE" recovery-key -d "$IMG" -k "$TMP/wrong" "$@"
	run_fails "$TYPE: -s naming the binding's own keyslot: refused" "$NBDE" recovery-key -d "$IMG" -s 1 "$@"
	grep -q 'holds the binding' "$TMP/.err"
	ok $? "$TYPE: ... saying the keyslot holds the binding"
	"$NBDE" recovery-key -d "$IMG" -k "$TMP/key" --dry-run "$@" >"$TMP/dry" 2>&1
	ok $? "$TYPE: --dry-run succeeds"
	grep -q 'remove keyslot 0; the binding in keyslot 1 stays' "$TMP/dry"
	ok $? "$TYPE: ... and says what it would do"
	cmp -s "$IMG" "$TMP/$TYPE.bound"
	ok $? "$TYPE: refusals and --dry-run leave the image byte-identical"
	"$NBDE" recovery-key -d "$IMG" -k "$TMP/key" "$@" >/dev/full 2>"$TMP/err"
	is $? 1 "$TYPE: a key that cannot be written (stdout on /dev/full) fails the whole change"
	cmp -s "$IMG" "$TMP/$TYPE.bound"
	ok $? "$TYPE: ... and the image is byte-identical to before"
	touch "$TMP/exists"
	run_fails "$TYPE: -o naming an existing file: refused" "$NBDE" recovery-key -d "$IMG" -k "$TMP/key" -o "$TMP/exists" "$@"
	[ ! -s "$TMP/exists" ] && cmp -s "$IMG" "$TMP/$TYPE.bound"
	ok $? "$TYPE: ... the file is not overwritten and the image is unchanged"
	run_fails "$TYPE: usage: -s with -k" "$NBDE" recovery-key -d "$IMG" -s 0 -k "$TMP/key"
	"$NBDE" recovery-key -d "$IMG" -k "$TMP/key" --iter-time x >/dev/null 2>&1
	is $? 2 "$TYPE: usage errors exit 2"

	# ---- the real thing ----
	"$NBDE" recovery-key -d "$IMG" -k "$TMP/key" "$@" >"$TMP/out" 2>"$TMP/err"
	ok $? "$TYPE: recovery-key succeeds"
	is "$(wc -l <"$TMP/out")" 1 "$TYPE: it prints one line"
	[[ $(cat "$TMP/out") =~ $MODHEX ]]
	ok $? "$TYPE: ... the key in systemd-cryptenroll's format (8 groups of 8 modhex)"
	key_opens "$IMG" "$TMP/out"
	ok $? "$TYPE: the recovery key opens the volume"
	! opens "$IMG" "$TMP/key"
	ok $? "$TYPE: the well-known passphrase does not any more"
	binding_opens "$IMG"
	ok $? "$TYPE: the binding still unlocks"
	if [ "$TYPE" = luks2 ]; then
		cryptsetup luksDump "$IMG" | grep -q 'argon2id'
		ok $? "$TYPE: the recovery keyslot uses argon2id (typed by people)"
	fi

	# -s SLOT and -o FILE: the binding adds the key
	mkimg "$TYPE" "$IMG" bind
	"$NBDE" recovery-key -d "$IMG" -s 0 -o "$TMP/rk.$TYPE" "$@" >"$TMP/out" 2>"$TMP/err"
	ok $? "$TYPE: -s 0 -o FILE succeeds without the old passphrase"
	is "$(stat -c %a "$TMP/rk.$TYPE")" 400 "$TYPE: ... the key file is mode 0400"
	is "$(wc -c <"$TMP/out")" 0 "$TYPE: ... and nothing is printed"
	key_opens "$IMG" "$TMP/rk.$TYPE" && ! opens "$IMG" "$TMP/key" && binding_opens "$IMG"
	ok $? "$TYPE: ... the key opens, the old passphrase does not, the binding does"

	# ---- faults at every write and fsync on the image ----
	failed=0 checked=0
	for S in write fsync pwrite64; do
		cp "$TMP/$TYPE.bound" "$IMG"
		strace -f -qq -P "$IMG" -e trace="$S" -o "$TMP/count.trace" \
			"$NBDE" recovery-key -d "$IMG" -k "$TMP/key" "$@" >/dev/null 2>&1
		K=$(grep -c "^[0-9]* *$S(" "$TMP/count.trace")
		case $S in fsync) ERR=EIO ;; *) ERR=ENOSPC ;; esac
		for ((N = 1; N <= K; N++)); do
			for FAULT in "error=$ERR" signal=KILL; do
				cp "$TMP/$TYPE.bound" "$IMG"
				(strace -f -qq -o /dev/null -P "$IMG" -e trace="$S" -e inject="$S:$FAULT:when=$N" \
					"$NBDE" recovery-key -d "$IMG" -k "$TMP/key" "$@" >"$TMP/out" 2>"$TMP/err"; exit $?) 2>/dev/null
				rc=$?
				checked=$((checked + 1))
				D="$TYPE: $S #$N/$K $FAULT"
				if ! binding_opens "$IMG"; then
					echo "# $D: the binding does not open (exit $rc)"
					failed=$((failed + 1))
				elif [ "$FAULT" = signal=KILL ]; then
					# killed: the old passphrase, or the key it printed, still opens
					opens "$IMG" "$TMP/key" || key_opens "$IMG" "$TMP/out" ||
						{ echo "# $D: neither the old passphrase nor a printed key opens"; failed=$((failed + 1)); }
				elif [ $rc -eq 0 ]; then
					# libcryptsetup ignored the fault: then the change must be complete
					key_opens "$IMG" "$TMP/out" && ! opens "$IMG" "$TMP/key" ||
						{ echo "# $D: exit 0 but the change is not complete"; failed=$((failed + 1)); }
				elif [ $rc -ne 1 ] || ! cmp -s "$IMG" "$TMP/$TYPE.bound"; then
					echo "# $D: exit $rc, and the image is not as before"
					sed 's/^/#   /' "$TMP/err" | head -3
					failed=$((failed + 1))
				fi
			done
		done
	done
	[ "$checked" -gt 10 ]
	ok $? "$TYPE: faults injected at $checked points"
	is "$failed" 0 "$TYPE: after every fault the image is as before, or a binding and a held key open it"
done

done_testing
