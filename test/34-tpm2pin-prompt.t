#!/usr/bin/env bash
# 34-tpm2pin-prompt.t - the tpm2pin pin's PIN asked on the ways other than a
# shell's terminal (cmd/runtime/prompt.c), each against a real peer: Debian's
# systemd-tty-ask-password-agent answering the password-agent request (the
# message names the volume and "TPM PIN"; a wrong PIN then the right one;
# nothing left in /run/systemd/ask-password), answers from a non-root sender
# ignored (the TPM's lockout counter does not move), a cancel, the deadline
# with no agent, the request withdrawn when nbde is killed or tang answers
# after all, /dev/console (a pty bound over it) under the console lock
# file, and echo back on after a fatal signal or when tang answers while
# the terminal is asked. The file runs in a private
# mount namespace of its own (tmpfs on /run, /run/systemd/system made so nbde
# sees "systemd runs", a pty bound over /dev/console): nothing of the host's
# /run or console is touched. The tty channel itself is test/33-tpm2pin.t's.
if [ "${NBDE_T34_NS:-}" != 1 ] && command -v unshare >/dev/null &&
	unshare -m --propagation private true 2>/dev/null; then
	NBDE_T34_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

[ "${NBDE_T34_NS:-}" = 1 ] || skip_all "cannot make a private mount namespace (unshare -m; needs root)"
need swtpm tpm2_getcap tpm2_dictionarylockout cryptsetup python3 setpriv setsid flock mount
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
case $TMP in /run/*) skip_all "TMPDIR is under /run, where this test mounts a tmpfs" ;; esac
mount -t tmpfs -o mode=0755 tmpfs /run 2>>"$TMP/err" || skip_all "cannot mount a tmpfs on /run in the namespace"
mkdir -p /run/systemd/system /run/cryptsetup	# sd_booted()'s test; libcryptsetup's lock directory
ASK=/run/systemd/ask-password
AGENT=$(command -v systemd-tty-ask-password-agent || echo /bin/systemd-tty-ask-password-agent)
[ -x "$AGENT" ] || AGENT=

swtpm_start main || { echo "Bail out! cannot start swtpm"; exit 255; }
PT='tpm2pin prompt secret'
PIN='correct horse 4711'
printf '%s\n' "$PIN" >"$TMP/pin"
MAX_TRIES=10

# da_reset and da_counter (test/lib.sh) keep to MAX_TRIES
da_reset || { echo "Bail out! cannot set the swtpm's dictionary-attack parameters"; exit 255; }

J=$(printf '%s' "$PT" | NBDE_TPM_PIN_FILE=$TMP/pin "$NBDE" encrypt tpm2pin '{}' 2>>"$TMP/err")
[ -n "$J" ] || { echo "Bail out! cannot encrypt with tpm2pin"; exit 255; }
printf '%s' "$J" >"$TMP/jwe"

# peer.py: the other side of each channel.
#   agent OUT ANSWER...   for each ANSWER: waits for a new ask.* file in
#                         /run/systemd/ask-password (copied to OUT.N), runs
#                         systemd-tty-ask-password-agent --query on a new pty
#                         and types ANSWER once it shows a prompt with echo
#                         off; what the agent showed goes to OUT.N.tty
#   send SOCKET DATA      one datagram; prints "sent" or the error's name
#   pty OUT SIG CMD...    runs CMD (stdin: $JWE) on a new pty, its
#                         controlling terminal unless CTTY=0 (CMD finds the
#                         slave's name in $PTY_SLAVE), with SIGINT ignored
#                         when IGNORE_INT=1. With LOCK (a file) and HOLDER
#                         (a pid): once CMD has LOCK open, QUIET seconds,
#                         then "quiet while locked" if no prompt came, and
#                         HOLDER is killed; at the prompt "lock held" if
#                         LOCK cannot be taken. At the prompt (echo off):
#                         with RESUME (a pid) SIGCONT to it, and once CMD
#                         ended "echo on" or "echo off"; SIG (a number, 0
#                         none) to CMD, then "echo on" or
#                         "echo off" once it is handled (CMD ended, or no
#                         longer pending and QUIET seconds more); then, if
#                         CMD still runs, $PIN typed. Findings on stdout;
#                         what CMD showed on the terminal, then its stderr,
#                         to OUT, its stdout to $PLAIN; exit status CMD's
#                         (128+N: signal N).
cat >"$TMP/peer.py" <<'EOF'
import errno, fcntl, glob, os, pty, signal, socket, subprocess, sys, termios, time, select
TIMEOUT = float(os.environ.get('TIMEOUT', '30'))
ASK = '/run/systemd/ask-password'

class Pty:
    def __init__(self, argv, stdin=None, stdout=None, ctty=True):
        self.master, self.slave = pty.openpty()	# the slave stays open here: no hang-up between prompts
        name = os.ttyname(self.slave)
        def child():
            os.setsid()
            if ctty:
                os.close(os.open(name, os.O_RDWR))
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, preexec_fn=child,
                                  env=dict(os.environ, PTY_SLAVE=name))
        self.out, self.err, self.eof = b'', b'', False
        self.deadline = time.monotonic() + TIMEOUT

    def pump(self):
        fds = [self.master] + ([] if self.eof else [self.p.stderr])
        r, _, _ = select.select(fds, [], [], 0.05)
        if self.p.stderr in r:
            chunk = os.read(self.p.stderr.fileno(), 4096)
            self.err += chunk
            self.eof = not chunk
        if self.master in r:
            self.out += os.read(self.master, 4096)

    def running(self):
        return time.monotonic() < self.deadline and not (self.eof and self.p.poll() is not None)

    def prompting(self):
        return b'PIN' in self.out and not self.echo()

    def echo(self):
        return bool(termios.tcgetattr(self.master)[3] & termios.ECHO)

    def type(self, text):
        os.write(self.master, text.encode() + b'\n')

    def wait(self):	# for CMD's end, until the deadline
        try:
            self.p.wait(timeout=max(0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass

    def finish(self):
        if self.p.poll() is None:
            self.p.kill()
            self.err += b'peer: timed out\n'
        rc = self.p.wait()
        while select.select([self.master], [], [], 0)[0]:
            self.out += os.read(self.master, 4096)
        return 128 - rc if rc < 0 else rc

def agent(out, answers):
    seen = set()
    for n, answer in enumerate(answers, 1):
        deadline = time.monotonic() + TIMEOUT
        new = []
        while not new and time.monotonic() < deadline:
            new = [f for f in glob.glob(ASK + '/ask.*') if f not in seen]
            time.sleep(0.05)
        if not new:
            print('no request %d' % n)
            return 1
        seen.add(new[0])
        with open(new[0]) as f, open('%s.%d' % (out, n), 'w') as copy:
            copy.write(f.read())
        t, typed = Pty([os.environ['AGENT'], '--query']), False
        while t.running():
            t.pump()
            if not typed and t.prompting():
                t.type(answer)
                typed = True
        t.finish()
        with open('%s.%d.tty' % (out, n), 'wb') as f:
            f.write(t.out + t.err)
    return 0

def send(path, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(data.encode(), path)
        print('sent')
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))

def has_open(pid, path):
    try:
        return any(os.path.realpath('/proc/%d/fd/%s' % (pid, fd)) == path for fd in os.listdir('/proc/%d/fd' % pid))
    except OSError:
        return False

def pending(pid, sig):
    try:
        for line in open('/proc/%d/status' % pid):
            if line.startswith(('SigPnd:', 'ShdPnd:')) and int(line.split()[1], 16) & (1 << (sig - 1)):
                return True
    except OSError:
        pass
    return False

def pty_mode(out, sig, argv):
    lock, quiet = os.environ.get('LOCK'), float(os.environ['QUIET'])
    ignore = os.environ.get('IGNORE_INT') == '1'
    if ignore:
        signal.signal(signal.SIGINT, signal.SIG_IGN)	# inherited through exec, as from a shell's background job
    with open(os.environ['JWE'], 'rb') as stdin, open(os.environ.get('PLAIN', os.devnull), 'wb') as stdout:
        t = Pty(argv, stdin=stdin, stdout=stdout, ctty=os.environ.get('CTTY') != '0')
    locked, done = not lock, False
    while t.running():
        t.pump()
        if not locked and has_open(t.p.pid, lock):
            locked = True
            end = time.monotonic() + quiet
            while time.monotonic() < end:
                t.pump()
            print('quiet while locked' if b'PIN' not in t.out else 'prompt while locked')
            os.kill(int(os.environ['HOLDER']), signal.SIGTERM)
        if not done and t.prompting():
            done = True
            if lock:
                fd = os.open(lock, os.O_RDWR)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    print('lock free')
                except OSError:
                    print('lock held')
                os.close(fd)
            if os.environ.get('RESUME'):
                os.kill(int(os.environ['RESUME']), signal.SIGCONT)
                t.wait()
                print('echo on' if t.echo() else 'echo off')
            if sig:
                t.p.send_signal(sig)
                while t.p.poll() is None and pending(t.p.pid, sig) and time.monotonic() < t.deadline:
                    time.sleep(0.01)
                end = time.monotonic() + quiet
                while t.p.poll() is None and time.monotonic() < end:
                    t.pump()
                print('echo on' if t.echo() else 'echo off')
            if t.p.poll() is None:
                t.type(os.environ['PIN'])
    rc = t.finish()
    with open(out, 'wb') as f:
        f.write(t.out + t.err)
    return rc

cmd = sys.argv[1]
if cmd == 'agent':
    sys.exit(agent(sys.argv[2], sys.argv[3:]))
elif cmd == 'send':
    send(sys.argv[2], sys.argv[3])
elif cmd == 'pty':
    sys.exit(pty_mode(sys.argv[2], int(sys.argv[3]), sys.argv[4:]))
EOF
peer() { TIMEOUT=$(t_secs 30) QUIET=$(t_secs 0.5) AGENT=$AGENT PIN=$PIN JWE=${JWE:-$TMP/jwe} python3 "$TMP/peer.py" "$@"; }
ask_files() { ls -A "$ASK" 2>/dev/null | tr '\n' ' '; }	# what is in the agents' directory
ask_posted() { compgen -G "$ASK/ask.*" >/dev/null; }

# nobody_send [SETPRIV-OPTIONS...] -- SOCKET DATA : one datagram from uid/gid 65534
# (with a python3 that uid can run: a pyenv shim under /root is not one)
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
NOBODY_PY=
for py in /usr/bin/python3 "$(command -v python3)"; do
	as_nobody "$py" -c '' 2>/dev/null && NOBODY_PY=$py && break
done
nobody_send() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	as_nobody "${opts[@]}" "$NOBODY_PY" - send "$@" <"$TMP/peer.py"
}
root_send() { python3 "$TMP/peer.py" send "$@"; }
mono_us() { python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)'; }
ask_field() { sed -n "s/^$2=//p" "$1"; }	# ask_field FILE KEY
# nbde_bg ARGS... : nbde, without a controlling terminal and without a PIN
# file, in the background (NBDE_PID), stdin ${NBDE_IN:-$TMP/jwe}, stdout $TMP/out, stderr $TMP/msg
nbde_bg() {
	setsid -w env NBDE_TPM_PIN_FILE= "$NBDE" "$@" <"${NBDE_IN:-$TMP/jwe}" >"$TMP/out" 2>"$TMP/msg" &
	NBDE_PID=$!
}

# ---- the systemd password agent (Debian's systemd-tty-ask-password-agent) ----

if [ -n "$AGENT" ]; then
	T=$(t_isecs 60)
	m0=$(mono_us)
	nbde_bg decrypt --timeout "$T"
	peer agent "$TMP/ask" "$PIN" >"$TMP/found"
	wait "$NBDE_PID"
	ok $? "decrypt without a terminal, systemd running: the password agent's answer decrypts" ||
		diag "$(cat "$TMP/msg" "$TMP/found")"
	is "$(cat "$TMP/out")" "$PT" "... the plaintext"
	is "$(ask_field "$TMP/ask.1" Message)" "Please enter the TPM PIN:" "the request's Message= (decrypt: no volume)"
	is "$(ask_field "$TMP/ask.1" Id)" "nbde-tpm2pin:" "the request's Id="
	grep -q 'Please enter the TPM PIN:' "$TMP/ask.1.tty"
	ok $? "the agent showed the message on its terminal" || diag "$(cat "$TMP/ask.1.tty")"
	na=$(ask_field "$TMP/ask.1" NotAfter)
	[ "$na" -ge $((m0 + T * 1000000)) ] && [ "$na" -le $(($(mono_us) + T * 1000000)) ]
	ok $? "NotAfter= is the deadline on CLOCK_MONOTONIC in µs (start + --timeout)" || diag "NotAfter=$na m0=$m0"
	is "$(ask_files)" "" "nothing left in $ASK"

	# unlock names the volume; a wrong PIN, then the right one: two requests
	printf '%s' 'luks test passphrase' >"$TMP/key"
	IMG=$TMP/luks2.img
	if luks_image luks2 "$IMG" "$TMP/key" &&
		NBDE_TPM_PIN_FILE=$TMP/pin "$NBDE" bind -d "$IMG" -k "$TMP/key" tpm2pin '{}' 2>>"$TMP/err"; then
		VOL="nbdetest ($IMG)"
		before=$(da_counter)
		nbde_bg unlock -d "$IMG" -n nbdetest --test --timeout "$T"
		peer agent "$TMP/ask" 'typo' "$PIN" >"$TMP/found"
		wait "$NBDE_PID"
		ok $? "unlock --test of a LUKS volume bound with tpm2pin: the agent's answers open it" ||
			diag "$(cat "$TMP/msg" "$TMP/found")"
		is "$(ask_field "$TMP/ask.1" Message)" "Please enter the TPM PIN for disk $VOL:" \
			"the first request's Message= names the volume and the TPM PIN"
		is "$(ask_field "$TMP/ask.1" Id)" "nbde-tpm2pin:$VOL" "its Id= is nbde-tpm2pin:NAME (DEV)"
		is "$(ask_field "$TMP/ask.1" Echo)" 0 "Echo=0"
		[ "$(ask_field "$TMP/ask.1" NotAfter)" -gt 0 ] && [ "$(ask_field "$TMP/ask.1" PID)" = "$NBDE_PID" ] &&
			[ "$(ask_field "$TMP/ask.1" Socket)" != "$(ask_field "$TMP/ask.2" Socket)" ]
		ok $? "NotAfter= set, PID= nbde's, a new socket for each request"
		grep -q "Please enter the TPM PIN for disk $VOL:" "$TMP/ask.1.tty"
		ok $? "the agent showed it" || diag "$(cat "$TMP/ask.1.tty")"
		is "$(ask_field "$TMP/ask.2" Message)" \
			"Wrong PIN (the TPM locks after $((MAX_TRIES - before - 1)) more wrong). Please enter the TPM PIN for disk $VOL (try 2 of 3):" \
			"after the wrong PIN a second request says so, with the TPM's count"
		grep -q "Wrong PIN .*TPM PIN for disk $VOL (try 2 of 3):" "$TMP/ask.2.tty"
		ok $? "the agent showed the second request" || diag "$(cat "$TMP/ask.2.tty")"
		! [ -e "$TMP/ask.3" ] && ! grep -q 'no request' "$TMP/found"
		ok $? "two requests, two answers"
		is "$(da_counter)" $((before + 1)) "the wrong PIN counted once on the TPM"
		is "$(ask_files)" "" "nothing left in $ASK (no ask.*, sck.*, tmp.*)"

		# a volume name with a line break cannot add a line to the request
		nbde_bg unlock -d "$IMG" -n $'evil\nNotAfter=1' --test --timeout "$T"
		peer agent "$TMP/ask" "$PIN" >"$TMP/found"
		wait "$NBDE_PID"
		ok $? "unlock with a line break in the name: the agent's answer opens it" || diag "$(cat "$TMP/msg")"
		[ "$(grep -c '^NotAfter=' "$TMP/ask.1")" -eq 1 ] && [ "$(ask_field "$TMP/ask.1" NotAfter)" != 1 ] &&
			grep -q '^Message=Please enter the TPM PIN for disk evil\\x0aNotAfter=1 (' "$TMP/ask.1"
		ok $? "... the request's Message= and Id= carry it C-escaped (\\x0a), one NotAfter= line" ||
			diag "$(cat "$TMP/ask.1")"
	else
		skip "cannot make a LUKS image bound with tpm2pin"
	fi
else
	skip "no systemd-tty-ask-password-agent (Debian package systemd)"
fi

# ---- who may answer: root only ----

if [ -n "$NOBODY_PY" ]; then
	# The raw protocol, no agent: nbde's socket, and datagrams sent to it.
	T=$(t_isecs 60)
	before=$(da_counter)
	(umask 000 && nbde_bg decrypt --timeout "$T" && wait "$NBDE_PID") &
	bg=$!
	wait_until 10 ask_posted
	askf=$(compgen -G "$ASK/ask.*" | head -n 1)
	sock=$(ask_field "$askf" Socket)
	is "$(stat -c '%a %u' "$sock" 2>&1)" "600 0" "the answer socket is root's, mode 0600, even under umask 000"
	is "$(nobody_send -- "$sock" "+typo")" EACCES "so a non-root sender cannot even reach it"
	is "$(nobody_send --inh-caps=+dac_override --ambient-caps=+dac_override -- "$sock" "+typo")" sent \
		"a non-root sender past the file mode (CAP_DAC_OVERRIDE) sends a wrong PIN"
	is "$(root_send "$sock" "+$PIN")" sent "then root sends the right PIN"
	wait "$bg"
	ok $? "decrypt took root's answer" || diag "$(cat "$TMP/msg")"
	is "$(cat "$TMP/out")" "$PT" "... and decrypted"
	is "$(da_counter)" "$before" "the non-root answer was never tried: the TPM's lockout counter did not move"
	! grep -q 'wrong PIN' "$TMP/msg"
	ok $? "... and no wrong PIN was reported" || diag "$(cat "$TMP/msg")"

	# the right PIN from non-root is not used either; root's "-" cancels at once
	nbde_bg decrypt --timeout "$T"
	wait_until 10 ask_posted
	askf=$(compgen -G "$ASK/ask.*" | head -n 1)
	sock=$(ask_field "$askf" Socket)
	is "$(nobody_send --inh-caps=+dac_override --ambient-caps=+dac_override -- "$sock" "+$PIN")" sent \
		"a non-root sender (CAP_DAC_OVERRIDE) sends the right PIN"
	t0=$EPOCHREALTIME
	is "$(root_send "$sock" "-")" sent "then root cancels"
	wait "$NBDE_PID"
	rc=$?
	elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
	[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q 'no PIN was entered' "$TMP/msg"
	ok $? "the non-root PIN was ignored, root's cancel ended decrypt: exit 1, no plaintext" ||
		diag "exit $rc" "$(cat "$TMP/msg")"
	awk -v e="$elapsed" -v m="$(t_secs 5)" 'BEGIN { exit !(e < m) }'
	ok $? "... at once (${elapsed}s after the cancel, the deadline ${T}s away)"
	! grep -q 'wrong PIN' "$TMP/msg" && [ "$(da_counter)" = "$before" ]
	ok $? "a cancel is not a wrong PIN: the TPM not touched" || diag "$(cat "$TMP/msg")"
	is "$(ask_files)" "" "nothing left in $ASK"
else
	skip "no python3 that uid 65534 can run"
fi

# ---- the deadline: no agent answers ----

N=$(t_isecs 3)
t0=$EPOCHREALTIME
nbde_bg decrypt --timeout "$N"
wait_until 10 ask_posted
ok $? "decrypt --timeout $N posts its request"
wait_until $((N + 10)) eval '! kill -0 "$NBDE_PID" 2>/dev/null' || kill "$NBDE_PID"	# a hang is a failure, not a stuck test
wait "$NBDE_PID"
rc=$?
elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
[ $rc -eq 1 ] && [ ! -s "$TMP/out" ] && grep -q 'no PIN was entered' "$TMP/msg"
ok $? "no answer: decrypt fails (exit 1) saying no PIN was entered" || diag "exit $rc" "$(cat "$TMP/msg")"
awk -v e="$elapsed" -v n="$N" -v slack="$(t_secs 3)" 'BEGIN { exit !(e >= n && e < n + slack) }'
ok $? "... at the deadline: ${elapsed}s for --timeout $N"
is "$(ask_files)" "" "the request and its socket are gone"

# killed while waiting for an agent: the request goes with it (systemd-ask-password's does too;
# not SIGINT here: a background job of this shell starts with it ignored)
for sig in TERM HUP; do
	nbde_bg decrypt --timeout "$(t_isecs 60)"
	wait_until 10 ask_posted
	kill -"$sig" "$NBDE_PID"
	wait "$NBDE_PID"
	rc=$?
	is "$rc $(ask_files)" "$((128 + $(kill -l "$sig"))) " "SIG$sig while waiting for an agent: nbde ends by it, its request and socket removed"
	rm -f "$ASK"/*
done

# ---- which way: the agents only when systemd runs (or NBDE_PROMPT=agent) ----

rmdir /run/systemd/system
setsid -w env NBDE_TPM_PIN_FILE= "$NBDE" decrypt --timeout "$(t_isecs 60)" <"$TMP/jwe" >/dev/null 2>"$TMP/msg"
[ $? -eq 1 ] && grep -q 'no terminal to ask on' "$TMP/msg" && [ -z "$(ask_files)" ]
ok $? "no terminal and systemd not running: no request to the agents, one line saying why" || diag "$(cat "$TMP/msg")"
NBDE_PROMPT=agent nbde_bg decrypt --timeout "$(t_isecs 60)"
wait_until 10 ask_posted
ok $? "NBDE_PROMPT=agent asks the agents all the same"
kill "$NBDE_PID"
wait "$NBDE_PID"
mkdir /run/systemd/system

# ---- withdrawn when the network answers after all ----

# sss(t=1) of tang and tpm2pin: with tang stopped (SIGSTOP: the kernel takes
# the connection, nothing answers) the PIN is asked after a while; tang
# resumes and decrypts: the request is withdrawn, no PIN tried on the TPM
if mkdir -p "$TMP/tang" && "$NBDE" tangd-keygen "$TMP/tang" sig exc >/dev/null 2>>"$TMP/err" &&
	tang_start "$TMP/tang"; then
	printf '%s' "$PT" | NBDE_TPM_PIN_FILE=$TMP/pin "$NBDE" encrypt sss \
		"{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"$TANG_URL\"}],\"tpm2pin\":{}}}" -y >"$TMP/jsss" 2>>"$TMP/err"
	before=$(da_counter)
	kill -STOP "$TANG_PID"
	NBDE_IN=$TMP/jsss nbde_bg decrypt --timeout "$(t_isecs 60)"
	wait_until 30 ask_posted
	ok $? "sss of a silent tang and tpm2pin: the PIN is asked through the agents"
	kill -CONT "$TANG_PID"
	wait_until 20 eval '! kill -0 "$NBDE_PID" 2>/dev/null'
	ok $? "tang answers: decrypt ends without an answer to the PIN request" || kill "$NBDE_PID"
	wait "$NBDE_PID"
	ok $? "... successfully" || diag "$(cat "$TMP/msg")"
	is "$(cat "$TMP/out")" "$PT" "... the plaintext, from tang"
	is "$(ask_files)" "" "the request was withdrawn"
	is "$(da_counter)" "$before" "no PIN was tried on the TPM"

	# the same on a terminal: the PIN prompt is up when tang answers
	kill -STOP "$TANG_PID"
	JWE=$TMP/jsss RESUME=$TANG_PID PLAIN=$TMP/out peer pty "$TMP/tty" 0 \
		env NBDE_PROMPT=tty NBDE_TPM_PIN_FILE= "$NBDE" decrypt --timeout "$(t_isecs 60)" >"$TMP/found"
	ok $? "on a terminal: tang resumed while the PIN is asked, decrypt ends with its answer" ||
		diag "$(cat "$TMP/tty")"
	is "$(cat "$TMP/out")" "$PT" "... the plaintext, from tang"
	is "$(cat "$TMP/found")" "echo on" "... and the terminal's echo is back on"
	stop_pid "$TANG_PID"
else
	skip "cannot start tang-server"
fi

# ---- the console: a pty bound over /dev/console, under the console lock ----

# console_run OUT : decrypt with NBDE_PROMPT=console and no controlling
# terminal, in a mount namespace of its own where the pty peer.py made is
# bound over /dev/console; plaintext to $TMP/out
console_run() {
	CTTY=0 PLAIN=$TMP/out peer pty "$1" 0 unshare -m --propagation private sh -c \
		'mount --bind "$PTY_SLAVE" /dev/console && exec env NBDE_PROMPT=console NBDE_TPM_PIN_FILE= "$0" decrypt' \
		"$NBDE"
}
if [ -c /dev/console ]; then
	: >"$TMP/out"
	console_run "$TMP/con" >"$TMP/found"
	ok $? "NBDE_PROMPT=console without a terminal: the PIN typed on the console decrypts" ||
		diag "$(cat "$TMP/con" "$TMP/found")"
	is "$(cat "$TMP/out")" "$PT" "... the plaintext"
	grep -q 'Please enter the TPM PIN:' "$TMP/con" && ! grep -q "$PIN" "$TMP/con"
	ok $? "the prompt was on the console, the PIN not echoed" || diag "$(cat "$TMP/con")"

	LOCKF=$TMP/console.lock
	(exec 9>"$LOCKF" && flock 9 && exec sleep "$(t_isecs 120)") &
	holder=$!
	T_PIDS+=("$holder")
	wait_until 10 eval '! flock -n "$LOCKF" true'
	ok $? "another process holds the console lock $LOCKF"
	: >"$TMP/out"
	LOCK=$LOCKF HOLDER=$holder NBDE_CONSOLE_LOCK=$LOCKF console_run "$TMP/con" >"$TMP/found"
	ok $? "NBDE_CONSOLE_LOCK held elsewhere: decrypt waits, then asks and decrypts" ||
		diag "$(cat "$TMP/con" "$TMP/found")"
	is "$(cat "$TMP/out")" "$PT" "... the plaintext"
	is "$(tr '\n' ' ' <"$TMP/found")" "quiet while locked lock held " \
		"no prompt while the other process held the lock; nbde held it while asking"
	wait "$holder" 2>/dev/null
else
	skip "no /dev/console to bind a pty over"
fi

# ---- echo back on after a fatal signal (the tty channel) ----

for sig in HUP INT QUIT TERM; do
	num=$(kill -l "$sig")
	peer pty "$TMP/tty" "$num" env NBDE_PROMPT=tty NBDE_TPM_PIN_FILE= "$NBDE" decrypt >"$TMP/found"
	rc=$?
	[ $rc -eq $((128 + num)) ] && grep -q 'TPM PIN' "$TMP/tty"
	ok $? "SIG$sig while the PIN is asked on a terminal ends decrypt by that signal" ||
		diag "exit $rc" "$(cat "$TMP/tty" "$TMP/found")"
	is "$(cat "$TMP/found")" "echo on" "... and the terminal's echo is back on"
done
# a signal ignored when nbde started (a shell's background job: SIGINT) ends nothing, and echo stays off
IGNORE_INT=1 PLAIN=$TMP/out peer pty "$TMP/tty" "$(kill -l INT)" env NBDE_PROMPT=tty NBDE_TPM_PIN_FILE= "$NBDE" decrypt \
	>"$TMP/found"
rc=$?
is "$(cat "$TMP/found")" "echo off" "SIGINT ignored by the parent: echo stays off while the PIN is asked"
[ $rc -eq 0 ] && [ "$(cat "$TMP/out")" = "$PT" ] && ! grep -q "$PIN" "$TMP/tty"
ok $? "... the PIN typed after it decrypts, unechoed" || diag "exit $rc" "$(cat "$TMP/tty")"

done_testing
