#!/usr/bin/env bash
# 33-tpm2pin.t - the tpm2pin pin (TPM + PIN) against a software TPM (swtpm on
# a unix socket, reached through TPM2TOOLS_TCTI): the right PIN decrypts,
# a wrong one fails and moves the TPM's dictionary-attack counter (read
# with tpm2_getcap from the same swtpm), lockout is named, PCR policies,
# the sealed object's attributes and policy against tpm2-tools' own
# computation, clevis refusing the JWE without touching the TPM, the PIN
# typed on a terminal (twice to encrypt, a fixed number of retries to
# decrypt, none that would lock the TPM), what crosses the bus (traced: no
# authValue, no offline-checkable HMAC, no content key in clear), the
# asan+ubsan build, sss of tang and tpm2pin and a LUKS volume with tang and
# tpm2pin bindings (the PIN asked only when tang is down), the PIN from a
# file. The boot (the PIN typed at the console of a swtpm-backed VM) is not
# here.
. "$(dirname "$0")/lib.sh"

need swtpm tpm2_getcap tpm2_dictionarylockout tpm2_pcrextend tpm2_startauthsession tpm2_policypcr \
	tpm2_policyauthvalue tpm2_flushcontext clevis jose cryptsetup od python3 strace
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
: "${SAN:=$PWD/build/san}"

swtpm_start main || { echo "Bail out! cannot start swtpm"; exit 255; }
PT='tpm2pin secret: 123 ~!@#$%^&*()'
PIN='correct horse 4711'
printf '%s\n' "$PIN" >"$TMP/pin"
printf '%s' 'wrong horse 4711' >"$TMP/badpin"
export NBDE_TPM_PIN_FILE=$TMP/pin
ZERO32=0000000000000000000000000000000000000000000000000000000000000000
MAX_TRIES=4

# da_reset and da_counter (test/lib.sh) keep to MAX_TRIES
tpm_leftovers() {
	{ tpm2_getcap handles-transient; tpm2_getcap handles-loaded-session; } 2>/dev/null | tr -d '\n'
}

