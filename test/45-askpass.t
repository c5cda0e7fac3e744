#!/usr/bin/env bash
# 45-askpass.t - `nbde askpass` on the host, against LUKS2 image files:
# the systemd password-agent protocol (ask.* file, "+PASSPHRASE" datagram)
# and the initramfs-tools path (cryptsetup askpass process + FIFO). Each
# answer must open the volume; a dead server must cost no more than the
# deadline. The boot tests (50-vm.t) use the same applet inside a VM.
# A passphrase goes only to root (issue 9, item 8): ask files, sockets and
# directories anyone else could write are refused, and in -c mode only a root
# process running cryptsetup's askpass executable is answered.
. "$(dirname "$0")/lib.sh"
need cryptsetup socat
S=${TEST_SLOWDOWN:-1}

IMG=$TMP/v.img
printf 'old-pass' >"$TMP/key"
luks_image luks2 "$IMG" "$TMP/key" || skip_all "cryptsetup luksFormat failed"
"$NBDE" bind -d "$IMG" -k "$TMP/key" null '{}' >/dev/null
ok $? "null binding on a LUKS2 image"

opens() { # opens FILE: the passphrase in FILE opens the image
	cryptsetup open --test-passphrase --key-file "$1" "$IMG" 2>/dev/null
}

# ask NAME ID [DIR [SOCKET [SOCKET=]]]: an ask file in DIR (default
# $TMP/ask) as systemd-cryptsetup writes it, and a datagram socket (default
# DIR/sck.NAME) listening for the answer (into $TMP/NAME.got); the ask file
# may name another Socket=
ask() {
	local dir=${3:-$TMP/ask}
	local sock=${4:-$dir/sck.$1}
	mkdir -p "$dir"
	socat -u UNIX-RECV:"$sock" OPEN:"$TMP/$1.got",creat &
	T_PIDS+=($!)
	for ((i = 0; i < 50 * S; i++)); do [ -S "$sock" ] && break; sleep 0.05; done
	echo "$sock" >"$TMP/$1.sockname"
	printf '[Ask]\nPID=%s\nSocket=%s\nAcceptCached=1\nEcho=0\nNotAfter=0\nId=%s\nMessage=Please enter passphrase\n' \
		$$ "${5:-$sock}" "$2" >"$dir/.tmp" && mv "$dir/.tmp" "$dir/ask.$1"
}
wait_file() { for ((i = 0; i < 100 * S; i++)); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
# no_answer NAME: the agent has exited; a marker datagram sent now lands
# behind any answer it sent, so once the marker is in, the answer would be
no_answer() {
	printf 'MARK' | socat -u - UNIX-SENDTO:"$(cat "$TMP/$1.sockname")" &&
		wait_file "$TMP/$1.got" &&
		for ((i = 0; i < 100 * S; i++)); do grep -q MARK "$TMP/$1.got" && break; sleep 0.05; done &&
		[ "$(head -c 4 "$TMP/$1.got")" = MARK ]
}
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

# 5. only root asks: each prompt below is one a non-root user could plant or
# redirect; one scan each (a device answered once is not answered again)
agent_once() { "$NBDE" askpass -p "${2:-$TMP/ask}" --timeout 5 2>"$TMP/$1.err"; }
refused() { # refused NAME WHY: no answer, and the agent says why
	no_answer "$1"
	ok $? "agent: $2 -> no answer"
	grep -q "$3" "$TMP/$1.err"
	ok $? "agent: $2 -> says '$3'"
	[ $? -eq 0 ] || sed 's/^/# stderr: /' "$TMP/$1.err"
	rm -f "$TMP/ask/ask.$1"
}

ask own "cryptsetup:$IMG"
chown nobody "$TMP/ask/ask.own"
agent_once own
refused own "an ask file not owned by root" "not owned by root"

ask lnk "cryptsetup:$IMG"
mv "$TMP/ask/ask.lnk" "$TMP/real-ask"
ln -s "$TMP/real-ask" "$TMP/ask/ask.lnk"
agent_once lnk
refused lnk "an ask file that is a symbolic link (to root's file)" "symbolic link"

ask out "cryptsetup:$IMG" "$TMP/ask" "$TMP/out.sock"
agent_once out
refused out "a Socket= outside the ask directory" "not in the ask directory"

ask sown "cryptsetup:$IMG"
chown nobody "$TMP/ask/sck.sown"
agent_once sown
refused sown "a Socket= not owned by root" "Socket= is not owned by root"

# a Socket= longer than a socket address can hold: cut to 107 bytes it would
# name this receiver
long=$TMP/ask/sck.long
long=$long$(printf '%*s' $((107 - ${#long})) '' | tr ' ' x)
ask long "cryptsetup:$IMG" "$TMP/ask" "$long" "${long}y"
agent_once long
refused long "an over-long Socket= (its first 107 bytes name a socket)" "Socket= is too long"

# an over-long Id=: its first 500 bytes name the image (slashes are padding)
pad=$(printf '%*s' $((500 - ${#IMG})) '' | tr ' ' /)
ask lid "cryptsetup:$pad$IMG$(printf '%*s' 4200 '' | tr ' ' z)"
agent_once lid
refused lid "an over-long Id= (its first 511 bytes name the volume)" "Id= is too long"

ask gw "cryptsetup:$IMG" "$TMP/askgw"
chmod 775 "$TMP/askgw"
"$NBDE" askpass -p "$TMP/askgw" --timeout 5 2>"$TMP/gw.err"
rc=$?
[ $rc -ne 0 ]
ok $? "agent: a group-writable ask directory -> exits non-zero"
no_answer gw
ok $? "agent: a group-writable ask directory -> no answer"
grep -q "writable by group or others" "$TMP/gw.err"
ok $? "agent: a group-writable ask directory -> says so"

# and the same prompt from root, in root's directory, is answered
ask good "cryptsetup:$IMG"
agent_once good
wait_file "$TMP/good.got" && tail -c +2 "$TMP/good.got" >"$TMP/good.pass" && opens "$TMP/good.pass"
ok $? "agent: root's ask file and socket in root's directory -> answered"
rm -f "$TMP/ask/"ask.*

# 6. initramfs-tools: a root process running cryptsetup's askpass (here a
# copy of sleep at $TMP/lib/cryptsetup/askpass, named with -a) with
# CRYPTTAB_SOURCE gets the passphrase through the FIFO; look-alikes do not
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip "cryptroot mode: needs root and setpriv to run askpass look-alikes as another user"
else
	chmod 755 "$TMP"	# nobody runs the askpass copy
	mkdir -p "$TMP/lib/cryptsetup"
	cp "$(command -v sleep)" "$TMP/lib/cryptsetup/askpass"
	AP=$TMP/lib/cryptsetup/askpass
	IMG3=$TMP/v3.img
	truncate -s 20M "$IMG3"
	printf 'other-pass' >"$TMP/key3"
	cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$TMP/key3" "$IMG3"
	"$NBDE" bind -d "$IMG3" -k "$TMP/key3" null '{}' >/dev/null
	mkfifo "$TMP/passfifo"
	# look-alikes first (lower PIDs, scanned first): argv and environment
	# of askpass but another executable; askpass's executable run by nobody
	CRYPTTAB_SOURCE=$IMG bash -c 'exec -a /lib/cryptsetup/askpass sleep 1000' &
	T_PIDS+=($!)
	CRYPTTAB_SOURCE=$IMG setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$AP" 1000 &
	T_PIDS+=($!)
	CRYPTTAB_SOURCE=$IMG3 "$AP" 1000 &
	T_PIDS+=($!)
	# no reader on the FIFO yet: the first answer cannot be delivered
	"$NBDE" askpass -c -f "$TMP/passfifo" -a "$AP" --timeout 5 2>"$TMP/c.err" &
	T_PIDS+=($!)
	for ((i = 0; i < 200 * S; i++)); do grep -q "$IMG3: cannot answer" "$TMP/c.err" && break; sleep 0.05; done
	grep -q "$IMG3: cannot answer" "$TMP/c.err"
	ok $? "cryptroot mode: root's askpass process is answered (no reader yet: not delivered)"
	! grep -q "$IMG:" "$TMP/c.err"
	ok $? "cryptroot mode: processes that only look like askpass, or run it as nobody, are not"
	[ $? -eq 0 ] || sed 's/^/# stderr: /' "$TMP/c.err"
	cat <"$TMP/passfifo" >"$TMP/f.pass" &	# the reader askpass keeps open
	T_PIDS+=($!)
	wait_file "$TMP/f.pass" && for ((i = 0; i < 100 * S; i++)); do grep -q unlocked "$TMP/c.err" && break; sleep 0.05; done
	cryptsetup open --test-passphrase --key-file "$TMP/f.pass" "$IMG3" 2>/dev/null
	ok $? "cryptroot mode: answered once a reader is there (an undelivered answer does not count)"
	grep -q "$IMG3: unlocked" "$TMP/c.err"
	ok $? "cryptroot mode: reports the unlock on the console"
	! grep -q "$IMG:" "$TMP/c.err"
	ok $? "cryptroot mode: still nothing for the look-alikes"
	# someone else is writing into the FIFO (cryptroot-unlock from an SSH
	# session): askpass reads it to its end, so a second writer's passphrase
	# would be appended to theirs - a wrong one. A fresh agent must hold back
	# while that writer is open (it is ended before the writer closes: only
	# "while someone writes" is under test).
	mkfifo "$TMP/passfifo2"
	cat <"$TMP/passfifo2" >"$TMP/g.pass" &	# askpass's end
	R=$!
	T_PIDS+=($R)
	bash -c 'printf typed; exec sleep 1000' >"$TMP/passfifo2" &	# the person's, held open
	W=$!
	T_PIDS+=($W)
	for ((i = 0; i < 100 * S; i++)); do [ "$(readlink "/proc/$W/fd/1")" = "$TMP/passfifo2" ] && break; sleep 0.05; done
	"$NBDE" askpass -c -f "$TMP/passfifo2" -a "$AP" --timeout 5 2>"$TMP/c2.err" &
	N=$!
	T_PIDS+=($N)
	for ((i = 0; i < 100 * S; i++)); do grep -q "$IMG3: someone else is writing" "$TMP/c2.err" && break; sleep 0.05; done
	grep -q "$IMG3: someone else is writing the answer into $TMP/passfifo2" "$TMP/c2.err"
	ok $? "cryptroot mode: a FIFO someone else holds open for writing: the agent says it stands back" ||
		sed 's/^/# stderr: /' "$TMP/c2.err"
	# a bound volume recovers in well under a second here: give it several
	sleep "$(t_secs 1.5)"
	kill "$N" && wait "$N" 2>/dev/null
	kill "$W" && wait "$W" 2>/dev/null
	for ((i = 0; i < 100 * S; i++)); do ! kill -0 "$R" 2>/dev/null && break; sleep 0.05; done
	is "$(cat "$TMP/g.pass")" typed "cryptroot mode: only the person's answer arrives, nothing of the agent's appended"
fi
# 7. no fixed number of devices: 65 volumes (65 names of one image) with two
# prompts each, in one scan: each volume is answered once, the second prompt
# left to the person (a 64-entry memory answered the 65th twice)
mkdir "$TMP/dev"
for n in $(seq 65); do ln -s "$IMG" "$TMP/dev/d$n"; done
ask many "other:only its socket is used"
rm -f "$TMP/ask/ask.many"
for n in $(seq 65); do
	for p in x y; do
		printf '[Ask]\nPID=%s\nSocket=%s\nNotAfter=0\nId=cryptsetup:%s\n' $$ "$TMP/ask/sck.many" "$TMP/dev/d$n" \
			>"$TMP/ask/.tmp" && mv "$TMP/ask/.tmp" "$TMP/ask/ask.$p$n"
	done
done
"$NBDE" askpass -p "$TMP/ask" --timeout 5 2>"$TMP/many.err"
# every answer is queued once the agent is gone: a marker sent now comes last
printf 'MARK' | socat -u - UNIX-SENDTO:"$TMP/ask/sck.many"
for ((i = 0; i < 200 * S; i++)); do grep -q MARK "$TMP/many.got" 2>/dev/null && break; sleep 0.05; done
is "$(($(stat -c %s "$TMP/many.got") - 4))" "$((65 * ($(stat -c %s "$TMP/a.pass") + 1)))" \
	"agent: 65 volumes with two prompts each -> 65 answers (\"+\" and the passphrase)"
rm -f "$TMP/ask/"ask.*

# The real /lib/cryptsetup/askpass (cryptsetup-initramfs, not on this host)
# answered in a boot: test/50-vm.t.

done_testing
