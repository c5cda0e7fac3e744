#!/usr/bin/env bash
# 00-unit.t - the C unit suites (test/unit_*.c), from the static musl build
# and from the glibc ASan+UBSan build, re-numbered into one TAP stream.
. "$(dirname "$0")/lib.sh"
: "${BUILD:=$PWD/build/musl}"
: "${SAN:=$PWD/build/san}"

run_suite() { # run_suite LABEL BINARY
	local label=$1 bin=$2 line seen=0 rc=none
	if [ ! -x "$bin" ]; then
		skip "$label: $bin not built"
		return
	fi
	while IFS= read -r line; do
		case $line in
		"ok "*) ok 0 "$label: ${line#ok * - }"; seen=1 ;;
		"not ok "*) ok 1 "$label: ${line#not ok * - }"; seen=1 ;;
		"# exit "*) rc=${line#\# exit } ;;
		"#"*) echo "$line" ;;
		esac
	done < <(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$bin" 2>"$TMP/$label.err"; echo "# exit $?")
	[ "$rc" = 0 ]
	ok $? "$label: exits 0"
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$TMP/$label.err"
	[ $? -ne 0 ]
	ok $? "$label: no sanitizer report" || head -n 20 "$TMP/$label.err" | sed 's/^/# /' >&2
	[ $seen -eq 1 ]
	ok $? "$label: produced results"
}

for src in test/unit_*.c; do
	name=$(basename "$src" .c)
	run_suite "$name" "$BUILD/$name"
	run_suite "$name (asan+ubsan)" "$SAN/$name"
done
done_testing
