#!/bin/bash
# 22-tang-keys.t - the tang key store under change and under attack:
# rotation and keygen never overwrite a key (a JWE bound to the first key
# still opens after two rotations); Kubernetes-style symlinked key files are
# served while links leading out of the directory are refused (openat2 and
# the fallback walk for kernels without it); keys edited in place stop or
# change within seconds; and root creating keys in a directory owned by
# another user never chowns or writes through a symlink that user swaps in
# (a racer as that user, with strace delaying the syscalls around the window).
. "$(dirname "$0")/lib.sh"
need jose curl
[ -x "$NBDE" ] || skip_all "$NBDE not built"

BIN=$TMP/bin
mkdir -p "$BIN"
for a in tangd tangd-keygen tangd-rotate-keys; do ln -s "$NBDE" "$BIN/$a"; done
SLOW=${TEST_SLOWDOWN:-1}

scaled() { awk -v a="$1" -v s="$SLOW" 'BEGIN { printf "%d", a * s }'; } # scaled N : N times the slowdown
ms() { date +%s%3N; }
thp() { jose jwk thp -i "$1" -a S256; }
get() { curl -sS -g --max-time "$(scaled 10)" "http://127.0.0.1:$PORT$1"; }
rec_code() { # rec_code THP : HTTP status of POST /rec/THP with the client key
	curl -s --max-time "$(scaled 10)" -o /dev/null -w '%{http_code}' -X POST \
		-H 'Content-Type: application/jwk+json' --data-binary @"$TMP/client.pub.jwk" \
		"http://127.0.0.1:$PORT/rec/$1"
}
adv_signed_by() { get /adv >"$TMP/adv.jws" && jose jws ver -i "$TMP/adv.jws" -k "$1" 2>/dev/null; }
rec_not_200() { [ "$(rec_code "$1")" != 200 ]; }
poll() { # poll SECONDS CMD... : until CMD succeeds; false after SECONDS (scaled)
	local end=$(($(ms) + $(scaled "$1") * 1000))
	shift
	until "$@"; do
		[ "$(ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# settled PATH... : nothing changed in the last 3 s (the server re-checks
# per request for 2 s after a change; past that only its once-a-second check
# can notice an edit, and that is what the edit tests test)
settled() { [ $(($(date +%s) - $(stat -L -c %Z "$@" | sort -n | tail -1))) -ge 3 ]; }
owns_port() { # owns_port PID PORT : PID holds the socket listening on 127.0.0.1:PORT
	local inode
	for inode in $(awk -v p="$(printf ':%04X' "$2")" '$2 ~ p"$" && $4 == "0A" { print $10 }' /proc/net/tcp); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -q "socket:\[$inode\]" && return 0
	done
	return 1
}
start_server() { # start_server DIR : standalone on 127.0.0.1, log in $TMP/server.log
	for _ in 1 2 3; do	# another test on this machine may take the free port first
		PORT=$(free_port)
		"$BIN/tangd" -l -a 127.0.0.1 -p "$PORT" "$1" 2>>"$TMP/server.log" &
		SERVER=$!
		T_PIDS+=($!)
		wait_port "$PORT" && owns_port "$SERVER" "$PORT" && return 0
		kill "$SERVER" 2>/dev/null
		sed 's/^/# server: /' "$TMP/server.log" | tail -3
	done
	return 1
}
stop_server() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
pipe_request() { # pipe_request DIR REQUEST [WRAPPER...] : one request through stdin/stdout (inetd mode)
	local dir=$1 req=$2
	shift 2
	printf '%b' "$req" | "$@" "$BIN/tangd" "$dir" 2>"$TMP/pipe.err"
}
rec_request() { # the raw bytes of POST /rec/THP with the client key
	local body
	body=$(cat "$TMP/client.pub.jwk")
	printf 'POST /rec/%s HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\nConnection: close\\r\\n\\r\\n%s' \
		"$1" "${#body}" "$body"
}
ADV_REQUEST='GET /adv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
status_line() { head -1 | tr -d '\r'; }
body_of() { sed '1,/^\r$/d'; }

jose jwk gen -i '{"alg":"ECMR","crv":"P-521"}' -o "$TMP/client.jwk"
jose jwk pub -i "$TMP/client.jwk" -o "$TMP/client.pub.jwk"

# ---- rotation and keygen never overwrite a key ----
R=$TMP/rot
mkdir "$R"
"$BIN/tangd-keygen" "$R" sig exc
cp "$R/exc.jwk" "$TMP/exc1.jwk"
EXC1=$(thp "$R/exc.jwk")
start_server "$R"
J=$(echo "bound to the first key" | "$NBDE" encrypt tang "{\"url\":\"http://127.0.0.1:$PORT\"}" -y)
ok $? "nbde encrypt tang against the first pair"
run_ok "rotate" "$BIN/tangd-rotate-keys" -d "$R"
run_ok "tangd-keygen with the same names again" "$BIN/tangd-keygen" "$R" sig exc
cp "$R/exc.jwk" "$TMP/exc2.jwk"
run_fails "tangd-keygen with names that exist fails" "$BIN/tangd-keygen" "$R" sig exc
grep -q "exc.jwk exists\|sig.jwk exists" "$TMP/.err"
ok $? "... saying the key file exists"
cmp -s "$R/exc.jwk" "$TMP/exc2.jwk"
ok $? "... and the existing key is unchanged"
run_ok "rotate again (-v)" "$BIN/tangd-rotate-keys" -v -d "$R"
grep -q "exc.jwk -> .exc.1.jwk" "$TMP/.err"
ok $? "rotate -v names the new hidden name .exc.1.jwk"
cmp -s "$R/.exc.jwk" "$TMP/exc1.jwk"
ok $? "the first exchange key is still .exc.jwk"
cmp -s "$R/.exc.1.jwk" "$TMP/exc2.jwk"
ok $? "the second is .exc.1.jwk"
"$BIN/tangd-keygen" "$R" sig exc
run_ok "keygen sig exc and rotate a third time" "$BIN/tangd-rotate-keys" -d "$R"
cmp -s "$R/.exc.jwk" "$TMP/exc1.jwk" && cmp -s "$R/.exc.1.jwk" "$TMP/exc2.jwk" && [ -f "$R/.exc.2.jwk" ]
ok $? "... hides into .exc.2.jwk, the older hidden keys untouched"
is "$(rec_code "$EXC1")" 200 "/rec with the first exchange key still answers"
is "$(printf '%s' "$J" | "$NBDE" decrypt 2>&1)" "bound to the first key" \
	"a JWE bound to the first key still decrypts through tang-server"
stop_server
run_fails "tangd-keygen with a name holding '/' fails" "$BIN/tangd-keygen" "$R" ../escape exc3
grep -q "invalid key name" "$TMP/.err" && [ ! -e "$TMP/escape.jwk" ]
ok $? "... with a message, nothing written outside"
P=$TMP/partial
mkdir "$P"
"$BIN/tangd-keygen" "$P" old exc
run_fails "tangd-keygen when only EXC exists fails" "$BIN/tangd-keygen" "$P" sig exc
[ ! -e "$P/sig.jwk" ]
ok $? "... and leaves no lone new signing key"

# ---- Kubernetes-style symlinked key directory ----
K=$TMP/k8s
O=$TMP/outside
mkdir -p "$K/..2026_01_01_00_00_00.1" "$O"
"$BIN/tangd-keygen" "$K/..2026_01_01_00_00_00.1" sig exc
ln -s ..2026_01_01_00_00_00.1 "$K/..data"
ln -s ..data/sig.jwk "$K/sig.jwk"
ln -s ..data/exc.jwk "$K/exc.jwk"
"$BIN/tangd-keygen" "$O" osig oexc
ln -s ../outside/oexc.jwk "$K/up.jwk"
ln -s "$O/osig.jwk" "$K/abs.jwk"
ln -s ..data/../../outside/oexc.jwk "$K/deep.jwk"
"$BIN/tangd-keygen" "$K/..2026_01_01_00_00_00.1" zsig zexc
ln -s ..data/../..data/zexc.jwk "$K/.zigzag.jwk"
: >"$TMP/server.log"
start_server "$K"
adv_signed_by "$K/sig.jwk"
ok $? "symlinked key files (NAME.jwk -> ..data/NAME.jwk) are served: adv verifies"
jose jws ver -i "$TMP/adv.jws" -k "$O/osig.jwk" 2>/dev/null
ok $((!$?)) "... a signing key linked from outside the directory does not sign it"
is "$(rec_code "$(thp "$K/exc.jwk")")" 200 "/rec with the symlinked exchange key"
is "$(rec_code "$(thp "$O/oexc.jwk")")" 404 "/rec with an exchange key linked from outside => 404"
echo k8s | "$NBDE" encrypt tang "{\"url\":\"http://127.0.0.1:$PORT\"}" -y >"$TMP/k8s.jwe" 2>"$TMP/.err"
is "$("$NBDE" decrypt <"$TMP/k8s.jwe" 2>&1)" k8s "nbde encrypt/decrypt round trip on the symlinked directory"
for f in up abs deep; do
	grep -q "Refusing key file $K/$f.jwk: a symlink that leads out" "$TMP/server.log"
	ok $? "a warning names $f.jwk (leads outside)"
done
is "$(rec_code "$(thp "$K/.zigzag.jwk")")" 200 "a link through .. that stays inside is read (/rec with it)"
grep -q "zigzag" "$TMP/server.log"
ok $((!$?)) "... without a warning"
# the Kubernetes update: a new timestamped directory, ..data swapped atomically
mkdir "$K/..2026_01_02_00_00_00.1"
"$BIN/tangd-keygen" "$K/..2026_01_02_00_00_00.1" sig exc
ln -s ..2026_01_02_00_00_00.1 "$K/..data_tmp"
mv -T "$K/..data_tmp" "$K/..data"
poll 10 adv_signed_by "$K/..2026_01_02_00_00_00.1/sig.jwk"
ok $? "a ..data swap is served (adv signed by the new key)"
stop_server

# the same without openat2 (kernels before 5.6, or seccomp filters that predate it)
if command -v strace >/dev/null && strace -qq -o /dev/null -e trace=none true 2>/dev/null; then
	for err in ENOSYS EPERM; do
		inject=(strace -f -qq -o "$TMP/strace.$err" -e trace=?openat2 -e inject=?openat2:error=$err)
		pipe_request "$K" "$ADV_REQUEST" "${inject[@]}" >"$TMP/pipe.out"
		grep -q "openat2(.*(INJECTED)" "$TMP/strace.$err"
		ok $? "openat2 answers $err (injected)"
		body_of <"$TMP/pipe.out" >"$TMP/pipe.adv"
		jose jws ver -i "$TMP/pipe.adv" -k "$K/sig.jwk" 2>/dev/null
		ok $? "... the fallback walk reads the symlinked keys: adv verifies"
		jose jws ver -i "$TMP/pipe.adv" -k "$O/osig.jwk" 2>/dev/null
		ok $((!$?)) "... not signed by the key outside"
		n=0
		for f in up abs deep; do grep -q "Refusing key file $K/$f.jwk" "$TMP/pipe.err" && n=$((n + 1)); done
		is "$n" 3 "... the three links leading out are refused by name"
		pipe_request "$K" "$(rec_request "$(thp "$K/exc.jwk")")" "${inject[@]}" >"$TMP/pipe.out"
		is "$(status_line <"$TMP/pipe.out")" "HTTP/1.1 200 OK" "... /rec with the symlinked exchange key"
		pipe_request "$K" "$(rec_request "$(thp "$O/oexc.jwk")")" "${inject[@]}" >"$TMP/pipe.out"
		is "$(status_line <"$TMP/pipe.out")" "HTTP/1.1 404 Not Found" "... /rec with the key outside => 404"
	done
	# odd links: both ways must accept and refuse exactly the same files
	W=$TMP/walk
	mkdir -p "$W/sub"
	"$BIN/tangd-keygen" "$W/sub" s e
	ln -s loop2.jwk "$W/loop1.jwk"
	ln -s loop1.jwk "$W/loop2.jwk"
	ln -s sub/missing.jwk "$W/dangling.jwk"
	mkdir "$W/dir.jwk"
	ln -s sub/ "$W/trailing.jwk"
	ln -s sub/s.jwk/ "$W/slashfile.jwk"
	ln -s ./sub/../sub/./s.jwk "$W/dots.jwk"
	ln -s sub//e.jwk "$W/dslash.jwk"
	ln -s "../$(basename "$W")/sub/e.jwk" "$W/reenter.jwk"
	ln -s "/proc/self/root$W/sub/e.jwk" "$W/magic.jwk"
	mkfifo "$W/fifo.jwk"
	pipe_request "$W" "$ADV_REQUEST" >/dev/null
	grep '^tangd: ' "$TMP/pipe.err" | sort >"$TMP/walk.openat2"
	inject=(strace -f -qq -o /dev/null -e trace=?openat2 -e inject=?openat2:error=ENOSYS)
	pipe_request "$W" "$ADV_REQUEST" "${inject[@]}" >/dev/null
	grep '^tangd: ' "$TMP/pipe.err" | sort >"$TMP/walk.fallback"
	is "$(cat "$TMP/walk.fallback")" "$(cat "$TMP/walk.openat2")" \
		"loops, dangling and odd links: the fallback walk decides as openat2 does"
	is "$(grep -c . "$TMP/walk.openat2")" 9 "... 9 of the 11 names skipped (dots.jwk and dslash.jwk read)"
else
	skip "strace cannot trace here: the openat2 fallback is not exercised"
fi

# a symlinked key whose target is edited in place: only the target's identity changes
start_server "$K"
EXC_K=$(thp "$K/exc.jwk")
poll 10 settled "$K" "$K/..data/exc.jwk" "$K/exc.jwk"
is "$(rec_code "$EXC_K")" 200 "/rec with the new symlinked exchange key"
[ "$(id -u)" = 0 ] || chmod u+w "$K/..data/exc.jwk"
: >"$K/..data/exc.jwk"
poll 10 rec_not_200 "$EXC_K"
ok $? "... stops answering when its target is truncated in place"
stop_server

# ---- keys edited in place ----
E=$TMP/edit
mkdir "$E"
"$BIN/tangd-keygen" "$E" sig exc
# old timestamps: nothing about the directory looks recently changed
touch -d '2020-01-01 00:00' "$E/sig.jwk" "$E/exc.jwk" "$E"
start_server "$E"
EXC=$(thp "$E/exc.jwk")
poll 10 settled "$E/sig.jwk" "$E/exc.jwk" "$E"
is "$(rec_code "$EXC")" 200 "/rec with the exchange key before the edit"
[ "$(id -u)" = 0 ] || chmod u+w "$E/exc.jwk" "$E/sig.jwk"
dir_mtime=$(stat -c %Y "$E")
: >"$E/exc.jwk"
poll 10 rec_not_200 "$EXC"
ok $? "an exchange key truncated in place stops answering /rec"
is "$(stat -c %Y "$E")" "$dir_mtime" "... (the directory's mtime did not move)"
jose jwk gen -i '{"alg":"ES512"}' -o "$TMP/newsig.jwk"
cat "$TMP/newsig.jwk" >"$E/sig.jwk"
poll 10 adv_signed_by "$TMP/newsig.jwk"
ok $? "a signing key overwritten in place changes the advertisement"
stop_server

# ---- root creating keys in a directory another user owns ----
RUID=
if [ "$(id -u)" != 0 ]; then
	skip "not root: the chown race needs root creating keys for another user"
elif ! command -v strace >/dev/null || ! command -v setpriv >/dev/null; then
	skip "strace or setpriv missing"
elif ! strace -qq -o /dev/null -e trace=none true 2>/dev/null; then
	skip "strace cannot trace here"
else
	# a throwaway uid nobody uses (no passwd entry needed with setpriv)
	for u in $(seq 61000 61999); do
		getent passwd "$u" >/dev/null || getent group "$u" >/dev/null || pgrep -U "$u" >/dev/null ||
			{ RUID=$u; break; }
	done
	[ -n "$RUID" ] || skip "no free uid in 61000-61999"
fi
if [ -n "$RUID" ]; then
	chmod 0711 "$TMP"	# the racer reaches its directory
	D=$TMP/race
	V=$TMP/victim
	mkdir "$D"
	chown "$RUID:$RUID" "$D"
	echo "root's file" >"$V"
	chmod 0600 "$V"
	victim_before="$(stat -c '%u:%g %a' "$V") $(sha256sum <"$V")"
	# The racer, as the directory's owner: every regular file that appears
	# (temporary or final) is replaced by a symlink to root's victim file.
	setpriv --reuid="$RUID" --regid="$RUID" --clear-groups env D="$D" V="$V" STOP="$TMP/race.stop" bash -c '
		while [ ! -e "$STOP" ]; do
			for f in "$D"/* "$D"/.*; do
				[ -f "$f" ] && [ ! -L "$f" ] || continue
				ln -sfn "$V" "$D/swap" && mv -fT "$D/swap" "$f"
			done
			sleep 0.01
		done' &
	RACER=$!
	T_PIDS+=($RACER)
	# every call that sets owner or mode or renames waits, so the racer
	# has its window wherever the code under test has one
	calls='?chown,?fchown,?fchownat,?lchown,?chmod,?fchmod,?fchmodat,?rename,?renameat,?renameat2,?linkat'
	slow=(strace -f -qq -o /dev/null -e trace="$calls" -e inject="$calls:delay_enter=$(scaled 200000)")
	for i in 1 2 3 4; do
		"${slow[@]}" "$BIN/tangd-keygen" "$D" 2>/dev/null
		"${slow[@]}" "$BIN/tangd-rotate-keys" -d "$D" 2>/dev/null
	done
	# a root-run server that makes the first pair itself
	for f in "$D"/*.jwk; do mv "$f" "$D/.$(basename "$f").old.jwk"; done
	pipe_request "$D" "$ADV_REQUEST" "${slow[@]}" >/dev/null
	touch "$TMP/race.stop"
	wait "$RACER"
	links=$(find "$D" -maxdepth 1 -lname "$V" | wc -l)
	[ "$links" -gt 0 ]
	ok $? "the racer swapped symlinks in ($links)"
	is "$(stat -c '%u:%g %a' "$V") $(sha256sum <"$V")" "$victim_before" \
		"root's victim file keeps its owner, mode and content"
	find "$D" -maxdepth 1 -name '*.jwk' -type l -delete
	rm -f "$D"/*.jwk
	run_ok "tangd-keygen as root without the racer" "$BIN/tangd-keygen" "$D"
	is "$(stat -c '%u:%g %a' "$D"/*.jwk | sort -u)" "$RUID:$RUID 440" \
		"... new keys belong to the directory's owner, mode 0440"
	ln -s "$V" "$D/planted.jwk"
	run_fails "keygen onto a name that is a symlink to root's file fails" "$BIN/tangd-keygen" "$D" planted other
	is "$(stat -c '%u:%g %a' "$V") $(sha256sum <"$V")" "$victim_before" "... and writes nothing through it"
fi

done_testing
