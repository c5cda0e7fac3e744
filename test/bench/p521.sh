#!/usr/bin/env bash
# p521.sh - builds test/bench/p521_speed.c against the static musl objects
# (crypto/p521.c as make builds it) and runs it:
# P-521 multiplications per CPU second, nbde vs Mbed TLS vs openssl speed.
#   usage: test/bench/p521.sh [SECONDS [ROUNDS]]    (from the repository root)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
make -s build/musl/unit_p521	# the crypto objects and the flags, as make builds them
M=build/musl
MUSL_CC=$(sed -n 's/^DEPS_musl := //p' build/deps-musl.mk)/bin/musl-cc
PC="PKG_CONFIG_LIBDIR=$(sed -n 's/^DEPS_musl := //p' build/deps-musl.mk)/lib/pkgconfig PKG_CONFIG_PATH="
# shellcheck disable=SC2046 # pkg-config prints word lists
"$MUSL_CC" -std=gnu11 -O2 -static -o "$M/p521_speed" test/bench/p521_speed.c "$M"/crypto/*.o \
	$(env $PC pkg-config --static --cflags --libs libcjson mbedcrypto) -lpthread
command -v openssl >/dev/null || echo "p521.sh: openssl not installed; its column will read -1" >&2
exec "$M/p521_speed" "$@"
