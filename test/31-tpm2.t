#!/usr/bin/env bash
# 31-tpm2.t - the tpm2 pin against a software TPM (swtpm on a unix socket,
# reached through TPM2TOOLS_TCTI=swtpm:path=...) and Debian's clevis-tpm2
# (clevis 19 + tpm2-tools 5), both ways: clevis encrypt -> nbde decrypt and
# nbde encrypt -> clevis decrypt for the config variants, the objects nbde
# makes compared field by field with clevis's, PCR policies, tampered and
# foreign tokens, swtpm over TCP, sss of tang and tpm2 (its children's TPM
# conversations one at a time), LUKS bindings both ways with list, report,
# regen and edit, and the boot hooks adding the TPM drivers. A boot with a
# swtpm-backed qemu TPM (/dev/tpmrm0 itself) is test/53-vm-tpm2.t.
. "$(dirname "$0")/lib.sh"

need swtpm tpm2_createprimary tpm2_flushcontext tpm2_pcrextend tpm2_pcrread clevis jose cryptsetup od
[ -x /usr/bin/clevis-encrypt-tpm2 ] || skip_all "clevis-tpm2 is not installed"
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
: "${SAN:=$PWD/build/san}"

swtpm_start main || { echo "Bail out! cannot start swtpm"; exit 255; }
MAIN_TCTI=$TPM2TOOLS_TCTI MAIN_SOCK=$SWTPM_SOCK
PT='tpm2 secret: 123 ~!@#$%^&*()'
ZERO32=0000000000000000000000000000000000000000000000000000000000000000

# clevis 19 leaves policy sessions and, after a failure, objects loaded; a
# TPM without resource manager (swtpm) has room for three. Flushed after
# every peer command.
tpm_clean() {
	tpm2_flushcontext -t && tpm2_flushcontext -l && tpm2_flushcontext -s
} >/dev/null 2>&1

# Handles left in the TPM (transient objects, loaded sessions): none after nbde.
tpm_leftovers() {
	{ tpm2_getcap handles-transient; tpm2_getcap handles-loaded-session; } 2>/dev/null | tr -d '\n'
}

clevis_enc() { clevis encrypt tpm2 "$1" 2>>"$TMP/err"; local rc=$?; tpm_clean; return $rc; }
clevis_dec() { clevis decrypt 2>>"$TMP/err"; local rc=$?; tpm_clean; return $rc; }

b64u_hex() { # b64u_hex TEXT : base64url (no padding) decoded, as lower-case hex
	local s=$1
	while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
	printf '%s' "$s" | tr '_-' '/+' | base64 -d | od -An -v -tx1 | tr -d ' \n'
}

b64u_enc() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

header() { # header JWE : the protected header, decoded
	printf '%s' "${1%%.*}" | jose b64 dec -i-
}

tpm2_field() { # tpm2_field JWE NAME : clevis.tpm2.NAME of the header
	header "$1" | jose fmt -j- -Og clevis -g tpm2 -g "$2" -u- 2>/dev/null
}

