# lib.sh - TAP helpers and shared fixtures for the shell test suites.
#
# Every test file starts with
#     . "$(dirname "$0")/lib.sh"
# and is run by prove from the repository root (make check, make check-fast)
# with NBDE set to the binary under test and JOSETOOL to the test front end
# of the JOSE core. Servers started by tests bind 127.0.0.1 or ::1 only.
#
# TEST_SLOWDOWN (default 1): one factor for every wait and time bound in the
# tests. A loaded machine (CI sharing its cores with other jobs, a slow VM)
# sets e.g. TEST_SLOWDOWN=3, so a slow run is slow, not red. What scales is
# how long a test waits for something (t_secs, t_isecs, wait_until and the
# helpers built on it) and the slack it allows over a deadline; the deadline
# under test itself and a "not before N s" bound do not.
#
# Failure diagnostics go to stderr as "# " lines, so prove shows them without
# -v: is() prints got/expected, run_ok() the command's stderr, and every
# failing test point the tail of each log registered with t_log (server logs,
# the common $TMP/err) that changed since the previous test point.

set -u
TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${NBDE:=$PWD/nbde}"
: "${JOSETOOL:=$PWD/build/musl/josetool}"
SLOW=${TEST_SLOWDOWN:-1}
if ! [[ $SLOW =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ $SLOW =~ ^0*(\.0*)?$ ]]; then
	echo "Bail out! TEST_SLOWDOWN='$SLOW' is not a positive number"
	exit 255
fi
T_N=0
T_FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nbde-test.XXXXXX")
T_PIDS=()
T_LOGS=("$TMP/err")
T_LOG_STATE=

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap t_cleanup EXIT

# ---- time: one factor for every bound ----

t_secs() { # t_secs N : N seconds (or any duration) times TEST_SLOWDOWN; decimals allowed
	awk -v n="$1" -v f="$SLOW" 'BEGIN { s = sprintf("%.3f", n * f); sub(/\.?0+$/, "", s); print s }'
}

t_isecs() { # t_isecs N : t_secs N rounded up to whole seconds (for options that take integers)
	awk -v n="$1" -v f="$SLOW" 'BEGIN { v = n * f; i = int(v); if (i < v) i++; printf "%d\n", i }'
}

wait_until() { # wait_until SECS CMD... : polls CMD until it succeeds; 1 after SECS (scaled)
	local secs=$1 n
	shift
	n=$(awk -v s="$secs" -v f="$SLOW" 'BEGIN { n = int(s * f * 20); print n < 1 ? 1 : n }')
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		n=$((n - 1))
		sleep 0.05
	done
	"$@"
}

# ---- TAP ----

diag() { # diag TEXT... : each argument as a "# " line on stderr
	local l
	for l in "$@"; do printf '# %s\n' "$l"; done >&2
}

t_log() { # t_log FILE... : show FILE's tail when a later test point fails
	T_LOGS+=("$@")
}

t_log_state() { # size and time of each registered log, one line each
	stat -c '%n %s %.9Y' "${T_LOGS[@]}" 2>/dev/null
}

t_show_logs() { # the tail of every registered log that changed since the previous test point
	local f
	for f in "${T_LOGS[@]}"; do
		[ -s "$f" ] || continue
		grep -qxF "$(stat -c '%n %s %.9Y' "$f")" <<<"$T_LOG_STATE" && continue
		tail -n 8 "$f" | sed "s|^|# ${f#"$TMP/"}: |" >&2
	done
}

ok() { # ok COND-EXIT-STATUS DESCRIPTION
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
		diag "failed test $T_N - $2"
		t_show_logs
	fi
	T_LOG_STATE=$(t_log_state)
	return "$1"
}

run_ok() { # run_ok DESCRIPTION CMD... : passes when CMD exits 0
	local d=$1; shift
	"$@" >"$TMP/.out" 2>"$TMP/.err"
	local rc=$?
	ok $rc "$d" || sed 's/^/# stderr: /' "$TMP/.err" | head -n 8 >&2
	return $rc
}

run_fails() { # run_fails DESCRIPTION CMD... : passes when CMD exits non-zero
	local d=$1; shift
	"$@" >"$TMP/.out" 2>"$TMP/.err"
	local rc=$?
	[ $rc -ne 0 ] && [ $rc -lt 128 ]
	ok $? "$d" || { diag "exit status $rc"; return 1; }
}

