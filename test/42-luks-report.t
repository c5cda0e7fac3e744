#!/usr/bin/env bash
# 42-luks-report.t - nbde report (clevis luks report) on LUKS1 and LUKS2
# image files against Debian's tangd (through socat): silent exit 0 while
# the server advertises the bound keys; after a key rotation the rotated
# thumbprints exactly as clevis prints them and exit 1; -q -r regenerates,
# and then exit 0 again. sss bindings are checked child by child.
. "$(dirname "$0")/lib.sh"

need cryptsetup clevis jose socat
[ -x /usr/libexec/tangd ] || skip_all "tangd is not installed (/usr/libexec/tangd)"
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
"$NBDE" report -h >/dev/null 2>&1 || skip_all "nbde has no report applet"

printf 'old passphrase' >"$TMP/key"

# start_tang NAME : tangd behind socat on 127.0.0.1 (new keys each time); sets URL_<NAME>, DB_<NAME>, PID_<NAME>.
start_tang() {
	local db="$TMP/tang-$1"
	tangd_keys "$db" && tangd_start "$db" || return 1
	printf -v "PID_$1" '%s' "$TANGD_PID"
	printf -v "URL_$1" '%s' "$TANGD_URL"
	printf -v "DB_$1" '%s' "$db"
}
start_tang A && start_tang B || skip_all "cannot start tangd through socat"

# report IMG SLOT [ARGS...] : nbde report; sets RC, OUT (stdout), ERR (stderr)
report() {
	local img=$1 slot=$2
	shift 2
	"$NBDE" report -d "$img" -s "$slot" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}
clevis_report() { clevis luks report -q -d "$1" -s "$2" </dev/null 2>/dev/null; }
thps() { # thps DB : the S256 thumbprints of the visible keys, sorted
	for f in "$1"/*.jwk; do jose jwk thp -i "$f" -a S256; echo; done | sort
}

for TYPE in luks1 luks2; do
	IMG="$TMP/$TYPE.img"
	luks_image "$TYPE" "$IMG" "$TMP/key"
	"$NBDE" bind -y -d "$IMG" -k "$TMP/key" tang "{\"url\":\"$URL_A\"}" >/dev/null 2>&1
	ok $? "$TYPE: bind tang to server A (keyslot 1)"
	SSS="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$URL_A\"},{\"url\":\"$URL_B\"}]}}"
	"$NBDE" bind -y -d "$IMG" -k "$TMP/key" sss "$SSS" >/dev/null 2>&1
	ok $? "$TYPE: bind sss of servers A and B (keyslot 2)"

	report "$IMG" 1
	is "$RC:$OUT:$ERR" "0::" "$TYPE: report before any rotation: exit 0, no output"
	report "$IMG" 2
	is "$RC:$OUT:$ERR" "0::" "$TYPE: report of the sss binding: exit 0, no output"

	OLD_A=$(thps "$DB_A")
	if [ "$TYPE" = luks1 ]; then
		/usr/libexec/tangd-rotate-keys -d "$DB_A" >/dev/null 2>&1
		ok $? "$TYPE: rotate server A's keys (tangd-rotate-keys)"
	else
		"$NBDE" tangd-rotate-keys -d "$DB_A" >/dev/null 2>&1
		ok $? "$TYPE: rotate server A's keys (nbde tangd-rotate-keys)"
	fi
	WANT="The following keys are not in the current advertisement and were probably rotated:"
	report "$IMG" 1 -q
	is "$RC" 1 "$TYPE: report after the rotation exits 1"
	is "$(head -1 <<<"$OUT")" "$WANT" "$TYPE: ... with clevis's heading"
	is "$(tail -n +2 <<<"$OUT" | sed 's/^  //' | sort)" "$OLD_A" "$TYPE: ... and the two old keys' thumbprints"
	is "$OUT" "$(clevis_report "$IMG" 1)" "$TYPE: ... exactly what clevis luks report prints"
	report "$IMG" 2 -q
	is "$RC:$(tail -n +2 <<<"$OUT" | sed 's/^  //' | sort)" "1:$OLD_A" "$TYPE: sss: only server A's old keys are reported"
	is "$OUT" "$(clevis_report "$IMG" 2)" "$TYPE: sss: ... as clevis reports them"
	# the prompt reads stdin; anything but y/Y declines
	echo n | "$NBDE" report -d "$IMG" -s 1 >/dev/null 2>&1
	is $? 1 "$TYPE: answering n to the prompt changes nothing (exit 1)"
	report "$IMG" 1 -q
	is "$RC" 1 "$TYPE: ... still rotated"

	# -q -r regenerates through the clevis front end
	"$NBDE" clevis luks report -q -r -d "$IMG" -s 1 </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	is "$rc" 0 "$TYPE: clevis luks report -q -r regenerates (nbde front end)"
	grep -q '^Regenerating binding' "$TMP/out" && grep -q 'Binding regenerated successfully' "$TMP/err"
	ok $? "$TYPE: ... saying so as clevis does"
	report "$IMG" 1
	is "$RC:$OUT:$ERR" "0::" "$TYPE: report after regen: exit 0, no output"
	clevis luks report -q -d "$IMG" -s 1 </dev/null >/dev/null 2>&1
	is $? 0 "$TYPE: ... and clevis agrees"
	run_ok "$TYPE: the regenerated binding unlocks" "$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 10)"
	# y on stdin regenerates too
	echo y | "$NBDE" report -d "$IMG" -s 2 >/dev/null 2>&1
	is $? 0 "$TYPE: answering y regenerates the sss binding"
	report "$IMG" 2
	is "$RC:$OUT" "0:" "$TYPE: ... after which it reports nothing"

	# errors
	report "$IMG" 0
	is "$RC" 1 "$TYPE: report of a keyslot without binding exits 1"
	stop_pid "$PID_B"
	report "$IMG" 2 -q
	is "$RC" 1 "$TYPE: report with server B gone exits 1"
	grep -q 'Unable to verify whether there are rotated keys' <<<"$ERR"
	ok $? "$TYPE: ... saying it cannot verify"
	start_tang B || ok 1 "restart server B"
	# server B restarts on a new port with new keys: the binding points elsewhere
	"$NBDE" unbind -f -d "$IMG" -s 2 >/dev/null 2>&1
done

run_fails "report without -s is a usage error" "$NBDE" report -d "$IMG"
run_fails "report with a bad keyslot" "$NBDE" report -d "$IMG" -s 99
grep -q "invalid keyslot '99'" "$TMP/.err"
ok $? "... naming it"

done_testing
