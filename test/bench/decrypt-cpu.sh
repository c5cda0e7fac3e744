#!/usr/bin/env bash
# decrypt-cpu.sh - client CPU time (user + sys) of the tang pin's P-521 work,
# ./nbde against the same sources built with -DNBDE_P521_MBEDTLS (every
# P-521 operation through Mbed TLS's generic code, as before crypto/p521.c):
#   decrypt  `nbde decrypt` of a tang JWE against a local `nbde tang-server`
#            (ephemeral key, epk + E, e·S, the subtraction; the server's CPU
#            is not counted)
#   encrypt  `nbde encrypt tang` with the advertisement given ("adv", no
#            network): the ES512 verification of the advertisement, then
#            ECDH-ES (key generation, one multiply). `nbde bind` runs the same
#            code before its keyslot's PBKDF.
# A sample is RUNS runs of one binary (bash `times`: the CPU of the finished
# children, in ms); ROUNDS samples of each, alternating; the median sample
# per run is printed. Not part of make check.
#
# usage: test/bench/decrypt-cpu.sh [ROUNDS [RUNS]]    (from the repository root)
set -euo pipefail
ROUNDS=${1:-5}
RUNS=${2:-20}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
OUT=build/bench
REF=$OUT/nbde-p521-mbedtls
TMP=$(mktemp -d /tmp/nbde-bench.XXXXXX)
PID=
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

# ---- the two binaries: make's own compile and link lines for ./nbde, with
# crypto/ec.c compiled again with the switch ----
make -s nbde
mkdir -p "$OUT"
mapfile -t lines < <(make -n -W crypto/ec.c build/musl/nbde.unstripped | grep -v '^mkdir ')
[ "${#lines[@]}" -eq 2 ] || { echo "bench: expected make's compile and link of ec.o, got:" "${lines[@]}" >&2; exit 1; }
eval "${lines[0]/ -o build\/musl\/crypto\/ec.o/ -DNBDE_P521_MBEDTLS -o $OUT/ec-p521-mbedtls.o}"
link=${lines[1]/build\/musl\/crypto\/ec.o/$OUT/ec-p521-mbedtls.o}
eval "${link/-o build\/musl\/nbde.unstripped/-o $REF.unstripped}"
strip -o "$REF" "$REF.unstripped"
# the reference must not reach p521.c's multiply (gc-sections drops it)
if nm "$REF.unstripped" | grep -qw p521_mul; then
	echo "bench: $REF still links p521_mul; the switch did not take" >&2
	exit 1
fi

# ---- a tang server and its JWE ----
mkdir "$TMP/db"
./nbde tangd-keygen "$TMP/db" sig exc
./nbde tang-server -l -q -a 127.0.0.1 -p 0 --port-file "$TMP/port" "$TMP/db" 2>"$TMP/server.log" &
PID=$!
for _ in $(seq 200); do [ -s "$TMP/port" ] && break; kill -0 "$PID" || exit 1; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$TMP/port")
curl -sf "$URL/adv" >"$TMP/adv.jws"
printf secret | ./nbde encrypt tang "{\"url\":\"$URL\",\"adv\":\"$TMP/adv.jws\"}" >"$TMP/jwe"
printf secret >"$TMP/pt"
ENC_CFG="{\"url\":\"$URL\",\"adv\":\"$TMP/adv.jws\"}"

# ---- samples ----
ms() { # 0m0.123s → 123
	awk -v t="$1" 'BEGIN { split(t, a, "m"); sub("s", "", a[2]); printf "%d", (a[1] * 60 + a[2]) * 1000 }'
}
sample() { # sample BIN decrypt|encrypt : CPU ms of the RUNS runs' children
	local bin=$1 what=$2 t
	t=$(
		for ((i = 0; i < RUNS; i++)); do
			case $what in
			decrypt) "$bin" decrypt <"$TMP/jwe" >"$TMP/out" ;;
			encrypt) "$bin" encrypt tang "$ENC_CFG" <"$TMP/pt" >"$TMP/out" ;;
			esac
			[ "$what" = encrypt ] || [ "$(cat "$TMP/out")" = secret ] || { echo "bench: $bin $what failed" >&2; exit 1; }
		done
		times	# not in a pipeline: a pipeline's times would be a fresh fork's
	)
	t=${t##*$'\n'}	# the second line: the children's user and sys
	echo $(($(ms "${t% *}") + $(ms "${t#* }")))
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

echo "# client CPU (user + sys) per run, median of $ROUNDS alternating samples of $RUNS runs"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs: $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo "| command | nbde (p521.c) ms | -DNBDE_P521_MBEDTLS ms | ratio |"
echo "|---|---|---|---|"
for what in decrypt encrypt; do
	mine=() ref=()
	for ((r = 0; r < ROUNDS; r++)); do
		mine+=("$(sample ./nbde "$what")")
		ref+=("$(sample "$REF" "$what")")
	done
	m=$(median "${mine[@]}") f=$(median "${ref[@]}")
	awk -v w="$what" -v m="$m" -v f="$f" -v n="$RUNS" \
		'BEGIN { printf "| nbde %s | %.2f | %.2f | %.1f× |\n", w, m / n, f / n, m ? f / m : 0 }'
	echo "# $what samples (ms per $RUNS runs): nbde ${mine[*]}; mbedtls ${ref[*]}" >&2
done
