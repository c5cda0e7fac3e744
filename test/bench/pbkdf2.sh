#!/usr/bin/env bash
# pbkdf2.sh - PBKDF2-HMAC-SHA256 in nbde's Mbed TLS against OpenSSL, and
# LUKS1 `nbde bind` against `cryptsetup open --test-passphrase`, measured
# alternately in one run (so both see the same machine load); prints each
# round and the medians. Not part of make check.
#
# 1. iterations per CPU second: test/bench/pbkdf2_speed.c (libcryptsetup's
#    entry point with SHA-NI, portable, and Mbed TLS's stock loop) against
#    `openssl kdf ... PBKDF2` (its user+sys time for ITER iterations).
# 2. a LUKS1 image formatted by cryptsetup with its default iteration time
#    (2 s, benchmarked with Debian's OpenSSL backend): CPU and wall time of
#    `cryptsetup open --test-passphrase` and of `nbde bind ... null '{}'`
#    (opens the keyslot with the passphrase, adds clevis's 1000-iteration
#    keyslot) on a fresh copy each round.
#
# usage: test/bench/pbkdf2.sh [ROUNDS [ITER]]   (from the repository root;
#        NBDE=path/to/nbde, default ./nbde; defaults 3 and 2000000)
set -euo pipefail
ROUNDS=${1:-3}
ITER=${2:-2000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
NBDE=${NBDE:-$ROOT/nbde}
for c in openssl cryptsetup; do
	command -v "$c" >/dev/null || { echo "pbkdf2.sh: $c is not installed" >&2; exit 1; }
done
make -s nbde build/musl/unit_sha256	# the prefix and the objects, as make builds them
M=build/musl
PREFIX=$(sed -n 's/^DEPS_musl := //p' build/deps-musl.mk)
# shellcheck disable=SC2046 # pkg-config prints word lists
"$PREFIX/bin/musl-cc" -std=gnu11 -O2 -static -o "$M/pbkdf2_speed" test/bench/pbkdf2_speed.c \
	$(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig PKG_CONFIG_PATH='' pkg-config --static --cflags --libs mbedcrypto)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TIMEFORMAT='%3R %3U %3S'

cpu_of() { # cpu_of FILE : user+sys seconds from a `time` line (real user sys)
	awk '{ printf "%.3f", $2 + $3 }' "$1"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# PBKDF2-HMAC-SHA256, $ITER iterations, 32-byte key; iterations per CPU second"
for r in $(seq "$ROUNDS"); do
	"$M/pbkdf2_speed" "$ITER" >"$TMP/nbde.$r"
	{ time openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:password -kdfopt salt:salt \
		-kdfopt iter:"$ITER" PBKDF2 >/dev/null; } 2>"$TMP/ossl.t"
	awk -v n="$ITER" -v c="$(cpu_of "$TMP/ossl.t")" 'BEGIN { printf "%.0f\n", n / c }' >"$TMP/ossl.$r"
	echo "round $r: $(tr '\n' ' ' <"$TMP/nbde.$r")openssl $(cat "$TMP/ossl.$r")"
done
for kind in nbde-shani nbde-portable mbedtls-loop-shani mbedtls-loop-portable; do
	printf '%-24s %10s\n' "$kind" "$(cat "$TMP"/nbde.* | awk -v k="$kind" '$1 == k { print $2 }' | median)"
done
O=$(cat "$TMP"/ossl.* | median)
S=$(cat "$TMP"/nbde.* | awk '$1 == "nbde-shani" { print $2 }' | median)
printf '%-24s %10s\n' openssl "$O"
awk -v s="$S" -v o="$O" 'BEGIN { printf "nbde / openssl: %.2f\n", s / o }'

echo "# LUKS1, cryptsetup's default iteration count: cryptsetup open --test-passphrase vs nbde bind"
printf 'bench passphrase' >"$TMP/key"
truncate -s 16M "$TMP/img"
cryptsetup luksFormat -q --type luks1 --key-file "$TMP/key" "$TMP/img"
cryptsetup luksDump "$TMP/img" | grep -E 'Hash spec|Iterations' | sed 's/^/# /'
for r in $(seq "$ROUNDS"); do
	{ time cryptsetup open --test-passphrase --key-file "$TMP/key" "$TMP/img"; } 2>"$TMP/cs.$r"
	cp "$TMP/img" "$TMP/copy"
	{ time "$NBDE" bind -d "$TMP/copy" -k "$TMP/key" null '{}' >/dev/null; } 2>"$TMP/nb.$r"
	echo "round $r: cryptsetup $(cat "$TMP/cs.$r") | nbde bind $(cat "$TMP/nb.$r")  (real user sys)"
done
CS=$(for r in $(seq "$ROUNDS"); do cpu_of "$TMP/cs.$r"; echo; done | median)
NB=$(for r in $(seq "$ROUNDS"); do cpu_of "$TMP/nb.$r"; echo; done | median)
CSW=$(for r in $(seq "$ROUNDS"); do awk '{ print $1 }' "$TMP/cs.$r"; done | median)
NBW=$(for r in $(seq "$ROUNDS"); do awk '{ print $1 }' "$TMP/nb.$r"; done | median)
echo "median CPU s: cryptsetup open --test-passphrase $CS, nbde bind $NB"
echo "median wall s: cryptsetup open --test-passphrase $CSW, nbde bind $NBW"
awk -v a="$NB" -v b="$CS" -v c="$NBW" -v d="$CSW" \
	'BEGIN { printf "nbde bind / cryptsetup open: %.2f (CPU), %.2f (wall)\n", a / b, c / d }'
