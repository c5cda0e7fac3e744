#!/usr/bin/env bash
# 40-luks.t - nbde bind/list/unbind/unlock/pass on LUKS1 and LUKS2 image
# files, against the real peers: Debian's clevis, clevis-luks, jose,
# luksmeta, cryptsetup and tangd (run through socat). Volumes bound by
# clevis must unlock with nbde; volumes bound by nbde must open with
# clevis's tools; failed binds must leave the image byte-identical.
. "$(dirname "$0")/lib.sh"

need cryptsetup clevis jose luksmeta socat sha256sum
[ -x /usr/libexec/tangd ] || skip_all "tangd is not installed (/usr/libexec/tangd)"
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
"$NBDE" list -h >/dev/null 2>&1 || skip_all "nbde has no LUKS applets"

PASS='   just-some- test-password-here 1.+?~!@#$%^&*();:'\''"[]{}_=/`\   '
printf '%s' "$PASS" >"$TMP/key"
printf 'not-the-passphrase' >"$TMP/wrong-key"

mkimg() { luks_image "$1" "$2" "$TMP/key" --key-size 512; } # mkimg TYPE FILE: keyslot 0 holds $PASS

tangd_keys "$TMP/tang-A" && tangd_start "$TMP/tang-A" || skip_all "cannot start tangd through socat"
URL_A=$TANGD_URL TANG_A_PID=$TANGD_PID
DEAD_URL="http://127.0.0.1:$(free_port)"	# nothing listens there
TANG_CFG="{\"url\":\"$URL_A\"}"

# The passphrase clevis recovers for SLOT of IMG with its own tools.
clevis_pass() { clevis luks pass -d "$1" -s "$2" </dev/null 2>/dev/null; }

# opens_with IMG SLOT PASSPHRASE : cryptsetup accepts it for that keyslot.
opens_with() {
	printf '%s' "$3" | cryptsetup open --test-passphrase --key-slot "$2" --key-file - "$1" 2>/dev/null
}