is() { # is GOT EXPECTED DESCRIPTION
	if [ "$1" == "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:      ${1:0:300}" "expected: ${2:0:300}"
		return 1
	fi
}

skip() { # skip REASON : one skipped test
	T_N=$((T_N + 1))
	echo "ok $T_N # SKIP $1"
}

skip_all() { # skip_all REASON : the whole file
	echo "1..0 # SKIP $1"
	exit 0
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

need() { # need CMD... : skip the file when a tool is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip_all "$c is not installed"
	done
}

# ---- ports and servers ----
#
# A server that can report its port binds port 0 (tang_start). For peers
# that cannot (tangd under socat, blackholes), free_port picks below the
# kernel's ephemeral range: a port there is taken only by someone binding it
# by number, never by an outgoing connection between the probe and the bind;
# socat_start still checks that its own socat holds the port and retries.

port_open() { # port_open PORT [HOST] : something accepts TCP connections there
	(exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

wait_port() { # wait_port PORT [SECS] : until something listens on 127.0.0.1:PORT (10 s, scaled);
	# for a server that reports its port (tang_start) or whose socket is checked (socat_start), not needed
	wait_until "${2:-10}" port_open "$1"
}

free_port() { # prints a TCP port nothing listens on, from 1024 up to the ephemeral range
	local low _ p
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	[ "$low" -gt 2048 ] || low=32768
	for _ in $(seq 100); do
		p=$((1024 + (RANDOM * 32768 + RANDOM) % (low - 1024)))
		port_open "$p" || { echo "$p"; return 0; }
	done
	return 1
}

owns_port() { # owns_port PID PORT : PID holds the listening socket on 127.0.0.1:PORT
	local hex inode
	printf -v hex '0100007F:%04X' "$2"
	inode=$(awk -v a="$hex" '$2 == a && $4 == "0A" { print $10; exit }' /proc/net/tcp)
	[ -n "$inode" ] && ls -l "/proc/$1/fd" 2>/dev/null | grep -q "socket:\[$inode\]"
}

socat_start() { # socat_start ADDRESS [PORT] : socat on 127.0.0.1:PORT (a free port
	# when none is given; retried when another process took it first), each
	# connection handed to ADDRESS (EXEC:..., SYSTEM:...); sets SOCAT_PORT, SOCAT_PID.
	# SOCAT_LISTEN replaces the listening type (TCP-LISTEN), SOCAT_LISTEN_OPTS
	# adds options to it: OPENSSL-LISTEN and ",cert=PEM,verify=0" make a TLS front.
	local try port
	for try in 1 2 3 4 5; do
		port=${2:-$(free_port)} || return 1
		socat "${SOCAT_LISTEN:-TCP-LISTEN}:$port,bind=127.0.0.1,reuseaddr,fork${SOCAT_LISTEN_OPTS:-}" "$1" \
			2>>"$TMP/socat.log" &
		SOCAT_PID=$!
		T_PIDS+=("$SOCAT_PID")
		wait_until 10 eval 'owns_port "$SOCAT_PID" "$port" || ! kill -0 "$SOCAT_PID" 2>/dev/null'
		if owns_port "$SOCAT_PID" "$port"; then
			SOCAT_PORT=$port
			return 0
		fi
		kill "$SOCAT_PID" 2>/dev/null
		wait "$SOCAT_PID" 2>/dev/null
		[ -z "${2:-}" ] || break
	done
	diag "socat could not listen on 127.0.0.1:$port"
	return 1
}

stop_pid() { # stop_pid PID : ends a server this test started, and waits for it
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

tang_start() { # tang_start DIR [ARGS...] : nbde tang-server -l on an ephemeral port of
	# ${TANG_ADDR:-127.0.0.1} that it reports through --port-file; stderr to
	# $TMP/tang-server.log; the program is ${TANG_SERVER:-$NBDE tang-server}.
	# Sets TANG_PORT, TANG_PID, TANG_URL.
	local dir=$1 pf=$TMP/tang.port.$T_N.$RANDOM
	shift
	# shellcheck disable=SC2086 # TANG_SERVER is a command and its first words
	${TANG_SERVER:-"$NBDE" tang-server} -l -a "${TANG_ADDR:-127.0.0.1}" -p 0 --port-file "$pf" \
		"$@" "$dir" 2>>"$TMP/tang-server.log" &
	TANG_PID=$!
	T_PIDS+=("$TANG_PID")
	wait_until 10 eval '[ -s "$pf" ] || ! kill -0 "$TANG_PID" 2>/dev/null'
	TANG_PORT=$(cat "$pf" 2>/dev/null)
	if ! [[ $TANG_PORT =~ ^[1-9][0-9]*$ ]]; then
		diag "tang-server did not report its port:"
		tail -n 5 "$TMP/tang-server.log" | sed 's/^/#   /' >&2
		return 1
	fi
	case ${TANG_ADDR:-127.0.0.1} in
	*:*) TANG_URL="http://[${TANG_ADDR}]:$TANG_PORT" ;;
	*) TANG_URL="http://${TANG_ADDR:-127.0.0.1}:$TANG_PORT" ;;
	esac
}

tangd_keys() { # tangd_keys DIR [NAMES] : Debian's tangd-keygen into a new DIR
	mkdir -p "$1" && /usr/libexec/tangd-keygen "$@" >/dev/null 2>&1
}

rec_fixture() { # rec_fixture DIR : nbde's key pair sig/exc in a new DIR and a client
	# ECMR key ($TMP/client.jwk, public part $TMP/client.pub.jwk); sets EXC (the
	# exchange key's S256 thumbprint) and GOOD (the /rec reply jose computes)
	mkdir -p "$1" && "$NBDE" tangd-keygen "$1" sig exc || return 1
	EXC=$(jose jwk thp -i "$1/exc.jwk")
	jose jwk gen -i '{"alg":"ECMR"}' -o "$TMP/client.jwk" &&
		jose jwk pub -i "$TMP/client.jwk" -o "$TMP/client.pub.jwk" || return 1
	GOOD=$(jose jwk exc -i '{"alg":"ECMR","key_ops":["deriveKey"]}' -l "$TMP/client.jwk" -r "$1/exc.jwk")
}

tangd_start() { # tangd_start DIR [PORT] : Debian's tangd serving DIR inetd style through
	# socat; sets TANGD_PORT, TANGD_PID, TANGD_URL
	socat_start "EXEC:/usr/libexec/tangd $1" ${2:+"$2"} || return 1
	TANGD_PORT=$SOCAT_PORT TANGD_PID=$SOCAT_PID TANGD_URL=http://127.0.0.1:$SOCAT_PORT
}

# ---- LUKS fixtures ----

# clevis's LUKSMeta UUID for LUKS1 bindings (clevis-luks-common-functions)
CLEVIS_LUKSMETA_UUID=cb6e8904-81ff-40da-a84a-07ab9ab5715e

luks_image() { # luks_image TYPE FILE KEYFILE [CRYPTSETUP-OPTIONS...] : a 32 MiB LUKS
	# image file whose keyslot 0 opens with KEYFILE (cheap pbkdf2: test keys)
	local type=$1 img=$2 key=$3
	shift 3
	rm -f "$img"
	truncate -s 32M "$img" &&
		cryptsetup luksFormat -q --type "$type" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
			--key-file "$key" "$@" "$img" >/dev/null 2>>"$TMP/err"
}

# ---- software TPM ----

swtpm_start() { # swtpm_start [NAME] : a fresh swtpm (TPM 2.0, started, all PCR banks)
	# on a unix socket in $TMP/swtpm-NAME (control socket SOCK.ctrl, where tpm2-tss looks); sets SWTPM_PID, SWTPM_SOCK and exports
	# TPM2TOOLS_TCTI=swtpm:path=SOCK for nbde and tpm2-tools alike
	local dir=$TMP/swtpm-${1:-tpm}
	mkdir -p "$dir/state" || return 1
	rm -f "$dir/sock" "$dir/sock.ctrl"
	swtpm socket --tpm2 --tpmstate dir="$dir/state" --server type=unixio,path="$dir/sock" \
		--ctrl type=unixio,path="$dir/sock.ctrl" --flags not-need-init,startup-clear \
		>>"$TMP/swtpm.log" 2>&1 &
	SWTPM_PID=$!
	T_PIDS+=("$SWTPM_PID")
	wait_until 10 eval '[ -S "$dir/sock" ] || ! kill -0 "$SWTPM_PID" 2>/dev/null'
	if ! [ -S "$dir/sock" ]; then
		diag "swtpm did not start:"
		tail -n 5 "$TMP/swtpm.log" | sed 's/^/#   /' >&2
		return 1
	fi
	SWTPM_SOCK=$dir/sock
	export TPM2TOOLS_TCTI=swtpm:path=$SWTPM_SOCK
}

swtpm_stop() { # swtpm_stop : ends the swtpm swtpm_start started last
	stop_pid "$SWTPM_PID"
	unset TPM2TOOLS_TCTI
}

# da_reset : the TPM forgives nothing during a test (interval and recovery
# an hour) and locks out after $MAX_TRIES wrong authorizations; -c resets
# the counter (the lockout authorization is empty on a fresh swtpm)
da_reset() {
	tpm2_dictionarylockout -s -n "$MAX_TRIES" -t 3600 -l 3600 >/dev/null 2>&1 &&
		tpm2_dictionarylockout -c >/dev/null 2>&1
}
da_counter() { # the TPM's failed-authorization counter, in decimal
	local v
	v=$(tpm2_getcap properties-variable 2>/dev/null | awk '/TPM2_PT_LOCKOUT_COUNTER/ { print $2 }')
	[ -n "$v" ] && echo $((v))
}
