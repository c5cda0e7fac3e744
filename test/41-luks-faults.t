#!/usr/bin/env bash
# 41-luks-faults.t - bind interrupted at each write to the disk, on LUKS1 and
# LUKS2 image files. strace injects the fault from outside (no test hooks in
# nbde): for every write syscall bind issues on the image (pwrite64, write,
# fsync), invocation N = 1..K is either
#   - failed (write: ENOSPC, fsync: EIO): bind must exit 1 and the image must
#     be byte-identical to before (the transaction restores its snapshot), or
#   - the process is SIGKILLed on entering it: nothing can roll back, yet the
#     old passphrase must still open the volume, the header must load, and
#     there must be no clevis token / LUKSMeta slot without its keyslot.
# After SIGKILL a new keyslot without its token / LUKSMeta slot may remain
# (killed between adding the keyslot and storing the JWE): its passphrase
# died with the process, so it opens nothing anybody knows; it only takes a
# keyslot (`cryptsetup luksKillSlot IMG N` frees it). A bind run again
# afterwards must succeed and unlock.
. "$(dirname "$0")/lib.sh"

need strace cryptsetup luksmeta perl cmp
[ -x "$NBDE" ] || skip_all "no nbde binary at $NBDE"
strace -f -qq -o /dev/null -e inject=getpid:error=EPERM:when=1 true 2>/dev/null ||
	skip_all "strace cannot trace here (ptrace not permitted?)"

printf 'old passphrase' >"$TMP/key"

old_opens() { cryptsetup open --test-passphrase --key-slot 0 --key-file "$TMP/key" "$1" 2>/dev/null; }

# orphans TYPE IMG : prints each clevis token / LUKSMeta slot whose keyslot
# does not exist (LUKS2: also clevis tokens listing no keyslot); exit 1 when
# the metadata cannot be read at all.
orphans() {
	if [ "$1" = luks1 ]; then
		local out
		out=$(luksmeta show -d "$2" 2>&1)
		case $? in
		0) printf '%s\n' "$out" | awk -v u="$CLEVIS_LUKSMETA_UUID" '$2 == "inactive" && $3 == u { print "luksmeta slot " $1 }' ;;
		72) ;;	# no LUKSMeta header (yet): no slot either
		*) echo "luksmeta show: $out" >&2; return 1 ;;
		esac
	else
		cryptsetup luksDump --dump-json-metadata "$2" 2>/dev/null | perl -MJSON::PP -e '
			my $h = decode_json(join "", <STDIN>);
			for my $id (sort keys %{$h->{tokens}}) {
				my $t = $h->{tokens}{$id};
				next unless $t->{type} eq "clevis";
				my @k = @{$t->{keyslots}};
				print "token $id (no keyslot)\n" unless @k;
				exists $h->{keyslots}{$_} or print "token $id (keyslot $_ missing)\n" for @k;
			}' || return 1
	fi
}

# keyslots IMG : the keyslots in use, e.g. "0 1"
keyslots() {
	cryptsetup luksDump "$1" 2>/dev/null |
		sed -nE 's/^Key Slot ([0-7]): ENABLED$/\1/p; s/^  ([0-9]+): luks2$/\1/p' | tr '\n' ' ' | sed 's/ $//'
}

BIND=(bind -d IMG -k "$TMP/key" null '{}')
bind_cmd() { local a=("${BIND[@]}"); a[2]=$1; "$NBDE" "${a[@]}"; }

# calls TYPE SYSCALL : how many times an undisturbed bind issues SYSCALL on the image
calls() {
	local img="$TMP/count.img"
	cp --sparse=always "$TMP/$1.orig" "$img"
	strace -f -qq -P "$img" -e trace="$2" -o "$TMP/count.trace" "$NBDE" "${BIND[@]/#IMG/$img}" >/dev/null 2>&1
	grep -c "^[0-9]* *$2(" "$TMP/count.trace"
}

