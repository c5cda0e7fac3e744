# lib.sh - TAP helpers for the shell test suites (sourced by test/*.t).
#
# Each test file is run by prove from the repository root with NBDE set to the
# binary under test and JOSETOOL to the test front end of the JOSE core.
# Servers started by tests bind 127.0.0.1 or ::1 only.

set -u
: "${NBDE:=$PWD/nbde}"
: "${JOSETOOL:=$PWD/build/musl/josetool}"
T_N=0
T_FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nbde-test.XXXXXX")
T_PIDS=()

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap t_cleanup EXIT

ok() { # ok COND-EXIT-STATUS DESCRIPTION
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
	fi
}

run_ok() { # run_ok DESCRIPTION CMD... : passes when CMD exits 0
	local d=$1; shift
	"$@" >"$TMP/.out" 2>"$TMP/.err"
	local rc=$?
	ok $rc "$d"
	[ $rc -eq 0 ] || { sed 's/^/# stderr: /' "$TMP/.err" | head -5; }
	return $rc
}

run_fails() { # run_fails DESCRIPTION CMD... : passes when CMD exits non-zero
	local d=$1; shift
	"$@" >"$TMP/.out" 2>"$TMP/.err"
	local rc=$?
	[ $rc -ne 0 ] && [ $rc -lt 128 ]
	ok $? "$d"
}

is() { # is GOT EXPECTED DESCRIPTION
	if [ "$1" == "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '# got:      %s\n# expected: %s\n' "${1:0:300}" "${2:0:300}"
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

free_port() { # prints a TCP port that is free on 127.0.0.1
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

wait_port() { # wait_port PORT : until something listens on 127.0.0.1:PORT (5 s)
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

need() { # need CMD... : skip the file when a tool is missing
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip_all "$c is not installed"
	done
}
