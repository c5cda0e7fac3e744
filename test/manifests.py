#!/usr/bin/env python3
"""manifests.py ROOT [REL EXPR] - checks that the container and Kubernetes
files under ROOT/hooks agree with each other and with the image
(test/19-manifests.t). With REL and EXPR it checks the files as if ROOT/REL
were EXPR (a Python expression of its text, s): how the test breaks them.

What the image is, is read from its Containerfile (the entrypoint's port and
key folder, the USER) and the Makefile (the IMAGE default), so a change on
either side that the other does not follow is caught. Prints one TAP-like
"ok"/"not ok" line per check; exits 1 when any failed."""
import json
import re
import sys

import yaml

ROOT = sys.argv[1]
EDIT = sys.argv[2:4]
failed = 0


def check(cond, what):
    global failed
    print(("ok " if cond else "not ok ") + what)
    if not cond:
        failed += 1


def read(rel):
    with open(f"{ROOT}/{rel}") as f:
        s = f.read()
    if EDIT and EDIT[0] == rel:
        edited = eval(EDIT[1], {"s": s})
        if edited == s:
            sys.exit(f"the edit of {rel} changed nothing")
        return edited
    return s


def docs(rel):
    return [d for d in yaml.safe_load_all(read(rel)) if d]


# ---- the image, as its Containerfile and the Makefile make it ----
def find(pattern, text, what):
    """The first group of pattern in text; a failed check when absent."""
    m = re.search(pattern, text, re.M)
    if not m:
        check(False, f"{what} is found")
        print(f"# pattern {pattern}")
        sys.exit(1)
    return m.group(1)


cf = read("hooks/container/Containerfile")
entry = json.loads(find(r"^ENTRYPOINT (\[.*\])$", cf, "the Containerfile's ENTRYPOINT"))
check(entry[:3] == ["/usr/bin/nbde", "tang-server", "-l"] and "-p" in entry,
      "the entrypoint is the standalone tang-server with its port")
PORT = int(entry[entry.index("-p") + 1]) if "-p" in entry else None
KEYDIR = entry[-1]
UID = int(find(r"^USER (\d+)(?::\d+)?$", cf, "the Containerfile's numeric USER"))
IMAGE = find(r"^IMAGE \?= (\S+)$", read("Makefile"), "the Makefile's IMAGE")
check(re.search(rf"^EXPOSE {PORT}$", cf, re.M) is not None, f"the image exposes the port it listens on ({PORT})")
check(re.search(rf"^VOLUME {re.escape(KEYDIR)}$", cf, re.M) is not None, f"the key folder {KEYDIR} is a volume")
check(UID != 0, f"the image's USER is numeric and not root ({UID})")
routes = read("cmd/tang/routes.c")
SERVED = {p for p in ("/healthz", "/metrics", "/adv") if f'"{p[1:]}"' in routes or f'"{p}"' in routes}

# ---- Kubernetes ----
K = "hooks/kubernetes"
by_kind = {}
for rel in ("tang-secret.yaml", "tang-pvc.yaml", "service.yaml", "rotate-job.yaml"):
    for d in docs(f"{K}/{rel}"):
        by_kind.setdefault(d["kind"], []).append((rel, d))


def subset(sel, labels):
    return bool(sel) and all(labels.get(k) == v for k, v in sel.items())


def container_port_names(c):
    return {p.get("name") for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}


