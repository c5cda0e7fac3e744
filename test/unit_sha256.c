/* unit_sha256.c - the SHA-256 compression and PBKDF2-HMAC that
 * scripts/build-deps.sh compiles into libmbedcrypto.a
 * (crypto/mbedtls_alt/): NIST and RFC known answers through Mbed TLS's own
 * entry points with each implementation forced in turn, SHA-NI against the
 * portable code on random blocks, and the two-compression PBKDF2 against
 * one built from Mbed TLS's generic HMAC, for SHA-256 and the other hashes
 * a LUKS1 keyslot may name. TAP on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>

#include "../crypto/mbedtls_alt/sha256_compress.h"
#include "tap.h"

static void hex(char *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* FIPS 180-2 appendix B and the CAVS "abc"-family messages */
static const struct {
	const char *msg;
	size_t repeat;
	const char *sha256;
} nist[] = {
	{ "", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 1,
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	{ "a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
};

/* RFC 7914 section 11, PBKDF2-HMAC-SHA256 */
static const struct {
	const char *pass, *salt;
	unsigned iter;
	const char *dk;
} rfc7914[] = {
	{ "passwd", "salt", 1,
	  "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	  "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783" },
	{ "Password", "NaCl", 80000,
	  "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	  "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d" },
};

static void test_nist(const char *impl)
{
	unsigned char md[32];
	char got[65];

	for (size_t i = 0; i < sizeof(nist) / sizeof(nist[0]); i++) {
		size_t len = strlen(nist[i].msg);
		mbedtls_sha256_context c;

		mbedtls_sha256_init(&c);
		int ret = mbedtls_sha256_starts(&c, 0);
		/* the million a's go in uneven pieces, so blocks straddle updates */
		for (size_t r = 0; !ret && r < nist[i].repeat;) {
			size_t n = nist[i].repeat - r < 997 ? nist[i].repeat - r : 997;
			char *buf = malloc(n * len + 1);
			for (size_t k = 0; k < n; k++)
				memcpy(buf + k * len, nist[i].msg, len);
			ret = mbedtls_sha256_update(&c, (unsigned char *)buf, n * len);
			free(buf);
			r += n;
		}
		if (!ret)
			ret = mbedtls_sha256_finish(&c, md);
		mbedtls_sha256_free(&c);
		hex(got, md, 32);
		OK(!ret && !strcmp(got, nist[i].sha256), "%s: SHA-256 of %zu x '%.12s%s' (NIST)", impl,
		   nist[i].repeat, nist[i].msg, len > 12 ? "..." : "");
	}
	/* SHA-224 runs through the same compression */
	OK(!mbedtls_sha256((const unsigned char *)"abc", 3, md, 1) && (hex(got, md, 28), 1) &&
	   !strcmp(got, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
	   "%s: SHA-224 of 'abc' (NIST)", impl);
	/* RFC 4231 test case 2, through the md layer's HMAC */
	OK(!mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), (const unsigned char *)"Jefe", 4,
			    (const unsigned char *)"what do ya want for nothing?", 28, md) &&
	   (hex(got, md, 32), 1) &&
	   !strcmp(got, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	   "%s: HMAC-SHA256 (RFC 4231 case 2)", impl);
}

static void test_rfc7914(const char *impl)
{
	unsigned char dk[64];
	char got[129];

	for (size_t i = 0; i < sizeof(rfc7914) / sizeof(rfc7914[0]); i++) {
		int ret = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256,
							(const unsigned char *)rfc7914[i].pass, strlen(rfc7914[i].pass),
							(const unsigned char *)rfc7914[i].salt, strlen(rfc7914[i].salt),
							rfc7914[i].iter, sizeof(dk), dk);
		hex(got, dk, sizeof(dk));
		OK(!ret && !strcmp(got, rfc7914[i].dk), "%s: PBKDF2-HMAC-SHA256 P='%s' S='%s' c=%u (RFC 7914 11)",
		   impl, rfc7914[i].pass, rfc7914[i].salt, rfc7914[i].iter);
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next();
}

static void test_shani_vs_portable(void)
{
	int same = 1;

	for (int i = 0; i < 5000; i++) {
		uint32_t s1[8], s2[8];
		unsigned char block[64];

		fill((unsigned char *)s1, sizeof(s1));
		fill(block, sizeof(block));
		if (i == 0)	/* all bits set: every carry */
			memset(block, 0xff, sizeof(block)), memset(s1, 0xff, sizeof(s1));
		memcpy(s2, s1, sizeof(s1));
		sha256_compress_portable(s1, block);
		sha256_compress_shani(s2, block);
		same &= !memcmp(s1, s2, sizeof(s1));
	}
	OK(same, "SHA-NI and portable compression agree on 5000 random (state, block) pairs");

	same = 1;
	for (int i = 0; i < 2000; i++) {
		uint32_t u1[8], u2[8], t1[8], t2[8], in[8], out[8];

		fill((unsigned char *)u1, sizeof(u1));
		fill((unsigned char *)t1, sizeof(t1));
		fill((unsigned char *)in, sizeof(in));
		fill((unsigned char *)out, sizeof(out));
		memcpy(u2, u1, sizeof(u1));
		memcpy(t2, t1, sizeof(t1));
		sha256_hmac_iter_portable(u1, t1, in, out);
		sha256_hmac_iter_shani(u2, t2, in, out);
		same &= !memcmp(u1, u2, sizeof(u1)) && !memcmp(t1, t2, sizeof(t1));
	}
	OK(same, "SHA-NI and portable PBKDF2 iterations agree on 2000 random (U, T, pad states)");
}

/* PBKDF2 by its definition over Mbed TLS's one-shot HMAC (4 compressions an
 * iteration, a different code path from the pad-state one under test) */
static void pbkdf2_ref_md(mbedtls_md_type_t type, const unsigned char *p, size_t plen,
			  const unsigned char *s, size_t slen, unsigned iter, unsigned char *out, size_t klen)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(type);
	size_t hlen = mbedtls_md_get_size(md);
	unsigned char msg[200], u[64], t[64];

	for (uint32_t idx = 1; klen > 0; idx++) {
		memcpy(msg, s, slen);
		msg[slen] = (unsigned char)(idx >> 24);
		msg[slen + 1] = (unsigned char)(idx >> 16);
		msg[slen + 2] = (unsigned char)(idx >> 8);
		msg[slen + 3] = (unsigned char)idx;
		mbedtls_md_hmac(md, p, plen, msg, slen + 4, u);
		memcpy(t, u, hlen);
		for (unsigned n = 1; n < iter; n++) {
			mbedtls_md_hmac(md, p, plen, u, hlen, u);
			for (size_t k = 0; k < hlen; k++)
				t[k] ^= u[k];
		}
		size_t use = klen < hlen ? klen : hlen;
		memcpy(out, t, use);
		out += use;
		klen -= use;
	}
}

static void pbkdf2_ref(const unsigned char *p, size_t plen, const unsigned char *s, size_t slen,
		       unsigned iter, unsigned char *out, size_t klen)
{
	pbkdf2_ref_md(MBEDTLS_MD_SHA256, p, plen, s, slen, iter, out, klen);
}

static void test_pbkdf2_vs_definition(const char *impl)
{
	static const size_t plens[] = { 0, 1, 31, 32, 63, 64, 65, 100, 129 };
	static const size_t slens[] = { 0, 1, 16, 55, 56, 64, 100 };
	static const size_t klens[] = { 1, 31, 32, 33, 64, 65 };
	static const unsigned iters[] = { 1, 2, 3, 17 };
	unsigned char p[129], s[100], a[65], b[65];
	int same = 1, cases = 0;

	fill(p, sizeof(p));
	fill(s, sizeof(s));
	for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++)
		for (size_t j = 0; j < sizeof(slens) / sizeof(slens[0]); j++)
			for (size_t k = 0; k < sizeof(klens) / sizeof(klens[0]); k++)
				for (size_t n = 0; n < sizeof(iters) / sizeof(iters[0]); n++) {
					int ret = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, p, plens[i], s,
										slens[j], iters[n],
										(uint32_t)klens[k], a);
					pbkdf2_ref(p, plens[i], s, slens[j], iters[n], b, klens[k]);
					same &= !ret && !memcmp(a, b, klens[k]);
					cases++;
				}
	OK(same, "%s: PBKDF2 equals its definition over Mbed TLS's HMAC in %d cases "
	   "(password across the 64-byte block, key across 32-byte blocks)", impl, cases);
}

/* the other hashes of LUKS1 keyslots: pad states kept as md contexts */
static void test_pbkdf2_other_hashes(void)
{
	static const struct {
		mbedtls_md_type_t type;
		const char *name, *pass, *salt;
		unsigned iter;
		size_t klen;
		const char *dk;
	} kat[] = {
		/* RFC 6070 */
		{ MBEDTLS_MD_SHA1, "SHA-1", "password", "salt", 1, 20, "0c60c80f961f0e71f3a9b524af6012062fe037a6" },
		{ MBEDTLS_MD_SHA1, "SHA-1", "password", "salt", 4096, 20, "4b007901b765489abead49d926f721d065a429c1" },
		{ MBEDTLS_MD_SHA1, "SHA-1", "passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 25,
		  "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038" },
		/* computed with `openssl kdf -keylen 64 -kdfopt digest:SHA512 ... PBKDF2` */
		{ MBEDTLS_MD_SHA512, "SHA-512", "password", "salt", 1000, 64,
		  "afe6c5530785b6cc6b1c6453384731bd5ee432ee549fd42fb6695779ad8a1c5b"
		  "f59de69c48f774efc4007d5298f9033c0241d5ab69305e7b64eceeb8d834cfec" },
	};
	static const struct { mbedtls_md_type_t type; const char *name; } md[] = {
		{ MBEDTLS_MD_SHA1, "SHA-1" }, { MBEDTLS_MD_SHA224, "SHA-224" }, { MBEDTLS_MD_SHA384, "SHA-384" },
		{ MBEDTLS_MD_SHA512, "SHA-512" }, { MBEDTLS_MD_RIPEMD160, "RIPEMD-160" },
	};
	static const size_t plens[] = { 0, 1, 64, 65, 128, 129, 150 };
	static const size_t klens[] = { 1, 20, 21, 64, 65, 100 };
	unsigned char p[150], s[40], a[100], b[100];
	char got[201];

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		int ret = mbedtls_pkcs5_pbkdf2_hmac_ext(kat[i].type, (const unsigned char *)kat[i].pass,
							strlen(kat[i].pass), (const unsigned char *)kat[i].salt,
							strlen(kat[i].salt), kat[i].iter, (uint32_t)kat[i].klen, a);
		hex(got, a, kat[i].klen);
		OK(!ret && !strcmp(got, kat[i].dk), "PBKDF2-HMAC-%s P='%s' c=%u (%s)", kat[i].name, kat[i].pass,
		   kat[i].iter, kat[i].type == MBEDTLS_MD_SHA1 ? "RFC 6070" : "OpenSSL");
	}
	fill(p, sizeof(p));
	fill(s, sizeof(s));
	for (size_t m = 0; m < sizeof(md) / sizeof(md[0]); m++) {
		int same = 1, cases = 0;

		for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++)
			for (size_t k = 0; k < sizeof(klens) / sizeof(klens[0]); k++)
				for (unsigned iter = 1; iter <= 3; iter++) {
					int ret = mbedtls_pkcs5_pbkdf2_hmac_ext(md[m].type, p, plens[i], s, sizeof(s),
										iter, (uint32_t)klens[k], a);
					pbkdf2_ref_md(md[m].type, p, plens[i], s, sizeof(s), iter, b, klens[k]);
					same &= !ret && !memcmp(a, b, klens[k]);
					cases++;
				}
		OK(same, "PBKDF2-HMAC-%s equals its definition over Mbed TLS's HMAC in %d cases", md[m].name,
		   cases);
	}
}

int main(void)
{
	static const struct { int impl; const char *name; } impls[] = {
		{ SHA256_IMPL_PORTABLE, "portable" },
		{ SHA256_IMPL_SHANI, "SHA-NI" },
	};

	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		if (sha256_impl_force(impls[i].impl) < 0) {
			printf("ok %d - # SKIP %s: this CPU has no SHA extensions\n", ++tap_n, impls[i].name);
			continue;
		}
		test_nist(impls[i].name);
		test_rfc7914(impls[i].name);
		test_pbkdf2_vs_definition(impls[i].name);
	}
	if (sha256_shani_present())
		test_shani_vs_portable();
	else
		for (int i = 0; i < 2; i++)
			printf("ok %d - # SKIP SHA-NI vs portable: this CPU has no SHA extensions\n", ++tap_n);
	sha256_impl_force(SHA256_IMPL_AUTO);
	test_pbkdf2_other_hashes();
	OK(sha256_compress_selected() ==
	   (sha256_shani_present() ? sha256_compress_shani : sha256_compress_portable),
	   "by default Mbed TLS gets SHA-NI exactly when CPUID reports it (%s here)",
	   sha256_shani_present() ? "present" : "absent");
	return tap_done();
}
