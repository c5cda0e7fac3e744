/* unit_p521.c - crypto/p521.c against Mbed TLS's generic P-521 code
 * (crypto/p521_ref.h) and against published ECDH vectors: field operations at
 * the limb bounds, edge and random scalars, the generator and its negation,
 * doubling through the addition path. TAP on stdout.
 * P521_DIFF_N: random (scalar, point) pairs (default 2000, and 400 in the
 * ASan build, where one multiply costs ~15× more and the run looks for memory
 * errors rather than wrong values); P521_SEED: the pseudo-random seed
 * (default from getrandom, printed for a re-run). A long run:
 * P521_DIFF_N=100000 build/musl/unit_p521 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/p521.h"
#include "../crypto/p521_ref.h"
#include "../crypto/rand.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_DIFF_N 400
#else
#define DEFAULT_DIFF_N 2000
#endif

#define B P521_BYTES
#define PB P521_POINT_BYTES

static uint64_t rng_state;

/* xorshift64*: reproducible from the printed seed */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static void rnd_bytes(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd() >> 56);
}

static void hex_in(unsigned char *out, size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

static unsigned char G[PB], negG[PB], order[B];

static void negate(unsigned char out[PB], const unsigned char in[PB])
{
	static const uint64_t zero[9];
	uint64_t y[9], ny[9];
	unsigned char yb[B];

	/* −(x, y) = (x, p − y), through the reference field code */
	memcpy(out, in, B);
	memcpy(yb, in + B, B);
	memset(y, 0, sizeof(y));
	for (int bit = 0; bit < 8 * B && bit < 9 * 58; bit++)
		if (yb[B - 1 - bit / 8] >> (bit % 8) & 1)
			y[bit / 58] |= (uint64_t)1 << (bit % 58);
	p521_ref_field_op(ny, 'n', y, zero);
	memset(out + B, 0, B);
	for (int bit = 0; bit < 9 * 58; bit++)
		if (ny[bit / 58] >> (bit % 58) & 1)
			out[2 * B - 1 - bit / 8] |= (unsigned char)(1 << (bit % 8));
}

/* ---- field ---- */

static uint64_t rnd_limb(int i)
{
	static const uint64_t p_limb[9] = {
		(1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1,
		(1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 58) - 1, (1ULL << 57) - 1,
	};
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return (1ULL << 59) - 1;	/* the loosest limb accepted */
	case 2: return p_limb[i];
	case 3: return p_limb[i] + (i == 0);	/* p + 1 */
	case 4: return rnd() >> 6;		/* < 2^58 */
	default: return rnd() >> 5;		/* < 2^59 */
	}
}

static void test_field(int n)
{
	static const char ops[] = "+-*sni";
	for (const char *op = ops; *op; op++) {
		int bad = 0, runs = *op == 'i' ? n / 20 : n;
		for (int t = 0; t < runs; t++) {
			uint64_t a[9], b[9], got[9], want[9];
			for (int i = 0; i < 9; i++) {
				a[i] = rnd_limb(i);
				b[i] = rnd_limb(i);
			}
			p521_field_op_for_test(got, *op, a, b);
			if (p521_ref_field_op(want, *op, a, b) || memcmp(got, want, sizeof(got))) {
				if (!bad)
					printf("# field '%c' differs, a[0]=%" PRIx64 " b[0]=%" PRIx64 "\n", *op, a[0], b[0]);
				bad++;
			}
		}
		OK(!bad, "field '%c' on %d loose inputs equals mbedtls_mpi (%d differ)", *op, runs, bad);
	}

	/* canonical form at the edges: p → 0, p + 1 → 1, 2^522 − 1 → 2^521 mod p = 1 */
	uint64_t p[9], ones[9], zero[9] = { 0 }, got[9];
	for (int i = 0; i < 9; i++) {
		p[i] = i < 8 ? (1ULL << 58) - 1 : (1ULL << 57) - 1;
		ones[i] = (1ULL << 58) - 1;
	}
	p521_field_op_for_test(got, '+', p, zero);
	OK(!memcmp(got, zero, sizeof(got)), "p reduces to 0");
	p[0] += 1;
	p521_field_op_for_test(got, '+', p, zero);
	OK(got[0] == 1 && !memcmp(got + 1, zero, 8 * sizeof(uint64_t)), "p + 1 reduces to 1");
	p521_field_op_for_test(got, '+', ones, zero);
	OK(got[0] == 1 && !memcmp(got + 1, zero, 8 * sizeof(uint64_t)), "2^522 − 1 reduces to 1");
	p521_field_op_for_test(got, 'i', zero, zero);
	OK(!memcmp(got, zero, sizeof(got)), "inverse of 0 is 0");
}

/* ---- scalar multiplication ---- */

/* p521_mul (or p521_mul_base when P is NULL) equals Mbed TLS on (k mod n)·P */
static int mul_matches(const unsigned char k[B], const unsigned char *P)
{
	unsigned char got[PB], want[PB];
	int rg = P ? p521_mul(got, k, P) : p521_mul_base(got, k);
	int rw = p521_ref_mul(want, k, P);

	if (rw < 0)
		return 0;
	return rg == (rw == 1 ? -1 : 0) && !memcmp(got, want, PB);
}

static void scalar_plus(unsigned char out[B], const unsigned char in[B], int add)
{
	int carry = add;
	memcpy(out, in, B);
	for (int i = B - 1; i >= 0 && carry; i--) {
		int v = out[i] + carry;
		out[i] = (unsigned char)v;
		carry = v >> 8;
		if (v < 0) {	/* borrow */
			out[i] = (unsigned char)(v + 256);
			carry = -1;
		}
	}
}

static void test_edge_scalars(void)
{
	unsigned char k[B], P[PB], two_n[B];
	int bad = 0, total = 0;

	memset(k, 0, B);
	k[B - 1] = 0x5a;
	p521_ref_mul(P, k, NULL);	/* P = 90·G, a point that is not G */

	unsigned char out[PB], zero[PB] = { 0 };
	memset(k, 0, B);
	memset(out, 0xa5, PB);
	OK(p521_mul(out, k, P) == -1 && !memcmp(out, zero, PB), "0·P is infinity, written as zeros");
	OK(p521_mul(out, order, P) == -1 && p521_mul_base(out, order) == -1, "n·P and n·G are infinity");

	/* small k, n − small, n + small, 2n ± small */
	unsigned char edges[3][B];
	memset(edges[0], 0, B);
	memcpy(edges[1], order, B);
	for (int carry = 0, i = B - 1; i >= 0; i--) {	/* 2n */
		int v = order[i] * 2 + carry;
		two_n[i] = (unsigned char)v;
		carry = v >> 8;
	}
	memcpy(edges[2], two_n, B);
	for (int e = 0; e < 3; e++) {
		for (int d = -20; d <= 20; d++) {
			if (e == 0 && d < 0)
				continue;
			scalar_plus(k, edges[e], d);
			int ok = mul_matches(k, P) && mul_matches(k, NULL) && mul_matches(k, G);
			if (!ok && !bad)
				printf("# edge scalar %s%+d differs\n", e == 0 ? "0" : e == 1 ? "n" : "2n", d);
			bad += !ok;
			total++;
		}
	}
	/* high bits: 2^j ± 1 for j = 500..527, all-ones, all-ones below 2^521 */
	for (int j = 500; j < 8 * B; j++) {
		for (int d = -1; d <= 1; d++) {
			memset(k, 0, B);
			k[B - 1 - j / 8] = (unsigned char)(1 << (j % 8));
			scalar_plus(k, k, d);
			int ok = mul_matches(k, P);
			bad += !ok;
			total++;
		}
	}
	memset(k, 0xff, B);
	bad += !mul_matches(k, P) + !mul_matches(k, NULL);
	k[0] = 0x01;
	bad += !mul_matches(k, P) + !mul_matches(k, NULL);
	total += 4;
	OK(!bad, "%d edge scalars (0..20, n±20, 2n±20, 2^j±1 for j ≥ 500, all-ones) equal Mbed TLS (%d differ)",
	   total, bad);

	/* k = n − 18: its last window addition meets equal points (the doubling
	 * fallback), for any P */
	scalar_plus(k, order, -18);
	OK(mul_matches(k, P) && mul_matches(k, NULL), "(n − 18)·P, the last addition doubling, equals Mbed TLS");
}

static void add_bytes(unsigned char acc[B], const unsigned char k[B])
{
	for (int i = B - 1, carry = 0; i >= 0; i--) {
		int v = acc[i] + k[i] + carry;
		acc[i] = (unsigned char)v;
		carry = v >> 8;
	}
}

/* Pairs in batches of 8 with one point: the first with a 528-bit k (≥ n
 * mostly) compared alone; the other seven with k < 2^521, compared through
 * their sum, k1·P + … + k7·P (p521_add) against (k1 + … + k7)·P (Mbed TLS).
 * A wrong product changes the sum; it keeps Mbed TLS, the slow side under
 * ASan, to 2 multiplications per 8 pairs. */
static void test_random(int n)
{
	unsigned char k[B], ksum[B], P[PB], out[PB], sum[PB], want[PB];
	int bad = 0, bad_base = 0, pairs = 0;

	rnd_bytes(k, B);
	p521_ref_mul(P, k, NULL);
	for (int t = 0; pairs < n; t++) {
		rnd_bytes(k, B);
		bad += !mul_matches(k, P);
		bad_base += !mul_matches(k, NULL);
		pairs++;
		memset(ksum, 0, B);
		for (int i = 0; i < 7; i++, pairs++) {
			rnd_bytes(k, B);
			k[0] = 0, k[1] &= 1;
			add_bytes(ksum, k);
			if (p521_mul(out, k, P))
				bad++;
			else if (i == 0)
				memcpy(sum, out, PB);
			else if (p521_add(sum, sum, out))
				bad++;
		}
		if (p521_ref_mul(want, ksum, P) || memcmp(sum, want, PB)) {
			if (!bad)
				printf("# random batch %d differs\n", t);
			bad++;
		}
		memcpy(P, out, PB);	/* the next point: fresh and on the curve */
	}
	OK(!bad, "%d random (k, P): p521_mul equals Mbed TLS (%d batches differ)", pairs, bad);
	OK(!bad_base, "%d random 528-bit k: p521_mul_base equals Mbed TLS (%d differ)", pairs / 8, bad_base);
}

/* ---- addition, G and −G ---- */

static void test_add(int n)
{
	unsigned char k[B], P[PB], Q[PB], got[PB], want[PB], negP[PB];
	int bad = 0;

	memset(k, 0, B);
	k[B - 1] = 1;
	OK(mul_matches(k, NULL) && !p521_mul_base(got, k) && !memcmp(got, G, PB), "1·G is G");
	OK(p521_add(got, G, negG) == -1, "G + (−G) is infinity");
	OK(!p521_add(got, G, G) && !p521_ref_mul(want, (unsigned char[B]){ [B - 1] = 2 }, NULL) &&
	   !memcmp(got, want, PB), "G + G through the addition path is 2·G");
	rnd_bytes(k, B);
	k[0] = 0;
	OK(!p521_mul(got, k, negG) && !p521_mul_base(want, k) && (negate(want, want), !memcmp(got, want, PB)),
	   "k·(−G) is −(k·G)");
	OK(!p521_mul(got, k, G) && !p521_mul_base(want, k) && !memcmp(got, want, PB),
	   "k·G by the variable-base path equals the base-point path");

	for (int t = 0; t < n; t++) {
		rnd_bytes(k, B);
		p521_ref_mul(P, k, NULL);
		rnd_bytes(k, B);
		p521_ref_mul(Q, k, NULL);
		int rw = p521_ref_add(want, P, Q);
		bad += rw != 0 || p521_add(got, P, Q) || memcmp(got, want, PB);
		/* P + P by addition, against 2·P by Mbed TLS */
		p521_ref_mul(want, (unsigned char[B]){ [B - 1] = 2 }, P);
		bad += p521_add(got, P, P) || memcmp(got, want, PB);
		negate(negP, P);
		bad += p521_add(got, P, negP) != -1;
	}
	OK(!bad, "%d random P, Q: P + Q, P + P and P + (−P) equal Mbed TLS (%d differ)", n, bad);
}

/* ---- NIST CAVS 14.1 ECC CDH primitive, [P-521], COUNT = 0 and 1 ---- */

static const struct {
	const char *d, *qx, *qy, *z, *pubx, *puby;
} cavs[] = {
	{ "017eecc07ab4b329068fba65e56a1f8890aa935e57134ae0ffcce802735151f4eac6564f6ee9974c5e6887a1fefee5743ae2241bfeb95d5ce31ddcb6f9edb4d6fc47",
	  "00685a48e86c79f0f0875f7bc18d25eb5fc8c0b07e5da4f4370f3a9490340854334b1e1b87fa395464c60626124a4e70d0f785601d37c09870ebf176666877a2046d",
	  "01ba52c56fc8776d9e8f5db4f0cc27636d0b741bbe05400697942e80b739884a83bde99e0f6716939e632bc8986fa18dccd443a348b6c3e522497955a4f3c302f676",
	  "005fc70477c3e63bc3954bd0df3ea0d1f41ee21746ed95fc5e1fdf90930d5e136672d72cc770742d1711c3c3a4c334a0ad9759436a4d3c5bf6e74b9578fac148c831",
	  "00602f9d0cf9e526b29e22381c203c48a886c2b0673033366314f1ffbcba240ba42f4ef38a76174635f91e6b4ed34275eb01c8467d05ca80315bf1a7bbd945f550a5",
	  "01b7c85f26f5d4b2d7355cf6b02117659943762b6d1db5ab4f1dbc44ce7b2946eb6c7de342962893fd387d1b73d7a8672d1f236961170b7eb3579953ee5cdc88cd2d" },
	{ "00816f19c1fb10ef94d4a1d81c156ec3d1de08b66761f03f06ee4bb9dcebbbfe1eaa1ed49a6a990838d8ed318c14d74cc872f95d05d07ad50f621ceb620cd905cfb8",
	  "01df277c152108349bc34d539ee0cf06b24f5d3500677b4445453ccc21409453aafb8a72a0be9ebe54d12270aa51b3ab7f316aa5e74a951c5e53f74cd95fc29aee7a",
	  "013d52f33a9f3c14384d1587fa8abe7aed74bc33749ad9c570b471776422c7d4505d9b0a96b3bfac041e4c6a6990ae7f700e5b4a6640229112deafa0cd8bb0d089b0",
	  "000b3920ac830ade812c8f96805da2236e002acbbf13596a9ab254d44d0e91b6255ebf1229f366fb5a05c5884ef46032c26d42189273ca4efa4c3db6bd12a6853759",
	  NULL, NULL },
};

static void test_cavs(void)
{
	for (size_t i = 0; i < sizeof(cavs) / sizeof(cavs[0]); i++) {
		unsigned char d[B], Q[PB], z[B], out[PB], pub[PB];
		hex_in(d, B, cavs[i].d);
		hex_in(Q, B, cavs[i].qx);
		hex_in(Q + B, B, cavs[i].qy);
		hex_in(z, B, cavs[i].z);
		OK(!p521_mul(out, d, Q) && !memcmp(out, z, B), "CAVS ECC CDH P-521 COUNT = %zu: ZIUT", i);
		if (cavs[i].pubx) {
			hex_in(pub, B, cavs[i].pubx);
			hex_in(pub + B, B, cavs[i].puby);
			OK(!p521_mul_base(out, d) && !memcmp(out, pub, PB), "CAVS ECC CDH P-521 COUNT = %zu: QIUT = dIUT·G", i);
		}
	}
}

int main(void)
{
	const char *n_env = getenv("P521_DIFF_N"), *seed_env = getenv("P521_SEED");
	int n = n_env ? atoi(n_env) : DEFAULT_DIFF_N;

	if (seed_env)
		rng_state = strtoull(seed_env, NULL, 0);
	else if (rand_bytes(&rng_state, sizeof(rng_state)))
		return 1;
	rng_state |= 1;
	printf("# P521_SEED=0x%" PRIx64 " P521_DIFF_N=%d\n", rng_state, n);

	unsigned char one[B] = { [B - 1] = 1 };
	OK(!p521_ref_mul(G, one, NULL) && !p521_ref_order(order), "Mbed TLS gives G and n");
	negate(negG, G);

	test_field(n);
	test_cavs();
	test_edge_scalars();
	test_add(n / 40 + 1);
	test_random(n);
	return tap_done();
}
