#!/usr/bin/env bash
# 49-edit.t - `nbde edit` and `clevis luks edit` (nbde's clevis command
# line) on LUKS1 and LUKS2 images: the binding gets the new configuration,
# the keyslot and its passphrase stay as they are, the volume still unlocks,
# Debian's clevis reads the result; refused edits leave the image
# byte-identical, a failure inside the transaction restores it. Also: clevis
# luks unlock -t, every row of README's table of clevis 22's options, bind
# -e TOKEN through a kernel keyring token (keyctl), and the one-line
# "retrying until the deadline" notice on a terminal (script(1)).
. "$(dirname "$0")/lib.sh"

need cryptsetup clevis jose luksmeta socat cmp
[ -x /usr/libexec/tangd ] || skip_all "tangd is not installed (/usr/libexec/tangd)"
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"

printf 'edit-test-passphrase' >"$TMP/key"
tangd_keys "$TMP/tang-A" && tangd_start "$TMP/tang-A" || skip_all "cannot start tangd through socat"
URL_A=$TANGD_URL
mkdir -p "$TMP/tang-B" && "$NBDE" tangd-keygen "$TMP/tang-B" >/dev/null && tang_start "$TMP/tang-B" ||
	skip_all "cannot start nbde tang-server"
URL_B=$TANG_URL
DEAD_URL="http://127.0.0.1:$(free_port)"	# nothing listens there
CFG_A="{\"url\":\"$URL_A\"}"
CFG_B="{\"url\":\"$URL_B\"}"

# The keyslots' and digests' salts and the clevis token ids: what edit
# must leave alone.
keyslots() { cryptsetup luksDump "$1" | grep -Ei 'salt|^ +[0-9]+: (luks2|pbkdf2|clevis)|Key Slot'; }
clevis_pass() { clevis luks pass -d "$1" -s "$2" </dev/null 2>/dev/null; }

