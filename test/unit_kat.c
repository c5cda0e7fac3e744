/* unit_kat.c - known answers from the RFCs: RFC 7515 A.3 (ES256) and A.4
 * (ES512) verification, RFC 7520 §4.3 (ES512), RFC 7518 Appendix C and
 * RFC 7520 §5.5 (ECDH-ES shared secret and Concat KDF), RFC 7638 §3.1
 * (thumbprint). Vectors are in kat_vectors.h. TAP on stdout. */
#include <string.h>

#include "../crypto/b64url.h"
#include "../crypto/ecmr.h"
#include "../crypto/alloc.h"
#include "../crypto/json.h"
#include "../crypto/jwk.h"
#include "../crypto/jws.h"
#include "../crypto/kdf.h"
#include "kat_vectors.h"
#include "tap.h"

static void verify_jws(const char *name, const char *jwk_text, const char *compact, const char *payload)
{
	AUTO_JSON jwk = json_parse_str(jwk_text);
	AUTO_JSON jws = jws_parse(compact, strlen(compact));
	AUTO_BUF p = { 0 };
	OK(jws && jwk && jws_verify(jws, jwk), "%s verifies", name);
	OK(jws && !jws_payload(jws, &p) && (!payload || (p.len == strlen(payload) && !memcmp(p.p, payload, p.len))),
	   "%s payload", name);
	/* One changed signature byte must fail. */
	AUTO_JSON bad = jws_parse(compact, strlen(compact));
	char *sig = bad ? (char *)json_get_str(bad, "signature") : NULL;
	if (sig)
		sig[5] = sig[5] == 'A' ? 'B' : 'A';
	OK(bad && !jws_verify(bad, jwk), "%s with a changed signature fails", name);
}

static void test_jws(void)
{
	verify_jws("RFC 7515 A.3 ES256", kat_rfc7515_a3_es256_jwk, kat_rfc7515_a3_es256_jws, NULL);
	verify_jws("RFC 7515 A.4 ES512", kat_rfc7515_a4_es512_jwk, kat_rfc7515_a4_es512_jws, kat_rfc7515_a4_payload);
	verify_jws("RFC 7520 4.3 ES512", kat_rfc7520_p521_pub_jwk, kat_rfc7520_4_3_es512_jws, kat_rfc7520_payload);
	AUTO_JSON other = json_parse_str(kat_rfc7520_p521_pub_jwk);
	AUTO_JSON jws = jws_parse(kat_rfc7515_a4_es512_jws, strlen(kat_rfc7515_a4_es512_jws));
	OK(!jws_verify(jws, other), "RFC 7515 A.4 does not verify with the RFC 7520 key");
	const char *err;
	AUTO_JSON k = json_parse_str(kat_rfc7520_p384_priv_jwk);
	AUTO_EC_KEY ek = ec_key_from_jwk(k, &err);
	OK(ek && ec_key_has_private(ek), "RFC 7520 5.4 P-384 private key validates (d matches)");
}

static void test_kdf(void)
{
	const char *err;
	AUTO_JSON bob = json_parse_str(kat_rfc7518_c_bob_jwk);
	AUTO_JSON epk = json_parse_str(kat_rfc7518_c_alice_epk_pub_jwk);
	AUTO_EC_KEY kb = ec_key_from_jwk(bob, &err);
	AUTO_JSON zpt = kb ? ecmr_mul(kb, epk, &err) : NULL;
	AUTO_BUF z = { 0 };
	unsigned char key[16];

	OK(zpt && !b64url_decode_str(json_get_str(zpt, "x"), &z) && z.len == 32 &&
	   !memcmp(z.p, kat_rfc7518_c_z, 32), "RFC 7518 C: Z = x(d_bob * epk_alice)");
	OK(!concat_kdf(kat_rfc7518_c_z, 32, "A128GCM", (const unsigned char *)"Alice", 5,
		       (const unsigned char *)"Bob", 3, key, 128) &&
	   !memcmp(key, kat_rfc7518_c_derived_key, 16), "RFC 7518 C: Concat KDF gives the derived key");

	AUTO_JSON rk = json_parse_str(kat_rfc7520_5_5_p256_jwk);
	AUTO_JSON ep = json_parse_str(kat_rfc7520_5_5_epk_jwk);
	AUTO_JSON eppub = jwk_public(ep);
	AUTO_EC_KEY kr = ec_key_from_jwk(rk, &err);
	AUTO_JSON z2 = kr ? ecmr_mul(kr, eppub, &err) : NULL;
	AUTO_BUF zz = { 0 };
	AUTO_BUF cek = { 0 };
	unsigned char k2[32];
	OK(z2 && !b64url_decode_str(json_get_str(z2, "x"), &zz) &&
	   !concat_kdf(zz.p, zz.len, "A128CBC-HS256", NULL, 0, NULL, 0, k2, 256) &&
	   !b64url_decode_str(kat_rfc7520_5_5_cek_b64u, &cek) && cek.len == 32 && !memcmp(k2, cek.p, 32),
	   "RFC 7520 5.5: ECDH-ES CEK from the static key and the ephemeral key");
}

static void test_thumbprint(void)
{
	AUTO_JSON k = json_parse_str(kat_rfc7638_rsa_jwk);
	AUTO_FREE char *t = jwk_thumbprint(k, "S256");
	OK(t && !strcmp(t, kat_rfc7638_thumbprint_s256), "RFC 7638 3.1 thumbprint");
}

int main(void)
{
	crypto_init();
	test_jws();
	test_kdf();
	test_thumbprint();
	return tap_done();
}
