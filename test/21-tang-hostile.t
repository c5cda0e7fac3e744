#!/usr/bin/env bash
# 21-tang-hostile.t - nbde tang-server under hostile clients: 1000 idle
# connections, a client sending one byte at a time, the connection cap,
# garbage streams, oversize requests, many parallel /rec; the server keeps
# serving others and its memory stays bounded. Also socket activation,
# SIGHUP and logs never written into an inetd socket.
. "$(dirname "$0")/lib.sh"
need jose curl socat

ulimit -n 4096 2>/dev/null || skip_all "cannot raise the descriptor limit"
DB=$TMP/db
rec_fixture "$DB" || skip_all "cannot make the keys (tangd-keygen, jose)"

t_log "$TMP/tang-server.log"
start() { # start OPTIONS... : standalone on 127.0.0.1
	tang_start "$DB" -q "$@"
	PORT=$TANG_PORT SERVER=$TANG_PID
}
stop() { stop_pid "$SERVER"; }
code() { curl -s -o /dev/null --max-time "$(t_secs 5)" -w '%{http_code}' "http://127.0.0.1:$PORT${1:-/adv}"; }
rec() { curl -s --max-time "$(t_secs 10)" --data-binary @"$TMP/client.pub.jwk" "http://127.0.0.1:$PORT/rec/$EXC"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }
rss_at_most() { # rss_at_most KIB DESCRIPTION : sanitizer shadow memory makes RSS meaningless
	local rss
	rss=$(rss_kib)
	echo "# RSS: $rss KiB"
	if grep -qa -e AddressSanitizer -e __asan_init -e __tsan_init "$NBDE"; then
		skip "$2 (sanitizer build)"
	else
		[ "$rss" -le "$1" ]
		ok $? "$2 ($rss KiB)"
	fi
}
alive() { kill -0 "$SERVER" 2>/dev/null; }

# ---- 1000 idle connections ----
start -i "$(t_isecs 60)"
FDS=()
for _ in $(seq 1000); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || break
	FDS+=("$fd")
done
is "${#FDS[@]}" 1000 "1000 idle connections opened"
fds_open() { [ "$(ls "/proc/$SERVER/fd" | wc -l)" -ge "$1" ]; }
wait_until 10 fds_open 1003	# 1000 connections besides stdin, stdout, stderr
ok $? "... and the server holds them all"
is "$(code)" 200 "GET /adv is served while 1000 connections idle"
is "$(rec)" "$GOOD" "POST /rec is served while 1000 connections idle"
rss_at_most 8192 "RSS with 1000 open connections is at most 8 MiB"
for fd in "${FDS[@]}"; do exec {fd}>&-; done
stop

# ---- slow clients and deadlines ----
start -r 2 -i 2
exec {slow}<>"/dev/tcp/127.0.0.1/$PORT"
( for c in G E T ' ' / a d v; do printf %s "$c" >&"$slow" || exit; sleep 1; done ) 2>/dev/null &
slowpid=$!
t0=$(date +%s%N)
is "$(code)" 200 "a fast client is served while a slow one trickles"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt "$(t_isecs 1000)" ]
ok $? "... without waiting for it ($(((t1 - t0) / 1000000)) ms)"
timeout "$(t_secs 6)" cat <&"$slow" >/dev/null
ok $? "the slow client is cut off by the request deadline"
exec {slow}>&-
kill $slowpid 2>/dev/null
exec {idle}<>"/dev/tcp/127.0.0.1/$PORT"
timeout "$(t_secs 5)" cat <&"$idle" >/dev/null
ok $? "an idle connection is closed after the idle timeout"
exec {idle}>&-
stop

# ---- connection cap ----
start -c 50
FDS=()
for _ in $(seq 100); do exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" && FDS+=("$fd"); done
is "$(code)" 200 "at the cap of 50, a new client is served (the oldest idle one is closed)"
for fd in "${FDS[@]}"; do exec {fd}>&-; done

# ---- garbage and oversize requests ----
for i in $(seq 50); do
	head -c $((RANDOM % 20000 + 1)) /dev/urandom | socat -t "$(t_secs 1)" -T "$(t_secs 3)" - "TCP:127.0.0.1:$PORT" >/dev/null 2>&1 &
done
wait_pids=$(jobs -p)
for p in $wait_pids; do [ "$p" = "$SERVER" ] || wait "$p" 2>/dev/null; done
alive
ok $? "50 streams of random bytes: the server is alive"
is "$(code)" 200 "... and serving"
resp=$({ printf 'POST /rec/x HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n'; head -c 1000000 /dev/zero; } |
	socat -t "$(t_secs 3)" -T "$(t_secs 5)" - "TCP:127.0.0.1:$PORT" 2>/dev/null | head -1 | tr -d '\r')
