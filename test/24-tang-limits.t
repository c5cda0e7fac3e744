#!/bin/bash
# 24-tang-limits.t - what one client can cost nbde tang-server: slow clients
# at the connection cap (the oldest reader is evicted), the head deadline,
# the per-address limit, memory with the default cap full of part-sent
# requests, the /rec body and member caps, and /adv never queued behind /rec
# work. Several client addresses come from 127.0.0.0/8 (all loopback).
. "$(dirname "$0")/lib.sh"
need jose curl perl
: "${BUILD:=$PWD/build/musl}"
LOAD=$BUILD/tang_load
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null || skip_all "cannot raise the descriptor limit"
[ "$(ulimit -n)" -ge 4096 ] || skip_all "the descriptor limit is below 4096"

DB=$TMP/db
rec_fixture "$DB" || skip_all "cannot make the keys (tangd-keygen, jose)"

# hold.pl PORT COUNT SOURCE MODE: opens COUNT connections from SOURCE (an
# address, or "spread": 127.0.0.2 to 127.0.0.201 in turn), sends what MODE
# says (none, byte, head, body), prints how many it opened, keeps them open
# until its stdin closes.
cat >"$TMP/hold.pl" <<'EOF'
use strict;
use warnings;
use IO::Socket::INET;
my ($port, $n, $src, $mode) = @ARGV;
my %send = (
	none => '',
	byte => 'G',
	head => "GET /adv HTTP/1.1\r\n",
	body => "POST /rec/x HTTP/1.1\r\nContent-Length: 4000\r\n\r\n" . ('x' x 3000),
);
my @held;
for my $i (0 .. $n - 1) {
	my $la = $src eq 'spread' ? '127.0.0.' . (2 + $i % 200) : $src;
	my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => $la,
				      Proto => 'tcp') or next;
	syswrite($c, $send{$mode}) if length $send{$mode};
	push @held, $c;
}
print scalar(@held), "\n";
STDOUT->flush();
my $wait = <STDIN>;
EOF

hold() { # hold COUNT SOURCE MODE : background holder; HELD = how many it opened
	rm -f "$TMP/hold.in" "$TMP/hold.out"
	mkfifo "$TMP/hold.in"
	perl "$TMP/hold.pl" "$PORT" "$1" "$2" "$3" <"$TMP/hold.in" >"$TMP/hold.out" &
	HOLDER=$!
	exec {HOLD_IN}>"$TMP/hold.in"
	HELD=
	for ((i = 0; i < 600 * SLOW && !HELD; i++)); do
		HELD=$(head -n 1 "$TMP/hold.out" 2>/dev/null)
		[ -n "$HELD" ] || sleep 0.05
	done
}
release() { exec {HOLD_IN}>&-; wait "$HOLDER" 2>/dev/null; }

start() { # start OPTIONS... : standalone on 127.0.0.1 (a port the kernel picks), logs in $TMP/server.log
	local pf=$TMP/port.$RANDOM
	"$NBDE" tang-server -l -a 127.0.0.1 -p 0 --port-file "$pf" -q "$@" "$DB" 2>"$TMP/server.log" &
	SERVER=$!
	T_PIDS+=($!)
	wait_until 20 eval '[ -s "$pf" ] || ! kill -0 "$SERVER" 2>/dev/null'
	PORT=$(cat "$pf" 2>/dev/null)
}
stop() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; }
code() { # code [CURL-OPTIONS...] : status of GET /adv
	curl -s -o /dev/null --max-time $((20 * SLOW)) -w '%{http_code}' "$@" "http://127.0.0.1:$PORT/adv"
}
rec() { # rec [CURL-OPTIONS...] : the /rec reply
	curl -s --max-time $((20 * SLOW)) "$@" --data-binary @"$TMP/client.pub.jwk" "http://127.0.0.1:$PORT/rec/$EXC"
}
rec_code() { # rec_code FILE : status of a /rec with FILE as body
	curl -s -o /dev/null --max-time $((20 * SLOW)) -w '%{http_code}' --data-binary @"$1" \
		"http://127.0.0.1:$PORT/rec/$EXC"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }

# ---- slow clients at the cap ----
start -c 64 --head-timeout 600 -r 600 -i 600
hold 300 spread byte
is "$HELD" 300 "300 connections from 200 addresses, each sent one byte and stalls (cap 64)"
is "$(code)" 200 "GET /adv is answered while slow connections fill the cap"
is "$(rec)" "$GOOD" "POST /rec is answered while slow connections fill the cap"
release
stop
grep -q 'connections evicted' "$TMP/server.log" && ! grep -q ' 0 connections evicted' "$TMP/server.log"
ok $? "the summary line counts the evicted connections"

# ---- head deadline ----
start --head-timeout 1 -r 600 -i 600
exec {slow}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /adv HTTP/1.1\r\n' >&"$slow"
timeout $((20 * SLOW)) cat <&"$slow" >/dev/null
ok $? "a request whose head does not finish is closed by --head-timeout (not -r 600)"
exec {slow}>&-
is "$(code)" 200 "... and the server goes on serving"
stop
grep -q ' 1 head timeouts' "$TMP/server.log"
ok $? "the summary line counts the head timeout"

