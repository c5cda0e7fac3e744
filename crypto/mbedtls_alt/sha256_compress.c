/* sha256_compress.c - SHA-256's compression function for Mbed TLS, with the
 * x86 SHA extensions when the CPU has them.
 *
 * Mbed TLS 3.6 has a hardware SHA-256 path for Armv8 only; on x86 it runs
 * portable C, which made libcryptsetup's PBKDF2 (LUKS1 keyslots) several
 * times slower than cryptsetup with OpenSSL. scripts/mbedtls_config.h sets
 * MBEDTLS_SHA256_PROCESS_ALT and scripts/build-deps.sh compiles this file
 * into libmbedcrypto.a, so every SHA-256 in the binary (libcryptsetup's
 * PBKDF2 and AF splitter, HMAC, JOSE thumbprints, ECDSA) goes through
 * mbedtls_internal_sha256_process() below. It lives in crypto/ (the
 * project's crypto, under its constant-time rules and tests) but in a
 * subfolder, because the files directly in crypto/ are compiled into nbde and this one
 * must exist once, inside the library.
 *
 * It also holds one PBKDF2-HMAC-SHA256 iteration on words
 * (sha256_hmac_iter_*) for pbkdf2_hmac.c: there the inner hash's output is
 * the outer hash's message, so SHA-NI keeps both in registers.
 *
 * Every function here is straight-line: no branch and no memory index
 * depends on the message or the state (test/01-ct.t checks the portable
 * code under valgrind and the SHA-NI code by its disassembly, since
 * valgrind cannot execute SHA-NI). */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS	/* ctx->state: this file is part of the library */
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "sha256_compress.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. Aligned for the SHA-NI code's 16-byte loads. */
static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* --- portable C ---------------------------------------------------------- */

static inline uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* one round; the eight working variables rotate by renaming, not by moves */
#define ROUND(a, b, c, d, e, f, g, h, i) do { \
	uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + (g ^ (e & (f ^ g))) + K[i] + w[(i) & 15]; \
	uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) | (c & (a | b))); \
	d += t1; \
	h = t1 + t2; \
} while (0)

/* w[i & 15] becomes W[i] for i >= 16: the 16-word ring of the schedule */
#define EXPAND(i) do { \
	uint32_t w15 = w[((i) - 15) & 15], w2 = w[((i) - 2) & 15]; \
	w[(i) & 15] += (ror(w15, 7) ^ ror(w15, 18) ^ (w15 >> 3)) + w[((i) - 7) & 15] + \
		       (ror(w2, 17) ^ ror(w2, 19) ^ (w2 >> 10)); \
} while (0)

#define ROUNDS8(i) do { \
	ROUND(a, b, c, d, e, f, g, h, (i) + 0); \
	ROUND(h, a, b, c, d, e, f, g, (i) + 1); \
	ROUND(g, h, a, b, c, d, e, f, (i) + 2); \
	ROUND(f, g, h, a, b, c, d, e, (i) + 3); \
	ROUND(e, f, g, h, a, b, c, d, (i) + 4); \
	ROUND(d, e, f, g, h, a, b, c, (i) + 5); \
	ROUND(c, d, e, f, g, h, a, b, (i) + 6); \
	ROUND(b, c, d, e, f, g, h, a, (i) + 7); \
} while (0)

#define EXPAND8(i) do { \
	EXPAND((i) + 0); EXPAND((i) + 1); EXPAND((i) + 2); EXPAND((i) + 3); \
	EXPAND((i) + 4); EXPAND((i) + 5); EXPAND((i) + 6); EXPAND((i) + 7); \
} while (0)

/* the compression over the message as 16 words; w is the schedule's ring
 * and is overwritten */
