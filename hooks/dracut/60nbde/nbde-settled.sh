#!/bin/sh
# dracut initqueue/settled hook (initrds without systemd, tang bound),
# installed as 60-nbde-unlock.sh so it sorts before cryptroot-ask-*.
# With DHCP (rd.neednet=1, no ip=), dhclient-script queues
# setup_net_<if>.sh - the job that runs the initqueue/online hooks - after
# the current initqueue pass took its job list; that same pass then runs
# the settled cryptroot-ask, which prompts and blocks, so the online hook
# would never run. Here, before the prompt: run any pending setup_net job
# now (it sets up routes/DNS and runs the online hooks, our unlock among
# them), waiting for one at most once per boot and within nbde.timeout=
# (default 30 s); then the unlock itself, which skips what is open or was
# tried (/tmp/nbde-tried-*). No network in time: the prompt stays usable.
# Sourced by dracut on every pass: no exit, cheap when nothing is to do.
_nbde_todo=
for _nbde_dev in /dev/disk/by-uuid/*; do
	[ -b "$_nbde_dev" ] || continue
	_nbde_uuid=${_nbde_dev##*/}
	[ -e "/dev/mapper/luks-$_nbde_uuid" ] && continue
	[ -e "/tmp/nbde-tried-$_nbde_uuid" ] && continue
	[ -n "$(nbde list -d "$_nbde_dev" 2>/dev/null)" ] || continue
	_nbde_todo=1
	break
done
if [ -n "$_nbde_todo" ] && ! [ -e /tmp/nbde-settled-waited ]; then
	: >/tmp/nbde-settled-waited
	_nbde_t=$(getarg nbde.timeout=)
	case $_nbde_t in '' | *[!0-9]*) _nbde_t=30 ;; esac
	read -r _nbde_now _nbde_x </proc/uptime
	_nbde_end=$((${_nbde_now%.*} + _nbde_t))
	while :; do
		# a pending online job, or a network already set up (no `set --`:
		# this is sourced, the positional parameters are init's)
		_nbde_net=
		for _nbde_job in "$hookdir"/initqueue/setup_net_*.sh /tmp/net.*.did-setup; do
			[ -e "$_nbde_job" ] && _nbde_net=1
		done
		[ -n "$_nbde_net" ] && break
		read -r _nbde_now _nbde_x </proc/uptime
		[ "${_nbde_now%.*}" -lt "$_nbde_end" ] || break
		sleep 0.5
	done
	# the unlock gets what is left of the deadline (at least 1 s)
	read -r _nbde_now _nbde_x </proc/uptime
	_nbde_left=$((_nbde_end - ${_nbde_now%.*}))
	[ "$_nbde_left" -ge 1 ] || _nbde_left=1
	if [ -n "$_nbde_net" ]; then
		# the pending jobs remove themselves, as when init runs them
		for _nbde_job in "$hookdir"/initqueue/setup_net_*.sh; do
			[ -e "$_nbde_job" ] || continue
			info "nbde: running $_nbde_job before the passphrase prompt"
			. "$_nbde_job"
		done
		. "$hookdir/initqueue/online/60-nbde-unlock.sh"
	else
		warn "nbde: no network within ${_nbde_t}s; leaving the volume to the prompt"
	fi
	unset _nbde_net _nbde_left _nbde_t _nbde_now _nbde_x _nbde_end _nbde_job
fi
unset _nbde_todo _nbde_dev _nbde_uuid
