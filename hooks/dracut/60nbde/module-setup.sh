#!/bin/bash
# dracut module 60nbde: the static nbde binary answers the volume prompts.
# systemd initrd: nbde-askpass.path/.service (systemd password agent), and
# systemd-cryptsetup@'s ExecStartPre nbde-pin-unlock for tpm2pin's PIN.
# Other initrds: an initqueue hook runs `nbde unlock` before cryptroot-ask
# prompts, which then finds the volume open.
# Network: pulled in (and rd.neednet=1 written with hostonly_cmdline) when a
# crypttab volume has a tang binding, or always with nbde_network=yes in a
# dracut.conf.d file (images built where the volumes are not attached).
# The system CA bundle: copied when a crypttab volume has an https:// tang
# URL, or always with nbde_https=yes; nbde verifies the server against it.
# TPM drivers (tpm_tis, tpm_crb): added when a crypttab volume has a tpm2
# binding (nbde talks to /dev/tpmrm0 itself: nothing else is needed).

# The device of each crypttab volume, one per line.
nbde_crypttab_devices() {
	local name src rest
	[[ -f $dracutsysrootdir/etc/crypttab ]] || return 0
	while read -r name src rest; do
		[[ -z $name || $name == \#* ]] && continue
		case $src in
		UUID=*) echo "/dev/disk/by-uuid/${src#UUID=}" ;;
		PARTUUID=*) echo "/dev/disk/by-partuuid/${src#PARTUUID=}" ;;
		LABEL=*) echo "/dev/disk/by-label/${src#LABEL=}" ;;
		*) echo "$src" ;;
		esac
	done <"$dracutsysrootdir/etc/crypttab"
}

# 0 when a crypttab volume is bound to PIN (directly or inside sss)
nbde_pin_bound() {
	local pin=$1 dev
	while read -r dev; do
		[[ $(nbde list -p -d "$dev" 2>/dev/null) == *"$pin"* ]] && return 0
	done < <(nbde_crypttab_devices)
	return 1
}

# 0 when a crypttab volume has an https:// tang URL (directly or inside sss),
# or always with nbde_https=yes: nbde then needs the CA bundle
nbde_https_bound() {
	[[ $nbde_https == yes ]] && return 0
	local dev
	while read -r dev; do
		[[ $(nbde list -d "$dev" 2>/dev/null) == *'"url":"'[Hh][Tt][Tt][Pp][Ss]://* ]] && return 0
	done < <(nbde_crypttab_devices)
	return 1
}

# 0 when a crypttab volume is bound to tang, or nbde_network=yes
nbde_tang_bound() {
	[[ $nbde_network == yes ]] || nbde_pin_bound tang
}

installkernel() {
	nbde_pin_bound tpm2 && hostonly='' instmods tpm_tis tpm_crb
	return 0
}

check() {
	require_binaries nbde || return 1
	return 0
}

depends() {
	local d=crypt
	nbde_tang_bound && d="$d network"
	echo "$d"
}

# the path nbde reads at boot (as curl on Debian)
NBDE_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

install() {
	inst_simple @BINDIR@/nbde /usr/bin/nbde
	if nbde_https_bound; then
		if [[ -s $NBDE_CA_BUNDLE ]]; then
			inst_simple "$NBDE_CA_BUNDLE"
		else
			dwarn "nbde: an https:// tang binding needs $NBDE_CA_BUNDLE (package ca-certificates), which is missing"
		fi
	fi
	if dracut_module_included systemd; then
		inst_simple "$moddir/nbde-askpass.path" "$systemdsystemunitdir/nbde-askpass.path"
		inst_simple "$moddir/nbde-askpass.service" "$systemdsystemunitdir/nbde-askpass.service"
		mkdir -p "$initdir$systemdsystemunitdir/cryptsetup.target.wants"
		ln_r "$systemdsystemunitdir/nbde-askpass.path" \
			"$systemdsystemunitdir/cryptsetup.target.wants/nbde-askpass.path"
		# a tpm2pin PIN is asked before systemd-cryptsetup's prompt
		inst_simple "$moddir/nbde-pin.conf" "$systemdsystemunitdir/systemd-cryptsetup@.service.d/nbde-pin.conf"
		inst_simple "$moddir/nbde-pin-unlock" @NBDE_LIBDIR@/nbde-pin-unlock
	else
		# Each volume is tried once. With tang the network must be up: the
		# online hook tries; with DHCP the online job can be queued after
		# cryptroot-ask already prompts, so a settled hook (nbde-settled.sh)
		# runs the pending online job first. Without tang, settled suffices.
		if nbde_tang_bound; then
			inst_hook initqueue/online 60 "$moddir/nbde-unlock.sh"
			inst_simple "$moddir/nbde-settled.sh" /lib/dracut/hooks/initqueue/settled/60-nbde-unlock.sh
			chmod u+x "$initdir/lib/dracut/hooks/initqueue/settled/60-nbde-unlock.sh"
		else
			inst_hook initqueue/settled 60 "$moddir/nbde-unlock.sh"
		fi
	fi
	if nbde_tang_bound && [[ $hostonly_cmdline == yes ]]; then
		echo "rd.neednet=1" >"$initdir/etc/cmdline.d/99nbde.conf"
	fi
	dracut_need_initqueue
}