static inline void compress_words(uint32_t state[8], uint32_t w[16])
{
	uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
	uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

	ROUNDS8(0);
	ROUNDS8(8);
	/* the round index is public; expansion of a group of 8 words needs only
	 * words of earlier groups, so each group is expanded, then used */
	for (int i = 16; i < 64; i += 8) {
		EXPAND8(i);
		ROUNDS8(i);
	}
	state[0] += a; state[1] += b; state[2] += c; state[3] += d;
	state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

void sha256_compress_portable(uint32_t state[8], const unsigned char block[64])
{
	uint32_t w[16];

	for (int i = 0; i < 16; i++)
		w[i] = load_be32(block + 4 * i);
	compress_words(state, w);
	mbedtls_platform_zeroize(w, sizeof(w));
}

/* the padded block after HMAC's pad block when the message is one 32-byte
 * digest: 0x80, zeros, and the bit length (64 + 32) * 8 = 0x300 */
#define DIGEST_PAD_WORD 0x80000000u
#define DIGEST_BITS_AFTER_PAD 0x300u

void sha256_hmac_iter_portable(uint32_t u[8], uint32_t t[8], const uint32_t inner[8],
			       const uint32_t outer[8])
{
	uint32_t w[16], st[8];

	for (int i = 0; i < 8; i++)
		st[i] = inner[i];
	for (int i = 0; i < 8; i++)
		w[i] = u[i];
	w[8] = DIGEST_PAD_WORD;
	for (int i = 9; i < 15; i++)
		w[i] = 0;
	w[15] = DIGEST_BITS_AFTER_PAD;
	compress_words(st, w);
	for (int i = 0; i < 8; i++) {
		w[i] = st[i];
		st[i] = outer[i];
	}
	w[8] = DIGEST_PAD_WORD;
	for (int i = 9; i < 15; i++)
		w[i] = 0;
	w[15] = DIGEST_BITS_AFTER_PAD;
	compress_words(st, w);
	for (int i = 0; i < 8; i++) {
		u[i] = st[i];
		t[i] ^= st[i];
	}
	mbedtls_platform_zeroize(w, sizeof(w));
	mbedtls_platform_zeroize(st, sizeof(st));
}

/* --- SHA-NI -------------------------------------------------------------- */

#if defined(__x86_64__)

#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* four rounds: sha256rnds2 does two, on the state split as ABEF and CDGH */
#define QROUNDS(j, m) do { \
	__m128i wk = _mm_add_epi32((m), _mm_load_si128((const __m128i *)&K[4 * (j)])); \
	cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk); \
	abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e)); \
} while (0)

/* W[4j..4j+3] from the four groups before it, into m4's register:
 * msg1 adds sigma0(W[t-15]) to W[t-16], alignr supplies W[t-7], msg2 adds
 * sigma1(W[t-2]) */
#define SCHEDULE(m4, m3, m2, m1) \
	((m4) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((m4), (m3)), \
						   _mm_alignr_epi8((m1), (m2), 4)), (m1)))

/* 64 rounds on the state (words a..h in dcba, hgfe: the memory order) over
 * the message words m0..m3 (W0..W15, already in word order) */
SHANI_TARGET static inline __attribute__((always_inline)) void
shani_rounds(__m128i *dcba, __m128i *hgfe, __m128i m0, __m128i m1, __m128i m2, __m128i m3)
{
	__m128i cdab = _mm_shuffle_epi32(*dcba, 0xb1);
	__m128i efgh = _mm_shuffle_epi32(*hgfe, 0x1b);
	__m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
	__m128i abef_in = abef, cdgh_in = cdgh;

	QROUNDS(0, m0);
	QROUNDS(1, m1);
	QROUNDS(2, m2);
	QROUNDS(3, m3);
	SCHEDULE(m0, m1, m2, m3); QROUNDS(4, m0);
	SCHEDULE(m1, m2, m3, m0); QROUNDS(5, m1);
	SCHEDULE(m2, m3, m0, m1); QROUNDS(6, m2);
	SCHEDULE(m3, m0, m1, m2); QROUNDS(7, m3);
	SCHEDULE(m0, m1, m2, m3); QROUNDS(8, m0);
	SCHEDULE(m1, m2, m3, m0); QROUNDS(9, m1);
	SCHEDULE(m2, m3, m0, m1); QROUNDS(10, m2);
	SCHEDULE(m3, m0, m1, m2); QROUNDS(11, m3);
	SCHEDULE(m0, m1, m2, m3); QROUNDS(12, m0);
	SCHEDULE(m1, m2, m3, m0); QROUNDS(13, m1);
	SCHEDULE(m2, m3, m0, m1); QROUNDS(14, m2);
	SCHEDULE(m3, m0, m1, m2); QROUNDS(15, m3);

	abef = _mm_add_epi32(abef, abef_in);
	cdgh = _mm_add_epi32(cdgh, cdgh_in);
	__m128i feba = _mm_shuffle_epi32(abef, 0x1b);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
	*dcba = _mm_blend_epi16(feba, dchg, 0xf0);
	*hgfe = _mm_alignr_epi8(dchg, feba, 8);
}