is "$resp" "HTTP/1.1 413 Payload Too Large" "a 1 MB body is refused with 413"
resp=$({ printf 'POST /rec/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'; for _ in $(seq 40); do
	printf '800\r\n%s\r\n' "$(head -c 2048 /dev/zero | tr '\0' a)"; done; } |
	socat -t "$(t_secs 3)" -T "$(t_secs 5)" - "TCP:127.0.0.1:$PORT" 2>/dev/null | head -1 | tr -d '\r')
is "$resp" "HTTP/1.1 413 Payload Too Large" "80 KiB of chunks is refused with 413"
resp=$({ printf 'GET /adv HTTP/1.1\r\n'; for _ in $(seq 2000); do printf 'X-Header: value\r\n'; done; printf '\r\n'; } |
	socat -t "$(t_secs 3)" -T "$(t_secs 5)" - "TCP:127.0.0.1:$PORT" 2>/dev/null | head -1 | tr -d '\r')
is "$resp" "HTTP/1.1 431 Request Header Fields Too Large" "2000 header lines are refused with 431"
resp=$({ printf 'GET /'; head -c 100000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\n\r\n'; } |
	socat -t "$(t_secs 3)" -T "$(t_secs 5)" - "TCP:127.0.0.1:$PORT" 2>/dev/null | head -1 | tr -d '\r')
is "$resp" "HTTP/1.1 414 URI Too Long" "a 100 KB target is refused with 414"

# ---- many parallel /rec ----
for i in $(seq 40); do rec >"$TMP/par.$i" & done
wait_pids=$(jobs -p)
for p in $wait_pids; do [ "$p" = "$SERVER" ] || wait "$p" 2>/dev/null; done
bad=0
for i in $(seq 40); do [ "$(cat "$TMP/par.$i")" = "$GOOD" ] || bad=$((bad + 1)); done
is "$bad" 0 "40 parallel /rec requests all get the right answer"
rss_at_most 8192 "RSS after the hostile clients is at most 8 MiB"

# ---- SIGHUP and rotation without restart ----
kill -HUP "$SERVER"
is "$(code)" 200 "SIGHUP: still serving"
"$NBDE" tangd-rotate-keys -d "$DB"
is "$(rec)" "$GOOD" "after rotation the hidden exchange key still answers"
NEWSIG=$(for f in "$DB"/*.jwk; do jose jwk use -i "$f" -r -u verify 2>/dev/null && jose jwk thp -i "$f"; done)
curl -s --max-time "$(t_secs 5)" "http://127.0.0.1:$PORT/adv" | jose jws ver -i- -k "$DB/$NEWSIG.jwk"
ok $? "the advertisement is signed by the new key without a restart"
kill -TERM "$SERVER"
wait "$SERVER"
is "$?" 0 "SIGTERM under load history: clean exit"

# ---- socket activation (Accept=no) ----
if command -v systemd-socket-activate >/dev/null; then
	for _ in 1 2 3; do	# systemd-socket-activate cannot report a port: a free one, retried
		PORT=$(free_port)
		systemd-socket-activate -l "127.0.0.1:$PORT" "$NBDE" tang-server -q "$DB" 2>>"$TMP/tang-server.log" &
		SERVER=$!
		T_PIDS+=($!)
		wait_until 10 eval 'owns_port "$SERVER" "$PORT" || ! kill -0 "$SERVER" 2>/dev/null'
		owns_port "$SERVER" "$PORT" && break
		stop
	done
	is "$(code)" 200 "socket activation: GET /adv"
	is "$(rec)" "$GOOD" "socket activation: POST /rec"
	is "$(code)" 200 "socket activation: the same process serves again"
	stop
else
	skip "systemd-socket-activate is not installed"
fi

# ---- inetd: stderr that is the connection gets no logs ----
socat_start SYSTEM:"exec $NBDE tangd $DB 2>&1"
resp=$(printf 'GET /nothing HTTP/1.1\r\n\r\n' |
	socat -t "$(t_secs 2)" -T "$(t_secs 5)" - "TCP:127.0.0.1:$SOCAT_PORT" 2>/dev/null | tr -d '\r')
printf '%s' "$resp" | grep -q '=> 404'
is "$?" 1 "no log line inside the HTTP stream when stderr is the socket"
stop_pid "$SOCAT_PID"

done_testing
