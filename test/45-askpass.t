#!/usr/bin/env bash
# 45-askpass.t - `nbde askpass` on the host, against LUKS2 image files:
# the systemd password-agent protocol (ask.* file, "+PASSPHRASE" datagram)
# and the initramfs-tools path (cryptsetup askpass process + FIFO). Each
# answer must open the volume; a dead server must cost no more than the
# deadline. The boot tests (50-vm.t) use the same applet inside a VM.
. "$(dirname "$0")/lib.sh"
need cryptsetup socat

IMG=$TMP/v.img
printf 'old-pass' >"$TMP/key"
luks_image luks2 "$IMG" "$TMP/key" || skip_all "cryptsetup luksFormat failed"
"$NBDE" bind -d "$IMG" -k "$TMP/key" null '{}' >/dev/null
ok $? "null binding on a LUKS2 image"

opens() { # opens FILE: the passphrase in FILE opens the image
	cryptsetup open --test-passphrase --key-file "$1" "$IMG" 2>/dev/null
}

# ask NAME ID: an ask file as systemd-cryptsetup writes it, and a datagram
# socket listening for the answer (into $TMP/NAME.got)
ask() {
	mkdir -p "$TMP/ask"
	socat -u UNIX-RECV:"$TMP/$1.sock" OPEN:"$TMP/$1.got",creat &
	T_PIDS+=($!)
	wait_until 5 test -S "$TMP/$1.sock"
	printf '[Ask]\nPID=%s\nSocket=%s\nAcceptCached=1\nEcho=0\nNotAfter=0\nId=%s\nMessage=Please enter passphrase\n' \
		$$ "$TMP/$1.sock" "$2" >"$TMP/ask/.tmp" && mv "$TMP/ask/.tmp" "$TMP/ask/ask.$1"
}
wait_file() { wait_until 5 test -s "$1"; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# 1. agent: answers a cryptsetup prompt with "+" and a passphrase that opens
ask a "cryptsetup:$IMG"
run_ok "agent (one scan) exits 0" "$NBDE" askpass -p "$TMP/ask" --timeout "$(t_isecs 5)"
wait_file "$TMP/a.got"
is "$(head -c 1 "$TMP/a.got")" "+" "agent: the datagram starts with '+'"
tail -c +2 "$TMP/a.got" >"$TMP/a.pass"
opens "$TMP/a.pass"
ok $? "agent: the passphrase sent opens the volume"
rm -f "$TMP/ask/ask.a"

# 2. a prompt that is not a volume's is left alone; -l stays while it is
# pending and leaves once it is gone
ask b "other:something"
"$NBDE" askpass -l -p "$TMP/ask" --timeout 2 2>"$TMP/b.err" &
agent=$!
sleep 1.5	# "still there after a while": a lower bound, not scaled
kill -0 $agent 2>/dev/null
ok $? "agent -l keeps watching while an ask file is pending"
[ ! -s "$TMP/b.got" ]
ok $? "agent: a non-cryptsetup prompt gets no answer"
rm -f "$TMP/ask/ask.b"
wait_until 4 gone $agent
ok $? "agent -l exits once no ask file remains"
kill $agent 2>/dev/null

# 3. -l answers a prompt that appears later (inotify); the path unit starts
# it on a first ask file, here one it leaves alone
ask c "other:first"
"$NBDE" askpass -l -p "$TMP/ask" --timeout "$(t_isecs 5)" 2>/dev/null &
agent=$!
sleep "$(t_secs 0.5)"	# most likely past its first scan: the next prompt comes through inotify
ask d "cryptsetup:$IMG"
wait_file "$TMP/d.got" && tail -c +2 "$TMP/d.got" >"$TMP/d.pass" && opens "$TMP/d.pass"
ok $? "agent -l answers a prompt that appears while it runs"
rm -f "$TMP/ask/ask.c" "$TMP/ask/ask.d"
stop_pid $agent

# 4. a binding to a dead server: no answer, and no wait beyond the deadline
IMG2=$TMP/v2.img
luks_image luks2 "$IMG2" "$TMP/key"
socat_start EXEC:cat	# accepts, never answers
port=$SOCAT_PORT
# bind needs an advertisement: take one from a real key set, then point the URL at the mute port
mkdir -p "$TMP/db" && "$NBDE" tangd-keygen "$TMP/db" >/dev/null
printf 'GET /adv HTTP/1.0\r\n\r\n' | "$NBDE" tangd "$TMP/db" 2>/dev/null | sed '1,/^\r$/d' >"$TMP/adv.jws"
"$NBDE" bind -y -d "$IMG2" -k "$TMP/key" tang "{\"url\":\"http://127.0.0.1:$port\",\"adv\":\"$TMP/adv.jws\"}" >/dev/null
ok $? "tang binding to a server that never answers"
rm -f "$TMP/ask/"ask.*
ask e "cryptsetup:$IMG2"
t0=$SECONDS
"$NBDE" askpass -p "$TMP/ask" --timeout 3 2>"$TMP/e.err"
took=$((SECONDS - t0))
[ ! -s "$TMP/e.got" ] && [ $took -ge 2 ] && [ $took -le $((3 + $(t_isecs 2))) ]
ok $? "agent: dead tang -> no answer, gives up by its 3 s deadline (took ${took}s)"
grep -q 'within 3s' "$TMP/e.err"
ok $? "agent: says why it gave up"
rm -f "$TMP/ask/"ask.*

# 5. initramfs-tools: a process running .../cryptsetup/askpass with
# CRYPTTAB_SOURCE gets the passphrase through the FIFO
mkfifo "$TMP/passfifo"
CRYPTTAB_SOURCE=$IMG bash -c "exec -a /lib/cryptsetup/askpass sleep $(t_isecs 30)" &
T_PIDS+=($!)
cat <"$TMP/passfifo" >"$TMP/f.pass" &	# the reader askpass keeps open
reader=$!
T_PIDS+=($reader)
"$NBDE" askpass -c -f "$TMP/passfifo" --timeout "$(t_isecs 5)" 2>"$TMP/f.err" &
T_PIDS+=($!)
# the passphrase is complete once askpass has closed the FIFO: cat has ended
wait_until 10 gone "$reader" && opens "$TMP/f.pass"
ok $? "cryptroot mode: the passphrase written into the FIFO opens the volume"
grep -q 'unlocked' "$TMP/f.err"
ok $? "cryptroot mode: reports the unlock on the console"

done_testing