# The start of TPM2B_PUBLIC up to the end of authPolicy: type, nameAlg,
# attributes and policy digest (unique, the sealed data's hash, differs).
pub_head() {
	local h
	h=$(b64u_hex "$(tpm2_field "$1" jwk_pub)")
	local plen=$((16#${h:20:4}))
	printf '%s' "${h:0:$((24 + 2 * plen))}"
}

# ---- both ways, for each config ----

both_ways() { # both_ways CFG : clevis -> nbde, nbde -> clevis, same object shape
	local cfg=$1 j c
	j=$(printf '%s' "$PT" | "$NBDE" encrypt tpm2 "$cfg" 2>>"$TMP/err")
	ok $? "$cfg: nbde encrypt" || return
	is "$(printf '%s' "$j" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "$cfg: nbde decrypt of nbde's"
	is "$(printf '%s' "$j" | clevis_dec)" "$PT" "$cfg: clevis decrypt of nbde's"
	c=$(printf '%s' "$PT" | clevis_enc "$cfg")
	ok $? "$cfg: clevis encrypt (peer)" || return
	is "$(printf '%s' "$c" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "$cfg: nbde decrypt of clevis's"
	local f want= got=
	for f in hash key pcr_bank pcr_ids; do
		want="$want $f=$(tpm2_field "$c" $f)"
		got="$got $f=$(tpm2_field "$j" $f)"
	done
	is "$got" "$want" "$cfg: header fields as clevis writes them"
	is "$(pub_head "$j")" "$(pub_head "$c")" "$cfg: sealed object type, name hash, attributes, policy as clevis's"
	is "$(tpm_leftovers)" "" "$cfg: nbde leaves nothing loaded in the TPM"
}

tpm_clean
both_ways '{}'
both_ways '{"key":"rsa"}'
both_ways '{"hash":"sha1"}'
both_ways '{"hash":"sha384","key":"rsa"}'
both_ways '{"pcr_ids":"0,7"}'
both_ways '{"pcr_bank":"sha256","pcr_ids":"0, 7"}'
both_ways '{"pcr_bank":"sha256","pcr_ids":[1,7]}'
both_ways '{"pcr_bank":"sha384","pcr_ids":["7","16"],"key":"rsa"}'

# this swtpm has every bank; the first, sha1, is clevis's default too
J=$(printf x | "$NBDE" encrypt tpm2 '{"pcr_ids":"7"}')
is "$(tpm2_field "$J" pcr_bank)" sha1 "without pcr_bank the first bank with PCRs is used"

# clevis 19 unseals in a session of its own hash (sha256) whatever "hash" says
# (its decrypt fails on its own tokens), so for another hash with PCRs only
# clevis -> nbde and nbde -> nbde can be checked
for cfg in '{"hash":"sha384","pcr_bank":"sha256","pcr_ids":"7"}' '{"hash":"sha512","pcr_bank":"sha512","pcr_ids":"0,2"}' \
	'{"hash":"sha1","pcr_bank":"sha1","pcr_ids":"23"}'; do
	C=$(printf '%s' "$PT" | clevis_enc "$cfg")
	is "$(printf '%s' "$C" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "$cfg: nbde decrypt of clevis's"
	J=$(printf '%s' "$PT" | "$NBDE" encrypt tpm2 "$cfg")
	is "$(printf '%s' "$J" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "$cfg: nbde decrypt of nbde's"
	is "$(pub_head "$J")" "$(pub_head "$C")" "$cfg: the same policy digest as clevis's"
done

# clevis's per-pin executables, as names of nbde
ln -s "$NBDE" "$TMP/clevis-encrypt-tpm2" && ln -s "$NBDE" "$TMP/clevis-decrypt-tpm2"
is "$(printf '%s' "$PT" | "$TMP/clevis-encrypt-tpm2" '{"pcr_ids":"7"}' | "$TMP/clevis-decrypt-tpm2")" "$PT" \
	"nbde as clevis-encrypt-tpm2 and clevis-decrypt-tpm2"
is "$("$TMP/clevis-encrypt-tpm2" --summary)" "$(clevis-encrypt-tpm2 --summary)" "clevis-encrypt-tpm2 --summary as clevis"

# binary plaintext
head -c 3000 /dev/urandom >"$TMP/bin"
"$NBDE" encrypt tpm2 '{"pcr_ids":"7"}' <"$TMP/bin" | clevis_dec >"$TMP/bin.out"
cmp -s "$TMP/bin" "$TMP/bin.out"
ok $? "binary plaintext: nbde encrypt, clevis decrypt"

# ---- pcr_digest ----

PCR16=$(tpm2_pcrread sha256:16 -o "$TMP/pcr16.bin" >/dev/null 2>&1 && b64u_enc <"$TMP/pcr16.bin")
for enc in nbde clevis; do
	cfg="{\"pcr_bank\":\"sha256\",\"pcr_ids\":\"16\",\"pcr_digest\":\"$PCR16\"}"
	if [ $enc = nbde ]; then J=$(printf '%s' "$PT" | "$NBDE" encrypt tpm2 "$cfg"); else J=$(printf '%s' "$PT" | clevis_enc "$cfg"); fi
	is "$(printf '%s' "$J" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "pcr_digest of the current value ($enc encrypt): nbde decrypts"
	is "$(tpm2_field "$J" pcr_digest)" "" "pcr_digest is not stored in the header ($enc)"
	other=$(printf '%064x' 1 | sed 's/../\\x&/g' | xargs -0 printf '%b' | b64u_enc)
	cfg="{\"pcr_bank\":\"sha256\",\"pcr_ids\":\"16\",\"pcr_digest\":\"$other\"}"
	if [ $enc = nbde ]; then J=$(printf '%s' "$PT" | "$NBDE" encrypt tpm2 "$cfg"); else J=$(printf '%s' "$PT" | clevis_enc "$cfg"); fi
	printf '%s' "$J" | "$NBDE" decrypt >"$TMP/out" 2>"$TMP/msg"
	rc=$?
	[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q 'PCR values changed since the binding' "$TMP/msg" &&
		[ "$(wc -l <"$TMP/msg")" -eq 1 ]
	ok $? "sealed to other PCR values ($enc encrypt): nbde decrypt fails naming the PCR change" ||
		diag "$(cat "$TMP/msg")"
done
printf x | "$NBDE" encrypt tpm2 '{"pcr_bank":"sha256","pcr_ids":"16,17","pcr_digest":"AAAA"}' >/dev/null 2>"$TMP/msg"
[ $? -ne 0 ] && grep -q 'pcr_digest has 3 bytes' "$TMP/msg"
ok $? "a pcr_digest of the wrong length is refused"

# ---- PCR policy: extend, and decrypt fails ----

for enc in nbde clevis; do
	if [ $enc = nbde ]; then
		J=$(printf '%s' "$PT" | "$NBDE" encrypt tpm2 '{"pcr_bank":"sha256","pcr_ids":"7,16"}')
	else
		J=$(printf '%s' "$PT" | clevis_enc '{"pcr_bank":"sha256","pcr_ids":"7,16"}')
	fi
	is "$(printf '%s' "$J" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "PCR 7,16 policy ($enc encrypt): decrypts before the extend"
	tpm2_pcrextend "16:sha256=$ZERO32" >/dev/null 2>&1
	printf '%s' "$J" | "$NBDE" decrypt >"$TMP/out" 2>"$TMP/msg"
	rc=$?
	[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l <"$TMP/msg")" -eq 1 ] &&
		grep -q 'PCR values changed since the binding' "$TMP/msg"
	ok $? "PCR 16 extended ($enc encrypt): decrypt fails with 'PCR values changed since the binding'" ||
		diag "exit $rc: $(cat "$TMP/msg")"
	is "$(tpm_leftovers)" "" "after a policy failure nothing stays loaded"
done

# ---- bad tokens ----

J=$(printf '%s' "$PT" | "$NBDE" encrypt tpm2 '{"pcr_bank":"sha256","pcr_ids":"7"}')
HDR=$(header "$J")
REST=${J#*.}
retoken() { # retoken HEADER-JSON : the token with that protected header
	printf '%s.%s' "$(printf '%s' "$1" | b64u_enc)" "$REST"
}
flip() { # flip FIELD OFFSET : header with one bit of the decoded field flipped
	local h
	h=$(b64u_hex "$(tpm2_field "$J" "$1")")
	local byte=$((16#${h:$((2 * $2)):2} ^ 1))
	h=${h:0:$((2 * $2))}$(printf '%02x' $byte)${h:$((2 * $2 + 2))}
	local v
	v=$(printf '%s' "$h" | sed 's/../\\x&/g' | xargs -0 printf '%b' | b64u_enc)
	printf '%s' "$HDR" | jose fmt -j- -Og clevis -g tpm2 -q "$v" -s "$1" -UUUo- 2>/dev/null
}
fails_cleanly() { # fails_cleanly DESCRIPTION PATTERN TOKEN : nbde (and the sanitizer build) refuse it in one line
	local bin rc
	for bin in "$NBDE" "$SAN/nbde"; do
		[ -x "$bin" ] || continue
		printf '%s' "$3" | ASAN_OPTIONS=detect_leaks=1 "$bin" decrypt >"$TMP/out" 2>"$TMP/msg"
		rc=$?
		[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l <"$TMP/msg")" -eq 1 ] && grep -qE "$2" "$TMP/msg" ||
			{ ok 1 "$1 (${bin##*/build/})"; diag "exit $rc: $(head -c 600 "$TMP/msg")"; return; }
	done
	ok 0 "$1"
}
for off in 3 11 40; do
	fails_cleanly "jwk_pub with byte $off flipped fails cleanly" 'tpm2 pin: ' "$(retoken "$(flip jwk_pub $off)")"
done
for off in 5 40 100; do
	fails_cleanly "jwk_priv with byte $off flipped fails cleanly" 'tpm2 pin: ' "$(retoken "$(flip jwk_priv $off)")"
done
fails_cleanly "jwk_pub with a wrong size field is refused" 'invalid jwk_pub' "$(retoken "$(flip jwk_pub 1)")"
fails_cleanly "jwk_pub not base64url is refused" 'invalid jwk_pub' \
	"$(retoken "$(printf '%s' "$HDR" | jose fmt -j- -Og clevis -g tpm2 -q 'a+b/' -s jwk_pub -UUUo-)")"
fails_cleanly "a token without jwk_priv is refused" "missing required 'jwk_priv'" \
	"$(retoken "$(printf '%s' "$HDR" | jose fmt -j- -Og clevis -g tpm2 -d jwk_priv -UUo-)")"
fails_cleanly "an unknown pcr_bank is refused" 'invalid pcr_ids or pcr_bank' \
	"$(retoken "$(printf '%s' "$HDR" | jose fmt -j- -Og clevis -g tpm2 -q md5 -s pcr_bank -UUUo-)")"
fails_cleanly "a tpm2plus token (clevis-pin-tpm2) is refused by name" 'tpm2plus tokens .* not supported' \
	"$(retoken "$(printf '%s' "$HDR" | jose fmt -j- -Og clevis -q tpm2plus -s pin -UUo-)")"
is "$(tpm_leftovers)" "" "after the refused tokens nothing stays loaded"

# ---- another TPM ----

swtpm_start other || { echo "Bail out! cannot start a second swtpm"; exit 255; }
OTHER=$(printf '%s' "$PT" | "$NBDE" encrypt tpm2 '{"pcr_ids":"7"}')
OTHER_C=$(printf '%s' "$PT" | clevis_enc '{}')
swtpm_stop
export TPM2TOOLS_TCTI=$MAIN_TCTI
fails_cleanly "a token from another TPM (nbde's) fails naming it" 'another TPM' "$OTHER"
fails_cleanly "a token from another TPM (clevis's) fails naming it" 'another TPM' "$OTHER_C"

# ---- swtpm over TCP (127.0.0.1) ----

if PORT=$(free_port) && mkdir -p "$TMP/swtpm-tcp" &&
	{ swtpm socket --tpm2 --tpmstate dir="$TMP/swtpm-tcp" --server type=tcp,port="$PORT",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((PORT + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
		>>"$TMP/swtpm.log" 2>&1 & } && T_PIDS+=($!) && TCP_PID=$! && wait_port "$PORT" &&
	owns_port "$TCP_PID" "$PORT"; then
	TCP=swtpm:host=127.0.0.1,port=$PORT
	JT=$(printf '%s' "$PT" | TPM2TOOLS_TCTI=$TCP "$NBDE" encrypt tpm2 '{"pcr_bank":"sha256","pcr_ids":"7"}')
	is "$(printf '%s' "$JT" | TPM2TOOLS_TCTI=$TCP "$NBDE" decrypt 2>>"$TMP/err")" "$PT" \
		"TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=P: nbde encrypts and decrypts"
	is "$(printf '%s' "$JT" | TPM2TOOLS_TCTI=$TCP clevis decrypt 2>>"$TMP/err")" "$PT" \
		"swtpm over TCP: clevis decrypts nbde's token"
	stop_pid "$TCP_PID"
else
	skip "swtpm did not listen on a TCP port"
	skip "swtpm did not listen on a TCP port"
fi

# ---- the sanitizer build on the success paths (leaks, overflows) ----

if [ -x "$SAN/nbde" ]; then
	JT=$(printf '%s' "$PT" | ASAN_OPTIONS=detect_leaks=1 "$SAN/nbde" encrypt sss \
		'{"t":2,"pins":{"tpm2":[{"pcr_bank":"sha256","pcr_ids":"0,7"},{"key":"rsa","hash":"sha384"}]}}' 2>"$TMP/msg")
	ok $? "asan+ubsan build: sss of two tpm2 children encrypts" || diag "$(head -c 600 "$TMP/msg")"
	is "$(printf '%s' "$JT" | ASAN_OPTIONS=detect_leaks=1 "$SAN/nbde" decrypt 2>"$TMP/msg")" "$PT" \
		"asan+ubsan build: and decrypts, nothing reported" || diag "$(head -c 600 "$TMP/msg")"
else
	skip "no sanitizer build at $SAN"
	skip "no sanitizer build at $SAN"
fi

# ---- no TPM ----

TPM2TOOLS_TCTI=swtpm:path=$TMP/none fails_cleanly "no swtpm on the socket: says so" 'cannot reach swtpm' "$J"
TPM2TOOLS_TCTI=device:$TMP/none fails_cleanly "a missing device: says so" "cannot open the TPM $TMP/none" "$J"
TPM2TOOLS_TCTI=mssim:host=127.0.0.1 fails_cleanly "an unsupported TCTI: says so" 'only device:PATH and swtpm' "$J"
TPM2TOOLS_TCTI=device:/dev/null fails_cleanly "a device that is no TPM: says so" 'is it a TPM' "$J"
TPM2TOOLS_TCTI=device:$TMP/bin fails_cleanly "a plain file as the device: says so" 'not a TPM character device' "$J"
printf x | TPM2TOOLS_TCTI=swtpm:path=$TMP/none "$NBDE" encrypt tpm2 '{}' >"$TMP/out" 2>"$TMP/msg"
[ $? -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q 'cannot reach swtpm' "$TMP/msg"
ok $? "encrypt without a TPM fails in one line"

# ---- sss of tang and tpm2 ----

tangd_keys "$TMP/tang" && tang_start "$TMP/tang" || { echo "Bail out! cannot start tang"; exit 255; }
SSS="{\"t\":2,\"pins\":{\"tang\":[{\"url\":\"$TANG_URL\"}],\"tpm2\":{\"pcr_ids\":\"7\"}}}"
J=$(printf '%s' "$PT" | "$NBDE" encrypt sss "$SSS" -y 2>>"$TMP/err")
is "$(printf '%s' "$J" | clevis_dec)" "$PT" "sss(t=2) of tang and tpm2: nbde encrypt, clevis decrypt"
C=$(printf '%s' "$PT" | clevis encrypt sss "$SSS" -y 2>>"$TMP/err"; tpm_clean)
is "$(printf '%s' "$C" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "sss(t=2) of tang and tpm2: clevis encrypt, nbde decrypt"
stop_pid "$TANG_PID"
printf '%s' "$C" | "$NBDE" decrypt --timeout "$(t_isecs 5)" >"$TMP/out" 2>"$TMP/msg"
[ $? -ne 0 ] && [ ! -s "$TMP/out" ]
ok $? "sss(t=2) with the tang server down does not decrypt"
ONE="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$TANG_URL\"}],\"tpm2\":{}}}"
# encrypted while tang is down needs its advertisement: from the first binding
tang_start "$TMP/tang" && ONE="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$TANG_URL\"}],\"tpm2\":{}}}" &&
	J=$(printf '%s' "$PT" | "$NBDE" encrypt sss "$ONE" -y 2>>"$TMP/err")
stop_pid "$TANG_PID"
is "$(printf '%s' "$J" | "$NBDE" decrypt --timeout "$(t_isecs 20)" 2>>"$TMP/err")" "$PT" \
	"sss(t=1) of a dead tang and tpm2: the TPM alone decrypts"

# three tpm2 children decrypted at once share the one TPM: serialised in the process
THREE='{"t":3,"pins":{"tpm2":[{"pcr_ids":"7"},{"key":"rsa"},{"pcr_bank":"sha256","pcr_ids":"0,7"}]}}'
J=$(printf '%s' "$PT" | "$NBDE" encrypt sss "$THREE" 2>>"$TMP/err")
ok $? "sss of three tpm2 children: nbde encrypt"
all=1
for _ in 1 2 3; do
	[ "$(printf '%s' "$J" | "$NBDE" decrypt 2>>"$TMP/err")" = "$PT" ] || all=0
done
[ $all = 1 ]
ok $? "sss of three tpm2 children (t=3): nbde decrypts, three times in a row"
# swtpm queues connections itself, so the proof is in the system calls: at
# most one connection to the TPM is open at any time
if command -v strace >/dev/null; then
	printf '%s' "$J" | strace -f -e trace=connect,close -o "$TMP/strace" "$NBDE" decrypt >/dev/null 2>>"$TMP/err"
	is "$(awk -v sock="$MAIN_SOCK" '
		/connect\(/ && index($0, "sun_path=\"" sock "\"") && match($0, /connect\([0-9]+/) {
			fd[$1 " " substr($0, RSTART + 8, RLENGTH - 8)] = 1; if (++n > max) max = n; total++ }
		/close\(/ && match($0, /close\([0-9]+/) && (($1 " " substr($0, RSTART + 6, RLENGTH - 6)) in fd) {
			delete fd[$1 " " substr($0, RSTART + 6, RLENGTH - 6)]; n-- }
		END { print total + 0, max + 0 }' "$TMP/strace")" "3 1" \
		"the three tpm2 children talk to the TPM one after the other (3 connections, never 2 at once)"
else
	skip "strace is not installed"
fi
is "$(tpm_leftovers)" "" "after the sss children nothing stays loaded"

# ---- LUKS ----

printf '%s' 'luks test passphrase' >"$TMP/key"
opens_with() { printf '%s' "$3" | cryptsetup open --test-passphrase --key-slot "$2" --key-file - "$1" 2>/dev/null; }
for TYPE in luks1 luks2; do
	IMG=$TMP/$TYPE.img
	luks_image "$TYPE" "$IMG" "$TMP/key" || { ok 1 "$TYPE: image"; continue; }
	clevis luks bind -y -d "$IMG" -k "$TMP/key" tpm2 '{"pcr_bank":"sha256","pcr_ids":"7"}' </dev/null >/dev/null 2>>"$TMP/err"
	ok $? "$TYPE: clevis luks bind tpm2 (peer)"
	tpm_clean
	run_ok "$TYPE: nbde unlock --test opens the clevis tpm2 binding" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
	is "$("$NBDE" list -d "$IMG")" "$(clevis luks list -d "$IMG" 2>/dev/null)" "$TYPE: nbde list prints what clevis luks list prints"
	run_ok "$TYPE: nbde bind tpm2" "$NBDE" bind -d "$IMG" -k "$TMP/key" tpm2 '{"pcr_ids":[7]}'
	is "$("$NBDE" list -d "$IMG" -s 2)" "2: tpm2 '{\"hash\":\"sha256\",\"key\":\"ecc\",\"pcr_bank\":\"sha1\",\"pcr_ids\":\"7\"}'" \
		"$TYPE: nbde list shows the tpm2 config as clevis does"
	P=$(clevis luks pass -d "$IMG" -s 2 </dev/null 2>>"$TMP/err")
	tpm_clean
	opens_with "$IMG" 2 "$P"
	ok $? "$TYPE: clevis luks pass recovers the passphrase of nbde's tpm2 binding"
	run_ok "$TYPE: nbde unlock -t 2 opens nbde's binding" "$NBDE" unlock -d "$IMG" -t 2 --timeout "$(t_isecs 20)"
	run_ok "$TYPE: nbde report of a tpm2 binding: nothing rotated" "$NBDE" report -q -d "$IMG" -s 2
	# PCR 7 changes (a firmware update): the binding no longer opens until regen re-seals it
	tpm2_pcrextend "7:sha1=0000000000000000000000000000000000000000" >/dev/null 2>&1
	run_fails "$TYPE: after PCR 7 changed, nbde's binding does not open" \
		"$NBDE" unlock -d "$IMG" -t 2 --timeout "$(t_isecs 20)"
	run_ok "$TYPE: nbde regen -k re-seals the tpm2 binding to the current PCRs" \
		"$NBDE" regen -q -d "$IMG" -s 2 -k "$TMP/key"
	run_ok "$TYPE: the regenerated binding opens" "$NBDE" unlock -d "$IMG" -t 2 --timeout "$(t_isecs 20)"
	is "$("$NBDE" list -d "$IMG" -s 2)" "2: tpm2 '{\"hash\":\"sha256\",\"key\":\"ecc\",\"pcr_bank\":\"sha1\",\"pcr_ids\":\"7\"}'" \
		"$TYPE: regen keeps the tpm2 config"
	run_ok "$TYPE: nbde edit gives the tpm2 binding another config" \
		"$NBDE" edit -d "$IMG" -s 2 -c '{"key":"rsa","pcr_bank":"sha256","pcr_ids":"7,16"}'
	is "$("$NBDE" list -d "$IMG" -s 2)" "2: tpm2 '{\"hash\":\"sha256\",\"key\":\"rsa\",\"pcr_bank\":\"sha256\",\"pcr_ids\":\"7,16\"}'" \
		"$TYPE: list shows the edited config"
	P=$(clevis luks pass -d "$IMG" -s 2 </dev/null 2>>"$TMP/err")
	tpm_clean
	opens_with "$IMG" 2 "$P"
	ok $? "$TYPE: clevis luks pass opens the edited binding"
done

# the usual combination, bound by clevis: sss t=1 of tang and tpm2
IMG=$TMP/sss.img
if luks_image luks2 "$IMG" "$TMP/key" && tang_start "$TMP/tang"; then
	SSS="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$TANG_URL\"}],\"tpm2\":{\"pcr_bank\":\"sha256\",\"pcr_ids\":\"0,7\"}}}"
	clevis luks bind -y -d "$IMG" -k "$TMP/key" sss "$SSS" </dev/null >/dev/null 2>>"$TMP/err"
	ok $? "clevis luks bind sss(tang, tpm2) (peer)"
	tpm_clean
	is "$("$NBDE" list -d "$IMG")" "$(clevis luks list -d "$IMG" 2>/dev/null)" \
		"nbde list of an sss(tang, tpm2) binding prints what clevis luks list prints"
	stop_pid "$TANG_PID"
	run_ok "sss(tang, tpm2) with tang down: nbde unlock opens with the TPM alone" \
		"$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
else
	skip "no sss image" && skip "no sss image" && skip "no sss image"
fi

# ---- boot hooks: the dracut module adds the TPM drivers for a tpm2 binding, and no network ----

mkdir -p "$TMP/sysroot/etc" "$TMP/path" && ln -sf "$NBDE" "$TMP/path/nbde"
dracut_module() { # dracut_module CRYPTTAB-SOURCE : what installkernel and depends of 60nbde give
	printf 'vol %s none luks\n' "$1" >"$TMP/sysroot/etc/crypttab"
	PATH="$TMP/path:$PATH" bash -c 'instmods() { echo "instmods $*"; }
		dracutsysrootdir=$1; . "$2"; installkernel; echo "depends $(depends)"' \
		_ "$TMP/sysroot" "$TEST_DIR/../hooks/dracut/60nbde/module-setup.sh" 2>&1 | tr '\n' ' '
}
is "$(dracut_module "$TMP/luks2.img")" "instmods tpm_tis tpm_crb depends crypt " \
	"dracut 60nbde: a tpm2-bound volume brings tpm_tis and tpm_crb, and no network"
truncate -s 1M "$TMP/plain.img"
is "$(dracut_module "$TMP/plain.img")" "depends crypt " "dracut 60nbde: no tpm2 binding, no TPM drivers"

# the initramfs-tools hook, its hook-functions replaced by stubs that say what it adds
itools_hook() { # itools_hook CRYPTTAB-SOURCE
	mkdir -p "$TMP/initrd/cryptroot"
	printf 'vol %s none luks\n' "$1" >"$TMP/initrd/cryptroot/crypttab"
	sed -e 's|^\. /usr/share/initramfs-tools/hook-functions$|copy_exec() { :; }; manual_add_modules() { echo "modules $*"; }|' \
		-e "s|@BINDIR@|$TMP/path|g" "$TEST_DIR/../hooks/initramfs-tools/hooks/nbde" >"$TMP/itools-hook"
	DESTDIR=$TMP/initrd sh "$TMP/itools-hook" 2>&1 | tr '\n' ' '
}
is "$(itools_hook "$TMP/luks2.img")" "modules tpm_tis tpm_crb " \
	"initramfs-tools hook: a tpm2-bound volume brings tpm_tis and tpm_crb"
is "$(itools_hook "$TMP/plain.img")" "" "initramfs-tools hook: no tpm2 binding, no TPM drivers"

done_testing
