#!/usr/bin/env bash
# sss-unlock.sh - sss (t=1) of two tang servers with one of them blackholed:
# nbde against clevis in the same run, on the same LUKS2 image and the same
# Debian tangd. Not part of make check.
#
# The blackhole is a port that takes TCP connections and never answers
# (where the kernel honours a full accept queue, new connections are not
# even accepted: the script says which one it got). Both servers were up at
# bind time.
#
# Compared, median wall time of RUNS runs each (every run checked):
#   decrypt: `nbde decrypt` vs `clevis decrypt` of the slot's JWE
#   unlock:  `nbde unlock --test` vs `clevis luks pass` (clevis's unlock
#            needs device-mapper; pass does the same decryption of the slot)
# clevis runs are cut at CAP seconds (then they count as CAP, and failed).
#
# usage: test/bench/sss-unlock.sh [RUNS]   (NBDE=path/to/nbde, default ./nbde; CAP=60)
set -u
RUNS=${1:-5}
CAP=${CAP:-60}
NBDE=${NBDE:-$PWD/nbde}
TANGD=/usr/libexec/tangd
for c in clevis socat cryptsetup perl "$TANGD" /usr/libexec/tangd-keygen "$NBDE"; do
	command -v "$c" >/dev/null || { echo "bench: $c is not installed" >&2; exit 1; }
done
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
wait_port() {
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
	return 1
}
tangd_on() { # tangd_on PORT DB : sets TANG_PID
	socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" EXEC:"$TANGD $2" </dev/null >/dev/null 2>&1 &
	TANG_PID=$!
}

mkdir "$TMP/a" "$TMP/b"
/usr/libexec/tangd-keygen "$TMP/a" && /usr/libexec/tangd-keygen "$TMP/b" || exit 1
PA=$(free_port) && PB=$(free_port) || exit 1
tangd_on "$PA" "$TMP/a"
PIDS+=("$TANG_PID")
tangd_on "$PB" "$TMP/b"
B=$TANG_PID
wait_port "$PA" && wait_port "$PB" || { echo "bench: tangd did not start" >&2; exit 1; }

IMG=$TMP/luks2.img
printf 'bench passphrase' >"$TMP/key"
truncate -s 32M "$IMG"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$TMP/key" "$IMG" || exit 1
# B first in the config: a client that asks the servers in order meets the blackhole first
CFG="{\"t\":1,\"pins\":{\"tang\":[{\"url\":\"http://127.0.0.1:$PB\"},{\"url\":\"http://127.0.0.1:$PA\"}]}}"
clevis luks bind -y -d "$IMG" -k "$TMP/key" sss "$CFG" </dev/null >/dev/null 2>&1 || { echo "bench: clevis luks bind failed" >&2; exit 1; }
cryptsetup token export --token-id 0 "$IMG" | jose fmt -j- -Og jwe -o- | jose jwe fmt -i- -c >"$TMP/jwe"
EXPECT=$(clevis luks pass -d "$IMG" -s 1)
[ ${#EXPECT} -gt 0 ] || { echo "bench: clevis cannot decrypt its own binding" >&2; exit 1; }

# --- blackhole server B ---
kill "$B"; wait "$B" 2>/dev/null
perl -MIO::Socket::INET -e '
	my $p = shift;
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $p, Listen => 0, ReuseAddr => 1)
		or die "listen: $!";
	# fill the accept queue: where the kernel honours it, further SYNs are dropped
	my @fill = map { IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $p, Blocking => 0) } 1 .. 4;
	sleep 100000;' "$PB" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
if timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PB" 2>/dev/null; then
	KIND="accepts connections, never answers"
else
	KIND="accepts no connection (SYNs dropped)"
fi
echo "server B (first in the sss config) blackholed: $KIND; server A answers"

# time_ms CMD... : wall time of one run in ms on stdout; status 0 when its output is right
time_ms() {
	local t0 out rc
	t0=$(date +%s%N)
	out=$(timeout "$CAP" "$@" 2>/dev/null)
	rc=$?
	echo $((($(date +%s%N) - t0) / 1000000))
	[ $rc -eq 0 ] && { [ -z "$WANT" ] || [ "$out" = "$WANT" ]; }
}
# median CMD... : "MEDIAN_MS FAILED_RUNS"
median() {
	local i t fails=0 times=()
	for i in $(seq "$RUNS"); do
		t=$(time_ms "$@") || fails=$((fails + 1))
		times+=("$t")
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | tr '\n' ' '
	echo "$fails"
}
report() { # report WHAT NBDE_RESULT CLEVIS_RESULT
	local n c nf cf
	read -r n nf <<<"$2"
	read -r c cf <<<"$3"
	printf '%-8s median of %d: nbde %6d ms (%d failed)   clevis %6d ms (%d failed)   clevis/nbde = %s\n' \
		"$1" "$RUNS" "$n" "$nf" "$c" "$cf" "$(awk -v a="$c" -v b="$n" 'BEGIN { printf "%.1f", b ? a / b : 0 }')"
}

WANT=$EXPECT
N=$(median sh -c "'$NBDE' decrypt <'$TMP/jwe'")
C=$(median sh -c "clevis decrypt <'$TMP/jwe'")
report decrypt "$N" "$C"
WANT=
N=$(median "$NBDE" unlock -d "$IMG" --test --timeout 30)
WANT=$EXPECT
C=$(median clevis luks pass -d "$IMG" -s 1)
report unlock "$N" "$C"
