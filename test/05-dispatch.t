#!/usr/bin/env bash
# 05-dispatch.t - the multi-call binary: static build, --help/--version,
# argv[0] and argv[1] dispatch, unknown names, every listed applet's -h and
# unknown option, and the exit codes of usage errors by the name called.
. "$(dirname "$0")/lib.sh"
[ -x "$NBDE" ] || skip_all "nbde not built"

if command -v file >/dev/null; then
	file -L "$NBDE" | grep -q 'statically linked'
	ok $? "nbde is statically linked"
	readelf -l "$NBDE" 2>/dev/null | grep -q INTERP
	[ $? -ne 0 ]
	ok $? "nbde has no program interpreter"
	size=$(stat -c %s "$NBDE")
	[ "$size" -le 1572864 ]
	ok $? "stripped size $size bytes <= 1.5 MiB (the design card's budget, every feature in)"
else
	skip "file(1) is not installed"
fi

run_ok "--help exits 0" "$NBDE" --help
help=$(cat "$TMP/.out")
run_ok "--version exits 0" "$NBDE" --version
grep -q '^nbde [0-9]' "$TMP/.out"
ok $? "--version prints 'nbde VERSION'"

"$NBDE" no-such-applet >"$TMP/o" 2>"$TMP/e"
is "$?" 2 "unknown applet exits 2"
grep -q "unknown applet 'no-such-applet'" "$TMP/e"
ok $? "unknown applet is named on stderr"
[ ! -s "$TMP/o" ]
ok $? "unknown applet prints nothing on stdout"
"$NBDE" >/dev/null 2>&1
is "$?" 2 "no applet at all exits 2"

applets=$(printf '%s\n' "$help" | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
[ -n "$applets" ]
ok $? "--help lists applets"
for a in $applets; do
	"$NBDE" "$a" -h >"$TMP/o" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -qi usage "$TMP/o"
	ok $? "$a -h prints usage and exits 0"
	[ "$a" = clevis ] && continue	# clevis's own listing, not an option table
	"$NBDE" "$a" --no-such-option </dev/null >"$TMP/o" 2>"$TMP/e"
	rc=$?
	[ $rc -eq 2 ] && [ ! -s "$TMP/o" ] && grep -q "^nbde $a: unknown option '--no-such-option'$" "$TMP/e" &&
		grep -q "^usage: nbde $a " "$TMP/e"
	ok $? "nbde $a --no-such-option: one line naming it, the synopsis, exit 2 (got $rc)"
done

# One exit-code convention: `nbde APPLET` usage errors exit 2; through a
# peer's name the peer's code, because scripts written for it test it
# (clevis's list/pass/edit/regen/report and tang's tools exit 1, clevis's
# bind/unbind/unlock 2).
usage_rc() { "$@" </dev/null >/dev/null 2>"$TMP/e"; echo $?; }
for c in "luks list" "luks pass" "luks edit" "luks regen" "luks report" "encrypt tang"; do
	is "$(usage_rc "$NBDE" clevis $c -Z)" 1 "clevis $c with a bad option exits 1, as clevis's script"
	grep -q "^usage: clevis ${c% tang} " "$TMP/e"
	ok $? "... and shows clevis $c's synopsis"
done
for c in "luks bind" "luks unbind" "luks unlock"; do
	is "$(usage_rc "$NBDE" clevis $c -Z)" 2 "clevis $c with a bad option exits 2, as clevis's script"
done
for c in list pass edit regen report bind unbind unlock; do
	is "$(usage_rc "$NBDE" $c -Z)" 2 "nbde $c with a bad option exits 2"
done
mkdir "$TMP/peer"
for t in tangd tangd-keygen tangd-rotate-keys tang-show-keys; do
	ln -s "$NBDE" "$TMP/peer/$t"
	is "$(usage_rc "$TMP/peer/$t" -Z)" 1 "$t (a symlink) with a bad option exits 1, as tang's"
	grep -q "^$t: unknown option '-Z'$" "$TMP/e"
	ok $? "... and names itself '$t'"
	is "$(usage_rc "$NBDE" $t -Z)" 2 "nbde $t with a bad option exits 2"
done
# messages name the program as it was called
printf x | "$NBDE" clevis encrypt null nojson >/dev/null 2>"$TMP/e"
is "$(cat "$TMP/e")" "clevis: Configuration is malformed!" "clevis encrypt's errors say 'clevis:', as clevis luks bind's"
printf x | "$NBDE" encrypt null nojson >/dev/null 2>"$TMP/e"
is "$(cat "$TMP/e")" "nbde encrypt: Configuration is malformed!" "nbde encrypt's errors say 'nbde encrypt:'"
# the help is the option table: each option is listed once, with its text
"$NBDE" unlock -h >"$TMP/o"
is "$(grep -c -- '--timeout SEC' "$TMP/o")" 2 "unlock -h: --timeout in the synopsis and once in the table"
tr -s ' \n' ' ' <"$TMP/o" | grep -q -- "--timeout SEC overall deadline in seconds (default: nbde.timeout= on the kernel command line, else 30)"
ok $? "unlock -h: the default comes from the tunable, not a copy"

# argv[0] dispatch through a symlink, the way tangd and clevis are installed.
ln -s "$NBDE" "$TMP/tangd"
"$TMP/tangd" -h >"$TMP/o" 2>&1
[ $? -eq 0 ] && grep -qi usage "$TMP/o"
ok $? "a symlink named tangd dispatches on argv[0]"
ln -s "$NBDE" "$TMP/not-an-applet"
"$TMP/not-an-applet" --version >"$TMP/o" 2>&1
is "$?" 0 "an unknown argv[0] falls back to argv[1]"
# one strict seconds parser behind every --timeout (askpass used to take "5x")
for cmd in "unlock -d $TMP/none" "askpass" "decrypt"; do
	for bad in 5x 0 -3 "" 99999999999999999999; do
		"$NBDE" $cmd --timeout "$bad" </dev/null >/dev/null 2>"$TMP/err"
		rc=$?
		[ $rc -eq 2 ] && grep -q -- "invalid --timeout '$bad' (1 to 86400)" "$TMP/err"
		ok $? "nbde ${cmd%% *} --timeout '$bad': usage error naming it (exit $rc)"
	done
done

done_testing
