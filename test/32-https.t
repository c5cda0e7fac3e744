#!/usr/bin/env bash
# 32-https.t - tang over https:// (net/tls_transport.c): nbde's tang-server
# behind socat's OPENSSL-LISTEN on 127.0.0.1 with certificates from a test
# CA made here. JWEs go both ways with clevis (curl); a LUKS image is bound
# and unlocked over https; TLS 1.2 and 1.3, ECDSA and RSA chains, both AEAD
# families work; a wrong host name, an expired certificate, an unknown CA,
# a missing CA bundle and a server without a common cipher suite are each
# refused with a one-line message naming the reason. The initramfs hooks
# copy the CA bundle only for https bindings.
#
# The test CA reaches nbde through SSL_CERT_FILE and clevis's curl through
# CURL_CA_BUNDLE: the system bundle is never touched.
. "$(dirname "$0")/lib.sh"
need openssl socat clevis curl jose cryptsetup
[ -x "$NBDE" ] || skip_all "$NBDE not built"

PKI=$TMP/pki
mkdir -p "$PKI"
exec 3>>"$TMP/openssl.log"
t_log "$TMP/openssl.log"

# ---- a test PKI ----

# new_ca NAME KEYSPEC : a self-signed CA, NAME.crt and NAME.key
new_ca() {
	openssl req -x509 -newkey "$2" -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -days 30 \
		-subj "/CN=nbde test $1" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign >&3 2>&1
}

# new_cert NAME CA KEYSPEC DAYS CN [SAN] : NAME.pem (certificate and key, for
# socat) for the common name CN and the subject alternative names SAN, signed
# by CA, valid for DAYS (-1: it expired yesterday)
new_cert() {
	local name=$1 ca=$2 spec=$3 days=$4 cn=$5 san=${6:-}
	{
		[ -z "$san" ] || printf 'subjectAltName=%s\n' "$san"
		printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
	} >"$PKI/$name.ext"
	openssl req -newkey "$spec" -nodes -keyout "$PKI/$name.key" -out "$PKI/$name.csr" \
		-subj "/CN=$cn" >&3 2>&1 &&
		openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
			-CAcreateserial -days "$days" -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" >&3 2>&1 &&
		cat "$PKI/$name.crt" "$PKI/$name.key" >"$PKI/$name.pem"
}

openssl ecparam -name prime256v1 -out "$PKI/p256.pem" >&3 2>&1
EC=ec:$PKI/p256.pem
new_ca ca "$EC" && new_ca rsa-ca rsa:2048 && new_ca stranger "$EC" &&
	new_cert good ca "$EC" 2 localhost "DNS:localhost,IP:127.0.0.1" &&
	new_cert rsa rsa-ca rsa:2048 2 localhost "DNS:localhost" &&
	new_cert other-name ca "$EC" 2 tang.other.example "DNS:tang.other.example" &&
	new_cert expired ca "$EC" -1 localhost "DNS:localhost" &&
	new_cert unknown-ca stranger "$EC" 2 localhost "DNS:localhost" &&
	new_cert escape ca "$EC" 2 "evil$(printf '\033')[31mred" ||
	skip_all "openssl could not make the test certificates"
cat "$PKI/ca.crt" "$PKI/rsa-ca.crt" >"$PKI/bundle.pem"
export SSL_CERT_FILE=$PKI/bundle.pem CURL_CA_BUNDLE=$PKI/bundle.pem

# ---- nbde's tang-server, and TLS fronts for it ----

mkdir -p "$TMP/keys" && "$NBDE" tangd-keygen "$TMP/keys" sig exc || skip_all "tangd-keygen failed"
tang_start "$TMP/keys" || skip_all "cannot start nbde tang-server"
t_log "$TMP/socat.log"

# tls_front PEM [SOCAT-OPTIONS] [PORT] [BACKEND] : a TLS terminator on
# 127.0.0.1 for tang-server (or the socat address BACKEND), with the
# certificate and key in PEM; sets TLS_PORT, TLS_PID
tls_front() {
	SOCAT_LISTEN=OPENSSL-LISTEN SOCAT_LISTEN_OPTS=",cert=$PKI/$1.pem,verify=0${2:+,$2}" \
		socat_start "${4:-TCP:127.0.0.1:$TANG_PORT}" ${3:+"$3"} || return 1
	TLS_PORT=$SOCAT_PORT TLS_PID=$SOCAT_PID
}

PT='over https: 1.+?~!@#$%^&*();:'"'"'"[]{}_=/`\ '

# round_trip URL : nbde encrypt to URL, then nbde decrypt; prints the plaintext
round_trip() {
	printf '%s' "$PT" | "$NBDE" encrypt tang "{\"url\":\"$1\"}" -y 2>"$TMP/err" |
		"$NBDE" decrypt 2>>"$TMP/err"
}