SHANI_TARGET void sha256_compress_shani(uint32_t state[8], const unsigned char block[64])
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);

	shani_rounds(&dcba, &hgfe,
		     _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 0)), bswap),
		     _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16)), bswap),
		     _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 32)), bswap),
		     _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 48)), bswap));
	_mm_storeu_si128((__m128i *)&state[0], dcba);
	_mm_storeu_si128((__m128i *)&state[4], hgfe);
}

/* one PBKDF2 iteration in registers: the inner hash's output words are the
 * outer hash's message words, no byte order to convert */
SHANI_TARGET void sha256_hmac_iter_shani(uint32_t u[8], uint32_t t[8], const uint32_t inner[8],
					 const uint32_t outer[8])
{
	const __m128i pad0 = _mm_set_epi32(0, 0, 0, (int)DIGEST_PAD_WORD);
	const __m128i pad1 = _mm_set_epi32((int)DIGEST_BITS_AFTER_PAD, 0, 0, 0);
	__m128i lo = _mm_loadu_si128((const __m128i *)&inner[0]);
	__m128i hi = _mm_loadu_si128((const __m128i *)&inner[4]);
	__m128i olo = _mm_loadu_si128((const __m128i *)&outer[0]);
	__m128i ohi = _mm_loadu_si128((const __m128i *)&outer[4]);

	shani_rounds(&lo, &hi, _mm_loadu_si128((const __m128i *)&u[0]),
		     _mm_loadu_si128((const __m128i *)&u[4]), pad0, pad1);
	shani_rounds(&olo, &ohi, lo, hi, pad0, pad1);
	_mm_storeu_si128((__m128i *)&u[0], olo);
	_mm_storeu_si128((__m128i *)&u[4], ohi);
	_mm_storeu_si128((__m128i *)&t[0], _mm_xor_si128(_mm_loadu_si128((const __m128i *)&t[0]), olo));
	_mm_storeu_si128((__m128i *)&t[4], _mm_xor_si128(_mm_loadu_si128((const __m128i *)&t[4]), ohi));
}

int sha256_shani_present(void)
{
	unsigned a, b, c, d;

	/* the code uses SSSE3 (pshufb, palignr) and SSE4.1 (pblendw) besides SHA */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & bit_SHA) != 0;
}

#else

void sha256_compress_shani(uint32_t state[8], const unsigned char block[64])
{
	sha256_compress_portable(state, block);
}

void sha256_hmac_iter_shani(uint32_t u[8], uint32_t t[8], const uint32_t inner[8],
			    const uint32_t outer[8])
{
	sha256_hmac_iter_portable(u, t, inner, outer);
}

int sha256_shani_present(void)
{
	return 0;
}

#endif

/* --- selection ----------------------------------------------------------- */

/* 0 until the first call has asked CPUID; then the chosen function. Racing
 * first calls compute the same answer, so relaxed atomics suffice. */
static sha256_compress_fn *selected;

sha256_compress_fn *sha256_compress_selected(void)
{
	sha256_compress_fn *fn = __atomic_load_n(&selected, __ATOMIC_RELAXED);

	if (!fn) {
		fn = sha256_shani_present() ? sha256_compress_shani : sha256_compress_portable;
		__atomic_store_n(&selected, fn, __ATOMIC_RELAXED);
	}
	return fn;
}

sha256_hmac_iter_fn *sha256_hmac_iter_selected(void)
{
	return sha256_compress_selected() == sha256_compress_shani ? sha256_hmac_iter_shani
								   : sha256_hmac_iter_portable;
}

int sha256_impl_force(int impl)
{
	sha256_compress_fn *fn;

	switch (impl) {
	case SHA256_IMPL_PORTABLE:
		fn = sha256_compress_portable;
		break;
	case SHA256_IMPL_SHANI:
		if (!sha256_shani_present())
			return -1;
		fn = sha256_compress_shani;
		break;
	default:
		fn = NULL;	/* ask CPUID again on the next call */
		break;
	}
	__atomic_store_n(&selected, fn, __ATOMIC_RELAXED);
	return 0;
}

/* MBEDTLS_SHA256_PROCESS_ALT: Mbed TLS's sha256.c calls this for every block */
int mbedtls_internal_sha256_process(mbedtls_sha256_context *ctx, const unsigned char data[64])
{
	sha256_compress_selected()(ctx->state, data);
	return 0;
}
