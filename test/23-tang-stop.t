#!/bin/bash
# 23-tang-stop.t - stopping and reloading nbde tang-server under load, in the
# musl build and the sanitizer build: SIGTERM (and SIGINT) while many /rec and
# /adv clients are in flight, repeated; every client gets a whole reply or a
# clean close, the server exits 0 with one summary line and no sanitizer
# report. SIGHUP under load fails no request. A second SIGTERM cuts the grace
# short; idle connections do not hold a stop up.
. "$(dirname "$0")/lib.sh"
need jose
: "${SAN:=$PWD/build/san}"
: "${BUILD:=$PWD/build/musl}"
LOAD=$BUILD/tang_load
[ -x "$LOAD" ] || skip_all "$LOAD is not built (make $LOAD)"
ROUNDS=${STOP_ROUNDS:-20}

DB=$TMP/db
rec_fixture "$DB" || skip_all "cannot make the keys (tangd-keygen, jose)"

start() { # start BINARY LOG OPTIONS... : standalone on 127.0.0.1, a port the kernel picks
	local bin=$1 log=$2 pf=$TMP/port.$RANDOM
	shift 2
	ASAN_OPTIONS=detect_leaks=1 "$bin" tang-server -l -a 127.0.0.1 -p 0 --port-file "$pf" "$@" "$DB" 2>"$log" &
	SERVER=$!
	T_PIDS+=($!)
	wait_until 20 eval '[ -s "$pf" ] || ! kill -0 "$SERVER" 2>/dev/null'
	PORT=$(cat "$pf" 2>/dev/null)
}
log_lines() { wc -l <"$1"; }
wait_log_lines() { # wait_log_lines LOG N : until the server logged N lines (bounded)
	local i
	for ((i = 0; i < 600 * SLOW; i++)); do
		[ "$(log_lines "$1")" -ge "$2" ] && return 0
		kill -0 "$SERVER" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
wait_exit() { # wait_exit PID SECONDS : its exit status, or 124 when it did not end in time
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.05
	done
	return 124
}
# open_accepted: a connection the server has surely accepted (one GET /adv
# answered on it, kept alive); its descriptor in $CONN
open_accepted() {
	local line len=0 body
	exec {CONN}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'GET /adv HTTP/1.1\r\nHost: x\r\n\r\n' >&"$CONN"
	while IFS= read -r -t $((10 * SLOW)) line <&"$CONN"; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case ${line,,} in content-length:*) len=${line#*:} len=${len// /} ;; esac
	done
	[ "$len" -gt 0 ] && read -r -N "$len" -t $((10 * SLOW)) body <&"$CONN"
}
sanitizer_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1"; }

# stop_round BINARY LABEL ROUND SIGNAL: one server, load, a signal mid-load
stop_round() {
	local bin=$1 label=$2 round=$3 sig=$4 log=$TMP/stop.log out=$TMP/load.out rc lrc
	start "$bin" "$log" -w 2
	"$LOAD" "$PORT" "/rec/$EXC" "$TMP/client.pub.jwk" 16 $((60 * SLOW)) >"$out" 2>&1 &
	local load=$!
	# the signal lands at a different point of the load each round
	wait_log_lines "$log" $((5 + round * 7))
	kill "-$sig" "$SERVER"
	wait_exit "$SERVER" $((20 * SLOW))
	rc=$?
	wait "$load"
	lrc=$?
	if [ $rc -ne 0 ] || [ $lrc -ne 0 ] || ! sanitizer_clean "$log" || ! grep -q 'stopped:' "$log"; then
		echo "# $label round $round ($sig): server exit $rc, client exit $lrc: $(cat "$out")"
		grep -v ' => ' "$log" | head -20 | sed 's/^/# server: /'
		return 1
	fi
	grep -o 'complete [0-9]*' "$out" >>"$TMP/completed"
	return 0
}

stop_rounds() { # stop_rounds BINARY LABEL ROUNDS
	local failed=0 r sig
	: >"$TMP/completed"
	for ((r = 1; r <= $3; r++)); do
		sig=TERM
		[ $((r % 4)) -eq 0 ] && sig=INT
		stop_round "$1" "$2" "$r" "$sig" || failed=$((failed + 1))
	done
	ok $failed "$2: $3 stops under load: exit 0, no truncated reply, no sanitizer report"
	local total
	total=$(awk '{s += $2} END {print s + 0}' "$TMP/completed")
	[ "$total" -gt "$3" ]
	ok $? "$2: the clients got whole replies before the stops ($total)"
}

# hup_round BINARY LABEL: reloads under load fail no request
hup_round() {
	local bin=$1 label=$2 log=$TMP/hup.log out=$TMP/hup.out i rc lrc
	start "$bin" "$log" -w 2
	"$LOAD" "$PORT" "/rec/$EXC" "$TMP/client.pub.jwk" 16 $((60 * SLOW)) >"$out" 2>&1 &
	local load=$!
	for i in $(seq 10); do
		wait_log_lines "$log" $((i * 20)) || break
		kill -HUP "$SERVER"
	done
	kill -TERM "$SERVER"
	wait_exit "$SERVER" $((20 * SLOW))
	rc=$?
	wait "$load"
	lrc=$?
	is "$rc/$lrc" 0/0 "$label: 10 reloads under load, then a stop: server and clients exit 0"
	[ "$lrc" -eq 0 ] || echo "# $(cat "$out")"
	grep -q 'status-503 0 status-other 0' "$out"
	ok $? "$label: no request failed because of a reload"
	sanitizer_clean "$log"
	ok $? "$label: no sanitizer report across the reloads"
}

flavours=("$NBDE" musl)
if [ -x "$SAN/nbde" ]; then
	flavours+=("$SAN/nbde" asan+ubsan)
fi
for ((f = 0; f < ${#flavours[@]}; f += 2)); do
	bin=${flavours[f]}
	label=${flavours[f + 1]}
	rounds=$ROUNDS
	[ "$label" = musl ] || rounds=$(((ROUNDS + 3) / 4))	# the sanitizer build is 5-10 times slower
	stop_rounds "$bin" "$label" "$rounds"
	hup_round "$bin" "$label"
done
[ -x "$SAN/nbde" ] || skip "the sanitizer build is not there ($SAN/nbde; make sanitize)"

# ---- the grace period ----
start "$NBDE" "$TMP/grace.log" --stop-timeout 600
open_accepted
idle=$CONN
open_accepted
part=$CONN
printf 'POST /rec/%s HTTP/1.1\r\nHost: x\r\n' "$EXC" >&"$part"
kill -TERM "$SERVER"
timeout $((10 * SLOW)) cat <&"$idle" >/dev/null
ok $? "an idle connection is closed as soon as the stop begins"
sleep 1
kill -0 "$SERVER" 2>/dev/null
ok $? "a request in flight holds the stop (the grace is 600 s)"
kill -TERM "$SERVER"
wait_exit "$SERVER" $((10 * SLOW))
is $? 0 "a second SIGTERM ends the grace at once, exit 0"
grep -q 'stopped: 0 requests finished during the stop, 1 cut; 2 served' "$TMP/grace.log"
ok $? "the summary line counts the cut request"
grep 'stopped:' "$TMP/grace.log" | sed 's/^/# /'
exec {idle}>&- {part}>&-

start "$NBDE" "$TMP/grace2.log" --stop-timeout 1
open_accepted
part=$CONN
printf 'POST /rec/%s HTTP/1.1\r\nHost: x\r\n' "$EXC" >&"$part"
kill -TERM "$SERVER"
wait_exit "$SERVER" $((10 * SLOW))
is $? 0 "when the grace runs out the server exits 0"
grep -q '1 cut' "$TMP/grace2.log"
ok $? "... and counts the request it cut"
exec {part}>&-

start "$NBDE" "$TMP/finish.log" --stop-timeout 600
open_accepted
part=$CONN
printf 'GET /adv HTTP/1.1\r\nHost: x\r\n' >&"$part"
kill -TERM "$SERVER"
printf '\r\n' >&"$part"
reply=$(timeout $((10 * SLOW)) cat <&"$part")
case $reply in
"HTTP/1.1 200 OK"*"Connection: close"*'"payload"'*) ok 0 "a request finished during the stop is answered, with Connection: close" ;;
*) ok 1 "a request finished during the stop is answered, with Connection: close"; echo "# got: ${reply:0:200}" ;;
esac
wait_exit "$SERVER" $((10 * SLOW))
is $? 0 "... and then the server exits 0"
grep -q 'stopped: 1 requests finished during the stop, 0 cut; 2 served' "$TMP/finish.log"
ok $? "the summary line counts it as finished"
exec {part}>&-

done_testing
