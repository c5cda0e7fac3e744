#!/usr/bin/env bash
# 46-secrets.t - no core dump from a process holding a key or passphrase
# (issue 9, item 6): every applet marked SECRETS in cmd/applets.def is
# undumpable with a core size limit of 0 from the moment it runs, and the
# systemd units set LimitCORE=0.
#
# How it is seen from outside: the applets run as nobody, and a non-root
# process's /proc/PID files belong to root only while it is undumpable
# (PR_SET_DUMPABLE 0); /proc/PID/limits shows its RLIMIT_CORE. The test
# raises its own core limit to unlimited first, so an applet that does not
# lower it shows. Each applet is caught while it waits (on stdin, a mute
# server, an ask file); the two that never wait (keygen, rotate) are traced.
. test/lib.sh
need cryptsetup socat strace setpriv
[ "$(id -u)" = 0 ] || skip_all "needs root: the applets run as another user to show who owns their /proc files"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
S=${TEST_SLOWDOWN:-1}
ulimit -c unlimited 2>/dev/null || skip_all "cannot raise the core size limit"
NOBODY=$(id -u nobody)

chmod 755 "$TMP"	# nobody reads the images, keys and binary below
mkdir "$TMP/bin"
cp "$NBDE" "$TMP/bin/nbde"
ln -s nbde "$TMP/bin/clevis-decrypt"
NB=$TMP/bin/nbde
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)	# execs: $! is the applet

# hardened PID: the applet in PID, running as nobody, is (or soon becomes)
# undumpable - its /proc files are root's - with a core limit of 0 0
hardened() {
	local pid=$1 i
	for ((i = 0; i < 100 * S; i++)); do
		kill -0 "$pid" 2>/dev/null || { echo "# $pid exited"; return 1; }
		if [ "$(readlink "/proc/$pid/exe")" = "$NB" ] &&
			[ "$(awk '/^Uid:/ { print $3 }' "/proc/$pid/status")" = "$NOBODY" ] &&
			[ "$(stat -c %u "/proc/$pid/status")" = 0 ] &&
			grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits"; then
			return 0
		fi
		sleep 0.1
	done
	sed 's/^/# /' "/proc/$pid/limits" | grep -i core
	echo "# /proc/$pid/status owner: $(stat -c %U "/proc/$pid/status")"
	return 1
}

# check NAME CMD...: CMD runs as nobody in the background and is hardened
check() {
	local name=$1 pid
	shift
	"${AS_NOBODY[@]}" "$@" <&8 >/dev/null 2>"$TMP/$name.err" &
	pid=$!
	T_PIDS+=($pid)
	hardened $pid
	local rc=$?
	ok $rc "$name: undumpable, core limit 0 (while it waits)"
	[ $rc -eq 0 ] || sed 's/^/# stderr: /' "$TMP/$name.err" | head -5
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
}

# stdin that never ends: a FIFO open for reading and writing
mkfifo "$TMP/hold"
exec 8<>"$TMP/hold"

