#!/usr/bin/env bash
# 29-race.t - the slot race (cmd/volume/slot_race.c: every bound keyslot's
# JWE decrypted at once, the first passphrase that opens its keyslot wins)
# under the sanitizer build with LeakSanitizer on, through the applets that
# use it: askpass retrying round after round against a tang server that
# lost the key (each round was one leaked race with its JWE copies, issue
# 17), unlock finding nothing, unlock leaving a mute server's decryption
# behind after another binding opened, recovery-key finding its binding.
. "$(dirname "$0")/lib.sh"
need cryptsetup socat
: "${SAN:=$PWD/build/san}"
[ -x "$SAN/nbde" ] || skip_all "the sanitizer build is not there ($SAN/nbde; make sanitize)"
[ "$(id -u)" = 0 ] || skip_all "askpass answers only root's ask files: needs root"

export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

# clean NAME: the sanitizer said nothing on NAME's stderr ($TMP/NAME.err)
clean() {
	! grep -qE 'LeakSanitizer|AddressSanitizer|runtime error' "$TMP/$1.err"
	ok $? "$1: no sanitizer report (leaks checked at exit)"
	[ $? -eq 0 ] || grep -E 'SUMMARY|Direct leak|ERROR' "$TMP/$1.err" | head -20 | sed 's/^/# /' >&2
}

printf 'old-pass' >"$TMP/key"
IMG=$TMP/v.img
luks_image luks2 "$IMG" "$TMP/key" || skip_all "cryptsetup luksFormat failed"

# A tang server that lost the bindings' key: every /rec is a 404, so each
# decryption fails at once and askpass starts round after round (a dead
# port would not do: the client retries a refused connection until the
# deadline, one round). bind takes the advertisement of the lost key set.
mkdir -p "$TMP/lost" "$TMP/db" && "$NBDE" tangd-keygen "$TMP/lost" >/dev/null && "$NBDE" tangd-keygen "$TMP/db" >/dev/null
printf 'GET /adv HTTP/1.0\r\n\r\n' | "$NBDE" tangd "$TMP/lost" 2>/dev/null | sed '1,/^\r$/d' >"$TMP/adv.jws"
tang_start "$TMP/db" || skip_all "tang-server did not start"
cfg="{\"url\":\"$TANG_URL\",\"adv\":\"$TMP/adv.jws\"}"
for _ in 1 2; do
	"$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "$cfg" >/dev/null
done
"$NBDE" bind -y -d "$IMG" -k "$TMP/key" sss "{\"t\":1,\"pins\":{\"tang\":[$cfg]}}" >/dev/null
is "$("$NBDE" list -d "$IMG" | wc -l)" 3 "three bindings to a server without their key (two tang, one sss)"

# 1. askpass: one scan, one prompt, round after round until its deadline
tmo=$(t_isecs 6)
mkdir -p "$TMP/ask"
socat -u UNIX-RECV:"$TMP/ask/sck" OPEN:"$TMP/got",creat &
T_PIDS+=($!)
wait_until 5 test -S "$TMP/ask/sck"
printf '[Ask]\nPID=%s\nSocket=%s\nNotAfter=0\nId=cryptsetup:%s\n' $$ "$TMP/ask/sck" "$IMG" >"$TMP/ask/.tmp" &&
	mv "$TMP/ask/.tmp" "$TMP/ask/ask.a"
"$SAN/nbde" askpass -p "$TMP/ask" --timeout "$tmo" 2>"$TMP/askpass.err"
is "$?" 0 "askpass: gives the prompt up and exits 0"
grep -q "no clevis binding recovered its passphrase within ${tmo}s" "$TMP/askpass.err"
ok $? "askpass: says why it gave up"
# three /rec requests a round, a second's pause between rounds
recs=$(grep -c 'POST /rec/.* => 404' "$TMP/tang-server.log")
[ "$recs" -ge 9 ]
ok $? "askpass: retried round after round until its deadline ($recs requests, 3 a round)"
is "$(grep -c 'HTTP status 404' "$TMP/askpass.err")" 3 "askpass: only the first round talks"
[ ! -s "$TMP/got" ]
ok $? "askpass: no answer sent"
clean askpass

