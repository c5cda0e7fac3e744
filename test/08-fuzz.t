#!/bin/bash
# 08-fuzz.t - every libFuzzer target (test/fuzz/fuzz_*.c, built with ASan and
# UBSan by `make fuzz-build`) replays its seed corpus once: the targets build,
# run and find nothing in the inputs they start from. Longer runs: make fuzz.
. "$(dirname "$0")/lib.sh"
: "${FUZZ:=$PWD/build/fuzz}"
cd "$(dirname "$0")/.." || exit 1

for src in test/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$FUZZ/$name
	if [ ! -x "$bin" ]; then
		skip "$name: not built (clang missing? make fuzz-build)"
		continue
	fi
	if [ "$name" = fuzz_pin_decrypt ] && [ "$(id -u)" -ne 0 ]; then
		skip "$name: needs root for its network namespace"
		continue
	fi
	corpus=test/fuzz/corpus/$name
	[ -d "$corpus" ] || corpus=
	timeout "$(t_secs 120)" "$bin" -runs=0 ${corpus:+"$corpus"} >"$TMP/$name.log" 2>&1
	rc=$?
	is "$rc" 0 "$name replays its seed corpus without a finding" || tail -n 20 "$TMP/$name.log" | sed 's/^/# /' >&2
done

done_testing
