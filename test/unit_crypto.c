/* unit_crypto.c - unit and negative tests of the JOSE/ECMR core: base64url,
 * canonical JSON, JWK, JWS, JWE, ECMR algebra. Known answers from the RFCs
 * are in unit_kat.c. TAP on stdout. */
#include <stdlib.h>
#include <string.h>

#include "../crypto/b64url.h"
#include "../crypto/cfb.h"
#include "../crypto/ecdh.h"
#include "../crypto/ecmr.h"
#include "../crypto/hash.h"
#include "../crypto/kdf.h"
#include "../crypto/alloc.h"
#include "../crypto/json.h"
#include "../crypto/jwe.h"
#include "../crypto/jwk.h"
#include "../crypto/jws.h"
#include "tap.h"

static void test_b64url(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" },
	};
	static const char *bad[] = { "Zg==", "Zm+v", "Zm/v", "Zm 9v", "Z", "Zh", "Zm9v\n", "Zm9=", "Zm8=" };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		AUTO_FREE char *e = b64url_encode(v[i].in, strlen(v[i].in));
		AUTO_BUF d = { 0 };
		OK(e && !strcmp(e, v[i].out), "b64url encodes '%s' as '%s'", v[i].in, v[i].out);
		OK(!b64url_decode_str(v[i].out, &d) && d.len == strlen(v[i].in) && !memcmp(d.p, v[i].in, d.len),
		   "b64url decodes '%s'", v[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		AUTO_BUF d = { 0 };
		OK(b64url_decode_str(bad[i], &d) == -1 && !d.p, "b64url rejects '%s'", bad[i]);
	}
}

static void canon_is(const char *in, const char *want)
{
	AUTO_JSON v = json_parse_str(in);
	AUTO_FREE char *s = v ? json_canonical(v) : NULL;
	OK(s && !strcmp(s, want), "canonical form %s (got %s)", want, s ? s : "NULL");
}

static void test_json(void)
{
	static const char *bad[] = { "", "{", "{\"a\":1} x", "{\"a\":1,\"a\":2}", "[1,2", "nul", "{\"a\":\"\\ud800\"x}",
				     "{\"a\":{\"b\":1,\"b\":1}}" };
	long long n;

	canon_is("{\"b\":1, \"a\":\"x/y\",\"c\":[true,null,{\"z\":1,\"y\":2}]}",
		 "{\"a\":\"x/y\",\"b\":1,\"c\":[true,null,{\"y\":2,\"z\":1}]}");
	canon_is("{\"k\":\"a\\u0001\\n\\\"\\\\\"}", "{\"k\":\"a\\u0001\\n\\\"\\\\\"}");
	canon_is("{\"Z\":0,\"_\":0,\"a\":-5,\"B\":[]}", "{\"B\":[],\"Z\":0,\"_\":0,\"a\":-5}");
	canon_is("  [1, 2.5, \"\xc3\xa9\"]\n", "[1,2.5,\"\xc3\xa9\"]");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		AUTO_JSON v = json_parse_str(bad[i]);
		OK(!v, "JSON parser rejects '%s'", bad[i]);
	}
	AUTO_JSON o = json_parse_str("{\"t\":2,\"h\":1e300,\"f\":1.5,\"s\":\"2\",\"neg\":-1}");
	OK(o && json_get_int(o, "t", 1, 10, &n) && n == 2, "json_get_int reads an integer");
	OK(!json_get_int(o, "h", 1, 10, &n), "json_get_int rejects a huge number");
	OK(!json_get_int(o, "f", 1, 10, &n), "json_get_int rejects a fraction");
	OK(!json_get_int(o, "s", 1, 10, &n), "json_get_int rejects a string");
	OK(!json_get_int(o, "neg", 1, 10, &n), "json_get_int rejects out of range");
}

static cJSON *gen(const char *tmpl)
{
	const char *err;
	AUTO_JSON t = json_parse_str(tmpl);
	return jwk_generate(t, &err);
}

static void set_b64_byte_flip(cJSON *jwk, const char *name)
{
	AUTO_BUF b = { 0 };
	b64url_decode_str(json_get_str(jwk, name), &b);
	b.p[b.len - 1] ^= 1;
	AUTO_FREE char *s = b64url_encode(b.p, b.len);
	json_set_str(jwk, name, s);
}

