#!/usr/bin/env bash
# 05-dispatch.t - the multi-call binary: static build, --help/--version,
# argv[0] and argv[1] dispatch, unknown names, every listed applet's -h.
. "$(dirname "$0")/lib.sh"
[ -x "$NBDE" ] || skip_all "nbde not built"

if command -v file >/dev/null; then
	file -L "$NBDE" | grep -q 'statically linked'
	ok $? "nbde is statically linked"
	readelf -l "$NBDE" 2>/dev/null | grep -q INTERP
	[ $? -ne 0 ]
	ok $? "nbde has no program interpreter"
	size=$(stat -c %s "$NBDE")
	[ "$size" -le 1048576 ]
	ok $? "stripped size $size bytes <= 1 MiB"
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
done

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
