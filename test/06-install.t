#!/bin/bash
# 06-install.t - `make install` into a staging tree honours PREFIX: every
# unit's ExecStart and every boot hook names the binary where it was
# installed, no @BINDIR@ is left, and the applet names are links to it.
. "$(dirname "$0")/lib.sh"
need make

for prefix in /usr /usr/local; do
	root=$TMP/root$(echo "$prefix" | tr / _)
	make -s install DESTDIR="$root" PREFIX="$prefix" UNITDIR="$prefix/lib/systemd/system" \
		DRACUTDIR="$prefix/lib/dracut/modules.d" ITOOLSDIR="$prefix/share/initramfs-tools" \
		>"$TMP/install.log" 2>&1
	ok $? "make install PREFIX=$prefix DESTDIR=… succeeds"
	[ -x "$root$prefix/bin/nbde" ]
	ok $? "PREFIX=$prefix: the binary is $prefix/bin/nbde"
	left=$(grep -rlE '@(BINDIR|NBDE_LIBDIR)@' "$root" 2>/dev/null)
	is "$left" "" "PREFIX=$prefix: no @BINDIR@ or @NBDE_LIBDIR@ is left in any installed file"
	pre=$(sed -n 's/^ExecStartPre=-//p' "$root$prefix/lib/systemd/system/systemd-cryptsetup@.service.d/nbde-pin.conf")
	[ "$pre" = "$prefix/lib/nbde/nbde-pin-unlock %I" ] && [ -x "$root$prefix/lib/nbde/nbde-pin-unlock" ] &&
		grep -q "^	\*tpm2pin\*) $prefix/bin/nbde unlock " "$root$prefix/lib/nbde/nbde-pin-unlock"
	ok $? "PREFIX=$prefix: systemd-cryptsetup@'s drop-in runs $prefix/lib/nbde/nbde-pin-unlock, which runs $prefix/bin/nbde (got: $pre)"
	bad=
	while IFS= read -r line; do
		file=${line%%:*}
		exe=${line#*:ExecStart=}
		exe=${exe%% *}
		[ "$exe" = "$prefix/bin/nbde" ] || bad="$bad ${file#"$root"}($exe)"
	done < <(grep -r '^ExecStart=' "$root$prefix/lib/systemd/system")
	is "$bad" "" "PREFIX=$prefix: every unit's ExecStart is $prefix/bin/nbde"
	n=$(grep -rc '^ExecStart=' "$root$prefix/lib/systemd/system" | awk -F: '{s += $2} END {print s}')
	[ "$n" -ge 4 ]
	ok $? "PREFIX=$prefix: the tang and askpass units are there ($n ExecStart lines)"
	grep -q "inst_simple $prefix/bin/nbde " "$root$prefix/lib/dracut/modules.d/60nbde/module-setup.sh"
	ok $? "PREFIX=$prefix: the dracut module copies $prefix/bin/nbde"
	grep -q "copy_exec $prefix/bin/nbde " "$root$prefix/share/initramfs-tools/hooks/nbde"
	ok $? "PREFIX=$prefix: the initramfs-tools hook copies $prefix/bin/nbde"
	is "$(readlink "$root$prefix/bin/tangd")" nbde "PREFIX=$prefix: tangd is a link to nbde"
done

done_testing
