#!/bin/bash
# container.sh - benchmark: POST /rec (and GET /adv) against the bare
# `nbde tang-server` and against the image of `make image` serving the same
# keys, on loopback, a new connection per request, at concurrency 1, 8, 64:
# - bare: the binary on 127.0.0.1;
# - host net: the container in the host's network namespace, bound to
#   127.0.0.1 (what the image itself costs: namespaces, seccomp, cgroup);
# - bridge: published on 127.0.0.1 through podman's bridge (netavark DNAT;
#   needs iptables), how rootful podman and compose run it;
# - slirp4netns: published through rootlessport, podman's user-space proxy.
# As root, with its own podman storage and config (runc, low ulimits) under
# a temporary folder. Not part of make check.
#
# usage: test/bench/container.sh [SECONDS-PER-RUN]    (from the repository root)
set -eu
SECS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NBDE=$ROOT/nbde
OUT=$ROOT/build/bench
TMP=$(mktemp -d /tmp/nbde-bench.XXXXXX)
P=$TMP/podman
IMAGE=localhost/nbde:latest
PIDS=()
IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)

for t in podman jose; do command -v $t >/dev/null || { echo "bench: $t is needed" >&2; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "bench: run as root (podman with its own storage)" >&2; exit 1; }
[ -x "$NBDE" ] || { echo "bench: run make first" >&2; exit 1; }

mkdir -p "$OUT"
. "$ROOT/test/podman_env.sh"
podman_private_env "$P"
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	podman rm -af -t 0 >/dev/null 2>&1
	podman network prune -f >/dev/null 2>&1
	echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
	wait 2>/dev/null
	rm -rf "$TMP" 2>/dev/null || { sleep 1; rm -rf "$TMP"; }
}
trap cleanup EXIT

cc -O2 -pthread -o "$OUT/loadgen" "$ROOT/test/bench/loadgen.c"
make -s -C "$ROOT" image IMAGE_CONTEXT="$TMP/context" >/dev/null 2>"$TMP/image.log" ||
	{ cat "$TMP/image.log" >&2; exit 1; }

# ---- the same keys for all ----
port() { echo $((20000 + RANDOM % 30000)); }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
mkdir "$TMP/db"
"$NBDE" tangd-keygen "$TMP/db" sig exc
chown -R 65532:65532 "$TMP/db"
EXC=$(jose jwk thp -i "$TMP/db/exc.jwk")
jose jwk gen -i '{"alg":"ECMR"}' | jose jwk pub -i- -o "$TMP/client.jwk"
RUN=(podman run -d --read-only --cap-drop ALL --security-opt no-new-privileges -v "$TMP/db:/var/db/tang:ro")

P_BARE=$(port)
"$NBDE" tang-server -l -q -a 127.0.0.1 -p "$P_BARE" "$TMP/db" 2>"$TMP/bare.log" &
PIDS+=($!)
P_HOST=$(port)
"${RUN[@]}" --network host "$IMAGE" -q -a 127.0.0.1 -p "$P_HOST" >/dev/null
P_SLIRP=$(port)
"${RUN[@]}" --network slirp4netns -p "127.0.0.1:$P_SLIRP:8080" "$IMAGE" -q >/dev/null
P_BRIDGE=
if command -v iptables >/dev/null && podman network create nbde-bench >/dev/null 2>&1; then
	P_BRIDGE=$(port)
	"${RUN[@]}" --network nbde-bench -p "127.0.0.1:$P_BRIDGE:8080" "$IMAGE" -q >/dev/null || P_BRIDGE=
fi
for p in "$P_BARE" "$P_HOST" "$P_SLIRP" $P_BRIDGE; do wait_port "$p" || { echo "bench: nothing on port $p" >&2; exit 1; }; done

echo "# nbde tang-server bare and in its image, $(date -u +%Y-%m-%d), $(nproc) CPUs: $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)"
echo "# $SECS s per run, new connection per request, loopback; podman $(podman version -f '{{.Client.Version}}'), runc"
echo
echo "| server | request | concurrency | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|"
run() { # run NAME PORT METHOD PATH BODY CONCURRENCY
	local rps p50 p99 err
	read -r rps p50 p99 _ err < <("$OUT/loadgen" "$2" "$3" "$4" "$5" "$6" "$SECS")
	echo "| $1 | $3 ${4%%/$EXC} | $6 | $rps | $p50 | $p99 | $err |"
}
for c in 1 8 64; do
	run bare "$P_BARE" POST "/rec/$EXC" "$TMP/client.jwk" $c
	run "container, host net" "$P_HOST" POST "/rec/$EXC" "$TMP/client.jwk" $c
	[ -z "$P_BRIDGE" ] || run "container, bridge" "$P_BRIDGE" POST "/rec/$EXC" "$TMP/client.jwk" $c
	run "container, slirp4netns" "$P_SLIRP" POST "/rec/$EXC" "$TMP/client.jwk" $c
done
# /adv at one concurrency: it shows the network path, no key math
run bare "$P_BARE" GET /adv - 8
run "container, host net" "$P_HOST" GET /adv - 8
[ -z "$P_BRIDGE" ] || run "container, bridge" "$P_BRIDGE" GET /adv - 8
run "container, slirp4netns" "$P_SLIRP" GET /adv - 8
[ -n "$P_BRIDGE" ] || echo "# (no bridge run: iptables missing or podman network create failed)"
