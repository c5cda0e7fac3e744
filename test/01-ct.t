#!/usr/bin/env bash
# 01-ct.t - constant time, checked mechanically: test/ct_p521 runs the P-521
# code (field, scalar recoding, table scan, multiply, add) and test/ct_sha256
# the SHA-256 compression, PBKDF2-HMAC and HMAC that are compiled into
# libmbedcrypto.a, with their secrets marked undefined for valgrind's
# memcheck, so any branch or memory address that depends on a secret is
# reported; one report fails the file. valgrind cannot run SHA-NI, so that
# code is checked by its disassembly: straight-line, no index register.
# test/ct_kdfa runs the tpm2pin pin's KDFa, HMAC and KDFe with the PIN, the
# authValue and the ECDH secret undefined; test/ct_cfb its AES-128-CFB.
. "$(dirname "$0")/lib.sh"
: "${BUILD:=$PWD/build/musl}"
need valgrind
leaks='depends on uninitialised|Use of uninitialised value'

# memcheck_clean NAME : runs $BUILD/NAME under memcheck into $TMP/NAME.{out,vg}
memcheck_clean() {
	local name=$1 bin=$BUILD/$1
	if [ ! -x "$bin" ]; then
		skip "$bin not built"
		skip "$bin not built"
		return 1
	fi
	"$bin" >/dev/null 2>&1
	if [ $? -eq 77 ]; then
		skip "$name was built without <valgrind/memcheck.h>"
		skip "$name was built without <valgrind/memcheck.h>"
		return 1
	fi
	valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes "$bin" >"$TMP/$name.out" 2>"$TMP/$name.vg"
	ok $? "$name runs clean under valgrind memcheck"
	if grep -qE "$leaks" "$TMP/$name.vg"; then
		ok 1 "$name: no branch or address depends on a secret"
		grep -E -A6 "$leaks" "$TMP/$name.vg" | head -40 | sed 's/^/# /'
	else
		ok 0 "$name: no branch or address depends on a secret"
	fi
}

if memcheck_clean ct_p521; then
	is "$(grep -c '^p521_mul' "$TMP/ct_p521.out")" 8 "every scalar went through p521_mul and p521_mul_base"
	is "$(grep -c '^p521_add' "$TMP/ct_p521.out")" 2 "both additions ran"
fi

if memcheck_clean ct_sha256; then
	is "$(grep -c '^pbkdf2_hmac_sha256: rc 0' "$TMP/ct_sha256.out")" 2 "both PBKDF2-SHA256 runs (short and hashed password) completed"
	is "$(grep -c '^pbkdf2_hmac_md: rc 0' "$TMP/ct_sha256.out")" 2 "PBKDF2 with SHA-1 and SHA-512 completed"
	is "$(grep -c -E '^(sha256_compress_portable|hmac_sha256): rc 0' "$TMP/ct_sha256.out")" 2 "the compression and the HMAC ran"
fi

# AES-128-CFB (the TPM sessions' parameter encryption): Mbed TLS uses AES-NI
# where the CPU has it; its table AES indexes memory by key and text bytes
# (memcheck reports it: tried by swapping in mbedtls_internal_aes_encrypt),
# so without AES-NI there is nothing constant-time to check.
if grep -qw aes /proc/cpuinfo; then
	if memcheck_clean ct_cfb; then
		is "$(cat "$TMP/ct_cfb.out")" "aes128_cfb: rc 0, round trip ok" "AES-128-CFB ran both ways"
	fi
else
	skip "ct_cfb: this CPU has no AES-NI, and Mbed TLS's table AES is not constant time"
	skip "ct_cfb: this CPU has no AES-NI"
fi

# The SHA-NI code (one compression; one PBKDF2 iteration, two compressions):
# its instructions (sha256rnds2 and the SSE ones around it) take the same
# time for any operand; what could leak is a branch or a memory address, so
# each function must have no conditional jump, no call, and address memory
# only through its pointer arguments (%rdi %rsi %rdx %rcx), the round
# constants (%rip) or its own stack frame, never through an index.
bin=$BUILD/ct_sha256
for fn in sha256_compress_shani:32 sha256_hmac_iter_shani:64; do
	rounds=${fn#*:} fn=${fn%:*}
	if [ -x "$bin" ] && command -v objdump >/dev/null &&
	   objdump -d --no-show-raw-insn --disassemble="$fn" "$bin" 2>/dev/null |
		sed -n "/<$fn>:/,\$p" | grep -E '^ +[0-9a-f]+:' >"$TMP/$fn.s" && [ -s "$TMP/$fn.s" ]; then
		is "$(grep -cw sha256rnds2 "$TMP/$fn.s")" "$rounds" "$fn: $rounds sha256rnds2, straight-line"
		is "$(grep -E '\sj[a-z]+\s' "$TMP/$fn.s" | grep -vwE 'jmp' | tr -s ' ' | head -3)" "" \
			"$fn: no conditional jump"
		is "$(grep -wE 'call|jmp' "$TMP/$fn.s" | tr -s ' ' | head -3)" "" "$fn: no call or jump"
		is "$(grep -oE '\([^)]*\)' "$TMP/$fn.s" | grep -vxE '\(%r(di|si|dx|cx|ip|sp|bp)\)' | sort -u | head -3 | tr '\n' ' ')" "" \
			"$fn: every memory operand is an argument, a constant or the stack, none indexed"
	else
		for _ in 1 2 3 4; do skip "$fn disassembly: $bin or objdump missing"; done
	fi
done

# the tpm2pin pin's KDFa of the PIN, HMAC keyed with the authValue, KDFe of Z
if memcheck_clean ct_kdfa; then
	is "$(grep -c ' ok' "$TMP/ct_kdfa.out")" 12 "KDFa, HMAC and KDFe ran for sha1, sha256, sha384 and sha512"
fi
done_testing
