#!/bin/bash
# 25-tang-observe.t - what nbde tang-server tells operators and whom it
# serves: /metrics (counters move by what a known set of requests did;
# promtool accepts the format), /healthz (ready, no keys, during a stop),
# the admin listener and --no-admin, access rules for /rec from several
# loopback sources (127.0.0.0/8 is all loopback), per-key rules, an allow
# file re-read on change, and PROXY protocol v2 from a trusted balancer only.
. "$(dirname "$0")/lib.sh"
need jose curl perl
SLOW=${TEST_SLOWDOWN:-1}

DB=$TMP/db
mkdir "$DB"
"$NBDE" tangd-keygen "$DB" sig exc || skip_all "tangd-keygen does not work"
EXC=$(jose jwk thp -i "$DB/exc.jwk")
EXC256=$(jose jwk thp -a S256 -i "$DB/exc.jwk")
jose jwk gen -i '{"alg":"ECMR"}' -o "$TMP/client.jwk"
jose jwk pub -i "$TMP/client.jwk" -o "$TMP/client.pub.jwk"
GOOD=$(jose jwk exc -i '{"alg":"ECMR","key_ops":["deriveKey"]}' -l "$TMP/client.jwk" -r "$DB/exc.jwk")

pick_port() { # a free port below the kernel's ephemeral range (32768 up), where
	# clients of other tests on this machine cannot be holding it
	local p
	for _ in $(seq 50); do
		p=$((10000 + RANDOM % 22000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
start() { # start OPTIONS... : standalone on 127.0.0.1:$PORT, keys $DB unless KEYS is set
	for _ in 1 2 3 4 5; do	# a port found free can be taken before it is bound: another one
		PORT=$(pick_port)
		"$NBDE" tang-server -l -a 127.0.0.1 -p "$PORT" "$@" "${KEYS:-$DB}" 2>"$TMP/server.log" &
		SERVER=$!
		T_PIDS+=($!)
		wait_port "$PORT" && kill -0 "$SERVER" 2>/dev/null && return 0
		sed 's/^/# server: /' "$TMP/server.log"
		stop
	done
	return 1
}
SAN_REPORTS=0
stop() { # (with NBDE a sanitizer build, its reports are counted)
	kill "$SERVER" 2>/dev/null
	wait "$SERVER" 2>/dev/null
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$TMP/server.log"; then
		SAN_REPORTS=$((SAN_REPORTS + 1))
		grep -E -A5 'ERROR: |runtime error' "$TMP/server.log" | sed 's/^/# /' | head -20
	fi
}
get() { # get PATH [CURL-OPTIONS...] : "STATUS BODY" of a GET on the tang port
	local path=$1
	shift
	curl -s --max-time $((20 * SLOW)) -w ' %{http_code}' "$@" "http://127.0.0.1:$PORT$path"
}
code() { # code METHOD PATH [CURL-OPTIONS...] : the status alone
	local m=$1 path=$2
	shift 2
	curl -s -o /dev/null --max-time $((20 * SLOW)) -w '%{http_code}' -X "$m" "$@" "http://127.0.0.1:$PORT$path"
}
rec() { # rec THP [CURL-OPTIONS...] : status of a /rec with the client key
	local thp=$1
	shift
	curl -s -o /dev/null --max-time $((20 * SLOW)) -w '%{http_code}' "$@" --data-binary @"$TMP/client.pub.jwk" \
		"http://127.0.0.1:$PORT/rec/$thp"
}
scrape() { # scrape FILE [PORT] : the /metrics text into FILE
	curl -s --max-time $((20 * SLOW)) "http://127.0.0.1:${2:-$PORT}/metrics" >"$1"
}
metric() { # metric FILE SERIES : its value, 0 when absent (a counter not yet moved)
	awk -v s="$2" '$1 == s { v = $2 } END { print v == "" ? 0 : v }' "$1"
}
delta() { # delta SERIES : how much it moved from $TMP/m0 to $TMP/m1
	echo $(($(metric "$TMP/m1" "$1") - $(metric "$TMP/m0" "$1")))
}
wait_log() { # wait_log PATTERN : until the server log has it (bounded)
	local i
	for ((i = 0; i < 200 * SLOW; i++)); do
		grep -q "$1" "$TMP/server.log" && return 0
		sleep 0.05
	done
	return 1
}

# ---- /metrics: counters move by what the requests did ----
start -q
scrape "$TMP/m0"
for i in 1 2 3; do code GET /adv >/dev/null; done
for i in 1 2; do rec "$EXC" >/dev/null; done
code GET /nothing-here >/dev/null
code POST /adv >/dev/null
scrape "$TMP/m1"
is "$(delta 'nbde_tang_requests_total{route="adv",code="200"}')" 3 "3 GET /adv: requests_total{adv,200} +3"
is "$(delta 'nbde_tang_requests_total{route="rec",code="200"}')" 2 "2 POST /rec: requests_total{rec,200} +2"
is "$(delta 'nbde_tang_requests_total{route="other",code="404"}')" 1 "an unknown path: {other,404} +1"
is "$(delta 'nbde_tang_requests_total{route="adv",code="405"}')" 1 "POST /adv: {adv,405} +1"
is "$(delta 'nbde_tang_requests_total{route="metrics",code="200"}')" 1 "the first scrape is counted in the second"
is "$(delta "nbde_tang_rec_total{thp=\"$EXC256\",state=\"active\"}")" 2 "rec_total for the exchange key (S256) +2"
is "$(delta 'nbde_tang_request_duration_seconds_count{route="rec"}')" 2 "the /rec duration histogram counted 2"
is "$(delta 'nbde_tang_request_duration_seconds_bucket{route="adv",le="+Inf"}')" 4 \
	"... the /adv one 4 (+Inf bucket: 3 GET and the POST)"
[ "$(metric "$TMP/m1" 'nbde_tang_connections_open')" -ge 1 ]
ok $? "connections_open counts the scraping connection"
is "$(metric "$TMP/m1" 'nbde_tang_build_info{version="0.1"}')" 1 "build_info carries the version"
grep -c '^nbde_tang_connections_rejected_total{reason="[a-z_]*"} 0$' "$TMP/m1" | grep -qx 6
ok $? "connections_rejected_total has its 6 reasons, all 0"
is "$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$PORT/metrics")" \
	"text/plain; version=0.0.4; charset=utf-8" "/metrics is text/plain; version=0.0.4"
if command -v promtool >/dev/null; then
	promtool check metrics <"$TMP/m1" >"$TMP/promtool.out" 2>&1
	ok $? "promtool check metrics accepts the output"
	sed 's/^/# /' "$TMP/promtool.out" | head -5
else
	skip "promtool is not installed (Debian package prometheus)"
fi
! grep -v '^#' "$TMP/m1" | grep -q 'nothing-here'
ok $? "the raw target never becomes a label"

# rotation: the old key still recovers, counted as rotated; the reload is counted
"$NBDE" tangd-keygen "$DB" sig2 exc2
mv "$DB/exc.jwk" "$DB/.exc.jwk"
mv "$DB/sig.jwk" "$DB/.sig.jwk"
scrape "$TMP/m0"
is "$(rec "$EXC")" 200 "a rotated key still recovers"
scrape "$TMP/m1"
is "$(delta "nbde_tang_rec_total{thp=\"$EXC256\",state=\"rotated\"}")" 1 "... counted under state=rotated"
[ "$(metric "$TMP/m1" nbde_tang_key_reloads_total)" -ge 1 ]
ok $? "key_reloads_total counts the reload"
mv "$DB/.exc.jwk" "$DB/exc.jwk"
mv "$DB/.sig.jwk" "$DB/sig.jwk"
rm "$DB/sig2.jwk" "$DB/exc2.jwk"
stop

# ---- /healthz ----
start -q
is "$(get /healthz)" "ok
 200" "/healthz: 200 ok with an active signing and exchange key"
is "$(code POST /healthz)" 405 "POST /healthz: 405"
stop

SIGONLY=$TMP/sigonly
mkdir "$SIGONLY"
"$NBDE" tangd-keygen "$SIGONLY" sig exc
rm "$SIGONLY/exc.jwk"
KEYS=$SIGONLY start -q
got=$(get /healthz)
is "${got##* }" 503 "only a signing key: 503"
is "$(tr -d '\n' <<<"${got% *}")" "no active exchange key" "... the body says why"
stop

# an empty directory the server cannot write: no key gets generated
EMPTY=$TMP/empty
mkdir "$EMPTY"
chmod 0711 "$TMP"
if [ "$(id -u)" = 0 ]; then
	KEYS=$EMPTY start -q -u nobody	# root writes anywhere; nobody cannot write here
else
	chmod 0555 "$EMPTY"
	KEYS=$EMPTY start -q
fi
got=$(get /healthz)
is "${got##* }" 503 "an empty key directory that cannot be written: 503"
echo "# body: ${got% *}"
is "$(ls -A "$EMPTY" | wc -l)" 0 "... and no key was made"
stop

# during a stop: new connections are no longer accepted, so a probe that
# asks then is one whose request began before the stop (a kept connection)
start -q --stop-timeout 600 -r 600 --head-timeout 600 -i 600
exec {held}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /rec/%s HTTP/1.1\r\nContent-Length: 400\r\n\r\n{' "$EXC" >&"$held"
exec {probe}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /healthz HTTP/1.1\r\n' >&"$probe"
# both accepted before the signal (a stop accepts no more): a scrape that
# sees them and itself open was accepted after them
for ((i = 0; i < 200 * SLOW; i++)); do
	scrape "$TMP/m1" && [ "$(metric "$TMP/m1" nbde_tang_connections_open)" -ge 3 ] && break
	sleep 0.05
done
kill -TERM "$SERVER"
wait_log 'stopping:'
ok $? "SIGTERM with a /rec in flight: the stop begins (and is logged)"
printf '\r\n' >&"$probe"
reply=$(timeout $((20 * SLOW)) cat <&"$probe" | tr -d '\r')
exec {probe}>&-
is "$(head -n 1 <<<"$reply")" "HTTP/1.1 503 Service Unavailable" "/healthz during the stop: 503"
is "$(tail -n 1 <<<"$reply")" "stopping" "... body: stopping"
exec {held}>&-
wait "$SERVER"
ok $? "the server then stops cleanly"
stop	# only for its sanitizer check: the server is gone

# ---- where /healthz and /metrics are served ----
for _ in 1 2 3 4 5; do
	APORT=$(pick_port)
	start -q --admin-address 127.0.0.1 --admin-port "$APORT" && wait_port "$APORT" && break
	stop
done
is "$(code GET /healthz)" 404 "--admin-port: /healthz on the tang port is 404"
is "$(code GET /metrics)" 404 "... /metrics too"
is "$(code GET /adv)" 200 "... /adv is served there"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/healthz")" 200 "/healthz on the admin port: 200"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/metrics")" 200 "/metrics on the admin port: 200"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/adv")" 404 "/adv on the admin port: 404"
stop
start -q --no-admin
is "$(code GET /healthz) $(code GET /metrics) $(code GET /adv)" "404 404 200" "--no-admin: /healthz and /metrics 404, /adv 200"
stop
reply=$(printf 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n' |
	timeout $((20 * SLOW)) "$NBDE" tang-server -q "$DB" 2>/dev/null | tr -d '\r')
is "$(head -n 1 <<<"$reply") $(tail -n 1 <<<"$reply")" "HTTP/1.1 200 OK ok" "inetd mode: /healthz on the connection"
reply=$(printf 'GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n' |
	timeout $((20 * SLOW)) "$NBDE" tang-server -q "$DB" 2>/dev/null | tr -d '\r')
grep -q '^nbde_tang_build_info' <<<"$reply"
ok $? "inetd mode: /metrics on the connection"
run_fails "inetd mode refuses --admin-port" "$NBDE" tang-server --admin-port 1 "$DB" </dev/null

# ---- who may recover keys ----
start --allow 127.0.0.2 --allow 10.0.0.0/8
is "$(rec "$EXC" --interface 127.0.0.2)" 200 "--allow 127.0.0.2: /rec from 127.0.0.2 is 200"
is "$(rec "$EXC" --interface 127.0.0.3)" 403 "... from 127.0.0.3 is 403"
is "$(rec "$EXC" --interface 127.0.0.3)" 403 "... again 403"
is "$(rec "$EXC" --interface 127.0.0.3)" 403 "... and again 403"
is "$(code GET /adv --interface 127.0.0.3)" 200 "... /adv stays public"
scrape "$TMP/m1"
is "$(metric "$TMP/m1" 'nbde_tang_connections_rejected_total{reason="access_list"}')" 3 "3 denials counted (access_list)"
is "$(grep -c '^127.0.0.3: /rec/.* denied by the access rules' "$TMP/server.log")" 1 \
	"... logged once for the address within the minute"
stop
rec6() { # rec6 THP : status of a /rec from ::1 to [::1]
	curl -s -o /dev/null --max-time $((20 * SLOW)) -w '%{http_code}' -g --data-binary @"$TMP/client.pub.jwk" \
		"http://[::1]:$PORT/rec/$1"
}
if ! grep -qs '^0\{31\}1 ' /proc/net/if_inet6; then
	skip "no IPv6 loopback (::1) here"
	skip "no IPv6 loopback (::1) here"
else
	start -q -a ::1 --allow ::1 --allow 127.0.0.2
	is "$(rec6 "$EXC") $(rec "$EXC" --interface 127.0.0.3)" "200 403" "--allow ::1: a client on ::1 may, 127.0.0.3 not"
	stop
	start -q -a ::1 --allow 127.0.0.0/8
	is "$(rec6 "$EXC") $(rec "$EXC" --interface 127.0.0.3)" "403 200" "--allow 127.0.0.0/8: ::1 may not, 127.0.0.3 may"
	stop
fi
run_fails "--allow with host bits past the prefix is refused" "$NBDE" tang-server -l -p 1 --allow 10.0.0.1/8 "$DB"

# per-key rules and a file re-read on change
"$NBDE" tangd-keygen "$DB" sig2 exc2
EXC2=$(jose jwk thp -i "$DB/exc2.jwk")
EXC2_S1=$(jose jwk thp -a S1 -i "$DB/exc2.jwk")
printf '# the data centre may use every key\n127.0.0.2\n127.0.0.4/32 %s   # only the second key\n' "$EXC2_S1" \
	>"$TMP/allow"
start --allow-file "$TMP/allow"
is "$(rec "$EXC" --interface 127.0.0.2) $(rec "$EXC2" --interface 127.0.0.2)" "200 200" \
	"allow file: 127.0.0.2 may use both keys"
is "$(rec "$EXC2" --interface 127.0.0.4)" 200 "127.0.0.4 may use the key its rule names (by its S1 thumbprint)"
is "$(rec "$EXC" --interface 127.0.0.4)" 403 "... not the other one"
is "$(rec "$EXC" --interface 127.0.0.3)" 403 "127.0.0.3 has no rule: 403"
printf '127.0.0.3\n' >"$TMP/allow.new"
mv "$TMP/allow.new" "$TMP/allow"
is "$(rec "$EXC" --interface 127.0.0.3)" 200 "the file changed: 127.0.0.3 may now"
is "$(rec "$EXC" --interface 127.0.0.2)" 403 "... and 127.0.0.2 no longer"
printf '127.0.0.2/99\n' >"$TMP/allow.new"
mv "$TMP/allow.new" "$TMP/allow"
is "$(rec "$EXC" --interface 127.0.0.3)" 200 "a file that no longer parses keeps the rules it had"
grep -q 'line 1: not an address or CIDR range; keeping the previous access rules' "$TMP/server.log"
ok $? "... and says why"
: >"$TMP/allow.new"
mv "$TMP/allow.new" "$TMP/allow"
is "$(rec "$EXC" --interface 127.0.0.3)" 403 "an emptied file allows nobody (not everybody)"
stop
run_fails "a bad allow file at startup is an error" "$NBDE" tang-server -l -p 1 --allow-file "$TMP/missing" "$DB"
rm "$DB/sig2.jwk" "$DB/exc2.jwk"

# ---- PROXY protocol v2 ----
# proxy.pl LOCALADDR PORT CLIENT|- HOLD METHOD PATH [BODYFILE]: connects from
# LOCALADDR, sends a v2 header naming CLIENT (none for -), then the request;
# prints the status code, or "closed" when the server closed without one.
# HOLD 1: sends the header only and keeps the connection until stdin closes.
cat >"$TMP/proxy.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(inet_aton);
my ($la, $port, $client, $hold, $method, $path, $bodyfile) = @ARGV;
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => $la, Proto => 'tcp')
	or die "connect: $!";
if ($client ne '-') {
	my $addrs = inet_aton($client) . inet_aton('127.0.0.1') . pack('nn', 40000, $port);
	syswrite($c, "\r\n\r\n\0\r\nQUIT\n" . chr(0x21) . chr(0x11) . pack('n', length $addrs) . $addrs);
}
if ($hold) {
	print "held\n";
	STDOUT->flush();
	my $wait = <STDIN>;
	exit 0;
}
my $body = '';
if ($bodyfile) { local $/; open(my $f, '<', $bodyfile) or die; $body = <$f>; }
syswrite($c, "$method $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " . length($body) .
	"\r\n\r\n$body");
my $reply = '';
while (sysread($c, my $buf, 4096)) { $reply .= $buf; }
print $reply =~ m{^HTTP/1\.1 (\d+)} ? "$1\n" : "closed\n";
PERL
proxy() { timeout $((20 * SLOW)) perl "$TMP/proxy.pl" "$@" </dev/null; }

start --proxy-protocol-from 127.0.0.5 --allow 127.0.0.2 --max-per-address 1 -i 600
is "$(proxy 127.0.0.5 "$PORT" 127.0.0.2 0 POST "/rec/$EXC" "$TMP/client.pub.jwk")" 200 \
	"through the trusted balancer 127.0.0.5 for client 127.0.0.2: /rec 200"
is "$(proxy 127.0.0.5 "$PORT" 127.0.0.3 0 POST "/rec/$EXC" "$TMP/client.pub.jwk")" 403 \
	"... for client 127.0.0.3: 403 (the rules see the real client)"
grep -q '^127.0.0.3: /rec/.* denied' "$TMP/server.log" && grep -q '^127.0.0.2 POST /rec/' "$TMP/server.log"
ok $? "the log names the real clients"
is "$(proxy 127.0.0.5 "$PORT" - 0 GET /adv)" closed "the balancer without a header: closed, no reply"
is "$(proxy 127.0.0.6 "$PORT" 127.0.0.2 0 POST "/rec/$EXC" "$TMP/client.pub.jwk")" 400 \
	"a header from an untrusted address (127.0.0.6) is HTTP garbage: 400"
is "$(proxy 127.0.0.5 "$PORT" 127.0.0.2 0 GET /adv)" 200 "the balancer's /adv for a client: 200"
# the per-address limit (1) counts the client the header names, not the balancer
rm -f "$TMP/hold.in" "$TMP/hold.out"
mkfifo "$TMP/hold.in"
perl "$TMP/proxy.pl" 127.0.0.5 "$PORT" 127.0.0.9 1 <"$TMP/hold.in" >"$TMP/hold.out" &
HOLDER=$!
exec {hold_in}>"$TMP/hold.in"
for ((i = 0; i < 200 * SLOW; i++)); do grep -q held "$TMP/hold.out" 2>/dev/null && break; sleep 0.05; done
for ((i = 0; i < 200 * SLOW; i++)); do	# until the server has read the held header
	scrape "$TMP/m1" && [ "$(metric "$TMP/m1" nbde_tang_connections_open)" -ge 2 ] && break
	sleep 0.05
done
is "$(proxy 127.0.0.5 "$PORT" 127.0.0.9 0 GET /adv)" closed \
	"client 127.0.0.9 holds its one connection: a second one through the balancer is refused"
is "$(proxy 127.0.0.5 "$PORT" 127.0.0.10 0 GET /adv)" 200 "... client 127.0.0.10 is served through it"
exec {hold_in}>&-
wait "$HOLDER"
scrape "$TMP/m1"
is "$(metric "$TMP/m1" 'nbde_tang_connections_rejected_total{reason="proxy_header"}')" 1 "the missing header is counted"
[ "$(metric "$TMP/m1" 'nbde_tang_connections_rejected_total{reason="per_address"}')" -ge 1 ]
ok $? "the refused second connection is counted (per_address)"
stop
# a balancer that stalls inside its header gets the head deadline, not -i
start -q --proxy-protocol-from 127.0.0.5 --head-timeout 1 -i 600 -r 600
cat >"$TMP/stall.pl" <<'PERL'
use strict;
use warnings;
use IO::Socket::INET;
my ($port, $limit) = @ARGV;
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => '127.0.0.5', Proto => 'tcp')
	or die "connect: $!";
syswrite($c, "\r\n\r\n\0\r\nQU");	# 9 of the 16 bytes
$SIG{ALRM} = sub { print "still open\n"; exit 1; };
alarm $limit;
my $n = sysread($c, my $buf, 1);
print "closed\n";
PERL
is "$(perl "$TMP/stall.pl" "$PORT" $((20 * SLOW)))" closed "a PROXY header stalled after 9 bytes is closed by --head-timeout 1"
scrape "$TMP/m1"
is "$(metric "$TMP/m1" 'nbde_tang_connections_rejected_total{reason="head_timeout"}')" 1 "... counted as head_timeout"
stop
is "$SAN_REPORTS" 0 "no sanitizer report from any server run (when NBDE is a sanitizer build)"
run_fails "inetd mode refuses --proxy-protocol-from" "$NBDE" tang-server --proxy-protocol-from 127.0.0.5 "$DB" </dev/null

done_testing
