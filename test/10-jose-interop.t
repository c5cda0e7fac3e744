#!/usr/bin/env bash
# 10-jose-interop.t - the JOSE/ECMR core against Debian's jose CLI: keys,
# thumbprints, JWS and JWE made by one are read by the other, and ECMR
# exchanges give exactly `jose jwk exc`'s output.
. "$(dirname "$0")/lib.sh"
need jose
[ -x "$JOSETOOL" ] || skip_all "josetool not built ($JOSETOOL)"
J=$JOSETOOL
cd "$TMP"

strip_ecmr() { sed 's/"alg":"ECMR",//; s/"key_ops":\["deriveKey"\],//'; }

# Keys: jose-made keys validate in nbde and the reverse; thumbprints agree.
for alg in ES256 ES384 ES512 ECMR; do
	jose jwk gen -i "{\"alg\":\"$alg\"}" -o jose-$alg.jwk
	"$J" gen "{\"alg\":\"$alg\"}" > nbde-$alg.jwk
	run_ok "$alg: jose-made key validates in nbde" "$J" check < jose-$alg.jwk
	run_ok "$alg: nbde-made key is accepted by jose" jose jwk pub -i nbde-$alg.jwk -o /dev/null
	is "$("$J" canon < nbde-$alg.jwk | tr -d '\n')" "$(tr -d '\n' < nbde-$alg.jwk)" "$alg: nbde key file is canonical"
	is "$("$J" pub < jose-$alg.jwk)" "$(jose jwk pub -i jose-$alg.jwk | "$J" canon)" "$alg: public part equals jose's"
	for h in S1 S224 S256 S384 S512; do
		is "$("$J" thp $h < nbde-$alg.jwk)" "$(jose jwk thp -i nbde-$alg.jwk -a $h)" "$alg: $h thumbprint equals jose's"
	done
done

# JWS both ways, flattened and general.
printf '{"keys":[]}' > payload
for alg in ES256 ES384 ES512; do
	jose jws sig -I payload -k jose-$alg.jwk -o jose.jws
	jose jwk pub -i jose-$alg.jwk -o jose-$alg.pub
	run_ok "$alg: jose JWS verifies in nbde" "$J" verify jose.jws jose-$alg.pub
	run_fails "$alg: jose JWS does not verify with another key" "$J" verify jose.jws nbde-$alg.jwk
	"$J" sign nbde-$alg.jwk < payload > nbde.jws
	run_ok "$alg: nbde JWS verifies in jose" jose jws ver -i nbde.jws -k nbde-$alg.jwk
	is "$(jose jws ver -i nbde.jws -k nbde-$alg.jwk -O-)" '{"keys":[]}' "$alg: jose reads nbde's payload"
done
"$J" sign nbde-ES512.jwk nbde-ES256.jwk < payload > general.jws
run_ok "general JWS by two nbde keys verifies in jose with -a" \
	jose jws ver -a -i general.jws -k nbde-ES512.jwk -k nbde-ES256.jwk
jose jws sig -I payload -k jose-ES512.jwk -k jose-ES384.jwk -o jgeneral.jws
run_ok "general JWS by two jose keys verifies in nbde for both" "$J" verify jgeneral.jws jose-ES512.jwk jose-ES384.jwk
run_fails "general JWS does not verify for a key that did not sign" "$J" verify jgeneral.jws jose-ES512.jwk jose-ES256.jwk

# JWE: ECDH-ES + A256GCM and dir + A256GCM, both directions, compact and JSON.
printf 'the secret' > pt
for crv in P-256 P-384 P-521; do
	"$J" gen "{\"alg\":\"ECMR\",\"crv\":\"$crv\"}" | strip_ecmr > rk.jwk
	"$J" pub < rk.jwk > rk.pub
	jose jwe enc -i '{"protected":{"alg":"ECDH-ES","enc":"A256GCM"}}' -I pt -k rk.pub -c > jose.jwe
	is "$("$J" dec rk.jwk < jose.jwe)" "the secret" "$crv: jose compact ECDH-ES JWE decrypts in nbde"
	jose jwe enc -i '{"protected":{"alg":"ECDH-ES","enc":"A256GCM"}}' -I pt -k rk.pub > jose-json.jwe
	is "$("$J" dec rk.jwk < jose-json.jwe)" "the secret" "$crv: jose JSON ECDH-ES JWE (epk unprotected) decrypts in nbde"
	"$J" enc '{"kid":"k1"}' rk.pub < pt > nbde.jwe
	is "$(jose jwe dec -i nbde.jwe -k rk.jwk)" "the secret" "$crv: nbde ECDH-ES JWE decrypts in jose"
done
jose jwk gen -i '{"alg":"A256GCM"}' -o oct.jwk
"$J" enc '{}' oct.jwk < pt > dir.jwe
is "$(jose jwe dec -i dir.jwe -k oct.jwk)" "the secret" "dir JWE by nbde decrypts in jose"
jose jwe enc -i '{"protected":{"alg":"dir","enc":"A256GCM"}}' -I pt -k oct.jwk -c > jdir.jwe
is "$("$J" dec oct.jwk < jdir.jwe)" "the secret" "dir JWE by jose decrypts in nbde"

# Forged tag: no plaintext, non-zero exit.
forged=$(awk -F. '{ t=$5; c=substr(t,1,1); c=(c=="A")?"B":"A"; print $1"."$2"."$3"."$4"."c substr(t,2) }' jdir.jwe)
printf '%s' "$forged" > forged.jwe
"$J" dec oct.jwk < forged.jwe > forged.out 2>/dev/null
rc=$?
[ $rc -eq 1 ] && [ ! -s forged.out ]
ok $? "forged GCM tag: exit 1 and no plaintext released"

# ECMR: nbde exchange equals `jose jwk exc` byte for byte (mul, add, sub).
T='{"alg":"ECMR","key_ops":["deriveKey"]}'
jose jwk gen -i '{"alg":"ECMR"}' -o srv.jwk
jose jwk gen -i '{"alg":"ECMR"}' -o cli.jwk
jose jwk pub -i srv.jwk -o srv.pub
jose jwk pub -i cli.jwk -o cli.pub
is "$("$J" exc cli.jwk srv.pub)" "$(jose jwk exc -i "$T" -l cli.jwk -r srv.pub)" "ECMR d*P equals jose jwk exc"
is "$("$J" exc cli.pub srv.jwk)" "$(jose jwk exc -i "$T" -l cli.pub -r srv.jwk)" "ECMR A+B equals jose jwk exc"
is "$("$J" exc cli.pub srv.pub)" "$(jose jwk exc -i "$T" -l cli.pub -r srv.pub)" "ECMR A-B equals jose jwk exc"
"$J" gen '{"alg":"ECMR","crv":"P-256"}' > p256.jwk
run_fails "ECMR refuses a P-256 point against a P-521 key" "$J" exc srv.jwk p256.jwk
sed 's/"y":"A/"y":"B/' srv.pub > off.pub
run_fails "ECMR refuses an off-curve point" "$J" exc cli.jwk off.pub

done_testing
