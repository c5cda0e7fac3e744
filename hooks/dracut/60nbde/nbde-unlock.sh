#!/bin/sh
# dracut initqueue hook (initrds without systemd), run once the network is
# online (tang) or when udev settled (other pins): opens each LUKS volume
# that has a clevis binding and is not open yet, under the name cryptroot-ask would
# use (luks-UUID), so cryptroot-ask then finds it open and does not prompt.
# Sourced by dracut: no exit. Each volume gets one try, bounded by
# nbde.timeout= (default 30 s; when called from the settled hook, what is
# left of it: $_nbde_left); a failure leaves the prompt to a person. The
# settled hook (nbde-settled.sh) sources this too: /tmp/nbde-tried-* and
# the open mapping make the second call a no-op. A tpm2pin binding's PIN
# is asked on the console (the TPM's few tries, within the deadline) before
# cryptroot-ask's passphrase prompt, the fallback.
_nbde_t=${_nbde_left:-$(getarg nbde.timeout=)}
for _nbde_dev in /dev/disk/by-uuid/*; do
	[ -b "$_nbde_dev" ] || continue
	_nbde_uuid=${_nbde_dev##*/}
	[ -e "/dev/mapper/luks-$_nbde_uuid" ] && continue
	[ -e "/tmp/nbde-tried-$_nbde_uuid" ] && continue
	nbde list -d "$_nbde_dev" >/dev/null 2>&1 || continue	# not LUKS
	[ -n "$(nbde list -d "$_nbde_dev" 2>/dev/null)" ] || continue	# no binding
	: >"/tmp/nbde-tried-$_nbde_uuid"
	# a tpm2pin binding asks its PIN on the console, under the lock
	# dracut's own password prompts take
	NBDE_PROMPT=console NBDE_CONSOLE_LOCK=/.console_lock \
		nbde unlock -d "$_nbde_dev" -n "luks-$_nbde_uuid" ${_nbde_t:+--timeout "$_nbde_t"}
done
unset _nbde_dev _nbde_uuid _nbde_t