# on_free_port CMD...: runs CMD in the background with @PORT@ in it replaced
# by a free port; sets PORT and PID once it listens. A connection of another
# test may hold the port by the time CMD binds it: then another port.
on_free_port() {
	local try i args
	for try in 1 2 3 4 5; do
		PORT=$(free_port) || continue
		args=("${@//@PORT@/$PORT}")
		"${args[@]}" <&8 >/dev/null 2>"$TMP/srv.err" &
		PID=$!
		T_PIDS+=($PID)
		for ((i = 0; i < 100 * S; i++)); do
			kill -0 $PID 2>/dev/null || break
			(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
			sleep 0.05
		done
		kill $PID 2>/dev/null
		grep -qi 'in use' "$TMP/srv.err" || break
	done
	sed 's/^/# /' "$TMP/srv.err"
	return 1
}

# a server that accepts and never answers: tang clients wait on it
on_free_port socat TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr,fork SYSTEM:'cat >/dev/null' ||
	skip_all "cannot start the mute server"
mute=$PORT

# keys (for the servers, and an advertisement for the bindings)
mkdir "$TMP/db"
"$NBDE" tangd-keygen "$TMP/db" >/dev/null
chown -R nobody "$TMP/db"
printf 'GET /adv HTTP/1.0\r\n\r\n' | "$NBDE" tangd "$TMP/db" 2>/dev/null | sed '1,/^\r$/d' >"$TMP/adv.jws"

# a LUKS2 image bound to the mute server, readable by nobody
IMG=$TMP/v.img
truncate -s 20M "$IMG"
printf 'pass-word' >"$TMP/key"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file "$TMP/key" "$IMG" || skip_all "cryptsetup luksFormat failed"
"$NBDE" bind -y -s 1 -d "$IMG" -k "$TMP/key" tang "{\"url\":\"http://127.0.0.1:$mute\",\"adv\":\"$TMP/adv.jws\"}" >/dev/null
ok $? "a tang binding (keyslot 1) to a server that never answers"
chmod 644 "$IMG" "$TMP/key"
JWE=$(printf 'hello' | "$NBDE" encrypt tang "{\"url\":\"http://127.0.0.1:$mute\",\"adv\":\"$TMP/adv.jws\"}")
printf '%s' "$JWE" >"$TMP/jwe"

# an ask directory with a prompt askpass leaves alone but waits on (-l)
mkdir "$TMP/ask"
printf '[Ask]\nSocket=%s\nId=other:x\n' "$TMP/ask/sck.x" >"$TMP/ask/ask.x"

LONG=$((600 * S))
on_free_port "${AS_NOBODY[@]}" "$NB" tang-server -l -a 127.0.0.1 -p @PORT@ "$TMP/db" && hardened $PID
ok $? "tang-server: undumpable, core limit 0 (while it waits)"
kill $PID 2>/dev/null
check "tangd (inetd mode)" "$NB" tangd "$TMP/db"
check encrypt "$NB" encrypt null '{}'
check decrypt "$NB" decrypt
check "clevis decrypt" "$NB" clevis decrypt
check "clevis-decrypt (by its link name)" "$TMP/bin/clevis-decrypt"
check "askpass -l (systemd agent)" "$NB" askpass -l -p "$TMP/ask" --timeout "$LONG"
# -a: any executable that exists (no cryptsetup askpass on a host); none runs
check "askpass -c (cryptsetup askpass)" "$NB" askpass -c -f "$TMP/nofifo" -a "$TMP/bin/clevis-decrypt" --timeout "$LONG"
check "unlock (on a mute server)" "$NB" unlock -d "$IMG" --test --timeout "$LONG"
check "pass (on a mute server)" "$NB" pass -d "$IMG" -s 1 --timeout "$LONG"
check "regen (on a mute server)" "$NB" regen -q -d "$IMG" -s 1
check "bind (fetching an advertisement)" "$NB" bind -y -d "$IMG" -k "$TMP/key" tang "{\"url\":\"http://127.0.0.1:$mute\"}"
# decrypt of a tang JWE: waits on the mute server, not on stdin
"${AS_NOBODY[@]}" "$NB" decrypt <"$TMP/jwe" >/dev/null 2>&1 &
pid=$!
T_PIDS+=($pid)
hardened $pid
ok $? "decrypt (a tang JWE, on a mute server): undumpable, core limit 0"
kill $pid 2>/dev/null

# keygen and rotate never wait: the trace shows both calls succeed before
# the first key file is created
traced_before_keys() { # traced_before_keys NAME TRACE
	local prctl core first
	prctl=$(grep -nE 'prctl\(PR_SET_DUMPABLE, (0|SUID_DUMP_DISABLE)\) += 0' "$2" | head -1 | cut -d: -f1)
	core=$(grep -nE '(prlimit64\(0, |setrlimit\()RLIMIT_CORE, \{rlim_cur=0, rlim_max=0\}.* = 0' "$2" | head -1 | cut -d: -f1)
	# the first file created, linked or renamed (nothing but keys is)
	first=$(grep -nE 'O_CREAT|link(at)?\(|rename(at2?)?\(' "$2" | head -1 | cut -d: -f1)
	[ -n "$prctl" ] && [ -n "$core" ] && [ -n "$first" ] && [ "$prctl" -lt "$first" ] && [ "$core" -lt "$first" ]
	ok $? "$1: undumpable and core limit 0 before it writes a key"
	[ $? -eq 0 ] || grep -E 'prctl|RLIMIT_CORE' "$2" | sed 's/^/# /'
}
mkdir "$TMP/kg"
strace -I1 -f -qq -o "$TMP/kg.trace" -e trace=prctl,prlimit64,setrlimit,open,openat,link,linkat,rename,renameat,renameat2 \
	"$NB" tangd-keygen "$TMP/kg" >/dev/null 2>&1
traced_before_keys tangd-keygen "$TMP/kg.trace"
strace -I1 -f -qq -o "$TMP/rot.trace" -e trace=prctl,prlimit64,setrlimit,open,openat,link,linkat,rename,renameat,renameat2 \
	"$NB" tangd-rotate-keys -d "$TMP/kg" >/dev/null 2>&1
traced_before_keys tangd-rotate-keys "$TMP/rot.trace"

# tang-server -u: switching users resets dumpable to fs.suid_dumpable, so
# it must make itself undumpable again after the switch
on_free_port strace -I1 -f -qq -o "$TMP/u.trace" -e trace=prctl,setuid,setresuid \
	"$NB" tang-server -l -a 127.0.0.1 -p @PORT@ -u nobody "$TMP/db"
T_PIDS+=($(awk '{ print $1; exit }' "$TMP/u.trace"))	# the server: strace leaves it running
# it listens before it switches: wait for the switch and what follows
dropped_then_hardened() {
	local sw again
	sw=$(grep -nE "set(res)?uid\(($NOBODY|.*$NOBODY.*)\) += 0" "$TMP/u.trace" | tail -1 | cut -d: -f1)
	again=$(grep -nE 'prctl\(PR_SET_DUMPABLE, (0|SUID_DUMP_DISABLE)\) += 0' "$TMP/u.trace" | tail -1 | cut -d: -f1)
	[ -n "$sw" ] && [ -n "$again" ] && [ "$again" -gt "$sw" ]
}
for ((i = 0; i < 100 * S; i++)); do dropped_then_hardened && break; sleep 0.05; done
dropped_then_hardened
ok $? "tang-server -u: undumpable again after switching to the user"

for u in hooks/tangd@.service hooks/nbde-tangd.service hooks/systemd/nbde-askpass.service; do
	grep -qx 'LimitCORE=0' "$u"
	ok $? "$u: LimitCORE=0"
done

done_testing
