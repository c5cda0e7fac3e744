#!/bin/bash
# 19-manifests.t - the container and Kubernetes files agree with each other
# and with the image, without running anything: yamllint (strict) on every
# YAML file; then test/manifests.py checks that selectors match the pods'
# labels, that the Service, the probes and compose point at the port the
# image's server listens on, that every mount is a declared volume at the
# image's key folder, the PVC and the rotation Job name the same claim, the
# securityContexts drop everything and the image everywhere is `make
# image`'s. Each check is shown to fail on the files broken on purpose (in
# memory: manifests.py ROOT FILE EXPR).
. "$(dirname "$0")/lib.sh"
need python3 yamllint
python3 -c 'import yaml' 2>/dev/null || skip_all "python3-yaml is not installed"
TOP=$(cd "$TEST_DIR/.." && pwd)
CHECK=$TEST_DIR/manifests.py
YAML=(hooks/kubernetes/*.yaml hooks/container/compose.yaml)

(cd "$TOP" && yamllint -s "${YAML[@]}") >"$TMP/lint" 2>&1
ok $? "yamllint -s: ${YAML[*]}" || sed 's/^/# /' "$TMP/lint" >&2

python3 "$CHECK" "$TOP" >"$TMP/check" 2>&1
ok $? "selectors, ports, mounts, claims, security and image agree" || sed 's/^/# /' "$TMP/check" >&2
grep -c '^ok ' "$TMP/check" | { read -r n; [ "$n" -ge 20 ]; }
ok $? "the checker made its checks ($(grep -c '^ok ' "$TMP/check"))"

# broken copies: each edit must turn the checker red, naming what is wrong
broken() { # broken DESCRIPTION EXPECTED-MESSAGE FILE PYTHON-EXPRESSION-ON-s
	python3 "$CHECK" "$TOP" "$3" "$4" >"$TMP/broken" 2>&1
	local rc=$?
	[ $rc -ne 0 ] && grep -q "^not ok .*$2" "$TMP/broken"
	ok $? "$1 is caught" || { diag "exit $rc"; grep -v '^ok ' "$TMP/broken" | sed 's/^/# /' >&2; }
}
broken "a Service selecting other pods" "Service tang selects" hooks/kubernetes/service.yaml \
	's.replace("  selector:\n    app.kubernetes.io/name: tang", "  selector:\n    app.kubernetes.io/name: tang-x", 1)'
broken "a Deployment selector that misses its pods" "selector matches its pod labels" hooks/kubernetes/tang-secret.yaml \
	's.replace("    matchLabels:\n      app.kubernetes.io/name: tang", "    matchLabels:\n      app: tang", 1)'
broken "a PodDisruptionBudget selecting nothing" "PodDisruptionBudget tang selects" hooks/kubernetes/service.yaml \
	's.replace("    matchLabels:\n      app.kubernetes.io/name: tang", "    matchLabels:\n      app.kubernetes.io/name: tan", 1)'
broken "a containerPort other than the image's" "containerPort is the image's" hooks/kubernetes/tang-pvc.yaml \
	's.replace("containerPort: 8080", "containerPort: 9090")'
broken "a probe on a port with no name" "probe port" hooks/kubernetes/tang-secret.yaml \
	's.replace("path: /healthz\n              port: http", "path: /healthz\n              port: web")'
broken "a probe path the server does not serve" "probe path" hooks/kubernetes/tang-secret.yaml \
	's.replace("path: /metrics", "path: /livez")'
broken "a mount of an undeclared volume" "mounts a declared volume" hooks/kubernetes/tang-secret.yaml \
	's.replace("        - name: keys\n          secret:", "        - name: key\n          secret:")'
broken "keys mounted beside the image's key folder" "at the image's key folder" hooks/kubernetes/tang-pvc.yaml \
	's.replace("mountPath: /var/db/tang", "mountPath: /var/lib/tang")'
broken "a Job rotating another claim" "claim" hooks/kubernetes/rotate-job.yaml \
	's.replace("claimName: tang-keys", "claimName: tang-key")'
broken "a Job rotating another folder" "rotates the mounted key folder" hooks/kubernetes/rotate-job.yaml \
	's.replace("            - /var/db/tang", "            - /var/db")'
broken "a writable root filesystem" "readOnlyRootFilesystem" hooks/kubernetes/tang-secret.yaml \
	's.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")'
broken "a capability kept" "drops every capability" hooks/kubernetes/rotate-job.yaml \
	's.replace("drop: [\"ALL\"]", "drop: [\"NET_RAW\"]")'
broken "one replica" "replicas" hooks/kubernetes/tang-pvc.yaml 's.replace("replicas: 2", "replicas: 1")'
broken "another image" "image is make image" hooks/kubernetes/tang-pvc.yaml \
	's.replace("image: localhost/nbde:latest", "image: nbde:1")'
broken "compose publishing another container port" "compose publishes the image's port" \
	hooks/container/compose.yaml 's.replace(":-8080}:8080", ":-8080}:9090")'
broken "an image listening elsewhere" "containerPort is the image's" hooks/container/Containerfile \
	's.replace("\"-p\", \"8080\"", "\"-p\", \"8081\"")'
broken "an image whose user has a name (there is no /etc/passwd)" "numeric USER" hooks/container/Containerfile \
	's.replace("USER 65532:65532", "USER tang")'
broken "pods running as another uid than the image's" "runAsUser 65532" hooks/kubernetes/tang-pvc.yaml \
	's.replace("runAsUser: 65532", "runAsUser: 1000")'

done_testing