for TYPE in luks1 luks2; do
	IMG="$TMP/$TYPE.img"
	luks_image "$TYPE" "$IMG" "$TMP/key"
	run_ok "$TYPE: nbde bind -y tang A" "$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "$CFG_A"
	P=$(clevis_pass "$IMG" 1)
	SLOTS=$(keyslots "$IMG")

	run_ok "$TYPE: nbde edit -c with server B" "$NBDE" edit -d "$IMG" -s 1 -c "$CFG_B"
	is "$(clevis luks list -d "$IMG" 2>&1)" "1: tang '$CFG_B'" "$TYPE: clevis 19's luks list shows the new config only"
	is "$(clevis_pass "$IMG" 1)" "$P" "$TYPE: the binding holds the same passphrase"
	is "$(keyslots "$IMG")" "$SLOTS" "$TYPE: keyslots, digests and token ids unchanged"
	run_ok "$TYPE: nbde unlock --test opens with the new binding" \
		"$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"

	cp "$IMG" "$TMP/before.img"
	"$NBDE" edit -d "$IMG" -s 1 -c "$CFG_B" >/dev/null 2>"$TMP/err"
	rc=$?
	is "$rc:$(cat "$TMP/err")" "1:nbde edit: No changes detected; exiting" "$TYPE: an unchanged config is refused"
	cmp -s "$IMG" "$TMP/before.img"
	ok $? "$TYPE: ... and the image is byte-identical"
	"$NBDE" edit -d "$IMG" -s 1 -c "{\"url\":\"$DEAD_URL\"}" >/dev/null 2>"$TMP/err"
	rc=$?
	ok "$([ "$rc" = 1 ] && [ -s "$TMP/err" ]; echo $?)" "$TYPE: a config whose server is down fails with a message"
	cmp -s "$IMG" "$TMP/before.img"
	ok $? "$TYPE: ... and the image is byte-identical"
	"$NBDE" edit -d "$IMG" -s 0 -c "$CFG_A" >/dev/null 2>"$TMP/err"
	rc=$?
	is "$rc:$(cat "$TMP/err")" "1:nbde edit: Error retrieving current configuration from $IMG:0" \
		"$TYPE: an unbound keyslot is refused"
	cmp -s "$IMG" "$TMP/before.img"
	ok $? "$TYPE: ... and the image is byte-identical"

	run_ok "$TYPE: clevis luks edit -c back to server A (nbde clevis)" \
		"$NBDE" clevis luks edit -d "$IMG" -s 1 -c "$CFG_A"
	is "$(clevis luks list -d "$IMG" 2>&1)" "1: tang '$CFG_A'" "$TYPE: clevis luks list shows server A again"
	run_ok "$TYPE: clevis luks edit -f keeps an unchanged config" \
		"$NBDE" clevis luks edit -f -d "$IMG" -s 1 -c "$CFG_A"
	is "$(keyslots "$IMG")" "$SLOTS" "$TYPE: keyslots still unchanged"
	is "$(clevis_pass "$IMG" 1)" "$P" "$TYPE: clevis luks pass still gives the same passphrase"
	run_ok "$TYPE: clevis luks unlock -t (peer) opens slot 1" clevis luks unlock -d "$IMG" -t 1

	# the editor form: $EDITOR rewrites the file, stdin answers the question
	printf '#!/bin/sh\nsed -i "s|%s|%s|" "$1"\n' "$URL_A" "$URL_B" >"$TMP/editor"
	chmod +x "$TMP/editor"
	echo y | EDITOR=$TMP/editor "$NBDE" clevis luks edit -d "$IMG" -s 1 >"$TMP/out" 2>"$TMP/err"
	ok $? "$TYPE: clevis luks edit without -c runs \$EDITOR and proceeds on y"
	grep -q "^Pin: tang" "$TMP/out"
	ok $? "$TYPE: ... after showing the pin and the new config"
	is "$(clevis luks list -d "$IMG" 2>&1)" "1: tang '$CFG_B'" "$TYPE: the edited config is bound"
	cp "$IMG" "$TMP/before.img"
	echo n | EDITOR=$TMP/editor-none "$NBDE" clevis luks edit -d "$IMG" -s 1 >/dev/null 2>"$TMP/err"
	ok "$([ $? = 1 ] && grep -q "Editor '.*editor-none' not found" "$TMP/err"; echo $?)" \
		"$TYPE: a missing editor is named"
	printf '#!/bin/sh\necho "{ not json" >"$1"\n' >"$TMP/bad-editor"
	chmod +x "$TMP/bad-editor"
	echo n | EDITOR=$TMP/bad-editor "$NBDE" clevis luks edit -d "$IMG" -s 1 >/dev/null 2>"$TMP/err"
	ok "$([ $? = 1 ] && grep -q "Malformed configuration" "$TMP/err"; echo $?)" \
		"$TYPE: a malformed edit is reported and given up on n"
	cmp -s "$IMG" "$TMP/before.img"
	ok $? "$TYPE: ... and the image is byte-identical"
	run_ok "$TYPE: nbde unlock --test opens after all edits" \
		"$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"

	# a failure inside the transaction: the old JWE is gone, the new one does
	# not fit (64 tang children), so the header must be restored byte for byte
	IMG="$TMP/$TYPE-sss.img"
	luks_image "$TYPE" "$IMG" "$TMP/key"
	run_ok "$TYPE: nbde bind sss with one tang" "$NBDE" bind -y -d "$IMG" -k "$TMP/key" sss "{\"t\":1,\"pins\":{\"tang\":[$CFG_A]}}"
	cp "$IMG" "$TMP/before.img"
	BIG="{\"t\":1,\"pins\":{\"tang\":[$CFG_A$(for _ in $(seq 63); do printf ',%s' "$CFG_A"; done)]}}"
	"$NBDE" edit -d "$IMG" -s 1 -c "$BIG" >/dev/null 2>"$TMP/err"
	ok "$([ $? = 1 ] && grep -q "full?" "$TMP/err"; echo $?)" "$TYPE: an edit whose JWE does not fit fails inside the transaction"
	cmp -s "$IMG" "$TMP/before.img"
	ok $? "$TYPE: ... and the header is restored byte for byte"
done