# The compact JWE stored for SLOT, read with the peers' tools only.
peer_jwe() { # peer_jwe TYPE IMG SLOT
	if [ "$1" = luks1 ]; then
		luksmeta load -d "$2" -s "$3" -u "$CLEVIS_LUKSMETA_UUID" 2>/dev/null
	else
		local id
		id=$(cryptsetup luksDump "$2" | awk -v s="$3" '
			/^Tokens:/ { t = 1; next } /^Digests:/ { t = 0 }
			t && /^  [0-9]+: clevis/ { id = $1; sub(":", "", id); next }
			t && id != "" && $1 == "Keyslot:" && $2 == s { print id; exit }')
		[ -n "$id" ] || return 1
		cryptsetup token export --token-id "$id" "$2" | jose fmt -j- -Og jwe -o- | jose jwe fmt -i- -c
	fi
}

fingerprint() { sha256sum "$1" | cut -d' ' -f1; }

for TYPE in luks1 luks2; do
	# --- bound by clevis, used by nbde ---
	IMG="$TMP/clevis-$TYPE.img"
	if mkimg "$TYPE" "$IMG" &&
	   clevis luks bind -y -d "$IMG" -k "$TMP/key" tang "$TANG_CFG" </dev/null >/dev/null 2>"$TMP/err"; then
		ok 0 "$TYPE: clevis luks bind (peer) works"
		run_ok "$TYPE: nbde unlock --test opens a clevis-bound volume" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 10)"
		is "$("$NBDE" list -d "$IMG")" "$(clevis luks list -d "$IMG")" "$TYPE: nbde list prints what clevis luks list prints"
		is "$("$NBDE" list -d "$IMG" -s 1)" "1: tang '$TANG_CFG'" "$TYPE: nbde list -s 1 on the clevis binding"
		is "$("$NBDE" list -d "$IMG" -p)" "1: tang" "$TYPE: nbde list -p"
		"$NBDE" list -d "$IMG" -s 0 >"$TMP/out" 2>/dev/null
		rc=$?
		is "$rc:$(cat "$TMP/out")" "1:" "$TYPE: list -s of an unbound keyslot exits 1 with no output"
		is "$("$NBDE" pass -d "$IMG" -s 1)" "$(clevis_pass "$IMG" 1)" "$TYPE: nbde pass gives clevis's passphrase"
	else
		ok 1 "$TYPE: clevis luks bind (peer) works"	# shows $TMP/err
	fi

	# --- bound by nbde, used by clevis ---
	IMG="$TMP/nbde-$TYPE.img"
	mkimg "$TYPE" "$IMG"
	run_ok "$TYPE: nbde bind tang (-k FILE)" "$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "$TANG_CFG"
	is "$(clevis luks list -d "$IMG" 2>&1)" "1: tang '$TANG_CFG'" "$TYPE: clevis luks list reads nbde's binding"
	is "$("$NBDE" list -d "$IMG")" "$(clevis luks list -d "$IMG")" "$TYPE: both lists agree"
	P=$(clevis_pass "$IMG" 1)
	is "${#P}" 54 "$TYPE: clevis luks pass decrypts a 54-character passphrase"
	opens_with "$IMG" 1 "$P"
	ok $? "$TYPE: cryptsetup --test-passphrase accepts it for keyslot 1"
	JWE=$(peer_jwe "$TYPE" "$IMG" 1)
	is "$(printf '%s' "$JWE" | clevis decrypt 2>/dev/null)" "$P" "$TYPE: the stored JWE decrypts with clevis decrypt"
	if [ "$TYPE" = luks1 ]; then
		luksmeta show -d "$IMG" -s 1 >/dev/null 2>&1
		ok $? "$TYPE: luksmeta show accepts nbde's LUKSMeta header"
		is "$(luksmeta show -d "$IMG" | awk '$1 == 1 {print $2}')" active "$TYPE: luksmeta show: slot 1 active"
	else
		HASH=$(cryptsetup luksDump "$IMG" | awk '/^  1: luks2/ {k = 1} k && /PBKDF:/ {p = $2} k && /Hash:/ {print p "/" $2; exit}')
		is "$HASH" "pbkdf2/sha256" "$TYPE: the new keyslot uses pbkdf2 with the first keyslot's hash"
	fi
	run_ok "$TYPE: nbde unlock --test on nbde's binding" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 10)"

	# a second binding through stdin, null pin
	printf '%s\n' "$PASS" | "$NBDE" bind -d "$IMG" -k - null '{}' >/dev/null 2>"$TMP/err"
	ok $? "$TYPE: nbde bind null (-k -) takes the next free keyslot"
	# clevis 19 prints "2: unknown pin 'null'", v22 and nbde "2: null '{}'"
	clevis luks list -d "$IMG" -s 2 >/dev/null 2>&1
	ok $? "$TYPE: clevis sees the null binding"
	is "$("$NBDE" list -d "$IMG" -s 2)" "2: null '{}'" "$TYPE: nbde lists it as clevis v22 does"
	opens_with "$IMG" 2 "$(clevis_pass "$IMG" 2)"
	ok $? "$TYPE: clevis's passphrase for the null binding opens keyslot 2"

	# sss of two tang children
	SSS_CFG="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$URL_A\"},{\"url\":\"$URL_A\"}]}}"
	KEY="$TMP/key" "$NBDE" bind -y -d "$IMG" -s 3 sss "$SSS_CFG" >/dev/null 2>"$TMP/err"
	ok $? "$TYPE: nbde bind sss (key file from \$KEY, -s 3)"
	is "$(clevis luks list -d "$IMG" -s 3 2>&1)" "3: sss '$SSS_CFG'" "$TYPE: clevis lists the sss binding"
	is "$("$NBDE" list -d "$IMG" -s 3)" "3: sss '$SSS_CFG'" "$TYPE: nbde lists the sss binding"
	opens_with "$IMG" 3 "$(clevis_pass "$IMG" 3)"
	ok $? "$TYPE: clevis decrypts the sss binding and it opens keyslot 3"

	# --- failures leave the image byte-identical ---
	FP=$(fingerprint "$IMG")
	run_fails "$TYPE: bind with a wrong passphrase fails" "$NBDE" bind -y -d "$IMG" -k "$TMP/wrong-key" tang "$TANG_CFG"
	is "$(fingerprint "$IMG")" "$FP" "$TYPE: ... and leaves the image unchanged"
	run_fails "$TYPE: bind with a missing key file fails" "$NBDE" bind -y -d "$IMG" -k "$TMP/no-such-key" tang "$TANG_CFG"
	is "$(fingerprint "$IMG")" "$FP" "$TYPE: ... and leaves the image unchanged"
	run_fails "$TYPE: bind to an unreachable server fails" "$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "{\"url\":\"$DEAD_URL\"}"
	is "$(fingerprint "$IMG")" "$FP" "$TYPE: ... and leaves the image unchanged"
	run_fails "$TYPE: bind to a used keyslot fails" "$NBDE" bind -y -d "$IMG" -k "$TMP/key" -s 1 null '{}'
	is "$(fingerprint "$IMG")" "$FP" "$TYPE: ... and leaves the image unchanged"
	# 20 tang children: a JWE bigger than the LUKS2 JSON area and the LUKSMeta gap
	BIG=$(for i in $(seq 20); do printf '{"url":"%s"},' "$URL_A"; done)
	BIG_CFG="{\"t\":1,\"pins\":{\"tang\":[${BIG%,}]}}"
	run_fails "$TYPE: bind with a JWE too big for the metadata fails" "$NBDE" bind -y -d "$IMG" -k "$TMP/key" sss "$BIG_CFG"
	grep -q "cannot bind" "$TMP/.err"
	ok $? "$TYPE: ... in the transaction (the keyslot was added, then rolled back)"
	is "$(fingerprint "$IMG")" "$FP" "$TYPE: ... and leaves the image unchanged (no orphan token or LUKSMeta slot)"
	is "$("$NBDE" list -d "$IMG" -p | tr '\n' ' ')" "1: tang 2: null 3: sss tang " "$TYPE: the bindings are all still there"

	# --- regen: new passphrase and JWE in place, via the clevis front end ---
	OLD=$(clevis_pass "$IMG" 1)
	"$NBDE" clevis luks regen -q -d "$IMG" -s 1 >/dev/null 2>"$TMP/err"
	ok $? "$TYPE: clevis luks regen -q (nbde front end)"
	NEW=$(clevis_pass "$IMG" 1)
	[ -n "$NEW" ] && [ "$NEW" != "$OLD" ] && opens_with "$IMG" 1 "$NEW" && ! opens_with "$IMG" 1 "$OLD"
	ok $? "$TYPE: ... keyslot 1 now opens with the new passphrase only"
	is "$("$NBDE" clevis luks list -d "$IMG" -s 1)" "1: tang '$TANG_CFG'" "$TYPE: clevis luks list (nbde front end)"

	# --- unbind ---
	run_fails "$TYPE: unbind of a keyslot that is not bound fails" "$NBDE" unbind -f -d "$IMG" -s 0
	run_ok "$TYPE: unbind -f of the null binding" "$NBDE" unbind -f -d "$IMG" -s 2
	clevis luks list -d "$IMG" -s 2 >"$TMP/out" 2>/dev/null
	is "$?:$(cat "$TMP/out")" "1:" "$TYPE: clevis no longer sees keyslot 2"
	cryptsetup luksDump "$IMG" | grep -Eq '^(Key Slot 2: ENABLED|  2: luks2)'
	is $? 1 "$TYPE: keyslot 2 is gone"
	if [ "$TYPE" = luks1 ]; then
		is "$(luksmeta show -d "$IMG" | awk '$1 == 2 {print $3}')" empty "$TYPE: LUKSMeta slot 2 is empty"
	else
		is "$(cryptsetup luksDump "$IMG" | grep -c ': clevis')" 2 "$TYPE: its token is gone, the others stay"
	fi
	# the last keyslot able to open is never removed
	L="$TMP/last-$TYPE.img"
	mkimg "$TYPE" "$L"
	"$NBDE" bind -d "$L" -k "$TMP/key" null '{}' >/dev/null 2>&1 &&
		cryptsetup luksKillSlot -q "$L" 0 >/dev/null 2>&1
	FP=$(fingerprint "$L")
	run_fails "$TYPE: unbind refuses the last keyslot that opens the volume" "$NBDE" unbind -f -d "$L" -s 1
	is "$(fingerprint "$L")" "$FP" "$TYPE: ... and leaves the image unchanged"
	run_ok "$TYPE: nbde unlock --test with only the clevis keyslot" "$NBDE" unlock -d "$L" --test --timeout "$(t_isecs 10)"
done

# --- unlock: exit codes and deadline ---
IMG="$TMP/plain.img"
mkimg luks2 "$IMG"
"$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 5)" >/dev/null 2>&1
is $? 4 "unlock of a volume without bindings exits 4"
"$NBDE" unlock -d "$TMP/key" --test >/dev/null 2>&1
is $? 3 "unlock of something that is not LUKS exits 3"
# a server that accepts and never answers must not delay the other binding
socat_start EXEC:"sleep $(t_isecs 60)"
HANG_PORT=$SOCAT_PORT
curl -sf "$URL_A/adv" >"$TMP/adv.jws" 2>/dev/null || wget -qO "$TMP/adv.jws" "$URL_A/adv"
mkimg luks2 "$IMG"
"$NBDE" bind -d "$IMG" -k "$TMP/key" tang "{\"url\":\"http://127.0.0.1:$HANG_PORT\",\"adv\":\"$TMP/adv.jws\"}" >/dev/null 2>&1
"$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "$TANG_CFG" >/dev/null 2>&1
start=$(date +%s)
run_ok "unlock --test with one hanging and one working binding" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
took=$(($(date +%s) - start))
[ $took -le "$(t_isecs 5)" ]
ok $? "... without waiting for the hanging server (${took} s)"
stop_pid "$TANG_A_PID"
start=$(date +%s)
"$NBDE" unlock -d "$IMG" --test --timeout 3 >/dev/null 2>"$TMP/err"
rc=$?
took=$(($(date +%s) - start))
is $rc 1 "unlock with the tang server gone exits 1"
[ $took -le $((3 + $(t_isecs 2))) ]
ok $? "... within its deadline (${took} s of 3 s)"

# Activation through device-mapper is checked where dm-crypt surely exists:
# inside the guests of test/50-vm.t (nbde unlock -n NAME, then mount).
skip "activation is tested by test/50-vm.t inside qemu guests; here only --test"

done_testing
