#!/bin/bash
# 26-container.t - the OCI image of `make image`, the Kubernetes Deployment
# and the compose file, run with podman:
# - the image: FROM scratch, the binary alone (<= 2 MiB), numeric non-root
#   USER; run read-only with every capability dropped, it creates its keys
#   in the empty volume and serves clevis and nbde round trips on a port
#   published on 127.0.0.1, and stops cleanly on SIGTERM;
# - a kubelet-style Secret folder (NAME.jwk -> ..data/NAME.jwk) mounted
#   read-only: a ..data swap is served without a restart (a plain container:
#   kube play 4.3 crashes on secret volumes, a nil pointer in
#   VolumeFromSecret; test/19-manifests.t checks tang-secret.yaml);
# - the PVC Deployment played by `podman kube play` (3 replicas, one key
#   folder): one key pair made, the same keys from every replica, a JWE made
#   through one opens through the others, the rotation Job's command (run as
#   the Job would) reaches every replica within 5 s and old JWEs still open;
# - compose.yaml up (published on 127.0.0.1) and down; podman-compose 1.0.3
#   always puts a service on a bridge network, so netavark adds iptables
#   rules: the network's go with it, netavark's base chains stay (inert
#   without a network); ip_forward, which it turns on, is put back.
# podman from Debian here: crun fails on these hybrid cgroups (runc is used)
# and podman's default ulimits cannot be set, so the test has its own
# containers.conf; its own storage (vfs: nothing mounted to clean up) and
# network config under $TMP keep it away from the machine's containers.
# kube play 4.3 publishes every containerPort on the host and runs httpGet
# probes as curl inside the container (the image has none), so it plays a
# copy without ports and probes, with --network none, and the test checks
# each replica's /healthz and /metrics itself from inside the pod's network
# namespace (nsenter), on the pod's own loopback.
. "$(dirname "$0")/lib.sh"
need podman runc catatonit nsenter curl jq jose clevis python3
[ "$(id -u)" = 0 ] || skip_all "podman needs root here (rootless needs subuid ranges)"
python3 -c 'import yaml' 2>/dev/null || skip_all "python3-yaml is not installed"
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
TOP=$(cd "$TEST_DIR/.." && pwd)
IMAGE=localhost/nbde:latest	# make image's default: the storage is this test's own
P=$TMP/podman
. "$TEST_DIR/podman_env.sh"
podman_private_env "$P"
t_log "$TMP/podman.log"
pm() { podman "$@" 2>>"$TMP/podman.log"; }
IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)

container_cleanup() {
	pm pod rm -af -t 0 >/dev/null
	pm rm -af -v -t 0 >/dev/null
	pm volume prune -f >/dev/null
	pm network prune -f >/dev/null
	# netavark turns forwarding on for compose's bridge network
	echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward 2>/dev/null
	awk -v t="$P/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n 1 umount -l
	# conmon may still be writing a removed container's exit file
	rm -rf "$P" 2>/dev/null || { sleep 1; rm -rf "$P"; }
	t_cleanup
}
trap container_cleanup EXIT

