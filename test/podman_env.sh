# podman_env.sh - sourced by test/26-container.t and test/bench/container.sh:
# podman_private_env DIR gives podman a configuration and storage of its own
# under DIR (exported CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), so a run
# never touches the machine's images or containers. runc: crun fails on
# these machines' hybrid cgroups; ulimits: podman's defaults (nofile
# 1048576, nproc above 32768) cannot be set here.
podman_private_env() {
	local p=$1
	mkdir -p "$p/root" "$p/run" "$p/tmp" "$p/net" || return 1
	cat >"$p/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$p/tmp"
[network]
network_backend = "netavark"
network_config_dir = "$p/net"
EOF
	cat >"$p/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$p/root"
runroot = "$p/run"
EOF
	export CONTAINERS_CONF=$p/containers.conf CONTAINERS_STORAGE_CONF=$p/storage.conf
}
