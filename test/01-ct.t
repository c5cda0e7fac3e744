#!/usr/bin/env bash
# 01-ct.t - constant time, checked mechanically: test/ct_p521 runs the P-521
# code (field, scalar recoding, table scan, multiply, add) with its secrets
# marked undefined for valgrind's memcheck (and test/ct_kdfa the tpm2pin pin's
# KDFa and HMAC with the PIN and authValue undefined), so any branch or memory address
# that depends on a secret is reported; one report fails the file.
. "$(dirname "$0")/lib.sh"
: "${BUILD:=$PWD/build/musl}"
need valgrind
bin=$BUILD/ct_p521
[ -x "$bin" ] || skip_all "$bin not built"
"$bin" >/dev/null 2>&1
[ $? -eq 77 ] && skip_all "ct_p521 was built without <valgrind/memcheck.h>"

valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes "$bin" >"$TMP/out" 2>"$TMP/vg"
ok $? "ct_p521 runs clean under valgrind memcheck"
leaks='depends on uninitialised|Use of uninitialised value'
if grep -qE "$leaks" "$TMP/vg"; then
	ok 1 "no branch or address depends on a secret scalar or point"
	grep -E -A6 "$leaks" "$TMP/vg" | head -40 | sed 's/^/# /'
else
	ok 0 "no branch or address depends on a secret scalar or point"
fi
is "$(grep -c '^p521_mul' "$TMP/out")" 8 "every scalar went through p521_mul and p521_mul_base"
is "$(grep -c '^p521_add' "$TMP/out")" 2 "both additions ran"

# the tpm2pin pin's KDFa of the PIN and HMAC keyed with the authValue
bin=$BUILD/ct_kdfa
if [ -x "$bin" ]; then
	valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes "$bin" >"$TMP/out" 2>"$TMP/vg"
	ok $? "ct_kdfa runs clean under valgrind memcheck"
	if grep -qE "$leaks" "$TMP/vg"; then
		ok 1 "no branch or address depends on the PIN, the authValue or Z"
		grep -E -A6 "$leaks" "$TMP/vg" | head -40 | sed 's/^/# /'
	else
		ok 0 "no branch or address depends on the PIN, the authValue or Z"
	fi
	is "$(grep -c ' ok' "$TMP/out")" 12 "KDFa, HMAC and KDFe ran for sha1, sha256, sha384 and sha512"
else
	skip "$bin not built"
fi
done_testing
