#!/bin/bash
# 44-luks-hostile.t - metadata an attacker wrote: strings from a clevis token
# reach the terminal escaped (no control character of a JWE header is ever
# printed raw), and a LUKSMeta slot claiming more than 1 MiB is not read
# (a crafted LUKS1 header has room to make nbde allocate up to 4 GiB).
. "$(dirname "$0")/lib.sh"

need cryptsetup luksmeta jq basenc perl
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
"$NBDE" list -h >/dev/null 2>&1 || skip_all "nbde has no LUKS applets"

CLEVIS_UUID=cb6e8904-81ff-40da-a84a-07ab9ab5715e
printf 'old passphrase' >"$TMP/key"
printf 'new passphrase' >"$TMP/key1"

mkimg() { # mkimg TYPE FILE SIZE [ARGS...] : keyslot 0 opens with key, keyslot 1 with key1
	local type=$1 img=$2 size=$3
	shift 3
	truncate -s "$size" "$img" &&
		cryptsetup luksFormat -q --type "$type" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
			--key-file "$TMP/key" "$@" "$img" >/dev/null 2>&1 &&
		cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-slot 1 \
			--key-file "$TMP/key" "$img" "$TMP/key1" >/dev/null 2>&1
}

b64url() { basenc --base64url -w0 | tr -d =; }
compact() { # compact HEADER-JSON : a compact JWE with that protected header (nothing decrypts)
	printf '%s' "$1" | b64url
	printf '..AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA'
}
# no_controls FILE : exit 0 when FILE has no C0 control but newline, no DEL, no C1 (UTF-8 or raw)
no_controls() { perl -ne 'BEGIN { $r = 0 } $r = 1 if /[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|(?<![\xc0-\xff])[\x80-\x9f]/; END { exit $r }' "$1"; }

# ---- control characters from a token ----
# ESC [31m (colour), DEL, U+009B (CSI, a C1 control) in a url; an OSC title sequence as a pin name
EVIL_URL=$'http://127.0.0.1:1/\e[31m\x7f\u009b2J'
EVIL_PIN=$'\e]0;owned\a'
TANG=$(compact "$(jq -cn --arg u "$EVIL_URL" '{alg:"ECDH-ES",enc:"A256GCM",kid:"x",clevis:{pin:"tang",tang:{url:$u,adv:{keys:[]}}}}')")
ODD=$(compact "$(jq -cn --arg p "$EVIL_PIN" '{alg:"dir",enc:"A256GCM",clevis:{pin:$p}}')")
HDR=$(jq -cn --arg a "$TANG" --arg b "$ODD" \
	'{alg:"dir",enc:"A256GCM",clevis:{pin:"sss",sss:{jwe:[$a,$b],p:"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",t:1}}}')
JWE=$(compact "$HDR")
IMG=$TMP/luks2.img
if mkimg luks2 "$IMG" 32M; then
	jq -cn --arg p "$(printf '%s' "$HDR" | b64url)" \
		'{type:"clevis",keyslots:["1"],jwe:{protected:$p,encrypted_key:"",iv:"AAAAAAAAAAAAAAAA",ciphertext:"AA",tag:"AAAAAAAAAAAAAAAAAAAAAA"}}' |
		cryptsetup token import --token-id 0 "$IMG"
	ok $? "a crafted clevis token is imported for keyslot 1"
	"$NBDE" list -d "$IMG" >"$TMP/list" 2>&1
	grep -q '^1: sss ' "$TMP/list" && no_controls "$TMP/list"
	ok $? "nbde list shows the binding without a control character"
	[ $? -eq 0 ] || od -c "$TMP/list" | head -5 | sed 's/^/# /'
	grep -qF '\u001b[31m\x7f\xc2\x9b2J' "$TMP/list"
	ok $? "  and the url with ESC, DEL and CSI escaped"
	"$NBDE" list -d "$IMG" -p >"$TMP/list" 2>&1
	grep -qF '1: \x1b]0;owned\x07 sss tang' "$TMP/list" && no_controls "$TMP/list"
	ok $? "nbde list -p shows the pin names, an OSC sequence escaped"
	[ $? -eq 0 ] || od -c "$TMP/list" | head -5 | sed 's/^/# /'
else
	skip "cannot make a LUKS2 image here"
	skip "cannot make a LUKS2 image here"
	skip "cannot make a LUKS2 image here"
	skip "cannot make a LUKS2 image here"
fi
printf '%s' "$JWE" | "$NBDE" decrypt --timeout $((5 * ${TEST_SLOWDOWN:-1})) >/dev/null 2>"$TMP/err"
[ $? -ne 0 ] && grep -qF "Unable to locate pin '\\x1b]0;owned\\x07'" "$TMP/err" && no_controls "$TMP/err"
ok $? "nbde decrypt names the odd pin escaped, no control character in its messages"
[ $? -eq 0 ] || od -c "$TMP/err" | head -5 | sed 's/^/# /'

# ---- a LUKSMeta slot larger than 1 MiB ----
# LUKS1 with its data at 72 MiB leaves a ~70 MiB hole for LUKSMeta; luksmeta
# (the tool) stores 48 MiB in clevis's slot 1. nbde reads at most 1 MiB.
BIG=$((48 * 1024 * 1024))
IMG=$TMP/luks1.img
if mkimg luks1 "$IMG" 80M --offset $((72 * 2048)) && luksmeta init -f -d "$IMG" >/dev/null 2>&1 &&
	head -c "$BIG" /dev/zero | tr '\0' j | luksmeta save -d "$IMG" -s 1 -u "$CLEVIS_UUID" 2>/dev/null; then
	ok 0 "luksmeta stored $BIG bytes in keyslot 1's LUKSMeta slot"
	if command -v /usr/bin/time >/dev/null; then
		/usr/bin/time -f %M -o "$TMP/rss" "$NBDE" list -d "$IMG" >"$TMP/out" 2>"$TMP/err"
		rss=$(tail -n 1 "$TMP/rss")
		# nbde list needs a few MiB; reading the slot would take 96 MiB (data and its copy)
		[ "$rss" -lt $((16 * 1024)) ] && ! grep -q '^1:' "$TMP/out"
		ok $? "nbde list does not read the 48 MiB slot (peak RSS ${rss} KiB, bound 16 MiB)"
	else
		skip "/usr/bin/time (GNU time) is not installed"
	fi
else
	skip "cannot make a LUKS1 image with a 70 MiB LUKSMeta hole here"
	skip "cannot make a LUKS1 image with a 70 MiB LUKSMeta hole here"
fi
done_testing
