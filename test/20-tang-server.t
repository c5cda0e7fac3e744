#!/usr/bin/env bash
# 20-tang-server.t - nbde tang-server against the real peers: Debian's clevis
# and jose, curl and socat. Key tools, inetd mode (socat), standalone mode,
# thumbprints under every hash, hidden keys, rotation, the /rec reply byte
# for byte against `jose jwk exc`, and tang's status matrix request by request.
. "$(dirname "$0")/lib.sh"
need jose curl socat clevis

BIN=$TMP/bin
mkdir -p "$BIN"
for a in tangd tangd-keygen tangd-rotate-keys tang-show-keys; do ln -s "$NBDE" "$BIN/$a"; done
HASHES="S1 S224 S256 S384 S512"

thp() { jose jwk thp -i "$1" -a "${2:-S256}"; }
perm() { stat -c %a "$1"; }
CURL_MAX=$(t_secs 10)
get() { curl -sS -g --max-time "$CURL_MAX" "http://127.0.0.1:$PORT$1"; }
code() { # code METHOD PATH [BODY-FILE] : prints the HTTP status
	local m=$1 p=$2 f=${3:-}
	case $m in
	HEAD) curl -s -g -I --max-time "$CURL_MAX" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$p" ;;
	*) curl -s -g --max-time "$CURL_MAX" -o /dev/null -w '%{http_code}' -X "$m" ${f:+--data-binary @"$f"} \
		-H 'Content-Type: application/jwk+json' "http://127.0.0.1:$PORT$p" ;;
	esac
}
raw() { # raw BYTES : sends them on a fresh connection, prints what comes back
	printf '%b' "$1" | socat -t "$(t_secs 3)" -T "$(t_secs 5)" - "TCP:127.0.0.1:$PORT" 2>/dev/null
}
t_log "$TMP/inetd.log" "$TMP/tang-server.log"
start_socat() { # start_socat DIR [OPTIONS] : the server inetd style
	socat_start SYSTEM:"REMOTE_ADDR=\$SOCAT_PEERADDR exec $BIN/tangd ${2:-} $1 2>>$TMP/inetd.log"
	PORT=$SOCAT_PORT SERVER=$SOCAT_PID
}
start_standalone() { # start_standalone DIR [OPTIONS]
	# shellcheck disable=SC2086 # OPTIONS are words
	TANG_SERVER=$BIN/tangd tang_start "$1" ${2:-}
	PORT=$TANG_PORT SERVER=$TANG_PID
}
stop_server() { stop_pid "$SERVER"; }