"$NBDE" edit -d "$TMP/luks2.img" -s 1 >/dev/null 2>"$TMP/err"
rc=$?
ok "$([ $rc = 2 ] && grep -q -- "-c CFG is required" "$TMP/err"; echo $?)" "nbde edit without -c is a usage error"
"$NBDE" clevis luks edit -d "$TMP/luks2.img" -s 1 -c '{"url":' >/dev/null 2>"$TMP/err"
is "$?:$(cat "$TMP/err")" "1:clevis: Invalid configuration given as parameter with -c" "malformed -c is refused"
is "$("$NBDE" clevis-luks-edit --summary)" "Edit a binding from a clevis-bound slot in a LUKS device" \
	"clevis-luks-edit --summary as clevis"

run_ok "clevis luks unlock -t 1 (nbde clevis) tests keyslot 1's binding" \
	"$NBDE" clevis luks unlock -d "$TMP/luks2.img" -t 1
"$NBDE" clevis luks unlock -d "$TMP/luks2.img" -t 0 >/dev/null 2>"$TMP/err"
is "$?:$(cat "$TMP/err")" "4:clevis: $TMP/luks2.img: keyslot 0 has no clevis binding" \
	"clevis luks unlock -t on an unbound keyslot"

# --- README's table of clevis 22's options: every example is run (DEV a file
# that is not LUKS); an accepted option must not be a usage error, a refused
# one must fail with one line on stderr naming it ---
clevis() { "$NBDE" clevis "$@"; }
truncate -s 1M "$TMP/notluks.img"
ROWS=$(sed -n '/^<!-- clevis-options:/,/^$/p' "$TEST_DIR/../README.md" | grep -E '^\| (luks|encrypt|decrypt)')
ok "$([ "$(wc -l <<<"$ROWS")" -ge 30 ]; echo $?)" "README's clevis option table has its rows"
while IFS= read -r row; do
	verdict=$(awk -F' [|] ' '{ print $3 }' <<<"$row")
	example=$(awk -F' [|] ' '{ print $4 }' <<<"$row" | sed 's/^`//; s/` |$//')
	cmdline=${example//DEV/$TMP/notluks.img}
	(eval "$cmdline") </dev/null >/dev/null 2>"$TMP/err"
	rc=$?
	case $verdict in
	refused*)
		name=$(sed -n 's/.*names `\([^`]*\)`.*/\1/p' <<<"$verdict")
		ok "$([ $rc != 0 ] && [ -n "$name" ] && [ "$(wc -l <"$TMP/err")" = 1 ] &&
			grep -qF -- "$name" "$TMP/err"; echo $?)" "table: $example is refused naming $name"
		;;
	*)
		ok "$([ $rc != 2 ] && ! grep -qi 'usage\|unknown option\|unsupported' "$TMP/err"; echo $?)" \
			"table: $example is accepted"
		;;
	esac
done <<<"$ROWS"
unset -f clevis

# --- bind -e TOKEN: the existing passphrase from the kernel keyring through a
# LUKS2 luks2-keyring token (clevis 19+), each run in a fresh session keyring ---
# in_session CMD... : CMD in a new session keyring; keyctl's "Joined session
# keyring" line dropped, CMD's stderr kept on fd 3
in_session() { keyctl session - "$@" 3>&2 2>/dev/null; }
if ! command -v keyctl >/dev/null; then
	skip "keyctl (Debian's keyutils) is not installed"
elif ! in_session true; then
	skip "no kernel keyring here (keyctl session fails)"