# refused WHAT URL MESSAGE [ENV-ARGS...] : nbde encrypt to URL (run through
# env with ENV-ARGS) fails with one line on stderr that holds MESSAGE
refused() {
	local what=$1 url=$2 want=$3
	shift 3
	printf x | env "$@" "$NBDE" encrypt tang "{\"url\":\"$url\"}" -y >/dev/null 2>"$TMP/err"
	local rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && grep -qF -- "$want" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 1 ]
	ok $? "$what: refused, one line naming the reason" || diag "exit $rc, wanted: $want"
}

# front_works WHAT PEM SOCAT-OPTIONS : a round trip through a new front
front_works() {
	if tls_front "$2" "$3"; then
		is "$(round_trip "https://localhost:$TLS_PORT")" "$PT" "$1"
	else
		ok 1 "$1 (socat could not start)"
	fi
}

# front_refused WHAT PEM SOCAT-OPTIONS URL-HOST MESSAGE : refused through a new front
front_refused() {
	if tls_front "$2" "$3"; then
		refused "$1" "https://$4:$TLS_PORT" "$5"
	else
		ok 1 "$1 (socat could not start)"
	fi
}

tls_front good || skip_all "socat cannot serve TLS"
GOOD_PORT=$TLS_PORT
URL=https://localhost:$GOOD_PORT

# ---- both ways with clevis (curl) ----
J=$(printf '%s' "$PT" | "$NBDE" encrypt tang "{\"url\":\"$URL\"}" -y 2>"$TMP/err")
ok $? "nbde encrypt tang over https"
is "$(printf '%s' "$J" | clevis decrypt 2>>"$TMP/err")" "$PT" "clevis decrypt (curl, https) opens nbde's JWE"
is "$(printf '%s' "$J" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "nbde decrypt over https opens it"
C=$(printf '%s' "$PT" | clevis encrypt tang "{\"url\":\"$URL\"}" -y 2>>"$TMP/err")
is "$(printf '%s' "$C" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" "nbde decrypt over https opens clevis's JWE"
is "$(round_trip "https://127.0.0.1:$GOOD_PORT")" "$PT" "an address URL matches the certificate's IP address"
is "$(round_trip "HTTPS://localhost:$GOOD_PORT/")" "$PT" "the scheme is case-insensitive, a trailing slash is fine"

# sss fetches its children in threads: two handshakes at once share the CA
# bundle and the PSA key store
tls_front good || skip_all "socat cannot serve TLS twice"
SECOND_PORT=$TLS_PORT SECOND_PID=$TLS_PID
SSS="{\"t\":2,\"pins\":{\"tang\":[{\"url\":\"$URL\"},{\"url\":\"https://localhost:$SECOND_PORT\"}]}}"
is "$(printf '%s' "$PT" | "$NBDE" encrypt sss "$SSS" -y 2>"$TMP/err" | "$NBDE" decrypt 2>>"$TMP/err")" "$PT" \
	"sss over two https servers (concurrent handshakes)"

# ---- protocol versions, suites and key types ----
front_works "a TLS 1.2-only server works" good "max-version=TLS1.2"
front_works "a TLS 1.3-only server works" good "min-version=TLS1.3"
front_works "TLS 1.2 with ChaCha20-Poly1305 only works" good "max-version=TLS1.2,cipher=ECDHE-ECDSA-CHACHA20-POLY1305"
front_works "TLS 1.2 with AES-256-GCM only works" good "max-version=TLS1.2,cipher=ECDHE-ECDSA-AES256-GCM-SHA384"
front_works "an RSA chain over TLS 1.2 (ECDHE-RSA) works" rsa "max-version=TLS1.2"
front_works "an RSA chain over TLS 1.3 (RSA-PSS) works" rsa "min-version=TLS1.3"
front_refused "a CBC-only server (nbde offers AEAD suites only)" good \
	"max-version=TLS1.2,cipher=ECDHE-ECDSA-AES128-SHA256" localhost "TLS handshake failed"
front_refused "a TLS 1.1 server" good "max-version=TLS1.1" localhost "TLS handshake failed"

# ---- certificates that must be refused ----
front_refused "a certificate for another host name" other-name "" localhost \
	"certificate of localhost refused: it is for tang.other.example, not localhost"
refused "a certificate without the address" "https://127.0.0.1:$TLS_PORT" \
	"certificate of 127.0.0.1 refused: it is for tang.other.example, not 127.0.0.1"
# a name from the network reaches the terminal escaped
if tls_front escape; then
	printf x | "$NBDE" encrypt tang "{\"url\":\"https://localhost:$TLS_PORT\"}" -y >/dev/null 2>"$TMP/err"
	grep -qF "it is for evil?[31mred, not localhost" "$TMP/err" && ! grep -q "$(printf '\033')" "$TMP/err"
	ok $? "a certificate's name with a control character is printed escaped"