b64u_hex() { # b64u_hex TEXT : base64url (no padding) decoded, as lower-case hex
	local s=$1
	while [ $((${#s} % 4)) -ne 0 ]; do s="$s="; done
	printf '%s' "$s" | tr '_-' '/+' | base64 -d | od -An -v -tx1 | tr -d ' \n'
}
header() { printf '%s' "${1%%.*}" | jose b64 dec -i-; }
field() { header "$1" | jose fmt -j- -Og clevis -g tpm2pin -g "$2" -u- 2>/dev/null; }

enc() { printf '%s' "$PT" | "$NBDE" encrypt tpm2pin "$1" 2>>"$TMP/err"; }
dec() { printf '%s' "$1" | "$NBDE" decrypt 2>"$TMP/msg"; }

da_reset || { echo "Bail out! cannot set the swtpm's dictionary-attack parameters"; exit 255; }

# ---- the right PIN ----

for cfg in '{}' '{"pcr_bank":"sha256","pcr_ids":"7"}' '{"hash":"sha1","key":"rsa","pcr_ids":[0,7]}' \
	'{"hash":"sha384","pcr_bank":"sha256","pcr_ids":"7"}'; do
	J=$(enc "$cfg")
	ok $? "$cfg: encrypt with the PIN from NBDE_TPM_PIN_FILE" || continue
	is "$(dec "$J")" "$PT" "$cfg: decrypt with the right PIN"
done
is "$(da_counter)" 0 "the right PIN never counts as a failure"
is "$(tpm_leftovers)" "" "nothing stays loaded in the TPM"

J=$(enc '{"pcr_bank":"sha256","pcr_ids":"7"}')
is "$(header "$J" | jose fmt -j- -Og clevis -g pin -u-)" tpm2pin 'header: clevis.pin is "tpm2pin"'
[ -n "$(field "$J" jwk_pub)" ] && [ -n "$(field "$J" jwk_priv)" ] && [ "$(field "$J" pcr_ids)" = 7 ] &&
	[ "$(field "$J" pcr_bank)" = sha256 ] && [ ${#J} -gt 100 ] && [ "$(b64u_hex "$(field "$J" pin_salt)" | wc -c)" -eq 64 ]
ok $? "header: the tpm2 fields (hash, key, jwk_pub, jwk_priv, pcr_bank, pcr_ids) and a 32-byte pin_salt"
! printf '%s' "$J" | grep -q "$PIN" && ! header "$J" | grep -q "$PIN"
ok $? "the PIN is nowhere in the JWE"

# The sealed object: attributes fixedTPM|fixedParent|adminWithPolicy (no noDA,
# no userWithAuth) and the policy PolicyPCR then PolicyAuthValue, as
# tpm2-tools computes it in a trial session.
PUB=$(b64u_hex "$(field "$J" jwk_pub)")
is "${PUB:4:16}" "0008000b00000092" "sealed object: KEYEDHASH, sha256 names, attributes 0x92 (DA-protected, policy only)"
tpm2_startauthsession -S "$TMP/trial.ctx" -g sha256 >/dev/null 2>&1 &&
	tpm2_policypcr -S "$TMP/trial.ctx" -l sha256:7 >/dev/null 2>&1 &&
	tpm2_policyauthvalue -S "$TMP/trial.ctx" -L "$TMP/policy" >/dev/null 2>&1
tpm2_flushcontext "$TMP/trial.ctx" >/dev/null 2>&1
is "${PUB:20:68}" "0020$(od -An -v -tx1 "$TMP/policy" | tr -d ' \n')" \
	"sealed object's policy equals tpm2_policypcr + tpm2_policyauthvalue in a trial session"

# ---- wrong PINs and lockout ----

before=$(da_counter)
printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" decrypt >"$TMP/out" 2>"$TMP/msg"
[ $? -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q "wrong PIN (the TPM counts 1 failed tries; it locks out after $MAX_TRIES)" "$TMP/msg"
ok $? "a wrong PIN fails with the TPM's count of failed tries" || diag "$(cat "$TMP/msg")"
is "$(da_counter)" $((before + 1)) "the wrong PIN moved the TPM's lockout counter by one (tpm2_getcap)"
is "$(wc -l <"$TMP/msg")" 1 "a wrong PIN from a file: one try, one line"

: >"$TMP/empty"
printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/empty "$NBDE" decrypt >/dev/null 2>"$TMP/msg"
[ $? -eq 1 ] && grep -q 'the PIN is empty' "$TMP/msg"
ok $? "an empty PIN file is refused"
printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/nonexistent "$NBDE" decrypt >/dev/null 2>"$TMP/msg"
[ $? -eq 1 ] && grep -q 'cannot read the PIN file' "$TMP/msg"
ok $? "a missing PIN file is named"
is "$(da_counter)" $((before + 1)) "neither touched the TPM's lockout counter"
is "$(dec "$J")" "$PT" "the right PIN still decrypts after a wrong one"

# wrong PINs up to the limit: the last names the lockout, then even the right PIN is refused
da_reset
for _ in $(seq 1 $MAX_TRIES); do
	printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" decrypt >/dev/null 2>"$TMP/msg"
done
grep -q "wrong PIN; the TPM is in dictionary-attack lockout ($MAX_TRIES failed tries of $MAX_TRIES allowed)" "$TMP/msg"
ok $? "the wrong PIN that reaches the limit says the TPM is now in lockout" || diag "$(cat "$TMP/msg")"
is "$(da_counter)" $MAX_TRIES "the counter reached the TPM's limit"
printf '%s' "$J" | "$NBDE" decrypt >"$TMP/out" 2>"$TMP/msg"
[ $? -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q 'the TPM is in dictionary-attack lockout' "$TMP/msg" &&
	! grep -q 'wrong PIN' "$TMP/msg"
ok $? "in lockout the right PIN is refused with a clear message" || diag "$(cat "$TMP/msg")"
da_reset
is "$(dec "$J")" "$PT" "after the lockout is cleared the right PIN decrypts"

# ---- PCR policy ----

J7=$(enc '{"pcr_bank":"sha256","pcr_ids":"7"}')
tpm2_pcrextend 7:sha256=$ZERO32 >/dev/null 2>&1
before=$(da_counter)
printf '%s' "$J7" | "$NBDE" decrypt >"$TMP/out" 2>"$TMP/msg"
[ $? -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q 'PCR values changed since the binding' "$TMP/msg"
ok $? "PCR 7 extended: the right PIN fails with 'PCR values changed since the binding'"
printf '%s' "$J7" | NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" decrypt >/dev/null 2>"$TMP/msg"
grep -q 'PCR values changed since the binding' "$TMP/msg"
ok $? "PCR 7 extended: a wrong PIN fails on the policy too"
is "$(da_counter)" "$before" "a PCR mismatch does not count towards lockout"
is "$(tpm_leftovers)" "" "nothing stays loaded after the failures"

# ---- clevis refuses the JWE without touching the TPM ----

J=$(enc '{}')
before=$(da_counter)
printf '%s' "$J" | strace -f -o "$TMP/strace" -e trace=connect,openat clevis decrypt >"$TMP/out" 2>"$TMP/msg"
rc=$?
[ $rc -ne 0 ] && [ ! -s "$TMP/out" ]
ok $? "clevis decrypt refuses a tpm2pin JWE"
! grep -q "$SWTPM_SOCK" "$TMP/strace" && ! grep -q '/dev/tpm' "$TMP/strace"
ok $? "clevis never connected to the TPM (strace: no connect to the swtpm socket)"
is "$(da_counter)" "$before" "clevis left the TPM's lockout counter alone"
# the same trace on a tpm2 JWE does show the connection (the check above can fail)
JT=$(printf x | "$NBDE" encrypt tpm2 '{}' 2>>"$TMP/err")
printf '%s' "$JT" | strace -f -o "$TMP/strace" -e trace=connect clevis decrypt >/dev/null 2>&1
grep -q "$SWTPM_SOCK" "$TMP/strace"
ok $? "control: clevis decrypt of a tpm2 JWE connects to the swtpm socket under the same trace"
tpm2_flushcontext -t >/dev/null 2>&1; tpm2_flushcontext -s >/dev/null 2>&1

# ---- the PIN on a terminal ----

# pty_run ANSWERS-FILE INPUT-FILE CMD... : runs CMD with a new controlling
# terminal (a pty) and INPUT-FILE as stdin; each time CMD has printed a PIN
# prompt on the terminal and turned its echo off, the next line of
# ANSWERS-FILE is typed. CMD's stderr, then what it wrote on the terminal,
# go to $TMP/msg; exit status CMD's.
pty_run() {
	TIMEOUT=$(t_secs 30) python3 - "$@" 2>"$TMP/msg" <<'EOF'
import os, pty, subprocess, sys, termios, time, select
answers = open(sys.argv[1]).read().split('\n')[:-1]
stdin = open(sys.argv[2], 'rb')
master, slave = pty.openpty()
name = os.ttyname(slave)
def ctty():
    os.setsid()
    os.close(os.open(name, os.O_RDWR))
p = subprocess.Popen(sys.argv[3:], stdin=stdin, stderr=subprocess.PIPE, preexec_fn=ctty)
# the slave stays open here too: once no process holds it the pty hangs up
# and a line typed for the next prompt can be lost
deadline = time.monotonic() + float(os.environ['TIMEOUT'])
err = b''
tty = b''
typed = 0
while time.monotonic() < deadline:
    r, _, _ = select.select([p.stderr, master], [], [], 0.05)
    if p.stderr in r:
        chunk = os.read(p.stderr.fileno(), 4096)
        if not chunk:
            break
        err += chunk
    if master in r:
        try:
            tty += os.read(master, 4096)
        except OSError:
            pass
    prompts = tty.count(b'TPM PIN')
    echo_off = not termios.tcgetattr(master)[3] & termios.ECHO
    if prompts > typed and echo_off and typed < len(answers):
        os.write(master, answers[typed].encode() + b'\n')
        typed += 1
if p.poll() is None:
    p.kill()
    err += b'pty_run: timed out\n'
p.wait()
sys.stderr.buffer.write(err + tty)
sys.exit(p.returncode)
EOF
}

: >"$TMP/none"
printf '%s' "$PT" >"$TMP/pt"
printf '%s\n%s\n' "$PIN" "$PIN" >"$TMP/answers"
NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/pt" "$NBDE" encrypt tpm2pin '{}' >"$TMP/jtty"
ok $? "encrypt asks for the PIN twice on the terminal" || diag "$(cat "$TMP/msg")"
is "$(grep -o 'TPM PIN[^:]*:' "$TMP/msg" | tr '\n' ' ')" "TPM PIN for the new binding: TPM PIN again: " "the two prompts"
is "$(dec "$(cat "$TMP/jtty")")" "$PT" "the PIN typed on the terminal decrypts (from the PIN file)"
printf '%s\n%s\n' "$PIN" "other" >"$TMP/answers"
NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/pt" "$NBDE" encrypt tpm2pin '{}' >"$TMP/out"
[ $? -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q 'the two PINs differ' "$TMP/msg"
ok $? "two different PINs: encrypt refuses"

da_reset
cp "$TMP/jtty" "$TMP/jwe"
printf 'typo\n%s\n' "$PIN" >"$TMP/answers"
out=$(NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/jwe" "$NBDE" decrypt)
is "$out" "$PT" "decrypt on the terminal: a wrong PIN, then the right one"
grep -q 'wrong PIN (the TPM counts 1 failed tries' "$TMP/msg" && [ "$(grep -c 'TPM PIN' "$TMP/msg")" -eq 2 ]
ok $? "the wrong PIN was named with the TPM's count, and asked again" || diag "$(cat "$TMP/msg")"

da_reset
printf 'bad1\nbad2\nbad3\nbad4\nbad5\n' >"$TMP/answers"
NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/jwe" "$NBDE" decrypt >"$TMP/out"
[ $? -eq 1 ] && [ ! -s "$TMP/out" ]
ok $? "three wrong PINs on the terminal: decrypt fails"
is "$(grep -c 'wrong PIN' "$TMP/msg")" 3 "a fixed number of tries: three, then it gives up"
is "$(da_counter)" 3 "the TPM counted exactly three failures (no loop into lockout)"
# with one try left before lockout it stops before spending it
da_reset
printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" decrypt >/dev/null 2>&1
printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" decrypt >/dev/null 2>&1
printf 'bad1\nbad2\nbad3\n' >"$TMP/answers"
NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/jwe" "$NBDE" decrypt >/dev/null
grep -q 'one more wrong PIN would lock the TPM out' "$TMP/msg" && [ "$(da_counter)" -eq 3 ]
ok $? "with one try left before lockout the terminal is not asked again" || diag "$(cat "$TMP/msg")"
setsid -w env NBDE_PROMPT=tty NBDE_TPM_PIN_FILE='' "$NBDE" decrypt <"$TMP/jwe" >/dev/null 2>"$TMP/msg"
[ $? -eq 1 ] && grep -q 'no PIN: no terminal to ask on, and NBDE_TPM_PIN_FILE is not set' "$TMP/msg"
ok $? "no terminal and no PIN file: one line saying so" || diag "$(cat "$TMP/msg")"
da_reset

# ---- what crosses the bus (the swtpm socket, traced) ----

# bus_check TRACE JWE PIN : from an strace -xx of nbde's reads and writes:
# "authValue sent" if the PIN's authValue (KDFa of the PIN and pin_salt)
# appears in a write; then, from the Unseal command's HMAC, its nonces and
# the object's name, "offline guess works" if HMAC(authValue, cpHash ‖
# nonceCaller ‖ nonceTPM ‖ attrs) equals the HMAC sent (what an unsalted
# session allows), "salted" if not; "unparsed" when the trace has no Unseal.
bus_check() {
	python3 - "$@" <<'EOF'
import base64, hashlib, hmac, json, re, struct, sys
trace, jwe, pin = sys.argv[1], sys.argv[2], sys.argv[3].encode()
def b64u(s): return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
hdr = json.loads(b64u(jwe.split('.')[0]))['clevis']['tpm2pin']
salt, pub = b64u(hdr['pin_salt']), b64u(hdr['jwk_pub'])
def kdfa(key, label, u, bits):
    out, i = b'', 1
    while len(out) * 8 < bits:
        out += hmac.new(key, struct.pack('>I', i) + label + b'\0' + u + struct.pack('>I', bits), 'sha256').digest()
        i += 1
    return out[:bits // 8]
auth = kdfa(pin, b'nbde tpm2pin', salt, 256).rstrip(b'\0')
events = []
for line in open(trace):
    m = re.match(r'^(?:\d+ +)?(read|write)\(\d+, "((?:\\x[0-9a-f]{2})*)"', line)
    if m:
        events.append((m.group(1), bytes.fromhex(m.group(2).replace('\\x', ''))))
if any(e[0] == 'write' and auth in e[1] for e in events):
    print('authValue sent')
pairs, i = [], 0	# each command with the reads after it joined: its response
while i < len(events):
    if events[i][0] == 'write' and len(events[i][1]) >= 10 and events[i][1][:2] in (b'\x80\x01', b'\x80\x02'):
        cmd, resp, j = events[i][1], b'', i + 1
        while j < len(events) and events[j][0] == 'read':
            resp += events[j][1]
            j += 1
        pairs.append((cmd, resp))
        i = j
    else:
        i += 1
nonce_tpm = None
for cmd, resp in pairs:
    cc = struct.unpack('>I', cmd[6:10])[0]
    if cc == 0x176 and len(resp) > 16:
        n = struct.unpack('>H', resp[14:16])[0]
        nonce_tpm = resp[16:16 + n]
    if cc == 0x15E and nonce_tpm:
        p = 22	# header, item handle, authorizationSize, session handle
        n = struct.unpack('>H', cmd[p:p + 2])[0]; nonce_caller = cmd[p + 2:p + 2 + n]; p += 2 + n
        attrs = cmd[p:p + 1]; p += 1
        n = struct.unpack('>H', cmd[p:p + 2])[0]; sent = cmd[p + 2:p + 2 + n]
        name = pub[4:6] + hashlib.sha256(pub[2:]).digest()
        cp = hashlib.sha256(struct.pack('>I', 0x15E) + name).digest()
        guess = hmac.new(auth, cp + nonce_caller + nonce_tpm + attrs, 'sha256').digest()
        print('offline guess works' if guess == sent else 'salted' if len(sent) == 32 else 'unparsed')
        sys.exit(0)
print('unparsed')
EOF
}

J=$(enc '{}')
printf '%s' "$PT" | strace -f -xx -s 8192 -e trace=read,write -o "$TMP/bus-enc" \
	"$NBDE" encrypt tpm2pin '{}' >"$TMP/jbus" 2>>"$TMP/err"
is "$(bus_check "$TMP/bus-enc" "$(cat "$TMP/jbus")" "$PIN")" "unparsed" \
	"at encrypt the authValue does not cross the bus (Create's sensitive part encrypted by a salted session)"
grep -q 'write(.*\\x80\\x02\(\\x[0-9a-f][0-9a-f]\)\{4\}\\x00\\x00\\x01\\x53' "$TMP/bus-enc"
ok $? "(the trace holds the Create command)"
! grep -qF '\x22\x6b\x74\x79\x22' "$TMP/bus-enc"
ok $? "at encrypt the content key's JWK does not cross the bus in clear either"
printf '%s' "$J" | strace -f -xx -s 8192 -e trace=read,write -o "$TMP/bus-dec" "$NBDE" decrypt >"$TMP/out" 2>>"$TMP/err"
is "$(cat "$TMP/out")" "$PT" "decrypt under strace"
is "$(bus_check "$TMP/bus-dec" "$J" "$PIN")" "salted" \
	"at decrypt neither the authValue nor an HMAC checkable against PIN guesses crosses the bus (salted session)"
KTY='\x22\x6b\x74\x79\x22'	# "kty", in the content key's JWK text
! grep -qF "$KTY" "$TMP/bus-dec"
ok $? "at decrypt the unsealed content key does not cross the bus in clear (the response is encrypted)"
JT=$(printf x | "$NBDE" encrypt tpm2 '{}' 2>>"$TMP/err")
printf '%s' "$JT" | strace -f -xx -s 8192 -e trace=read,write -o "$TMP/bus-tpm2" "$NBDE" decrypt >/dev/null 2>>"$TMP/err"
grep -qF "$KTY" "$TMP/bus-tpm2"
ok $? "control: the tpm2 pin's unsealed key does cross the bus in clear (as clevis's), and the check sees it"

# ---- the asan+ubsan build: right and wrong PIN, no leak, no undefined behaviour ----

if [ -x "$SAN/nbde" ]; then
	export ASAN_OPTIONS=detect_leaks=1
	J=$(printf '%s' "$PT" | "$SAN/nbde" encrypt tpm2pin '{"pcr_bank":"sha256","pcr_ids":"7"}' 2>"$TMP/msg")
	ok $? "asan+ubsan build: encrypt" || diag "$(head -c 600 "$TMP/msg")"
	is "$(printf '%s' "$J" | "$SAN/nbde" decrypt 2>"$TMP/msg")" "$PT" "asan+ubsan build: decrypt with the right PIN" ||
		diag "$(head -c 600 "$TMP/msg")"
	printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/badpin "$SAN/nbde" decrypt >/dev/null 2>"$TMP/msg"
	[ $? -eq 1 ] && grep -q 'wrong PIN' "$TMP/msg" && ! grep -q 'Sanitizer' "$TMP/msg"
	ok $? "asan+ubsan build: a wrong PIN fails cleanly" || diag "$(head -c 600 "$TMP/msg")"
	unset ASAN_OPTIONS
	da_reset
else
	skip "no asan+ubsan build at $SAN (make sanitize)"
fi

# ---- sss of a dead tang and tpm2pin ----

if tangd_keys "$TMP/tang" && tang_start "$TMP/tang"; then
	ONE="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$TANG_URL\"}],\"tpm2pin\":{\"pcr_ids\":\"7\",\"pcr_bank\":\"sha256\"}}}"
	J=$(printf '%s' "$PT" | "$NBDE" encrypt sss "$ONE" -y 2>>"$TMP/err")
	ok $? "sss(t=1) of tang and tpm2pin: encrypt"
	printf '%s' "$J" >"$TMP/jsss"
	: >"$TMP/answers"
	before=$(da_counter)
	out=$(NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/jsss" "$NBDE" decrypt)
	is "$out" "$PT" "sss(t=1) of a live tang and tpm2pin on a terminal: tang decrypts"
	! grep -q 'TPM PIN' "$TMP/msg"
	ok $? "... and no PIN is asked while the network can decrypt" || diag "$(cat "$TMP/msg")"
	printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" decrypt >/dev/null 2>&1
	is "$(da_counter)" "$before" "... nor a PIN file's wrong PIN tried on the TPM"
	stop_pid "$TANG_PID"
	printf '%s\n' "$PIN" >"$TMP/answers"
	out=$(NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/jsss" "$NBDE" decrypt --timeout "$(t_isecs 20)")
	is "$out" "$PT" "sss(t=1) of a dead tang and tpm2pin on a terminal: the PIN is asked and decrypts" ||
		diag "$(cat "$TMP/msg")"
	is "$(printf '%s' "$J" | "$NBDE" decrypt --timeout "$(t_isecs 20)" 2>>"$TMP/err")" "$PT" \
		"sss(t=1) of a dead tang and tpm2pin: the TPM and the PIN decrypt"
	before=$(da_counter)
	printf '%s' "$J" | NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" decrypt --timeout "$(t_isecs 20)" >"$TMP/out" 2>"$TMP/msg"
	[ $? -ne 0 ] && [ ! -s "$TMP/out" ] && grep -q 'wrong PIN' "$TMP/msg"
	ok $? "sss(t=1) of a dead tang and tpm2pin with a wrong PIN: fails, naming the wrong PIN"
	is "$(da_counter)" $((before + 1)) "one wrong PIN, one failure counted"
else
	skip "cannot start tang"
fi
da_reset

# ---- LUKS ----

printf '%s' 'luks test passphrase' >"$TMP/key"
IMG=$TMP/luks2.img
if luks_image luks2 "$IMG" "$TMP/key"; then
	run_ok "nbde bind tpm2pin with the PIN from NBDE_TPM_PIN_FILE" \
		"$NBDE" bind -d "$IMG" -k "$TMP/key" tpm2pin '{"pcr_bank":"sha256","pcr_ids":"7"}'
	"$NBDE" list -d "$IMG" >"$TMP/list" 2>>"$TMP/err"
	grep -q '^1: tpm2pin .*"pcr_ids":"7"' "$TMP/list"
	ok $? "nbde list shows the tpm2pin binding and its config" || diag "$(cat "$TMP/list")"
	run_ok "nbde unlock --test opens it with the PIN file" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
	before=$(da_counter)
	NBDE_TPM_PIN_FILE=$TMP/badpin "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)" >/dev/null 2>"$TMP/msg"
	[ $? -ne 0 ] && grep -q 'wrong PIN' "$TMP/msg"
	ok $? "nbde unlock with a wrong PIN file fails, naming the wrong PIN" || diag "$(cat "$TMP/msg")"
	is "$(da_counter)" $((before + 1)) "the unlock's wrong PIN counted once"
	"$NBDE" pass -d "$IMG" -s 1 2>>"$TMP/err" | cryptsetup open --test-passphrase --key-file - "$IMG" 2>>"$TMP/err"
	ok $? "nbde pass gives, with the PIN, a passphrase that opens the volume"
	# PCR 7 changes: the binding no longer opens until regen re-seals it (with a new PIN prompt or file)
	tpm2_pcrextend 7:sha256=$ZERO32 >/dev/null 2>&1
	run_fails "after PCR 7 changed, the tpm2pin binding does not open" \
		"$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
	run_ok "nbde regen -q -k re-seals the tpm2pin binding, the PIN from the file" \
		"$NBDE" regen -q -d "$IMG" -s 1 -k "$TMP/key"
	run_ok "the regenerated binding opens with the PIN" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
	# a tang binding beside it: unlock asks for the PIN only when tang cannot open the volume
	if [ -d "$TMP/tang" ] && tang_start "$TMP/tang"; then
		run_ok "nbde bind tang beside the tpm2pin binding" \
			"$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "{\"url\":\"$TANG_URL\"}"
		: >"$TMP/answers"
		: >"$TMP/none"
		before=$(da_counter)
		NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/none" "$NBDE" unlock -d "$IMG" --test \
			--timeout "$(t_isecs 20)" >/dev/null
		ok $? "unlock on a terminal with tang up opens the volume" || diag "$(cat "$TMP/msg")"
		! grep -q 'TPM PIN' "$TMP/msg" && [ "$(da_counter)" = "$before" ]
		ok $? "... without asking for the PIN or touching the TPM's lockout counter" || diag "$(cat "$TMP/msg")"
		stop_pid "$TANG_PID"
		printf '%s\n' "$PIN" >"$TMP/answers"
		NBDE_TPM_PIN_FILE='' pty_run "$TMP/answers" "$TMP/none" "$NBDE" unlock -d "$IMG" --test \
			--timeout "$(t_isecs 20)" >/dev/null
		ok $? "unlock on a terminal with tang down: the PIN is asked and opens the volume" ||
			diag "$(cat "$TMP/msg")"
		grep -q 'TPM PIN' "$TMP/msg"
		ok $? "... the prompt was shown"
	else
		skip "cannot start tang"
	fi
else
	skip "cannot make a LUKS image"
fi

is "$(tpm_leftovers)" "" "at the end nothing stays loaded in the TPM"
done_testing