else
	DESC="nbde-test-$$-$RANDOM"
	IMG="$TMP/keyring.img"
	luks_image luks2 "$IMG" "$TMP/key"
	cryptsetup token add --key-description "$DESC" --key-slot 0 "$IMG" 2>>"$TMP/err"
	ok $? "cryptsetup token add --key-description (token 0)"
	with_key() { # with_key CMD... : CMD with the passphrase under DESC in its session keyring
		in_session sh -c 'keyctl padd user "$0" @s <"$1" >/dev/null && shift && exec "$@" 2>&3' \
			"$DESC" "$TMP/key" "$@"
	}
	cp "$IMG" "$TMP/before.img"
	"$NBDE" bind -y -e 0 -d "$IMG" tang "$CFG_A" </dev/null >/dev/null 2>"$TMP/err"
	rc=$?
	is "$rc:$(cat "$TMP/err")" "1:nbde bind: $IMG: token 0: the token's key is not in the kernel keyring" \
		"bind -e without the key in the keyring is refused by name"
	"$NBDE" bind -y -e 0 -k "$TMP/key" -d "$IMG" tang "$CFG_A" </dev/null >/dev/null 2>"$TMP/err"
	is "$?:$(cat "$TMP/err")" "1:nbde bind: Cannot specify kernel keyring description together with key file" \
		"bind -e with -k is refused, as clevis"
	with_key "$NBDE" bind -y -e 1 -d "$IMG" tang "$CFG_A" </dev/null >/dev/null 2>"$TMP/err"
	is "$?:$(cat "$TMP/err")" "1:nbde bind: $IMG: token 1: no such token" "bind -e with a free token id is refused"
	cmp -s "$IMG" "$TMP/before.img"
	ok $? "... the image is byte-identical after the refusals"
	run_ok "nbde bind -e 0 takes the passphrase from the kernel keyring" \
		with_key "$NBDE" bind -y -e 0 -d "$IMG" tang "$CFG_A"
	P=$(clevis_pass "$IMG" 1)
	printf '%s' "$P" | cryptsetup open --test-passphrase --key-slot 1 --key-file - "$IMG" 2>/dev/null
	ok $? "the new keyslot 1 opens with the passphrase clevis luks pass decrypts"
	with_key "$NBDE" bind -y -e 1 -d "$IMG" tang "$CFG_B" </dev/null >/dev/null 2>"$TMP/err"
	ok "$([ $? = 1 ] && grep -q "not a kernel keyring token" "$TMP/err"; echo $?)" \
		"bind -e naming the clevis token is refused"
	run_ok "clevis luks bind -e 0 (nbde clevis) binds keyslot 2" \
		with_key "$NBDE" clevis luks bind -y -e 0 -s 2 -d "$IMG" tang "$CFG_B"
	is "$(clevis luks list -d "$IMG" 2>&1)" "1: tang '$CFG_A'
2: tang '$CFG_B'" "clevis luks list (peer) shows both bindings"
	run_ok "clevis luks bind -e 0 (peer, Debian's clevis) agrees on the same volume" \
		with_key clevis luks bind -y -e 0 -s 3 -d "$IMG" tang "$CFG_A"
	IMG1="$TMP/keyring1.img"
	luks_image luks1 "$IMG1" "$TMP/key"
	with_key "$NBDE" bind -y -e 0 -d "$IMG1" tang "$CFG_A" </dev/null >/dev/null 2>"$TMP/err"
	is "$?:$(cat "$TMP/err")" "1:nbde bind: $IMG1: -e needs a LUKS2 volume" "bind -e on LUKS1 is refused"
fi

# --- a person at a terminal hears once that a refused connection is retried
# until the deadline (script(1) gives the command a pty) ---
if ! command -v script >/dev/null; then
	skip "script (util-linux) is not installed"
	skip "script (util-linux) is not installed"
else
	SSS="{\"t\":1,\"pins\":{\"tang\":[$CFG_B,$CFG_B]}}"
	printf 'secret' | "$NBDE" encrypt sss "$SSS" -y >"$TMP/jwe" 2>>"$TMP/err"
	stop_pid "$TANG_PID"	# server B now refuses connections
	script -qec "'$NBDE' decrypt --timeout $(t_isecs 2) <'$TMP/jwe'" /dev/null </dev/null >"$TMP/out" 2>&1
	is "$(grep -c "retrying until the deadline" "$TMP/out")" 1 \
		"decrypt on a tty: one line says a refused connection is retried until the deadline"
	script -qec "'$NBDE' unlock -d '$TMP/luks2.img' --test --timeout $(t_isecs 2)" /dev/null </dev/null >"$TMP/out" 2>&1
	is "$(grep -c "retrying until the deadline" "$TMP/out")" 1 "unlock --test on a tty: the same line, once"
	"$NBDE" decrypt --timeout "$(t_isecs 2)" <"$TMP/jwe" >/dev/null 2>"$TMP/out"
	is "$(grep -c "retrying until the deadline" "$TMP/out")" 0 "not when stderr is not a terminal"
fi

done_testing
