#!/usr/bin/env bash
# decrypt.sh - `nbde decrypt` against `clevis decrypt`: the same tang JWE
# (made by clevis) and the same Debian tangd, median wall time of RUNS runs
# each. Not part of make check.
#
# usage: bench/decrypt.sh [RUNS]     (NBDE=path/to/nbde, default ./nbde)
set -eu
RUNS=${1:-21}
NBDE=${NBDE:-$PWD/nbde}
TANGD=/usr/libexec/tangd
for c in clevis socat "$TANGD" /usr/libexec/tangd-keygen; do
	command -v "$c" >/dev/null || { echo "bench: $c is not installed" >&2; exit 1; }
done
TMP=$(mktemp -d)
trap 'kill $SOCAT 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
/usr/libexec/tangd-keygen "$TMP"
PORT=$((20000 + RANDOM % 30000))
socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" EXEC:"$TANGD $TMP" 2>/dev/null &
SOCAT=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
printf secret | clevis encrypt tang "{\"url\":\"http://127.0.0.1:$PORT\"}" -y >"$TMP/jwe"

median_ms() { # median_ms CMD... : median wall time in ms of RUNS runs, each checked
	local i t0 times=()
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		[ "$("$@" <"$TMP/jwe")" = secret ] || { echo "bench: $* failed" >&2; exit 1; }
		times+=($((($(date +%s%N) - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | awk '{printf "%.1f", $1 / 1000}'
}
n=$(median_ms "$NBDE" decrypt)
c=$(median_ms clevis decrypt)
echo "tang decrypt, median of $RUNS runs: nbde ${n} ms, clevis ${c} ms (clevis/nbde = $(awk -v a="$c" -v b="$n" 'BEGIN{printf "%.1f", a/b}'))"