else
	ok 1 "a certificate's name with a control character is printed escaped (socat could not start)"
fi
front_refused "an expired certificate" expired "" localhost "certificate of localhost refused: it has expired"
front_refused "a certificate from an unknown CA" unknown-ca "" localhost \
	"certificate of localhost refused: it is not signed by a trusted CA (CA bundle $PKI/bundle.pem)"
# TLS 1.2 verifies in its own code path in Mbed TLS
front_refused "TLS 1.2: a certificate for another host name" other-name "max-version=TLS1.2" localhost \
	"certificate of localhost refused: it is for tang.other.example, not localhost"
front_refused "TLS 1.2: an expired certificate" expired "max-version=TLS1.2" localhost \
	"certificate of localhost refused: it has expired"
front_refused "TLS 1.2: a certificate from an unknown CA" unknown-ca "max-version=TLS1.2" localhost \
	"certificate of localhost refused: it is not signed by a trusted CA"
refused "the test CA without SSL_CERT_FILE (the system bundle)" "$URL" \
	"/etc/ssl/certs/ca-certificates.crt" -u SSL_CERT_FILE
refused "a missing CA bundle" "$URL" \
	"cannot read the CA bundle $TMP/no-such-bundle: No such file or directory" SSL_CERT_FILE="$TMP/no-such-bundle"
printf 'not a certificate\n' >"$TMP/junk.pem"
refused "a CA bundle without certificates" "$URL" \
	"no usable certificate in the CA bundle $TMP/junk.pem" SSL_CERT_FILE="$TMP/junk.pem"

# the /rec exchange checks the certificate too: a JWE bound to a port whose
# front now serves an expired certificate does not decrypt
J2=$(printf x | "$NBDE" encrypt tang "{\"url\":\"https://localhost:$SECOND_PORT\"}" -y 2>"$TMP/err")
ok $? "a JWE bound to the second front"
stop_pid "$SECOND_PID"
if tls_front expired "" "$SECOND_PORT"; then
	EXPIRED_PID=$TLS_PID
	printf '%s' "$J2" | "$NBDE" decrypt >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -qF "certificate of localhost refused: it has expired" "$TMP/err"
	ok $? "nbde decrypt refuses the server's expired certificate in the /rec exchange"
else
	skip "cannot listen on port $SECOND_PORT again"
fi

# ---- deadlines, retries and size bounds as for http ----
ms() { date +%s%3N; }
# by DEADLINE-MS SLACK-MS: the latest a command with that deadline may end
# (the deadline is under test and does not scale; the slack does)
by() { echo $(($1 + $(t_isecs "$2"))); }
stop_pid "${EXPIRED_PID:-}"
# a listener that accepts and never answers the ClientHello
if socat_start SYSTEM:"sleep $(t_isecs 30)" "$SECOND_PORT"; then
	t0=$(ms)
	printf '%s' "$J2" | "$NBDE" decrypt --timeout 2 >/dev/null 2>"$TMP/err"
	rc=$? t=$(($(ms) - t0))
	[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ $t -lt "$(by 2000 1500)" ] && grep -qF "timed out in the TLS handshake" "$TMP/err"
	ok $? "a server silent in the handshake fails by the deadline (${t} ms of 2 s), saying so"
	stop_pid "$SOCAT_PID"
else
	skip "cannot listen on port $SECOND_PORT again"
fi
# a listener that closes every connection at once (a reset when the
# ClientHello arrived first): retried until the deadline
if socat_start SYSTEM:true "$SECOND_PORT"; then
	t0=$(ms)
	printf '%s' "$J2" | "$NBDE" decrypt --timeout 2 >/dev/null 2>"$TMP/err"
	rc=$? t=$(($(ms) - t0))
	[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ $t -ge 1500 ] && [ $t -lt "$(by 2000 1500)" ] &&
		grep -qE "TLS handshake failed: (the server closed the connection|Connection reset by peer)" "$TMP/err"
	ok $? "a handshake cut by the server is retried until the deadline (${t} ms of 2 s)"
	stop_pid "$SOCAT_PID"
else
	skip "cannot listen on port $SECOND_PORT again"
fi
# a TLS server whose reply never ends
printf '%s\n' "printf 'HTTP/1.1 200 OK\\r\\nConnection: close\\r\\n\\r\\n'" "exec cat /dev/zero" >"$TMP/endless.sh"
if tls_front good "" "" SYSTEM:"sh $TMP/endless.sh"; then
	refused "an endless reply over TLS stops at the size bound" "https://localhost:$TLS_PORT" "reply body larger than 1 MiB"