for TYPE in luks1 luks2; do
	luks_image "$TYPE" "$TMP/$TYPE.orig" "$TMP/key" || { ok 1 "$TYPE: make an image"; continue; }
	# bind once undisturbed so the image also holds a binding (slot 1):
	# faults then hit a second bind (slot 2) next to an existing one
	"$NBDE" "${BIND[@]/#IMG/$TMP/$TYPE.orig}" >/dev/null 2>&1
	ok $? "$TYPE: a first bind without faults"
	for S in pwrite64 write fsync; do
		K=$(calls "$TYPE" "$S")
		[ "$K" -gt 0 ] || { echo "# $TYPE: bind issues no $S on the image"; continue; }
		case $S in fsync) ERR=EIO ;; *) ERR=ENOSPC ;; esac
		for N in $(seq "$K"); do
			for FAULT in "error=$ERR" signal=KILL; do
				IMG="$TMP/f.img"
				cp --sparse=always "$TMP/$TYPE.orig" "$IMG"
				D="$TYPE: $S #$N/$K $FAULT"
				# (in a subshell, which reports "Killed" to /dev/null)
				(strace -f -qq -o /dev/null -P "$IMG" -e trace="$S" -e inject="$S:$FAULT:when=$N" \
					"$NBDE" "${BIND[@]/#IMG/$IMG}" >/dev/null 2>"$TMP/err"; exit $?) 2>/dev/null
				rc=$?
				bound=$("$NBDE" list -d "$IMG" -p 2>&1)
				if [ "$FAULT" = signal=KILL ]; then
					is "$rc" 137 "$D: bind is killed"
					# killed at the last fsync, the new binding is all on disk already
					[ "$bound" = "1: null" ] || [ "$bound" = "$(printf '1: null\n2: null')" ]
					ok $? "$D: the first binding is intact, the second all there or not at all"
				elif [ "$rc" -eq 0 ]; then
					# libcryptsetup ignores the failure of some fsyncs: then
					# bind must have completed and verified the binding
					echo "# $D: the fault was ignored (by libcryptsetup) and bind completed"
					is "$bound" "$(printf '1: null\n2: null')" "$D: ... and both bindings are there"
				else
					is "$rc" 1 "$D: bind fails"
					grep -q 'cannot bind' "$TMP/err"
					ok $? "$D: ... saying so"
					cmp -s "$IMG" "$TMP/$TYPE.orig"
					ok $? "$D: ... and the image is byte-identical to before"
				fi
				old_opens "$IMG"
				ok $? "$D: the old passphrase still opens keyslot 0"
				o=$(orphans "$TYPE" "$IMG")
				r=$?
				is "$r:$o" "0:" "$D: no clevis metadata without its keyslot"
				if [ "$FAULT" = signal=KILL ]; then
					ks=$(keyslots "$IMG")
					n=$(printf '%s\n' "$bound" | wc -l)
					[ "$(echo "$ks" | wc -w)" -eq $((n + 1)) ] ||
						echo "# $D: left keyslots $ks for $n binding(s) (a keyslot without its JWE)"
					"$NBDE" "${BIND[@]/#IMG/$IMG}" >/dev/null 2>"$TMP/err" &&
						"$NBDE" unlock -d "$IMG" --test --timeout "$(t_isecs 5)" >/dev/null 2>&1 &&
						[ "$("$NBDE" list -d "$IMG" -p | wc -l)" -eq $((n + 1)) ]
					ok $? "$D: bind again works and unlocks"
				fi
			done
		done
	done
	# the fault tests can fail: a bind that is not interrupted changes the image
	IMG="$TMP/f.img"
	cp --sparse=always "$TMP/$TYPE.orig" "$IMG"
	strace -f -qq -o /dev/null -P "$IMG" -e trace=write "$NBDE" "${BIND[@]/#IMG/$IMG}" >/dev/null 2>&1
	cmp -s "$IMG" "$TMP/$TYPE.orig"
	is $? 1 "$TYPE: control: the same bind under strace without a fault changes the image"
done

done_testing
