#!/usr/bin/env bash
# demo.sh - the whole job in one run (`make demo`): a Tang server, a LUKS2
# image file bound to it, listed, unlocked, its well-known passphrase retired
# for a recovery key, and the unlock failing within its deadline once the
# server is gone. Every command is printed as `+ CMD`
# before it runs. Everything lives in a temp dir that is removed at the end;
# nothing needs root except activation, which is replaced by --test when the
# kernel has no device-mapper.
#
# usage: scripts/demo.sh      (NBDE=path/to/nbde, default ./nbde)
set -u
NBDE=${NBDE:-$PWD/nbde}
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/nbde-demo.XXXXXX")
SERVER=
MAPPED=

cleanup() {
	[ -n "$MAPPED" ] && cryptsetup close "$MAPPED" 2>/dev/null
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	rm -rf "$DEMO"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
run() { # run CMD... : print it, run it, stop the demo when it fails
	printf '+ %s\n' "$*"
	"$@" || { echo "demo: FAILED (exit $?): $*" >&2; exit 1; }
}

[ -x "$NBDE" ] || { echo "demo: no nbde binary at $NBDE (run make)" >&2; exit 1; }
if ! command -v cryptsetup >/dev/null; then
	echo "demo: the cryptsetup command is not installed; it is needed here only to make the" >&2
	echo "demo's LUKS image (apt-get install cryptsetup-bin). nbde itself does not need it." >&2
	exit 1
fi

# TEST_SLOWDOWN (tests on a loaded machine) stretches the demo's own time bounds
SLOW_MS=$(awk -v f="${TEST_SLOWDOWN:-1}" 'BEGIN { printf "%d", f * 1000 }')
IMG=$DEMO/disk.img
KEY=$DEMO/passphrase

say "1. A Tang server with a fresh key directory"
run mkdir "$DEMO/keys"
run "$NBDE" tangd-keygen "$DEMO/keys"
run ls "$DEMO/keys"
# -p 0: any free port; the server writes the one it got to the port file
# once it listens, so the next command cannot come too early
printf '+ %s &\n' "$NBDE tang-server -l -q -a 127.0.0.1 -p 0 --port-file $DEMO/port $DEMO/keys"
"$NBDE" tang-server -l -q -a 127.0.0.1 -p 0 --port-file "$DEMO/port" "$DEMO/keys" &
SERVER=$!
for _ in $(seq $((SLOW_MS / 10))); do	# 10 s (times TEST_SLOWDOWN)
	[ -s "$DEMO/port" ] || ! kill -0 "$SERVER" 2>/dev/null && break
	sleep 0.1
done
PORT=$(cat "$DEMO/port" 2>/dev/null)
[ -n "$PORT" ] || { echo "demo: the server did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
echo "server running as pid $SERVER on $URL"

say "2. A LUKS2 image file (32 MiB) with a passphrase in keyslot 0"
printf 'demo passphrase' >"$KEY"
run truncate -s 32M "$IMG"
run cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$KEY" "$IMG"

say "3. Bind it to the Tang server (-y: trust the advertisement without asking)"
run "$NBDE" bind -d "$IMG" -k "$KEY" -y tang "{\"url\":\"$URL\"}"

say "4. List the binding (clevis's format)"
run "$NBDE" list -d "$IMG"

say "5. Unlock it: the Tang server gives back the key"
if dmsetup version >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	MAPPED=nbde-demo-$$
	run "$NBDE" unlock -d "$IMG" -n "$MAPPED" --timeout 10
	run ls -l "/dev/mapper/$MAPPED"
	run cryptsetup close "$MAPPED"
	MAPPED=
else
	echo "(no device-mapper in this kernel, or not root: checking the key with --test instead of activating)"
	run "$NBDE" unlock -d "$IMG" --test --timeout 10
fi
echo "unlock: OK"

say "5b. Retire the image's well-known passphrase: a recovery key replaces it"
# (the cheapest key derivation cryptsetup allows keeps the demo fast; a real
# run keeps the default, about 2 s of argon2id, because people type the key)
printf '+ %s\n' "$NBDE recovery-key -d $IMG -k $KEY -o $DEMO/recovery.key --pbkdf-force-iterations 4 --pbkdf-memory 32"
"$NBDE" recovery-key -d "$IMG" -k "$KEY" -o "$DEMO/recovery.key" --pbkdf-force-iterations 4 --pbkdf-memory 32 ||
	{ echo "demo: FAILED: recovery-key" >&2; exit 1; }
run cat "$DEMO/recovery.key"
if cryptsetup open --test-passphrase --key-file "$KEY" "$IMG" 2>/dev/null; then
	echo "demo: FAILED: the well-known passphrase still opens the image" >&2
	exit 1
fi
echo "the well-known passphrase no longer opens the image; the binding and the recovery key do"
run "$NBDE" unlock -d "$IMG" --test --timeout 10

say "6. Stop the server: the unlock must fail, within its deadline"
run kill "$SERVER"
wait "$SERVER" 2>/dev/null
SERVER=
printf '+ %s\n' "$NBDE unlock -d $IMG --test --timeout 5"
t0=$(date +%s%N)
"$NBDE" unlock -d "$IMG" --test --timeout 5
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "unlock without the server: exit $rc after $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (deadline 5 s)"
if [ "$rc" -eq 0 ] || [ "$ms" -gt $((5000 + SLOW_MS)) ]; then
	echo "demo: FAILED: the unlock should have failed within 5 s" >&2
	exit 1
fi

say "Done: bound, listed, unlocked, passphrase retired, and failed in time without the server."
