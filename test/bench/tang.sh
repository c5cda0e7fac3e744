#!/bin/bash
# tang.sh - benchmark: nbde tang-server (standalone, one process) against
# Debian's tangd behind socat (inetd style, a process per connection), on
# loopback, a new connection per request, at concurrency 1, 8 and 64, for
# GET /adv and POST /rec; nbde's RSS with 1000 open connections; and the
# machine's /rec ceiling (P-521 multiplications per second on one core
# through nbde's ecmr_mul, times the cores). Not part of make check.
#
# usage: test/bench/tang.sh [SECONDS-PER-RUN]    (from the repository root, after make)
set -eu
SECS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NBDE=$ROOT/nbde
TANGD=${TANGD:-/usr/libexec/tangd}
OUT=$ROOT/build/bench
TMP=$(mktemp -d /tmp/nbde-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT

for t in jose socat; do command -v $t >/dev/null || { echo "bench: $t is needed" >&2; exit 1; }; done
[ -x "$NBDE" ] || { echo "bench: run make first" >&2; exit 1; }
[ -x "$TANGD" ] || { echo "bench: $TANGD is missing (apt-get install tang)" >&2; exit 1; }

# ---- tools ----
mkdir -p "$OUT"
DEPS=$(sed -n 's/^DEPS_musl := //p' "$ROOT/build/deps-musl.mk")
cc -O2 -pthread -o "$OUT/loadgen" "$ROOT/test/bench/loadgen.c"
PKG="PKG_CONFIG_LIBDIR=$DEPS/lib/pkgconfig PKG_CONFIG_PATH= pkg-config --static"
"$DEPS/bin/musl-cc" -std=gnu11 -O2 -static -o "$OUT/ecmul" "$ROOT/test/bench/ecmul.c" "$ROOT"/crypto/*.c \
	$(eval "$PKG --cflags libcjson mbedcrypto") $(eval "$PKG --libs libcjson mbedcrypto")

# ---- servers on the same keys ----
port() { echo $((20000 + RANDOM % 30000)); }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
mkdir "$TMP/db"
"$NBDE" tangd-keygen "$TMP/db" sig exc
EXC=$(jose jwk thp -i "$TMP/db/exc.jwk")
jose jwk gen -i '{"alg":"ECMR"}' | jose jwk pub -i- -o "$TMP/client.jwk"
P_NBDE=$(port)
"$NBDE" tang-server -l -a 127.0.0.1 -p "$P_NBDE" -q "$TMP/db" 2>"$TMP/nbde.log" &
NBDE_PID=$!
PIDS+=($!)
P_TANG=$(port)
socat "TCP-LISTEN:$P_TANG,bind=127.0.0.1,reuseaddr,fork,backlog=1024" EXEC:"$TANGD $TMP/db" 2>/dev/null &
PIDS+=($!)
wait_port "$P_NBDE"
wait_port "$P_TANG"

# ---- runs ----
echo "# nbde tang-server benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs: $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo "# $SECS s per run, new connection per request, loopback"
echo
echo "| server | request | concurrency | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|"
run() { # run NAME PORT METHOD PATH BODY CONCURRENCY
	read -r rps p50 p99 _ err < <("$OUT/loadgen" "$2" "$3" "$4" "$5" "$6" "$SECS")
	echo "| $1 | $3 ${4%%/$EXC} | $6 | $rps | $p50 | $p99 | $err |"
	eval "R_${1//[^a-z]/}_${3}_$6=$rps"
}
for c in 1 8 64; do
	run tangd "$P_TANG" GET /adv - $c
	run nbde "$P_NBDE" GET /adv - $c
done
for c in 1 8 64; do
	run tangd "$P_TANG" POST "/rec/$EXC" "$TMP/client.jwk" $c
	run nbde "$P_NBDE" POST "/rec/$EXC" "$TMP/client.jwk" $c
done

# ---- memory with 1000 open connections ----
ulimit -n 4096
FDS=()
for _ in $(seq 1000); do exec {fd}<>"/dev/tcp/127.0.0.1/$P_NBDE" && FDS+=("$fd"); done
sleep 0.5
RSS=$(awk '/^VmRSS/ {print $2}' "/proc/$NBDE_PID/status")
for fd in "${FDS[@]}"; do exec {fd}>&-; done

# ---- ceiling ----
MUL=$("$OUT/ecmul" "$SECS")
CEIL=$((MUL * $(nproc)))
echo
echo "| measure | value |"
echo "|---|---|"
echo "| nbde RSS with ${#FDS[@]} open connections | $RSS KiB |"
echo "| P-521 ecmr_mul per second, one core | $MUL |"
echo "| /rec ceiling ($(nproc) cores) | $CEIL |"
echo "| nbde /rec at concurrency 8 / ceiling | $((100 * R_nbde_POST_8 / CEIL)) % |"
echo "| nbde /adv / tangd /adv at concurrency 8 | $((R_nbde_GET_8 / (R_tangd_GET_8 > 0 ? R_tangd_GET_8 : 1)))x |"