ok_in_time() { # ok_in_time SECS DESCRIPTION CMD... : CMD succeeds within SECS (scaled)
	local secs=$1 d=$2
	shift 2
	wait_until "$secs" "$@"
	ok $? "$d"
}
pid_of() { pm inspect -f '{{.State.Pid}}' "$1"; }
in_netns() { # in_netns CONTAINER CMD... : CMD in the container's network namespace
	local pid
	pid=$(pid_of "$1") && [ "$pid" -gt 0 ] || return 1
	shift
	nsenter -t "$pid" -n "$@"
}
healthy() { [ "$("${VIA[@]}" curl -s --max-time "$(t_secs 10)" "$1/healthz" 2>/dev/null)" = ok ]; }
thp_of_signing() { # S256 thumbprints of the active signing keys in DIR, sorted
	local f
	for f in "$1"/*.jwk; do
		jose jwk use -i "$f" -u verify 2>/dev/null && jose jwk thp -i "$f" -a S256
	done | sort
}
roundtrip() { # roundtrip ENC DEC URL : ENC encrypts through URL, DEC decrypts (both ${VIA[@]})
	local enc=$1 dec=$2 url=$3 word=word-$RANDOM
	[ "$(printf %s "$word" | "${VIA[@]}" "$enc" encrypt tang "{\"url\":\"$url\"}" -y 2>>"$TMP/err" |
		"${VIA[@]}" "$dec" decrypt 2>>"$TMP/err")" = "$word" ]
}

# ---- the image ----
make -s -C "$TOP" image IMAGE_CONTEXT="$TMP/context" >"$TMP/image.name" 2>"$TMP/image.log"
ok $? "make image builds the image" || { tail -n 20 "$TMP/image.log" | sed 's/^/# /' >&2; done_testing; exit; }
is "$(cat "$TMP/image.name")" "$IMAGE" "make image prints the image's name"
pm run --rm --network none "$IMAGE" --version >/dev/null 2>"$TMP/probe" ||
	skip_all "podman cannot run a container here: $(grep -v '^$' "$TMP/probe" | tail -n 1)"
size=$(pm image inspect -f '{{.Size}}' "$IMAGE")
[ "$size" -le $((2 * 1024 * 1024)) ]
ok $? "the image is at most 2 MiB ($size bytes)"
c=$(pm create "$IMAGE") && pm export "$c" | tar -tf - | sort | tr '\n' ' ' >"$TMP/files"
pm rm -v "$c" >/dev/null
is "$(cat "$TMP/files")" "usr/ usr/bin/ usr/bin/nbde var/ var/db/ var/db/tang/ " \
	"the image holds the binary and the key folder, nothing else (no /etc/passwd, no shell)"
is "$(pm image inspect -f '{{.Config.User}}' "$IMAGE")" "65532:65532" "USER is numeric, not root"

run_published() { # run_published NAME ARGS... : the image on a free port of 127.0.0.1; sets URL
	local name=$1 port
	shift
	for _ in 1 2 3 4 5; do
		port=$(free_port) || return 1
		if pm run -d --name "$name" --network slirp4netns -p "127.0.0.1:$port:8080" "$@" >/dev/null; then
			URL=http://127.0.0.1:$port
			return 0
		fi
		pm rm -f -v "$name" >/dev/null
	done
	return 1
}
# slirp4netns publishes a port without a bridge or firewall rules; without
# it (or the tun device it needs) the clients go into the container's
# network namespace
VIA=()
OPTS=(--read-only --cap-drop ALL --security-opt no-new-privileges)
if [ -c /dev/net/tun ] && command -v slirp4netns >/dev/null; then
	run_published nbde-srv "${OPTS[@]}" "$IMAGE"
	ok $? "the image runs read-only with every capability dropped, published on 127.0.0.1"
else
	pm run -d --name nbde-srv --network none "${OPTS[@]}" "$IMAGE" >/dev/null
	ok $? "the image runs read-only with every capability dropped (no slirp4netns or no /dev/net/tun: no published port, the clients run in its network namespace)"
	URL=http://127.0.0.1:8080 VIA=(in_netns nbde-srv)
fi
if [ "$T_FAILED" -gt 0 ]; then done_testing; exit; fi
t_log "$TMP/srv.log"
ok_in_time 20 "it answers /healthz: keys made in the empty volume" healthy "$URL"
pid=$(pid_of nbde-srv)
is "$(awk '/^(Uid|Gid|CapEff|CapBnd|NoNewPrivs):/ { printf "%s %s ", $1, $2 }' "/proc/$pid/status")" \
	"Uid: 65532 Gid: 65532 CapEff: 0000000000000000 CapBnd: 0000000000000000 NoNewPrivs: 1 " \
	"the server runs as 65532 with no capabilities and no new privileges"
awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | grep -q '^ro'
ok $? "... on a read-only root"
vol=$(pm inspect -f '{{range .Mounts}}{{.Source}}{{end}}' nbde-srv)
is "$(stat -c '%u %a' "$vol"/*.jwk | sort -u)" "65532 440" "two keys in the volume, owned by 65532, mode 0440"
is "$(ls "$vol"/*.jwk | wc -l)" 2 "... one pair"
roundtrip clevis clevis "$URL"
ok $? "clevis encrypt/decrypt through the container"
roundtrip "$NBDE" "$NBDE" "$URL"
ok $? "nbde encrypt/decrypt through the container"
roundtrip clevis "$NBDE" "$URL" && roundtrip "$NBDE" clevis "$URL"
ok $? "clevis to nbde and nbde to clevis through the container"
pm stop -t "$(t_isecs 20)" nbde-srv >/dev/null
is "$(pm inspect -f '{{.State.ExitCode}}' nbde-srv)" 0 "SIGTERM stops it cleanly (exit 0)"
podman logs nbde-srv >"$TMP/srv.log" 2>&1
grep -q '^nbde tang-server: stopped: ' "$TMP/srv.log"	# messages name the applet as called
ok $? "... after its stop summary"
pm rm -v nbde-srv >/dev/null
VIA=()

# ---- a Secret as the kubelet projects it, swapped while served ----
S=$TMP/secret
mkdir -p "$S/..2026_01_01_00_00_00.1"
"$NBDE" tangd-keygen "$S/..2026_01_01_00_00_00.1" sig exc
ln -s ..2026_01_01_00_00_00.1 "$S/..data"
ln -s ..data/sig.jwk "$S/sig.jwk"
ln -s ..data/exc.jwk "$S/exc.jwk"
chgrp -R 65532 "$S" && chmod 0440 "$S"/..2026*/*.jwk	# fsGroup, defaultMode 0440
pm run -d --name nbde-secret --network none --read-only --cap-drop ALL \
	-v "$S:/var/db/tang:ro" "$IMAGE" >/dev/null
ok $? "the image serves a read-only Secret-style folder"
sig_served() { [ "$(in_netns nbde-secret "$NBDE" tang-show-keys 8080 2>/dev/null)" = "$1" ]; }
old=$(jose jwk thp -i "$S/sig.jwk" -a S256)
ok_in_time 20 "it advertises the Secret's signing key" sig_served "$old"
mkdir "$S/..2026_01_02_00_00_00.1"
"$NBDE" tangd-keygen "$S/..2026_01_02_00_00_00.1" sig exc
chgrp -R 65532 "$S/..2026_01_02_00_00_00.1" && chmod 0440 "$S"/..2026_01_02*/*.jwk
new=$(jose jwk thp -i "$S/..2026_01_02_00_00_00.1/sig.jwk" -a S256)
ln -s ..2026_01_02_00_00_00.1 "$S/..data_tmp" && mv -T "$S/..data_tmp" "$S/..data"
ok_in_time 5 "a ..data swap is served within 5 s, no restart" sig_served "$new"
is "$(pm inspect -f '{{.State.Running}} {{.RestartCount}}' nbde-secret)" "true 0" "... the container was not restarted"
pm rm -f -v -t 0 nbde-secret >/dev/null

# ---- the Deployment: 3 replicas on one key folder ----
K=$TMP/keys
mkdir "$K" && chown 65532:65532 "$K"
python3 - "$TOP/hooks/kubernetes/tang-pvc.yaml" "$K" >"$TMP/play.yaml" <<'EOF'
import sys, yaml
(dep,) = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "Deployment"]
dep["spec"]["replicas"] = 3
pod = dep["spec"]["template"]["spec"]
for c in pod["containers"]:
    for k in ("ports", "readinessProbe", "livenessProbe"):
        del c[k]
(vol,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
del vol["persistentVolumeClaim"]
vol["hostPath"] = {"path": sys.argv[2], "type": "Directory"}
yaml.safe_dump(dep, sys.stdout)
EOF
ok $? "a copy of the PVC Deployment: 3 replicas, no ports or probes, the folder as hostPath"
# from $TMP: kube play builds an image from ./NAME/Containerfile when there
# is a ./NAME for the image's NAME (and fails on the repository's ./nbde)
(cd "$TMP" && pm kube play --network none "$TMP/play.yaml" >/dev/null)
ok $? "podman kube play starts it"
name=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["metadata"]["name"])' "$TMP/play.yaml")
R=("$name-pod-0-tang" "$name-pod-1-tang" "$name-pod-2-tang")
all_ready() {
	local r
	for r in "${R[@]}"; do
		[ "$(in_netns "$r" curl -s --max-time "$(t_secs 10)" http://127.0.0.1:8080/healthz 2>/dev/null)" = ok ] || return 1
	done
}
ok_in_time 30 "3 replicas, each ready (/healthz ok, probed from inside its pod)" all_ready
n=0
for r in "${R[@]}"; do
	[ "$(in_netns "$r" curl -s -o /dev/null -w '%{http_code}' --max-time "$(t_secs 10)" http://127.0.0.1:8080/metrics)" = 200 ] &&
		n=$((n + 1))
done
is "$n" 3 "every replica answers the liveness probe's /metrics"
is "$(ls "$K"/*.jwk | wc -l)" 2 "one key pair made for all replicas (the folder lock)"
same_keys() { # every replica signs the same key set, whose signing keys are the folder's
	local r p first=
	for r in "${R[@]}"; do
		p=$(in_netns "$r" curl -sS --max-time "$(t_secs 10)" http://127.0.0.1:8080/adv | jq -r .payload) &&
			[ -n "$p" ] || return 1
		[ -z "$first" ] || [ "$p" = "$first" ] || return 1
		first=$p
		[ "$(in_netns "$r" "$NBDE" tang-show-keys 8080 | sort)" = "$(thp_of_signing "$K")" ] || return 1
	done
}
same_keys
ok $? "every replica advertises the same keys, the folder's"
word=replica-$RANDOM
printf %s "$word" | in_netns "${R[0]}" "$NBDE" encrypt tang '{"url":"http://127.0.0.1:8080"}' -y >"$TMP/old.jwe" 2>>"$TMP/err"
is "$(in_netns "${R[1]}" "$NBDE" decrypt <"$TMP/old.jwe" 2>>"$TMP/err")" "$word" \
	"a JWE made through replica 0 decrypts through replica 1 (nbde)"
is "$(in_netns "${R[2]}" clevis decrypt <"$TMP/old.jwe" 2>>"$TMP/err")" "$word" "... and through replica 2 (clevis)"

# rotation: the Job's command, as the Job runs it (the image's user, read-only root)
entry=$(python3 -c 'import sys, yaml, json
(c,) = yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"]
print(json.dumps(c["command"]))' "$TOP/hooks/kubernetes/rotate-job.yaml")
before=$(thp_of_signing "$K")
pm run --rm --network none --read-only --cap-drop ALL --security-opt no-new-privileges \
	-v "$K:/var/db/tang" --entrypoint "$entry" "$IMAGE" >/dev/null
ok $? "the rotation Job's command ($entry) runs in the image"
after=$(thp_of_signing "$K")
[ -n "$after" ] && [ "$after" != "$before" ] && [ "$(find "$K" -maxdepth 1 -name '.*.jwk' | wc -l)" = 2 ]
ok $? "... a new pair, the old one hidden"
ok_in_time 5 "the rotation reaches every replica within 5 s" same_keys
is "$(in_netns "${R[2]}" "$NBDE" decrypt <"$TMP/old.jwe" 2>>"$TMP/err")" "$word" \
	"a JWE made before the rotation still decrypts (replica 2, nbde)"
is "$(in_netns "${R[1]}" clevis decrypt <"$TMP/old.jwe" 2>>"$TMP/err")" "$word" "... and through replica 1 (clevis)"
printf %s "$word" | in_netns "${R[1]}" "$NBDE" encrypt tang '{"url":"http://127.0.0.1:8080"}' -y >"$TMP/new.jwe" 2>>"$TMP/err"
is "$(in_netns "${R[0]}" "$NBDE" decrypt <"$TMP/new.jwe" 2>>"$TMP/err")" "$word" \
	"a JWE made after it through replica 1 decrypts through replica 0"
(cd "$TMP" && pm kube down "$TMP/play.yaml" >/dev/null)
ok $? "podman kube down removes the pods"

# ---- compose ----
if ! command -v podman-compose >/dev/null; then
	skip "podman-compose is not installed"
elif ! command -v iptables >/dev/null; then
	skip "iptables is not installed: netavark cannot make compose's bridge network"
elif ! { pm network create "nbdeprobe$$" >/dev/null && pm run --rm --network "nbdeprobe$$" "$IMAGE" --version 2>"$TMP/probe"; }; then
	skip "podman's bridge network does not work here: $(grep -v '^$' "$TMP/probe" "$TMP/podman.log" | tail -n 1)"
else
	pm network rm -f "nbdeprobe$$" >/dev/null
	project=nbdetest$$
	compose() { TANG_PUBLISH=$publish podman-compose -p "$project" -f "$TOP/hooks/container/compose.yaml" "$@" \
		>>"$TMP/compose.log" 2>&1; }
	t_log "$TMP/compose.log"
	for _ in 1 2 3; do
		publish=127.0.0.1:$(free_port)
		compose up -d
		[ "$(pm inspect -f '{{.State.Running}}' "${project}_tang_1")" = true ] && break
		compose down -v
	done
	ok_in_time 20 "compose up: the server answers on 127.0.0.1 (TANG_PUBLISH)" healthy "http://$publish"
	roundtrip "$NBDE" clevis "http://$publish"
	ok $? "nbde and clevis round trip through it"
	is "$(ls "$(pm volume inspect -f '{{.Mountpoint}}' "${project}_tang-keys")"/*.jwk | wc -l)" 2 \
		"its keys are in the named volume"
	compose down -v
	is "$(pm ps -a -q --filter "label=io.podman.compose.project=$project" | wc -l) $(pm volume ls -q | grep -c "^$project")" \
		"0 0" "compose down -v removes the container and the volume"
fi

done_testing
