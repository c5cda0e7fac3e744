#!/usr/bin/env bash
# 30-pins.t - `nbde encrypt` / `nbde decrypt` (tang, sss, null pins) against
# the real peers: Debian's clevis and jose, and Debian's tangd run through
# socat on 127.0.0.1. JWEs go both ways; headers are compared with clevis's;
# trust, bad configs, forged tags and time bounds are checked.
. "$(dirname "$0")/lib.sh"
need clevis jose socat curl jq
TANGD=/usr/libexec/tangd
[ -x "$TANGD" ] || skip_all "Debian tang (/usr/libexec/tangd) is not installed"
[ -x "$NBDE" ] || skip_all "$NBDE not built"

ms() { date +%s%3N; }

header() { cut -d. -f1 | jose b64 dec -i-; } # decoded protected header of a compact JWE on stdin

# The JWE with the first character of its tag changed.
forge_tag() {
	local jwe=$1 tag=${1##*.} c
	c=${tag:0:1}
	[ "$c" = A ] && c=B || c=A
	printf '%s' "${jwe%.*}.$c${tag:1}"
}

# ---- setup: two Debian tang servers ----
K1=$TMP/keys1 K2=$TMP/keys2
tangd_keys "$K1" sig exc && tangd_keys "$K2" sig exc || skip_all "tangd-keygen failed"
tangd_start "$K1" || skip_all "cannot start tangd"
S1PID=$TANGD_PID U1=$TANGD_URL P1=$TANGD_PORT
tangd_start "$K2" || skip_all "cannot start a second tangd"
S2PID=$TANGD_PID U2=$TANGD_URL P2=$TANGD_PORT
PT='a secret: 1.+?~!@#$%^&*();:'"'"'"[]{}_=/`\ '

# ---- tang round trips ----
J=$(printf '%s' "$PT" | "$NBDE" encrypt tang "{\"url\":\"$U1\"}" -y)
ok $? "nbde encrypt tang -y"
is "$(printf '%s' "$J" | clevis decrypt)" "$PT" "clevis decrypt opens an nbde tang JWE"
is "$(printf '%s' "$J" | "$NBDE" decrypt)" "$PT" "nbde decrypt opens an nbde tang JWE"
is "$(printf '%s\n\n' "$J" | "$NBDE" decrypt)" "$PT" "nbde decrypt accepts trailing whitespace"
C=$(printf '%s' "$PT" | clevis encrypt tang "{\"url\":\"$U1\"}" -y)
is "$(printf '%s' "$C" | "$NBDE" decrypt)" "$PT" "nbde decrypt opens a clevis tang JWE"
head -c 4096 /dev/urandom >"$TMP/bin"
"$NBDE" encrypt tang "{\"url\":\"$U1\"}" -y <"$TMP/bin" | clevis decrypt >"$TMP/bin.out"
cmp -s "$TMP/bin" "$TMP/bin.out"
ok $? "binary plaintext survives nbde encrypt | clevis decrypt"
# clevis 19 fixes its kid hash to S256; a copy set to S1 makes the JWEs older clevis wrote
sed 's/^CLEVIS_DEFAULT_THP_ALG=S256/CLEVIS_DEFAULT_THP_ALG=S1/' "$(command -v clevis-encrypt-tang)" >"$TMP/encrypt-tang-s1"
C1=$(printf x | bash "$TMP/encrypt-tang-s1" "{\"url\":\"$U1\"}" -y)
[ "$(printf '%s' "$C1" | header | jq -r '.kid|length')" = 27 ]
ok $? "clevis made a JWE with an S1 kid"
is "$(printf '%s' "$C1" | "$NBDE" decrypt 2>"$TMP/err")" x "nbde decrypt accepts an S1 kid"
grep -q 'WARNING: tang using a deprecated hash for the JWK thumbprints' "$TMP/err"
ok $? "an S1 kid gives clevis's deprecation warning"
is "$(printf x | "$NBDE" encrypt tang "{\"url\":\"127.0.0.1:$P1\"}" -y | "$NBDE" decrypt)" x \
	"scheme-less URL (host:port) works as in curl"
is "$(printf x | "$NBDE" encrypt tang "{\"url\":\"localhost:$P1\"}" -y | "$NBDE" decrypt)" x \
	"host name URL (localhost, resolved; tangd only on 127.0.0.1)"

# ---- the protected header is what clevis writes ----
HN=$(printf '%s' "$J" | header)
HC=$(printf '%s' "$C" | header)
shape() { jq -c '[paths(scalars)|map(if type=="number" then "N" else . end)|join(".")]|unique'; }
is "$(shape <<<"$HN")" "$(shape <<<"$HC")" "header members are those of clevis's header"
is "$(jq -cS . <<<"$HN")" "$HN" "header is sorted compact JSON (JSON_SORT_KEYS|JSON_COMPACT)"
is "${#HN}" "${#HC}" "header has the length of clevis's"
is "$(jq -r .kid <<<"$HN")" "$(jq -r .kid <<<"$HC")" "kid is the S256 thumbprint of the exchange key, as clevis's"
is "$(jq -c '[.alg,.enc,.clevis.pin,.clevis.tang.url,.epk.kty,.epk.crv]' <<<"$HN")" \
	"$(jq -c '[.alg,.enc,.clevis.pin,.clevis.tang.url,.epk.kty,.epk.crv]' <<<"$HC")" "header values match clevis's"
is "$(jq -c .clevis.tang.adv <<<"$HN")" "$(curl -sf "$U1/adv/" | jq -r .payload | jose b64 dec -i- | jq -c .)" \
	"clevis.tang.adv is the advertisement payload"
is "$(awk -F. '{print NF, length($2), length($3), length($5)}' <<<"$J")" "5 0 16 22" \
	"compact form: empty encrypted_key, 96-bit IV, 128-bit tag"
[ "$(printf '%s' "$J" | tail -c 1 | od -An -c | tr -d ' ')" != '\n' ]
ok $? "no trailing newline after the JWE"

# ---- trust: thp, adv, TOFU ----
SIG=$(grep -l '"verify"' "$K1"/*.jwk | head -1)
for alg in S256 S1; do
	thp=$(jose jwk thp -i "$SIG" -a $alg)
	is "$(printf x | "$NBDE" encrypt tang "{\"url\":\"$U1\",\"thp\":\"$thp\"}" | clevis decrypt)" x \
		"thp as $alg thumbprint of the signing key is trusted"
done
for alg in S224 S384 S512; do
	thp=$(jose jwk thp -i "$SIG" -a $alg)
	printf x | "$NBDE" encrypt tang "{\"url\":\"$U1\",\"thp\":\"$thp\"}" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc -ne 0 ] && [ ! -s "$TMP/out" ] && grep -q "Trusted JWK '$thp' did not sign the advertisement!" "$TMP/err"
	ok $? "thp as $alg thumbprint is rejected with clevis's message"
done
run_fails "thp 'foo' is rejected" sh -c "printf x | '$NBDE' encrypt tang '{\"url\":\"$U1\",\"thp\":\"foo\"}'"
EXC=$(grep -l '"deriveKey"' "$K1"/*.jwk | head -1)
run_fails "thp of the exchange key (not a signing key) is rejected" \
	sh -c "printf x | '$NBDE' encrypt tang '{\"url\":\"$U1\",\"thp\":\"$(jose jwk thp -i "$EXC")\"}'"
printf x | setsid -w "$NBDE" encrypt tang "{\"url\":\"$U1\"}" >"$TMP/out" 2>"$TMP/err"
[ $? -ne 0 ] && [ ! -s "$TMP/out" ]
ok $? "without -y, thp or adv and without a terminal the key is not trusted"

curl -sf "$U1/adv/" >"$TMP/adv.jws"
is "$(printf x | "$NBDE" encrypt tang "{\"url\":\"$U1\",\"adv\":\"$TMP/adv.jws\"}" | clevis decrypt)" x \
	"adv as a file is trusted without a prompt"
ADV=$(cat "$TMP/adv.jws")
is "$(printf x | "$NBDE" encrypt tang "{\"url\":\"$U1\",\"adv\":$ADV}" | clevis decrypt)" x \
	"adv as an inline object is trusted without a prompt"
J2=$(printf x | "$NBDE" encrypt tang "{\"url\":\"http://127.0.0.1:1\",\"adv\":\"$TMP/adv.jws\"}")
ok $? "with adv there is no network access at encryption"
is "$(printf '%s' "$J2" | header | jq -r .clevis.tang.url)" "http://127.0.0.1:1" "url is stored verbatim"

# ---- bad configs: clevis's messages ----
expect_error() { # expect_error DESCRIPTION MESSAGE PIN CFG
	printf x | "$NBDE" encrypt "$3" "$4" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ ! -s "$TMP/out" ] && grep -qF -- "$2" "$TMP/err" &&
		[ "$(wc -l <"$TMP/err")" -eq 1 ] && ! grep -q jose "$TMP/err"
	ok $? "$1"	# a failure shows $TMP/err
}
expect_error "tang config not JSON" "Configuration is malformed!" tang '{'
expect_error "tang config not an object" "Configuration is malformed!" tang '[]'
expect_error "tang without url" "Missing the required 'url' property!" tang '{}'
expect_error "adv file missing" "Advertisement file '$TMP/none' not found!" tang "{\"url\":\"$U1\",\"adv\":\"$TMP/none\"}"
printf '{' >"$TMP/bad.jws"
expect_error "adv file malformed" "Advertisement file '$TMP/bad.jws' is malformed!" tang "{\"url\":\"$U1\",\"adv\":\"$TMP/bad.jws\"}"
expect_error "adv {} inline" "Advertisement is malformed!" tang "{\"url\":\"$U1\",\"adv\":{}}"
expect_error "adv [] inline" "Advertisement is malformed!" tang "{\"url\":\"$U1\",\"adv\":[]}"
BADSIG=$(jq -c '.signatures[0].signature |= (if startswith("A") then "B" + .[1:] else "A" + .[1:] end)' \
	<<<"$(jq -c 'if .signatures then . else {payload, signatures:[{protected, signature}]} end' "$TMP/adv.jws")")
expect_error "adv with a forged signature" "Advertisement is missing signatures!" tang "{\"url\":\"$U1\",\"adv\":$BADSIG}"
expect_error "unreachable server" "Unable to fetch advertisement: 'http://127.0.0.1:1/adv/'!" tang '{"url":"http://127.0.0.1:1"}'
expect_error "404 from the server" "Unable to fetch advertisement: '$U1/adv/nosuchkey'!" tang \
	"{\"url\":\"$U1\",\"thp\":\"nosuchkey\"}"
expect_error "ftp:// is refused" "unsupported URL scheme" tang '{"url":"ftp://127.0.0.1:1"}'
expect_error "URL with a space" "Unable to fetch advertisement" tang '{"url":"foo bar"}'
expect_error "sss config not JSON" "Error parsing config!" sss '{'
expect_error "sss without pins" "Config missing 'pins' attribute!" sss '{"t":1}'
expect_error "sss threshold too high" "Invalid threshold (required: 1 <= 3 <= 2)!" sss '{"t":3,"pins":{"null":[{},{}]}}'
expect_error "sss threshold zero" "Invalid threshold (required: 1 <= 0 <= 1)!" sss '{"t":0,"pins":{"null":{}}}'
expect_error "sss child tang with a bad url" "Unable to fetch advertisement" sss '{"pins":{"tang":{"url":"foo bar"}}}'
expect_error "null config not an object" "Configuration is malformed!" null '1'
expect_error "tpm2 config not JSON" "Configuration is malformed!" tpm2 '{'
expect_error "tpm2 pcr_ids out of range" "invalid pcr_ids" tpm2 '{"pcr_ids":"0,24"}'
expect_error "unknown pin" "Unknown pin 'nosuch'" nosuch '{}'
run_fails "encrypt with a bad third argument is a usage error" sh -c "printf x | '$NBDE' encrypt null '{}' -x"

# ---- null ----
is "$(printf '%s' "$PT" | "$NBDE" encrypt null '{}' | clevis decrypt)" "$PT" "null: nbde encrypt, clevis decrypt"
is "$(printf '%s' "$PT" | clevis encrypt null '{}' | "$NBDE" decrypt)" "$PT" "null: clevis encrypt, nbde decrypt"
HN=$(printf x | "$NBDE" encrypt null '{}' | header)
HC=$(printf x | clevis encrypt null '{}' | header)
is "$(shape <<<"$HN")" "$(shape <<<"$HC")" "null: header members are those of clevis's"
run_fails "null with fail:true does not decrypt" sh -c "printf x | '$NBDE' encrypt null '{\"fail\":true}' | '$NBDE' decrypt"

# ---- forged tags: no plaintext, non-zero exit ----
for pin in tang sss null; do
	case $pin in
	tang) j=$J ;;
	sss) j=$(printf '%s' "$PT" | "$NBDE" encrypt sss '{"t":1,"pins":{"null":{}}}') ;;
	null) j=$(printf '%s' "$PT" | "$NBDE" encrypt null '{}') ;;
	esac
	forge_tag "$j" | "$NBDE" decrypt >"$TMP/out" 2>"$TMP/err"
	rc=$?
	[ $rc -ne 0 ] && [ ! -s "$TMP/out" ]
	ok $? "$pin: forged tag gives no plaintext and a non-zero exit"
done

# ECDH-ES has an empty encrypted_key; the same JWE with one is not a tang JWE
IFS=. read -r jh jek jrest <<<"$J"
[ -z "$jek" ]
ok $? "tang: encrypted_key of the JWE is empty"
printf '%s' "$jh.AAAA.$jrest" | "$NBDE" decrypt >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -ne 0 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
	grep -qF "encrypted_key must be empty for ECDH-ES" "$TMP/err"
ok $? "tang: a JWE with a non-empty encrypted_key is refused in one line"

# ---- sss ----
SSS1="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$U1\"},{\"url\":\"$U2\"}],\"null\":{\"fail\":true}}}"
SSS2="{\"t\":2,\"pins\":{\"tang\":{\"url\":\"$U1\"},\"sss\":{\"t\":1,\"pins\":{\"null\":[{\"fail\":true},{}],\"tang\":{\"url\":\"$U2\"}}}}}"
SSSF="{\"t\":2,\"pins\":{\"null\":[{},{\"fail\":true}]}}"
for cfg in "$SSS1" "$SSS2"; do
	t=$(jq .t <<<"$cfg")
	J=$(printf '%s' "$PT" | "$NBDE" encrypt sss "$cfg" -y)
	ok $? "sss t=$t: nbde encrypt"
	is "$(printf '%s' "$J" | clevis decrypt)" "$PT" "sss t=$t: clevis decrypt opens the nbde JWE"
	is "$(printf '%s' "$J" | "$NBDE" decrypt 2>"$TMP/err")" "$PT" "sss t=$t: nbde decrypt opens it"
	[ ! -s "$TMP/err" ]
	ok $? "sss t=$t: a failing child the threshold did not need is not reported"
	C=$(printf '%s' "$PT" | clevis encrypt sss "$cfg" -y)
	is "$(printf '%s' "$C" | "$NBDE" decrypt)" "$PT" "sss t=$t: nbde decrypt opens the clevis JWE"
	is "$(printf '%s' "$J" | header | shape)" "$(printf '%s' "$C" | header | shape)" \
		"sss t=$t: header members are those of clevis's"
done
HS=$(printf '%s' "$J" | header)
is "$(jq -r .clevis.sss.p <<<"$HS" | jose b64 dec -i- | wc -c)" 32 "sss: p is 32 bytes"
P=$(jq -r .clevis.sss.p <<<"$HS" | jose b64 dec -i- | od -An -tx1 | tr -d ' \n')
if command -v python3 >/dev/null; then
	python3 -c "
import random,sys
p=int('$P',16)
def prime(n):
    d,s=n-1,0
    while d%2==0: d//=2; s+=1
    for _ in range(40):
        x=pow(random.randrange(2,n-1),d,n)
        if x in (1,n-1): continue
        for _ in range(s-1):
            x=pow(x,2,n)
            if x==n-1: break
        else: return False
    return True
sys.exit(0 if p.bit_length()==256 and prime(p) and prime((p-1)//2) else 1)"
	ok $? "sss: p is a 256-bit safe prime"
else
	skip "python3 not installed"
fi
SHARE=$(jq -r '.clevis.sss.jwe[0]' <<<"$HS" | "$NBDE" decrypt | wc -c)
is "$SHARE" 64 "sss: a share is x||y, 64 bytes"
run_fails "sss t=2 with one failing child fails (nbde encrypt)" \
	sh -c "printf x | '$NBDE' encrypt sss '$SSSF' | '$NBDE' decrypt"
run_fails "sss t=2 with one failing child fails (clevis encrypt)" \
	sh -c "printf x | clevis encrypt sss '$SSSF' | '$NBDE' decrypt"
DEEP='{"t":1,"pins":{"sss":{"t":1,"pins":{"sss":{"t":1,"pins":{"sss":{"t":1,"pins":{"null":{}}}}}}}}}'
is "$(printf x | "$NBDE" encrypt sss "$DEEP" | clevis decrypt)" x "sss nested four deep, clevis decrypt"
is "$(printf x | "$NBDE" encrypt sss "$DEEP" | "$NBDE" decrypt)" x "sss nested four deep, nbde decrypt"

# ---- fan-out bounds: a crafted JWE is refused before any connection ----
# A listener that counts the connections it accepts and answers each with a
# 404 (which the client does not retry).
PC=$(free_port)
printf 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' >"$TMP/404"
socat "TCP-LISTEN:$PC,bind=127.0.0.1,reuseaddr,fork" SYSTEM:"echo >>$TMP/accepts; cat $TMP/404" 2>/dev/null &
T_PIDS+=($!)
wait_port "$PC"
TC=$(printf x | "$NBDE" encrypt tang "{\"url\":\"http://127.0.0.1:$PC\",\"adv\":\"$TMP/adv.jws\"}")
b64url() { basenc --base64url -w0 | tr -d =; }
sss_jwe() { # sss_jwe N : an sss JWE (t=1) of N copies of $TC; its tag is not checked before the children
	jq -cn --arg c "$TC" --argjson n "$1" \
		'{alg:"dir",enc:"A256GCM",clevis:{pin:"sss",sss:{jwe:[range($n)|$c],p:"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",t:1}}}' |
		b64url
	printf '..AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA'
}
accepts() { if [ -f "$TMP/accepts" ]; then wc -l <"$TMP/accepts"; else echo 0; fi; }
rm -f "$TMP/accepts"
sss_jwe 64 | "$NBDE" decrypt --timeout $((20 * ${TEST_SLOWDOWN:-1})) >/dev/null 2>"$TMP/err"
n=$(accepts)
[ "$n" -ge 64 ]
ok $? "an sss of 64 tang pins is tried: $n connections (the listener counts them)"
rm -f "$TMP/accepts"
sss_jwe 65 | "$NBDE" decrypt --timeout $((20 * ${TEST_SLOWDOWN:-1})) >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -ne 0 ] && [ ! -s "$TMP/out" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
	grep -qF "Refusing JWE: sss pin has 65 child pins, at most 64 are allowed" "$TMP/err"
ok $? "an sss of 65 pins is refused in one line"
is "$(accepts)" 0 "and no connection was opened"
expect_error "encrypt refuses an sss of 65 pins" "sss pin: 65 child pins, at most 64 are allowed" sss \
	"$(jq -cn '{t:1,pins:{null:[range(65)|{}]}}')"
# depth: a tree nested 33 deep is over the 4 MiB decrypt reads; unit_pins checks it

# ---- time bounds ----
JT=$(printf x | "$NBDE" encrypt tang "{\"url\":\"$U2\"}" -y)
JS=$(printf x | "$NBDE" encrypt sss "{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$U1\"},{\"url\":\"$U2\"}]}}" -y)
JS2=$(printf x | "$NBDE" encrypt sss "{\"t\":2,\"pins\":{\"tang\":[{\"url\":\"$U1\"},{\"url\":\"$U2\"}]}}" -y)
stop_pid "$S2PID"
# by DEADLINE-MS SLACK-MS: the latest a command with that deadline may end
# (the deadline is under test and does not scale; the slack does)
by() { echo $(($1 + $(t_isecs "$2"))); }
t0=$(ms)
printf '%s' "$JT" | "$NBDE" decrypt --timeout 3 >"$TMP/out" 2>"$TMP/err"
rc=$? t=$(($(ms) - t0))
[ $rc -ne 0 ] && [ $t -lt "$(by 3000 1500)" ] && grep -qF "Error communicating with server $U2" "$TMP/err"
ok $? "server down: fails within the deadline (${t} ms of 3 s), naming the URL"
# a listener that accepts connections and never answers
socat_start SYSTEM:"sleep $(t_isecs 30)" "$P2" || diag "cannot listen on $P2 again"
t0=$(ms)
out=$(printf '%s' "$JS" | "$NBDE" decrypt --timeout "$(t_isecs 20)" 2>"$TMP/err")
rc=$? t=$(($(ms) - t0))
[ $rc -eq 0 ] && [ "$out" = x ] && [ $t -lt "$(t_isecs 3000)" ]
ok $? "sss t=1 with one of two servers blackholed succeeds at once (${t} ms)"
t0=$(ms)
printf '%s' "$JS2" | "$NBDE" decrypt --timeout 3 >"$TMP/out" 2>"$TMP/err"
rc=$? t=$(($(ms) - t0))
[ $rc -ne 0 ] && [ ! -s "$TMP/out" ] && [ $t -lt "$(by 3000 1500)" ] && grep -qF "$U2" "$TMP/err"
ok $? "sss t=2 with a blackholed server fails within the deadline (${t} ms of 3 s), naming it"
t0=$(ms)
printf '%s' "$JT" | "$NBDE" decrypt --timeout 2 >/dev/null 2>&1
rc=$? t=$(($(ms) - t0))
[ $rc -ne 0 ] && [ $t -lt "$(by 2000 1500)" ]
ok $? "tang with a blackholed server fails within the deadline (${t} ms of 2 s)"
stop_pid "$S1PID"
t0=$(ms)
printf '%s' "$JS" | "$NBDE" decrypt --timeout 3 >"$TMP/out" 2>"$TMP/err"
rc=$? t=$(($(ms) - t0))
[ $rc -ne 0 ] && [ $t -lt "$(by 3000 1500)" ] && grep -qF "$U1" "$TMP/err" && grep -qF "$U2" "$TMP/err"
ok $? "sss with every server gone fails within the deadline, naming each (${t} ms)"
run_fails "decrypt rejects a bad --timeout" sh -c "printf '%s' '$JT' | '$NBDE' decrypt --timeout x"

done_testing
