#!/usr/bin/env bash
# install-test-deps.sh - installs the Debian packages the test suites use:
# the real peers (jose, clevis, tang, luksmeta, cryptsetup) and tools.
# As root it runs apt-get; otherwise it prints the command and carries on
# (tests that need a missing tool report SKIP).
set -euo pipefail

PKGS=(jose clevis clevis-luks tang luksmeta cryptsetup-bin socat curl file perl strace time jq
      openssl  # test/32-https.t: a test CA and server certificates
      keyutils  # keyctl: test/49-edit.t puts a passphrase in a session keyring for bind -e
      prometheus  # promtool checks the /metrics format
      valgrind  # test/01-ct.t; also <valgrind/memcheck.h> for test/ct_*.c
      clang libclang-rt-14-dev
      swtpm swtpm-tools tpm2-tools clevis-tpm2  # test/31-tpm2.t: a software TPM and clevis's tpm2 pin
      systemd  # systemd-tty-ask-password-agent: test/34-tpm2pin-prompt.t answers the PIN request as the boot does
      lintian  # test/28-deb.t
      yamllint python3-yaml  # test/19-manifests.t
      podman runc netavark aardvark-dns catatonit slirp4netns iptables podman-compose  # test/26-container.t
      qemu-system-x86 busybox-static debootstrap e2fsprogs cpio kmod  # test/vm, test/28-deb.t (debootstrap)
      openssh-client)  # ssh, ssh-keygen: test/52-vm-dropbear.t logs in to dropbear-initramfs

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-test-deps: missing packages; run as root:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 0
fi
echo "install-test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
	{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