# 2. unlock, nothing opens: same words as before
"$SAN/nbde" unlock -d "$IMG" --test --timeout 2 2>"$TMP/unlock-dead.err"
is "$?" 1 "unlock: no binding decrypts -> exit 1"
grep -q "no clevis binding could be decrypted within 2s" "$TMP/unlock-dead.err"
ok $? "unlock: says none could be decrypted"
clean unlock-dead

# 3. unlock with a mute server (accepts, never answers) in one slot and a
# null binding in another: the null one opens at once and unlock leaves
# while the mute slot's thread still waits; that thread frees the race
socat_start "SYSTEM:cat >/dev/null"	# reads the request, never answers
"$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "{\"url\":\"http://127.0.0.1:$SOCAT_PORT\",\"adv\":\"$TMP/adv.jws\"}" >/dev/null
"$NBDE" bind -d "$IMG" -k "$TMP/key" null '{}' >/dev/null
t0=$SECONDS
"$SAN/nbde" unlock -d "$IMG" --test --timeout 30 2>"$TMP/unlock-mute.err"
rc=$?
took=$((SECONDS - t0))
is "$rc" 0 "unlock: the null binding opens while a tang server never answers"
[ $took -lt 20 ]
ok $? "unlock: does not wait for the mute server (took ${took}s of its 30 s)"
clean unlock-mute

# 4. recovery-key finds the binding that opens among failing and mute ones
"$SAN/nbde" recovery-key -d "$IMG" -k "$TMP/key" --dry-run >"$TMP/rk.out" 2>"$TMP/rk.err"
is "$?" 0 "recovery-key --dry-run: a binding opens among failing and mute ones"
grep -q "the binding in keyslot 5 stays" "$TMP/rk.out"
ok $? "recovery-key: names the null binding's keyslot"
[ $? -eq 0 ] || sed 's/^/# /' "$TMP/rk.out" >&2
mv "$TMP/rk.err" "$TMP/recovery-key.err"
clean recovery-key

# 5. the caller lives on after it left the race: askpass -l answers the
# volume at once (null binding) while the mute server's decryption still
# waits, then stays for a prompt that is not a volume's; the cancelled
# thread ends meanwhile and frees the race, under ASan, before askpass exits
rm -f "$TMP/ask/"ask.*
socat -u UNIX-RECV:"$TMP/ask/sck2" OPEN:"$TMP/got2",creat &
T_PIDS+=($!)
wait_until 5 test -S "$TMP/ask/sck2"
printf '[Ask]\nPID=%s\nSocket=%s\nNotAfter=0\nId=other:not a volume\n' $$ "$TMP/ask/sck2" >"$TMP/ask/.tmp" &&
	mv "$TMP/ask/.tmp" "$TMP/ask/ask.other"
printf '[Ask]\nPID=%s\nSocket=%s\nNotAfter=0\nId=cryptsetup:%s\n' $$ "$TMP/ask/sck2" "$IMG" >"$TMP/ask/.tmp" &&
	mv "$TMP/ask/.tmp" "$TMP/ask/ask.b"
"$SAN/nbde" askpass -l -p "$TMP/ask" --timeout 30 2>"$TMP/askpass-stays.err" &
agent=$!
T_PIDS+=("$agent")
wait_until 20 test -s "$TMP/got2"
tail -c +2 "$TMP/got2" >"$TMP/got2.pass"
cryptsetup open --test-passphrase --key-file "$TMP/got2.pass" "$IMG" 2>/dev/null
ok $? "askpass -l: answers with the null binding while the mute server never answers"
threads() { ls "/proc/$agent/task" 2>/dev/null | wc -l; }
wait_until 10 eval '[ "$(threads)" -eq 1 ]'
ok $? "askpass -l: the abandoned decryption ends while askpass still runs ($(threads) thread(s) left)"
rm -f "$TMP/ask/ask.other" "$TMP/ask/ask.b"
wait_until 10 eval '! kill -0 $agent 2>/dev/null'
wait $agent
is "$?" 0 "askpass -l: exits 0 once no prompt is left"
clean askpass-stays

done_testing
