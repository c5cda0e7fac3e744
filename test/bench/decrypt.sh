#!/usr/bin/env bash
# decrypt.sh - `nbde decrypt` against `clevis decrypt` on the same tang JWE
# (made by clevis) and the same tang server, median wall time of RUNS runs
# each, twice: against Debian's tangd behind socat (a process per
# connection, as most deployments run it) and against `nbde tang-server`
# (where the server's own cost is small, so the clients' costs show).
# Not part of make check.
#
# usage: test/bench/decrypt.sh [RUNS]     (NBDE=path/to/nbde, default ./nbde)
set -eu
RUNS=${1:-21}
NBDE=${NBDE:-$PWD/nbde}
TANGD=/usr/libexec/tangd
for c in clevis socat "$TANGD" /usr/libexec/tangd-keygen; do
	command -v "$c" >/dev/null || { echo "bench: $c is not installed" >&2; exit 1; }
done
TMP=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
/usr/libexec/tangd-keygen "$TMP"

free_port() { # a port nothing listens on yet (tests of other checkouts may run)
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
wait_port() {
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done
}

median_ms() { # median_ms JWE CMD... : median wall time in ms of RUNS runs, each checked
	local jwe=$1 i t0 times=()
	shift
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		[ "$("$@" <"$jwe")" = secret ] || { echo "bench: $* failed" >&2; exit 1; }
		times+=($((($(date +%s%N) - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | awk '{printf "%.1f", $1 / 1000}'
}

compare() { # compare LABEL PORT
	printf secret | clevis encrypt tang "{\"url\":\"http://127.0.0.1:$2\"}" -y >"$TMP/jwe.$2"
	local n c
	n=$(median_ms "$TMP/jwe.$2" "$NBDE" decrypt)
	c=$(median_ms "$TMP/jwe.$2" clevis decrypt)
	echo "| $1 | $n | $c | $(awk -v a="$c" -v b="$n" 'BEGIN{printf "%.1f", a/b}') |"
}

P1=$(free_port)
socat "TCP-LISTEN:$P1,bind=127.0.0.1,reuseaddr,fork" EXEC:"$TANGD $TMP" 2>/dev/null &
PIDS+=($!)
P2=$(free_port)
"$NBDE" tang-server -l -q -a 127.0.0.1 -p "$P2" "$TMP" 2>/dev/null &
PIDS+=($!)
wait_port "$P1"
wait_port "$P2"

echo "# tang decrypt, median of $RUNS runs each, $(date -u +%Y-%m-%d), $(nproc) CPUs"
echo "| server | nbde decrypt ms | clevis decrypt ms | clevis / nbde |"
echo "|---|---|---|---|"
compare "Debian tangd behind socat" "$P1"
compare "nbde tang-server" "$P2"
