#!/usr/bin/env bash
# 47-demo.t - runs scripts/demo.sh (`make demo`) and checks its key lines, so
# the newcomer's walk-through cannot silently rot: each step's command is
# shown, the binding is listed, the unlock works, the well-known passphrase
# is retired for a recovery key, and without the server it fails within its
# 5 s deadline.
. "$(dirname "$0")/lib.sh"

need cryptsetup
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
DEMO_SH="$(dirname "$0")/../scripts/demo.sh"
[ -x "$DEMO_SH" ] || skip_all "no scripts/demo.sh"

TMPDIR=$TMP NBDE=$NBDE TEST_SLOWDOWN=$SLOW timeout "$(t_secs 120)" "$DEMO_SH" >"$TMP/demo.out" 2>&1
rc=$?
is "$rc" 0 "the demo runs to its end" || tail -n 15 "$TMP/demo.out" | sed 's/^/# demo: /' >&2

has() { grep -Eq -- "$1" "$TMP/demo.out"; }
has '^\+ .*nbde tang-server -l -q -a 127\.0\.0\.1 -p 0 --port-file '
ok $? "it starts nbde tang-server on 127.0.0.1 and shows the command"
has '^server running as pid [0-9]+ on http://127.0.0.1:[0-9]+$'
ok $? "it learns the server's port from the port file"
has '^\+ cryptsetup luksFormat .*--type luks2'
ok $? "it makes a LUKS2 image"
has '^\+ .*nbde bind -d .* -k .* -y tang \{"url":"http://127.0.0.1:[0-9]+"\}$'
ok $? "it shows the bind command"
has "^1: tang '\\{\"url\":\"http://127.0.0.1:[0-9]+\"\\}'$"
ok $? "list prints the binding in clevis's format"
has '^unlock: OK$'
ok $? "the unlock works while the server runs"
has '^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$'
ok $? "recovery-key gives a key in systemd-cryptenroll's format"
has '^the well-known passphrase no longer opens the image'
ok $? "... and the well-known passphrase is retired"
line=$(grep '^unlock without the server:' "$TMP/demo.out")
[[ $line =~ ^unlock\ without\ the\ server:\ exit\ ([0-9]+)\ after\ ([0-9]+)\.[0-9]+\ s ]]
ok $? "it reports the unlock without the server"
is "${BASH_REMATCH[1]:-}" 1 "... which exits 1"
[ -n "${BASH_REMATCH[2]:-}" ] && [ "${BASH_REMATCH[2]}" -lt $((5 + $(t_isecs 1))) ]
ok $? "... within its deadline (${BASH_REMATCH[2]:-?} s)"
has 'no clevis binding could be decrypted within 5s'
ok $? "... saying why"
is "$(find "$TMP" -maxdepth 1 -name 'nbde-demo.*' | wc -l)" 0 "it removes its temp dir"

done_testing