# ---- tangd-keygen ----
DB=$TMP/db
mkdir "$DB"
run_ok "tangd-keygen DIR sig exc" "$BIN/tangd-keygen" "$DB" sig exc
is "$(perm "$DB/sig.jwk") $(perm "$DB/exc.jwk")" "440 440" "key files are mode 0440"
run_ok "jose reads the signing key" jose jwk use -i "$DB/sig.jwk" -r -u sign -u verify
run_ok "jose reads the exchange key" jose jwk use -i "$DB/exc.jwk" -r -u deriveKey
is "$(jose fmt -j "$DB/sig.jwk" -g alg -u-) $(jose fmt -j "$DB/sig.jwk" -g crv -u-)" "ES512 P-521" "signing key is ES512 on P-521"
is "$(jose fmt -j "$DB/exc.jwk" -g alg -u-)" "ECMR" "exchange key is ECMR"
is "$(tail -c 1 "$DB/sig.jwk" | od -An -c | tr -d ' ')" '\n' "key file ends with a newline"
K2=$TMP/k2
mkdir "$K2"
run_ok "tangd-keygen DIR" "$BIN/tangd-keygen" "$K2"
names_ok=0
for f in "$K2"/*.jwk; do
	[ "$(basename "$f" .jwk)" = "$(thp "$f")" ] || names_ok=1
done
is "$(ls "$K2" | wc -l)" 2 "two keys created"
ok $names_ok "files are named by their S256 thumbprints"
run_fails "tangd-keygen with two arguments fails" "$BIN/tangd-keygen" "$K2" sig
run_fails "tangd-keygen on a file fails" "$BIN/tangd-keygen" "$DB/sig.jwk"
grep -q usage "$TMP/.err"
ok $? "usage is printed"

# hidden signing keys, as tang's tests have them
jose jwk gen -i '{"alg":"ES512"}' -o "$DB/.sig.jwk"
jose jwk gen -i '{"alg":"ES512"}' -o "$DB/.oth.jwk"
jose jwk gen -i '{"alg":"ECMR"}' -o "$DB/.exc.jwk"
echo 'not json' >"$DB/broken.jwk"
: >"$DB/empty.jwk"
echo hello >"$DB/README"

# ---- inetd mode through socat ----
start_socat "$DB"
get /adv >"$TMP/adv.jws"
ok $? "GET /adv"
run_ok "the advertisement verifies with sig.jwk" jose jws ver -i "$TMP/adv.jws" -k "$DB/sig.jwk"
run_fails "... not with the hidden .sig.jwk" jose jws ver -i "$TMP/adv.jws" -k "$DB/.sig.jwk"
jose fmt -j "$TMP/adv.jws" -Og payload -SyOg keys -Ao "$TMP/keys.json" 2>/dev/null
is "$(jose fmt -j "$TMP/keys.json" -Af- | wc -l)" 2 "the advertisement has 2 keys"
printf '{"keys":%s}' "$(cat "$TMP/keys.json")" | jose jwk use -i- -r -u verify -s -o "$TMP/verify.json"
run_ok "every verify key signed it (jose jws ver -a)" jose jws ver -i "$TMP/adv.jws" -k "$TMP/verify.json" -a
is "$(jose fmt -j "$TMP/adv.jws" -Og protected -SyOg cty -u-)" "jwk-set+json" "protected header cty is jwk-set+json"
is "$(jose fmt -j "$TMP/adv.jws" -g protected -u-)" "eyJhbGciOiJFUzUxMiIsImN0eSI6Imp3ay1zZXQranNvbiJ9" \
	"protected header is tang's exact bytes"
grep -q '"d"' "$TMP/adv.jws"
ok $((!$?)) "no private member in the advertisement payload"
jose fmt -j "$TMP/adv.jws" -Og payload -SyOg keys -Og 0 -Og d 2>/dev/null
ok $((!$?)) "advertised keys have no d"
hdrs=$(curl -s -D - -o /dev/null --max-time "$CURL_MAX" "http://127.0.0.1:$PORT/adv" | tr -d '\r')
echo "$hdrs" | grep -qx 'Content-Type: application/jose+json'
ok $? "adv Content-Type is application/jose+json"
for p in /adv/ //adv// ///adv; do
	is "$(code GET $p)" 200 "GET $p"
done

# /adv/{thp} under every hash
for h in $HASHES; do
	get "/adv/$(thp "$DB/sig.jwk" $h)" >"$TMP/adv-$h.jws"
	jose jws ver -i "$TMP/adv-$h.jws" -k "$DB/sig.jwk"
	ok $? "GET /adv/{sig $h thumbprint} verifies with sig.jwk"
done
is "$(jose fmt -j "$TMP/adv-S256.jws" -g signatures -Af- | wc -l)" 2 "an active key's thp signs twice (general JWS)"
get "/adv/$(thp "$DB/.sig.jwk" S512)" >"$TMP/adv-hidden.jws"
run_ok "GET /adv/{hidden sig thp} verifies with the hidden key" jose jws ver -i "$TMP/adv-hidden.jws" -k "$DB/.sig.jwk"
run_ok "... and with sig.jwk" jose jws ver -i "$TMP/adv-hidden.jws" -k "$DB/sig.jwk"
run_fails "... not with .oth.jwk" jose jws ver -i "$TMP/adv-hidden.jws" -k "$DB/.oth.jwk"
is "$(jose fmt -j "$TMP/adv-hidden.jws" -g signatures -g 1 -g protected -u- | jose b64 dec -i- | jose fmt -j- -g cty -u-)" \
	"jwk-set+json" "signatures[1] has cty jwk-set+json"

# /rec byte for byte against jose jwk exc, under every hash
jose jwk gen -i "$(jose fmt -j "$DB/exc.jwk" -Od x -d y -d d -o-)" -o "$TMP/client.jwk"
jose jwk pub -i "$TMP/client.jwk" -o "$TMP/client.pub.jwk"
good=$(jose jwk exc -i '{"alg":"ECMR","key_ops":["deriveKey"]}' -l "$TMP/client.jwk" -r "$DB/exc.jwk")
for h in $HASHES; do
	test=$(curl -sf --max-time "$CURL_MAX" -X POST -H "Content-Type: application/jwk+json" \
		--data-binary @"$TMP/client.pub.jwk" "http://127.0.0.1:$PORT/rec/$(thp "$DB/exc.jwk" $h)")
	is "$test" "$good" "POST /rec/{exc $h thumbprint} = jose jwk exc, byte for byte"
done
is "${#good}" 253 "the P-521 reply is 253 bytes"
hidden_good=$(jose jwk exc -i '{"alg":"ECMR","key_ops":["deriveKey"]}' -l "$TMP/client.jwk" -r "$DB/.exc.jwk")
test=$(curl -sf --max-time "$CURL_MAX" -X POST --data-binary @"$TMP/client.pub.jwk" \
	"http://127.0.0.1:$PORT/rec/$(thp "$DB/.exc.jwk" S1)")
is "$test" "$hidden_good" "a hidden exchange key still answers /rec (S1 thp)"
hdrs=$(curl -s -D - -o /dev/null --max-time "$CURL_MAX" --data-binary @"$TMP/client.pub.jwk" \
	"http://127.0.0.1:$PORT/rec/$(thp "$DB/exc.jwk")" | tr -d '\r')
echo "$hdrs" | grep -qx 'Content-Type: application/jwk+json'
ok $? "rec Content-Type is application/jwk+json"

# clevis round trip
echo "top secret" | clevis encrypt tang "{\"url\":\"http://127.0.0.1:$PORT\"}" -y >"$TMP/secret.jwe" 2>"$TMP/.err"
ok $? "clevis encrypt tang (inetd mode)"
is "$(clevis decrypt <"$TMP/secret.jwe" 2>&1)" "top secret" "clevis decrypt (inetd mode)"
grep -q "^127.0.0.1 GET /adv/ => 200" "$TMP/inetd.log"
ok $? "log line names REMOTE_ADDR, method, path and status"
grep -q "^127.0.0.1 POST /rec/$(thp "$DB/exc.jwk") => 200" "$TMP/inetd.log"
ok $? "log line for the clevis /rec"
grep -q "broken.jwk.*skipping" "$TMP/inetd.log"
ok $? "an invalid key file is skipped with a message"

# ---- status matrix (tang's status for each method and path) ----
SIG=$(thp "$DB/sig.jwk")
EXC=$(thp "$DB/exc.jwk")
EXC_THP=$(thp "$DB/exc.jwk" S384)
for r in "404 GET /adv/$EXC" "404 GET /adv/$(thp "$DB/exc.jwk" S512)" "404 GET /adv/unknown" \
	"404 GET /adv/bad=chars" "404 GET /adv?x=1" "404 GET /" "404 GET /foo" "404 GET /ADV" \
	"404 GET /adv/$SIG/" "405 HEAD /adv" "405 POST /adv" "405 PUT /adv" "405 OPTIONS /adv" \
	"404 GET /rec" "404 GET /rec/" "404 POST /rec" "405 GET /rec/$EXC" "405 DELETE /rec/$EXC" \
	"404 GET /rec/$EXC/x"; do
	set -- $r
	is "$(code "$2" "$3")" "$1" "$2 $3 => $1"
done

body() { printf '%s' "$2" >"$TMP/body-$1"; echo "$TMP/body-$1"; }
pubx=$(jose fmt -j "$TMP/client.pub.jwk" -g x -u-)
puby=$(jose fmt -j "$TMP/client.pub.jwk" -g y -u-)
P256=$(jose jwk gen -i '{"alg":"ES256"}' | jose jwk pub -i- -o- | jose fmt -j- -Od key_ops -d alg -o-)
rec_case() { # rec_case EXPECTED NAME BODY [THP]
	is "$(code POST "/rec/${4:-$EXC_THP}" "$(body "$2" "$3")")" "$1" "POST /rec with $2 => $1"
}
rec_case 200 "the client key" "$(cat "$TMP/client.pub.jwk")"
rec_case 200 "no alg or key_ops" "{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 200 "a trailing newline" "$(cat "$TMP/client.pub.jwk")
"
rec_case 403 "the signing key's thp" "$(cat "$TMP/client.pub.jwk")" "$SIG"
rec_case 404 "an unknown thp" "$(cat "$TMP/client.pub.jwk")" unknown
rec_case 400 "an empty body" ""
rec_case 400 "non-JSON" "hello"
rec_case 400 "trailing garbage" "$(cat "$TMP/client.pub.jwk")x"
rec_case 400 "a bare number" "42"
rec_case 400 "[]" "[]"
rec_case 400 "{}" "{}"
rec_case 400 "kty RSA" "{\"crv\":\"P-521\",\"kty\":\"RSA\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 400 "kty ec" "{\"crv\":\"P-521\",\"kty\":\"ec\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 400 "alg ES512" "{\"alg\":\"ES512\",\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 400 "an off-curve point" "{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$pubx\"}"
rec_case 400 "a P-256 point" "$P256"
rec_case 400 "a P-521 point labelled P-384" "{\"crv\":\"P-384\",\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 400 "a missing y" "{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\"$pubx\"}"
rec_case 400 "base64 padding" "{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\"$pubx=\",\"y\":\"$puby\"}"
rec_case 400 "a wrong d" "{\"crv\":\"P-521\",\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$puby\",\"d\":\"$pubx\"}"
rec_case 403 "key_ops without deriveKey" "{\"crv\":\"P-521\",\"key_ops\":[\"sign\"],\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 403 "key_ops []" "{\"crv\":\"P-521\",\"key_ops\":[],\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 403 "use enc only" "{\"crv\":\"P-521\",\"use\":\"enc\",\"kty\":\"EC\",\"x\":\"$pubx\",\"y\":\"$puby\"}"
rec_case 400 "bad JSON to an unknown thp" "hello" unknown
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big"
is "$(code POST "/rec/$EXC" "$TMP/big")" 413 "a 70000-byte body => 413"
is "$(code GET "/adv/$(head -c 4100 /dev/zero | tr '\0' a)")" 414 "a 4100-byte target => 414"
is "$(code GET "/adv/$(head -c 4090 /dev/zero | tr '\0' a)")" 404 "a 4095-byte target is parsed (404)"
resp=$(raw 'GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n')
is "$(printf '%s' "$resp" | tr -d '\r')" "$(printf 'HTTP/1.1 404 Not Found\nContent-Length: 0\n')" \
	"an error reply is only Content-Length: 0"

# raw HTTP: pipelining, chunked bodies, malformed requests
resp=$(raw 'GET /adv HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\n\r\nGET /adv/ HTTP/1.1\r\n\r\n')
is "$(printf '%s' "$resp" | grep -o 'HTTP/1.1 [0-9]*' | tr '\n' ,)" \
	"HTTP/1.1 200,HTTP/1.1 404,HTTP/1.1 200," "three pipelined requests get three replies in order"
pub=$(cat "$TMP/client.pub.jwk")
c1=${pub:0:100}
c2=${pub:100}
resp=$(raw "POST /rec/$EXC HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n$(printf %x ${#c1})\r\n$c1\r\n$(printf %x ${#c2})\r\n$c2\r\n0\r\n\r\n")
is "$(printf '%s' "$resp" | tail -c 253)" "$good" "a chunked /rec body works"
for bad in 'GARBAGE\r\n\r\n' 'GET /adv\r\n\r\n' 'GET /adv HTTP/2.0\r\n\r\n' 'GET  /adv HTTP/1.1\r\n\r\n' \
	'GET /adv HTTP/1.1\r\nNo colon here\r\n\r\n' 'GET /adv HTTP/1.1\r\nX: a\r\n folded\r\n\r\n' \
	'GET /a\x01v HTTP/1.1\r\n\r\n' 'POST /rec/x HTTP/1.1\r\nContent-Length: 5x\r\n\r\n' \
	'POST /rec/x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n' \
	'POST /rec/x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n' \
	'POST /rec/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n' \
	'POST /rec/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'; do
	resp=$(raw "${bad}GET /adv HTTP/1.1\r\n\r\n")
	is "$(printf '%s' "$resp" | tr -d '\r' | tr '\n' ,)" "HTTP/1.1 400 Bad Request,Content-Length: 0,Connection: close," \
		"malformed '${bad:0:40}' => one 400, then closed"
done
resp=$(raw "GET /adv HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n")
is "$(printf '%s' "$resp" | head -1 | tr -d '\r')" "HTTP/1.1 431 Request Header Fields Too Large" "9000 bytes of headers => 431"
resp=$(raw 'GET /adv HTTP/1.0\r\n\r\n')
printf '%s' "$resp" | grep -q '^Connection: close'
ok $? "HTTP/1.0 without keep-alive: the server says it closes"
printf 'GET /adv HTTP/1.1\r\nHost: x\r\n\r\n' | "$BIN/tangd" "$DB" >"$TMP/oneshot" 2>/dev/null
is "$(head -1 "$TMP/oneshot" | tr -d '\r')" "HTTP/1.1 200 OK" "one-shot request over a pipe"
stop_server

# ---- key directory states ----
ONLY=$TMP/only-exc
mkdir "$ONLY"
jose jwk gen -i '{"alg":"ECMR"}' -o "$ONLY/exc.jwk"
start_socat "$ONLY"
is "$(code GET /adv)" 500 "a directory with only an exchange key: /adv => 500"
is "$(code POST "/rec/$(thp "$ONLY/exc.jwk")" "$TMP/client.pub.jwk")" 500 "... and /rec => 500"
stop_server

EMPTY=$TMP/empty
mkdir "$EMPTY"
start_socat "$EMPTY"
is "$(code GET /adv)" 200 "an empty directory gets keys on the first request"
is "$(ls "$EMPTY" | wc -l)" 2 "... a pair"
names_ok=0
for f in "$EMPTY"/*.jwk; do
	[ "$(basename "$f" .jwk)" = "$(thp "$f")" ] && [ "$(perm "$f")" = 440 ] || names_ok=1
done
ok $names_ok "... named by S256 thumbprint, mode 0440"
for f in "$EMPTY"/*.jwk; do mv "$f" "$EMPTY/.$(basename "$f")"; done
is "$(code GET /adv)" 200 "all keys hidden: a new pair is made"
is "$(ls "$EMPTY" | wc -l)" 2 "... two active keys again"
stop_server

RO=$TMP/readonly
mkdir "$RO"
chmod 0555 "$RO"
if [ "$(id -u)" != 0 ]; then
	start_socat "$RO"
	is "$(code GET /adv)" 500 "an empty read-only directory => 500"
	stop_server
else
	skip "root can write a read-only directory"
fi

# ---- standalone mode, rotation, tang-show-keys ----
SA=$TMP/sa
mkdir "$SA"
"$BIN/tangd-keygen" "$SA" sig exc
start_standalone "$SA"
echo "standalone secret" | clevis encrypt tang "{\"url\":\"http://127.0.0.1:$PORT\"}" -y >"$TMP/sa.jwe" 2>"$TMP/.err"
ok $? "clevis encrypt tang (standalone)"
is "$(clevis decrypt <"$TMP/sa.jwe" 2>&1)" "standalone secret" "clevis decrypt (standalone)"
is "$("$BIN/tang-show-keys" "$PORT")" "$(thp "$SA/sig.jwk")" "tang-show-keys prints the signing key's thumbprint"
run_ok "tangd-rotate-keys -v -d DIR" "$BIN/tangd-rotate-keys" -v -d "$SA"
grep -q "Disabled advertisement of key sig.jwk" "$TMP/.err"
ok $? "rotate -v reports what it hid"
[ -f "$SA/.sig.jwk" ] && [ -f "$SA/.exc.jwk" ] && [ ! -e "$SA/sig.jwk" ]
ok $? "old keys are hidden"
new_sig=
for f in "$SA"/*.jwk; do
	[ "$(perm "$f")" = 440 ] || new_sig=bad
	jose jwk use -i "$f" -r -u verify 2>/dev/null && new_sig=$new_sig$(thp "$f")
done
is "$("$BIN/tang-show-keys" "$PORT")" "$new_sig" "the running server advertises the new key at once"
is "$(clevis decrypt <"$TMP/sa.jwe" 2>&1)" "standalone secret" "a JWE made before the rotation still decrypts"
echo "after" | clevis encrypt tang "{\"url\":\"http://127.0.0.1:$PORT\"}" -y 2>/dev/null | clevis decrypt >"$TMP/after" 2>&1
is "$(cat "$TMP/after")" "after" "a new JWE after the rotation works"
kill -TERM "$SERVER"
wait "$SERVER"
is "$?" 0 "SIGTERM: clean exit"

# endpoint prefix, trailing slash tolerated
start_standalone "$SA" "-e /api/x/"
for r in "200 /api/x/adv" "200 /api/x//adv/" "404 /adv" "404 //api/x/adv" "404 /api/xadv" "404 /api/adv"; do
	set -- $r
	is "$(code GET "$2")" "$1" "-e /api/x/: GET $2 => $1"
done
is "$("$BIN/tang-show-keys" "$PORT" api/x)" "$new_sig" "tang-show-keys PORT ENDPOINT"
echo ep | clevis encrypt tang "{\"url\":\"http://127.0.0.1:$PORT/api/x\"}" -y 2>/dev/null | clevis decrypt >"$TMP/ep" 2>&1
is "$(cat "$TMP/ep")" "ep" "clevis round trip under an endpoint"
stop_server

# IPv6 bind address
if (exec 3<>/dev/tcp/::1/1) 2>&1 | grep -q refused; then
	TANG_ADDR=::1 TANG_SERVER=$BIN/tangd tang_start "$SA"
	SERVER=$TANG_PID
	is "$(curl -s -g -o /dev/null -w '%{http_code}' --max-time "$CURL_MAX" "$TANG_URL/adv")" 200 "-a ::1 serves IPv6"
	stop_server
else
	skip "no IPv6 loopback"
fi

run_fails "a missing directory is an error" "$BIN/tangd" "$TMP/nonexistent"
grep -q "nonexistent" "$TMP/.err"
ok $? "... naming the path"
run_fails "-p 70000 is refused" "$BIN/tangd" -l -p 70000 "$SA"
run_fails "--port-file without listening sockets is refused" "$BIN/tangd" --port-file "$TMP/pf" "$SA" </dev/null
grep -q -- "--port-file needs listening sockets" "$TMP/.err"
ok $? "... saying why"
run_fails "an unwritable --port-file is an error" "$BIN/tangd" -l -a 127.0.0.1 -p 0 --port-file "$TMP/no/dir" "$SA"
grep -q "$TMP/no/dir" "$TMP/.err"
ok $? "... naming the file"
run_fails "two directories are refused" "$BIN/tangd" "$SA" "$SA"

done_testing
