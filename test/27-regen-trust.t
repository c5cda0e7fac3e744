#!/usr/bin/env bash
# 27-regen-trust.t - what nbde regen trusts after a key rotation. A new
# advertisement is taken without asking only when a signing key of the one
# the old binding stored signed it: unchanged keys sign /adv itself; after a
# rotation tang signs /adv/THP with the rotated key THP names. When the server
# has no old signing key left (/adv/THP is 404) bind's rules apply: no
# terminal and no -y is a refusal that leaves the volume byte-identical. A
# server answering /adv/THP without that key's signature is refused outright,
# on a terminal too. regen runs under setsid (no controlling terminal), or on
# a pty from script(1) where the prompt is tested.
. "$(dirname "$0")/lib.sh"

need cryptsetup jose curl socat setsid cmp
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
"$NBDE" regen -h >/dev/null 2>&1 || skip_all "nbde has no regen applet"

printf 'old passphrase' >"$TMP/key"

# regen IMG [ARGS...] : nbde regen -q of keyslot ${SLOT:-1} without a terminal; sets RC, ERR
regen() {
	local img=$1
	shift
	setsid -w "$NBDE" regen -q -d "$img" -s "${SLOT:-1}" -k "$TMP/key" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	ERR=$(cat "$TMP/err")
}
# sig_thps DIR : S256 thumbprints of the visible signing keys of a key directory
sig_thps() {
	local f
	for f in "$1"/*.jwk; do
		grep -q '"sign"' "$f" || continue	# key_ops of a signing key; exchange keys have deriveKey
		jose jwk thp -i "$f" -a S256
		echo
	done
}
# http_status URL : the status code of a GET
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time "$(t_isecs 10)" "$1"; }
# on_tty CMD... : CMD on a pty from script(1), stdin typed into it; all output in $TMP/out
on_tty() { script -qec "$(printf '%q ' "$@")" /dev/null >"$TMP/out" 2>&1; }
unlocks() { "$NBDE" unlock -d "$1" --test --timeout "$(t_isecs 10)" >/dev/null 2>&1; }
reported() { "$NBDE" report -q -d "$1" -s "${SLOT:-1}" </dev/null >/dev/null 2>&1; } # 0: no rotated key in the binding

DB=$TMP/keys
mkdir -p "$DB" && "$NBDE" tangd-keygen "$DB" >/dev/null 2>&1 || skip_all "nbde tangd-keygen failed"
tang_start "$DB" || skip_all "cannot start nbde tang-server"
URL=$TANG_URL

for TYPE in luks1 luks2; do
	IMG=$TMP/$TYPE.img
	luks_image "$TYPE" "$IMG" "$TMP/key" || skip_all "cryptsetup luksFormat failed"
	"$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "{\"url\":\"$URL\"}" >/dev/null 2>&1
	ok $? "$TYPE: bind to the tang server (keyslot 1)"
	# an sss of that server and a null pin: each tang child carries its own stored advertisement
	"$NBDE" bind -y -d "$IMG" -k "$TMP/key" sss "{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$URL\"}],\"null\":{}}}" \
		>/dev/null 2>&1
	ok $? "$TYPE: bind an sss with the tang server (keyslot 2)"

	regen "$IMG"
	is "$RC" 0 "$TYPE: regen with unchanged keys, no terminal, no -y: the stored signing key signed /adv"
	OLD=$(sig_thps "$DB")
	"$NBDE" tangd-rotate-keys -d "$DB" >/dev/null 2>&1
	ok $? "$TYPE: rotate the keys (nbde tangd-rotate-keys)"
	is "$(http_status "$URL/adv/$OLD")" 200 "$TYPE: ... the old signing key still signs /adv/$OLD"
	reported "$IMG"
	is $? 1 "$TYPE: report sees the rotated keys"

	regen "$IMG"
	is "$RC" 0 "$TYPE: regen after the rotation, no terminal, no -y: the old key vouches for the new advertisement"
	grep -q "signed by the old signing key $OLD" <<<"$ERR"
	ok $? "$TYPE: ... saying which old key vouched"
	[ "$RC" = 0 ] || diag "$ERR"
	reported "$IMG"
	is $? 0 "$TYPE: ... the binding now holds the server's new keys"
	unlocks "$IMG"
	ok $? "$TYPE: ... and unlocks"
	SLOT=2 regen "$IMG"
	is "$RC" 0 "$TYPE: regen of the sss binding after the rotation, no terminal, no -y"
	grep -q "signed by the old signing key $OLD" <<<"$ERR"
	ok $? "$TYPE: ... the old key vouched for its tang child"
	SLOT=2 reported "$IMG"
	is $? 0 "$TYPE: ... which now holds the server's new keys"
	"$NBDE" unbind -f -d "$IMG" -s 2 >/dev/null 2>&1
	ok $? "$TYPE: unbind the sss keyslot"
done

# The key directory replaced entirely: no old key left, /adv/THP is 404.
NEWER=$(sig_thps "$DB")	# the keys the luks2 binding stores now
rm -f "$DB"/*.jwk "$DB"/.*.jwk
"$NBDE" tangd-keygen "$DB" >/dev/null 2>&1
ok $? "replace the key directory with new keys only"
wait_until 10 eval '[ "$(http_status "$URL/adv/$NEWER")" = 404 ]'
is "$(http_status "$URL/adv/$NEWER")" 404 "... the server no longer signs /adv/$NEWER"
cp "$IMG" "$TMP/before.img"
regen "$IMG"
is "$RC" 1 "regen with no old key left, no terminal, no -y: refused"
grep -q "no signing key of the stored advertisement is left" <<<"$ERR" && grep -q "no terminal" <<<"$ERR"
ok $? "... saying no old key vouches and there is no terminal to ask"
cmp -s "$IMG" "$TMP/before.img"
ok $? "... the volume is byte-identical"
# with a terminal (a pty from script(1)) bind's prompt asks; "n" declines
if command -v script >/dev/null; then
	printf 'n\n' | on_tty "$NBDE" regen -q -d "$IMG" -s 1 -k "$TMP/key"
	is $? 1 "regen with no old key left, on a terminal, answered n: refused"
	grep -q "Do you wish to trust these keys?" "$TMP/out"
	ok $? "... after bind's trust prompt"
	cmp -s "$IMG" "$TMP/before.img"
	ok $? "... the volume is byte-identical"
else
	skip "script(1) is not installed: no pty to test the prompt"
fi
regen "$IMG" -y
is "$RC" 0 "regen -y trusts the new advertisement (what clevis luks regen does)"
unlocks "$IMG"
ok $? "... and the binding unlocks"

# A server that answers /adv/THP of the old key with an advertisement that key
# did not sign: a canned reply for every request (socat), first server B's
# advertisement (bound), then server C's (signed by C's keys only).
mkdir -p "$TMP/keys-b" "$TMP/keys-c"
"$NBDE" tangd-keygen "$TMP/keys-b" >/dev/null 2>&1 && "$NBDE" tangd-keygen "$TMP/keys-c" >/dev/null 2>&1
ok $? "two more key directories"
tang_start "$TMP/keys-b" && curl -sf --max-time "$(t_isecs 10)" -o "$TMP/adv-b" "$TANG_URL/adv"
ok $? "server B's advertisement"
tang_start "$TMP/keys-c" && curl -sf --max-time "$(t_isecs 10)" -o "$TMP/adv-c" "$TANG_URL/adv"
ok $? "server C's advertisement"
cat >"$TMP/fake.sh" <<'EOF'
#!/usr/bin/env bash
# one HTTP exchange: logs the request line, answers the canned advertisement
IFS= read -r line
printf '%s\n' "${line%$'\r'}" >>"$FAKE_DIR/fake.log"
while IFS= read -r h && [ -n "${h%$'\r'}" ]; do :; done
body=$(cat "$FAKE_DIR/canned")
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/jose+json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
	"${#body}" "$body"
EOF
chmod +x "$TMP/fake.sh"
cp "$TMP/adv-b" "$TMP/canned"
socat_start EXEC:"env FAKE_DIR=$TMP $TMP/fake.sh" || skip_all "cannot start socat"
FAKE_URL=http://127.0.0.1:$SOCAT_PORT
FAKE=$TMP/fake.img
luks_image luks2 "$FAKE" "$TMP/key"
"$NBDE" bind -y -d "$FAKE" -k "$TMP/key" tang "{\"url\":\"$FAKE_URL\"}" >/dev/null 2>&1
ok $? "bind to the canned server (B's advertisement)"
B_SIG=$(sig_thps "$TMP/keys-b")
cp "$TMP/adv-c" "$TMP/canned"
: >"$TMP/fake.log"
cp "$FAKE" "$TMP/before.img"
regen "$FAKE"
is "$RC" 1 "regen when /adv/THP of the old key is not signed by it: refused"
grep -q "not signed by that old signing key" <<<"$ERR"
ok $? "... saying the old key did not sign it"
grep -qx "GET /adv/$B_SIG HTTP/1.1" "$TMP/fake.log"
ok $? "... after asking for /adv/$B_SIG"
cmp -s "$FAKE" "$TMP/before.img"
ok $? "... the volume is byte-identical"
if command -v script >/dev/null; then
	printf 'y\n' | on_tty "$NBDE" regen -q -d "$FAKE" -s 1 -k "$TMP/key"
	is $? 1 "... on a terminal too: refused without a prompt to say y to"
	grep -q "Do you wish to trust" "$TMP/out"
	is $? 1 "... (no trust prompt)"
	cmp -s "$FAKE" "$TMP/before.img"
	ok $? "... the volume is byte-identical"
else
	skip "script(1) is not installed: no pty"
fi

done_testing