static void test_jwk(void)
{
	static const char *const tmpls[] = { "{\"alg\":\"ES256\"}", "{\"alg\":\"ES384\"}", "{\"alg\":\"ES512\"}",
					     "{\"alg\":\"ECMR\"}", "{\"alg\":\"ECMR\",\"crv\":\"P-256\"}" };
	static const char *const crvs[] = { "P-256", "P-384", "P-521", "P-521", "P-256" };
	static const size_t thp_len[] = { 27, 38, 43, 64, 86 };
	static const char *const hashes[] = { "S1", "S224", "S256", "S384", "S512" };
	const char *err;

	for (size_t i = 0; i < 5; i++) {
		AUTO_JSON_SECRET k = gen(tmpls[i]);
		AUTO_EC_KEY e = k ? ec_key_from_jwk(k, &err) : NULL;
		OK(k && e && ec_key_has_private(e) && !strcmp(ec_key_crv(e), crvs[i]),
		   "generate %s gives a valid %s private key", tmpls[i], crvs[i]);
		AUTO_JSON pub = jwk_public(k);
		OK(pub && !cJSON_GetObjectItem(pub, "d"), "public part of %s has no d", tmpls[i]);
		const cJSON *ops = cJSON_GetObjectItem(pub, "key_ops");
		OK(i >= 3 ? json_array_has_str(ops, "deriveKey") : (json_array_has_str(ops, "verify") &&
								   !json_array_has_str(ops, "sign")),
		   "public key_ops of %s", tmpls[i]);
		for (size_t h = 0; h < 5 && i == 2; h++) {
			AUTO_FREE char *t = jwk_thumbprint(k, hashes[h]);
			AUTO_FREE char *tp = jwk_thumbprint(pub, hashes[h]);
			OK(t && strlen(t) == thp_len[h] && !strcmp(t, tp), "%s thumbprint has %zu chars, same for public",
			   hashes[h], thp_len[h]);
			OK(jwk_thumbprint_matches(pub, t), "thumbprint %s matches", hashes[h]);
		}
	}

	AUTO_JSON_SECRET k = gen("{\"alg\":\"ES512\"}");
	struct { const char *what; void (*mutate)(cJSON *); } cases[] = { { 0, 0 } };
	(void)cases;
	/* Off-curve: flip a bit of y. */
	AUTO_JSON off = jwk_public(k);
	set_b64_byte_flip(off, "y");
	OK(!ec_key_from_jwk(off, &err) && strstr(err, "curve"), "off-curve point rejected: %s", err);
	/* Wrong curve label. */
	AUTO_JSON wc = jwk_public(k);
	json_set_str(wc, "crv", "P-384");
	OK(!ec_key_from_jwk(wc, &err), "P-521 point labelled P-384 rejected: %s", err);
	/* d that does not match. */
	AUTO_JSON_SECRET dm = cJSON_Duplicate(k, 1);
	set_b64_byte_flip(dm, "d");
	OK(!ec_key_from_jwk(dm, &err) && strstr(err, "d"), "mismatching d rejected: %s", err);
	/* Truncated coordinate, padding, wrong types. */
	AUTO_JSON tr = jwk_public(k);
	char x[100];
	snprintf(x, sizeof(x), "%s", json_get_str(tr, "x"));
	x[strlen(x) - 4] = 0;
	json_set_str(tr, "x", x);
	OK(!ec_key_from_jwk(tr, &err), "short x rejected: %s", err);
	AUTO_JSON ty = jwk_public(k);
	json_set(ty, "y", cJSON_CreateNumber(5));
	OK(!ec_key_from_jwk(ty, &err), "numeric y rejected: %s", err);
	AUTO_JSON kt = jwk_public(k);
	json_set_str(kt, "kty", "ec");
	OK(!ec_key_from_jwk(kt, &err), "kty 'ec' rejected: %s", err);
	AUTO_JSON zero = json_parse_str("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
					"\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
	OK(!ec_key_from_jwk(zero, &err), "point (0,0) rejected: %s", err);
	AUTO_JSON arr = json_parse_str("[]");
	OK(!ec_key_from_jwk(arr, &err), "JSON array as JWK rejected: %s", err);

	AUTO_JSON perm = json_parse_str("{\"kty\":\"EC\"}");
	OK(jwk_allows(perm, "deriveKey", false) && !jwk_allows(perm, "deriveKey", true), "permission without key_ops/use");
	AUTO_JSON use = json_parse_str("{\"use\":\"sig\"}");
	OK(jwk_allows(use, "verify", true) && !jwk_allows(use, "deriveKey", false), "use sig maps to verify only");
	AUTO_JSON ops = json_parse_str("{\"key_ops\":[]}");
	OK(!jwk_allows(ops, "deriveKey", false), "empty key_ops permits nothing");
}

static void test_ecmr(void)
{
	const char *err;
	static const char *const crvs[] = { "P-256", "P-384", "P-521" };

	for (int i = 0; i < 3; i++) {
		char t[64];
		snprintf(t, sizeof(t), "{\"alg\":\"ECMR\",\"crv\":\"%s\"}", crvs[i]);
		AUTO_JSON_SECRET s = gen(t);
		AUTO_JSON_SECRET c = gen(t);
		AUTO_JSON_SECRET e = gen(t);
		AUTO_JSON S = jwk_public(s);
		AUTO_JSON C = jwk_public(c);
		AUTO_JSON E = jwk_public(e);
		AUTO_EC_KEY ks = ec_key_from_jwk(s, &err);
		AUTO_EC_KEY kc = ec_key_from_jwk(c, &err);
		AUTO_EC_KEY ke = ec_key_from_jwk(e, &err);
		/* Client binding: K = c·S. Recovery: X = C + E, Y = s·X, K = Y − e·S. */
		AUTO_JSON K = ecmr_mul(kc, S, &err);
		AUTO_JSON X = ecmr_add(C, E, &err);
		AUTO_JSON Y = ecmr_mul(ks, X, &err);
		AUTO_JSON eS = ecmr_mul(ke, S, &err);
		AUTO_JSON K2 = ecmr_sub(Y, eS, &err);
		OK(K && K2 && !strcmp(json_get_str(K, "x"), json_get_str(K2, "x")) &&
		   !strcmp(json_get_str(K, "y"), json_get_str(K2, "y")), "McCallum-Relyea recovers c*S on %s", crvs[i]);
		AUTO_JSON Z = ecmr_sub(C, C, &err);
		OK(!Z, "C - C (infinity) is refused on %s", crvs[i]);
		AUTO_JSON D = ecmr_add(C, C, &err);
		AUTO_JSON D2 = ecmr_sub(D, C, &err);
		OK(D2 && !strcmp(json_get_str(D2, "x"), json_get_str(C, "x")), "(C + C) - C = C on %s", crvs[i]);
	}
	AUTO_JSON_SECRET a = gen("{\"alg\":\"ECMR\"}");
	AUTO_JSON_SECRET b = gen("{\"alg\":\"ECMR\",\"crv\":\"P-256\"}");
	AUTO_EC_KEY ka = ec_key_from_jwk(a, &err);
	AUTO_JSON B = jwk_public(b);
	AUTO_JSON r = ecmr_mul(ka, B, &err);
	OK(!r, "P-256 point into a P-521 multiplication is refused: %s", err);
	AUTO_JSON A = jwk_public(a);
	AUTO_JSON r2 = ecmr_add(A, B, &err);
	OK(!r2, "adding points of different curves is refused: %s", err);
	AUTO_EC_KEY kpub = ec_key_from_jwk(A, &err);
	AUTO_JSON r3 = ecmr_mul(kpub, A, &err);
	OK(!r3, "multiplication by a public-only key is refused");
}

static void test_jws(void)
{
	static const char *const t[] = { "{\"alg\":\"ES256\"}", "{\"alg\":\"ES384\"}", "{\"alg\":\"ES512\"}" };
	const char *err, *payload = "{\"keys\":[]}";
	AUTO_JSON tmpl = json_parse_str("{\"cty\":\"jwk-set+json\"}");

	for (int i = 0; i < 3; i++) {
		AUTO_JSON_SECRET k = gen(t[i]);
		AUTO_JSON_SECRET other = gen(t[i]);
		AUTO_EC_KEY ek = ec_key_from_jwk(k, &err);
		struct ec_key *keys[1] = { ek };
		AUTO_JSON jws = jws_sign(payload, strlen(payload), tmpl, keys, 1, &err);
		AUTO_JSON pub = jwk_public(k);
		AUTO_JSON opub = jwk_public(other);
		OK(jws && json_get_str(jws, "signature") && !json_get_arr(jws, "signatures"), "%s: flattened JWS", t[i]);
		OK(jws_verify(jws, pub), "%s: verifies with its key", t[i]);
		OK(!jws_verify(jws, opub), "%s: does not verify with another key", t[i]);
		AUTO_FREE char *c = jws_compact(jws);
		AUTO_JSON back = c ? jws_parse(c, strlen(c)) : NULL;
		OK(back && jws_verify(back, pub), "%s: compact round trip verifies", t[i]);
		AUTO_FREE char *p2 = b64url_encode("{\"keys\":[1]}", 12);
		json_set_str(jws, "payload", p2);
		OK(!jws_verify(jws, pub), "%s: changed payload fails", t[i]);
	}
	AUTO_JSON_SECRET k1 = gen("{\"alg\":\"ES512\"}");
	AUTO_JSON_SECRET k2 = gen("{\"alg\":\"ES256\"}");
	AUTO_JSON_SECRET k3 = gen("{\"alg\":\"ES512\"}");
	AUTO_EC_KEY e1 = ec_key_from_jwk(k1, &err);
	AUTO_EC_KEY e2 = ec_key_from_jwk(k2, &err);
	struct ec_key *keys[2] = { e1, e2 };
	AUTO_JSON g = jws_sign(payload, strlen(payload), tmpl, keys, 2, &err);
	AUTO_JSON all = cJSON_CreateArray();
	cJSON_AddItemToArray(all, jwk_public(k1));
	cJSON_AddItemToArray(all, jwk_public(k2));
	OK(g && cJSON_GetArraySize(json_get_arr(g, "signatures")) == 2, "two keys give a general JWS");
	OK(jws_verify_all(g, all), "every key signed the general JWS");
	cJSON_AddItemToArray(all, jwk_public(k3));
	OK(!jws_verify_all(g, all), "a key that did not sign makes verify_all fail");
	AUTO_JSON garbage = jws_parse("a.b", 3);
	OK(!garbage, "two-part compact JWS rejected");
	AUTO_JSON sig_short = jws_parse("eyJhbGciOiJFUzUxMiJ9.e30.AAAA", 29);
	AUTO_JSON p1 = jwk_public(k1);
	OK(sig_short && !jws_verify(sig_short, p1), "short signature does not verify");
}

static void test_jwe(void)
{
	static const char *const t[] = { "{\"alg\":\"ECMR\",\"crv\":\"P-256\"}", "{\"alg\":\"ECMR\",\"crv\":\"P-384\"}",
					 "{\"alg\":\"ECMR\"}", "{\"alg\":\"A256GCM\"}" };
	const char *err, *msg = "attack at dawn";
	AUTO_JSON hdr = json_parse_str("{\"kid\":\"x\",\"clevis\":{\"pin\":\"test\"}}");

	for (int i = 0; i < 4; i++) {
		AUTO_JSON_SECRET k = gen(t[i]);
		AUTO_JSON pub = i < 3 ? jwk_public(k) : cJSON_Duplicate(k, 1);
		AUTO_JWE j = { 0 };
		AUTO_BUF pt = { 0 };
		OK(!jwe_encrypt(&j, hdr, pub, msg, strlen(msg), &err), "%s: encrypt", t[i]);
		AUTO_FREE char *c = jwe_compact(&j);
		AUTO_JWE back = { 0 };
		OK(c && !jwe_parse(c, strlen(c), &back, &err) && !jwe_decrypt(&back, k, &pt, &err) &&
		   pt.len == strlen(msg) && !memcmp(pt.p, msg, pt.len), "%s: compact round trip", t[i]);
		AUTO_JSON flat = jwe_flattened(&j);
		AUTO_JWE fb = { 0 };
		AUTO_BUF pt2 = { 0 };
		OK(flat && !jwe_from_json(flat, &fb, &err) && !jwe_decrypt(&fb, k, &pt2, &err) && pt2.len == strlen(msg),
		   "%s: flattened round trip", t[i]);
		/* Forged tag: no plaintext. */
		AUTO_BUF pt3 = { 0 };
		back.tag.p[0] ^= 1;
		OK(jwe_decrypt(&back, k, &pt3, &err) && !pt3.p && strstr(err, "tag"), "%s: forged tag refused, no plaintext",
		   t[i]);
		back.tag.p[0] ^= 1;
		back.ct.p[0] ^= 1;
		OK(jwe_decrypt(&back, k, &pt3, &err) && !pt3.p, "%s: changed ciphertext refused", t[i]);
		back.ct.p[0] ^= 1;
		AUTO_JSON_SECRET other = gen(t[i]);
		OK(jwe_decrypt(&back, other, &pt3, &err) && !pt3.p, "%s: other key refused", t[i]);
	}
	static const char *const bad[] = { "", "a.b.c.d", "a.b.c.d.e.f", "e30....", "!!.x.y.z.w", "{\"protected\":5}",
					   "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		AUTO_JWE j = { 0 };
		AUTO_BUF pt = { 0 };
		AUTO_JSON_SECRET k = gen("{\"alg\":\"A256GCM\"}");
		int r = jwe_parse(bad[i], strlen(bad[i]), &j, &err);
		if (!r)
			r = jwe_decrypt(&j, k, &pt, &err);
		OK(r && !pt.p, "malformed JWE '%s' refused", bad[i]);
	}
}

static void unhex_to(const char *h, unsigned char *out)
{
	for (size_t i = 0; h[2 * i]; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static bool is_hex(const unsigned char *p, size_t n, const char *hex)
{
	char h[2 * HASH_MAX_LEN * 2 + 1];

	if (2 * n >= sizeof(h) || strlen(hex) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", p[i]);
	return !strcmp(h, hex);
}

/* HMAC: RFC 4231 test case 2; KDFa (TPM 2.0 Part 1 §11.4.10.2): answers of
 * an independent implementation (Python's hmac) of the same formula. */
static void test_hmac_kdfa(void)
{
	unsigned char out[HASH_MAX_LEN * 2], u[32], u20[20], v20[20], k20[20];
	struct hash_part parts[] = { { "what do ya ", 11 }, { "", 0 }, { "want for nothing?", 17 } };

	OK(hash_hmac("S256", "Jefe", 4, parts, 3, out) == 32 &&
	   is_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	   "HMAC-SHA-256 of parts equals RFC 4231 test case 2");
	OK(hash_hmac("S7", "k", 1, parts, 3, out) == 0, "an unknown hash gives no HMAC");
	for (int i = 0; i < 32; i++)
		u[i] = (unsigned char)i;
	OK(kdfa("S256", "1234", 4, "nbde tpm2pin", u, 32, NULL, 0, out, 256) == 0 &&
	   is_hex(out, 32, "2306884fac7f26aeac7a530ada84e8d7c43c3db132a7eb9690df853d7cda6225"),
	   "KDFa(sha256, 256 bits) equals the reference answer");
	for (int i = 0; i < 20; i++)
		k20[i] = (unsigned char)i, u20[i] = 0x11, v20[i] = 0x22;
	OK(kdfa("S1", k20, 20, "ATH", u20, 20, v20, 20, out, 320) == 0 &&
	   is_hex(out, 40, "948601d74f89e4646c64db5d31829936cc8b4916caf320fc7c2ecfaa61025671cd86bcd43ba1b021"),
	   "KDFa(sha1, 320 bits: two rounds, both contexts) equals the reference answer");
	OK(kdfa("S256", "k", 1, "L", NULL, 0, NULL, 0, out, 12) == -1, "KDFa refuses a bit count not a multiple of 8");

	/* KDFe (Part 1 §11.4.10.3): H(i ‖ Z ‖ label ‖ 0 ‖ U ‖ V), Python's hashlib as the reference */
	unsigned char z[32], pu[32], pv[32];
	for (int i = 0; i < 32; i++)
		z[i] = (unsigned char)i, pu[i] = 0x11, pv[i] = 0x22;
	OK(kdfe("S256", z, 32, "SECRET", pu, 32, pv, 32, out, 256) == 0 &&
	   is_hex(out, 32, "c21be073521259773cab940e5cbd0a66105a8da939b0b3ae13b7d7a37555b3e3"),
	   "KDFe(sha256, 256 bits) equals the reference answer");
	OK(kdfe("S1", z, 32, "SECRET", pu, 32, pv, 32, out, 320) == 0 &&
	   is_hex(out, 40, "d0fbaf6ab96ff24ab480517512e68a79ecf3ead3bd0b30891bc2156aff35fff54ac9e28b0e7be50e"),
	   "KDFe(sha1, 320 bits: two rounds) equals the reference answer");
	static unsigned char big[KDFE_MAX_INPUT];
	OK(kdfe("S256", big, sizeof(big), "SECRET", NULL, 0, NULL, 0, out, 256) == -1, "KDFe refuses an oversized input");
}

/* AES-128-CFB: NIST SP 800-38A F.3.13 (CFB128-AES128.Encrypt), and a
 * partial last block against `openssl enc -aes-128-cfb`. */
static void test_cfb(void)
{
	unsigned char key[16], iv[16], buf[32];
	static const char pt[] = "hello world, twenty-one!";

	unhex_to("2b7e151628aed2a6abf7158809cf4f3c", key);
	unhex_to("000102030405060708090a0b0c0d0e0f", iv);
	unhex_to("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", buf);
	OK(aes128_cfb(key, iv, buf, 32, true) == 0 &&
	   is_hex(buf, 32, "3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"),
	   "AES-128-CFB encrypts SP 800-38A's two blocks to its answer");
	OK(aes128_cfb(key, iv, buf, 32, false) == 0 &&
	   is_hex(buf, 32, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"),
	   "and decrypts them back");
	memcpy(buf, pt, 24);
	OK(aes128_cfb(key, iv, buf, 24, true) == 0 && is_hex(buf, 24, "389b0ba0f64d45d9a86553c5bbdb9b05dc0404c6e8dd8a73"),
	   "a partial last block as openssl enc -aes-128-cfb");
}

/* ECDH for the TPM's salted sessions: the P-256 generator as the peer
 * gives Z = x of e·G = the ephemeral public x; points off the curve are
 * refused. (The TPM accepting nbde's salted sessions checks Z for real.) */
static void test_ecdh_p256(void)
{
	static const char gx[] = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
	static const char gy[] = "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
	unsigned char qx[32], qy[32], ex[32], ey[32], z[32];

	for (int i = 0; i < 32; i++) {
		sscanf(gx + 2 * i, "%2hhx", &qx[i]);
		sscanf(gy + 2 * i, "%2hhx", &qy[i]);
	}
	OK(ecdh_p256_ephemeral(qx, qy, ex, ey, z) == 0 && !memcmp(z, ex, 32), "ECDH with G as the peer: Z = e·G's x");
	unsigned char ex2[32];
	memcpy(ex2, ex, 32);
	OK(ecdh_p256_ephemeral(qx, qy, ex, ey, z) == 0 && memcmp(ex, ex2, 32), "each call makes a fresh ephemeral key");
	qy[31] ^= 1;
	OK(ecdh_p256_ephemeral(qx, qy, ex, ey, z) == -1, "a point off the curve is refused");
	memset(qx, 0, 32);
	memset(qy, 0, 32);
	OK(ecdh_p256_ephemeral(qx, qy, ex, ey, z) == -1, "the point (0, 0) is refused");
}

int main(void)
{
	crypto_init();
	test_b64url();
	test_json();
	test_jwk();
	test_ecmr();
	test_jws();
	test_jwe();
	test_hmac_kdfa();
	test_ecdh_p256();
	test_cfb();
	return tap_done();
}
