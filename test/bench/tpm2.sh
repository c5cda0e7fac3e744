#!/usr/bin/env bash
# tpm2.sh - `nbde decrypt` against `clevis decrypt` (which runs tpm2-tools
# four times) on the same tpm2 JWE (made by clevis) and the same swtpm on a
# unix socket, median wall time of RUNS runs each, for a token without PCRs
# and one sealed to PCR 7 (a policy session). Not part of make check.
#
# usage: test/bench/tpm2.sh [RUNS]     (NBDE=path/to/nbde, default ./nbde)
set -eu
RUNS=${1:-21}
NBDE=${NBDE:-$PWD/nbde}
for c in clevis swtpm tpm2_flushcontext; do
	command -v "$c" >/dev/null || { echo "bench: $c is not installed" >&2; exit 1; }
done
TMP=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

mkdir -p "$TMP/state"
swtpm socket --tpm2 --tpmstate dir="$TMP/state" --server type=unixio,path="$TMP/sock" \
	--ctrl type=unixio,path="$TMP/sock.ctrl" --flags not-need-init,startup-clear 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$TMP/sock" ] && break; sleep 0.05; done
export TPM2TOOLS_TCTI=swtpm:path=$TMP/sock

# clevis 19 leaves sessions in a TPM without resource manager: flushed
# after each of its runs, outside the timed part
flush() { tpm2_flushcontext -t && tpm2_flushcontext -l; } >/dev/null 2>&1

median_ms() { # median_ms JWE CMD... : median wall time in ms of RUNS runs, each checked
	local jwe=$1 i t0 t1 times=()
	shift
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		out=$("$@" <"$jwe" 2>/dev/null) || true
		t1=$(date +%s%N)
		flush
		[ "$out" = secret ] || { echo "bench: $* failed" >&2; exit 1; }
		times+=($(((t1 - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | awk '{printf "%.1f", $1 / 1000}'
}

compare() { # compare LABEL CONFIG
	printf secret | clevis encrypt tpm2 "$2" >"$TMP/jwe" 2>/dev/null
	flush
	local n c
	n=$(median_ms "$TMP/jwe" "$NBDE" decrypt)
	c=$(median_ms "$TMP/jwe" clevis decrypt)
	echo "| $1 | $n | $c | $(awk -v a="$c" -v b="$n" 'BEGIN{printf "%.1f", a/b}') |"
}

echo "| tpm2 token (swtpm, unix socket) | nbde decrypt ms | clevis decrypt ms | clevis/nbde |"
echo "|---|---|---|---|"
compare "ecc, no PCRs" '{}'
compare "ecc, PCR 7 (sha256 bank)" '{"pcr_bank":"sha256","pcr_ids":"7"}'
compare "rsa, PCR 7 (sha256 bank)" '{"key":"rsa","pcr_bank":"sha256","pcr_ids":"7"}'
