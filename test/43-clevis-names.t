#!/usr/bin/env bash
# 43-clevis-names.t - nbde called by clevis's per-command executable names
# (symlinks in a temp dir): clevis-encrypt-tang CFG [-y], clevis-decrypt,
# clevis-luks-bind ... take clevis's arguments and give clevis's results.
# The JWEs and bindings are checked with the real clevis where it is
# installed; the server is nbde tang-server on 127.0.0.1.
. "$(dirname "$0")/lib.sh"

need cryptsetup
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
"$NBDE" report -h >/dev/null 2>&1 || skip_all "nbde has no report applet"

BIN="$TMP/bin"
mkdir -p "$BIN"
NAMES="clevis-decrypt clevis-decrypt-tang clevis-decrypt-sss clevis-decrypt-null clevis-encrypt-tang
clevis-encrypt-sss clevis-encrypt-null clevis-luks-bind clevis-luks-list clevis-luks-unbind
clevis-luks-unlock clevis-luks-pass clevis-luks-regen clevis-luks-report"
for n in $NAMES; do ln -s "$NBDE" "$BIN/$n"; done

mkdir -p "$TMP/keys"
"$NBDE" tangd-keygen "$TMP/keys" >/dev/null 2>&1
tang_start "$TMP/keys" -q || skip_all "cannot start nbde tang-server"
CFG="{\"url\":\"$TANG_URL\"}"
HAVE_CLEVIS=0
command -v clevis >/dev/null && HAVE_CLEVIS=1

# --- pins ---
JWE=$(printf 'secret' | "$BIN/clevis-encrypt-tang" "$CFG" -y 2>"$TMP/err")
ok $? "clevis-encrypt-tang CFG -y"
is "$(printf '%s' "$JWE" | "$BIN/clevis-decrypt")" secret "clevis-decrypt decrypts it"
is "$(printf '%s' "$JWE" | "$BIN/clevis-decrypt-tang")" secret "clevis-decrypt-tang decrypts it"
if [ $HAVE_CLEVIS = 1 ]; then
	is "$(printf '%s' "$JWE" | clevis decrypt 2>/dev/null)" secret "clevis decrypt (peer) decrypts it"
	P=$(printf 'other' | clevis encrypt tang "$CFG" -y 2>/dev/null)
	is "$(printf '%s' "$P" | "$BIN/clevis-decrypt")" other "clevis-decrypt decrypts the peer's JWE"
else
	skip "clevis is not installed"
	skip "clevis is not installed"
fi
SSS="{\"t\":1,\"pins\":{\"tang\":[$CFG]}}"
JWE=$(printf 'shared' | "$BIN/clevis-encrypt-sss" "$SSS" -y 2>/dev/null)
is "$(printf '%s' "$JWE" | "$BIN/clevis-decrypt-sss")" shared "clevis-encrypt-sss / clevis-decrypt-sss"
JWE=$(printf 'nothing' | "$BIN/clevis-encrypt-null" '{}' 2>/dev/null)
is "$(printf '%s' "$JWE" | "$BIN/clevis-decrypt-null")" nothing "clevis-encrypt-null / clevis-decrypt-null"
printf 'x' | "$BIN/clevis-encrypt-tang" '{"url":' -y >/dev/null 2>&1
[ $? -eq 1 ]
ok $? "clevis-encrypt-tang with a malformed config fails (exit 1)"

# --- summaries, as clevis's top level asks each executable ---
is "$("$BIN/clevis-luks-bind" --summary)" "Binds a LUKS device using the specified policy" "clevis-luks-bind --summary"
is "$("$BIN/clevis-encrypt-tang" --summary)" "Encrypts using a Tang binding server policy" "clevis-encrypt-tang --summary"
is "$("$BIN/clevis-luks-report" --summary)" "Report tang keys' rotations" "clevis-luks-report --summary"
"$BIN/clevis-decrypt-tang" --summary >/dev/null 2>&1
is $? 1 "clevis-decrypt-tang --summary fails (hidden, as clevis's decrypt pins)"

# --- LUKS ---
printf 'old passphrase' >"$TMP/key"
IMG="$TMP/luks2.img"
luks_image luks2 "$IMG" "$TMP/key" || skip_all "cannot make a LUKS2 image"
run_ok "clevis-luks-bind -y -d IMG -k KEY tang CFG" "$BIN/clevis-luks-bind" -y -d "$IMG" -k "$TMP/key" tang "$CFG"
is "$("$BIN/clevis-luks-list" -d "$IMG")" "1: tang '$CFG'" "clevis-luks-list -d IMG"
is "$("$BIN/clevis-luks-list" -d "$IMG" -s 1 -p)" "1: tang" "clevis-luks-list -d IMG -s 1 -p"
# `nbde NAME` works as well as the symlink
is "$("$NBDE" clevis-luks-list -d "$IMG")" "1: tang '$CFG'" "nbde clevis-luks-list -d IMG"
P=$("$BIN/clevis-luks-pass" -d "$IMG" -s 1)
printf '%s' "$P" | cryptsetup open --test-passphrase --key-slot 1 --key-file - "$IMG" 2>/dev/null
ok $? "clevis-luks-pass prints the passphrase of keyslot 1"
if [ $HAVE_CLEVIS = 1 ]; then
	is "$(clevis luks pass -d "$IMG" -s 1 2>/dev/null)" "$P" "clevis luks pass (peer) agrees"
else
	skip "clevis is not installed"
fi
run_ok "clevis-luks-unlock -d IMG --test" "$BIN/clevis-luks-unlock" -d "$IMG" --test --timeout "$(t_isecs 10)"
run_ok "clevis-luks-report -d IMG -s 1 (nothing rotated)" "$BIN/clevis-luks-report" -d "$IMG" -s 1
run_ok "clevis-luks-regen -q -d IMG -s 1" "$BIN/clevis-luks-regen" -q -d "$IMG" -s 1
[ "$("$BIN/clevis-luks-pass" -d "$IMG" -s 1)" != "$P" ]
ok $? "... with a new passphrase"
run_ok "clevis-luks-unbind -f -d IMG -s 1" "$BIN/clevis-luks-unbind" -f -d "$IMG" -s 1
"$BIN/clevis-luks-list" -d "$IMG" -s 1 >"$TMP/out" 2>/dev/null
is "$?:$(cat "$TMP/out")" "1:" "the binding is gone"
"$BIN/clevis-luks-bind" -d "$IMG" >/dev/null 2>&1
is $? 2 "clevis-luks-bind without PIN and CFG is a usage error (exit 2)"

done_testing