# ---- per-address limit ----
start --max-per-address 4 -i 600
hold 10 127.0.0.2 none
is "$HELD" 10 "10 idle connections from 127.0.0.2 (limit 4 per address)"
is "$(code --interface 127.0.0.2)" 000 "an 11th connection from 127.0.0.2 is refused"
is "$(code --interface 127.0.0.3)" 200 "a client from 127.0.0.3 is served"
is "$(rec --interface 127.0.0.3)" "$GOOD" "... /rec too"
release
# the server sees the closes in its own time: ask until it has
for ((i = 0; i < 200 * SLOW; i++)); do
	again=$(code --interface 127.0.0.2)
	[ "$again" = 200 ] && break
	sleep 0.05
done
is "$again" 200 "127.0.0.2 is served again once its connections closed"
stop
grep -q ' 7 refused over the per-address limit' "$TMP/server.log"
ok $? "the summary line counts the 7 refused connections"
grep 'stopped:' "$TMP/server.log" | sed 's/^/# /'

# ---- memory with the default cap full of part-sent requests ----
start -i 600 -r 600 --head-timeout 600
hold 1100 spread body
is "$HELD" 1100 "1100 connections, each with 3000 of 4000 announced body bytes sent (default cap 1024)"
is "$(rec)" "$GOOD" "POST /rec is answered with the cap full of part-sent bodies"
rss=$(rss_kib)
if grep -qa -e __asan_init "$NBDE"; then
	skip "RSS bound (sanitizer build)"
else
	[ "$rss" -le 32768 ]
	ok $? "RSS with the cap full of part-sent requests is at most 32 MiB ($rss KiB)"
fi
release
stop

# ---- /rec body and member caps ----
start
head -c 5000 /dev/zero | tr '\0' ' ' >"$TMP/big"
is "$(rec_code "$TMP/big")" 413 "a /rec body of 5000 bytes gets 413"
members=$(for i in $(seq 40); do printf ',"m%d":1' "$i"; done)
sed "s/}\$/$members}/" "$TMP/client.pub.jwk" >"$TMP/many.jwk"
[ "$(wc -c <"$TMP/many.jwk")" -lt 4096 ]
ok $? "a JWK with 40 extra members is under 4 KiB"
is "$(rec_code "$TMP/many.jwk")" 400 "... and gets 400 (more than 32 members cannot be a JWK)"
is "$(rec)" "$GOOD" "a real /rec is answered"
stop

# ---- /adv is not queued behind /rec work ----
if [ -x "$LOAD" ]; then
	start -w 1
	"$LOAD" "$PORT" "/rec/$EXC" "$TMP/client.pub.jwk" 32 $((3 * SLOW)) >"$TMP/load.out"
	ok $? "32 clients, /rec and /adv in turn, one worker: every reply whole"
	read -r adv_us rec_us < <(sed 's/.*adv-mean-us \([0-9]*\) rec-mean-us \([0-9]*\).*/\1 \2/' "$TMP/load.out")
	echo "# $(cat "$TMP/load.out")"
	[ "$adv_us" -gt 0 ] && [ $((adv_us * 3)) -lt "$rec_us" ]
	ok $? "/adv waits for less than a third of what /rec waits (${adv_us} vs ${rec_us} us)"
	stop
else
	skip "$LOAD is not built"
	skip "$LOAD is not built"
fi

# ---- a stderr nobody reads does not stall requests ----
if [ -x "$LOAD" ]; then
	mkfifo "$TMP/stderr"
	sleep 100000 <"$TMP/stderr" &	# holds the pipe open and never reads it
	READER=$!
	"$NBDE" tang-server -l -a 127.0.0.1 -p 0 --port-file "$TMP/port.err" "$DB" 2>"$TMP/stderr" &
	SERVER=$!
	T_PIDS+=($SERVER $READER)
	wait_until 20 eval '[ -s "$TMP/port.err" ] || ! kill -0 "$SERVER" 2>/dev/null'
	PORT=$(cat "$TMP/port.err" 2>/dev/null)
	# a pipe holds 64 KiB: 5000 log lines of about 60 bytes are several times that
	LOAD_REQUESTS=5000 timeout $((120 * SLOW)) "$LOAD" "$PORT" "/rec/$EXC" "$TMP/client.pub.jwk" 8 $((120 * SLOW)) \
		>"$TMP/load.out"
	ok $? "5000 requests are answered while nobody reads the server's stderr"
	echo "# $(cat "$TMP/load.out")"
	is "$(code)" 200 "... and the server still answers"
	kill "$READER"	# the pipe breaks: the server can log its last line and exit
	stop
else
	skip "$LOAD is not built"
	skip "$LOAD is not built"
fi

done_testing