else
	ok 1 "an endless reply over TLS (socat could not start)"
fi

# ---- a LUKS volume over https ----
PASS='luks over https passphrase'
printf '%s' "$PASS" >"$TMP/key"
IMG=$TMP/https.img
if luks_image luks2 "$IMG" "$TMP/key"; then
	run_ok "nbde bind tang over https" "$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "{\"url\":\"$URL\"}"
	is "$("$NBDE" list -d "$IMG" -s 1)" "1: tang '{\"url\":\"$URL\"}'" "the binding holds the https URL"
	run_ok "nbde unlock --test over https" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
	clevis luks pass -d "$IMG" -s 1 2>>"$TMP/err" |
		cryptsetup open --test-passphrase --key-slot 1 --key-file - "$IMG" 2>>"$TMP/err"
	ok $? "clevis luks pass (curl, https) recovers keyslot 1's passphrase"
	run_fails "nbde unlock --test refuses the test CA without SSL_CERT_FILE" \
		env -u SSL_CERT_FILE "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 20)"
else
	skip "cryptsetup cannot make a LUKS image here"
fi

# ---- the initramfs hooks copy the CA bundle only for https bindings ----
# initramfs-tools: the hook with hook-functions replaced by a stub that
# records what would be copied; the image's crypttab is the one the
# cryptroot hook would have written.
if [ -f "$IMG" ]; then
	printf 'http.img %s\n' "$TMP/http.img" >"$TMP/crypttab.http"
	printf 'https.img %s none luks\n' "$IMG" >"$TMP/crypttab.https"
	luks_image luks2 "$TMP/http.img" "$TMP/key" &&
		"$NBDE" bind -y -d "$TMP/http.img" -k "$TMP/key" tang "{\"url\":\"$TANG_URL\"}" 2>>"$TMP/err"
	cat >"$TMP/hook-functions" <<-'EOF'
		copy_exec() { echo "copy_exec $*" >>"$DESTDIR/copied"; }
		copy_file() { echo "copy_file $*" >>"$DESTDIR/copied"; }
	EOF
	mkdir -p "$TMP/bin" && ln -sf "$NBDE" "$TMP/bin/nbde"
	sed -e "s|@BINDIR@|$TMP/bin|g" -e "s|/usr/share/initramfs-tools/hook-functions|$TMP/hook-functions|" \
		"$TEST_DIR/../hooks/initramfs-tools/hooks/nbde" >"$TMP/itools-hook"
	for kind in http https; do
		rm -rf "$TMP/dest-$kind" && mkdir -p "$TMP/dest-$kind/cryptroot"
		cp "$TMP/crypttab.$kind" "$TMP/dest-$kind/cryptroot/crypttab"
		DESTDIR=$TMP/dest-$kind sh "$TMP/itools-hook" 2>>"$TMP/err"
	done
	grep -qx "copy_file CA bundle /etc/ssl/certs/ca-certificates.crt" "$TMP/dest-https/copied" ||
		[ ! -s /etc/ssl/certs/ca-certificates.crt ]
	ok $? "initramfs-tools hook: an https binding brings the CA bundle"
	! grep -q "copy_file" "$TMP/dest-http/copied"
	ok $? "initramfs-tools hook: an http binding does not"

	# dracut: the module's install() with dracut's functions as stubs
	mkdir -p "$TMP/sysroot-http/etc" "$TMP/sysroot-https/etc"
	cp "$TMP/crypttab.http" "$TMP/sysroot-http/etc/crypttab"
	cp "$TMP/crypttab.https" "$TMP/sysroot-https/etc/crypttab"
	for kind in http https; do
		PATH=$TMP/bin:$PATH dracutsysrootdir=$TMP/sysroot-$kind bash -c '
			inst_simple() { echo "inst_simple $*"; }
			dwarn() { echo "dwarn $*" >&2; }
			dracut_module_included() { return 1; }
			inst_hook() { :; }; dracut_need_initqueue() { :; }; chmod() { :; }
			. "$1"; install' _ "$TEST_DIR/../hooks/dracut/60nbde/module-setup.sh" \
			>"$TMP/dracut-$kind" 2>>"$TMP/err"
	done
	grep -qx "inst_simple /etc/ssl/certs/ca-certificates.crt" "$TMP/dracut-https" ||
		[ ! -s /etc/ssl/certs/ca-certificates.crt ]
	ok $? "dracut module: an https binding brings the CA bundle"
	! grep -q "ca-certificates" "$TMP/dracut-http"
	ok $? "dracut module: an http binding does not"
else
	skip "no LUKS image for the hook tests"
	skip "no LUKS image for the hook tests"
	skip "no LUKS image for the hook tests"
	skip "no LUKS image for the hook tests"
fi

done_testing