def check_security(where, pod, c):
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == UID,
          f"{where}: runAsNonRoot, runAsUser {UID} (the image's USER)")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccomp RuntimeDefault")
    check(csc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false")
    check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: drops every capability")
    res = c.get("resources", {})
    check(all(k in res.get(s, {}) for s in ("requests", "limits") for k in ("cpu", "memory")),
          f"{where}: cpu and memory requests and limits")
    check(c.get("image") == IMAGE, f"{where}: the image is make image's ({IMAGE})")


def key_mount(where, pod, c):
    """The volume mounted at the key folder (checked), or None."""
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = c.get("volumeMounts", [])
    check(bool(mounts) and all(m["name"] in vols for m in mounts), f"{where}: every mount mounts a declared volume")
    at = [m for m in mounts if m["mountPath"] == KEYDIR]
    check(len(at) == 1, f"{where}: the keys are mounted at the image's key folder {KEYDIR}")
    return (at[0], vols.get(at[0]["name"], {})) if at else (None, {})


pvc_names = {d["metadata"]["name"] for _, d in by_kind.get("PersistentVolumeClaim", [])}
pod_labels = []
variants = set()
for rel, dep in by_kind.get("Deployment", []):
    where = f"{rel} Deployment {dep['metadata']['name']}"
    spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"].get("labels", {})
    pod_labels.append((where, labels, spec.get("replicas", 1)))
    check(spec.get("replicas", 1) >= 2, f"{where}: replicas >= 2")
    check(subset(spec["selector"].get("matchLabels"), labels), f"{where}: selector matches its pod labels")
    (c,) = [c for c in pod["containers"] if c["name"] == "tang"]
    ports = c.get("ports", [])
    check([p["containerPort"] for p in ports] == [PORT], f"{where}: containerPort is the image's ({PORT})")
    names = container_port_names(c)
    for probe in ("readinessProbe", "livenessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("port") in names, f"{where}: {probe} probe port names the containerPort")
        check(get.get("path") in SERVED, f"{where}: {probe} probe path is one the server serves")
    check(c["readinessProbe"]["httpGet"]["path"] == "/healthz", f"{where}: readiness is /healthz (keys loaded)")
    check_security(where, pod, c)
    mount, vol = key_mount(where, pod, c)
    if "secret" in vol:
        variants.add("secret")
        check(mount.get("readOnly") is True, f"{where}: the Secret is mounted read-only")
        check(vol["secret"].get("defaultMode") == 0o440, f"{where}: key files 0440")
    elif "persistentVolumeClaim" in vol:
        variants.add("pvc")
        check(vol["persistentVolumeClaim"]["claimName"] in pvc_names, f"{where}: the claim is the PVC declared")
check(variants == {"secret", "pvc"}, "a Secret variant and a PVC variant")

for kind in ("Service", "PodDisruptionBudget"):
    for rel, d in by_kind.get(kind, []):
        sel = d["spec"]["selector"]
        sel = sel.get("matchLabels", sel) if kind == "PodDisruptionBudget" else sel
        for where, labels, replicas in pod_labels:
            check(subset(sel, labels), f"{kind} {d['metadata']['name']} selects the pods of {where}")
            if kind == "PodDisruptionBudget":
                check(d["spec"].get("minAvailable", replicas) < replicas,
                      f"PodDisruptionBudget leaves room to evict a pod of {where}")
        if kind == "Service":
            for rel2, dep in by_kind.get("Deployment", []):
                (c,) = [c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "tang"]
                check(all(p["targetPort"] in container_port_names(c) for p in d["spec"]["ports"]),
                      f"Service {d['metadata']['name']} targets the containerPort of {rel2}")
check(len(by_kind.get("Service", [])) == 1 and len(by_kind.get("PodDisruptionBudget", [])) == 1,
      "one Service and one PodDisruptionBudget")

jobs = by_kind.get("Job", [])
check(len(jobs) == 1, "one rotation Job")
for rel, job in jobs:
    where = f"{rel} Job"
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    check_security(where, pod, c)
    mount, vol = key_mount(where, pod, c)
    check(vol.get("persistentVolumeClaim", {}).get("claimName") in pvc_names,
          f"{where}: rotates the claim the PVC variant serves")
    cmd = c.get("command", [])
    check(cmd[:2] == ["/usr/bin/nbde", "tangd-rotate-keys"] and cmd[cmd.index("-d") + 1:] == [KEYDIR]
          if "-d" in cmd else False, f"{where}: rotates the mounted key folder {KEYDIR}")

# ---- compose ----
(comp,) = docs("hooks/container/compose.yaml")
(svc,) = comp["services"].values()
check(svc.get("image") == IMAGE, f"compose: the image is make image's ({IMAGE})")
check(all(str(p).rsplit(":", 1)[-1] == str(PORT) for p in svc.get("ports", [])) and svc.get("ports"),
      f"compose publishes the image's port {PORT}")
vols = [v.split(":") for v in svc.get("volumes", [])]
check(any(v[1] == KEYDIR and v[0] in (comp.get("volumes") or {}) for v in vols),
      f"compose: a declared named volume at {KEYDIR}")
check(svc.get("read_only") is True and svc.get("cap_drop") == ["ALL"], "compose: read-only, every capability dropped")

sys.exit(1 if failed else 0)
